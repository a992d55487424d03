// Unit tests of iplusctl: formatting, argument parsing, exit codes, CSV reading, report
// ids and the command table, without any service.

#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "iplus/registry/v1/registry.pb.h"
#include "tools/iplusctl/args.h"
#include "tools/iplusctl/commands.h"
#include "tools/iplusctl/csv.h"
#include "tools/iplusctl/enums.h"
#include "tools/iplusctl/format.h"
#include "tools/iplusctl/import.h"

namespace iplus::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Format, TableAlignsColumnsAndTrimsTrailingBlanks) {
  Table t;
  t.header = {"code", "name", "n"};
  t.Add({"A", "long name", "1"});
  t.Add({"BBBB", "x", ""});
  EXPECT_EQ(RenderTable(t),
            "code  name       n\n"
            "A     long name  1\n"
            "BBBB  x\n");
}

TEST(Format, TableCountsUtf8CharactersNotBytes) {
  Table t;
  t.header = {"name", "x"};
  t.Add({"\xe5\x8d\x8e\xe4\xb8\xba", "1"});  // two CJK characters
  t.Add({"abc", "2"});
  EXPECT_EQ(RenderTable(t), "name  x\n\xe5\x8d\x8e\xe4\xb8\xba    1\nabc   2\n");
}

TEST(Format, CsvQuotesOnlyWhenNeeded) {
  Table t;
  t.header = {"a", "b"};
  t.Add({"plain", "has,comma"});
  t.Add({"say \"hi\"", "line\nbreak"});
  EXPECT_EQ(RenderCsv(t), "a,b\nplain,\"has,comma\"\n\"say \"\"hi\"\"\",\"line\nbreak\"\n");
}

TEST(Format, JsonIsProtoJson) {
  registry::v1::GetEnterpriseResponse r;
  r.mutable_enterprise()->set_code("91350100M000100Y43");
  r.mutable_enterprise()->set_key_enterprise(true);
  r.mutable_enterprise()->set_version(7);
  r.mutable_enterprise()->set_ownership(common::v1::OWNERSHIP_PRIVATE);
  const std::string json = ToJson(r);
  EXPECT_THAT(json, HasSubstr("\"code\": \"91350100M000100Y43\""));
  EXPECT_THAT(json, HasSubstr("\"keyEnterprise\": true"));
  EXPECT_THAT(json, HasSubstr("\"version\": \"7\""));
  EXPECT_THAT(json, HasSubstr("\"ownership\": \"OWNERSHIP_PRIVATE\""));
  EXPECT_EQ(json.back(), '\n');
}

TEST(Format, PrintChoosesTheFormat) {
  Table t;
  t.header = {"code"};
  t.Add({"X"});
  registry::v1::GetEnterpriseRequest m;
  m.set_code("X");
  std::ostringstream table, csv, json;
  Print(table, OutputFormat::kTable, t, m);
  Print(csv, OutputFormat::kCsv, t, m);
  Print(json, OutputFormat::kJson, t, m);
  EXPECT_EQ(table.str(), "code\nX\n");
  EXPECT_EQ(csv.str(), "code\nX\n");
  EXPECT_THAT(json.str(), HasSubstr("\"code\": \"X\""));
  OutputFormat f;
  EXPECT_TRUE(ParseOutputFormat("csv", &f));
  EXPECT_EQ(f, OutputFormat::kCsv);
  EXPECT_FALSE(ParseOutputFormat("yaml", &f));
}

TEST(Format, DoublesReadBackExactly) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(86.25), "86.25");
  EXPECT_EQ(FormatDouble(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatDouble(-2), "-2");
  EXPECT_EQ(FormatDouble(120), "120");
  EXPECT_EQ(FormatDouble(1e20), "1e+20");
}

TEST(ExitCodes, MapEveryCode) {
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::OK), 0);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::NOT_FOUND), 3);
  for (auto c : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
                 grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::ABORTED,
                 grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNAUTHENTICATED}) {
    EXPECT_EQ(ExitCodeFor(c), 4) << c;
  }
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNAVAILABLE), 5);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::DEADLINE_EXCEEDED), 5);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::INTERNAL), 1);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::RESOURCE_EXHAUSTED), 1);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNKNOWN), 1);
}

