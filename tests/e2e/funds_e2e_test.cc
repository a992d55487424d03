// The funds service end to end with the services it calls: the registry's, ingest's,
// evaluation's and funds' Apps on loopback gRPC, sharing one redis-server (append only,
// fsync always, as the ledger requires).
//
// Two beneficiaries report their product development cycle through ingest:
//
//   enterprise  2015  2017  change
//   A           100   85    -15 %   meets "at least 10 % shorter" (required <= 90)
//   B           100   95     -5 %   does not
//
// A milestone conditioned on that rule is disbursed for A; for B it is refused with the
// measured and required values, and nothing moves. With evaluation stopped the
// disbursement is UNAVAILABLE and nothing moves; once evaluation is back, the same
// request id succeeds.

#include <chrono>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/refdata/credit_code.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "services/evaluation/app.h"
#include "services/funds/app.h"
#include "tests/e2e/ingest_e2e_util.h"

namespace iplus::funds::e2e {
namespace {

namespace fv1 = ::iplus::funds::v1;
namespace iv1 = ::iplus::ingest::v1;
namespace rv1 = ::iplus::registry::v1;
namespace cv1 = ::iplus::common::v1;
using ::iplus::ingest::e2e::Call;
using ::iplus::ingest::e2e::Connect;
using ::iplus::ingest::e2e::IngestInstance;
using ::iplus::ingest::e2e::RegistryInstance;
using ::iplus::registry::e2e::GrpcIs;
using ::testing::HasSubstr;
using Code = grpc::StatusCode;
using FundsStub = fv1::FundsService::Stub;

constexpr char kDev[] = "product_dev_cycle_days";

std::string CodeIn(const std::string& region4, int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91%s00%08d", region4, n));
}
const std::string A = CodeIn("4401", 11);
const std::string B = CodeIn("4401", 12);

bool WaitServing(grpc::Channel* channel, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (registry::e2e::CheckHealth(channel, "", absl::Seconds(1)) ==
        registry::e2e::HealthStatus::kServing) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

class FundsE2eTest : public ::testing::Test {
 protected:
  static test::RedisServer::Options Durable() {
    test::RedisServer::Options o;
    o.aof = true;
    o.appendfsync = "always";
    return o;
  }
  FundsE2eTest() : redis_(Durable()) {}

  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    registry_ = std::make_unique<RegistryInstance>(redis_.port());
    IPLUS_ASSERT_OK(registry_->start_status());
    ingest_ = std::make_unique<IngestInstance>(redis_.port(), registry_->port());
    IPLUS_ASSERT_OK(ingest_->start_status());
    ASSERT_TRUE(ingest_->WaitReady());
    RegisterAndReport();
    evaluation_port_ = test::FreePort();
    StartEvaluation();

    AppConfig c;
    c.server.service_name = "funds";
    c.server.grpc_address = "127.0.0.1:0";
    c.server.metrics_address = "127.0.0.1:0";
    c.server.drain_timeout = absl::Seconds(1);
    c.server.probe_interval = absl::Milliseconds(50);
    c.server.auth.allow_unauthenticated = true;
    c.redis.host = "127.0.0.1";
    c.redis.port = redis_.port();
    c.registry_target = absl::StrCat("127.0.0.1:", registry_->port());
    c.evaluation_target = absl::StrCat("127.0.0.1:", evaluation_port_);
    c.evaluation_deadline = absl::Seconds(3);
    funds_ = std::make_unique<App>(c);
    IPLUS_ASSERT_OK(funds_->Start());
    channel_ = Connect(funds_->grpc_port());
    stub_ = fv1::FundsService::NewStub(channel_);
    ASSERT_TRUE(WaitServing(channel_.get()));
  }

  void TearDown() override {
    funds_.reset();
    evaluation_.reset();
    ingest_.reset();
    registry_.reset();
  }

  void StartEvaluation() {
    evaluation::AppConfig c;
    c.server.service_name = "evaluation";
    c.server.grpc_address = absl::StrCat("127.0.0.1:", evaluation_port_);
    c.server.metrics_address = "";
    c.server.drain_timeout = absl::Seconds(1);
    c.server.probe_interval = absl::Milliseconds(100);
    c.server.auth.allow_unauthenticated = true;
    c.redis.host = "127.0.0.1";
    c.redis.port = redis_.port();
    c.redis.command_timeout = absl::Milliseconds(500);
    c.registry_target = absl::StrCat("127.0.0.1:", registry_->port());
    c.ingest_target = absl::StrCat("127.0.0.1:", ingest_->port());
    c.feed.poll_interval = absl::Milliseconds(50);
    c.feed.max_backoff = absl::Milliseconds(500);
    c.feed.rpc_timeout = absl::Seconds(2);
    c.targets_file = IPLUS_SOURCE_DIR "/deploy/targets.json";
    evaluation_ = std::make_unique<evaluation::App>(c);
    IPLUS_ASSERT_OK(evaluation_->Start());
    auto channel = Connect(evaluation_->grpc_port());
    ASSERT_TRUE(WaitServing(channel.get()));
  }

  void StopEvaluation() {
    evaluation_->Shutdown();
    evaluation_.reset();
  }

  void RegisterAndReport() {
    rv1::BatchCreateEnterprisesRequest request;
    for (const std::string& code : {A, B}) {
      rv1::Enterprise e;
      e.set_code(code);
      e.set_name(absl::StrCat("Enterprise ", code));
      e.set_region("440103");
      e.set_industry("C34");
      e.set_ownership(cv1::OWNERSHIP_PRIVATE);
      e.set_size(cv1::ENTERPRISE_SIZE_MEDIUM);
      e.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
      *request.add_requests()->mutable_enterprise() = e;
    }
    rv1::BatchCreateEnterprisesResponse response;
    ASSERT_TRUE(Call(registry_->stub(), &rv1::RegistryService::Stub::BatchCreateEnterprises,
                     request, &response)
                    .ok());
    for (const auto& r : response.results()) ASSERT_EQ(r.status().code(), 0);
    int n = 0;
    for (const auto& [code, period, value] :
         {std::make_tuple(A, "2015", 100.0), std::make_tuple(A, "2017", 85.0),
          std::make_tuple(B, "2015", 100.0), std::make_tuple(B, "2017", 95.0)}) {
      iv1::Observation o =
          ingest::e2e::Number(absl::StrCat("funds-e2e-", ++n), code, kDev, period, value);
      // Ingest learns new enterprises from the registry within a poll interval.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      for (;;) {
        iv1::ReportObservationsResponse r;
        grpc::Status s = ingest::e2e::Report(ingest_->stub(), {o}, &r);
        if (s.ok() && r.results(0).outcome() != iv1::OUTCOME_REJECTED) break;
        ASSERT_LT(absl::Now(), deadline) << "not accepted: " << s.error_message();
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
  }

  // A project of gd-fund paying `beneficiary` 2000 fen when the condition holds.
  fv1::Project Project(const std::string& id, const std::string& beneficiary,
                       const std::string& indicator = kDev) {
    fv1::Project p;
    p.set_id(id);
    p.set_fund_id("gd-fund");
    p.set_beneficiary_code(beneficiary);
    p.set_kind(fv1::PROJECT_KIND_INTELLIGENT_MANUFACTURING);
    p.set_title("Shorter product development through networked design");
    p.mutable_budget()->set_currency("CNY");
    p.mutable_budget()->set_fen(5000);
    auto* m = p.add_milestones();
    m->set_id("cycle-10pct");
    m->set_title("Development cycle at least 10 % shorter than in 2015");
    m->mutable_amount()->set_currency("CNY");
    m->mutable_amount()->set_fen(2000);
    auto* c = m->mutable_condition();
    c->set_indicator(indicator);
    c->set_baseline_period("2015");
    c->set_current_period("2017");
    c->mutable_rule()->mutable_relative_change()->set_change(-0.1);
    return p;
  }

  // Creates the project and commits and posts its whole budget.
  void Fund(const fv1::Project& p) {
    fv1::CreateProjectRequest cp;
    *cp.mutable_project() = p;
    fv1::CreateProjectResponse created;
    ASSERT_THAT(Call(*stub_, &FundsStub::CreateProject, cp, &created), GrpcIs(Code::OK));
    fv1::CommitToProjectRequest commit;
    commit.set_project_id(p.id());
    *commit.mutable_amount() = p.budget();
    commit.set_request_id(absl::StrCat("commit-", p.id()));
    fv1::CommitToProjectResponse committed;
    ASSERT_THAT(Call(*stub_, &FundsStub::CommitToProject, commit, &committed), GrpcIs(Code::OK));
    fv1::PostCommitmentRequest post;
    post.set_project_id(p.id());
    post.set_pending_transfer_id(committed.transfers(0).id());
    post.set_request_id(absl::StrCat("post-", p.id()));
    fv1::PostCommitmentResponse posted;
    ASSERT_THAT(Call(*stub_, &FundsStub::PostCommitment, post, &posted), GrpcIs(Code::OK));
  }

  grpc::Status Disburse(const std::string& project, const std::string& request_id,
                        fv1::DisburseMilestoneResponse* out) {
    fv1::DisburseMilestoneRequest r;
    r.set_project_id(project);
    r.set_milestone_id("cycle-10pct");
    r.set_request_id(request_id);
    return Call(*stub_, &FundsStub::DisburseMilestone, r, out);
  }

  fv1::ProjectStatement Statement(const std::string& project) {
    fv1::GetProjectStatementRequest r;
    r.set_project_id(project);
    fv1::GetProjectStatementResponse resp;
    EXPECT_THAT(Call(*stub_, &FundsStub::GetProjectStatement, r, &resp), GrpcIs(Code::OK));
    return resp.statement();
  }

  int64_t Head() {
    auto head = funds_->ledger().Head();
    EXPECT_THAT(head, test::IsOk());
    return head.ok() ? head->sequence : -1;
  }

  test::RedisServer redis_;
  std::unique_ptr<RegistryInstance> registry_;
  std::unique_ptr<IngestInstance> ingest_;
  int evaluation_port_ = 0;
  std::unique_ptr<evaluation::App> evaluation_;
  std::unique_ptr<App> funds_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<FundsStub> stub_;
};

TEST_F(FundsE2eTest, ConditionedMilestonesFollowTheBeneficiarysReportedProgress) {
  fv1::CreateFundRequest cf;
  cf.mutable_fund()->set_id("gd-fund");
  cf.mutable_fund()->set_name("Guangdong intelligent manufacturing fund");
  cf.mutable_fund()->mutable_sponsor()->set_region_code("440000");
  cf.mutable_fund()->set_currency("CNY");
  fv1::CreateFundResponse fund;
  ASSERT_THAT(Call(*stub_, &FundsStub::CreateFund, cf, &fund), GrpcIs(Code::OK));
  fv1::CapitaliseFundRequest cap;
  cap.set_fund_id("gd-fund");
  cap.mutable_amount()->set_currency("CNY");
  cap.mutable_amount()->set_fen(100000);
  cap.set_request_id("cap-1");
  fv1::CapitaliseFundResponse capitalised;
  ASSERT_THAT(Call(*stub_, &FundsStub::CapitaliseFund, cap, &capitalised), GrpcIs(Code::OK));
  Fund(Project("meets", A));
  Fund(Project("misses", B));
  Fund(Project("unknown-indicator", A, "no_such_indicator"));
  Fund(Project("outage", A));

  // A meets the rule: paid, with the check in the response.
  fv1::DisburseMilestoneResponse paid;
  ASSERT_THAT(Disburse("meets", "d-meets", &paid), GrpcIs(Code::OK));
  ASSERT_EQ(paid.transfers_size(), 1);
  EXPECT_EQ(paid.transfers(0).amount(), 2000);
  EXPECT_EQ(paid.transfers(0).type(), fv1::IATI_TRANSACTION_TYPE_DISBURSEMENT);
  EXPECT_EQ(paid.milestone().status(), fv1::MILESTONE_STATUS_DISBURSED);
  ASSERT_TRUE(paid.has_check());
  EXPECT_TRUE(paid.check().meets());
  EXPECT_DOUBLE_EQ(paid.check().current_value(), 85);
  EXPECT_DOUBLE_EQ(paid.check().required(), 90);
  EXPECT_EQ(Statement("meets").disbursed().fen(), 2000);
  EXPECT_EQ(Statement("meets").undisbursed().fen(), 3000);

  // B does not: FAILED_PRECONDITION stating the measured and required values; nothing moves.
  const fv1::ProjectStatement before = Statement("misses");
  const int64_t head = Head();
  fv1::DisburseMilestoneResponse refused;
  grpc::Status s = Disburse("misses", "d-misses", &refused);
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("2015 = 100, 2017 = 95"));
  EXPECT_THAT(s.error_message(), HasSubstr("required <= 90"));
  EXPECT_THAT(s.error_message(), HasSubstr("not met"));
  const fv1::ProjectStatement after = Statement("misses");
  EXPECT_EQ(after.disbursed().fen(), 0);
  EXPECT_EQ(after.undisbursed().fen(), before.undisbursed().fen());
  EXPECT_EQ(after.journal_sequence(), before.journal_sequence());
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(after.milestones(0).status(), fv1::MILESTONE_STATUS_PENDING);

  // A condition evaluation cannot check (an unknown indicator): FAILED_PRECONDITION naming
  // the milestone's condition.
  s = Disburse("unknown-indicator", "d-unknown", &refused);
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("project.milestones[0].condition"));
  EXPECT_EQ(Head(), head);

