#include "tools/iplusctl/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/refdata/period.h"
#include "common/refdata/region.h"
#include "iplus/evaluation/v1/evaluation.grpc.pb.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "tools/iplusctl/enums.h"
#include "tools/iplusctl/format.h"

namespace iplus::ctl {

namespace cv1 = ::iplus::common::v1;
namespace ev1 = ::iplus::evaluation::v1;
namespace fv1 = ::iplus::funds::v1;

// ---------------------------------------------------------------------------------------
// Text and numbers.

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Inserts thousands separators into a run of digits.
std::string Group(absl::string_view digits) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

constexpr const char kNbsp[] = "\xc2\xa0";
constexpr const char kDash[] = "\xe2\x80\x94";  // an em dash: no value

}  // namespace

std::string YuanText(int64_t fen) {
  const bool negative = fen < 0;
  const uint64_t abs = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  return absl::StrCat(negative ? "-" : "", Group(absl::StrCat(abs / 100)), ".",
                      absl::StrFormat("%02d", static_cast<int>(abs % 100)));
}

std::string DisplayNumber(double value) {
  if (!std::isfinite(value)) return "n/a";
  if (value == 0) return "0";
  const double a = std::fabs(value);
  if (a < 1e-3) return absl::StrFormat("%.3g", value);
  const int magnitude = static_cast<int>(std::floor(std::log10(a)));
  const int decimals = std::clamp(3 - magnitude, 0, 6);
  std::string text = absl::StrFormat("%.*f", decimals, a);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  const size_t dot = std::min(text.find('.'), text.size());
  text = absl::StrCat(Group(text.substr(0, dot)), text.substr(dot));
  if (text == "0") return "0";
  return absl::StrCat(value < 0 ? "-" : "", text);
}

std::string DisplayPercent(double ratio) {
  if (!std::isfinite(ratio)) return "n/a";
  std::string text = absl::StrFormat("%.1f", ratio * 100);
  if (text == "-0.0") text = "0.0";
  return absl::StrCat(text, kNbsp, "%");
}

namespace {

// "PLATFORM_OPERATOR" -> "platform operator".
std::string LowerEnum(const google::protobuf::EnumDescriptor* type, const char* prefix, int v) {
  std::string s = EnumShortName(type, prefix, v);
  absl::AsciiStrToLower(&s);
  for (char& c : s) {
    if (c == '_') c = ' ';
  }
  return s;
}
std::string KindName(int v) {
  return LowerEnum(cv1::OrganizationKind_descriptor(), "ORGANIZATION_KIND_", v);
}

}  // namespace

std::string ScopeText(const cv1::Scope& scope) {
  std::vector<std::string> parts;
  const std::string& region = scope.region_prefix();
  if (!region.empty()) {
    auto province = refdata::ProvinceName(region);
    if (region.size() == 2 && province.has_value()) {
      parts.push_back(absl::StrCat(*province, " (", region, ")"));
    } else if (province.has_value()) {
      parts.push_back(absl::StrCat("region ", region, " (", *province, ")"));
    } else {
      parts.push_back(absl::StrCat("region ", region));
    }
  }
  if (!scope.industry_prefix().empty()) {
    parts.push_back(absl::StrCat("industry ", scope.industry_prefix()));
  }
  if (scope.ownership() != 0) {
    parts.push_back(LowerEnum(cv1::Ownership_descriptor(), "OWNERSHIP_", scope.ownership()));
  }
  if (scope.size() != 0) {
    parts.push_back(
        absl::StrCat(LowerEnum(cv1::EnterpriseSize_descriptor(), "ENTERPRISE_SIZE_", scope.size()),
                     " enterprises"));
  }
  if (scope.kind() != 0) parts.push_back(KindName(scope.kind()));
  if (scope.key_only()) parts.push_back("key enterprises only");
  if (parts.empty()) return "all regions";
  return absl::StrJoin(parts, " \xc2\xb7 ");
}