TEST(Errors, NameTheFieldFromBadRequestDetails) {
  google::rpc::Status details;
  details.set_code(3);
  details.set_message("enterprise.region: \"999999\" is not a known province");
  google::rpc::BadRequest br;
  auto* fv = br.add_field_violations();
  fv->set_field("enterprise.region");
  fv->set_description("\"999999\" is not a known province");
  details.add_details()->PackFrom(br);
  grpc::Status s(grpc::StatusCode::INVALID_ARGUMENT, "something else\nsecond line",
                 details.SerializeAsString());
  EXPECT_EQ(DescribeStatus(s),
            "enterprise.region: \"999999\" is not a known province (INVALID_ARGUMENT)");
  EXPECT_EQ(DescribeStatus(details),
            "enterprise.region: \"999999\" is not a known province (INVALID_ARGUMENT)");
}

TEST(Errors, PlainMessageOnOneLine) {
  grpc::Status s(grpc::StatusCode::NOT_FOUND, "no enterprise\n91350100M000100Y43");
  EXPECT_EQ(DescribeStatus(s), "no enterprise 91350100M000100Y43 (NOT_FOUND)");
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")),
            "call failed (UNAVAILABLE)");
}

const std::vector<FlagSpec>* TestCommand(const std::vector<std::string>& words, void*) {
  static const std::vector<FlagSpec> flags = {
      {"region", true, ""}, {"key-only", false, ""}, {"label", true, ""}};
  if (words.size() >= 2 && words[0] == "enterprise" && words[1] == "list") return &flags;
  return nullptr;
}

TEST(Args, ParsesGlobalAndCommandFlags) {
  const std::vector<FlagSpec> global = {{"plaintext", false, ""}, {"output", true, ""}};
  auto p = ParseArgs({"--plaintext", "enterprise", "list", "--region=44", "--key-only", "--output",
                      "json", "--label", "a=1", "--label", "b=2"},
                     global, TestCommand, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->words, ElementsAre("enterprise", "list"));
  EXPECT_TRUE(p->Switch("plaintext"));
  EXPECT_TRUE(p->Switch("key-only"));
  EXPECT_EQ(p->Get("region"), "44");
  EXPECT_EQ(p->Get("output"), "json");
  EXPECT_THAT(p->GetAll("label"), ElementsAre("a=1", "b=2"));
  EXPECT_FALSE(p->Has("missing"));
}

TEST(Args, RejectsUnknownFlagsMissingValuesAndValuedSwitches) {
  const std::vector<FlagSpec> global = {{"output", true, ""}};
  auto unknown = ParseArgs({"enterprise", "list", "--colour"}, global, TestCommand, nullptr);
  EXPECT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("--colour"));
  // A command's flag before its words is not known yet.
  EXPECT_FALSE(
      ParseArgs({"--region", "44", "enterprise", "list"}, global, TestCommand, nullptr).ok());
  EXPECT_FALSE(ParseArgs({"enterprise", "list", "--region"}, global, TestCommand, nullptr).ok());
  EXPECT_FALSE(
      ParseArgs({"enterprise", "list", "--key-only=maybe"}, global, TestCommand, nullptr).ok());
  auto off = ParseArgs({"enterprise", "list", "--key-only=false"}, global, TestCommand, nullptr);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->Switch("key-only"));
}