  // Evaluation stopped: UNAVAILABLE, nothing moves.
  StopEvaluation();
  const fv1::ProjectStatement outage_before = Statement("outage");
  s = Disburse("outage", "d-outage", &refused);
  EXPECT_THAT(s, GrpcIs(Code::UNAVAILABLE));
  EXPECT_THAT(s.error_message(), HasSubstr("evaluation"));
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(Statement("outage").disbursed().fen(), outage_before.disbursed().fen());
  EXPECT_EQ(Statement("outage").milestones(0).status(), fv1::MILESTONE_STATUS_PENDING);

  // Evaluation back: the same request id succeeds (a client retries on UNAVAILABLE).
  StartEvaluation();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  fv1::DisburseMilestoneResponse retried;
  for (;;) {
    s = Disburse("outage", "d-outage", &retried);
    if (s.error_code() != Code::UNAVAILABLE) break;
    ASSERT_LT(absl::Now(), deadline) << s.error_message();
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(s, GrpcIs(Code::OK));
  EXPECT_TRUE(retried.check().meets());
  EXPECT_EQ(retried.transfers(0).memo(), "d-outage");
  EXPECT_EQ(Statement("outage").disbursed().fen(), 2000);
  EXPECT_EQ(Head(), head + 1);

  // Everything adds up: the fund paid 4000, holds the rest, and the journal verifies.
  fv1::GetFundStatementRequest fs;
  fs.set_fund_id("gd-fund");
  fv1::GetFundStatementResponse statement;
  ASSERT_THAT(Call(*stub_, &FundsStub::GetFundStatement, fs, &statement), GrpcIs(Code::OK));
  EXPECT_EQ(statement.statement().capital().fen(), 100000);
  EXPECT_EQ(statement.statement().posted().fen(), 20000);
  EXPECT_EQ(statement.statement().disbursed().fen(), 4000);
  EXPECT_EQ(statement.statement().available().fen(), 80000);
  fv1::VerifyJournalResponse verify;
  ASSERT_THAT(Call(*stub_, &FundsStub::VerifyJournal, fv1::VerifyJournalRequest(), &verify),
              GrpcIs(Code::OK));
  EXPECT_TRUE(verify.ok()) << verify.discrepancy();
}

}  // namespace
}  // namespace iplus::funds::e2e
