#include "common/metrics/text_serializer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace iplus::metrics {
namespace {

void AppendEscaped(std::string& out, const std::string& text, bool escape_quote) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += escape_quote ? "\\\"" : "\"";
        break;
      default:
        out += c;
    }
  }
}

// Writes `name{labels[,le="bound"]} value\n`, with the optional extra label last as the
// Go client does; Prometheus does not care about label order.
void AppendSample(std::string& out, const std::string& name, const ClientMetric& metric,
                  const char* suffix, double value, const std::string* le = nullptr) {
  out += name;
  out += suffix;
  if (!metric.label.empty() || le != nullptr) {
    out += '{';
    bool first = true;
    for (const ClientMetric::Label& label : metric.label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      AppendEscaped(out, label.value, /*escape_quote=*/true);
      out += '"';
    }
    if (le != nullptr) {
      if (!first) out += ',';
      out += "le=\"";
      out += *le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += FormatValue(value);
  if (metric.timestamp_ms != 0) absl::StrAppend(&out, " ", metric.timestamp_ms);
  out += '\n';
}

void AppendMetric(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  switch (family.type) {
    case MetricType::kCounter:
      AppendSample(out, family.name, metric, "", metric.counter.value);
      return;
    case MetricType::kGauge:
      AppendSample(out, family.name, metric, "", metric.gauge.value);
      return;
    case MetricType::kUntyped:
      AppendSample(out, family.name, metric, "", metric.untyped.value);
      return;
    case MetricType::kHistogram: {
      bool has_inf = false;
      for (const ClientMetric::Bucket& bucket : metric.histogram.bucket) {
        const std::string le = FormatValue(bucket.upper_bound);
        has_inf = has_inf || std::isinf(bucket.upper_bound);
        AppendSample(out, family.name, metric, "_bucket",
                     static_cast<double>(bucket.cumulative_count), &le);
      }
      // The format requires a +Inf bucket equal to _count; add it if a custom collector
      // left it out.
      if (!has_inf) {
        const std::string le = "+Inf";
        AppendSample(out, family.name, metric, "_bucket",
                     static_cast<double>(metric.histogram.sample_count), &le);
      }
      AppendSample(out, family.name, metric, "_sum", metric.histogram.sample_sum);
      AppendSample(out, family.name, metric, "_count",
                   static_cast<double>(metric.histogram.sample_count));
      return;
    }
  }
}

std::string ToChars(double value, std::chars_format format) {
  char buffer[400];  // fixed notation of values below 1e21 needs far less
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value, format);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  const double magnitude = std::fabs(value);
  if (magnitude < 1e15 && value == std::trunc(value)) {
    return absl::StrCat(static_cast<std::int64_t>(value));
  }
  if (magnitude >= 1e-4 && magnitude < 1e21) return ToChars(value, std::chars_format::fixed);
  return ToChars(value, std::chars_format::scientific);
}

std::string TextSerializer::Serialize(const std::vector<MetricFamily>& families) const {
  std::vector<const MetricFamily*> sorted;
  sorted.reserve(families.size());
  for (const MetricFamily& family : families) sorted.push_back(&family);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const MetricFamily* a, const MetricFamily* b) { return a->name < b->name; });

  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    // [i, j) share a name; the first one with series decides HELP and TYPE.
    size_t j = i;
    while (j < sorted.size() && sorted[j]->name == sorted[i]->name) ++j;
    const MetricFamily* head = nullptr;
    for (size_t k = i; k < j && head == nullptr; ++k) {
      if (!sorted[k]->metric.empty()) head = sorted[k];
    }
    if (head != nullptr) {
      if (!head->help.empty()) {
        out += "# HELP ";
        out += head->name;
        out += ' ';
        AppendEscaped(out, head->help, /*escape_quote=*/false);
        out += '\n';
      }
      absl::StrAppend(&out, "# TYPE ", head->name, " ", MetricTypeName(head->type), "\n");
      for (size_t k = i; k < j; ++k) {
        if (sorted[k]->type != head->type) continue;
        for (const ClientMetric& metric : sorted[k]->metric) AppendMetric(out, *head, metric);
      }
    }
    i = j;
  }
  return out;
}

}  // namespace iplus::metrics
