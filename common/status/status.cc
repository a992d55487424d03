#include "common/status/status.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace iplus {
namespace {

// Payload key and encoding: one "field\tdescription" pair per line. Tabs and newlines
// inside either part are replaced by spaces so the encoding stays unambiguous.
constexpr absl::string_view kViolationsUrl = "type.iplus/field_violations";

std::string Clean(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\t' || c == '\n') c = ' ';
  }
  return out;
}

absl::Status Build(const std::vector<FieldViolation>& violations) {
  std::vector<std::string> parts;
  std::string payload;
  for (const auto& v : violations) {
    parts.push_back(absl::StrCat(v.field, ": ", v.description));
    absl::StrAppend(&payload, Clean(v.field), "\t", Clean(v.description), "\n");
  }
  absl::Status status(absl::StatusCode::kInvalidArgument, absl::StrJoin(parts, "; "));
  status.SetPayload(kViolationsUrl, absl::Cord(payload));
  return status;
}

}  // namespace

absl::Status InvalidField(absl::string_view field, absl::string_view description) {
  return Build({FieldViolation{std::string(field), std::string(description)}});
}

absl::Status InvalidFields(const std::vector<FieldViolation>& violations) {
  return Build(violations);
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kViolationsUrl);
  if (!payload.has_value()) return out;
  for (absl::string_view line : absl::StrSplit(std::string(*payload), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    out.push_back(FieldViolation{std::move(kv.first), std::move(kv.second)});
  }
  return out;
}

absl::Status PrefixFields(const absl::Status& status, absl::string_view prefix) {
  auto violations = FieldViolations(status);
  if (violations.empty()) return status;
  for (auto& v : violations) v.field = absl::StrCat(prefix, ".", v.field);
  return Build(violations);
}

}  // namespace iplus
