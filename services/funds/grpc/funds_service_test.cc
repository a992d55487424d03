// The funds service over loopback gRPC: its App against a private redis-server (append
// only, fsync always) next to a real registry App, with bearer tokens for an admin, a
// regulator, a viewer and fund managers. Evaluation is not running here (its target is
// a closed port): conditioned milestones that need it are covered in
// tests/e2e/funds_e2e_test.cc; here they show that an unreachable evaluation moves
// nothing.
//
// Every RPC's happy path and the status codes of docs/api.md's funds tables; the replay
// of every operation with the same request id (also once the request-id cache is gone);
// statements that add up; the budget; closed projects; milestones paid once; fund
// managers kept to their funds; expiry; metrics; the audit trail; durability at start.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/auth/auth.h"
#include "common/refdata/credit_code.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "iplus/audit/v1/audit.grpc.pb.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/funds/app.h"
#include "services/funds/catalog/validation.h"
#include "services/registry/app.h"
#include "tests/e2e/registry_e2e_util.h"

namespace iplus::funds {
namespace {

namespace cv1 = ::iplus::common::v1;
namespace rv1 = ::iplus::registry::v1;
namespace av1 = ::iplus::audit::v1;
using ::iplus::registry::e2e::GrpcInvalidField;
using ::iplus::registry::e2e::GrpcIs;
using ::iplus::registry::e2e::RpcStatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Code = grpc::StatusCode;
using Stub = v1::FundsService::Stub;

constexpr char kAdmin[] = "admin-token";
constexpr char kRegulator[] = "regulator-token";
constexpr char kViewer[] = "viewer-token";
constexpr char kManager[] = "manager-token";  // fund manager of gd-fund only
constexpr char kFujian[] = "fujian-token";    // fund manager of every fund, region 35 only

std::string Enterprise(int n, const std::string& region4 = "4401") {
  return refdata::CompleteCreditCode(absl::StrFormat("91%s00%08d", region4, n));
}

cv1::Money Yuan(int64_t fen) { return Cny(fen); }

std::shared_ptr<grpc::Channel> Connect(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// GET http://127.0.0.1:port/path; the whole response ("" on failure).
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: x\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// The value of one series in a Prometheus text exposition (-1 when absent).
double Metric(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = -1;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

class FundsServiceTest : public ::testing::Test {
 protected:
  static test::RedisServer::Options DurableRedis() {
    test::RedisServer::Options o;
    o.aof = true;
    o.appendfsync = "always";
    return o;
  }

  FundsServiceTest() : redis_(DurableRedis()) {}

  void SetUp() override {
    IPLUS_ASSERT_OK(redis_.Start());
    registry::AppConfig rc;
    rc.server.service_name = "registry";
    rc.server.grpc_address = "127.0.0.1:0";
    rc.server.metrics_address = "";
    rc.server.drain_timeout = absl::Seconds(1);
    rc.server.auth.allow_unauthenticated = true;
    rc.redis.host = "127.0.0.1";
    rc.redis.port = redis_.port();
    registry_ = std::make_unique<registry::App>(rc);
    IPLUS_ASSERT_OK(registry_->Start());
    registry_stub_ = rv1::RegistryService::NewStub(Connect(registry_->grpc_port()));
    RegisterEnterprises();

    token_file_ = absl::StrCat(redis_.dir(), "/tokens");
    std::ofstream out(token_file_);
    auto line = [&](const std::string& token, const std::string& rest) {
      out << auth::Sha256Hex(token) << " " << rest << "\n";
    };
    line(kAdmin, "ops admin *");
    line(kRegulator, "audit-office regulator *");
    line(kViewer, "analyst viewer *");
    line(kManager, "gd-manager fund_manager * gd-fund");
    line(kFujian, "fj-manager fund_manager 35 *");
    out.close();
    StartFunds();
  }

  void TearDown() override {
    funds_.reset();
    registry_.reset();
  }

  AppConfig FundsConfig() {
    AppConfig c;
    c.server.service_name = "funds";
    c.server.grpc_address = "127.0.0.1:0";
    c.server.metrics_address = "127.0.0.1:0";
    c.server.drain_timeout = absl::Seconds(1);
    c.server.probe_interval = absl::Milliseconds(50);
    c.server.auth.token_file = token_file_;
    c.redis.host = "127.0.0.1";
    c.redis.port = redis_.port();
    c.redis.command_timeout = absl::Milliseconds(500);
    c.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    // Nothing listens there: evaluation is unreachable in this test.
    c.evaluation_target = absl::StrCat("127.0.0.1:", test::FreePort());
    c.evaluation_deadline = absl::Seconds(2);
    c.expire_interval = absl::Milliseconds(200);
    return c;
  }

  void StartFunds() {
    funds_ = std::make_unique<App>(FundsConfig());
    IPLUS_ASSERT_OK(funds_->Start());
    channel_ = Connect(funds_->grpc_port());
    stub_ = v1::FundsService::NewStub(channel_);
    audit_stub_ = av1::AuditService::NewStub(channel_);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (registry::e2e::CheckHealth(channel_.get(), "", absl::Seconds(1)) !=
           registry::e2e::HealthStatus::kServing) {
      ASSERT_LT(absl::Now(), deadline) << "funds never became SERVING";
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  void RegisterEnterprises() {
    rv1::BatchCreateEnterprisesRequest request;
    for (int n = 1; n <= 3; ++n) {
      rv1::Enterprise e;
      e.set_code(Enterprise(n));
      e.set_name(absl::StrCat("Guangzhou Precision Parts ", n));
      e.set_region("440103");
      e.set_industry("C34");
      e.set_ownership(cv1::OWNERSHIP_PRIVATE);
      e.set_size(cv1::ENTERPRISE_SIZE_MEDIUM);
      e.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
      *request.add_requests()->mutable_enterprise() = e;
    }
    rv1::BatchCreateEnterprisesResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ASSERT_TRUE(registry_stub_->BatchCreateEnterprises(&context, request, &response).ok());
    for (const auto& r : response.results()) ASSERT_EQ(r.status().code(), 0);
    rv1::ArchiveEnterpriseRequest archive;
    archive.set_code(Enterprise(3));
    archive.set_reason("merged");
    rv1::ArchiveEnterpriseResponse archived;
    grpc::ClientContext c2;
    c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ASSERT_TRUE(registry_stub_->ArchiveEnterprise(&c2, archive, &archived).ok());
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response, const std::string& token = kAdmin) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return (stub_.get()->*method)(&context, request, response);
  }
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, const std::string& token = kAdmin) {
    Resp response;
    return Call(method, request, &response, token);
  }

  // --- builders and shortcuts -------------------------------------------------------------

  static v1::Fund Fund(const std::string& id) {
    v1::Fund f;
    f.set_id(id);
    f.set_name("Guangdong special fund for platforms");
    f.mutable_sponsor()->set_region_code("440000");
    f.add_focus_areas(v1::FOCUS_AREA_PLATFORMS);
    f.set_currency("CNY");
    return f;
  }

  // Budget 10000 fen; m1 3000, m2 4000 unconditional; m3 2000 conditioned.
  static v1::Project Project(const std::string& id, const std::string& fund = "gd-fund",
                             int beneficiary = 1) {
    v1::Project p;
    p.set_id(id);
    p.set_fund_id(fund);
    p.set_beneficiary_code(Enterprise(beneficiary));
    p.set_kind(v1::PROJECT_KIND_PILOT_PROJECT);
    p.set_title("Networked collaboration pilot");
    *p.mutable_budget() = Yuan(10000);
    const int64_t amounts[] = {3000, 4000, 2000};
    for (int i = 0; i < 3; ++i) {
      auto* m = p.add_milestones();
      m->set_id(absl::StrCat("m", i + 1));
      m->set_title(absl::StrCat("Stage ", i + 1));
      *m->mutable_amount() = Yuan(amounts[i]);
    }
    auto* c = p.mutable_milestones(2)->mutable_condition();
    c->set_indicator("product_dev_cycle_days");
    c->set_baseline_period("2015");
    c->set_current_period("2017");
    c->mutable_rule()->mutable_relative_change()->set_change(-0.1);
    return p;
  }

  grpc::Status CreateFund(const v1::Fund& f, v1::CreateFundResponse* out = nullptr,
                          const std::string& token = kAdmin, const std::string& rid = "") {
    v1::CreateFundRequest r;
    *r.mutable_fund() = f;
    r.set_request_id(rid);
    v1::CreateFundResponse resp;
    grpc::Status s = Call(&Stub::CreateFund, r, &resp, token);
    if (out) *out = resp;
    return s;
  }
  grpc::Status CreateProject(const v1::Project& p, v1::CreateProjectResponse* out = nullptr,
                             const std::string& token = kAdmin) {
    v1::CreateProjectRequest r;
    *r.mutable_project() = p;
    v1::CreateProjectResponse resp;
    grpc::Status s = Call(&Stub::CreateProject, r, &resp, token);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Capitalise(const std::string& fund, int64_t fen, const std::string& rid,
                          v1::CapitaliseFundResponse* out = nullptr,
                          const std::string& token = kAdmin) {
    v1::CapitaliseFundRequest r;
    r.set_fund_id(fund);
    *r.mutable_amount() = Yuan(fen);
    r.set_memo("first tranche");
    r.set_request_id(rid);
    v1::CapitaliseFundResponse resp;
    grpc::Status s = Call(&Stub::CapitaliseFund, r, &resp, token);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Commit(const std::string& project, int64_t fen, const std::string& rid,
                      v1::CommitToProjectResponse* out = nullptr, const std::string& token = kAdmin,
                      int timeout_s = 0) {
    v1::CommitToProjectRequest r;
    r.set_project_id(project);
    *r.mutable_amount() = Yuan(fen);
    if (timeout_s > 0) r.mutable_timeout()->set_seconds(timeout_s);
    r.set_request_id(rid);
    v1::CommitToProjectResponse resp;
    grpc::Status s = Call(&Stub::CommitToProject, r, &resp, token);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Post(const std::string& project, const std::string& pending, int64_t fen,
                    const std::string& rid, v1::PostCommitmentResponse* out = nullptr) {
    v1::PostCommitmentRequest r;
    r.set_project_id(project);
    r.set_pending_transfer_id(pending);
    if (fen > 0) *r.mutable_amount() = Yuan(fen);
    r.set_request_id(rid);
    v1::PostCommitmentResponse resp;
    grpc::Status s = Call(&Stub::PostCommitment, r, &resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Void(const std::string& project, const std::string& pending, const std::string& rid,
                    v1::VoidCommitmentResponse* out = nullptr) {
    v1::VoidCommitmentRequest r;
    r.set_project_id(project);
    r.set_pending_transfer_id(pending);
    r.set_reason("plan changed");
    r.set_request_id(rid);
    v1::VoidCommitmentResponse resp;
    grpc::Status s = Call(&Stub::VoidCommitment, r, &resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Disburse(const std::string& project, const std::string& milestone,
                        const std::string& rid, v1::DisburseMilestoneResponse* out = nullptr,
                        const std::string& token = kAdmin) {
    v1::DisburseMilestoneRequest r;
    r.set_project_id(project);
    r.set_milestone_id(milestone);
    r.set_request_id(rid);
    v1::DisburseMilestoneResponse resp;
    grpc::Status s = Call(&Stub::DisburseMilestone, r, &resp, token);
    if (out) *out = resp;
    return s;
  }
  grpc::Status Release(const std::string& project, int64_t fen, bool close, const std::string& rid,
                       v1::ReleaseCommitmentResponse* out = nullptr) {
    v1::ReleaseCommitmentRequest r;
    r.set_project_id(project);
    if (fen > 0) *r.mutable_amount() = Yuan(fen);
    r.set_close(close);
    r.set_reason("unused");
    r.set_request_id(rid);
    v1::ReleaseCommitmentResponse resp;
    grpc::Status s = Call(&Stub::ReleaseCommitment, r, &resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status ClawBack(const std::string& project, int64_t fen, const std::string& rid,
                        v1::ClawBackResponse* out = nullptr, const std::string& milestone = "") {
    v1::ClawBackRequest r;
    r.set_project_id(project);
    *r.mutable_amount() = Yuan(fen);
    r.set_milestone_id(milestone);
    r.set_reason("audit finding");
    r.set_request_id(rid);
    v1::ClawBackResponse resp;
    grpc::Status s = Call(&Stub::ClawBack, r, &resp);
    if (out) *out = resp;
    return s;
  }
  v1::ProjectStatement ProjectStatement(const std::string& project) {
    v1::GetProjectStatementRequest r;
    r.set_project_id(project);
    v1::GetProjectStatementResponse resp;
    EXPECT_THAT(Call(&Stub::GetProjectStatement, r, &resp), GrpcIs(Code::OK));
    return resp.statement();
  }
  v1::FundStatement FundStatement(const std::string& fund) {
    v1::GetFundStatementRequest r;
    r.set_fund_id(fund);
    v1::GetFundStatementResponse resp;
    EXPECT_THAT(Call(&Stub::GetFundStatement, r, &resp), GrpcIs(Code::OK));
    return resp.statement();
  }
  v1::Project GetProject(const std::string& id) {
    v1::GetProjectRequest r;
    r.set_id(id);
    v1::GetProjectResponse resp;
    EXPECT_THAT(Call(&Stub::GetProject, r, &resp), GrpcIs(Code::OK));
    return resp.project();
  }
  int64_t HeadSequence() {
    auto head = funds_->ledger().Head();
    EXPECT_THAT(head, test::IsOk());
    return head.ok() ? head->sequence : -1;
  }
  // Forgets every stored request id: what a retry after the replay window sees.
  void ForgetRequestIds() {
    redis::Options o;
    o.host = "127.0.0.1";
    o.port = redis_.port();
    redis::Client client(o);
    auto keys = client.Command({"KEYS", absl::StrCat(funds_->key_prefix(), "rid:*")});
    ASSERT_THAT(keys, test::IsOk());
    for (const auto& k : keys->elements()) {
      ASSERT_THAT(client.Command({"DEL", k.str()}), test::IsOk());
    }
  }
  // A fund with 100000 fen and project pilot-1 (budget 10000).
  void Seed() {
    ASSERT_THAT(CreateFund(Fund("gd-fund")), GrpcIs(Code::OK));
    ASSERT_THAT(CreateProject(Project("pilot-1")), GrpcIs(Code::OK));
    ASSERT_THAT(Capitalise("gd-fund", 100000, "cap-1"), GrpcIs(Code::OK));
  }

  test::RedisServer redis_;
  std::unique_ptr<registry::App> registry_;
  std::unique_ptr<rv1::RegistryService::Stub> registry_stub_;
  std::string token_file_;
  std::unique_ptr<App> funds_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<av1::AuditService::Stub> audit_stub_;
};

// --- funds and projects -------------------------------------------------------------------

TEST_F(FundsServiceTest, CreateFundIsIdempotentAndNamesBadFields) {
  v1::CreateFundResponse r;
  ASSERT_THAT(CreateFund(Fund("gd-fund"), &r), GrpcIs(Code::OK));
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.fund().source_account_id(), "fund:gd-fund:source");
  EXPECT_EQ(r.fund().fund_account_id(), "fund:gd-fund");
  EXPECT_TRUE(r.fund().has_create_time());
  // The same content: created=false, the stored fund.
  v1::CreateFundResponse again;
  ASSERT_THAT(CreateFund(Fund("gd-fund"), &again), GrpcIs(Code::OK));
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.fund().create_time().seconds(), r.fund().create_time().seconds());
  // Different content: ALREADY_EXISTS naming the field.
  v1::Fund other = Fund("gd-fund");
  other.set_description("something else");
  grpc::Status s = CreateFund(other);
  EXPECT_THAT(s, GrpcIs(Code::ALREADY_EXISTS));
  EXPECT_THAT(s.error_message(), HasSubstr("fund.description"));
  // Malformed fields.
  v1::Fund bad = Fund("GD Fund");
  EXPECT_THAT(CreateFund(bad), GrpcInvalidField(Code::INVALID_ARGUMENT, "fund.id"));
  bad = Fund("x-fund");
  bad.mutable_sponsor()->set_region_code("123");
  EXPECT_THAT(CreateFund(bad),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "fund.sponsor.region_code"));
  bad = Fund("x-fund");
  bad.clear_sponsor();
  EXPECT_THAT(CreateFund(bad), GrpcInvalidField(Code::INVALID_ARGUMENT, "fund.sponsor"));
  bad = Fund("x-fund");
  bad.set_currency("USD");
  EXPECT_THAT(CreateFund(bad), GrpcInvalidField(Code::INVALID_ARGUMENT, "fund.currency"));
  bad = Fund("x-fund");
  bad.set_name(std::string(201, 'n'));
  EXPECT_THAT(CreateFund(bad), GrpcInvalidField(Code::INVALID_ARGUMENT, "fund.name"));
  // Nothing was stored for the bad requests.
  v1::GetFundRequest get;
  get.set_id("x-fund");
  EXPECT_THAT(Call(&Stub::GetFund, get), GrpcIs(Code::NOT_FOUND));
  // Request-id replay: the same id with another request is INVALID_ARGUMENT.
  ASSERT_THAT(CreateFund(Fund("sz-fund"), nullptr, kAdmin, "rid-1"), GrpcIs(Code::OK));
  EXPECT_THAT(CreateFund(Fund("sz-fund"), nullptr, kAdmin, "rid-1"), GrpcIs(Code::OK));
  EXPECT_THAT(CreateFund(Fund("zh-fund"), nullptr, kAdmin, "rid-1"),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
}

TEST_F(FundsServiceTest, CreateProjectChecksFundBeneficiaryAndContent) {
  ASSERT_THAT(CreateFund(Fund("gd-fund")), GrpcIs(Code::OK));
  v1::CreateProjectResponse r;
  ASSERT_THAT(CreateProject(Project("pilot-1"), &r), GrpcIs(Code::OK));
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.project().status(), v1::PROJECT_STATUS_ACTIVE);
  EXPECT_EQ(r.project().commitment_account_id(), "project:pilot-1:commitment");
  EXPECT_EQ(r.project().disbursed_account_id(), "project:pilot-1:disbursed");
  ASSERT_EQ(r.project().milestones_size(), 3);
  EXPECT_EQ(r.project().milestones(0).status(), v1::MILESTONE_STATUS_PENDING);
  v1::CreateProjectResponse again;
  ASSERT_THAT(CreateProject(Project("pilot-1"), &again), GrpcIs(Code::OK));
  EXPECT_FALSE(again.created());
  // Different content names the first differing field.
  v1::Project other = Project("pilot-1");
  *other.mutable_milestones(1)->mutable_amount() = Yuan(3999);
  grpc::Status s = CreateProject(other);
  EXPECT_THAT(s, GrpcIs(Code::ALREADY_EXISTS));
  EXPECT_THAT(s.error_message(), HasSubstr("project.milestones[1].amount"));
  // Validation.
  v1::Project bad = Project("pilot-2");
  *bad.mutable_milestones(2)->mutable_amount() = Yuan(-1);
  EXPECT_THAT(CreateProject(bad),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "project.milestones[2].amount.fen"));
  bad = Project("pilot-2");
  bad.mutable_milestones(2)->mutable_condition()->clear_rule();
  EXPECT_THAT(CreateProject(bad),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "project.milestones[2].condition.rule"));
  bad = Project("pilot-2");
  bad.mutable_milestones(1)->set_id("m1");
  EXPECT_THAT(CreateProject(bad),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "project.milestones[1].id"));
  bad = Project("pilot-2");
  *bad.mutable_budget() = Yuan(8999);  // milestones add up to 9000
  EXPECT_THAT(CreateProject(bad), GrpcInvalidField(Code::INVALID_ARGUMENT, "project.milestones"));
  bad = Project("pilot-2");
  bad.mutable_budget()->set_currency("HKD");
  EXPECT_THAT(CreateProject(bad),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "project.budget.currency"));
  // NOT_FOUND: the fund; the beneficiary in the registry. FAILED_PRECONDITION: archived.
  EXPECT_THAT(CreateProject(Project("pilot-2", "no-fund")), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(CreateProject(Project("pilot-2", "gd-fund", 99)), GrpcIs(Code::NOT_FOUND));
  s = CreateProject(Project("pilot-2", "gd-fund", 3));
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("archived"));
  // None of the refused projects exists, nor its accounts.
  v1::GetProjectRequest get;
  get.set_id("pilot-2");
  EXPECT_THAT(Call(&Stub::GetProject, get), GrpcIs(Code::NOT_FOUND));
  v1::LookupAccountsRequest la;
  la.add_ids("project:pilot-2:commitment");
  v1::LookupAccountsResponse accounts;
  ASSERT_THAT(Call(&Stub::LookupAccounts, la, &accounts), GrpcIs(Code::OK));
  EXPECT_THAT(accounts.missing_ids(), ElementsAre("project:pilot-2:commitment"));
  // UNAVAILABLE: the registry is down.
  registry_->Shutdown();
  EXPECT_THAT(CreateProject(Project("pilot-4", "gd-fund", 2)), GrpcIs(Code::UNAVAILABLE));
  // An existing identical project needs no registry.
  EXPECT_THAT(CreateProject(Project("pilot-1")), GrpcIs(Code::OK));
}

TEST_F(FundsServiceTest, GetAndListWithPaging) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(CreateFund(Fund(absl::StrCat("fund-", i))), GrpcIs(Code::OK));
  }
  for (int i = 0; i < 7; ++i) {
    ASSERT_THAT(CreateProject(Project(absl::StrCat("p-", i), i < 4 ? "fund-1" : "fund-2",
                                      i % 2 == 0 ? 1 : 2)),
                GrpcIs(Code::OK));
  }
  v1::GetFundRequest gf;
  gf.set_id("fund-3");
  v1::GetFundResponse fund;
  ASSERT_THAT(Call(&Stub::GetFund, gf, &fund), GrpcIs(Code::OK));
  EXPECT_EQ(fund.fund().id(), "fund-3");
  gf.set_id("");
  EXPECT_THAT(Call(&Stub::GetFund, gf), GrpcInvalidField(Code::INVALID_ARGUMENT, "id"));
  v1::GetProjectRequest gp;
  gp.set_id("p-9");
  EXPECT_THAT(Call(&Stub::GetProject, gp), GrpcIs(Code::NOT_FOUND));

  std::vector<std::string> ids;
  v1::ListFundsRequest lf;
  lf.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    v1::ListFundsResponse resp;
    ASSERT_THAT(Call(&Stub::ListFunds, lf, &resp), GrpcIs(Code::OK));
    for (const auto& f : resp.funds()) ids.push_back(f.id());
    if (resp.next_page_token().empty()) break;
    lf.set_page_token(resp.next_page_token());
  }
  EXPECT_THAT(ids, ElementsAre("fund-0", "fund-1", "fund-2", "fund-3", "fund-4"));
  lf.set_page_size(1001);
  EXPECT_THAT(Call(&Stub::ListFunds, lf), GrpcInvalidField(Code::INVALID_ARGUMENT, "page_size"));
  lf.set_page_size(0);
  lf.set_page_token("garbage!");
  EXPECT_THAT(Call(&Stub::ListFunds, lf), GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));

  // Projects by fund, by beneficiary, both.
  auto list = [&](const std::string& fund, const std::string& ben, int size) {
    std::vector<std::string> out;
    v1::ListProjectsRequest lp;
    lp.set_fund_id(fund);
    lp.set_beneficiary_code(ben);
    lp.set_page_size(size);
    for (int page = 0; page < 20; ++page) {
      v1::ListProjectsResponse resp;
      EXPECT_THAT(Call(&Stub::ListProjects, lp, &resp), GrpcIs(Code::OK));
      for (const auto& p : resp.projects()) out.push_back(p.id());
      if (resp.next_page_token().empty()) break;
      lp.set_page_token(resp.next_page_token());
    }
    return out;
  };
  EXPECT_THAT(list("fund-1", "", 3), ElementsAre("p-0", "p-1", "p-2", "p-3"));
  EXPECT_THAT(list("", Enterprise(1), 2), ElementsAre("p-0", "p-2", "p-4", "p-6"));
  EXPECT_THAT(list("fund-2", Enterprise(2), 1), ElementsAre("p-5"));
  EXPECT_EQ(list("", "", 0).size(), 7u);
  // A token from another query, a malformed beneficiary.
  v1::ListProjectsRequest lp;
  lp.set_fund_id("fund-1");
  lp.set_page_size(1);
  v1::ListProjectsResponse first;
  ASSERT_THAT(Call(&Stub::ListProjects, lp, &first), GrpcIs(Code::OK));
  lp.set_fund_id("fund-2");
  lp.set_page_token(first.next_page_token());
  EXPECT_THAT(Call(&Stub::ListProjects, lp),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));
  lp.Clear();
  lp.set_beneficiary_code("123");
  EXPECT_THAT(Call(&Stub::ListProjects, lp),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "beneficiary_code"));
}

