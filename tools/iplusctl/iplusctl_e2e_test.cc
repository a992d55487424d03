// iplusctl end to end: the real binary, run as a subprocess, against the registry, ingest
// and evaluation services (their real Apps on loopback, plaintext, without
// authentication) sharing one private redis-server, with a data set written by
// iplus-datagen.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/e2e/evaluation_e2e_util.h"

namespace iplus::ctl {
namespace {

using ::iplus::evaluation::e2e::CodeIn;
using ::iplus::evaluation::e2e::EvaluationInstance;
using ::iplus::evaluation::e2e::IngestInstance;
using ::iplus::evaluation::e2e::RegistryInstance;
using ::testing::HasSubstr;
using ::testing::Not;
namespace ev1 = ::iplus::evaluation::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Starts `binary` with `args`, stdout and stderr into files; returns the pid.
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args, const std::string& out,
            const std::string& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

class IplusctlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/iplusctl-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    IPLUS_ASSERT_OK(redis_.Start());
    registry_ = std::make_unique<RegistryInstance>(redis_.port());
    IPLUS_ASSERT_OK(registry_->start_status());
    ingest_ = std::make_unique<IngestInstance>(redis_.port(), registry_->port());
    IPLUS_ASSERT_OK(ingest_->start_status());
    ASSERT_TRUE(ingest_->WaitReady());
    evaluation_ =
        std::make_unique<EvaluationInstance>(redis_.port(), registry_->port(), ingest_->port());
    IPLUS_ASSERT_OK(evaluation_->start_status());
    ASSERT_TRUE(evaluation_->WaitServing());
    // The connection comes from the environment, as a user's shell would set it.
    setenv("IPLUS_REGISTRY", absl::StrCat("127.0.0.1:", registry_->port()).c_str(), 1);
    setenv("IPLUS_INGEST", absl::StrCat("127.0.0.1:", ingest_->port()).c_str(), 1);
    setenv("IPLUS_EVALUATION", absl::StrCat("127.0.0.1:", evaluation_->port()).c_str(), 1);
    setenv("IPLUS_PLAINTEXT", "true", 1);
    unsetenv("IPLUS_OUTPUT");
  }

