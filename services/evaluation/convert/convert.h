#pragma once

// Conversions between the evaluation domain types and the v1 protos, shared by the gRPC
// adapter, the Redis store (which keeps targets as v1 messages and results as the
// serialized v1 responses) and the fuzz target. No gRPC here: messages only.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iplus/common/v1/common.pb.h"
#include "iplus/evaluation/v1/evaluation.pb.h"
#include "services/evaluation/domain/evaluate.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

Rule RuleFromProto(const v1::Rule& in);
void ToProto(const Rule& rule, v1::Rule* out);

Population PopulationFromProto(const v1::Population& in);
void ToProto(const Population& population, v1::Population* out);

Scope ScopeFromProto(const iplus::common::v1::Scope& in);
void ToProto(const Scope& scope, iplus::common::v1::Scope* out);
// A stable text of every scope field, for cache keys and page tokens.
std::string CanonicalScope(const Scope& scope);

// Every field of the message, the output-only ones included. A malformed or empty
// baseline or deadline period is INVALID_ARGUMENT naming "<field>.baseline_period" or
// "<field>.deadline_period".
absl::StatusOr<Target> TargetFromProto(const v1::Target& in, absl::string_view field = "target");
void ToProto(const Target& target, v1::Target* out);
// The fields a client sets (everything but archived, the times and the etag), for
// comparing a create with what is stored.
bool SameContent(const Target& a, const Target& b);

// The evaluation without computed_time and cached, which the caller sets.
void ToProto(const Result& result, v1::Evaluation* out);

// A period parsed from `text`, or INVALID_ARGUMENT naming `field`.
absl::StatusOr<Period> ParsePeriodField(absl::string_view text, absl::string_view field);

}  // namespace iplus::evaluation
