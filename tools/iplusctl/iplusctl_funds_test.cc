// Unit tests of iplusctl's funds commands: amounts, sponsors, focus areas, milestones and
// their conditions, durations and times on the command line; money and statements in
// tables and CSV; usage errors before any call; the request id of a failed operation.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tools/iplusctl/commands.h"
#include "tools/iplusctl/funds_commands.h"

namespace iplus::ctl {
namespace {

namespace fv1 = ::iplus::funds::v1;
namespace ev1 = ::iplus::evaluation::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

int64_t Fen(absl::string_view text) {
  auto v = ParseYuan("AMOUNT", text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *v : -1;
}

std::string YuanError(absl::string_view text) {
  auto v = ParseYuan("--budget", text);
  EXPECT_FALSE(v.ok()) << text << " parsed as " << (v.ok() ? *v : 0);
  return v.ok() ? "" : std::string(Msg(v.status()));
}

TEST(Amounts, YuanWithUpToTwoDecimalsBecomeExactFen) {
  EXPECT_EQ(Fen("1250000.50"), 125000050);
  EXPECT_EQ(Fen("1250000.5"), 125000050);
  EXPECT_EQ(Fen("1250000"), 125000000);
  EXPECT_EQ(Fen("0.01"), 1);
  EXPECT_EQ(Fen("0.5"), 50);
  EXPECT_EQ(Fen("007.10"), 710);
  // No rounding through a double: 0.29 yuan is 29 fen, not 28.
  EXPECT_EQ(Fen("0.29"), 29);
  EXPECT_EQ(Fen("1000000000000.99"), 100000000000099);
  // The largest amount a Money holds.
  EXPECT_EQ(Fen("92233720368547758.07"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Fen("00000000000000000000001"), 100);
}

TEST(Amounts, MalformedAmountsNameTheFlag) {
  for (const char* bad : {"", "-1", "+1", "1,000", "1e3", " 1", "1 ", "abc", "1.", ".5", "1.2.3",
                          "0x10", "1.-5", "¥5"}) {
    EXPECT_THAT(YuanError(bad), StartsWith("--budget: \"")) << bad;
  }
  EXPECT_THAT(YuanError("12.345"), HasSubstr("more than two decimals"));
  EXPECT_THAT(YuanError("0"), HasSubstr("not positive"));
  EXPECT_THAT(YuanError("0.00"), HasSubstr("not positive"));
  EXPECT_THAT(YuanError("92233720368547758.08"), HasSubstr("too large"));
  EXPECT_THAT(YuanError("100000000000000000000"), HasSubstr("too large"));
}

TEST(Amounts, FormatYuanGroupsThousandsWithTwoDecimals) {
  EXPECT_EQ(FormatYuan(0), "0.00");
  EXPECT_EQ(FormatYuan(5), "0.05");
  EXPECT_EQ(FormatYuan(99999), "999.99");
  EXPECT_EQ(FormatYuan(100000), "1,000.00");
  EXPECT_EQ(FormatYuan(125000050), "1,250,000.50");
  EXPECT_EQ(FormatYuan(-123456), "-1,234.56");
  EXPECT_EQ(FormatYuan(std::numeric_limits<int64_t>::max()), "92,233,720,368,547,758.07");
  EXPECT_EQ(FormatYuan(std::numeric_limits<int64_t>::min()), "-92,233,720,368,547,758.08");
  // What a table prints reads back (without the separators) to the same fen.
  for (int64_t fen : {1LL, 10LL, 101LL, 123456789LL, 100000000000LL}) {
    std::string text = FormatYuan(fen);
    text.erase(std::remove(text.begin(), text.end(), ','), text.end());
    EXPECT_EQ(Fen(text), fen);
  }
}

TEST(Amounts, MoneyCellsAreYuanInTablesAndFenElsewhere) {
  EXPECT_EQ(MoneyCell(OutputFormat::kTable, 125000050), "1,250,000.50");
  EXPECT_EQ(MoneyCell(OutputFormat::kCsv, 125000050), "125000050");
  EXPECT_EQ(MoneyCell(OutputFormat::kJson, 125000050), "125000050");
  EXPECT_EQ(MoneyCell(OutputFormat::kTable, 100, "USD"), "1.00 USD");
  EXPECT_EQ(MoneyHeader(OutputFormat::kTable, "amount"), "amount");
  EXPECT_EQ(MoneyHeader(OutputFormat::kCsv, "amount"), "amount_fen");
}

TEST(Sponsor, ThreeForms) {
  auto s = ParseSponsor("region:440000");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->region_code(), "440000");
  EXPECT_EQ(SponsorText(*s), "region:440000");
  s = ParseSponsor("enterprise:91110000100000000K");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->enterprise_code(), "91110000100000000K");
  EXPECT_EQ(SponsorText(*s), "enterprise:91110000100000000K");
  s = ParseSponsor("national");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->national());
  EXPECT_EQ(SponsorText(*s), "national");
  EXPECT_EQ(SponsorText(fv1::Sponsor()), "");
}

TEST(Sponsor, MalformedSponsorsNameTheFlag) {
  for (const char* bad : {"", "region:44", "region:4400001", "region:44000a", "region",
                          "enterprise:", "province:44", "national:true", "National"}) {
    auto s = ParseSponsor(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(Msg(s.status()), StartsWith("--sponsor: ")) << bad;
  }
}

TEST(Focus, ShortOrFullNamesWithoutDuplicates) {
  auto f = ParseFocusAreas("platforms,pilot-projects,FOCUS_AREA_CYBERSECURITY,Industry-Cloud");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(*f, ElementsAre(fv1::FOCUS_AREA_PLATFORMS, fv1::FOCUS_AREA_PILOT_PROJECTS,
                              fv1::FOCUS_AREA_CYBERSECURITY, fv1::FOCUS_AREA_INDUSTRY_CLOUD));
  for (const char* bad :
       {"platforms,moonshots", "platforms,platforms", "", "platforms,", "unspecified"}) {
    auto r = ParseFocusAreas(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(Msg(r.status()), StartsWith("--focus: ")) << bad;
  }
  auto k = ParseProjectKind("industry-cloud-adoption");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, fv1::PROJECT_KIND_INDUSTRY_CLOUD_ADOPTION);
  EXPECT_THAT(Msg(ParseProjectKind("rocket").status()), StartsWith("--kind: "));
}

TEST(Milestones, UnconditionalWithAndWithoutTitle) {
  auto m = ParseMilestone("m1:500000");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id(), "m1");
  EXPECT_EQ(m->amount().fen(), 50000000);
  EXPECT_EQ(m->amount().currency(), "CNY");
  EXPECT_EQ(m->title(), "");
  EXPECT_FALSE(m->has_condition());

  m = ParseMilestone("m1:1250.5:Design review");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->amount().fen(), 125050);
  EXPECT_EQ(m->title(), "Design review");