namespace {

// ---------------------------------------------------------------------------------------
// Pieces of the page.

struct StatusStyle {
  const char* css;     // class suffix
  const char* label;   // for people
  const char* symbol;  // shown with the label, so that colour is never the only cue
};

StatusStyle StyleOf(int status) {
  switch (status) {
    case ev1::EVALUATION_STATUS_ACHIEVED:
      return {"achieved", "Achieved", "\xe2\x9c\x93"};  // check mark
    case ev1::EVALUATION_STATUS_ON_TRACK:
      return {"on-track", "On track", "\xe2\x86\x97"};  // north-east arrow
    case ev1::EVALUATION_STATUS_AT_RISK:
      return {"at-risk", "At risk", "!"};
    case ev1::EVALUATION_STATUS_OFF_TRACK:
      return {"off-track", "Off track", "\xe2\x9c\x95"};  // multiplication x
    case ev1::EVALUATION_STATUS_INSUFFICIENT_DATA:
      return {"no-data", "Insufficient data", "?"};
    default:
      return {"no-data", "Unspecified", "\xe2\x80\x93"};
  }
}

std::string StatusName(int status) {
  return EnumShortName(ev1::EvaluationStatus_descriptor(), "EVALUATION_STATUS_", status);
}

std::string Badge(int status) {
  const StatusStyle s = StyleOf(status);
  return absl::StrCat("<span class=\"badge st-", s.css, "\" data-status=\"", StatusName(status),
                      "\"><span aria-hidden=\"true\">", s.symbol, "</span> ", s.label, "</span>");
}

// An attribute ` name="value"` with the shortest exact text of a number.
std::string NumAttr(absl::string_view name, double v) {
  return absl::StrCat(" ", name, "=\"", FormatDouble(v), "\"");
}
std::string OptNumAttr(absl::string_view name, bool has, double v) {
  return has ? NumAttr(name, v) : "";
}
std::string Attr(absl::string_view name, absl::string_view value) {
  return absl::StrCat(" ", name, "=\"", HtmlEscape(value), "\"");
}

// A value of a target's aggregation for people: shares as percentages.
std::string ValueText(double v, const ev1::Target* target) {
  if (target != nullptr && target->aggregation() == ev1::AGGREGATION_SHARE_TRUE) {
    return DisplayPercent(v);
  }
  return DisplayNumber(v);
}
std::string OptValueText(bool has, double v, const ev1::Target* target) {
  return has ? ValueText(v, target) : kDash;
}

std::string ProgressText(bool has, double v) { return has ? DisplayPercent(v) : kDash; }

std::string RuleText(const ev1::Target& t) {
  const ev1::Rule& r = t.rule();
  switch (r.kind_case()) {
    case ev1::Rule::kAbsolute:
      return absl::StrCat(
          r.absolute().comparison() == ev1::COMPARISON_LE ? "\xe2\x89\xa4 " : "\xe2\x89\xa5 ",
          ValueText(r.absolute().value(), &t));
    case ev1::Rule::kMultiple:
      return absl::StrCat("\xc3\x97", DisplayNumber(r.multiple().multiple()), " the ",
                          t.baseline_period(), " value");
    case ev1::Rule::kRelativeChange:
      return absl::StrCat(r.relative_change().change() > 0 ? "+" : "\xe2\x88\x92",  // minus
                          DisplayNumber(std::fabs(r.relative_change().change()) * 100), kNbsp,
                          "% vs ", t.baseline_period());
    default:
      return "";
  }
}

std::string AggregationText(const ev1::Target& t) {
  const std::string indicator = absl::StrCat("<code>", HtmlEscape(t.indicator()), "</code>");
  switch (t.aggregation()) {
    case ev1::AGGREGATION_SHARE_TRUE:
      return absl::StrCat("share of reporters with ", indicator);
    case ev1::AGGREGATION_COUNT_TRUE:
      return absl::StrCat("count of reporters with ", indicator);
    case ev1::AGGREGATION_MEAN:
      return absl::StrCat("mean ", indicator);
    case ev1::AGGREGATION_MEDIAN:
      return absl::StrCat("median ", indicator);
    default:
      return indicator;
  }
}

std::string PopulationText(const ev1::Population& p) {
  std::vector<std::string> parts;
  if (p.key_only()) parts.push_back("key");
  if (p.size() != 0) {
    parts.push_back(LowerEnum(cv1::EnterpriseSize_descriptor(), "ENTERPRISE_SIZE_", p.size()));
  }
  if (p.ownership() != 0) {
    parts.push_back(LowerEnum(cv1::Ownership_descriptor(), "OWNERSHIP_", p.ownership()));
  }
  parts.push_back(p.kind() != 0 ? absl::StrCat(KindName(p.kind()), "s") : "enterprises");
  return absl::StrJoin(parts, " ");
}

// The bar of actual against expected progress. Progress is drawn within [0, 1]; the
// numbers beside it are not clamped.
std::string ProgressBar(const ev1::Evaluation& e, bool small) {
  const double expected = std::clamp(e.expected_progress(), 0.0, 1.0);
  std::string title =
      e.has_progress()
          ? absl::StrCat("Progress ", DisplayPercent(e.progress()), " of the way to the target; ",
                         DisplayPercent(e.expected_progress()), " expected by ", e.period())
          : absl::StrCat("Progress not defined; ", DisplayPercent(e.expected_progress()),
                         " expected by ", e.period());
  std::string out =
      absl::StrCat("<svg class=\"progress", small ? " small" : "",
                   "\" viewBox=\"-1 0 102 10\" preserveAspectRatio=\"none\" role=\"img\" "
                   "aria-label=\"",
                   HtmlEscape(title), "\"><title>", HtmlEscape(title),
                   "</title><rect class=\"track\" x=\"0\" y=\"0\" width=\"100\" height=\"10\"/>");
  if (e.has_progress()) {
    const double fill = std::clamp(e.progress(), 0.0, 1.0) * 100;
    absl::StrAppendFormat(&out,
                          "<rect class=\"fill st-%s\" x=\"0\" y=\"0\" width=\"%.2f\" "
                          "height=\"10\"/>",
                          StyleOf(e.status()).css, fill);
  }
  absl::StrAppendFormat(&out,
                        "<line class=\"expected\" x1=\"%.2f\" x2=\"%.2f\" y1=\"0\" y2=\"10\" "
                        "vector-effect=\"non-scaling-stroke\"/></svg>",
                        expected * 100, expected * 100);
  return out;
}

// The data-* attributes of one evaluation.
std::string EvaluationAttrs(const ev1::Evaluation& e) {
  return absl::StrCat(
      Attr("data-status", StatusName(e.status())), Attr("data-period", e.period()),
      OptNumAttr("data-progress", e.has_progress(), e.progress()),
      NumAttr("data-expected-progress", e.expected_progress()),
      OptNumAttr("data-baseline", e.has_baseline_value(), e.baseline_value()),
      OptNumAttr("data-current", e.has_current_value(), e.current_value()),
      OptNumAttr("data-target-value", e.has_target_value(), e.target_value()),
      OptNumAttr("data-forecast", e.has_forecast_value(), e.forecast_value()),
      NumAttr("data-coverage", e.coverage().ratio()),
      Attr("data-population", absl::StrCat(e.coverage().population())),
      Attr("data-reporters", absl::StrCat(e.coverage().current_reporters())),
      Attr("data-baseline-reporters", absl::StrCat(e.coverage().baseline_reporters())),
      Attr("data-panel-size", absl::StrCat(e.panel_size())));
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}
std::string TimeIso(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string VersionsText(const ev1::DataVersions& v) {
  std::vector<std::string> ingest;
  for (const auto& i : v.ingest_versions()) {
    ingest.push_back(absl::StrCat(i.period(), " v", i.version()));
  }
  std::string out = absl::StrCat("registry v", v.registry_version());
  if (!ingest.empty()) {
    absl::StrAppend(&out, " \xc2\xb7 ingest ", v.ingest_versions(0).indicator(), " ",
                    absl::StrJoin(ingest, ", "));
  }
  if (!v.target_etag().empty()) absl::StrAppend(&out, " \xc2\xb7 target ", v.target_etag());
  return out;
}

// ---------------------------------------------------------------------------------------
// The trend chart.

constexpr double kW = 600, kH = 250;
constexpr double kLeft = 58, kRight = 112, kTop = 14, kBottom = 30;

// The periods along the x axis: from the first to the last of the points, the
// evaluated period, the baseline and the deadline, every period in between included so
// that gaps show. Periods that do not parse (or mix granularities) are only sorted.
std::vector<std::string> Categories(const ev1::Evaluation& e, const ev1::Target* t) {
  std::set<std::string> given;
  for (const auto& p : e.points()) given.insert(p.period());
  if (!e.period().empty()) given.insert(e.period());
  if (t != nullptr) {
    if (!t->baseline_period().empty()) given.insert(t->baseline_period());
    if (!t->deadline_period().empty()) given.insert(t->deadline_period());
  }
  std::vector<refdata::Period> parsed;
  for (const auto& s : given) {
    auto p = refdata::ParsePeriod(s);
    if (!p.ok() || (!parsed.empty() && p->granularity != parsed[0].granularity)) {
      return std::vector<std::string>(given.begin(), given.end());
    }
    parsed.push_back(*p);
  }
  if (parsed.empty()) return {};
  int lo = refdata::PeriodOrdinal(parsed[0]), hi = lo;
  for (const auto& p : parsed) {
    lo = std::min(lo, refdata::PeriodOrdinal(p));
    hi = std::max(hi, refdata::PeriodOrdinal(p));
  }
  if (hi - lo > 200) return std::vector<std::string>(given.begin(), given.end());
  std::vector<std::string> out;
  for (int o = lo; o <= hi; ++o) {
    out.push_back(refdata::PeriodFromOrdinal(parsed[0].granularity, o).ToString());
  }
  return out;
}

double NiceStep(double raw) {
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double n = raw / magnitude;
  const double step = n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10;
  return step * magnitude;
}

std::string AxisLabel(double v, const ev1::Target* t) {
  if (t != nullptr && t->aggregation() == ev1::AGGREGATION_SHARE_TRUE) {
    return absl::StrCat(DisplayNumber(v * 100), kNbsp, "%");
  }
  return DisplayNumber(v);
}

std::string CssId(absl::string_view s) {
  std::string out;
  for (char c : s) out += absl::ascii_isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out;
}

}  // namespace

std::string TrendChartSvg(const ev1::Evaluation& e, const ev1::Target* t) {
  const std::string id = absl::StrCat("chart-", CssId(e.target_id()));
  const std::vector<std::string> cats = Categories(e, t);
  std::vector<double> values;
  for (const auto& p : e.points()) values.push_back(p.value());
  if (e.has_baseline_value()) values.push_back(e.baseline_value());
  if (e.has_target_value()) values.push_back(e.target_value());
  if (e.has_forecast_value()) values.push_back(e.forecast_value());
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());