// --- fund operations -----------------------------------------------------------------------

TEST_F(FundsServiceTest, TheLifeOfAProjectAddsUp) {
  Seed();
  v1::CapitaliseFundResponse cap;
  ASSERT_THAT(Capitalise("gd-fund", 100000, "cap-1", &cap), GrpcIs(Code::OK));  // a retry
  ASSERT_EQ(cap.transfers_size(), 1);
  EXPECT_EQ(cap.transfers(0).id(), "capitalise:cap-1");
  EXPECT_EQ(cap.transfers(0).type(), v1::IATI_TRANSACTION_TYPE_INCOMING_FUNDS);

  v1::CommitToProjectResponse c1;
  ASSERT_THAT(Commit("pilot-1", 6000, "c-1", &c1), GrpcIs(Code::OK));
  ASSERT_EQ(c1.transfers_size(), 1);
  const std::string pending = c1.transfers(0).id();
  EXPECT_EQ(pending, "commit:c-1");
  EXPECT_TRUE(c1.transfers(0).flags().pending());
  v1::ProjectStatement st = ProjectStatement("pilot-1");
  EXPECT_EQ(st.committed().fen(), 6000);
  EXPECT_EQ(st.posted().fen(), 0);
  EXPECT_EQ(st.uncommitted_budget().fen(), 4000);

  v1::PostCommitmentResponse post;
  ASSERT_THAT(Post("pilot-1", pending, 5000, "p-1", &post), GrpcIs(Code::OK));
  EXPECT_TRUE(post.transfers(0).flags().post_pending_transfer());
  EXPECT_EQ(post.transfers(0).amount(), 5000);
  st = ProjectStatement("pilot-1");
  EXPECT_EQ(st.committed().fen(), 0);  // the rest (1000) went back to the fund
  EXPECT_EQ(st.posted().fen(), 5000);
  EXPECT_EQ(st.undisbursed().fen(), 5000);
  EXPECT_EQ(st.uncommitted_budget().fen(), 5000);

  v1::DisburseMilestoneResponse d1;
  ASSERT_THAT(Disburse("pilot-1", "m1", "d-1", &d1), GrpcIs(Code::OK));
  EXPECT_EQ(d1.transfers(0).id(), "disburse:pilot-1:m1");
  EXPECT_EQ(d1.transfers(0).memo(), "d-1");
  EXPECT_EQ(d1.transfers(0).amount(), 3000);
  EXPECT_EQ(d1.milestone().status(), v1::MILESTONE_STATUS_DISBURSED);
  EXPECT_EQ(d1.milestone().disbursement_transfer_id(), "disburse:pilot-1:m1");
  EXPECT_FALSE(d1.has_check());
  // m2 (4000) is more than what is posted and undisbursed (2000).
  grpc::Status s = Disburse("pilot-1", "m2", "d-2");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("2000 fen"));

  v1::ReleaseCommitmentResponse rel;
  ASSERT_THAT(Release("pilot-1", 500, false, "r-1", &rel), GrpcIs(Code::OK));
  EXPECT_EQ(rel.transfers(0).amount(), 500);
  EXPECT_EQ(rel.project().status(), v1::PROJECT_STATUS_ACTIVE);
  v1::ClawBackResponse cb;
  ASSERT_THAT(ClawBack("pilot-1", 1000, "cb-1", &cb, "m1"), GrpcIs(Code::OK));
  EXPECT_EQ(cb.transfers(0).milestone_id(), "m1");

  st = ProjectStatement("pilot-1");
  EXPECT_EQ(st.budget().fen(), 10000);
  EXPECT_EQ(st.committed().fen(), 0);
  EXPECT_EQ(st.posted().fen(), 5000);
  EXPECT_EQ(st.released().fen(), 500);
  EXPECT_EQ(st.disbursed().fen(), 3000);
  EXPECT_EQ(st.clawed_back().fen(), 1000);
  EXPECT_EQ(st.undisbursed().fen(), 1500);         // 5000 - 500 - 3000
  EXPECT_EQ(st.uncommitted_budget().fen(), 5500);  // 10000 - 0 - 5000 + 500
  EXPECT_EQ(st.journal_sequence(), HeadSequence());
  ASSERT_EQ(st.milestones_size(), 3);
  EXPECT_EQ(st.milestones(0).status(), v1::MILESTONE_STATUS_DISBURSED);

  v1::FundStatement fs = FundStatement("gd-fund");
  EXPECT_EQ(fs.capital().fen(), 100000);
  EXPECT_EQ(fs.committed().fen(), 0);
  EXPECT_EQ(fs.posted().fen(), 5000);
  EXPECT_EQ(fs.released().fen(), 500);
  EXPECT_EQ(fs.disbursed().fen(), 3000);
  EXPECT_EQ(fs.clawed_back().fen(), 1000);
  EXPECT_EQ(fs.available().fen(), 100000 + 500 + 1000 - 5000);
  // The fund account agrees with the statement.
  v1::LookupAccountsRequest la;
  la.add_ids("fund:gd-fund");
  v1::LookupAccountsResponse acc;
  ASSERT_THAT(Call(&Stub::LookupAccounts, la, &acc), GrpcIs(Code::OK));
  ASSERT_EQ(acc.accounts_size(), 1);
  const auto& a = acc.accounts(0);
  EXPECT_EQ(a.credits_posted() - a.debits_posted() - a.debits_pending(), fs.available().fen());

  // Release everything left and close; then nothing more can be committed or paid.
  v1::ReleaseCommitmentResponse closed;
  ASSERT_THAT(Release("pilot-1", 0, true, "r-2", &closed), GrpcIs(Code::OK));
  ASSERT_EQ(closed.transfers_size(), 1);
  EXPECT_EQ(closed.transfers(0).amount(), 1500);
  EXPECT_EQ(closed.project().status(), v1::PROJECT_STATUS_CLOSED);
  s = Commit("pilot-1", 100, "c-after-close");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("closed"));
  EXPECT_THAT(Disburse("pilot-1", "m2", "d-after-close"), GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_EQ(ProjectStatement("pilot-1").undisbursed().fen(), 0);
  v1::VerifyJournalResponse verify;
  ASSERT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), &verify), GrpcIs(Code::OK));
  EXPECT_TRUE(verify.ok()) << verify.discrepancy();
  EXPECT_EQ(verify.head_sequence(), HeadSequence());
}