  // A title may hold ':' (its last part has no '=').
  m = ParseMilestone("m3:1:Phase 2: roll-out");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->title(), "Phase 2: roll-out");
  EXPECT_FALSE(m->has_condition());
}

TEST(Milestones, ConditionedForms) {
  auto m = ParseMilestone(
      "m2:300000:Cycle cut:indicator=product_dev_cycle_days,baseline=2015,current=2018,"
      "change=-12%");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id(), "m2");
  EXPECT_EQ(m->title(), "Cycle cut");
  ASSERT_TRUE(m->has_condition());
  const auto& c = m->condition();
  EXPECT_EQ(c.indicator(), "product_dev_cycle_days");
  EXPECT_EQ(c.baseline_period(), "2015");
  EXPECT_EQ(c.current_period(), "2018");
  ASSERT_TRUE(c.rule().has_relative_change());
  EXPECT_EQ(c.rule().relative_change().change(), -0.12);

  // Empty title, keys in any order; the other rules.
  m = ParseMilestone("m4:1::current=2018,at-least=0.6,indicator=industry_cloud,baseline=2015");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->title(), "");
  EXPECT_EQ(m->condition().rule().absolute().comparison(), ev1::COMPARISON_GE);
  EXPECT_EQ(m->condition().rule().absolute().value(), 0.6);
  m = ParseMilestone("m5:1:t:indicator=x,baseline=2015,current=2018,at-most=30");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->condition().rule().absolute().comparison(), ev1::COMPARISON_LE);
  m = ParseMilestone("m6:1:t:indicator=x,baseline=2015,current=2018,multiple=2");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->condition().rule().multiple().multiple(), 2);
  m = ParseMilestone("m7:1:t:indicator=x,baseline=2015,current=2018,change=+25.5%");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->condition().rule().relative_change().change(), 0.255);
}

