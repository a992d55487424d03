#pragma once

// Status helpers shared by every layer. A domain core reports a bad field with
// InvalidField(); the gRPC layer turns the attached field violations into
// google.rpc.BadRequest details. Nothing here depends on gRPC or protobuf.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace iplus {

struct FieldViolation {
  std::string field;        // e.g. "enterprise.code" or "requests[3].enterprise.region"
  std::string description;  // human-readable reason
};

// INVALID_ARGUMENT whose message is "<field>: <description>" and which carries the
// violation as a payload.
absl::Status InvalidField(absl::string_view field, absl::string_view description);

// INVALID_ARGUMENT carrying several violations; the message lists them all.
absl::Status InvalidFields(const std::vector<FieldViolation>& violations);

// The violations attached to a status by InvalidField(s); empty if none.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

// Returns `status` with every violation's field prefixed by `prefix` + "." (used when a
// nested message is validated on its own, e.g. prefix "requests[3]").
absl::Status PrefixFields(const absl::Status& status, absl::string_view prefix);

}  // namespace iplus
