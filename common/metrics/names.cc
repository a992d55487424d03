#include "common/metrics/names.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace iplus::metrics {
namespace {

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool IsNameChar(char c, bool allow_colon) {
  return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9');
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  if (!IsNameStart(name[0], allow_colon)) return false;
  for (char c : name.substr(1)) {
    if (!IsNameChar(c, allow_colon)) return false;
  }
  return true;
}

void CheckLabelName(const std::string& family, const std::string& label, MetricType type) {
  if (!IsValidLabelName(label)) {
    internal::Fatal(absl::StrCat("invalid label name \"", label, "\" in metric family \"", family,
                                 "\" (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)"));
  }
  if (type == MetricType::kHistogram && label == "le") {
    internal::Fatal(
        absl::StrCat("label name \"le\" is reserved in histogram family \"", family, "\""));
  }
}

}  // namespace

bool IsValidMetricName(absl::string_view name) { return IsValidName(name, /*allow_colon=*/true); }

bool IsValidLabelName(absl::string_view name) { return IsValidName(name, /*allow_colon=*/false); }

namespace internal {

void Fatal(const std::string& message) {
  std::fprintf(stderr, "iplus metrics: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

void CheckFamily(const std::string& name, const Labels& constant_labels, MetricType type) {
  if (!IsValidMetricName(name)) {
    Fatal(absl::StrCat("invalid metric name \"", name,
                       "\" (must match [a-zA-Z_:][a-zA-Z0-9_:]* and not start with __)"));
  }
  for (const auto& [label, value] : constant_labels) CheckLabelName(name, label, type);
}

void CheckSeriesLabels(const std::string& family, const Labels& constant_labels,
                       const Labels& labels, MetricType type) {
  for (const auto& [label, value] : labels) {
    CheckLabelName(family, label, type);
    if (constant_labels.count(label) != 0) {
      Fatal(absl::StrCat("label \"", label, "\" of metric family \"", family,
                         "\" is already a constant label"));
    }
  }
}

}  // namespace internal
}  // namespace iplus::metrics
