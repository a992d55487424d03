#pragma once

// `iplusctl report --html FILE`: the scorecard of a scope and period as one
// self-contained HTML page (inline CSS and SVG, no scripts, nothing loaded from the
// network), with a trend chart and a league table per target and the funds' statements.
//
// The page is rendered by pure functions from the services' responses (ReportData), so
// that it can be tested without any service. Every figure on the page is also written,
// unrounded, in a data-* attribute of its element (docs/iplusctl.md lists them).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "iplus/common/v1/common.pb.h"
#include "iplus/evaluation/v1/evaluation.pb.h"
#include "iplus/funds/v1/funds.pb.h"
#include "tools/iplusctl/commands.h"

namespace iplus::ctl {

// One fund of the funds section: its statement, or why it could not be read.
struct ReportFund {
  ::iplus::funds::v1::Fund fund;
  std::optional<::iplus::funds::v1::FundStatement> statement;
  std::string error;  // set when statement is empty
};

// What the page shows, as the services returned it.
struct ReportData {
  ::iplus::common::v1::Scope scope;
  std::string period;
  // The breakdown dimension of the league tables: "province" (default), "prefecture",
  // "industry", "ownership" or "size".
  std::string dimension = "province";
  absl::Time generated;
  ::iplus::evaluation::v1::Scorecard scorecard;
  // The targets by id (titles, rules, periods); a scorecard entry without its target is
  // shown under its id.
  std::map<std::string, ::iplus::evaluation::v1::Target> targets;
  // Per target id: its breakdown, or the error that kept it from the page.
  std::map<std::string, ::iplus::evaluation::v1::BreakdownResponse> breakdowns;
  std::map<std::string, std::string> breakdown_errors;
  // The funds section: the funds with their statements when the service answered,
  // otherwise funds_error says why ("funds service unreachable at 127.0.0.1:50054").
  std::vector<ReportFund> funds;
  std::string funds_error;
};

// The whole page.
std::string RenderReportHtml(const ReportData& data);

// The pieces, exposed for tests.

// Escapes & < > " ' for text and attribute values.
std::string HtmlEscape(absl::string_view text);
// Yuan with two decimals and thousands separators: 125000050 -> "1,250,000.50".
std::string YuanText(int64_t fen);
// A figure for people: about four significant digits in fixed notation, thousands
// separators, no trailing zeros ("132.5", "0.8123", "12,346", "-3").
std::string DisplayNumber(double value);
// A ratio as a percentage with one decimal: 0.8123 -> "81.2 %".
std::string DisplayPercent(double ratio);
// "Guangdong (44) · industry C26 · key enterprises only"; "all regions" when empty.
std::string ScopeText(const ::iplus::common::v1::Scope& scope);
// The trend chart of one evaluation: baseline, target line, observed values and the
// forecast at the deadline. `target` may be null (no deadline known: the chart ends at
// the evaluated period).
std::string TrendChartSvg(const ::iplus::evaluation::v1::Evaluation& evaluation,
                          const ::iplus::evaluation::v1::Target* target);

// Adds the `report` command to the command table.
void AddReportCommands(std::vector<Command>* commands);

}  // namespace iplus::ctl