  // Text alternative: every figure the chart draws.
  std::vector<std::string> desc;
  if (e.has_baseline_value()) {
    desc.push_back(absl::StrCat("Baseline ", t != nullptr ? t->baseline_period() : "", " ",
                                ValueText(e.baseline_value(), t)));
  }
  if (e.has_target_value()) {
    desc.push_back(absl::StrCat("target ", ValueText(e.target_value(), t)));
  }
  std::vector<std::string> observed;
  for (const auto& p : e.points()) {
    observed.push_back(absl::StrCat(p.period(), ": ", ValueText(p.value(), t)));
  }
  if (!observed.empty()) {
    desc.push_back(absl::StrCat("observed ", absl::StrJoin(observed, ", ")));
  } else {
    desc.push_back("no observed values");
  }
  const std::string deadline =
      t != nullptr && !t->deadline_period().empty() ? t->deadline_period() : e.period();
  if (e.has_forecast_value()) {
    desc.push_back(absl::StrCat("forecast for ", deadline, ": ", ValueText(e.forecast_value(), t)));
  }
  const std::string title =
      absl::StrCat("Trend of ", t != nullptr && !t->title().empty() ? t->title() : e.target_id());

  std::string out = absl::StrFormat(
      "<svg class=\"trend\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"%s-t "
      "%s-d\"%s><title id=\"%s-t\">%s</title><desc id=\"%s-d\">%s.</desc>",
      kW, kH, id, id, Attr("data-chart", e.target_id()), id, HtmlEscape(title), id,
      HtmlEscape(absl::StrJoin(desc, "; ")));
  if (values.empty() || cats.empty()) {
    absl::StrAppendFormat(&out,
                          "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" "
                          "text-anchor=\"middle\">No values to plot</text></svg>",
                          kW / 2, kH / 2);
    return out;
  }

  // Scales.
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  if (hi - lo <= std::fabs(hi) * 1e-9) {
    const double pad = std::fabs(hi) > 0 ? std::fabs(hi) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const double step = NiceStep((hi - lo) / 4);
  double y0 = std::floor(lo / step) * step, y1 = std::ceil(hi / step) * step;
  if (y1 <= y0) y1 = y0 + step;
  const double plot_w = kW - kLeft - kRight, plot_h = kH - kTop - kBottom;
  auto Y = [&](double v) { return kTop + plot_h * (1 - (v - y0) / (y1 - y0)); };
  const size_t n = cats.size();
  auto XAt = [&](size_t i) {
    return n == 1 ? kLeft + plot_w / 2 : kLeft + plot_w * static_cast<double>(i) / (n - 1);
  };
  auto X = [&](const std::string& period) -> double {
    auto it = std::find(cats.begin(), cats.end(), period);
    return XAt(it == cats.end() ? n - 1 : static_cast<size_t>(it - cats.begin()));
  };

  // Grid and axes.
  out += "<g class=\"grid\">";
  for (int i = 0; i <= 40; ++i) {
    const double v = y0 + step * i;
    if (v > y1 + step * 1e-6) break;
    const double y = Y(v);
    absl::StrAppendFormat(&out,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                          "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                          "text-anchor=\"end\">%s</text>",
                          kLeft, kLeft + plot_w, y, y, kLeft - 6, y + 4,
                          HtmlEscape(AxisLabel(std::fabs(v) < step * 1e-9 ? 0 : v, t)));
  }
  out += "</g><g class=\"x-axis\">";
  // At most about 12 labels.
  const size_t every = std::max<size_t>(1, (n + 11) / 12);
  for (size_t i = 0; i < n; ++i) {
    if (i % every != 0 && i != n - 1) continue;
    absl::StrAppendFormat(&out,
                          "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                          "text-anchor=\"middle\">%s</text>",
                          XAt(i), kH - kBottom + 18, HtmlEscape(cats[i]));
  }
  out += "</g>";

  struct Label {
    double y;
    std::string text, css;
  };
  std::vector<Label> labels;
  if (e.has_baseline_value()) {
    const double y = Y(e.baseline_value());
    absl::StrAppendFormat(&out,
                          "<line class=\"baseline\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                          "y2=\"%.1f\"%s><title>Baseline: %s</title></line>",
                          kLeft, kLeft + plot_w, y, y, NumAttr("data-value", e.baseline_value()),
                          HtmlEscape(ValueText(e.baseline_value(), t)));
    labels.push_back({y, absl::StrCat("baseline ", ValueText(e.baseline_value(), t)), "lbl-base"});
  }
  if (e.has_target_value()) {
    const double y = Y(e.target_value());
    absl::StrAppendFormat(&out,
                          "<line class=\"target-line\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                          "y2=\"%.1f\"%s><title>Target: %s</title></line>",
                          kLeft, kLeft + plot_w, y, y, NumAttr("data-value", e.target_value()),
                          HtmlEscape(ValueText(e.target_value(), t)));
    labels.push_back({y, absl::StrCat("target ", ValueText(e.target_value(), t)), "lbl-target"});
  }

  // Observed values: one line per run of consecutive periods, so gaps stay gaps.
  std::vector<std::pair<size_t, const ev1::TrendPoint*>> pts;
  for (const auto& p : e.points()) {
    if (!std::isfinite(p.value())) continue;
    auto it = std::find(cats.begin(), cats.end(), p.period());
    pts.emplace_back(static_cast<size_t>(it - cats.begin()), &p);
  }
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string run;
  size_t run_len = 0;
  auto flush = [&] {
    if (run_len >= 2) absl::StrAppend(&out, "<polyline class=\"observed\" points=\"", run, "\"/>");
    run.clear();
    run_len = 0;
  };
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0 && pts[i].first != pts[i - 1].first + 1) flush();
    absl::StrAppendFormat(&run, "%s%.1f,%.1f", run.empty() ? "" : " ", XAt(pts[i].first),
                          Y(pts[i].second->value()));
    ++run_len;
  }
  flush();

  // The forecast: from the last observed value to the deadline.
  if (e.has_forecast_value() && std::isfinite(e.forecast_value())) {
    const double fx = X(deadline), fy = Y(e.forecast_value());
    if (!pts.empty()) {
      absl::StrAppendFormat(&out,
                            "<line class=\"forecast\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\"/>",
                            XAt(pts.back().first), Y(pts.back().second->value()), fx, fy);
    }
    absl::StrAppendFormat(&out,
                          "<circle class=\"forecast-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"%s%s>"
                          "<title>Forecast for %s: %s</title></circle>",
                          fx, fy, Attr("data-period", deadline),
                          NumAttr("data-value", e.forecast_value()), HtmlEscape(deadline),
                          HtmlEscape(ValueText(e.forecast_value(), t)));
    labels.push_back(
        {fy, absl::StrCat("forecast ", ValueText(e.forecast_value(), t)), "lbl-forecast"});
  }
  for (const auto& [i, p] : pts) {
    absl::StrAppendFormat(
        &out,
        "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"%s%s%s>"
        "<title>%s: %s (%d reporters)</title></circle>",
        XAt(i), Y(p->value()), Attr("data-period", p->period()), NumAttr("data-value", p->value()),
        Attr("data-reporters", absl::StrCat(p->reporters())), HtmlEscape(p->period()),
        HtmlEscape(ValueText(p->value(), t)), p->reporters());
  }

  // Line labels at the right, pushed apart so that they never overlap.
  std::sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.y < b.y; });
  constexpr double kGap = 13;
  for (size_t i = 1; i < labels.size(); ++i) {
    labels[i].y = std::max(labels[i].y, labels[i - 1].y + kGap);
  }
  const double bottom = kH - kBottom;
  for (size_t i = labels.size(); i-- > 0;) {
    const double limit = i + 1 < labels.size() ? labels[i + 1].y - kGap : bottom;
    labels[i].y = std::min(labels[i].y, limit);
  }
  for (const auto& l : labels) {
    absl::StrAppendFormat(&out, "<text class=\"lbl %s\" x=\"%.1f\" y=\"%.1f\">%s</text>", l.css,
                          kLeft + plot_w + 10, l.y + 4, HtmlEscape(l.text));
  }
  out += "</svg>";
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------
// Sections.