TEST(Milestones, MalformedMilestonesSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"m1", "is not ID:AMOUNT"},
      {":5", "has no milestone id"},
      {"m1:abc", "--milestone m1 amount: \"abc\""},
      {"m1:0", "not positive"},
      {"m1:1.001", "more than two decimals"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018", "needs exactly one rule"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,change=-12%,multiple=2",
       "needs exactly one rule"},
      {"m2:1:t:indicator=x,baseline=2015,change=-12%", "lacks current="},
      {"m2:1:t:baseline=2015,current=2018,change=-12%", "lacks indicator="},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,change=-12", "change in percent"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,change=lots%", "change in percent"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,multiple=inf", "not a number"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,at-least=", "has no value"},
      {"m2:1:t:indicator=x,indicator=y,baseline=2015,current=2018,multiple=2", "given twice"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,above=3", "is not a key"},
      {"m2:1:t:indicator=x,baseline=2015,current=2018,,multiple=2", "is not key=value"},
  };
  for (const auto& c : cases) {
    auto m = ParseMilestone(c.text);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_THAT(Msg(m.status()), StartsWith("--milestone")) << c.text;
    EXPECT_THAT(Msg(m.status()), HasSubstr(c.says)) << c.text;
  }
  // The condition's errors name the milestone.
  auto m = ParseMilestone("m9:1:t:indicator=x,baseline=2015,current=2018,above=3");
  EXPECT_THAT(Msg(m.status()), StartsWith("--milestone m9 condition: "));
}

TEST(Milestones, ConditionTextReadsBack) {
  for (const char* text :
       {"indicator=product_dev_cycle_days,baseline=2015,current=2018,change=-12%",
        "indicator=x,baseline=2015-Q1,current=2018-Q4,change=12.5%",
        "indicator=x,baseline=2015,current=2018,multiple=1.5",
        "indicator=industry_cloud,baseline=2015,current=2018,at-least=0.6",
        "indicator=x,baseline=2015,current=2018,at-most=30"}) {
    auto c = ParseCondition(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(ConditionText(*c), text);
    auto again = ParseCondition(ConditionText(*c));
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*c, *again)) << text;
  }
}

TEST(Durations, DaysAndAbslUnits) {
  auto d = ParseLongDuration("--expire-after", "30d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::Hours(720));
  d = ParseLongDuration("--expire-after", "1d12h");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::Hours(36));
  d = ParseLongDuration("--expire-after", "90m");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::Minutes(90));
  for (const char* bad : {"", "d", "0s", "0d", "-5h", "soon", "5", "1dd", "1d-1h", "inf"}) {
    auto r = ParseLongDuration("--expire-after", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(Msg(r.status()), StartsWith("--expire-after: ")) << bad;
  }
}