  void TearDown() override {
    evaluation_.reset();
    ingest_.reset();
    registry_.reset();
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  Result Ctl(const std::vector<std::string>& args) {
    const std::string out = dir_ + "/stdout", err = dir_ + "/stderr";
    Result r;
    r.code = Wait(Spawn(IPLUSCTL_BINARY, args, out, err));
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  // Writes enterprises.csv and observations.csv of a small data set into dir_.
  void Generate(int enterprises) {
    const int code = Wait(Spawn(IPLUS_DATAGEN_BINARY,
                                {"--enterprises", absl::StrCat(enterprises), "--out_dir", dir_},
                                dir_ + "/datagen.out", dir_ + "/datagen.err"));
    ASSERT_EQ(code, 0) << ReadFile(dir_ + "/datagen.err");
  }

  std::string dir_;
  test::RedisServer redis_;
  std::unique_ptr<RegistryInstance> registry_;
  std::unique_ptr<IngestInstance> ingest_;
  std::unique_ptr<EvaluationInstance> evaluation_;
};

const std::string kCode = CodeIn("4401", 1);

std::vector<std::string> CreateArgs(const std::string& code, const std::string& region) {
  return {"enterprise",  "create",  "--code",     code,     "--name", "Canton Gear Works",
          "--region",    region,    "--industry", "C34",    "--kind", "manufacturer",
          "--ownership", "private", "--size",     "medium", "--key"};
}

TEST_F(IplusctlE2eTest, EnterpriseCreateGetListAndExitCodes) {
  Result r = Ctl(CreateArgs(kCode, "440100"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kCode));
  EXPECT_THAT(r.out, HasSubstr("Canton Gear Works"));

  // The same content again is fine; different content is ALREADY_EXISTS: rejected.
  EXPECT_EQ(Ctl(CreateArgs(kCode, "440100")).code, 0);
  r = Ctl(CreateArgs(kCode, "440300"));
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(ALREADY_EXISTS)"));

  // A bad field: one line naming it.
  r = Ctl(CreateArgs(CodeIn("4401", 2), "999999"));
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, ::testing::StartsWith("iplusctl: enterprise.region: "));
  EXPECT_THAT(r.err, ::testing::EndsWith("(INVALID_ARGUMENT)\n"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);

  r = Ctl({"enterprise", "get", kCode});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("MEDIUM"));
  r = Ctl({"enterprise", "get", CodeIn("4401", 99)});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(NOT_FOUND)"));

  // json: the proto JSON of the response.
  r = Ctl({"enterprise", "list", "--region", "44", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  rv1::ListEnterprisesResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok()) << r.out;
  ASSERT_EQ(list.enterprises_size(), 1);
  EXPECT_EQ(list.enterprises(0).code(), kCode);
  EXPECT_TRUE(list.enterprises(0).key_enterprise());
  // csv: a header and one row per enterprise.
  r = Ctl({"--output", "csv", "enterprise", "list", "--key-only"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0], "code,name,region,industry,kind,ownership,size,key,archived");
  EXPECT_TRUE(absl::StartsWith(lines[1], kCode + ",Canton Gear Works,440100,C34,"));
  r = Ctl({"enterprise", "list", "--region", "35"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, Not(HasSubstr(kCode)));

  r = Ctl({"enterprise", "archive", kCode, "--reason", "merged"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"enterprise", "list", "--output", "csv"});
  EXPECT_THAT(r.out, Not(HasSubstr(kCode)));
  r = Ctl({"enterprise", "list", "--include-archived", "--output", "csv"});
  EXPECT_THAT(r.out, HasSubstr(kCode));

  // Usage errors: 2, before any call.
  EXPECT_EQ(Ctl({"enterprise", "list", "--bogus"}).code, 2);
  EXPECT_EQ(Ctl({"enterprise", "teleport"}).code, 2);
  EXPECT_EQ(Ctl({"enterprise", "list", "--size", "gigantic"}).code, 2);

  // Nobody listening: unavailable.
  r = Ctl({"--registry", absl::StrCat("127.0.0.1:", test::FreePort()), "--timeout", "2s",
           "enterprise", "get", kCode});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(IplusctlE2eTest, LinksAndIndicators) {
  ASSERT_EQ(Ctl(CreateArgs(kCode, "440100")).code, 0);
  const std::string other = CodeIn("4403", 7);
  Result r = Ctl({"enterprise", "create", "--code", other, "--name", "Shenzhen Cloud", "--region",
                  "440300", "--industry", "I64", "--kind", "platform-operator", "--ownership",
                  "private", "--size", "large"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"link", "create", "--from", other, "--to", kCode, "--type", "platform-service"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"link", "list", kCode, "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(other, ",", kCode, ",PLATFORM_SERVICE")));
  r = Ctl({"link", "delete", "--from", other, "--to", kCode, "--type", "platform-service"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({"link", "list", kCode, "--output", "csv"});
  EXPECT_THAT(r.out, Not(HasSubstr(other)));

  r = Ctl({"indicator", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("product_dev_cycle_days"));
  r = Ctl({"indicator", "get", "industry_cloud", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  iv1::GetIndicatorResponse ind;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &ind).ok()) << r.out;
  EXPECT_EQ(ind.indicator().value_type(), iv1::VALUE_TYPE_BOOLEAN);
  EXPECT_EQ(Ctl({"indicator", "get", "no_such_indicator"}).code, 3);

  // One report, then a revision, then the history.
  r = Ctl({"observation", "report", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--period", "2016", "--value", "120"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("ACCEPTED"));
  r = Ctl({"observation", "report", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--period", "2016", "--value", "110"});
  EXPECT_THAT(r.out, HasSubstr("REVISED"));
  r = Ctl({"observation", "report", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--period", "2016", "--value", "true"});
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.out, HasSubstr("WRONG_VALUE_TYPE"));
  r = Ctl({"observation", "history", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--period", "2016", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[1], "1,,120,")) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[2], "2,120,110,"));
  r = Ctl({"observation", "series", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--from", "2015", "--to", "2018"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("110"));
  r = Ctl({"observation", "series", "--enterprise", kCode, "--indicator", "product_dev_cycle_days",
           "--from", "2015-Q1"});
  EXPECT_EQ(r.code, 4) << r.err;
}

// Counts the distinct (enterprise, indicator, period) keys of an observations.csv.
std::map<std::pair<std::string, std::string>, std::set<std::string>> Keys(const std::string& path) {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> keys;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() == 5) keys[{f[2], f[3]}].insert(f[1]);
  }
  return keys;
}

int64_t SummaryCount(const std::string& text, const std::string& outcome) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t n;
    if (w.size() == 2 && w[0] == outcome && absl::SimpleAtoi(w[1], &n)) return n;
  }
  return 0;
}

TEST_F(IplusctlE2eTest, ImportsResumeWithoutDuplicatesThenEvaluate) {
  Generate(300);
  const std::string enterprises = dir_ + "/enterprises.csv";
  const std::string observations = dir_ + "/observations.csv";
  Result r = Ctl({"enterprise", "import", enterprises, "--batch-size", "100", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_EQ(SummaryCount(r.out, "CREATED"), 300) << r.out;
  // Again: every enterprise exists already.
  r = Ctl({"enterprise", "import", enterprises, "--quiet", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"EXISTING\": 300"));
  r = Ctl({"enterprise", "export", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 301);

  const auto keys = Keys(observations);
  int64_t valid = 0;
  for (const auto& [k, v] : keys) valid += static_cast<int64_t>(v.size());
  ASSERT_GT(valid, 2000);
  // Bad rows at the end: an unknown enterprise, a value that is no number, a bad period,
  // and a row without a report id (derived from the row).
  {
    std::ofstream out(observations, std::ios::app);
    out << "bad-1," << CodeIn("4401", 999999) << ",industry_cloud,2016,true\n";
    out << "bad-2," << kCode << ",product_dev_cycle_days,2016,lots\n";
    out << "bad-3," << kCode << ",product_dev_cycle_days,16,100\n";
    out << "," << kCode << ",product_dev_cycle_days,2017,\n";
  }
  const std::string checkpoint = observations + ".checkpoint";
  const std::string rejects = observations + ".rejects.csv";

  // Interrupted: killed once some batches are acknowledged.
  const std::vector<std::string> args = {
      "observation",         "import", observations, "--batch-size", "20", "--window", "2",
      "--progress-interval", "1"};
  const pid_t pid = Spawn(IPLUSCTL_BINARY, args, dir_ + "/import1.out", dir_ + "/import1.err");
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int64_t checkpoint_row = 0;
  while (absl::Now() < deadline) {
    std::vector<std::string> f = absl::StrSplit(ReadFile(checkpoint), ' ');
    if (!f.empty() && absl::SimpleAtoi(f[0], &checkpoint_row) && checkpoint_row > 400) break;
    absl::SleepFor(absl::Microseconds(500));
  }
  ASSERT_GT(checkpoint_row, 400) << "the import never wrote a checkpoint";
  kill(pid, SIGKILL);
  Wait(pid);
  ASSERT_TRUE(Exists(checkpoint));

  // Resumed: the rest, the rejects and a summary; exit 4 because rows were rejected.
  r = Ctl(args);
  EXPECT_EQ(r.code, 4) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("resumed at row"));
  EXPECT_THAT(r.out, HasSubstr("UNKNOWN_ENTERPRISE"));
  EXPECT_THAT(r.out, HasSubstr("MALFORMED_FIELD"));
  EXPECT_THAT(r.out, HasSubstr("MALFORMED_PERIOD"));
  EXPECT_THAT(r.out, HasSubstr("WRONG_VALUE_TYPE"));
  EXPECT_THAT(r.out, HasSubstr("rejected rows: " + rejects));
  EXPECT_EQ(SummaryCount(r.out, "REJECTED"), 4) << r.out;
  EXPECT_EQ(SummaryCount(r.out, "REVISED"), 0) << r.out;
  // Plain progress lines, as stderr is no terminal.
  EXPECT_THAT(r.err, HasSubstr("observations: 100%"));
  EXPECT_FALSE(Exists(checkpoint));
  const std::string rejected = ReadFile(rejects);
  EXPECT_TRUE(absl::StartsWith(rejected,
                               "row,report_id,enterprise_code,indicator,period,value,reason,field,"
                               "message\n"))
      << rejected;
  for (const char* s : {"bad-1", "bad-2", "bad-3", "UNKNOWN_ENTERPRISE", "lots"}) {
    EXPECT_EQ(std::count(rejected.begin(), rejected.end(), '\n'), 5) << rejected;
    EXPECT_THAT(rejected, HasSubstr(s));
  }

  // The data: every key exactly once (coverage = distinct enterprises per indicator and
  // period), nothing revised.
  for (const auto& [key, codes] : keys) {
    r = Ctl({"observation", "coverage", "--indicator", key.first, "--from", key.second, "--to",
             key.second, "--output", "json"});
    ASSERT_EQ(r.code, 0) << r.err;
    iv1::GetCoverageResponse coverage;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &coverage).ok());
    ASSERT_EQ(coverage.periods_size(), 1);
    EXPECT_EQ(coverage.periods(0).reporters(), static_cast<int64_t>(codes.size()))
        << key.first << " " << key.second;
  }
  const std::string some = *keys.begin()->second.begin();
  r = Ctl({"observation", "series", "--enterprise", some, "--indicator", keys.begin()->first.first,
           "--from", "2015", "--to", "2018", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  iv1::GetSeriesResponse series;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &series).ok());
  ASSERT_GT(series.observations_size(), 0);
  for (const auto& o : series.observations()) EXPECT_EQ(o.revision(), 1);

  // The whole file again: nothing new, every valid row a duplicate.
  r = Ctl({"observation", "import", observations, "--restart", "--output", "json", "--quiet"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\"DUPLICATE\": ", valid)));
  EXPECT_THAT(r.out, Not(HasSubstr("ACCEPTED")));
  EXPECT_THAT(r.out, Not(HasSubstr("REVISED")));

  // Evaluation over the imported data.
  r = Ctl({"target", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dev-cycle"));
  r = Ctl({"target", "scorecard", "--period", "2018"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* t : {"dev-cycle", "energy-utilization", "industry-cloud-adoption",
                        "inventory-turnover", "platform-coverage"}) {
    EXPECT_THAT(r.out, HasSubstr(t));
  }
  EXPECT_THAT(r.out, HasSubstr("status"));
  r = Ctl({"target", "evaluate", "dev-cycle", "--period", "2018", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  ev1::EvaluateResponse evaluation;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &evaluation).ok()) << r.out;
  EXPECT_GT(evaluation.evaluation().coverage().current_reporters(), 0);
  EXPECT_NE(evaluation.evaluation().status(), ev1::EVALUATION_STATUS_UNSPECIFIED);
  r = Ctl({"target", "breakdown", "dev-cycle", "--period", "2018", "--dimension", "province",
           "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "rank,key,label,status,"));
  EXPECT_TRUE(absl::StartsWith(lines[1], "1,"));
  EXPECT_TRUE(absl::StartsWith(lines.back(), ",TOTAL,"));
  r = Ctl({"target", "breakdown", "dev-cycle", "--period", "2018", "--dimension", "size",
           "--key-only"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ENTERPRISE_SIZE_"));
  r = Ctl({"target", "watch", "--period", "2018", "--count", "1", "--output", "csv"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dev-cycle"));
  EXPECT_EQ(Ctl({"target", "evaluate", "no-such-target", "--period", "2018"}).code, 3);
  r = Ctl({"target", "evaluate", "dev-cycle", "--period", "2014"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("period"));
}

}  // namespace
}  // namespace iplus::ctl