constexpr const char kCss[] = R"css(
:root{--ink:#1b2330;--muted:#5a6475;--line:#dde2ea;--bg:#f3f5f8;--card:#fff;
--accent:#1d5fbf;--target:#7a3db8;--base:#8792a5}
*{box-sizing:border-box}
html{font-size:15px}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.45;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Arial,sans-serif}
.page{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
.page-header{background:#17263d;color:#fff;border-radius:12px;padding:22px 26px;margin-bottom:20px}
.page-header .eyebrow{color:#b7c6dc}
.page-header h1{margin:.15rem 0 1rem;font-size:1.75rem;line-height:1.2}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.74rem;color:var(--muted)}
dl.meta{display:flex;flex-wrap:wrap;gap:.6rem 2.2rem;margin:0}
dl.meta dt{font-size:.7rem;text-transform:uppercase;letter-spacing:.07em;color:#b7c6dc}
dl.meta dd{margin:0;font-weight:600}
h2{font-size:1.3rem;margin:2.2rem 0 .9rem;padding-bottom:.35rem;border-bottom:2px solid var(--line)}
h2.first{margin-top:0}
h3{font-size:1.1rem;margin:0;line-height:1.3}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
a{color:var(--accent)}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.86em;
background:#eef1f5;border-radius:4px;padding:0 .25em}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;
padding:18px 22px;margin:0 0 20px;box-shadow:0 1px 3px rgba(16,24,40,.05)}
.tally{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0;margin:0 0 1rem}
.tally li{display:flex;align-items:center;gap:.5rem}
.tally b{font-size:1.05rem}
.badge{display:inline-flex;align-items:center;gap:.35em;padding:.12em .65em;border-radius:999px;
font-weight:650;font-size:.82rem;border:1px solid;white-space:nowrap}
.st-achieved{color:#0d5a27;background:#d7f3e0;border-color:#8fd2a6}
.st-on-track{color:#0a4f85;background:#d9ebfb;border-color:#8dbde8}
.st-at-risk{color:#6e4700;background:#fdefc4;border-color:#e3c264}
.st-off-track{color:#8f1418;background:#fde0df;border-color:#eda3a1}
.st-no-data{color:#454e5c;background:#eceff3;border-color:#c4cad4}
rect.fill.st-achieved{fill:#2f9e57}rect.fill.st-on-track{fill:#2b7bd0}
rect.fill.st-at-risk{fill:#d9a21c}rect.fill.st-off-track{fill:#d2383d}
rect.fill.st-no-data{fill:#9aa3b1}
svg.progress{display:block;width:100%;height:12px;overflow:visible}
svg.progress.small{height:8px;min-width:70px}
svg.progress .track{fill:#e8ebf0}
svg.progress .expected{stroke:var(--ink);stroke-width:2}
.target-head{display:flex;justify-content:space-between;gap:1rem;align-items:flex-start;
border-bottom:1px solid var(--line);padding-bottom:.7rem;margin-bottom:.9rem}
.target-head .sub{margin:.3rem 0 0;color:var(--muted);font-size:.86rem}
.target-body{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,7fr);gap:24px;
align-items:start;break-inside:avoid;page-break-inside:avoid}
@media (max-width:820px){.target-body{grid-template-columns:1fr}}
.reason{margin:.1rem 0 .9rem;color:var(--muted);font-size:.88rem}
.progress-text{display:flex;justify-content:space-between;font-size:.84rem;margin-bottom:.3rem}
.progress-text b{font-size:1rem}
dl.figures{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:.7rem 1.2rem;
margin:1rem 0 0}
dl.figures dt{font-size:.7rem;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
dl.figures dd{margin:0;font-size:1.12rem;font-weight:650;font-variant-numeric:tabular-nums}
dl.figures dd small{font-size:.75rem;font-weight:400;color:var(--muted)}
figure{margin:0}
figcaption{font-size:.78rem;color:var(--muted);display:flex;flex-wrap:wrap;gap:.3rem 1rem;
margin-top:.3rem}
.key{display:inline-block;width:22px;height:0;vertical-align:middle;margin-right:.35rem}
.key-observed{border-top:3px solid var(--accent)}
.key-forecast{border-top:2px dashed var(--accent)}
.key-target{border-top:2px solid var(--target)}
.key-baseline{border-top:2px dashed var(--base)}
svg.trend{display:block;width:100%;height:auto}
svg.trend text{font-size:11px;fill:var(--muted)}
svg.trend .grid line{stroke:#e7eaf0;stroke-width:1}
svg.trend .baseline{stroke:var(--base);stroke-width:1.5;stroke-dasharray:6 4}
svg.trend .target-line{stroke:var(--target);stroke-width:2}
svg.trend .observed{fill:none;stroke:var(--accent);stroke-width:2.5;stroke-linejoin:round}
svg.trend .point{fill:var(--accent);stroke:#fff;stroke-width:1.5}
svg.trend .forecast{stroke:var(--accent);stroke-width:2;stroke-dasharray:4 4}
svg.trend .forecast-point{fill:#fff;stroke:var(--accent);stroke-width:2}
svg.trend .lbl{font-size:11px;font-weight:600}
svg.trend .lbl-target{fill:var(--target)}
svg.trend .lbl-base{fill:var(--muted)}
svg.trend .lbl-forecast{fill:var(--accent)}
svg.trend .empty{font-size:13px}
table{border-collapse:collapse;width:100%;font-size:.86rem}
caption{text-align:left;font-weight:650;padding:0 0 .5rem;font-size:.95rem}
th,td{padding:.4rem .55rem;border-bottom:1px solid var(--line);text-align:left;
vertical-align:middle}
thead th{font-size:.7rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
font-weight:650;border-bottom:2px solid var(--line)}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#f8f9fb}
tfoot th,tfoot td{font-weight:700;border-top:2px solid var(--ink);border-bottom:none}
td.bar{width:14%;min-width:60px}
table.overview tbody th{min-width:14em}
table.funds{font-size:.84rem}
table.funds tbody th{min-width:12em}
.scroll{overflow-x:auto}
th .id{display:block;font-size:.75rem;font-weight:400;color:var(--muted);
text-transform:none;letter-spacing:0}
table.league tbody th{white-space:nowrap}
.league-wrap{margin-top:1.2rem;overflow-x:auto}
.muted{color:var(--muted)}
.versions{margin:.9rem 0 0;font-size:.75rem;color:var(--muted)}
.note{padding:.75rem 1rem;border-radius:8px;border:1px solid;margin:0}
.note.warn{background:#fff4dc;border-color:#e2b54c;color:#5b3b00}
.note.info{background:#eef3fa;border-color:#b9cbe4;color:#24364f}
footer{margin-top:2rem;font-size:.78rem;color:var(--muted)}
@media (max-width:900px){
table{font-size:.8rem}
th,td{padding:.3rem .35rem}
.bar,.cov,.opt{display:none}
table.league tbody th{white-space:normal}
table.league tbody th .muted{display:block;font-size:.72rem;font-weight:400}
thead th{letter-spacing:0;font-size:.64rem}
td.rep{white-space:normal}
table.funds{font-size:.78rem}
table.funds tbody th{min-width:8em}
.badge{font-size:.74rem;padding:.08em .5em;white-space:normal;border-radius:.6em}
}
@page{size:A4;margin:14mm}
@media print{
html{font-size:10.5pt}
body{background:#fff}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.page{max-width:none;padding:0}
.page-header{background:#fff;color:var(--ink);border:2px solid var(--ink);border-radius:0}
.page-header .eyebrow,dl.meta dt{color:var(--muted)}
.league-wrap,.scroll{overflow:visible}
.card{box-shadow:none;border-color:#c9ced8}
h2,h3,.target-head{break-after:avoid;page-break-after:avoid}
tr{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
)css";

const char* DimensionHeading(const std::string& d) {
  if (d == "prefecture") return "Prefectures";
  if (d == "industry") return "Industry divisions";
  if (d == "ownership") return "Ownership";
  if (d == "size") return "Enterprise size";
  return "Provinces";
}
const char* DimensionColumn(const std::string& d) {
  if (d == "prefecture") return "Prefecture";
  if (d == "industry") return "Division";
  if (d == "ownership") return "Ownership";
  if (d == "size") return "Size";
  return "Province";
}

std::string FigureDd(absl::string_view label, const std::string& value, absl::string_view note) {
  return absl::StrCat("<div><dt>", label, "</dt><dd>", value,
                      note.empty() ? "" : absl::StrCat(" <small>", note, "</small>"),
                      "</dd></div>");
}

// "reporters / population", breakable at the slash on narrow pages.
std::string ReportersCell(const ev1::Evaluation& x) {
  return absl::StrCat("<td class=\"num rep\">",
                      Group(absl::StrCat(x.coverage().current_reporters())), " / ",
                      Group(absl::StrCat(x.coverage().population())), "</td>");
}

std::string LeagueTable(const ReportData& data, const ev1::Evaluation& e, const ev1::Target* t) {
  const std::string& id = e.target_id();
  auto err = data.breakdown_errors.find(id);
  if (err != data.breakdown_errors.end()) {
    return absl::StrCat("<p class=\"note warn\" role=\"status\" data-breakdown-error=\"",
                        HtmlEscape(id), "\">", DimensionHeading(data.dimension),
                        " could not be listed: ", HtmlEscape(err->second), "</p>");
  }
  auto it = data.breakdowns.find(id);
  if (it == data.breakdowns.end()) return "";
  const ev1::BreakdownResponse& b = it->second;
  std::string out = absl::StrCat(
      "<div class=\"league-wrap\"><table class=\"league\"", Attr("data-league", id),
      Attr("data-dimension", data.dimension), "><caption>", DimensionHeading(data.dimension),
      ", by progress</caption><thead><tr><th scope=\"col\" class=\"num\">#</th><th "
      "scope=\"col\">",
      DimensionColumn(data.dimension),
      "</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"num\">Progress</th>"
      "<th scope=\"col\" class=\"bar\"><span class=\"sr\">Progress bar</span></th>"
      "<th scope=\"col\" class=\"num\">Baseline</th><th scope=\"col\" class=\"num\">Current</th>"
      "<th scope=\"col\" class=\"num\">Target</th><th scope=\"col\" class=\"num cov\">Coverage</th>"
      "<th scope=\"col\" class=\"num\">Reporters</th></tr></thead><tbody>");
  if (b.groups().empty()) {
    absl::StrAppend(&out,
                    "<tr><td colspan=\"10\" class=\"muted\">No group has enterprises of "
                    "the target's population in this scope.</td></tr>");
  }
  int rank = 0;
  for (const auto& g : b.groups()) {
    const ev1::Evaluation& x = g.evaluation();
    ++rank;
    absl::StrAppend(
        &out, "<tr", Attr("data-key", g.key()), Attr("data-label", g.label()),
        Attr("data-rank", absl::StrCat(rank)), EvaluationAttrs(x), "><td class=\"num\">", rank,
        "</td><th scope=\"row\">", HtmlEscape(g.label().empty() ? g.key() : g.label()),
        " <span class=\"muted\">", HtmlEscape(g.key()), "</span></th><td>", Badge(x.status()),
        "</td><td class=\"num\">", ProgressText(x.has_progress(), x.progress()),
        "</td><td class=\"bar\">", ProgressBar(x, true), "</td><td class=\"num\">",
        OptValueText(x.has_baseline_value(), x.baseline_value(), t), "</td><td class=\"num\">",
        OptValueText(x.has_current_value(), x.current_value(), t), "</td><td class=\"num\">",
        OptValueText(x.has_target_value(), x.target_value(), t), "</td><td class=\"num cov\">",
        DisplayPercent(x.coverage().ratio()), "</td>", ReportersCell(x), "</tr>");
  }
  const ev1::Evaluation& x = b.total();
  absl::StrAppend(
      &out, "</tbody><tfoot><tr data-total=\"true\"", EvaluationAttrs(x),
      "><td></td><th scope=\"row\">Total</th><td>", Badge(x.status()), "</td><td class=\"num\">",
      ProgressText(x.has_progress(), x.progress()), "</td><td class=\"bar\">", ProgressBar(x, true),
      "</td><td class=\"num\">", OptValueText(x.has_baseline_value(), x.baseline_value(), t),
      "</td><td class=\"num\">", OptValueText(x.has_current_value(), x.current_value(), t),
      "</td><td class=\"num\">", OptValueText(x.has_target_value(), x.target_value(), t),
      "</td><td class=\"num cov\">", DisplayPercent(x.coverage().ratio()), "</td>",
      ReportersCell(x), "</tr></tfoot></table></div>");
  return out;
}

std::string TargetCard(const ReportData& data, const ev1::Evaluation& e) {
  auto found = data.targets.find(e.target_id());
  const ev1::Target* t = found == data.targets.end() ? nullptr : &found->second;
  const std::string title = t != nullptr && !t->title().empty() ? t->title() : e.target_id();
  std::string sub = absl::StrCat("<code>", HtmlEscape(e.target_id()), "</code>");
  if (t != nullptr) {
    absl::StrAppend(&sub, " \xc2\xb7 ", AggregationText(*t), " of ",
                    HtmlEscape(PopulationText(t->population())), " \xc2\xb7 rule ",
                    HtmlEscape(RuleText(*t)), " \xc2\xb7 ", HtmlEscape(t->baseline_period()),
                    " \xe2\x86\x92 ", HtmlEscape(t->deadline_period()));
  }
  const std::string baseline_period = t != nullptr ? t->baseline_period() : "";
  const std::string deadline = t != nullptr ? t->deadline_period() : e.period();
  std::string out = absl::StrCat("<article class=\"card target\" id=\"t-", CssId(e.target_id()),
                                 "\"", Attr("data-target", e.target_id()), EvaluationAttrs(e),
                                 "><div class=\"target-head\"><div>", "<h3>", HtmlEscape(title),
                                 "</h3><p class=\"sub\">", sub, "</p></div>", Badge(e.status()),
                                 "</div><div class=\"target-body\"><div class=\"facts\">");
  if (!e.status_reason().empty()) {
    absl::StrAppend(&out, "<p class=\"reason\">", HtmlEscape(e.status_reason()), "</p>");
  }
  absl::StrAppend(&out, "<div class=\"progress-text\"><span>Progress <b>",
                  ProgressText(e.has_progress(), e.progress()), "</b></span><span>expected <b>",
                  DisplayPercent(e.expected_progress()), "</b> by ", HtmlEscape(e.period()),
                  "</span></div>", ProgressBar(e, false), "<dl class=\"figures\">");
  absl::StrAppend(&out,
                  FigureDd("Baseline", OptValueText(e.has_baseline_value(), e.baseline_value(), t),
                           HtmlEscape(baseline_period)),
                  FigureDd("Current", OptValueText(e.has_current_value(), e.current_value(), t),
                           HtmlEscape(e.period())),
                  FigureDd("Target", OptValueText(e.has_target_value(), e.target_value(), t),
                           HtmlEscape(deadline)),
                  FigureDd("Forecast", OptValueText(e.has_forecast_value(), e.forecast_value(), t),
                           HtmlEscape(deadline)),
                  FigureDd("Coverage", DisplayPercent(e.coverage().ratio()),
                           absl::StrCat("floor ", DisplayPercent(e.coverage().floor()))),
                  FigureDd("Reporters",
                           absl::StrCat(Group(absl::StrCat(e.coverage().current_reporters())),
                                        " / ", Group(absl::StrCat(e.coverage().population()))),
                           e.panel_mode() == ev1::PANEL_MODE_MATCHED
                               ? absl::StrCat("panel ", Group(absl::StrCat(e.panel_size())))
                               : "all reporters"));
  absl::StrAppend(&out, "</dl></div><figure>", TrendChartSvg(e, t),
                  "<figcaption><span><i class=\"key key-observed\"></i>observed</span>"
                  "<span><i class=\"key key-forecast\"></i>forecast to ",
                  HtmlEscape(deadline),
                  "</span><span><i class=\"key key-target\"></i>target</span>"
                  "<span><i class=\"key key-baseline\"></i>baseline",
                  e.panel_mode() == ev1::PANEL_MODE_MATCHED
                      ? " (over the matched panel, so it may differ from the first point)"
                      : "",
                  "</span></figcaption></figure></div>", LeagueTable(data, e, t),
                  "<p class=\"versions\">Data: ", HtmlEscape(VersionsText(e.data_versions())));
  const std::string computed = TimeText(e.computed_time());
  if (!computed.empty()) {
    absl::StrAppend(&out, " \xc2\xb7 computed ", computed, e.cached() ? " (cached)" : "");
  }
  absl::StrAppend(&out, "</p></article>");
  return out;
}

std::string Summary(const ReportData& data) {
  const auto& evals = data.scorecard.evaluations();
  std::string out =
      "<section class=\"card\" aria-labelledby=\"summary-h\"><h2 id=\"summary-h\" "
      "class=\"first\">Summary</h2>";
  if (evals.empty()) {
    absl::StrAppend(&out,
                    "<p class=\"note info\" data-empty-scorecard=\"true\">No active target "
                    "can be evaluated for ",
                    HtmlEscape(data.period.empty() ? "this period" : data.period),
                    " in this scope.</p></section>");
    return out;
  }
  std::map<int, int> tally;
  for (const auto& e : evals) ++tally[e.status()];
  out += "<ul class=\"tally\" aria-label=\"Targets by status\">";
  for (int s : {ev1::EVALUATION_STATUS_ACHIEVED, ev1::EVALUATION_STATUS_ON_TRACK,
                ev1::EVALUATION_STATUS_AT_RISK, ev1::EVALUATION_STATUS_OFF_TRACK,
                ev1::EVALUATION_STATUS_INSUFFICIENT_DATA}) {
    absl::StrAppend(&out, "<li", Attr("data-tally", StatusName(s)),
                    Attr("data-count", absl::StrCat(tally[s])), ">", Badge(s), " <b>", tally[s],
                    "</b></li>");
  }
  out +=
      "</ul><table class=\"overview\"><caption>Every active target</caption><thead><tr>"
      "<th scope=\"col\">Target</th><th scope=\"col\">Status</th>"
      "<th scope=\"col\" class=\"num\">Progress</th><th scope=\"col\" class=\"num\">Expected</th>"
      "<th scope=\"col\" class=\"bar\"><span class=\"sr\">Progress bar</span></th>"
      "<th scope=\"col\" class=\"num\">Baseline</th><th scope=\"col\" class=\"num\">Current</th>"
      "<th scope=\"col\" class=\"num\">Target</th><th scope=\"col\" class=\"num\">Forecast</th>"
      "</tr></thead><tbody>";
  for (const auto& e : evals) {
    auto found = data.targets.find(e.target_id());
    const ev1::Target* t = found == data.targets.end() ? nullptr : &found->second;
    const std::string title = t != nullptr && !t->title().empty() ? t->title() : e.target_id();
    absl::StrAppend(
        &out, "<tr", Attr("data-target", e.target_id()), EvaluationAttrs(e),
        "><th scope=\"row\"><a href=\"#t-", CssId(e.target_id()), "\">", HtmlEscape(title),
        "</a></th><td>", Badge(e.status()), "</td><td class=\"num\">",
        ProgressText(e.has_progress(), e.progress()), "</td><td class=\"num\">",
        DisplayPercent(e.expected_progress()), "</td><td class=\"bar\">", ProgressBar(e, true),
        "</td><td class=\"num\">", OptValueText(e.has_baseline_value(), e.baseline_value(), t),
        "</td><td class=\"num\">", OptValueText(e.has_current_value(), e.current_value(), t),
        "</td><td class=\"num\">", OptValueText(e.has_target_value(), e.target_value(), t),
        "</td><td class=\"num\">", OptValueText(e.has_forecast_value(), e.forecast_value(), t),
        "</td></tr>");
  }
  out += "</tbody></table></section>";
  return out;
}

std::string SponsorText(const fv1::Sponsor& s) {
  switch (s.kind_case()) {
    case fv1::Sponsor::kRegionCode: {
      auto name = refdata::ProvinceName(s.region_code());
      if (!name.has_value()) return absl::StrCat("region ", s.region_code());
      if (absl::EndsWith(s.region_code(), "0000")) {
        return absl::StrCat(*name, " (", s.region_code(), ")");
      }
      return absl::StrCat("region ", s.region_code(), ", ", *name);
    }
    case fv1::Sponsor::kEnterpriseCode:
      return absl::StrCat("enterprise ", s.enterprise_code());
    case fv1::Sponsor::kNational:
      return "national";
    default:
      return "";
  }
}

struct MoneyFields {
  int64_t capital = 0, committed = 0, posted = 0, released = 0, disbursed = 0, clawed_back = 0,
          available = 0;
};

MoneyFields FieldsOf(const fv1::FundStatement& s) {
  return {s.capital().fen(),   s.committed().fen(),   s.posted().fen(),   s.released().fen(),
          s.disbursed().fen(), s.clawed_back().fen(), s.available().fen()};
}

std::string MoneyAttrs(const MoneyFields& m) {
  return absl::StrCat(Attr("data-capital-fen", absl::StrCat(m.capital)),
                      Attr("data-committed-fen", absl::StrCat(m.committed)),
                      Attr("data-posted-fen", absl::StrCat(m.posted)),
                      Attr("data-released-fen", absl::StrCat(m.released)),
                      Attr("data-disbursed-fen", absl::StrCat(m.disbursed)),
                      Attr("data-clawed-back-fen", absl::StrCat(m.clawed_back)),
                      Attr("data-available-fen", absl::StrCat(m.available)));
}

std::string MoneyCells(const MoneyFields& m) {
  std::string out;
  // Released and clawed back give way first on narrow pages (class opt).
  for (auto [v, css] :
       std::initializer_list<std::pair<int64_t, const char*>>{{m.capital, "num"},
                                                              {m.committed, "num"},
                                                              {m.posted, "num"},
                                                              {m.disbursed, "num"},
                                                              {m.released, "num opt"},
                                                              {m.clawed_back, "num opt"},
                                                              {m.available, "num"}}) {
    absl::StrAppend(&out, "<td class=\"", css, "\">", YuanText(v), "</td>");
  }
  return out;
}

std::string FundsSection(const ReportData& data) {
  std::string out =
      "<section class=\"card\" id=\"funds\" aria-labelledby=\"funds-h\"><h2 id=\"funds-h\" "
      "class=\"first\">Funds</h2>";
  if (!data.funds_error.empty()) {
    absl::StrAppend(&out, "<p class=\"note warn\" role=\"status\"",
                    Attr("data-funds-error", data.funds_error), ">", HtmlEscape(data.funds_error),
                    ". The scorecard above is complete; the funds' figures are not shown.</p>",
                    "</section>");
    return out;
  }
  if (data.funds.empty()) {
    absl::StrAppend(&out,
                    "<p class=\"note info\" data-funds-empty=\"true\">No funds are "
                    "registered.</p></section>");
    return out;
  }
  out +=
      "<div class=\"scroll\"><table class=\"funds\"><caption>Statements in yuan "
      "(CNY)</caption><thead><tr>"
      "<th scope=\"col\">Fund <span class=\"id\">id \xc2\xb7 sponsor \xc2\xb7 focus</span></th>"
      "<th scope=\"col\" class=\"num\">Capital</th><th scope=\"col\" class=\"num\">Committed</th>"
      "<th scope=\"col\" class=\"num\">Posted</th><th scope=\"col\" class=\"num\">Disbursed</th>"
      "<th scope=\"col\" class=\"num opt\">Released</th>"
      "<th scope=\"col\" class=\"num opt\">Clawed back</th>"
      "<th scope=\"col\" class=\"num\">Available</th></tr></thead><tbody>";
  MoneyFields total;
  int64_t sequence = 0;
  int missing = 0;
  for (const auto& f : data.funds) {
    absl::StrAppend(&out, "<tr", Attr("data-fund", f.fund.id()));
    std::vector<std::string> focus;
    for (int a : f.fund.focus_areas()) {
      focus.push_back(LowerEnum(fv1::FocusArea_descriptor(), "FOCUS_AREA_", a));
    }
    const std::string name = absl::StrCat(
        "<th scope=\"row\">", HtmlEscape(f.fund.name().empty() ? f.fund.id() : f.fund.name()),
        " <span class=\"id\">", HtmlEscape(f.fund.id()), " \xc2\xb7 ",
        HtmlEscape(SponsorText(f.fund.sponsor())),
        focus.empty() ? "" : absl::StrCat(" \xc2\xb7 ", HtmlEscape(absl::StrJoin(focus, ", "))),
        "</span></th>");
    if (!f.statement.has_value()) {
      ++missing;
      absl::StrAppend(&out, Attr("data-statement-error", f.error), ">", name,
                      "<td colspan=\"7\" class=\"muted\">statement unavailable: ",
                      HtmlEscape(f.error), "</td></tr>");
      continue;
    }
    const MoneyFields m = FieldsOf(*f.statement);
    total.capital += m.capital;
    total.committed += m.committed;
    total.posted += m.posted;
    total.released += m.released;
    total.disbursed += m.disbursed;
    total.clawed_back += m.clawed_back;
    total.available += m.available;
    sequence = std::max(sequence, f.statement->journal_sequence());
    absl::StrAppend(&out, MoneyAttrs(m),
                    Attr("data-journal-sequence", absl::StrCat(f.statement->journal_sequence())),
                    ">", name, MoneyCells(m), "</tr>");
  }
  absl::StrAppend(
      &out, "</tbody><tfoot><tr data-total=\"true\"", MoneyAttrs(total),
      Attr("data-funds", absl::StrCat(data.funds.size() - missing)),
      "><th scope=\"row\">Total</th>", MoneyCells(total),
      "</tr></tfoot></table></div><p class=\"versions\">Statements read at journal "
      "sequence ",
      sequence,
      missing > 0 ? absl::StrCat("; ", missing,
                                 " fund(s) without a statement are "
                                 "not in the total")
                  : "",
      ". Committed: held by pending commitments; posted: commitments posted to projects; "
      "available = capital + released + clawed back \xe2\x88\x92 posted "
      "\xe2\x88\x92 committed.</p></section>");
  return out;
}

}  // namespace

std::string RenderReportHtml(const ReportData& data) {
  const std::string scope = ScopeText(data.scope);
  const std::string period = data.period.empty() ? data.scorecard.period() : data.period;
  int64_t registry_version = 0;
  std::set<std::string> ingest;
  int64_t newest_ingest = 0;
  for (const auto& e : data.scorecard.evaluations()) {
    registry_version = std::max(registry_version, e.data_versions().registry_version());
    for (const auto& v : e.data_versions().ingest_versions()) {
      ingest.insert(absl::StrCat(v.indicator(), "/", v.period()));
      newest_ingest = std::max(newest_ingest, v.version());
    }
  }
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      // Nothing may be loaded: the page must render offline, exactly as written.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'\">"
      "<meta name=\"generator\" content=\"iplusctl report\">"
      "<title>Scorecard ",
      HtmlEscape(period), " \xc2\xb7 ", HtmlEscape(scope), "</title><style>", kCss,
      "</style></head>\n<body><div class=\"page\"><header class=\"page-header\" id=\"report\"",
      Attr("data-period", period), Attr("data-scope", scope),
      Attr("data-region-prefix", data.scope.region_prefix()),
      Attr("data-dimension", data.dimension), Attr("data-generated", TimeIso(data.generated)),
      Attr("data-targets", absl::StrCat(data.scorecard.evaluations_size())),
      Attr("data-registry-version", absl::StrCat(registry_version)),
      "><p class=\"eyebrow\">Manufacturing and the Internet \xc2\xb7 progress against the "
      "plan</p><h1>Scorecard ",
      HtmlEscape(period), " \xe2\x80\x94 ", HtmlEscape(scope),
      "</h1><dl class=\"meta\"><div><dt>Scope</dt><dd>", HtmlEscape(scope),
      "</dd></div><div><dt>Period</dt><dd>", HtmlEscape(period),
      "</dd></div><div><dt>Generated</dt><dd><time datetime=\"", TimeIso(data.generated), "\">",
      absl::FormatTime("%Y-%m-%d %H:%M UTC", data.generated, absl::UTCTimeZone()),
      "</time></dd></div>");
  const std::string computed = TimeText(data.scorecard.computed_time());
  if (!computed.empty()) {
    absl::StrAppend(&out, "<div><dt>Scorecard computed</dt><dd>", computed, "</dd></div>");
  }
  if (!data.scorecard.evaluations().empty()) {
    absl::StrAppend(&out, "<div><dt>Data versions</dt><dd>registry v", registry_version,
                    " \xc2\xb7 ingest: ", ingest.size(), " columns, newest v", newest_ingest,
                    "</dd></div>");
  }
  absl::StrAppend(&out, "</dl></header><main>", Summary(data));
  if (!data.scorecard.evaluations().empty()) {
    absl::StrAppend(&out, "<h2>Targets</h2>");
    for (const auto& e : data.scorecard.evaluations()) absl::StrAppend(&out, TargetCard(data, e));
  }
  absl::StrAppend(&out, FundsSection(data),
                  "</main><footer>Generated by <code>iplusctl report</code> from the "
                  "evaluation and funds services. Progress = (current \xe2\x88\x92 baseline) / "
                  "(target \xe2\x88\x92 baseline), not clamped; the bars show it within 0 to "
                  "100\xc2\xa0%, the black mark the progress expected by the period. Every "
                  "figure is also in the page's data-* attributes, unrounded.</footer>"
                  "</div></body></html>\n");
  return out;
}

// ---------------------------------------------------------------------------------------
// The command.

namespace {

template <typename Stub, typename Req, typename Resp>
grpc::Status Unary(Context& ctx, Stub& stub,
                   grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                   const Req& request, Resp* response) {
  grpc::ClientContext context;
  ctx.client->Prepare(&context);
  return (stub.*method)(&context, request, response);
}

const std::map<std::string, ev1::BreakdownDimension>& Dimensions() {
  static const auto* dims = new std::map<std::string, ev1::BreakdownDimension>{
      {"province", ev1::BREAKDOWN_DIMENSION_PROVINCE},
      {"prefecture", ev1::BREAKDOWN_DIMENSION_PREFECTURE},
      {"industry", ev1::BREAKDOWN_DIMENSION_INDUSTRY_DIVISION},
      {"ownership", ev1::BREAKDOWN_DIMENSION_OWNERSHIP},
      {"size", ev1::BREAKDOWN_DIMENSION_SIZE}};
  return *dims;
}

// The latest deadline of the targets: the period a report shows by default.
std::string LatestDeadline(const std::map<std::string, ev1::Target>& targets) {
  std::string best;
  absl::CivilDay best_day;
  for (const auto& [id, t] : targets) {
    auto p = refdata::ParsePeriod(t.deadline_period());
    if (!p.ok()) continue;
    const absl::CivilDay day = refdata::LastDayOf(*p);
    if (best.empty() || day > best_day) {
      best = t.deadline_period();
      best_day = day;
    }
  }
  return best;
}

// Reads the funds and their statements into `data`; on failure sets data->funds_error
// and warns on stderr.
void FetchFunds(Context& ctx, ReportData* data) {
  const std::string address = ctx.client->options().funds;
  auto channel = ctx.client->Channel(Service::kFunds);
  if (!channel.ok()) {
    data->funds_error = absl::StrCat("funds service not called: ", channel.status().message());
    *ctx.err << "iplusctl: warning: " << data->funds_error << "\n";
    return;
  }
  auto stub = fv1::FundsService::NewStub(*channel);
  auto describe = [&](const grpc::Status& s) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
        s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return absl::StrCat("funds service unreachable at ", address, " (", CodeName(s.error_code()),
                          ")");
    }
    return absl::StrCat("funds service at ", address, ": ", DescribeStatus(s));
  };
  fv1::ListFundsRequest request;
  request.set_page_size(1000);
  std::vector<fv1::Fund> funds;
  while (true) {
    fv1::ListFundsResponse page;
    grpc::Status s = Unary(ctx, *stub, &fv1::FundsService::Stub::ListFunds, request, &page);
    if (!s.ok()) {
      data->funds_error = describe(s);
      *ctx.err << "iplusctl: warning: " << data->funds_error
               << "; the report says so in its funds section\n";
      return;
    }
    for (auto& f : *page.mutable_funds()) funds.push_back(std::move(f));
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  for (auto& f : funds) {
    ReportFund row;
    fv1::GetFundStatementRequest sr;
    sr.set_fund_id(f.id());
    fv1::GetFundStatementResponse resp;
    grpc::Status s = Unary(ctx, *stub, &fv1::FundsService::Stub::GetFundStatement, sr, &resp);
    if (s.ok()) {
      row.statement = resp.statement();
    } else {
      row.error = DescribeStatus(s);
      *ctx.err << "iplusctl: warning: statement of fund " << f.id() << ": " << row.error << "\n";
    }
    row.fund = std::move(f);
    data->funds.push_back(std::move(row));
  }
}

// Writes `text` to `path` ("-": stdout) through a temporary file renamed into place.
bool WriteReport(Context& ctx, const std::string& path, const std::string& text) {
  if (path == "-") {
    *ctx.out << text;
    ctx.out->flush();
    return true;
  }
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      *ctx.err << "iplusctl: --html: cannot write " << tmp << "\n";
      std::remove(tmp.c_str());
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *ctx.err << "iplusctl: --html: cannot write " << path << "\n";
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

int Report(Context& ctx) {
  const std::string path = ctx.args.Get("html");
  if (path.empty()) return ctx.Usage("--html: the file to write is required (\"-\" for stdout)");
  ReportData data;
  data.generated = absl::Now();
  int code = 0;
  if (!ScopeFromFlags(ctx, &data.scope, &code)) return code;
  data.dimension = absl::AsciiStrToLower(ctx.args.Get("dimension", "province"));
  auto dim = Dimensions().find(data.dimension);
  if (dim == Dimensions().end()) {
    return ctx.Usage(absl::StrCat("--dimension: \"", data.dimension,
                                  "\" is not one of province, prefecture, industry, ownership, "
                                  "size"));
  }
  auto channel = ctx.client->Channel(Service::kEvaluation);
  if (!channel.ok()) {
    *ctx.err << "iplusctl: " << channel.status().message() << "\n";
    return kExitRejected;
  }
  auto stub = ev1::EvaluationService::NewStub(*channel);

  // The targets, for their titles, rules and periods.
  ev1::ListTargetsRequest list;
  list.set_page_size(1000);
  while (true) {
    ev1::ListTargetsResponse page;
    grpc::Status s = Unary(ctx, *stub, &ev1::EvaluationService::Stub::ListTargets, list, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& t : *page.mutable_targets()) data.targets[t.id()] = std::move(t);
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  data.period = ctx.args.Has("period") ? ctx.args.Get("period") : LatestDeadline(data.targets);

  int exit_code = kExitOk;
  if (!data.targets.empty() || ctx.args.Has("period")) {
    ev1::GetScorecardRequest request;
    *request.mutable_scope() = data.scope;
    request.set_period(data.period);
    ev1::GetScorecardResponse response;
    grpc::Status s =
        Unary(ctx, *stub, &ev1::EvaluationService::Stub::GetScorecard, request, &response);
    if (!s.ok()) return ctx.Fail(s);
    data.scorecard = response.scorecard();
    for (const auto& e : data.scorecard.evaluations()) {
      ev1::BreakdownRequest b;
      b.set_target_id(e.target_id());
      *b.mutable_scope() = data.scope;
      b.set_period(data.period);
      b.set_dimension(dim->second);
      ev1::BreakdownResponse br;
      grpc::Status bs = Unary(ctx, *stub, &ev1::EvaluationService::Stub::Breakdown, b, &br);
      if (bs.ok()) {
        data.breakdowns[e.target_id()] = std::move(br);
      } else {
        data.breakdown_errors[e.target_id()] = DescribeStatus(bs);
        *ctx.err << "iplusctl: breakdown of " << e.target_id() << ": " << DescribeStatus(bs)
                 << "\n";
        if (exit_code == kExitOk) exit_code = ExitCodeFor(bs.error_code());
      }
    }
  }
  FetchFunds(ctx, &data);

  if (!WriteReport(ctx, path, RenderReportHtml(data))) return kExitFailure;
  if (path != "-") {
    *ctx.out << "wrote " << path << ": " << data.scorecard.evaluations_size() << " targets, "
             << data.funds.size() << " funds"
             << (data.funds_error.empty() ? "" : " (funds service not reached)") << "\n";
  }
  return exit_code;
}

}  // namespace

void AddReportCommands(std::vector<Command>* commands) {
  std::vector<FlagSpec> flags = {
      {"html", true, "write the report to this HTML file (\"-\": stdout)"},
      {"period", true, "period to evaluate, e.g. 2018 (default: the latest target deadline)"},
      {"dimension", true,
       "league tables by province (default), prefecture, industry, ownership or size"}};
  flags.insert(flags.end(), ScopeFlagSpecs().begin(), ScopeFlagSpecs().end());
  commands->push_back({{"report"},
                       "",
                       "write the scorecard, league tables and funds as one HTML page",
                       std::move(flags),
                       0,
                       0,
                       Report});
}

}  // namespace iplus::ctl