TEST(Args, DoubleDashAndNegativeNumbersArePositional) {
  auto p = ParseArgs({"enterprise", "list", "--", "--region", "-5"}, {}, TestCommand, nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->words, ElementsAre("enterprise", "list", "--region", "-5"));
  auto h = ParseArgs({"enterprise", "-h"}, {}, TestCommand, nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
}

TEST(Args, StrictNumbers) {
  EXPECT_EQ(*ParseIntFlag("--n", "12", 1, 100), 12);
  EXPECT_FALSE(ParseIntFlag("--n", "12x", 1, 100).ok());
  EXPECT_FALSE(ParseIntFlag("--n", "0", 1, 100).ok());
  EXPECT_FALSE(ParseIntFlag("--n", "", 1, 100).ok());
  EXPECT_THAT(std::string(ParseIntFlag("--batch-size", "x", 1, 5).status().message()),
              HasSubstr("--batch-size"));
  EXPECT_FALSE(ParseDoubleFlag("--v", "nan").ok());
  EXPECT_DOUBLE_EQ(*ParseDoubleFlag("--v", "-1.5"), -1.5);
}

TEST(Enums, AcceptFullAndShortNames) {
  int v = 0;
  EXPECT_TRUE(ParseOwnership("OWNERSHIP_PRIVATE", &v));
  EXPECT_EQ(v, common::v1::OWNERSHIP_PRIVATE);
  EXPECT_TRUE(ParseOwnership("state-owned", &v));
  EXPECT_EQ(v, common::v1::OWNERSHIP_STATE_OWNED);
  EXPECT_TRUE(ParseKind("platform_operator", &v));
  EXPECT_EQ(v, common::v1::ORGANIZATION_KIND_PLATFORM_OPERATOR);
  EXPECT_TRUE(ParseSize("Large", &v));
  EXPECT_EQ(v, common::v1::ENTERPRISE_SIZE_LARGE);
  EXPECT_FALSE(ParseSize("huge", &v));
  EXPECT_FALSE(ParseSize("unspecified", &v));
  EXPECT_EQ(EnumShortName(common::v1::Ownership_descriptor(), "OWNERSHIP_", 3), "PRIVATE");
}

TEST(Csv, ReadsQuotedFieldsAndOffsets) {
  std::istringstream in("a,b\r\n1,\"x,\"\"y\"\"\"\n\n2,\"multi\nline\"\n3,last");
  CsvReader r(in);
  std::vector<std::string> f;
  int64_t start;
  std::string raw, error;
  ASSERT_TRUE(r.Next(&f, &start, &raw, &error));
  EXPECT_THAT(f, ElementsAre("a", "b"));
  EXPECT_EQ(start, 0);
  ASSERT_TRUE(r.Next(&f, &start, &raw, &error));
  EXPECT_THAT(f, ElementsAre("1", "x,\"y\""));
  EXPECT_EQ(start, 5);
  ASSERT_TRUE(r.Next(&f, &start, &raw, &error));
  EXPECT_THAT(f, ElementsAre("2", "multi\nline"));
  ASSERT_TRUE(r.Next(&f, &start, &raw, &error));
  EXPECT_THAT(f, ElementsAre("3", "last"));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(r.Next(&f, &start, &raw, &error));
  // Resuming at the offset of a record reads it again.
  std::istringstream again("a,b\r\n1,\"x,\"\"y\"\"\"\n\n2,\"multi\nline\"\n3,last");
  again.seekg(5);
  CsvReader r2(again, 5);
  ASSERT_TRUE(r2.Next(&f, &start, &raw, &error));
  EXPECT_THAT(f, ElementsAre("1", "x,\"y\""));
}

TEST(Csv, FlagsStrayQuotes) {
  std::vector<std::string> f;
  std::string error;
  EXPECT_FALSE(SplitCsv("a,b\"c", &f, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(SplitCsv("a,,", &f, &error));
  EXPECT_THAT(f, ElementsAre("a", "", ""));
}

TEST(Import, DerivedReportIdsAreStableAndValueSensitive) {
  const std::string a = DerivedReportId("91350100M000100Y43", "industry_cloud", "2016", "true");
  EXPECT_EQ(a, DerivedReportId("91350100M000100Y43", "industry_cloud", "2016", " true "));
  EXPECT_NE(a, DerivedReportId("91350100M000100Y43", "industry_cloud", "2016", "false"));
  EXPECT_NE(a, DerivedReportId("91350100M000100Y43", "industry_cloud", "2017", "true"));
  EXPECT_TRUE(absl::StartsWith(a, "row-"));
  EXPECT_EQ(a.size(), 20u);
}

TEST(Import, SummaryMentionsOutcomesReasonsAndRejects) {
  ImportSummary s;
  s.kind = "observations";
  s.rows = 10;
  s.outcomes = {{"ACCEPTED", 7}, {"DUPLICATE", 1}, {"REJECTED", 2}};
  s.reject_reasons = {{"UNKNOWN_ENTERPRISE", 2}};
  s.rejects_file = "obs.csv.rejects.csv";
  s.complete = true;
  const std::string text = SummaryText(s);
  EXPECT_THAT(text, HasSubstr("ACCEPTED   7"));
  EXPECT_THAT(text, HasSubstr("UNKNOWN_ENTERPRISE"));
  EXPECT_THAT(text, HasSubstr("rejected rows: obs.csv.rejects.csv"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("resume")));
  EXPECT_THAT(SummaryJson(s), HasSubstr("\"outcomes\": {\"ACCEPTED\": 7, \"DUPLICATE\": 1, "
                                        "\"REJECTED\": 2}"));
}

int RunCli(const std::vector<std::string>& args, std::string* out, std::string* err,
           std::map<std::string, std::string> env = {}) {
  std::ostringstream o, e;
  const int code = Run(
      args, o, e,
      [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      false);
  *out = o.str();
  *err = e.str();
  return code;
}

TEST(Run, UsageErrorsExitTwoWithOneLine) {
  std::string out, err;
  EXPECT_EQ(RunCli({"enterprise", "frobnicate"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("unknown command \"enterprise frobnicate\""));
  EXPECT_EQ(RunCli({"enterprise", "list", "--bogus"}, &out, &err), 2);
  EXPECT_EQ(err, "iplusctl: unknown flag --bogus (see iplusctl --help)\n");
  EXPECT_EQ(RunCli({"enterprise", "get"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("usage: iplusctl enterprise get CODE"));
  EXPECT_EQ(RunCli({"enterprise", "list", "--ownership", "pirate"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--ownership"));
  EXPECT_EQ(RunCli({"--output", "yaml", "target", "list"}, &out, &err), 2);
  EXPECT_EQ(RunCli({"target", "breakdown", "dev-cycle", "--dimension", "planet"}, &out, &err), 2);
  EXPECT_EQ(RunCli({"observation", "import", "x.csv", "--batch-size", "9000"}, &out, &err), 2);
  EXPECT_EQ(RunCli({"--timeout", "soon", "target", "list"}, &out, &err), 2);
  EXPECT_EQ(RunCli({}, &out, &err), 2);
}

TEST(Run, EnvironmentSuppliesGlobalFlags) {
  std::string out, err;
  EXPECT_EQ(RunCli({"target", "list"}, &out, &err, {{"IPLUS_OUTPUT", "xml"}}), 2);
  EXPECT_THAT(err, HasSubstr("--output: \"xml\""));
  // The flag wins over the environment.
  EXPECT_EQ(RunCli({"--output", "bad", "target", "list"}, &out, &err, {{"IPLUS_OUTPUT", "json"}}),
            2);
  EXPECT_THAT(err, HasSubstr("\"bad\""));
}

TEST(Run, HelpListsCommandsFlagsEnvironmentAndExitCodes) {
  std::string out, err;
  EXPECT_EQ(RunCli({"--help"}, &out, &err), 0);
  for (const char* s : {"enterprise import", "observation import", "target scorecard",
                        "IPLUS_TOKEN_FILE", "IPLUS_REGISTRY", "exit codes"}) {
    EXPECT_THAT(out, HasSubstr(s));
  }
  EXPECT_EQ(RunCli({"observation", "import", "--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("--batch-size"));
  EXPECT_THAT(out, HasSubstr("--rejects"));
}

TEST(Run, UnreadableTokenFileIsRejectedWithoutShowingIt) {
  std::string out, err;
  EXPECT_EQ(
      RunCli({"--plaintext", "--token-file", "/nonexistent/token", "target", "list"}, &out, &err),
      4);
  EXPECT_THAT(err, HasSubstr("--token-file"));
}

TEST(Commands, EveryCommandHasOneOrTwoWordsAndAHandler) {
  std::set<std::string> seen, groups, single;
  for (const auto& c : Commands()) {
    ASSERT_TRUE(c.words.size() == 1 || c.words.size() == 2) << c.words.size();
    EXPECT_TRUE(seen.insert(absl::StrJoin(c.words, " ")).second);
    (c.words.size() == 1 ? single : groups).insert(c.words[0]);
    EXPECT_TRUE(static_cast<bool>(c.run));
    EXPECT_FALSE(c.summary.empty());
  }
  // A one-word command is never also the group of two-word ones.
  for (const auto& w : single) EXPECT_EQ(groups.count(w), 0u) << w;
  for (const char* w : {"enterprise create", "enterprise import", "link delete", "indicator get",
                        "observation history", "target watch", "target breakdown", "report"}) {
    EXPECT_TRUE(seen.count(w)) << w;
  }
}

}  // namespace
}  // namespace iplus::ctl
