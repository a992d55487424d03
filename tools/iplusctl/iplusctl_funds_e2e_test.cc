// iplusctl's funds commands end to end: the real binary, run as a subprocess, against the
// registry, ingest, evaluation and funds services (their real Apps on loopback,
// plaintext, without authentication) sharing one private redis-server that writes an
// append-only file with fsync on every write, as the funds service requires.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "iplus/funds/v1/funds.pb.h"
#include "services/funds/app.h"
#include "tests/e2e/evaluation_e2e_util.h"

namespace iplus::ctl {
namespace {

using ::iplus::evaluation::e2e::CodeIn;
using ::iplus::evaluation::e2e::EvaluationInstance;
using ::iplus::evaluation::e2e::IngestInstance;
using ::iplus::evaluation::e2e::RegistryInstance;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fv1 = ::iplus::funds::v1;

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

// Runs `binary` with `args`, stdout and stderr into files; returns its exit code.
int RunProcess(const std::string& binary, const std::vector<std::string>& args,
               const std::string& out, const std::string& err) {
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
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// The funds service (the real App) on loopback.
class FundsInstance {
 public:
  FundsInstance(int redis_port, int registry_port, int evaluation_port) {
    funds::AppConfig config;
    config.server.service_name = "funds";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "127.0.0.1:0";
    config.server.drain_timeout = absl::Seconds(2);
    config.server.probe_interval = absl::Milliseconds(100);
    // Authentication has its own tests.
    config.server.auth.allow_unauthenticated = true;
    config.redis.host = "127.0.0.1";
    config.redis.port = redis_port;
    config.redis.command_timeout = absl::Seconds(2);
    config.registry_target = absl::StrCat("127.0.0.1:", registry_port);
    config.evaluation_target = absl::StrCat("127.0.0.1:", evaluation_port);
    config.expire_interval = absl::Milliseconds(200);
    app_ = std::make_unique<funds::App>(config);
    start_status_ = app_->Start();
    if (start_status_.ok()) channel_ = ingest::e2e::Connect(app_->grpc_port());
  }
  ~FundsInstance() {
    if (app_ != nullptr) app_->Shutdown();
  }

  const absl::Status& start_status() const { return start_status_; }
  int port() const { return app_->grpc_port(); }

  bool WaitServing(absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (registry::e2e::CheckHealth(channel_.get(), "", absl::Seconds(1)) ==
          registry::e2e::HealthStatus::kServing) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  std::unique_ptr<funds::App> app_;
  absl::Status start_status_;
  std::shared_ptr<grpc::Channel> channel_;
};

test::RedisServer::Options Durable() {
  test::RedisServer::Options o;
  o.aof = true;
  o.appendfsync = "always";
  return o;
}

const std::string kBeneficiary = CodeIn("4401", 1);
const std::string kFund = "gd-platforms";
const std::string kProject = "gd-smart-line";

class IplusctlFundsE2eTest : public ::testing::Test {
 protected:
  IplusctlFundsE2eTest() : redis_(Durable()) {}

  void SetUp() override {
    char tmpl[] = "/tmp/iplusctl-funds-e2e-XXXXXX";
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
    funds_ = std::make_unique<FundsInstance>(redis_.port(), registry_->port(), evaluation_->port());
    IPLUS_ASSERT_OK(funds_->start_status());
    ASSERT_TRUE(funds_->WaitServing());
    // The connection comes from the environment, as a user's shell would set it.
    setenv("IPLUS_REGISTRY", absl::StrCat("127.0.0.1:", registry_->port()).c_str(), 1);
    setenv("IPLUS_INGEST", absl::StrCat("127.0.0.1:", ingest_->port()).c_str(), 1);
    setenv("IPLUS_EVALUATION", absl::StrCat("127.0.0.1:", evaluation_->port()).c_str(), 1);
    setenv("IPLUS_FUNDS", absl::StrCat("127.0.0.1:", funds_->port()).c_str(), 1);
    setenv("IPLUS_PLAINTEXT", "true", 1);
    unsetenv("IPLUS_OUTPUT");
  }

  void TearDown() override {
    funds_.reset();
    evaluation_.reset();
    ingest_.reset();
    registry_.reset();
    std::system(absl::StrCat("rm -rf ", dir_).c_str());
  }

  Result Ctl(const std::vector<std::string>& args) {
    const std::string out = dir_ + "/stdout", err = dir_ + "/stderr";
    Result r;
    r.code = RunProcess(IPLUSCTL_BINARY, args, out, err);
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  // Parses the JSON output of a command into `message`.
  template <typename M>
  M Json(const std::vector<std::string>& args) {
    std::vector<std::string> a = args;
    a.push_back("--output");
    a.push_back("json");
    Result r = Ctl(a);
    M m;
    EXPECT_EQ(r.code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &m).ok()) << r.out;
    return m;
  }

  fv1::FundStatement FundStatement(const std::string& id) {
    return Json<fv1::GetFundStatementResponse>({"fund", "statement", id}).statement();
  }
  fv1::ProjectStatement ProjectStatement(const std::string& id) {
    return Json<fv1::GetProjectStatementResponse>({"project", "statement", id}).statement();
  }
  int JournalEntries() {
    return Json<fv1::ListJournalResponse>({"journal", "list"}).entries_size();
  }

  // Registers the beneficiary and reports its development cycle: 100 days in 2015, 95
  // in 2018 (5 % shorter).
  void Beneficiary();

  std::string dir_;
  test::RedisServer redis_;
  std::unique_ptr<RegistryInstance> registry_;
  std::unique_ptr<IngestInstance> ingest_;
  std::unique_ptr<EvaluationInstance> evaluation_;
  std::unique_ptr<FundsInstance> funds_;
};

void IplusctlFundsE2eTest::Beneficiary() {
  Result r = Ctl({"enterprise", "create", "--code", kBeneficiary, "--name", "Canton Gear Works",
                  "--region", "440100", "--industry", "C34", "--kind", "manufacturer",
                  "--ownership", "private", "--size", "medium"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (auto [period, value] :
       {std::pair<const char*, const char*>{"2015", "100"}, {"2018", "95"}}) {
    r = Ctl({"observation", "report", "--enterprise", kBeneficiary, "--indicator",
             "product_dev_cycle_days", "--period", period, "--value", value});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
}

std::vector<std::string> FundArgs(const std::string& name) {
  return {"fund",          "create",  kFund,
          "--name",        name,      "--sponsor",
          "region:440000", "--focus", "platforms,pilot-projects"};
}

std::vector<std::string> ProjectArgs() {
  return {"project",
          "create",
          kProject,
          "--fund",
          kFund,
          "--beneficiary",
          kBeneficiary,
          "--kind",
          "pilot-project",
          "--title",
          "Smart line 7",
          "--budget",
          "1000000",
          "--milestone",
          "m1:200000:Contract signed",
          "--milestone",
          "m2:300000:Cycle cut 12%:indicator=product_dev_cycle_days,baseline=2015,current=2018,"
          "change=-12%",
          "--milestone",
          "m3:100000:Cycle cut 4%:indicator=product_dev_cycle_days,baseline=2015,current=2018,"
          "change=-4%"};
}

TEST_F(IplusctlFundsE2eTest, FundProjectMoneyStatementsAndJournal) {
  Beneficiary();
  if (HasFatalFailure()) return;

  // A fund; again with the same content is fine, with other content ALREADY_EXISTS.
  Result r = Ctl(FundArgs("Guangdong platforms"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("region:440000"));
  EXPECT_THAT(r.out, HasSubstr("PLATFORMS,PILOT_PROJECTS"));
  r = Ctl(FundArgs("Guangdong platforms"));
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl(FundArgs("Another name"));
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(ALREADY_EXISTS)"));
  r = Ctl({"fund", "list", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("gd-platforms,Guangdong platforms,region:440000,"));

  // A project with an unconditional and two conditioned milestones; the conditions come
  // back in the syntax they were given in.
  r = Ctl(ProjectArgs());
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"project", "get", kProject});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("PILOT_PROJECT"));
  EXPECT_THAT(r.out, HasSubstr("1,000,000.00"));
  EXPECT_THAT(r.out, HasSubstr("indicator=product_dev_cycle_days,baseline=2015,current=2018,"
                               "change=-12%"));
  auto project = Json<fv1::GetProjectResponse>({"project", "get", kProject}).project();
  ASSERT_EQ(project.milestones_size(), 3);
  EXPECT_EQ(project.budget().fen(), 100000000);
  EXPECT_EQ(project.milestones(1).amount().fen(), 30000000);
  EXPECT_EQ(project.milestones(1).condition().rule().relative_change().change(), -0.12);
  r = Ctl({"project", "list", "--fund", kFund, "--beneficiary", kBeneficiary});
  EXPECT_THAT(r.out, HasSubstr(kProject));

  // Capitalise; the same request id again creates nothing.
  r = Ctl({"fund", "capitalise", kFund, "5000000.50", "--memo", "first tranche", "--request-id",
           "cap-2024-001"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("5,000,000.50"));
  EXPECT_THAT(r.out, HasSubstr("INCOMING_FUNDS"));
  EXPECT_THAT(r.out, HasSubstr("request id: cap-2024-001\n"));
  const int entries = JournalEntries();
  r = Ctl({"fund", "capitalise", kFund, "5000000.50", "--memo", "first tranche", "--request-id",
           "cap-2024-001", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(",500000050,"));
  EXPECT_THAT(r.out, HasSubstr(",cap-2024-001\n"));
  EXPECT_EQ(JournalEntries(), entries);
  EXPECT_EQ(FundStatement(kFund).capital().fen(), 500000050);

  // Commit (the pending id comes from the JSON output; the fresh request id goes to
  // stderr), then post it.
  r = Ctl({"project", "commit", kProject, "600000", "--expire-after", "30d", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("iplusctl: request id "));
  fv1::CommitToProjectResponse commit;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &commit).ok()) << r.out;
  ASSERT_EQ(commit.transfers_size(), 1);
  const std::string pending = commit.transfers(0).id();
  EXPECT_TRUE(commit.transfers(0).flags().pending());
  EXPECT_EQ(commit.transfers(0).amount(), 60000000);
  EXPECT_EQ(ProjectStatement(kProject).committed().fen(), 60000000);
  r = Ctl({"project", "post", kProject, pending});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("post"));
  // More than the budget allows (600,000 committed of 1,000,000): rejected.
  r = Ctl({"project", "commit", kProject, "400000.01"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(FAILED_PRECONDITION); request id "));

  // The unconditional milestone is paid.
  r = Ctl({"project", "disburse", kProject, "m1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("DISBURSEMENT"));
  EXPECT_THAT(r.out, HasSubstr("200,000.00"));
  EXPECT_THAT(r.out, HasSubstr("milestone m1: DISBURSED"));

  // m2 wants the cycle 12 % shorter; it is 5 % shorter: rejected with the measured and
  // required values, and nothing moves.
  const fv1::ProjectStatement before = ProjectStatement(kProject);
  const int entries_before = JournalEntries();
  r = Ctl({"project", "disburse", kProject, "m2", "--request-id", "disburse-m2-a"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("condition is not met"));
  EXPECT_THAT(r.err, HasSubstr("100"));  // the baseline
  EXPECT_THAT(r.err, HasSubstr("95"));   // the measured value
  EXPECT_THAT(r.err, HasSubstr("88"));   // the required value
  EXPECT_THAT(r.err, HasSubstr("(FAILED_PRECONDITION); request id disburse-m2-a\n"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  const fv1::ProjectStatement after = ProjectStatement(kProject);
  EXPECT_EQ(after.disbursed().fen(), before.disbursed().fen());
  EXPECT_EQ(after.undisbursed().fen(), before.undisbursed().fen());
  EXPECT_EQ(JournalEntries(), entries_before);

  // m3 wants 4 % shorter: met, paid, with the check's explanation.
  r = Ctl({"project", "disburse", kProject, "m3", "--request-id", "disburse-m3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("condition: "));
  EXPECT_THAT(r.out, HasSubstr("milestone m3: DISBURSED"));
  // The same request again: the same result, no new entry. Another request id: refused,
  // a milestone is paid once.
  const int entries_paid = JournalEntries();
  r = Ctl({"project", "disburse", kProject, "m3", "--request-id", "disburse-m3"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(JournalEntries(), entries_paid);
  r = Ctl({"project", "disburse", kProject, "m3"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("already disbursed"));

  // Statements: tables in yuan, JSON in fen, adding up.
  r = Ctl({"project", "statement", kProject});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("budget              1,000,000.00"));
  EXPECT_THAT(r.out, HasSubstr("posted              600,000.00"));
  EXPECT_THAT(r.out, HasSubstr("disbursed           300,000.00"));
  EXPECT_THAT(r.out, HasSubstr("undisbursed         300,000.00"));
  EXPECT_THAT(r.out, HasSubstr("uncommitted_budget  400,000.00"));
  EXPECT_THAT(r.out, HasSubstr("DISBURSED"));
  EXPECT_THAT(r.out, HasSubstr("PENDING"));
  const fv1::ProjectStatement ps = ProjectStatement(kProject);
  EXPECT_EQ(ps.budget().fen(), 100000000);
  EXPECT_EQ(ps.posted().fen(), 60000000);
  EXPECT_EQ(ps.committed().fen(), 0);
  EXPECT_EQ(ps.disbursed().fen(), 30000000);
  EXPECT_EQ(ps.undisbursed().fen(), ps.posted().fen() - ps.released().fen() - ps.disbursed().fen());
  EXPECT_EQ(ps.uncommitted_budget().fen(), 40000000);
  r = Ctl({"fund", "statement", kFund});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("capital      5,000,000.50"));
  EXPECT_THAT(r.out, HasSubstr("available    4,400,000.50"));
  const fv1::FundStatement fs = FundStatement(kFund);
  EXPECT_EQ(fs.capital().fen(), 500000050);
  EXPECT_EQ(fs.posted().fen(), 60000000);
  EXPECT_EQ(fs.disbursed().fen(), 30000000);
  EXPECT_EQ(fs.available().fen(), fs.capital().fen() + fs.released().fen() +
                                      fs.clawed_back().fen() - fs.posted().fen() -
                                      fs.committed().fen());
  r = Ctl({"fund", "statement", kFund, "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fund,capital_fen,committed_fen,posted_fen,released_fen,"
                               "disbursed_fen,clawed_back_fen,available_fen,journal_sequence\n"
                               "gd-platforms,500000050,0,60000000,0,30000000,0,440000050,"));

  // The ledger underneath.
  r = Ctl({"ledger", "accounts", "fund:gd-platforms", "project:gd-smart-line:disbursed"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("PROJECT_DISBURSED"));
  r = Ctl({"ledger", "accounts", "fund:gd-platforms", "fund:nowhere"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("not found: fund:nowhere"));
  r = Ctl({"ledger", "history", "project:gd-smart-line:disbursed", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;  // header + m1 + m3
  r = Ctl({"ledger", "history", "project:gd-smart-line:disbursed", "--to", "2000-01-01"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // only the header
  r = Ctl({"ledger", "transfers", pending});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pending"));

  // The journal: every entry listed, and the chain and balances verify.
  r = Ctl({"journal", "list", "--output", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), JournalEntries() + 1);
  r = Ctl({"journal", "list", "--after", "1", "--limit", "2", "--output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  fv1::ListJournalResponse page;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &page).ok());
  ASSERT_EQ(page.entries_size(), 2);
  EXPECT_EQ(page.entries(0).sequence(), 2);
  r = Ctl({"journal", "verify"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("true"));
  auto verify = Json<fv1::VerifyJournalResponse>({"journal", "verify"});
  EXPECT_TRUE(verify.ok());
  EXPECT_EQ(verify.entries_checked(), JournalEntries());

  // Release what is left and close the project; then no more commitments.
  r = Ctl({"project", "release", kProject, "--close", "--reason", "done"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("300,000.00"));
  EXPECT_THAT(r.out, HasSubstr("CLOSED"));
  r = Ctl({"project", "commit", kProject, "1"});
  EXPECT_EQ(r.code, 4) << r.err;
}

TEST_F(IplusctlFundsE2eTest, ExitCodesForNotFoundAndBadUsage) {
  Beneficiary();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Ctl(FundArgs("Guangdong platforms")).code, 0);
  ASSERT_EQ(Ctl(ProjectArgs()).code, 0);

  // Not found: 3, one line naming the code.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"fund", "get", "no-such-fund"},
                                             {"fund", "statement", "no-such-fund"},
                                             {"fund", "capitalise", "no-such-fund", "10"},
                                             {"project", "get", "no-such-project"},
                                             {"project", "disburse", kProject, "m9"},
                                             {"project", "void", kProject, "commit:nothing"},
                                             {"ledger", "history", "fund:no-such-fund"}}) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, 3) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("(NOT_FOUND)")) << absl::StrJoin(args, " ");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // A project of an unknown beneficiary.
  std::vector<std::string> args = ProjectArgs();
  args[2] = "other-project";
  args[6] = CodeIn("4401", 77);
  Result r = Ctl(args);
  EXPECT_EQ(r.code, 3) << r.err;

  // Bad usage: 2, before any call (the journal does not move).
  const int entries = JournalEntries();
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"fund", "capitalise", kFund, "1.234"},
           {"fund", "capitalise", kFund, "-5"},
           {"fund", "capitalise", kFund},
           {"fund", "capitalise", kFund, "10", "--bogus"},
           {"project", "commit", kProject, "10", "--expire-after", "soon"},
           {"project", "create", "p2", "--fund", kFund, "--beneficiary", kBeneficiary, "--kind",
            "pilot-project", "--title", "T", "--budget", "10", "--milestone", "m1:5:t:change=-1%"},
           {"fund", "teleport", kFund}}) {
    r = Ctl(bad);
    EXPECT_EQ(r.code, 2) << absl::StrJoin(bad, " ") << ": " << r.err;
  }
  EXPECT_EQ(JournalEntries(), entries);
  // A malformed value the server finds: rejected (4), naming the field.
  r = Ctl({"fund", "create", "Bad_Id", "--name", "x", "--sponsor", "national"});
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("id"));
  EXPECT_THAT(r.err, HasSubstr("(INVALID_ARGUMENT)"));
}

}  // namespace
}  // namespace iplus::ctl
