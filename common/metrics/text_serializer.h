#pragma once

#include <string>
#include <vector>

#include "common/metrics/metric_family.h"

namespace iplus::metrics {

// Renders metric families in the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), the body served with
// "Content-Type: text/plain; version=0.0.4; charset=utf-8".
//
// Output is deterministic: families are sorted by name, families sharing a name and type
// are merged under one HELP/TYPE header, series keep the order given (a Registry gives
// them ordered by label set), and families without series are left out. Among families
// sharing a name, the first one with series (in the given order) decides HELP and TYPE;
// those of another type are dropped, since a name may have only one TYPE per exposition.
//
// HELP text escapes backslash and newline; label values escape backslash, double quote
// and newline. Histograms render cumulative _bucket{le="..."} series ending with
// le="+Inf", then _sum and _count.
//
// Thread-safety: stateless; Serialize() may be called concurrently.
class TextSerializer {
 public:
  std::string Serialize(const std::vector<MetricFamily>& families) const;
};

// A sample value or "le" bound as the text format spells it: integral values up to 1e15
// without exponent or fraction ("42", "-3"), other values in the shortest form that
// reads back exactly, in fixed notation between 1e-4 and 1e21 ("0.0005", "2.5") and in
// exponent notation outside ("1e-07"), and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace iplus::metrics