TEST_F(FundsServiceTest, EveryOperationReplaysWithTheSameRequestId) {
  Seed();
  v1::CommitToProjectResponse c1, c1b;
  ASSERT_THAT(Commit("pilot-1", 9000, "c-1", &c1), GrpcIs(Code::OK));
  v1::PostCommitmentResponse p1, p1b;
  ASSERT_THAT(Post("pilot-1", "commit:c-1", 0, "p-1", &p1), GrpcIs(Code::OK));
  v1::CommitToProjectResponse c2, c2b;
  ASSERT_THAT(Commit("pilot-1", 1000, "c-2", &c2), GrpcIs(Code::OK));
  v1::VoidCommitmentResponse v1r, v1rb;
  ASSERT_THAT(Void("pilot-1", "commit:c-2", "v-1", &v1r), GrpcIs(Code::OK));
  v1::DisburseMilestoneResponse d1, d1b;
  ASSERT_THAT(Disburse("pilot-1", "m1", "d-1", &d1), GrpcIs(Code::OK));
  v1::ReleaseCommitmentResponse r1, r1b;
  ASSERT_THAT(Release("pilot-1", 0, false, "r-1", &r1), GrpcIs(Code::OK));
  ASSERT_EQ(r1.transfers_size(), 1);
  EXPECT_EQ(r1.transfers(0).amount(), 6000);
  v1::ClawBackResponse k1, k1b;
  ASSERT_THAT(ClawBack("pilot-1", 500, "k-1", &k1), GrpcIs(Code::OK));
  v1::CapitaliseFundResponse a1, a1b;
  ASSERT_THAT(Capitalise("gd-fund", 7, "cap-2", &a1), GrpcIs(Code::OK));
  const int64_t head = HeadSequence();
  const v1::ProjectStatement before = ProjectStatement("pilot-1");

  // Twice: through the request-id cache, then with the cache gone (the ledger's ids).
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "request-id cache" : "transfer ids");
    if (round == 1) ForgetRequestIds();
    ASSERT_THAT(Capitalise("gd-fund", 7, "cap-2", &a1b), GrpcIs(Code::OK));
    EXPECT_EQ(a1b.transfers(0).journal_sequence(), a1.transfers(0).journal_sequence());
    // The budget is fully committed now (9000 posted + 0), yet the retry is OK.
    ASSERT_THAT(Commit("pilot-1", 9000, "c-1", &c1b), GrpcIs(Code::OK));
    EXPECT_EQ(c1b.transfers(0).journal_sequence(), c1.transfers(0).journal_sequence());
    ASSERT_THAT(Post("pilot-1", "commit:c-1", 0, "p-1", &p1b), GrpcIs(Code::OK));
    EXPECT_EQ(p1b.transfers(0).journal_sequence(), p1.transfers(0).journal_sequence());
    ASSERT_THAT(Commit("pilot-1", 1000, "c-2", &c2b), GrpcIs(Code::OK));
    ASSERT_THAT(Void("pilot-1", "commit:c-2", "v-1", &v1rb), GrpcIs(Code::OK));
    EXPECT_EQ(v1rb.transfers(0).journal_sequence(), v1r.transfers(0).journal_sequence());
    ASSERT_THAT(Disburse("pilot-1", "m1", "d-1", &d1b), GrpcIs(Code::OK));
    EXPECT_EQ(d1b.transfers(0).journal_sequence(), d1.transfers(0).journal_sequence());
    EXPECT_EQ(d1b.milestone().status(), v1::MILESTONE_STATUS_DISBURSED);
    ASSERT_THAT(Release("pilot-1", 0, false, "r-1", &r1b), GrpcIs(Code::OK));
    ASSERT_EQ(r1b.transfers_size(), 1);
    EXPECT_EQ(r1b.transfers(0).journal_sequence(), r1.transfers(0).journal_sequence());
    ASSERT_THAT(ClawBack("pilot-1", 500, "k-1", &k1b), GrpcIs(Code::OK));
    EXPECT_EQ(k1b.transfers(0).journal_sequence(), k1.transfers(0).journal_sequence());
    EXPECT_EQ(HeadSequence(), head);
  }
  const v1::ProjectStatement after = ProjectStatement("pilot-1");
  EXPECT_EQ(after.disbursed().fen(), before.disbursed().fen());
  EXPECT_EQ(after.released().fen(), before.released().fen());
  // Once the cache is gone, the same request id with another body is still refused.
  ForgetRequestIds();
  EXPECT_THAT(Capitalise("gd-fund", 8, "cap-2"),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
  EXPECT_THAT(ClawBack("pilot-1", 501, "k-1"),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
  EXPECT_EQ(HeadSequence(), head);
}

TEST_F(FundsServiceTest, OperationErrorsFollowTheApiTable) {
  Seed();
  // INVALID_ARGUMENT: request id missing, amount not positive or not CNY.
  EXPECT_THAT(Capitalise("gd-fund", 100, ""),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
  EXPECT_THAT(Capitalise("gd-fund", -5, "x-1"),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "amount.fen"));
  {
    v1::CommitToProjectRequest r;
    r.set_project_id("pilot-1");
    r.mutable_amount()->set_fen(100);
    r.mutable_amount()->set_currency("USD");
    r.set_request_id("x-2");
    EXPECT_THAT(Call(&Stub::CommitToProject, r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, "amount.currency"));
    r.mutable_amount()->set_currency("CNY");
    r.mutable_timeout()->set_seconds(-1);
    EXPECT_THAT(Call(&Stub::CommitToProject, r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, "timeout"));
    r.clear_amount();
    r.clear_timeout();
    EXPECT_THAT(Call(&Stub::CommitToProject, r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, "amount"));
  }
  {
    v1::VoidCommitmentRequest r;
    r.set_project_id("pilot-1");
    r.set_request_id("x-3");
    EXPECT_THAT(Call(&Stub::VoidCommitment, r),
                GrpcInvalidField(Code::INVALID_ARGUMENT, "pending_transfer_id"));
    r.set_pending_transfer_id("commit:x");
    r.set_reason(std::string(501, 'r'));
    EXPECT_THAT(Call(&Stub::VoidCommitment, r), GrpcInvalidField(Code::INVALID_ARGUMENT, "reason"));
  }
  // NOT_FOUND: the fund, the project, the pending transfer.
  EXPECT_THAT(Capitalise("no-fund", 100, "x-4"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Commit("no-project", 100, "x-5"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Post("pilot-1", "commit:never", 0, "x-6"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Void("pilot-1", "commit:never", "x-7"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(ClawBack("pilot-1", 1, "x-8", nullptr, "m9"), GrpcIs(Code::NOT_FOUND));
  // A commitment of another project is not found in this one.
  ASSERT_THAT(CreateProject(Project("pilot-2")), GrpcIs(Code::OK));
  ASSERT_THAT(Commit("pilot-2", 100, "other-1"), GrpcIs(Code::OK));
  EXPECT_THAT(Post("pilot-1", "commit:other-1", 0, "x-9"), GrpcIs(Code::NOT_FOUND));

  // FAILED_PRECONDITION: the fund holds less than the commitment.
  ASSERT_THAT(CreateFund(Fund("small-fund")), GrpcIs(Code::OK));
  ASSERT_THAT(CreateProject(Project("small-1", "small-fund")), GrpcIs(Code::OK));
  ASSERT_THAT(Capitalise("small-fund", 500, "small-cap"), GrpcIs(Code::OK));
  grpc::Status s = Commit("small-1", 501, "small-c1");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("500 fen available"));
  // Commitments would exceed the budget (10000).
  ASSERT_THAT(Commit("pilot-1", 7000, "c-1"), GrpcIs(Code::OK));
  s = Commit("pilot-1", 3001, "c-2");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("budget"));
  EXPECT_THAT(Commit("pilot-1", 3000, "c-3"), GrpcIs(Code::OK));
  // Post above the pending amount; posted, then posted or voided again.
  s = Post("pilot-1", "commit:c-1", 7001, "p-1");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  ASSERT_THAT(Post("pilot-1", "commit:c-1", 0, "p-2"), GrpcIs(Code::OK));
  EXPECT_THAT(Post("pilot-1", "commit:c-1", 0, "p-3"), GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(Void("pilot-1", "commit:c-1", "v-1"), GrpcIs(Code::FAILED_PRECONDITION));
  ASSERT_THAT(Void("pilot-1", "commit:c-3", "v-2"), GrpcIs(Code::OK));
  EXPECT_THAT(Post("pilot-1", "commit:c-3", 0, "p-4"), GrpcIs(Code::FAILED_PRECONDITION));
  // Release above what is undisbursed; claw back above what was disbursed.
  s = Release("pilot-1", 7001, false, "r-1");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("7000 fen"));
  ASSERT_THAT(Disburse("pilot-1", "m1", "d-1"), GrpcIs(Code::OK));
  s = ClawBack("pilot-1", 3001, "k-1");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("3000 fen"));
  // Closing with pending commitments is refused; with an amount short of everything too.
  ASSERT_THAT(Commit("pilot-1", 100, "c-4"), GrpcIs(Code::OK));
  EXPECT_THAT(Release("pilot-1", 0, true, "r-2"), GrpcIs(Code::FAILED_PRECONDITION));
  ASSERT_THAT(Void("pilot-1", "commit:c-4", "v-3"), GrpcIs(Code::OK));
  EXPECT_THAT(Release("pilot-1", 100, true, "r-3"), GrpcIs(Code::FAILED_PRECONDITION));
  // A closed project takes no commitment, post or disbursement; void and claw back work.
  ASSERT_THAT(Commit("pilot-1", 100, "c-5"), GrpcIs(Code::OK));
  ASSERT_THAT(Void("pilot-1", "commit:c-5", "v-4"), GrpcIs(Code::OK));
  v1::ReleaseCommitmentResponse closed;
  ASSERT_THAT(Release("pilot-1", 0, true, "r-4", &closed), GrpcIs(Code::OK));
  EXPECT_EQ(closed.project().status(), v1::PROJECT_STATUS_CLOSED);
  EXPECT_THAT(Commit("pilot-1", 1, "c-6"), GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(Disburse("pilot-1", "m2", "d-2"), GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(ClawBack("pilot-1", 1000, "k-2"), GrpcIs(Code::OK));
  // Nothing of the refused calls moved money: the journal verifies and adds up.
  const v1::ProjectStatement st = ProjectStatement("pilot-1");
  EXPECT_EQ(st.posted().fen(), 7000);
  EXPECT_EQ(st.disbursed().fen(), 3000);
  EXPECT_EQ(st.released().fen(), 4000);
  EXPECT_EQ(st.clawed_back().fen(), 1000);
  EXPECT_EQ(st.undisbursed().fen(), 0);
}

TEST_F(FundsServiceTest, AMilestoneIsPaidOnceAndConditionsNeedEvaluation) {
  Seed();
  ASSERT_THAT(Commit("pilot-1", 10000, "c-1"), GrpcIs(Code::OK));
  ASSERT_THAT(Post("pilot-1", "commit:c-1", 0, "p-1"), GrpcIs(Code::OK));
  // NOT_FOUND: project, milestone.
  EXPECT_THAT(Disburse("no-project", "m1", "d-0"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Disburse("pilot-1", "m9", "d-0"), GrpcIs(Code::NOT_FOUND));
  EXPECT_THAT(Disburse("pilot-1", "m1", ""),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "request_id"));
  ASSERT_THAT(Disburse("pilot-1", "m1", "d-1"), GrpcIs(Code::OK));
  const int64_t head = HeadSequence();
  // Another request id for the same milestone: refused, naming the transfer.
  grpc::Status s = Disburse("pilot-1", "m1", "d-2");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("already disbursed by transfer disburse:pilot-1:m1"));
  // Also when both race.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status r = Disburse("pilot-1", "m2", absl::StrCat("race-", i));
      if (r.ok()) ++ok;
      if (r.error_code() == Code::FAILED_PRECONDITION) ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(refused.load(), 5);
  EXPECT_EQ(HeadSequence(), head + 1);
  EXPECT_EQ(ProjectStatement("pilot-1").disbursed().fen(), 7000);
  // The conditioned milestone: evaluation is unreachable, so UNAVAILABLE and nothing moves.
  s = Disburse("pilot-1", "m3", "d-3");
  EXPECT_THAT(s, GrpcIs(Code::UNAVAILABLE));
  EXPECT_THAT(s.error_message(), HasSubstr("evaluation"));
  EXPECT_EQ(HeadSequence(), head + 1);
  EXPECT_EQ(GetProject("pilot-1").milestones(2).status(), v1::MILESTONE_STATUS_PENDING);
  EXPECT_EQ(GetProject("pilot-1").status(), v1::PROJECT_STATUS_ACTIVE);
}

TEST_F(FundsServiceTest, TheCatalogIsRepairedFromTheLedger) {
  Seed();
  ASSERT_THAT(Commit("pilot-1", 9000, "c-1"), GrpcIs(Code::OK));
  ASSERT_THAT(Post("pilot-1", "commit:c-1", 0, "p-1"), GrpcIs(Code::OK));
  // A disbursement the catalog did not record (as if the process died after the
  // transfer): made directly on the ledger with the operation's own transfer.
  FundOperationRequest op;
  op.operation = FundOperation::kDisburseMilestone;
  op.fund_id = "gd-fund";
  op.project_id = "pilot-1";
  op.milestone_id = "m1";
  op.amount = 3000;
  op.request_id = "lost-1";
  auto transfers = TransfersFor(op);
  ASSERT_THAT(transfers, test::IsOk());
  auto results = funds_->ledger().CreateTransfers(*transfers);
  ASSERT_THAT(results, test::IsOk());
  ASSERT_TRUE((*results)[0].succeeded());
  // GetProject shows it from the ledger ...
  v1::Project p = GetProject("pilot-1");
  EXPECT_EQ(p.milestones(0).status(), v1::MILESTONE_STATUS_DISBURSED);
  EXPECT_EQ(p.milestones(0).disbursement_transfer_id(), "disburse:pilot-1:m1");
  // ... and the retry with the same request id answers as the first call would have.
  v1::DisburseMilestoneResponse d;
  ASSERT_THAT(Disburse("pilot-1", "m1", "lost-1", &d), GrpcIs(Code::OK));
  EXPECT_EQ(d.transfers(0).id(), "disburse:pilot-1:m1");
  EXPECT_EQ(d.milestone().status(), v1::MILESTONE_STATUS_DISBURSED);
  // Paying m2 too completes... not yet: m3 is left. Pay it through the ledger as well and
  // the project reads COMPLETED.
  ASSERT_THAT(Disburse("pilot-1", "m2", "d-2"), GrpcIs(Code::OK));
  op.milestone_id = "m3";
  op.amount = 2000;
  op.request_id = "lost-3";
  transfers = TransfersFor(op);
  ASSERT_THAT(transfers, test::IsOk());
  ASSERT_THAT(funds_->ledger().CreateTransfers(*transfers), test::IsOk());
  v1::ListProjectsRequest lp;
  lp.set_fund_id("gd-fund");
  v1::ListProjectsResponse listed;
  ASSERT_THAT(Call(&Stub::ListProjects, lp, &listed), GrpcIs(Code::OK));
  ASSERT_EQ(listed.projects_size(), 1);
  EXPECT_EQ(listed.projects(0).status(), v1::PROJECT_STATUS_COMPLETED);
  EXPECT_EQ(GetProject("pilot-1").status(), v1::PROJECT_STATUS_COMPLETED);
}

TEST_F(FundsServiceTest, ConcurrentCommitmentsNeverExceedTheBudget) {
  Seed();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, over{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status s = Commit("pilot-1", 1500, absl::StrCat("race-", i));
      if (s.ok()) ++ok;
      if (s.error_code() == Code::FAILED_PRECONDITION) ++over;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);  // 6 x 1500 = 9000 <= 10000 < 7 x 1500
  EXPECT_EQ(over.load(), 6);
  EXPECT_EQ(ProjectStatement("pilot-1").committed().fen(), 9000);
}

TEST_F(FundsServiceTest, PendingCommitmentsExpire) {
  Seed();
  v1::CommitToProjectResponse c;
  ASSERT_THAT(Commit("pilot-1", 2500, "c-1", &c, kAdmin, /*timeout_s=*/1), GrpcIs(Code::OK));
  EXPECT_EQ(c.transfers(0).timeout().seconds(), 1);
  EXPECT_EQ(ProjectStatement("pilot-1").committed().fen(), 2500);
  // The background thread voids it after its timeout, without any other traffic.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ProjectStatement("pilot-1").committed().fen() != 0) {
    ASSERT_LT(absl::Now(), deadline) << "the commitment never expired";
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(FundStatement("gd-fund").available().fen(), 100000);
  grpc::Status s = Post("pilot-1", "commit:c-1", 0, "p-1");
  EXPECT_THAT(s, GrpcIs(Code::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("expired"));
  v1::LookupTransfersRequest lt;
  lt.add_ids("~expire:commit:c-1");
  v1::LookupTransfersResponse found;
  ASSERT_THAT(Call(&Stub::LookupTransfers, lt, &found), GrpcIs(Code::OK));
  ASSERT_EQ(found.transfers_size(), 1);
  EXPECT_EQ(found.transfers(0).memo(), "expired");
  // The background thread saw the expiry in the journal too.
  while (funds_->maintenance().pending() != 0) {
    ASSERT_LT(absl::Now(), deadline) << "the pending count never went back to 0";
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// --- the ledger RPCs ----------------------------------------------------------------------

TEST_F(FundsServiceTest, CreateTransfersReportsEachResult) {
  Seed();
  v1::CreateTransfersRequest empty;
  EXPECT_THAT(Call(&Stub::CreateTransfers, empty),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "transfers"));
  v1::CreateTransfersRequest big;
  for (int i = 0; i < 1001; ++i) big.add_transfers()->set_id(absl::StrCat("t", i));
  EXPECT_THAT(Call(&Stub::CreateTransfers, big),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "transfers"));

  auto t = [](const std::string& id, const std::string& dr, const std::string& cr, int64_t a) {
    v1::Transfer x;
    x.set_id(id);
    x.set_debit_account_id(dr);
    x.set_credit_account_id(cr);
    x.set_amount(a);
    x.set_ledger(1);
    x.set_type(v1::IATI_TRANSACTION_TYPE_INCOMING_FUNDS);
    return x;
  };
  v1::CreateTransfersRequest r;
  *r.add_transfers() = t("a-ok", "fund:gd-fund:source", "fund:gd-fund", 10);         // 0 OK
  *r.add_transfers() = t("a-ok", "fund:gd-fund:source", "fund:gd-fund", 10);         // 1 EXISTS
  *r.add_transfers() = t("a-ok", "fund:gd-fund:source", "fund:gd-fund", 11);         // 2 different
  *r.add_transfers() = t("a-bad", "fund:gd-fund:source", "fund:gd-fund", 0);         // 3 malformed
  *r.add_transfers() = t("a-nf", "fund:nope", "fund:gd-fund", 5);                    // 4 not found
  *r.add_transfers() = t("a-over", "project:pilot-1:disbursed", "fund:gd-fund", 5);  // 5 flag
  v1::Transfer l1 = t("a-l1", "fund:gd-fund:source", "fund:gd-fund", 5);             // 6 chain
  l1.mutable_flags()->set_linked(true);
  *r.add_transfers() = l1;
  *r.add_transfers() = t("a-l2", "project:pilot-1:disbursed", "fund:gd-fund", 5);  // 7 fails
  v1::CreateTransfersResponse resp;
  ASSERT_THAT(Call(&Stub::CreateTransfers, r, &resp), GrpcIs(Code::OK));
  ASSERT_EQ(resp.results_size(), 8);
  EXPECT_EQ(resp.results(0).result(), v1::CREATE_TRANSFER_RESULT_OK);
  EXPECT_EQ(resp.results(0).transfer().id(), "a-ok");
  EXPECT_GT(resp.results(0).transfer().journal_sequence(), 0);
  EXPECT_EQ(resp.results(1).result(), v1::CREATE_TRANSFER_RESULT_EXISTS);
  EXPECT_THAT(resp.results(1).status(), RpcStatusIs(0));
  EXPECT_EQ(resp.results(2).result(), v1::CREATE_TRANSFER_RESULT_EXISTS_WITH_DIFFERENT_BODY);
  EXPECT_THAT(resp.results(2).status(), RpcStatusIs(6));  // ALREADY_EXISTS
  EXPECT_EQ(resp.results(3).result(), v1::CREATE_TRANSFER_RESULT_AMOUNT_MUST_BE_POSITIVE);
  EXPECT_THAT(resp.results(3).status(), RpcStatusIs(3));  // INVALID_ARGUMENT
  EXPECT_THAT(registry::e2e::ViolationFields(resp.results(3).status()),
              ElementsAre("transfers[3].amount"));
  EXPECT_EQ(resp.results(4).result(), v1::CREATE_TRANSFER_RESULT_DEBIT_ACCOUNT_NOT_FOUND);
  EXPECT_THAT(resp.results(4).status(), RpcStatusIs(5));  // NOT_FOUND
  EXPECT_EQ(resp.results(5).result(), v1::CREATE_TRANSFER_RESULT_EXCEEDS_CREDITS);
  EXPECT_THAT(resp.results(5).status(), RpcStatusIs(9));  // FAILED_PRECONDITION
  EXPECT_EQ(resp.results(6).result(), v1::CREATE_TRANSFER_RESULT_LINKED_EVENT_FAILED);
  EXPECT_THAT(resp.results(6).status(), RpcStatusIs(10));  // ABORTED
  EXPECT_EQ(resp.results(6).failed_index(), 7);
  EXPECT_EQ(resp.results(7).result(), v1::CREATE_TRANSFER_RESULT_EXCEEDS_CREDITS);

  // Lookups: found in order, the rest missing; more than 1000 ids refused.
  v1::LookupTransfersRequest lt;
  lt.add_ids("a-l1");
  lt.add_ids("a-ok");
  v1::LookupTransfersResponse found;
  ASSERT_THAT(Call(&Stub::LookupTransfers, lt, &found), GrpcIs(Code::OK));
  ASSERT_EQ(found.transfers_size(), 1);
  EXPECT_EQ(found.transfers(0).id(), "a-ok");
  EXPECT_THAT(found.missing_ids(), ElementsAre("a-l1"));
  for (int i = 0; i < 1001; ++i) lt.add_ids("x");
  EXPECT_THAT(Call(&Stub::LookupTransfers, lt), GrpcInvalidField(Code::INVALID_ARGUMENT, "ids"));
  v1::LookupAccountsRequest la;
  for (int i = 0; i < 1001; ++i) la.add_ids("x");
  EXPECT_THAT(Call(&Stub::LookupAccounts, la), GrpcInvalidField(Code::INVALID_ARGUMENT, "ids"));
  la.clear_ids();
  la.add_ids("fund:gd-fund");
  la.add_ids("fund:nope");
  v1::LookupAccountsResponse accounts;
  ASSERT_THAT(Call(&Stub::LookupAccounts, la, &accounts), GrpcIs(Code::OK));
  ASSERT_EQ(accounts.accounts_size(), 1);
  EXPECT_EQ(accounts.accounts(0).kind(), v1::ACCOUNT_KIND_FUND);
  EXPECT_TRUE(accounts.accounts(0).flags().debits_must_not_exceed_credits());
  EXPECT_EQ(accounts.accounts(0).credits_posted(), 100010);
  EXPECT_THAT(accounts.missing_ids(), ElementsAre("fund:nope"));
  // CreateTransfers is for admins only.
  EXPECT_THAT(Call(&Stub::CreateTransfers, r, kManager), GrpcIs(Code::PERMISSION_DENIED));
}

TEST_F(FundsServiceTest, AccountTransfersAndTheJournalPage) {
  Seed();
  for (int i = 0; i < 9; ++i) {
    ASSERT_THAT(Capitalise("gd-fund", 1 + i, absl::StrCat("cap-x", i)), GrpcIs(Code::OK));
  }
  // The fund account has 10 transfers (cap-1 and nine more).
  std::vector<std::string> ids;
  v1::ListAccountTransfersRequest r;
  r.set_account_id("fund:gd-fund");
  r.set_page_size(4);
  for (int page = 0; page < 10; ++page) {
    v1::ListAccountTransfersResponse resp;
    ASSERT_THAT(Call(&Stub::ListAccountTransfers, r, &resp), GrpcIs(Code::OK));
    for (const auto& t : resp.transfers()) ids.push_back(t.id());
    if (resp.next_page_token().empty()) break;
    r.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids[0], "capitalise:cap-1");
  EXPECT_EQ(ids[9], "capitalise:cap-x8");
  // A time range: only the transfers at or after the fifth one's time.
  v1::LookupTransfersRequest lt;
  lt.add_ids(ids[4]);
  v1::LookupTransfersResponse fifth;
  ASSERT_THAT(Call(&Stub::LookupTransfers, lt, &fifth), GrpcIs(Code::OK));
  v1::ListAccountTransfersRequest ranged;
  ranged.set_account_id("fund:gd-fund");
  *ranged.mutable_start_time() = fifth.transfers(0).timestamp();
  v1::ListAccountTransfersResponse tail;
  ASSERT_THAT(Call(&Stub::ListAccountTransfers, ranged, &tail), GrpcIs(Code::OK));
  EXPECT_EQ(tail.transfers_size(), 6);
  // Errors.
  ranged.mutable_end_time()->set_seconds(1);
  EXPECT_THAT(Call(&Stub::ListAccountTransfers, ranged),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "end_time"));
  v1::ListAccountTransfersRequest nf;
  nf.set_account_id("fund:nope");
  EXPECT_THAT(Call(&Stub::ListAccountTransfers, nf), GrpcIs(Code::NOT_FOUND));
  nf.set_account_id("fund:gd-fund");
  nf.set_page_token("bm90IGEgdG9rZW4");
  EXPECT_THAT(Call(&Stub::ListAccountTransfers, nf),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));
  nf.clear_page_token();
  nf.set_page_size(-1);
  EXPECT_THAT(Call(&Stub::ListAccountTransfers, nf),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_size"));

  // The journal, page by page, chains its hashes.
  std::vector<v1::JournalEntry> entries;
  v1::ListJournalRequest lj;
  lj.set_page_size(3);
  for (int page = 0; page < 10; ++page) {
    v1::ListJournalResponse resp;
    ASSERT_THAT(Call(&Stub::ListJournal, lj, &resp), GrpcIs(Code::OK));
    for (const auto& e : resp.entries()) entries.push_back(e);
    if (resp.next_page_token().empty()) break;
    lj.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(static_cast<int64_t>(entries.size()), HeadSequence());
  EXPECT_EQ(entries[0].prev_hash(), std::string(64, '0'));
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(entries[i].prev_hash(), entries[i - 1].hash());
  }
  v1::ListJournalRequest after;
  after.set_after_sequence(8);
  v1::ListJournalResponse rest;
  ASSERT_THAT(Call(&Stub::ListJournal, after, &rest), GrpcIs(Code::OK));
  EXPECT_EQ(rest.entries_size(), 2);
  EXPECT_TRUE(rest.next_page_token().empty());
  after.set_after_sequence(-1);
  EXPECT_THAT(Call(&Stub::ListJournal, after),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "after_sequence"));
  after.set_after_sequence(0);
  after.set_page_token(absl::WebSafeBase64Escape("1|0000000000000000|8"));
  EXPECT_THAT(Call(&Stub::ListJournal, after),
              GrpcInvalidField(Code::INVALID_ARGUMENT, "page_token"));
  // Statements of unknown objects.
  v1::GetFundStatementRequest gfs;
  gfs.set_fund_id("nope");
  EXPECT_THAT(Call(&Stub::GetFundStatement, gfs), GrpcIs(Code::NOT_FOUND));
  v1::GetProjectStatementRequest gps;
  gps.set_project_id("nope");
  EXPECT_THAT(Call(&Stub::GetProjectStatement, gps), GrpcIs(Code::NOT_FOUND));
  // VerifyJournal: admin and regulator only.
  v1::VerifyJournalResponse v;
  ASSERT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), &v, kRegulator),
              GrpcIs(Code::OK));
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.entries_checked(), HeadSequence());
  EXPECT_EQ(v.head_hash(), entries.back().hash());
  EXPECT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), kManager),
              GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), kViewer),
              GrpcIs(Code::PERMISSION_DENIED));
}

