#pragma once

// The funds commands of iplusctl (iplus.funds.v1.FundsService, docs/iplusctl.md):
// funds, projects and their money operations, the ledger and the journal. The parsing
// and formatting pieces are pure functions, declared here for the unit tests.
//
// Money on the command line is yuan with at most two decimals ("1250000.50"). Tables
// print yuan with two decimals and thousands separators ("1,250,000.50"); CSV prints
// exact fen in columns whose names end in "_fen"; JSON is the proto JSON (Money.fen).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "iplus/funds/v1/funds.pb.h"
#include "tools/iplusctl/commands.h"
#include "tools/iplusctl/format.h"

namespace iplus::ctl {

// Appends the funds commands (fund, project, ledger, journal) to the command table.
void AddFundsCommands(std::vector<Command>* commands);

// ---------------------------------------------------------------------------------------
// Parsing. Errors are INVALID_ARGUMENT whose message starts with `what` (a flag such as
// "--budget" or an argument such as "AMOUNT").

// Yuan with at most two decimals ("1250000", "0.5", "1250000.50") as fen; positive and
// at most INT64_MAX fen. No sign, exponent, separators or blanks.
absl::StatusOr<int64_t> ParseYuan(absl::string_view what, absl::string_view text);

// "region:440000" (6 digits), "enterprise:<credit code>" or "national".
absl::StatusOr<funds::v1::Sponsor> ParseSponsor(absl::string_view text);

// A comma-separated list of focus areas, each the full enum name or its short name in
// any case with '-' for '_' ("platforms,pilot-projects"); no duplicates.
absl::StatusOr<std::vector<funds::v1::FocusArea>> ParseFocusAreas(absl::string_view text);

// A project kind ("pilot-project", "platform", ...).
absl::StatusOr<funds::v1::ProjectKind> ParseProjectKind(absl::string_view text);

// One --milestone: ID:AMOUNT[:TITLE][:CONDITION]. The last ':'-separated part is the
// condition when it holds '=': comma-separated key=value pairs, indicator=ID,
// baseline=PERIOD, current=PERIOD and exactly one rule: change=-12% (relative change
// from the baseline, in percent), multiple=2 (times the baseline), at-least=V or
// at-most=V (an absolute value). The title may contain ':' and may be empty
// ("m2:100::indicator=...").
absl::StatusOr<funds::v1::Milestone> ParseMilestone(absl::string_view text);
absl::StatusOr<funds::v1::MilestoneCondition> ParseCondition(absl::string_view text);

// A positive duration: absl's units (300ms, 1.5h, 2h45m) and days ("30d", "1d12h").
absl::StatusOr<absl::Duration> ParseLongDuration(absl::string_view what, absl::string_view text);

// A date ("2024-05-01", midnight UTC) or an RFC 3339 time ("2024-05-01T08:00:00+08:00").
absl::StatusOr<google::protobuf::Timestamp> ParseTimestamp(absl::string_view what,
                                                           absl::string_view text);

// A fresh random request id: a version 4 UUID, lower-case.
std::string NewRequestId();

// ---------------------------------------------------------------------------------------
// Formatting.

// Fen as yuan with two decimals and thousands separators: 125000050 -> "1,250,000.50".
std::string FormatYuan(int64_t fen);
// A money cell: FormatYuan in tables (the currency appended when it is not CNY), the
// exact fen in CSV and JSON.
std::string MoneyCell(OutputFormat format, int64_t fen, absl::string_view currency = "CNY");
// A money column's header: `name` in tables, `name`_fen in CSV.
std::string MoneyHeader(OutputFormat format, absl::string_view name);

// "region:440000", "enterprise:<code>", "national" (ParseSponsor's syntax).
std::string SponsorText(const funds::v1::Sponsor& sponsor);
// ParseCondition's syntax: "indicator=...,baseline=...,current=...,change=-12%".
std::string ConditionText(const funds::v1::MilestoneCondition& condition);

Table FundTable(OutputFormat format, const std::vector<const funds::v1::Fund*>& funds);
Table ProjectTable(OutputFormat format, const std::vector<const funds::v1::Project*>& projects,
                   bool accounts);
Table MilestoneTable(OutputFormat format,
                     const google::protobuf::RepeatedPtrField<funds::v1::Milestone>& milestones);
Table TransferTable(OutputFormat format,
                    const google::protobuf::RepeatedPtrField<funds::v1::Transfer>& transfers);
Table AccountTable(OutputFormat format,
                   const google::protobuf::RepeatedPtrField<funds::v1::Account>& accounts);
// Tables: one row per figure (item, amount); CSV: one row with a column per figure.
Table FundStatementTable(OutputFormat format, const funds::v1::FundStatement& statement);
Table ProjectStatementTable(OutputFormat format, const funds::v1::ProjectStatement& statement);

}  // namespace iplus::ctl