TEST(Times, DatesAndRfc3339) {
  auto t = ParseTimestamp("--from", "2024-05-01");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->seconds(), 1714521600);
  t = ParseTimestamp("--from", "2024-05-01T08:00:00+08:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->seconds(), 1714521600);
  t = ParseTimestamp("--to", "2024-05-01T00:00:00.25Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->nanos(), 250000000);
  EXPECT_THAT(Msg(ParseTimestamp("--to", "May 1").status()), StartsWith("--to: "));
}

TEST(RequestIds, FreshVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
}

fv1::Transfer ATransfer() {
  fv1::Transfer x;
  x.set_id("capitalise:abc");
  x.set_debit_account_id("fund:f1:source");
  x.set_credit_account_id("fund:f1");
  x.set_amount(125000050);
  x.set_type(fv1::IATI_TRANSACTION_TYPE_INCOMING_FUNDS);
  x.set_journal_sequence(7);
  x.set_memo("first tranche, 2024");
  x.mutable_timestamp()->set_seconds(1714521600);
  return x;
}

TEST(Tables, TransfersInYuanOrFen) {
  google::protobuf::RepeatedPtrField<fv1::Transfer> xs;
  *xs.Add() = ATransfer();
  const std::string table = RenderTable(TransferTable(OutputFormat::kTable, xs));
  EXPECT_THAT(table, HasSubstr("1,250,000.50"));
  EXPECT_THAT(table, HasSubstr("INCOMING_FUNDS"));
  EXPECT_THAT(table, HasSubstr("2024-05-01T00:00:00Z"));
  EXPECT_EQ(RenderCsv(TransferTable(OutputFormat::kCsv, xs)),
            "sequence,id,type,flags,debit,credit,amount_fen,pending_id,milestone,time,memo\n"
            "7,capitalise:abc,INCOMING_FUNDS,,fund:f1:source,fund:f1,125000050,,,"
            "2024-05-01T00:00:00Z,\"first tranche, 2024\"\n");
}

common::v1::Money Cny(int64_t fen) {
  common::v1::Money m;
  m.set_currency("CNY");
  m.set_fen(fen);
  return m;
}

TEST(Tables, FundStatementRowsInTablesOneLineInCsv) {
  fv1::FundStatement s;
  s.set_fund_id("gd-platforms");
  *s.mutable_capital() = Cny(1000000000);
  *s.mutable_committed() = Cny(20000000);
  *s.mutable_posted() = Cny(30000000);
  *s.mutable_released() = Cny(0);
  *s.mutable_disbursed() = Cny(10000050);
  *s.mutable_clawed_back() = Cny(0);
  *s.mutable_available() = Cny(950000000);
  s.set_journal_sequence(12);
  EXPECT_EQ(RenderTable(FundStatementTable(OutputFormat::kTable, s)),
            "item         amount\n"
            "capital      10,000,000.00\n"
            "committed    200,000.00\n"
            "posted       300,000.00\n"
            "released     0.00\n"
            "disbursed    100,000.50\n"
            "clawed_back  0.00\n"
            "available    9,500,000.00\n");
  EXPECT_EQ(RenderCsv(FundStatementTable(OutputFormat::kCsv, s)),
            "fund,capital_fen,committed_fen,posted_fen,released_fen,disbursed_fen,"
            "clawed_back_fen,available_fen,journal_sequence\n"
            "gd-platforms,1000000000,20000000,30000000,0,10000050,0,950000000,12\n");
}

TEST(Tables, ProjectStatementHasEveryFigure) {
  fv1::ProjectStatement s;
  s.set_project_id("p1");
  s.set_fund_id("f1");
  *s.mutable_budget() = Cny(100);
  *s.mutable_undisbursed() = Cny(7);
  *s.mutable_uncommitted_budget() = Cny(3);
  const std::string csv = RenderCsv(ProjectStatementTable(OutputFormat::kCsv, s));
  EXPECT_THAT(csv, StartsWith("project,fund,budget_fen,committed_fen,posted_fen,released_fen,"
                              "disbursed_fen,clawed_back_fen,undisbursed_fen,"
                              "uncommitted_budget_fen,journal_sequence\n"
                              "p1,f1,100,0,0,0,0,0,7,3,0\n"));
  const std::string table = RenderTable(ProjectStatementTable(OutputFormat::kTable, s));
  EXPECT_THAT(table, HasSubstr("uncommitted_budget  0.03"));
  EXPECT_THAT(table, HasSubstr("budget              1.00"));
}

TEST(Tables, ProjectsAndMilestones) {
  fv1::Project p;
  p.set_id("p1");
  p.set_fund_id("f1");
  p.set_beneficiary_code("91440100000000001X");
  p.set_kind(fv1::PROJECT_KIND_PILOT_PROJECT);
  p.set_status(fv1::PROJECT_STATUS_ACTIVE);
  *p.mutable_budget() = Cny(100000000);
  p.set_title("Smart line");
  auto m = ParseMilestone("m2:300000:Cycle:indicator=x,baseline=2015,current=2018,change=-12%");
  ASSERT_TRUE(m.ok());
  *p.add_milestones() = *m;
  p.mutable_milestones(0)->set_status(fv1::MILESTONE_STATUS_PENDING);
  const std::string table = RenderTable(ProjectTable(OutputFormat::kTable, {&p}, false));
  EXPECT_THAT(table, HasSubstr("PILOT_PROJECT"));
  EXPECT_THAT(table, HasSubstr("ACTIVE"));
  EXPECT_THAT(table, HasSubstr("1,000,000.00"));
  EXPECT_THAT(RenderCsv(ProjectTable(OutputFormat::kCsv, {&p}, true)),
              StartsWith("id,fund,beneficiary,kind,status,budget_fen,milestones,title,created,"
                         "updated,commitment_account,disbursed_account\n"
                         "p1,f1,91440100000000001X,PILOT_PROJECT,ACTIVE,100000000,1,Smart line,"));
  EXPECT_EQ(RenderCsv(MilestoneTable(OutputFormat::kCsv, p.milestones())),
            "milestone,amount_fen,status,disbursed,transfer,title,condition\n"
            "m2,30000000,PENDING,,,Cycle,"
            "\"indicator=x,baseline=2015,current=2018,change=-12%\"\n");
  fv1::Fund f;
  f.set_id("f1");
  f.set_name("Guangdong platforms");
  *f.mutable_sponsor() = *ParseSponsor("region:440000");
  f.add_focus_areas(fv1::FOCUS_AREA_PLATFORMS);
  f.add_focus_areas(fv1::FOCUS_AREA_PILOT_PROJECTS);
  EXPECT_THAT(RenderCsv(FundTable(OutputFormat::kCsv, {&f})),
              HasSubstr("f1,Guangdong platforms,region:440000,\"PLATFORMS,PILOT_PROJECTS\","));
}

TEST(Tables, AccountsShowTheirFourBalances) {
  google::protobuf::RepeatedPtrField<fv1::Account> as;
  fv1::Account* a = as.Add();
  a->set_id("fund:f1");
  a->set_kind(fv1::ACCOUNT_KIND_FUND);
  a->set_fund_id("f1");
  a->mutable_flags()->set_debits_must_not_exceed_credits(true);
  a->set_credits_posted(100000);
  a->set_debits_pending(2500);
  EXPECT_EQ(RenderCsv(AccountTable(OutputFormat::kCsv, as)),
            "id,kind,fund,project,flags,debits_pending_fen,debits_posted_fen,"
            "credits_pending_fen,credits_posted_fen\n"
            "fund:f1,FUND,f1,,debits<=credits,2500,0,0,100000\n");
  EXPECT_THAT(RenderTable(AccountTable(OutputFormat::kTable, as)), HasSubstr("1,000.00"));
}

int RunCli(const std::vector<std::string>& args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  const int code = Run(
      args, o, e, [](const char*) -> const char* { return nullptr; }, false);
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(Commands, FundsCommandsAreInTheTableAndTheHelp) {
  std::set<std::string> seen;
  for (const auto& c : Commands()) seen.insert(absl::StrJoin(c.words, " "));
  for (const char* w :
       {"fund create",      "fund get",         "fund list",         "fund capitalise",
        "fund statement",   "project create",   "project get",       "project list",
        "project commit",   "project post",     "project void",      "project disburse",
        "project release",  "project clawback", "project statement", "ledger accounts",
        "ledger transfers", "ledger history",   "journal list",      "journal verify"}) {
    EXPECT_TRUE(seen.count(w)) << w;
  }
  std::string out, err;
  EXPECT_EQ(RunCli({"--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("fund capitalise ID AMOUNT"));
  EXPECT_THAT(out, HasSubstr("IPLUS_FUNDS"));
  EXPECT_EQ(RunCli({"project", "create", "--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("--milestone"));
  EXPECT_THAT(out, HasSubstr("--from-json"));
}

TEST(Commands, BadValuesAreUsageErrorsBeforeAnyCall) {
  // No funds service listens at port 1: a usage error must come before any call (exit 2,
  // not 5).
  const std::vector<std::string> conn = {"--funds", "127.0.0.1:1", "--plaintext"};
  auto run = [&](std::vector<std::string> args, std::string* err) {
    args.insert(args.begin(), conn.begin(), conn.end());
    std::string out;
    return RunCli(args, &out, err);
  };
  std::string err;
  EXPECT_EQ(run({"fund", "capitalise", "f1", "12.345"}, &err), 2);
  EXPECT_THAT(err, StartsWith("iplusctl: AMOUNT: \"12.345\" has more than two decimals"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_EQ(run({"fund", "capitalise", "f1"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("usage: iplusctl fund capitalise ID AMOUNT"));
  EXPECT_EQ(run({"fund", "create", "f1", "--name", "F", "--sponsor", "moon"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("--sponsor: \"moon\""));
  EXPECT_EQ(run({"fund", "create", "f1", "--sponsor", "national"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("--name is required"));
  EXPECT_EQ(run({"fund", "create", "f1", "--name", "F", "--sponsor", "national", "--focus",
                 "platforms,moon"},
                &err),
            2);
  const std::vector<std::string> project = {
      "project",  "create",  "p1", "--fund",   "f1", "--beneficiary", "X", "--kind",
      "platform", "--title", "T",  "--budget", "100"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = project;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  EXPECT_EQ(run(with({"--milestone", "m1:50", "--milestone", "m2:x"}), &err), 2);
  EXPECT_THAT(err, HasSubstr("--milestone m2 amount: \"x\""));
  EXPECT_EQ(run(with({"--milestone", "m2:5:t:indicator=x,baseline=2015,current=2018"}), &err), 2);
  EXPECT_THAT(err, HasSubstr("--milestone m2 condition"));
  EXPECT_EQ(run({"project", "create", "p1", "--fund", "f1"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("--beneficiary is required"));
  EXPECT_EQ(run({"project", "create", "--fund", "f1"}, &err), 2);
  EXPECT_EQ(run({"project", "create", "p1", "--from-json", "/nonexistent.json"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("--from-json: cannot read"));
  EXPECT_EQ(run({"project", "create", "p1", "--from-json", "x.json", "--fund", "f1"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("--from-json excludes --fund"));
  EXPECT_EQ(run({"project", "commit", "p1", "100", "--expire-after", "soon"}, &err), 2);
  EXPECT_EQ(run({"project", "post", "p1", "commit:x", "-5"}, &err), 2);
  EXPECT_EQ(run({"project", "disburse", "p1"}, &err), 2);
  EXPECT_EQ(run({"ledger", "accounts"}, &err), 2);
  EXPECT_EQ(run({"ledger", "history", "fund:f1", "--from", "yesterday"}, &err), 2);
  EXPECT_EQ(run({"journal", "list", "--after", "-1"}, &err), 2);
}

TEST(Commands, FailedOperationPrintsItsRequestIdForTheRetry) {
  std::string out, err;
  // Nothing listens on port 1: UNAVAILABLE, exit 5, and the id to retry with.
  EXPECT_EQ(RunCli({"--funds", "127.0.0.1:1", "--plaintext", "--timeout", "5s", "fund",
                    "capitalise", "f1", "100", "--request-id", "cap-2024-001"},
                   &out, &err),
            5);
  EXPECT_THAT(err, HasSubstr("(UNAVAILABLE); request id cap-2024-001: retry with --request-id "
                             "cap-2024-001\n"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  // Without --request-id a fresh UUID is made and shown.
  EXPECT_EQ(RunCli({"--funds", "127.0.0.1:1", "--plaintext", "--timeout", "5s", "project", "commit",
                    "p1", "1.5"},
                   &out, &err),
            5);
  const size_t at = err.find("retry with --request-id ");
  ASSERT_NE(at, std::string::npos) << err;
  EXPECT_EQ(err.size() - at - strlen("retry with --request-id "), 37u) << err;  // UUID + \n
}

TEST(Commands, ProjectFromJsonIsReadBeforeTheCall) {
  char path[] = "/tmp/iplusctl-project-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string out, err;
  {
    std::ofstream f(path);
    f << R"({"id": "p1", "fundId": "f1", "budget": {"currency": "CNY", "fen": "100"},)"
      << R"( "milestones": [{"id": "m1", "amount": {"currency": "CNY", "fen": "100"}}]})";
  }
  // Read and sent: the call fails for want of a service (5), not for the file (2).
  EXPECT_EQ(RunCli({"--funds", "127.0.0.1:1", "--plaintext", "--timeout", "5s", "project", "create",
                    "--from-json", path},
                   &out, &err),
            5)
      << err;
  EXPECT_EQ(RunCli({"--funds", "127.0.0.1:1", "--plaintext", "project", "create", "p2",
                    "--from-json", path},
                   &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("differs from ID \"p2\""));
  {
    std::ofstream f(path);
    f << R"({"id": "p1", "budgett": 5})";
  }
  EXPECT_EQ(
      RunCli({"--funds", "127.0.0.1:1", "--plaintext", "project", "create", "--from-json", path},
             &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("is not a v1.Project in JSON"));
  std::remove(path);
}

}  // namespace
}  // namespace iplus::ctl