TEST_F(FundsServiceTest, AVerificationFindsATamperedBalance) {
  Seed();
  redis::Options o;
  o.host = "127.0.0.1";
  o.port = redis_.port();
  redis::Client client(o);
  // Swap the fund account's record for the source account's: balances no longer match.
  const std::string key = absl::StrCat(funds_->key_prefix(), "a");
  auto source = client.Command({"HGET", key, "fund:gd-fund:source"});
  ASSERT_THAT(source, test::IsOk());
  auto fund = client.Command({"HGET", key, "fund:gd-fund"});
  ASSERT_THAT(fund, test::IsOk());
  ASSERT_THAT(client.Command({"HSET", key, "fund:gd-fund", source->str()}), test::IsOk());
  v1::VerifyJournalResponse v;
  ASSERT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), &v), GrpcIs(Code::OK));
  EXPECT_FALSE(v.ok());
  EXPECT_FALSE(v.discrepancy().empty());
  ASSERT_THAT(client.Command({"HSET", key, "fund:gd-fund", fund->str()}), test::IsOk());
  ASSERT_THAT(Call(&Stub::VerifyJournal, v1::VerifyJournalRequest(), &v), GrpcIs(Code::OK));
  EXPECT_TRUE(v.ok()) << v.discrepancy();
  const std::string text = HttpGet(funds_->metrics_port(), "/metrics");
  EXPECT_EQ(Metric(text, "iplus_funds_verify_total{outcome=\"failed\"}"), 1);
  EXPECT_EQ(Metric(text, "iplus_funds_verify_total{outcome=\"ok\"}"), 1);
}

