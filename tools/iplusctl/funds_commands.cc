#include "tools/iplusctl/funds_commands.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "tools/iplusctl/enums.h"

namespace iplus::ctl {

namespace fv1 = ::iplus::funds::v1;
namespace ev1 = ::iplus::evaluation::v1;
namespace cv1 = ::iplus::common::v1;

namespace {

absl::Status Invalid(absl::string_view what, absl::string_view text, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": \"", text, "\" ", problem));
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A finite number in strict decimal notation (what SimpleAtod reads, minus inf/nan).
bool ParseNumber(absl::string_view s, double* v) {
  if (s.empty() || absl::ascii_isspace(static_cast<unsigned char>(s.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  return absl::SimpleAtod(s, v) && std::isfinite(*v);
}

std::string Shortest(double v) { return FormatDouble(v); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Parsing.

absl::StatusOr<int64_t> ParseYuan(absl::string_view what, absl::string_view text) {
  constexpr absl::string_view kForm =
      "is not an amount in yuan with at most two decimals "
      "(e.g. 1250000.50)";
  absl::string_view whole = text, cents;
  if (size_t dot = text.find('.'); dot != absl::string_view::npos) {
    whole = text.substr(0, dot);
    cents = text.substr(dot + 1);
    if (!AllDigits(cents)) return Invalid(what, text, kForm);
    if (cents.size() > 2) {
      return Invalid(what, text, "has more than two decimals (the smallest unit is 0.01 yuan)");
    }
  }
  if (!AllDigits(whole)) return Invalid(what, text, kForm);
  uint64_t yuan = 0;
  // Up to 17 digits cannot overflow a uint64 (and are checked against INT64_MAX below).
  const absl::string_view significant =
      whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
  if (significant.size() > 17) return Invalid(what, text, "is too large");
  for (char c : significant) yuan = yuan * 10 + static_cast<uint64_t>(c - '0');
  uint64_t fen_part = 0;
  if (!cents.empty()) {
    fen_part = static_cast<uint64_t>(cents[0] - '0') * 10;
    if (cents.size() == 2) fen_part += static_cast<uint64_t>(cents[1] - '0');
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (yuan > (kMax - fen_part) / 100) return Invalid(what, text, "is too large");
  const uint64_t fen = yuan * 100 + fen_part;
  if (fen == 0) return Invalid(what, text, "is not positive");
  return static_cast<int64_t>(fen);
}

absl::StatusOr<fv1::Sponsor> ParseSponsor(absl::string_view text) {
  constexpr absl::string_view kWhat = "--sponsor";
  fv1::Sponsor sponsor;
  if (text == "national") {
    sponsor.set_national(true);
    return sponsor;
  }
  std::pair<absl::string_view, absl::string_view> kv =
      absl::StrSplit(text, absl::MaxSplits(':', 1));
  if (kv.first == "region") {
    if (kv.second.size() != 6 || !AllDigits(kv.second)) {
      return Invalid(kWhat, text, "does not name a 6-digit region code (region:440000)");
    }
    sponsor.set_region_code(std::string(kv.second));
    return sponsor;
  }
  if (kv.first == "enterprise") {
    if (kv.second.empty()) {
      return Invalid(kWhat, text, "does not name a credit code (enterprise:<credit code>)");
    }
    sponsor.set_enterprise_code(std::string(kv.second));
    return sponsor;
  }
  return Invalid(kWhat, text, "is not region:<6-digit code>, enterprise:<credit code> or national");
}

absl::StatusOr<std::vector<fv1::FocusArea>> ParseFocusAreas(absl::string_view text) {
  std::vector<fv1::FocusArea> out;
  std::set<int> seen;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int v = 0;
    if (!ParseEnum(fv1::FocusArea_descriptor(), "FOCUS_AREA_", std::string(part), &v)) {
      return Invalid("--focus", part,
                     "is not a focus area (platforms, intelligent-manufacturing, "
                     "pilot-projects, industry-cloud, networked-collaboration, "
                     "personalised-customisation, service-oriented-manufacturing, "
                     "industrial-big-data, cybersecurity, other)");
    }
    if (!seen.insert(v).second) return Invalid("--focus", part, "is given twice");
    out.push_back(static_cast<fv1::FocusArea>(v));
  }
  return out;
}

absl::StatusOr<fv1::ProjectKind> ParseProjectKind(absl::string_view text) {
  int v = 0;
  if (!ParseEnum(fv1::ProjectKind_descriptor(), "PROJECT_KIND_", std::string(text), &v)) {
    return Invalid("--kind", text,
                   "is not a project kind (pilot-project, platform, "
                   "intelligent-manufacturing, industry-cloud-adoption, other)");
  }
  return static_cast<fv1::ProjectKind>(v);
}

absl::StatusOr<fv1::MilestoneCondition> ParseCondition(absl::string_view text) {
  const std::string what = "--milestone condition";
  fv1::MilestoneCondition condition;
  std::set<std::string> seen;
  int rules = 0;
  for (absl::string_view pair : absl::StrSplit(text, ',')) {
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return Invalid(what, pair, "is not key=value");
    }
    const std::string key(pair.substr(0, eq));
    const absl::string_view value = pair.substr(eq + 1);
    if (!seen.insert(key).second) return Invalid(what, key, "is given twice");
    if (value.empty()) return Invalid(what, pair, "has no value");
    double number = 0;
    if (key == "indicator") {
      condition.set_indicator(std::string(value));
    } else if (key == "baseline") {
      condition.set_baseline_period(std::string(value));
    } else if (key == "current") {
      condition.set_current_period(std::string(value));
    } else if (key == "change") {
      if (!absl::EndsWith(value, "%") || !ParseNumber(value.substr(0, value.size() - 1), &number)) {
        return Invalid(what, pair, "is not a change in percent, e.g. change=-12%");
      }
      condition.mutable_rule()->mutable_relative_change()->set_change(number / 100);
      ++rules;
    } else if (key == "multiple") {
      if (!ParseNumber(value, &number)) return Invalid(what, pair, "is not a number");
      condition.mutable_rule()->mutable_multiple()->set_multiple(number);
      ++rules;
    } else if (key == "at-least" || key == "at-most") {
      if (!ParseNumber(value, &number)) return Invalid(what, pair, "is not a number");
      auto* rule = condition.mutable_rule()->mutable_absolute();
      rule->set_comparison(key == "at-least" ? ev1::COMPARISON_GE : ev1::COMPARISON_LE);
      rule->set_value(number);
      ++rules;
    } else {
      return Invalid(what, key,
                     "is not a key (indicator, baseline, current, and one rule: change, "
                     "multiple, at-least, at-most)");
    }
  }
  for (const char* required : {"indicator", "baseline", "current"}) {
    if (seen.count(required) == 0) {
      return Invalid(what, text, absl::StrCat("lacks ", required, "="));
    }
  }
  if (rules != 1) {
    return Invalid(what, text,
                   "needs exactly one rule: change=P%, multiple=M, at-least=V or at-most=V");
  }
  return condition;
}

absl::StatusOr<fv1::Milestone> ParseMilestone(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() < 2) {
    return Invalid("--milestone", text, "is not ID:AMOUNT[:TITLE][:CONDITION]");
  }
  fv1::Milestone m;
  if (parts[0].empty()) return Invalid("--milestone", text, "has no milestone id");
  m.set_id(std::string(parts[0]));
  auto fen = ParseYuan(absl::StrCat("--milestone ", parts[0], " amount"), parts[1]);
  if (!fen.ok()) return fen.status();
  m.mutable_amount()->set_currency("CNY");
  m.mutable_amount()->set_fen(*fen);
  std::vector<absl::string_view> rest(parts.begin() + 2, parts.end());
  if (!rest.empty() && absl::StrContains(rest.back(), '=')) {
    auto condition = ParseCondition(rest.back());
    if (!condition.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(absl::StrReplaceAll(
          condition.status().message(),
          {{"--milestone condition", absl::StrCat("--milestone ", parts[0], " condition")}})));
    }
    *m.mutable_condition() = *std::move(condition);
    rest.pop_back();
  }
  m.set_title(absl::StrJoin(rest, ":"));
  return m;
}

absl::StatusOr<absl::Duration> ParseLongDuration(absl::string_view what, absl::string_view text) {
  absl::Duration total = absl::ZeroDuration();
  absl::string_view rest = text;
  if (size_t d = text.find('d'); d != absl::string_view::npos) {
    int64_t days = 0;
    if (!AllDigits(text.substr(0, d)) || !absl::SimpleAtoi(text.substr(0, d), &days) ||
        days > 100000) {
      return Invalid(what, text, "is not a duration like 30d, 12h or 1d12h");
    }
    total = absl::Hours(24) * days;
    rest = text.substr(d + 1);
  }
  if (!rest.empty()) {
    absl::Duration more;
    if (!absl::ParseDuration(rest, &more) || more < absl::ZeroDuration() ||
        more == absl::InfiniteDuration()) {
      return Invalid(what, text, "is not a duration like 30d, 12h or 1d12h");
    }
    total += more;
  }
  if (total <= absl::ZeroDuration()) return Invalid(what, text, "is not a positive duration");
  return total;
}

absl::StatusOr<google::protobuf::Timestamp> ParseTimestamp(absl::string_view what,
                                                           absl::string_view text) {
  absl::Time t;
  std::string error;
  const std::string s(text);
  if (!absl::ParseTime("%Y-%m-%d", s, absl::UTCTimeZone(), &t, &error) &&
      !absl::ParseTime(absl::RFC3339_full, s, absl::UTCTimeZone(), &t, &error)) {
    return Invalid(what, text, "is not a date (2024-05-01) or an RFC 3339 time");
  }
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t seconds = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(nanos));
  return ts;
}

std::string NewRequestId() {
  std::random_device rd;
  uint8_t b[16];
  for (int i = 0; i < 16; i += 4) {
    const uint32_t r = rd();
    b[i] = static_cast<uint8_t>(r);
    b[i + 1] = static_cast<uint8_t>(r >> 8);
    b[i + 2] = static_cast<uint8_t>(r >> 16);
    b[i + 3] = static_cast<uint8_t>(r >> 24);
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    absl::StrAppendFormat(&out, "%02x", b[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Formatting.

std::string FormatYuan(int64_t fen) {
  const bool negative = fen < 0;
  // Through unsigned arithmetic so that INT64_MIN has a magnitude too.
  const uint64_t magnitude =
      negative ? static_cast<uint64_t>(0) - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  const std::string digits = absl::StrCat(magnitude / 100);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return absl::StrFormat("%s%s.%02d", negative ? "-" : "", grouped,
                         static_cast<int>(magnitude % 100));
}

std::string MoneyCell(OutputFormat format, int64_t fen, absl::string_view currency) {
  if (format != OutputFormat::kTable) return absl::StrCat(fen);
  std::string out = FormatYuan(fen);
  if (!currency.empty() && currency != "CNY") absl::StrAppend(&out, " ", currency);
  return out;
}

std::string MoneyHeader(OutputFormat format, absl::string_view name) {
  return format == OutputFormat::kTable ? std::string(name) : absl::StrCat(name, "_fen");
}

namespace {

std::string Money(OutputFormat format, const cv1::Money& m) {
  return MoneyCell(format, m.fen(), m.currency());
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string Focus(const google::protobuf::RepeatedField<int>& areas) {
  std::vector<std::string> names;
  for (int a : areas) names.push_back(EnumShortName(fv1::FocusArea_descriptor(), "FOCUS_AREA_", a));
  return absl::StrJoin(names, ",");
}

std::string TransferType(int t) {
  return EnumShortName(fv1::IatiTransactionType_descriptor(), "IATI_TRANSACTION_TYPE_", t);
}

std::string TransferFlagsText(const fv1::TransferFlags& f) {
  std::vector<std::string> out;
  if (f.linked()) out.push_back("linked");
  if (f.pending()) out.push_back("pending");
  if (f.post_pending_transfer()) out.push_back("post");
  if (f.void_pending_transfer()) out.push_back("void");
  return absl::StrJoin(out, ",");
}

}  // namespace

std::string SponsorText(const fv1::Sponsor& sponsor) {
  switch (sponsor.kind_case()) {
    case fv1::Sponsor::kRegionCode:
      return absl::StrCat("region:", sponsor.region_code());
    case fv1::Sponsor::kEnterpriseCode:
      return absl::StrCat("enterprise:", sponsor.enterprise_code());
    case fv1::Sponsor::kNational:
      return "national";
    default:
      return "";
  }
}

std::string ConditionText(const fv1::MilestoneCondition& c) {
  std::string rule;
  switch (c.rule().kind_case()) {
    case ev1::Rule::kRelativeChange:
      rule = absl::StrFormat("change=%.12g%%", c.rule().relative_change().change() * 100);
      break;
    case ev1::Rule::kMultiple:
      rule = absl::StrCat("multiple=", Shortest(c.rule().multiple().multiple()));
      break;
    case ev1::Rule::kAbsolute:
      rule = absl::StrCat(
          c.rule().absolute().comparison() == ev1::COMPARISON_LE ? "at-most=" : "at-least=",
          Shortest(c.rule().absolute().value()));
      break;
    default:
      break;
  }
  std::vector<std::string> parts = {absl::StrCat("indicator=", c.indicator()),
                                    absl::StrCat("baseline=", c.baseline_period()),
                                    absl::StrCat("current=", c.current_period())};
  if (!rule.empty()) parts.push_back(rule);
  return absl::StrJoin(parts, ",");
}

Table FundTable(OutputFormat format, const std::vector<const fv1::Fund*>& funds) {
  (void)format;
  Table t;
  t.header = {"id",      "name",           "sponsor",      "focus",
              "created", "source_account", "fund_account", "description"};
  for (const fv1::Fund* f : funds) {
    t.Add({f->id(), f->name(), SponsorText(f->sponsor()), Focus(f->focus_areas()),
           Time(f->create_time()), f->source_account_id(), f->fund_account_id(), f->description()});
  }
  return t;
}

Table ProjectTable(OutputFormat format, const std::vector<const fv1::Project*>& projects,
                   bool accounts) {
  Table t;
  t.header = {"id",         "fund", "beneficiary", "kind", "status", MoneyHeader(format, "budget"),
              "milestones", "title"};
  if (accounts) {
    for (const char* h : {"created", "updated", "commitment_account", "disbursed_account"}) {
      t.header.push_back(h);
    }
  }
  for (const fv1::Project* p : projects) {
    std::vector<std::string> row = {
        p->id(),
        p->fund_id(),
        p->beneficiary_code(),
        EnumShortName(fv1::ProjectKind_descriptor(), "PROJECT_KIND_", p->kind()),
        EnumShortName(fv1::ProjectStatus_descriptor(), "PROJECT_STATUS_", p->status()),
        Money(format, p->budget()),
        absl::StrCat(p->milestones_size()),
        p->title()};
    if (accounts) {
      row.push_back(Time(p->create_time()));
      row.push_back(Time(p->update_time()));
      row.push_back(p->commitment_account_id());
      row.push_back(p->disbursed_account_id());
    }
    t.Add(std::move(row));
  }
  return t;
}

Table MilestoneTable(OutputFormat format,
                     const google::protobuf::RepeatedPtrField<fv1::Milestone>& milestones) {
  Table t;
  t.header = {
      "milestone", MoneyHeader(format, "amount"), "status", "disbursed", "transfer", "title",
      "condition"};
  for (const auto& m : milestones) {
    t.Add({m.id(), Money(format, m.amount()),
           EnumShortName(fv1::MilestoneStatus_descriptor(), "MILESTONE_STATUS_", m.status()),
           Time(m.disburse_time()), m.disbursement_transfer_id(), m.title(),
           m.has_condition() ? ConditionText(m.condition()) : ""});
  }
  return t;
}

Table TransferTable(OutputFormat format,
                    const google::protobuf::RepeatedPtrField<fv1::Transfer>& transfers) {
  Table t;
  t.header = {
      "sequence",   "id",        "type", "flags", "debit", "credit", MoneyHeader(format, "amount"),
      "pending_id", "milestone", "time", "memo"};
  for (const auto& x : transfers) {
    t.Add({x.journal_sequence() == 0 ? "" : absl::StrCat(x.journal_sequence()), x.id(),
           TransferType(x.type()), TransferFlagsText(x.flags()), x.debit_account_id(),
           x.credit_account_id(), MoneyCell(format, x.amount()), x.pending_id(), x.milestone_id(),
           Time(x.timestamp()), x.memo()});
  }
  return t;
}

Table AccountTable(OutputFormat format,
                   const google::protobuf::RepeatedPtrField<fv1::Account>& accounts) {
  Table t;
  t.header = {"id",
              "kind",
              "fund",
              "project",
              "flags",
              MoneyHeader(format, "debits_pending"),
              MoneyHeader(format, "debits_posted"),
              MoneyHeader(format, "credits_pending"),
              MoneyHeader(format, "credits_posted")};
  for (const auto& a : accounts) {
    std::string flags;
    if (a.flags().debits_must_not_exceed_credits()) flags = "debits<=credits";
    if (a.flags().credits_must_not_exceed_debits()) flags = "credits<=debits";
    t.Add({a.id(), EnumShortName(fv1::AccountKind_descriptor(), "ACCOUNT_KIND_", a.kind()),
           a.fund_id(), a.project_id(), flags, MoneyCell(format, a.debits_pending()),
           MoneyCell(format, a.debits_posted()), MoneyCell(format, a.credits_pending()),
           MoneyCell(format, a.credits_posted())});
  }
  return t;
}

namespace {

// Tables: item/amount rows; CSV: the id columns, then one column per figure.
Table StatementTable(OutputFormat format, std::vector<std::pair<std::string, std::string>> ids,
                     const std::vector<std::pair<std::string, const cv1::Money*>>& figures,
                     int64_t journal_sequence) {
  Table t;
  if (format == OutputFormat::kTable) {
    t.header = {"item", "amount"};
    for (const auto& [name, money] : figures) t.Add({name, Money(format, *money)});
    return t;
  }
  std::vector<std::string> row;
  for (auto& [name, value] : ids) {
    t.header.push_back(name);
    row.push_back(value);
  }
  for (const auto& [name, money] : figures) {
    t.header.push_back(MoneyHeader(format, name));
    row.push_back(Money(format, *money));
  }
  t.header.push_back("journal_sequence");
  row.push_back(absl::StrCat(journal_sequence));
  t.Add(std::move(row));
  return t;
}

}  // namespace

Table FundStatementTable(OutputFormat format, const fv1::FundStatement& s) {
  return StatementTable(format, {{"fund", s.fund_id()}},
                        {{"capital", &s.capital()},
                         {"committed", &s.committed()},
                         {"posted", &s.posted()},
                         {"released", &s.released()},
                         {"disbursed", &s.disbursed()},
                         {"clawed_back", &s.clawed_back()},
                         {"available", &s.available()}},
                        s.journal_sequence());
}

Table ProjectStatementTable(OutputFormat format, const fv1::ProjectStatement& s) {
  return StatementTable(format, {{"project", s.project_id()}, {"fund", s.fund_id()}},
                        {{"budget", &s.budget()},
                         {"committed", &s.committed()},
                         {"posted", &s.posted()},
                         {"released", &s.released()},
                         {"disbursed", &s.disbursed()},
                         {"clawed_back", &s.clawed_back()},
                         {"undisbursed", &s.undisbursed()},
                         {"uncommitted_budget", &s.uncommitted_budget()}},
                        s.journal_sequence());
}

// ---------------------------------------------------------------------------------------
// The commands.

namespace {

using Stub = fv1::FundsService::Stub;

std::unique_ptr<Stub> FundsStub(Context& ctx, int* exit_code) {
  auto channel = ctx.client->Channel(Service::kFunds);
  if (!channel.ok()) {
    *ctx.err << "iplusctl: " << channel.status().message() << "\n";
    *exit_code = kExitRejected;
    return nullptr;
  }
  return fv1::FundsService::NewStub(*channel);
}

#define IPLUS_FUNDS_STUB(var)             \
  int stub_exit_ = 0;                     \
  auto var = FundsStub(ctx, &stub_exit_); \
  if (var == nullptr) return stub_exit_;

template <typename Req, typename Resp>
grpc::Status Call(Context& ctx, Stub& stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, Resp* response) {
  grpc::ClientContext context;
  ctx.client->Prepare(&context);
  return (stub.*method)(&context, request, response);
}

int UsageOf(Context& ctx, const absl::Status& s) { return ctx.Usage(std::string(s.message())); }

cv1::Money Cny(int64_t fen) {
  cv1::Money m;
  m.set_currency("CNY");
  m.set_fen(fen);
  return m;
}

// The request id of an operation: --request-id, else a fresh one.
std::string OperationRequestId(Context& ctx) {
  std::string id = ctx.args.Get("request-id");
  return id.empty() ? NewRequestId() : id;
}

// A failed operation: the one-line error with the request id, and the hint to retry with
// it when the outcome is unknown or the failure passing.
int FailOperation(Context& ctx, const grpc::Status& status, const std::string& request_id) {
  const int code = ExitCodeFor(status.error_code());
  *ctx.err << "iplusctl: " << DescribeStatus(status) << "; request id " << request_id;
  if (code == kExitUnavailable || code == kExitFailure) {
    *ctx.err << ": retry with --request-id " << request_id;
  }
  *ctx.err << "\n";
  return code;
}

// Prints an operation's transfers: tables end with "request id: ID", CSV carries it in a
// request_id column, JSON prints the response and the id goes to stderr.
void PrintOperation(Context& ctx,
                    const google::protobuf::RepeatedPtrField<fv1::Transfer>& transfers,
                    const google::protobuf::Message& response, const std::string& request_id,
                    const std::vector<std::string>& notes = {}) {
  Table t = TransferTable(ctx.format, transfers);
  switch (ctx.format) {
    case OutputFormat::kTable:
      *ctx.out << RenderTable(t);
      for (const auto& n : notes) *ctx.out << n << "\n";
      *ctx.out << "request id: " << request_id << "\n";
      break;
    case OutputFormat::kCsv:
      t.header.push_back("request_id");
      for (auto& row : t.rows) row.push_back(request_id);
      *ctx.out << RenderCsv(t);
      break;
    case OutputFormat::kJson:
      *ctx.out << ToJson(response);
      *ctx.err << "iplusctl: request id " << request_id << "\n";
      break;
  }
}

// A positional amount; false after the usage message.
bool AmountArg(Context& ctx, size_t index, const char* name, int64_t* fen, int* code) {
  auto v = ParseYuan(name, ctx.positionals[index]);
  if (!v.ok()) {
    *code = UsageOf(ctx, v.status());
    return false;
  }
  *fen = *v;
  return true;
}

// Flags that must be given; false after the usage message naming the first missing one.
bool Require(Context& ctx, std::initializer_list<const char*> flags, int* code) {
  for (const char* f : flags) {
    if (ctx.args.Get(f).empty()) {
      *code = ctx.Usage(absl::StrCat("--", f, " is required"));
      return false;
    }
  }
  return true;
}

// ---- Funds.

int FundCreate(Context& ctx) {
  int code = 0;
  if (!Require(ctx, {"name", "sponsor"}, &code)) return code;
  fv1::CreateFundRequest request;
  fv1::Fund* f = request.mutable_fund();
  f->set_id(ctx.positionals[0]);
  f->set_name(ctx.args.Get("name"));
  auto sponsor = ParseSponsor(ctx.args.Get("sponsor"));
  if (!sponsor.ok()) return UsageOf(ctx, sponsor.status());
  *f->mutable_sponsor() = *sponsor;
  if (ctx.args.Has("focus")) {
    auto focus = ParseFocusAreas(ctx.args.Get("focus"));
    if (!focus.ok()) return UsageOf(ctx, focus.status());
    for (auto a : *focus) f->add_focus_areas(a);
  }
  f->set_currency("CNY");
  f->set_description(ctx.args.Get("description"));
  request.set_request_id(NewRequestId());
  IPLUS_FUNDS_STUB(stub);
  fv1::CreateFundResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::CreateFund, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t = FundTable(ctx.format, {&response.fund()});
  t.header.push_back("created_now");
  t.rows.back().push_back(response.created() ? "true" : "false");
  Print(*ctx.out, ctx.format, t, response);
  return kExitOk;
}

int FundGet(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::GetFundRequest request;
  request.set_id(ctx.positionals[0]);
  fv1::GetFundResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::GetFund, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Print(*ctx.out, ctx.format, FundTable(ctx.format, {&response.fund()}), response);
  return kExitOk;
}

int FundList(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::ListFundsRequest request;
  request.set_page_size(1000);
  fv1::ListFundsResponse all;
  while (true) {
    fv1::ListFundsResponse page;
    grpc::Status s = Call(ctx, *stub, &Stub::ListFunds, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& f : *page.mutable_funds()) *all.add_funds() = std::move(f);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  std::vector<const fv1::Fund*> funds;
  for (const auto& f : all.funds()) funds.push_back(&f);
  Print(*ctx.out, ctx.format, FundTable(ctx.format, funds), all);
  return kExitOk;
}

int FundCapitalise(Context& ctx) {
  fv1::CapitaliseFundRequest request;
  request.set_fund_id(ctx.positionals[0]);
  int64_t fen = 0;
  int code = 0;
  if (!AmountArg(ctx, 1, "AMOUNT", &fen, &code)) return code;
  *request.mutable_amount() = Cny(fen);
  request.set_memo(ctx.args.Get("memo"));
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::CapitaliseFundResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::CapitaliseFund, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  PrintOperation(ctx, response.transfers(), response, request.request_id());
  return kExitOk;
}

int FundStatement(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::GetFundStatementRequest request;
  request.set_fund_id(ctx.positionals[0]);
  fv1::GetFundStatementResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::GetFundStatement, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  const auto& st = response.statement();
  if (ctx.format == OutputFormat::kTable) {
    *ctx.out << "fund " << st.fund_id() << " at journal sequence " << st.journal_sequence()
             << " (CNY)\n";
  }
  Print(*ctx.out, ctx.format, FundStatementTable(ctx.format, st), response);
  return kExitOk;
}

// ---- Projects.

const char* const kProjectFields[] = {"fund",  "beneficiary", "kind",
                                      "title", "budget",      "milestone"};

int ProjectCreate(Context& ctx) {
  fv1::CreateProjectRequest request;
  fv1::Project* p = request.mutable_project();
  const std::string id = ctx.positionals.empty() ? "" : ctx.positionals[0];
  if (ctx.args.Has("from-json")) {
    for (const char* f : kProjectFields) {
      if (ctx.args.Has(f)) return ctx.Usage(absl::StrCat("--from-json excludes --", f));
    }
    const std::string path = ctx.args.Get("from-json");
    std::ifstream in(path);
    if (!in) return ctx.Usage(absl::StrCat("--from-json: cannot read ", path));
    std::stringstream text;
    text << in.rdbuf();
    auto status = google::protobuf::util::JsonStringToMessage(text.str(), p);
    if (!status.ok()) {
      return ctx.Usage(
          absl::StrCat("--from-json: ", path, " is not a v1.Project in JSON: ", status.ToString()));
    }
    if (!id.empty()) {
      if (!p->id().empty() && p->id() != id) {
        return ctx.Usage(absl::StrCat("--from-json: the file's id \"", p->id(),
                                      "\" differs from ID \"", id, "\""));
      }
      p->set_id(id);
    }
    if (p->id().empty()) return ctx.Usage("project create: no ID given and none in --from-json");
  } else {
    if (id.empty()) return ctx.Usage("usage: iplusctl project create ID [flags] (or --from-json)");
    int code = 0;
    if (!Require(ctx, {"fund", "beneficiary", "kind", "title", "budget"}, &code)) return code;
    p->set_id(id);
    p->set_fund_id(ctx.args.Get("fund"));
    p->set_beneficiary_code(ctx.args.Get("beneficiary"));
    auto kind = ParseProjectKind(ctx.args.Get("kind"));
    if (!kind.ok()) return UsageOf(ctx, kind.status());
    p->set_kind(*kind);
    p->set_title(ctx.args.Get("title"));
    auto budget = ParseYuan("--budget", ctx.args.Get("budget"));
    if (!budget.ok()) return UsageOf(ctx, budget.status());
    *p->mutable_budget() = Cny(*budget);
    for (const auto& text : ctx.args.GetAll("milestone")) {
      auto m = ParseMilestone(text);
      if (!m.ok()) return UsageOf(ctx, m.status());
      *p->add_milestones() = *std::move(m);
    }
  }
  request.set_request_id(NewRequestId());
  IPLUS_FUNDS_STUB(stub);
  fv1::CreateProjectResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::CreateProject, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  if (ctx.format == OutputFormat::kJson) {
    *ctx.out << ToJson(response);
    return kExitOk;
  }
  Table t = ProjectTable(ctx.format, {&response.project()}, /*accounts=*/true);
  t.header.push_back("created_now");
  t.rows.back().push_back(response.created() ? "true" : "false");
  Table m = MilestoneTable(ctx.format, response.project().milestones());
  const bool csv = ctx.format == OutputFormat::kCsv;
  *ctx.out << (csv ? RenderCsv(t) : RenderTable(t)) << "\n"
           << (csv ? RenderCsv(m) : RenderTable(m));
  return kExitOk;
}

int ProjectGet(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::GetProjectRequest request;
  request.set_id(ctx.positionals[0]);
  fv1::GetProjectResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::GetProject, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  if (ctx.format == OutputFormat::kJson) {
    *ctx.out << ToJson(response);
    return kExitOk;
  }
  Table t = ProjectTable(ctx.format, {&response.project()}, /*accounts=*/true);
  Table m = MilestoneTable(ctx.format, response.project().milestones());
  const bool csv = ctx.format == OutputFormat::kCsv;
  *ctx.out << (csv ? RenderCsv(t) : RenderTable(t)) << "\n"
           << (csv ? RenderCsv(m) : RenderTable(m));
  return kExitOk;
}

int ProjectList(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::ListProjectsRequest request;
  request.set_fund_id(ctx.args.Get("fund"));
  request.set_beneficiary_code(ctx.args.Get("beneficiary"));
  request.set_page_size(1000);
  fv1::ListProjectsResponse all;
  while (true) {
    fv1::ListProjectsResponse page;
    grpc::Status s = Call(ctx, *stub, &Stub::ListProjects, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& p : *page.mutable_projects()) *all.add_projects() = std::move(p);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  std::vector<const fv1::Project*> projects;
  for (const auto& p : all.projects()) projects.push_back(&p);
  Print(*ctx.out, ctx.format, ProjectTable(ctx.format, projects, /*accounts=*/false), all);
  return kExitOk;
}

int ProjectCommit(Context& ctx) {
  fv1::CommitToProjectRequest request;
  request.set_project_id(ctx.positionals[0]);
  int64_t fen = 0;
  int code = 0;
  if (!AmountArg(ctx, 1, "AMOUNT", &fen, &code)) return code;
  *request.mutable_amount() = Cny(fen);
  if (ctx.args.Has("expire-after")) {
    auto d = ParseLongDuration("--expire-after", ctx.args.Get("expire-after"));
    if (!d.ok()) return UsageOf(ctx, d.status());
    const int64_t ns = absl::ToInt64Nanoseconds(*d);
    request.mutable_timeout()->set_seconds(ns / 1000000000);
    request.mutable_timeout()->set_nanos(static_cast<int32_t>(ns % 1000000000));
  }
  request.set_memo(ctx.args.Get("memo"));
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::CommitToProjectResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::CommitToProject, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  std::vector<std::string> notes;
  if (response.transfers_size() > 0) {
    notes.push_back(absl::StrCat("pending id: ", response.transfers(0).id(),
                                 " (post or void it with `project post|void ", request.project_id(),
                                 " ", response.transfers(0).id(), "`)"));
  }
  PrintOperation(ctx, response.transfers(), response, request.request_id(), notes);
  return kExitOk;
}

int ProjectPost(Context& ctx) {
  fv1::PostCommitmentRequest request;
  request.set_project_id(ctx.positionals[0]);
  request.set_pending_transfer_id(ctx.positionals[1]);
  if (ctx.positionals.size() > 2) {
    int64_t fen = 0;
    int code = 0;
    if (!AmountArg(ctx, 2, "AMOUNT", &fen, &code)) return code;
    *request.mutable_amount() = Cny(fen);
  }
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::PostCommitmentResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::PostCommitment, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  PrintOperation(ctx, response.transfers(), response, request.request_id());
  return kExitOk;
}

int ProjectVoid(Context& ctx) {
  fv1::VoidCommitmentRequest request;
  request.set_project_id(ctx.positionals[0]);
  request.set_pending_transfer_id(ctx.positionals[1]);
  request.set_reason(ctx.args.Get("reason"));
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::VoidCommitmentResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::VoidCommitment, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  PrintOperation(ctx, response.transfers(), response, request.request_id());
  return kExitOk;
}

int ProjectDisburse(Context& ctx) {
  fv1::DisburseMilestoneRequest request;
  request.set_project_id(ctx.positionals[0]);
  request.set_milestone_id(ctx.positionals[1]);
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::DisburseMilestoneResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::DisburseMilestone, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  std::vector<std::string> notes;
  const auto& m = response.milestone();
  notes.push_back(absl::StrCat(
      "milestone ", m.id(), ": ",
      EnumShortName(fv1::MilestoneStatus_descriptor(), "MILESTONE_STATUS_", m.status())));
  if (response.has_check()) {
    notes.push_back(absl::StrCat("condition: ", response.check().explanation()));
  }
  PrintOperation(ctx, response.transfers(), response, request.request_id(), notes);
  return kExitOk;
}

int ProjectRelease(Context& ctx) {
  fv1::ReleaseCommitmentRequest request;
  request.set_project_id(ctx.positionals[0]);
  if (ctx.positionals.size() > 1) {
    int64_t fen = 0;
    int code = 0;
    if (!AmountArg(ctx, 1, "AMOUNT", &fen, &code)) return code;
    *request.mutable_amount() = Cny(fen);
  }
  request.set_close(ctx.args.Switch("close"));
  request.set_reason(ctx.args.Get("reason"));
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::ReleaseCommitmentResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::ReleaseCommitment, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  std::vector<std::string> notes;
  if (response.transfers_size() == 0) notes.push_back("nothing was left to release");
  notes.push_back(absl::StrCat("project ", response.project().id(), ": ",
                               EnumShortName(fv1::ProjectStatus_descriptor(), "PROJECT_STATUS_",
                                             response.project().status())));
  PrintOperation(ctx, response.transfers(), response, request.request_id(), notes);
  return kExitOk;
}

int ProjectClawback(Context& ctx) {
  fv1::ClawBackRequest request;
  request.set_project_id(ctx.positionals[0]);
  int64_t fen = 0;
  int code = 0;
  if (!AmountArg(ctx, 1, "AMOUNT", &fen, &code)) return code;
  *request.mutable_amount() = Cny(fen);
  request.set_milestone_id(ctx.args.Get("milestone"));
  request.set_reason(ctx.args.Get("reason"));
  request.set_request_id(OperationRequestId(ctx));
  IPLUS_FUNDS_STUB(stub);
  fv1::ClawBackResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::ClawBack, request, &response);
  if (!s.ok()) return FailOperation(ctx, s, request.request_id());
  PrintOperation(ctx, response.transfers(), response, request.request_id());
  return kExitOk;
}

int ProjectStatement(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::GetProjectStatementRequest request;
  request.set_project_id(ctx.positionals[0]);
  fv1::GetProjectStatementResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::GetProjectStatement, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  const auto& st = response.statement();
  if (ctx.format == OutputFormat::kTable) {
    *ctx.out << "project " << st.project_id() << " of fund " << st.fund_id()
             << " at journal sequence " << st.journal_sequence() << " (CNY)\n"
             << RenderTable(ProjectStatementTable(ctx.format, st)) << "\n"
             << RenderTable(MilestoneTable(ctx.format, st.milestones()));
    return kExitOk;
  }
  Print(*ctx.out, ctx.format, ProjectStatementTable(ctx.format, st), response);
  return kExitOk;
}

// ---- Ledger and journal.

// Prints the ids not found on stderr; kExitNotFound when there are any.
int Missing(Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& missing) {
  if (missing.empty()) return kExitOk;
  *ctx.err << "iplusctl: not found: " << absl::StrJoin(missing, ", ") << " (NOT_FOUND)\n";
  return kExitNotFound;
}

int LedgerAccounts(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::LookupAccountsRequest request;
  for (const auto& id : ctx.positionals) request.add_ids(id);
  fv1::LookupAccountsResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::LookupAccounts, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Print(*ctx.out, ctx.format, AccountTable(ctx.format, response.accounts()), response);
  return Missing(ctx, response.missing_ids());
}

int LedgerTransfers(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::LookupTransfersRequest request;
  for (const auto& id : ctx.positionals) request.add_ids(id);
  fv1::LookupTransfersResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::LookupTransfers, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Print(*ctx.out, ctx.format, TransferTable(ctx.format, response.transfers()), response);
  return Missing(ctx, response.missing_ids());
}

int LedgerHistory(Context& ctx) {
  fv1::ListAccountTransfersRequest request;
  request.set_account_id(ctx.positionals[0]);
  for (const char* flag : {"from", "to"}) {
    if (!ctx.args.Has(flag)) continue;
    auto t = ParseTimestamp(absl::StrCat("--", flag), ctx.args.Get(flag));
    if (!t.ok()) return UsageOf(ctx, t.status());
    *(std::string(flag) == "from" ? request.mutable_start_time() : request.mutable_end_time()) = *t;
  }
  request.set_page_size(1000);
  IPLUS_FUNDS_STUB(stub);
  fv1::ListAccountTransfersResponse all;
  while (true) {
    fv1::ListAccountTransfersResponse page;
    grpc::Status s = Call(ctx, *stub, &Stub::ListAccountTransfers, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& x : *page.mutable_transfers()) *all.add_transfers() = std::move(x);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  Print(*ctx.out, ctx.format, TransferTable(ctx.format, all.transfers()), all);
  return kExitOk;
}

int JournalList(Context& ctx) {
  fv1::ListJournalRequest request;
  if (ctx.args.Has("after")) {
    auto a = ParseIntFlag("--after", ctx.args.Get("after"), 0, INT64_MAX);
    if (!a.ok()) return UsageOf(ctx, a.status());
    request.set_after_sequence(*a);
  }
  int64_t limit = 0;
  if (ctx.args.Has("limit")) {
    auto l = ParseIntFlag("--limit", ctx.args.Get("limit"), 1, INT64_MAX);
    if (!l.ok()) return UsageOf(ctx, l.status());
    limit = *l;
  }
  request.set_page_size(limit > 0 && limit < 1000 ? static_cast<int32_t>(limit) : 1000);
  IPLUS_FUNDS_STUB(stub);
  fv1::ListJournalResponse all;
  while (true) {
    fv1::ListJournalResponse page;
    grpc::Status s = Call(ctx, *stub, &Stub::ListJournal, request, &page);
    if (!s.ok()) return ctx.Fail(s);
    for (auto& e : *page.mutable_entries()) {
      if (limit > 0 && all.entries_size() >= limit) break;
      *all.add_entries() = std::move(e);
    }
    if (page.next_page_token().empty()) break;
    if (limit > 0 && all.entries_size() >= limit) {
      all.set_next_page_token(page.next_page_token());
      break;
    }
    request.set_page_token(page.next_page_token());
  }
  Table t;
  t.header = {
      "sequence", "transfer", "type", "flags", "debit", "credit", MoneyHeader(ctx.format, "amount"),
      "time",     "hash"};
  for (const auto& e : all.entries()) {
    const auto& x = e.transfer();
    // Tables show the hash's first 16 hex digits; CSV and JSON the whole hash.
    t.Add({absl::StrCat(e.sequence()), x.id(), TransferType(x.type()), TransferFlagsText(x.flags()),
           x.debit_account_id(), x.credit_account_id(), MoneyCell(ctx.format, x.amount()),
           Time(x.timestamp()),
           ctx.format == OutputFormat::kTable && e.hash().size() > 16 ? e.hash().substr(0, 16)
                                                                      : e.hash()});
  }
  Print(*ctx.out, ctx.format, t, all);
  return kExitOk;
}

int JournalVerify(Context& ctx) {
  IPLUS_FUNDS_STUB(stub);
  fv1::VerifyJournalRequest request;
  fv1::VerifyJournalResponse response;
  grpc::Status s = Call(ctx, *stub, &Stub::VerifyJournal, request, &response);
  if (!s.ok()) return ctx.Fail(s);
  Table t;
  t.header = {"ok",        "entries_checked",    "balances_checked", "head_sequence",
              "head_hash", "first_bad_sequence", "discrepancy"};
  t.Add({response.ok() ? "true" : "false", absl::StrCat(response.entries_checked()),
         absl::StrCat(response.balances_checked()), absl::StrCat(response.head_sequence()),
         response.head_hash(),
         response.first_bad_sequence() == 0 ? "" : absl::StrCat(response.first_bad_sequence()),
         response.discrepancy()});
  Print(*ctx.out, ctx.format, t, response);
  if (!response.ok()) {
    *ctx.err << "iplusctl: the journal does not verify";
    if (response.first_bad_sequence() != 0) {
      *ctx.err << " from sequence " << response.first_bad_sequence();
    }
    *ctx.err << ": " << response.discrepancy() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

const FlagSpec kRequestIdFlag = {"request-id", true,
                                 "request id of the operation (default: a fresh UUID, printed); "
                                 "a retry must reuse it"};

}  // namespace

void AddFundsCommands(std::vector<Command>* c) {
  c->push_back({{"fund", "create"},
                "ID",
                "create a fund and its accounts (idempotent on ID)",
                {{"name", true, "name (required)"},
                 {"sponsor", true, "region:<6-digit code>, enterprise:<credit code> or national"},
                 {"focus", true, "comma-separated focus areas: platforms,pilot-projects,..."},
                 {"description", true, "free text"}},
                1,
                1,
                FundCreate});
  c->push_back({{"fund", "get"}, "ID", "show one fund", {}, 1, 1, FundGet});
  c->push_back({{"fund", "list"}, "", "list funds in id order", {}, 0, 0, FundList});
  c->push_back({{"fund", "capitalise"},
                "ID AMOUNT",
                "move AMOUNT yuan from the sponsor into the fund",
                {{"memo", true, "free text on the transfer"}, kRequestIdFlag},
                2,
                2,
                FundCapitalise});
  c->push_back({{"fund", "statement"},
                "ID",
                "capital, commitments, disbursements and what is available",
                {},
                1,
                1,
                FundStatement});
  c->push_back(
      {{"project", "create"},
       "ID",
       "create a project of a fund with its milestones (idempotent on ID)",
       {{"fund", true, "the fund's id"},
        {"beneficiary", true, "credit code of the enterprise the project pays"},
        {"kind", true,
         "pilot-project, platform, intelligent-manufacturing, industry-cloud-adoption, other"},
        {"title", true, "title"},
        {"budget", true, "budget in yuan, e.g. 1250000.50"},
        {"milestone", true,
         "ID:AMOUNT[:TITLE][:CONDITION]; repeatable. CONDITION: indicator=I,baseline=P,"
         "current=P,{change=-12%|multiple=M|at-least=V|at-most=V}"},
        {"from-json", true, "a v1.Project in protobuf JSON instead of the flags above"}},
       0,
       1,
       ProjectCreate});
  c->push_back(
      {{"project", "get"}, "ID", "show one project and its milestones", {}, 1, 1, ProjectGet});
  c->push_back({{"project", "list"},
                "",
                "list projects in id order",
                {{"fund", true, "only this fund's projects"},
                 {"beneficiary", true, "only projects paying this credit code"}},
                0,
                0,
                ProjectList});
  c->push_back({{"project", "commit"},
                "ID AMOUNT",
                "reserve AMOUNT yuan of the fund for the project (a pending commitment)",
                {{"expire-after", true, "the commitment voids itself after this, e.g. 30d, 12h"},
                 {"memo", true, "free text on the transfer"},
                 kRequestIdFlag},
                2,
                2,
                ProjectCommit});
  c->push_back({{"project", "post"},
                "ID PENDING_ID [AMOUNT]",
                "post a pending commitment, whole or AMOUNT yuan of it",
                {kRequestIdFlag},
                2,
                3,
                ProjectPost});
  c->push_back({{"project", "void"},
                "ID PENDING_ID",
                "void a pending commitment",
                {{"reason", true, "why"}, kRequestIdFlag},
                2,
                2,
                ProjectVoid});
  c->push_back({{"project", "disburse"},
                "ID MILESTONE",
                "pay a milestone (a conditioned one only when its condition is met)",
                {kRequestIdFlag},
                2,
                2,
                ProjectDisburse});
  c->push_back({{"project", "release"},
                "ID [AMOUNT]",
                "return unused posted commitment (all, or AMOUNT yuan) to the fund",
                {{"close", false, "close the project"}, {"reason", true, "why"}, kRequestIdFlag},
                1,
                2,
                ProjectRelease});
  c->push_back({{"project", "clawback"},
                "ID AMOUNT",
                "recover AMOUNT yuan disbursed to the beneficiary into the fund",
                {{"milestone", true, "the milestone the money was paid for"},
                 {"reason", true, "why"},
                 kRequestIdFlag},
                2,
                2,
                ProjectClawback});
  c->push_back({{"project", "statement"},
                "ID",
                "budget, commitments, disbursements and milestones",
                {},
                1,
                1,
                ProjectStatement});
  c->push_back({{"ledger", "accounts"},
                "ID...",
                "look up ledger accounts (exit 3 when any is missing)",
                {},
                1,
                1000,
                LedgerAccounts});
  c->push_back({{"ledger", "transfers"},
                "ID...",
                "look up transfers (exit 3 when any is missing)",
                {},
                1,
                1000,
                LedgerTransfers});
  c->push_back({{"ledger", "history"},
                "ACCOUNT",
                "the transfers of one account, oldest first",
                {{"from", true, "from this date or RFC 3339 time (inclusive)"},
                 {"to", true, "up to this date or time (exclusive)"}},
                1,
                1,
                LedgerHistory});
  c->push_back({{"journal", "list"},
                "",
                "journal entries in sequence order",
                {{"after", true, "only entries after this sequence"},
                 {"limit", true, "at most this many (default: all)"}},
                0,
                0,
                JournalList});
  c->push_back({{"journal", "verify"},
                "",
                "recompute the hash chain and balances (exit 1 when they do not verify)",
                {},
                0,
                0,
                JournalVerify});
}

}  // namespace iplus::ctl
