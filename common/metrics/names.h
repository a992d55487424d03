#pragma once

// Prometheus naming rules (https://prometheus.io/docs/concepts/data_model/) and the
// checks the registry and families apply to them.
//
// Invalid metric or label names are programming errors, not runtime conditions: the
// module reports them on stderr and calls std::abort() when a family is registered or a
// series is added, so they show up on the first start of a misconfigured binary or in
// its unit tests. No exceptions are thrown.

#include <string>

#include "absl/strings/string_view.h"
#include "common/metrics/labels.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*, not starting with "__" (reserved for Prometheus itself).
bool IsValidMetricName(absl::string_view name);

// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".
bool IsValidLabelName(absl::string_view name);

namespace internal {

// Writes "iplus metrics: <message>" to stderr and aborts.
[[noreturn]] void Fatal(const std::string& message);

// Aborts unless `name` is a valid metric name and every constant label name is valid and
// allowed for `type` (histograms reserve "le").
void CheckFamily(const std::string& name, const Labels& constant_labels, MetricType type);

// Aborts unless every label name of a series added to `family` is valid, allowed for
// `type` and not already one of the family's constant labels.
void CheckSeriesLabels(const std::string& family, const Labels& constant_labels,
                       const Labels& labels, MetricType type);

}  // namespace internal
}  // namespace iplus::metrics