// --- scoping, audit, metrics, durability -----------------------------------------------

TEST_F(FundsServiceTest, AFundManagerActsOnlyOnItsFunds) {
  Seed();
  ASSERT_THAT(CreateFund(Fund("other-fund")), GrpcIs(Code::OK));
  ASSERT_THAT(CreateProject(Project("other-1", "other-fund")), GrpcIs(Code::OK));
  ASSERT_THAT(Capitalise("other-fund", 50000, "other-cap"), GrpcIs(Code::OK));
  // Its own fund: everything works.
  EXPECT_THAT(Capitalise("gd-fund", 10, "m-cap", nullptr, kManager), GrpcIs(Code::OK));
  EXPECT_THAT(Commit("pilot-1", 10, "m-c1", nullptr, kManager), GrpcIs(Code::OK));
  EXPECT_THAT(CreateProject(Project("pilot-9"), nullptr, kManager), GrpcIs(Code::OK));
  v1::GetFundRequest gf;
  gf.set_id("gd-fund");
  EXPECT_THAT(Call(&Stub::GetFund, gf, kManager), GrpcIs(Code::OK));
  // Another fund: PERMISSION_DENIED, and nothing moves.
  const int64_t head = HeadSequence();
  EXPECT_THAT(Capitalise("other-fund", 10, "m-cap2", nullptr, kManager),
              GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(Commit("other-1", 10, "m-c2", nullptr, kManager), GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(Disburse("other-1", "m1", "m-d1", nullptr, kManager),
              GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(CreateFund(Fund("new-fund"), nullptr, kManager), GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(CreateProject(Project("other-2", "other-fund"), nullptr, kManager),
              GrpcIs(Code::PERMISSION_DENIED));
  gf.set_id("other-fund");
  EXPECT_THAT(Call(&Stub::GetFund, gf, kManager), GrpcIs(Code::PERMISSION_DENIED));
  v1::GetProjectRequest gp;
  gp.set_id("other-1");
  EXPECT_THAT(Call(&Stub::GetProject, gp, kManager), GrpcIs(Code::PERMISSION_DENIED));
  v1::GetFundStatementRequest gfs;
  gfs.set_fund_id("other-fund");
  EXPECT_THAT(Call(&Stub::GetFundStatement, gfs, kManager), GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_EQ(HeadSequence(), head);
  // Lists: only its funds; projects only with its fund named.
  v1::ListFundsResponse funds;
  ASSERT_THAT(Call(&Stub::ListFunds, v1::ListFundsRequest(), &funds, kManager), GrpcIs(Code::OK));
  ASSERT_EQ(funds.funds_size(), 1);
  EXPECT_EQ(funds.funds(0).id(), "gd-fund");
  v1::ListProjectsRequest lp;
  EXPECT_THAT(Call(&Stub::ListProjects, lp, kManager), GrpcIs(Code::PERMISSION_DENIED));
  lp.set_fund_id("other-fund");
  EXPECT_THAT(Call(&Stub::ListProjects, lp, kManager), GrpcIs(Code::PERMISSION_DENIED));
  lp.set_fund_id("gd-fund");
  v1::ListProjectsResponse projects;
  ASSERT_THAT(Call(&Stub::ListProjects, lp, &projects, kManager), GrpcIs(Code::OK));
  EXPECT_EQ(projects.projects_size(), 2);
  // Ledger-level reads are not for fund managers; a viewer reads but cannot act.
  EXPECT_THAT(Call(&Stub::LookupAccounts, v1::LookupAccountsRequest(), kManager),
              GrpcIs(Code::PERMISSION_DENIED));
  EXPECT_THAT(Call(&Stub::GetFund, gf, kViewer), GrpcIs(Code::OK));
  EXPECT_THAT(Capitalise("gd-fund", 10, "v-cap", nullptr, kViewer),
              GrpcIs(Code::PERMISSION_DENIED));
  // A region sponsor must be in the caller's regions (Fujian only here).
  v1::Fund fj = Fund("fj-fund");
  fj.mutable_sponsor()->set_region_code("350000");
  EXPECT_THAT(CreateFund(fj, nullptr, kFujian), GrpcIs(Code::OK));
  EXPECT_THAT(CreateFund(Fund("gd-2-fund"), nullptr, kFujian), GrpcIs(Code::PERMISSION_DENIED));
  // ... and a beneficiary too (Guangzhou enterprises are outside Fujian).
  EXPECT_THAT(CreateProject(Project("fj-1", "fj-fund"), nullptr, kFujian),
              GrpcIs(Code::PERMISSION_DENIED));

  // Every mutating call is audited, refused ones included; the trail is served here.
  av1::ListAuditRecordsRequest ar;
  ar.set_principal("gd-manager");
  ar.set_page_size(100);
  av1::ListAuditRecordsResponse records;
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kAdmin));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(audit_stub_->ListAuditRecords(&context, ar, &records).ok());
  std::set<std::string> methods_denied, methods_ok;
  for (const auto& rec : records.records()) {
    (rec.code() == 0 ? methods_ok : methods_denied).insert(rec.method());
    if (rec.method() == "/iplus.funds.v1.FundsService/CommitToProject" && rec.code() != 0) {
      EXPECT_EQ(rec.object(), "other-1");
    }
  }
  EXPECT_TRUE(methods_ok.count("/iplus.funds.v1.FundsService/CapitaliseFund"));
  EXPECT_TRUE(methods_denied.count("/iplus.funds.v1.FundsService/CommitToProject"));
  EXPECT_TRUE(methods_denied.count("/iplus.funds.v1.FundsService/DisburseMilestone"));
  EXPECT_FALSE(methods_ok.count("/iplus.funds.v1.FundsService/GetFund"));  // reads are not
}

TEST_F(FundsServiceTest, MetricsCountTransfersAndFollowTheJournal) {
  Seed();
  ASSERT_THAT(Commit("pilot-1", 100, "c-1"), GrpcIs(Code::OK));
  ASSERT_THAT(Commit("pilot-1", 100, "c-1"), GrpcIs(Code::OK));  // replayed: no ledger call
  ForgetRequestIds();
  ASSERT_THAT(Commit("pilot-1", 100, "c-1"), GrpcIs(Code::OK));  // the ledger says EXISTS
  EXPECT_THAT(Capitalise("gd-fund", 1, "cap-1"), GrpcIs(Code::INVALID_ARGUMENT));
  const int64_t head = HeadSequence();
  // The gauges follow the journal within a round of the background thread.
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (;;) {
    text = HttpGet(funds_->metrics_port(), "/metrics");
    if (Metric(text, "iplus_funds_journal_entries") == head &&
        Metric(text, "iplus_funds_pending_transfers") == 1) {
      break;
    }
    ASSERT_LT(absl::Now(), deadline) << text;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Metric(text, "iplus_funds_transfers_total{result=\"ok\"}"), 2);  // cap-1, c-1
  EXPECT_EQ(Metric(text, "iplus_funds_transfers_total{result=\"exists\"}"), 1);
  EXPECT_EQ(Metric(text, "iplus_funds_transfers_total{result=\"exists_with_different_body\"}"), 1);
  EXPECT_EQ(Metric(text, "iplus_funds_transfers_total{result=\"exceeds_credits\"}"), 0);
  EXPECT_EQ(Metric(text, "iplus_funds_batch_size_count"), 4);
  for (const char* name :
       {"iplus_funds_transfers_total", "iplus_funds_batch_size", "iplus_funds_pending_transfers",
        "iplus_funds_journal_entries", "iplus_funds_verify_total"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " "))) << name;
  }
}

TEST_F(FundsServiceTest, ANonDurableRedisIsRefusedUnlessAllowed) {
  test::RedisServer plain;  // appendonly no
  IPLUS_ASSERT_OK(plain.Start());
  AppConfig c = FundsConfig();
  c.redis.port = plain.port();
  {
    App app(c);
    absl::Status s = app.Start();
    EXPECT_THAT(s, test::StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(s.message()), HasSubstr("appendonly"));
  }
  c.allow_non_durable_redis = true;
  App app(c);
  IPLUS_ASSERT_OK(app.Start());
  auto channel = Connect(app.grpc_port());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (registry::e2e::CheckHealth(channel.get(), "", absl::Seconds(1)) !=
         registry::e2e::HealthStatus::kServing) {
    ASSERT_LT(absl::Now(), deadline);
    absl::SleepFor(absl::Milliseconds(20));
  }
  app.Shutdown();
}

TEST_F(FundsServiceTest, RedisDownIsUnavailableAndNothingHalfDone) {
  Seed();
  redis_.Stop();
  EXPECT_THAT(Capitalise("gd-fund", 10, "down-1"), GrpcIs(Code::UNAVAILABLE));
  EXPECT_THAT(Commit("pilot-1", 10, "down-2"), GrpcIs(Code::UNAVAILABLE));
  v1::GetFundRequest gf;
  gf.set_id("gd-fund");
  EXPECT_THAT(Call(&Stub::GetFund, gf), GrpcIs(Code::UNAVAILABLE));
  IPLUS_ASSERT_OK(redis_.Start());
  // Back (same append-only file): the retries apply once.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  grpc::Status s;
  while (!(s = Capitalise("gd-fund", 10, "down-1")).ok()) {
    ASSERT_LT(absl::Now(), deadline) << s.error_message();
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(Commit("pilot-1", 10, "down-2"), GrpcIs(Code::OK));
  EXPECT_EQ(FundStatement("gd-fund").capital().fen(), 100010);
  EXPECT_EQ(ProjectStatement("pilot-1").committed().fen(), 10);
}

}  // namespace
}  // namespace iplus::funds
