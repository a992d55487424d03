// Authentication end to end, besides the matrix: token file reloads, rate limits with
// their retry delay and metric, the audit trail (fields, paging, filters, who may read
// it; funds' own trail of fund operations), methods without a policy row, the refusal to
// start without a token file or an explicit --allow_unauthenticated, and what stays open
// (health) or anonymous.

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/grpc/status.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/auth/auth_test_util.h"

namespace iplus::auth_e2e {
namespace {

using ::iplus::registry::e2e::CheckHealth;
using ::iplus::registry::e2e::GrpcInvalidField;
using ::iplus::registry::e2e::GrpcIs;
using ::iplus::registry::e2e::HealthStatus;
using ::iplus::registry::e2e::Manufacturer;
using ::iplus::test::IsOk;
using ::iplus::test::StatusIs;
using ::testing::HasSubstr;

constexpr char kAdmin[] = "e2e-admin-6d1b";
constexpr char kViewer[] = "e2e-viewer-20fe";
constexpr char kViewer2[] = "e2e-viewer-two-c4a8";
constexpr char kPartner[] = "e2e-partner-0b37";
constexpr char kRegulatorGz[] = "e2e-regulator-gz-e51c";
constexpr char kRegulatorAll[] = "e2e-regulator-all-3a90";
constexpr char kService[] = "e2e-service-7c2d";
constexpr char kFundManager[] = "e2e-fund-manager-91e0";  // fund gd-fund, region 44
constexpr char kFundsService[] = "e2e-funds-service-4b6a";

std::vector<TokenSpec> BaseTokens() {
  return {{kAdmin, "ops", "admin"},
          {kViewer, "analyst", "viewer", "44"},
          {kViewer2, "analyst-two", "viewer", "44"},
          {kPartner, "gd-platform", "partner", "44"},
          {kRegulatorGz, "gz-bureau", "regulator", "4401"},
          {kRegulatorAll, "authority", "regulator", "*"},
          {kService, "ingest", "service", "*"}};
}

std::string CodeIn(const std::string& region6, int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91%s%08d", region6, n));
}

rv1::Enterprise InGuangzhou(int n) {
  rv1::Enterprise e = Manufacturer(n);
  e.set_code(CodeIn("440100", n));
  return e;
}

rv1::Enterprise InShenzhen(int n) {
  rv1::Enterprise e = Manufacturer(n);
  e.set_code(CodeIn("440300", n));
  e.set_region("440304");
  return e;
}

class AuthE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_.Start(), IsOk());
    token_file_ = TempPath(
        absl::StrCat(::testing::UnitTest::GetInstance()->current_test_info()->name(), "_tokens"));
    service_token_file_ = token_file_ + "_service";
    WriteFile(token_file_, TokenFileText(BaseTokens()));
    WriteFile(service_token_file_, std::string(kService) + "\n");
  }
  void TearDown() override {
    std::remove(token_file_.c_str());
    std::remove(service_token_file_.c_str());
  }

  SecureStack::Options Options(bool with_ingest = false) {
    SecureStack::Options o;
    o.token_file = token_file_;
    o.service_token_file = service_token_file_;
    o.with_ingest = with_ingest;
    return o;
  }

  test::RedisServer redis_;
  std::string token_file_;
  std::string service_token_file_;
};

grpc::Status ListAs(SecureStack& s, const std::string& token) {
  rv1::ListEnterprisesRequest r;
  rv1::ListEnterprisesResponse resp;
  return CallAs(token, s.registry(), &RegistryStub::ListEnterprises, r, &resp);
}

// Polls until `ok()` holds for the status of `call`, or `timeout`; returns how long.
template <typename Fn>
absl::Duration Until(Fn call, bool want_ok, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < timeout) {
    if (call().ok() == want_ok) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::InfiniteDuration();
}

TEST_F(AuthE2eTest, TokenFileChangesApplyWithinTheReloadInterval) {
  SecureStack stack(redis_.port(), Options());
  ASSERT_THAT(stack.status(), IsOk());
  const std::string late = "e2e-late-token-88f2";
  EXPECT_THAT(ListAs(stack, late), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));

  // Added: accepted within the check interval (100 ms here) and a little.
  std::vector<TokenSpec> tokens = BaseTokens();
  tokens.push_back({late, "newcomer", "viewer", "44"});
  WriteFile(token_file_, TokenFileText(tokens));
  absl::Duration added = Until([&] { return ListAs(stack, late); }, true);
  EXPECT_LT(added, absl::Seconds(2));
  EXPECT_THAT(ListAs(stack, late), GrpcIs(grpc::StatusCode::OK));

  // Removed: refused again, and the others still work.
  WriteFile(token_file_, TokenFileText(BaseTokens()));
  absl::Duration removed = Until([&] { return ListAs(stack, late); }, false);
  EXPECT_LT(removed, absl::Seconds(2));
  EXPECT_THAT(ListAs(stack, late), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(ListAs(stack, kViewer), GrpcIs(grpc::StatusCode::OK));

  // A broken file keeps the tokens loaded before it.
  WriteFile(token_file_, "not a token line\n");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_THAT(ListAs(stack, kViewer), GrpcIs(grpc::StatusCode::OK));
}

// The value of the series line of /metrics whose name and labels contain every one of
// `parts`, or -1.
double MetricValue(const std::string& metrics, const std::string& name,
                   const std::vector<std::string>& parts) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, name + "{")) continue;
    bool all = true;
    for (const auto& p : parts) all = all && absl::StrContains(line, p);
    if (!all) continue;
    double v = -1;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) return v;
  }
  return -1;
}

TEST_F(AuthE2eTest, RateLimitRefusesWithTheRetryDelayAndCountsIt) {
  SecureStack::Options options = Options();
  options.rate_limits[auth::Role::kViewer] = {2, 3};  // burst 3, then one every 500 ms
  SecureStack stack(redis_.port(), options);
  ASSERT_THAT(stack.status(), IsOk());

  rv1::ListEnterprisesRequest r;
  rv1::ListEnterprisesResponse resp;
  std::multimap<std::string, std::string> trailers;
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(CallAs(kViewer, stack.registry(), &RegistryStub::ListEnterprises, r, &resp),
                GrpcIs(grpc::StatusCode::OK))
        << i;
  }
  grpc::Status throttled =
      CallAs(kViewer, stack.registry(), &RegistryStub::ListEnterprises, r, &resp, &trailers);
  ASSERT_THAT(throttled, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(throttled.error_message(), HasSubstr("viewer"));
  EXPECT_THAT(throttled.error_message(), ::testing::Not(HasSubstr("analyst")));
  // The delay in the trailer and in google.rpc.RetryInfo.
  ASSERT_EQ(trailers.count("retry-delay-ms"), 1u);
  int64_t delay_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(trailers.find("retry-delay-ms")->second, &delay_ms));
  EXPECT_GT(delay_ms, 0);
  EXPECT_LE(delay_ms, 500);
  auto retry = RetryDelay(throttled);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(*retry, absl::Milliseconds(delay_ms));

  // Another principal of the same role has its own bucket.
  EXPECT_THAT(CallAs(kViewer2, stack.registry(), &RegistryStub::ListEnterprises, r, &resp),
              GrpcIs(grpc::StatusCode::OK));
  // Unlimited roles (service by default) never wait.
  rv1::ListEventsRequest events;
  rv1::ListEventsResponse events_resp;
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(CallAs(kService, stack.registry(), &RegistryStub::ListEvents, events, &events_resp),
                GrpcIs(grpc::StatusCode::OK));
  }

  // Counted by role and method, never by principal.
  const std::string metrics = HttpGet(stack.registry_metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "iplus_rate_limited_total",
                        {"role=\"viewer\"", "grpc_method=\"ListEnterprises\"",
                         "grpc_service=\"iplus.registry.v1.RegistryService\""}),
            1);
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("analyst")));
  EXPECT_EQ(MetricValue(metrics, "grpc_server_handled_total",
                        {"grpc_method=\"ListEnterprises\"", "grpc_code=\"ResourceExhausted\""}),
            1);

  // After the delay the call goes through.
  absl::SleepFor(absl::Milliseconds(delay_ms));
  EXPECT_THAT(CallAs(kViewer, stack.registry(), &RegistryStub::ListEnterprises, r, &resp),
              GrpcIs(grpc::StatusCode::OK));
}

// All audit records of a port, newest first, walking the pages.
std::vector<av1::AuditRecord> AllRecords(AuditStub& stub, av1::ListAuditRecordsRequest r,
                                         int* pages = nullptr) {
  std::vector<av1::AuditRecord> out;
  int n = 0;
  do {
    av1::ListAuditRecordsResponse resp;
    grpc::Status s = CallAs(kAdmin, stub, &AuditStub::ListAuditRecords, r, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    for (const auto& rec : resp.records()) out.push_back(rec);
    r.set_page_token(resp.next_page_token());
    ++n;
  } while (!r.page_token().empty() && n < 1000);
  if (pages != nullptr) *pages = n;
  return out;
}

MATCHER_P5(AuditIs, principal, role, method, object, code, "") {
  *result_listener << "record " << arg.ShortDebugString();
  return arg.principal() == principal && arg.role() == role &&
         arg.method() == absl::StrCat("/iplus.registry.v1.RegistryService/", method) &&
         arg.object() == object && arg.code() == code;
}

TEST_F(AuthE2eTest, AuditRecordsMutatingCallsAllowedAndRefused) {
  SecureStack stack(redis_.port(), Options(/*with_ingest=*/true));
  ASSERT_THAT(stack.status(), IsOk());
  const absl::Time start = absl::Now();

  auto create = [&](const std::string& token, const rv1::Enterprise& e) {
    rv1::CreateEnterpriseRequest r;
    *r.mutable_enterprise() = e;
    rv1::CreateEnterpriseResponse resp;
    return CallAs(token, stack.registry(), &RegistryStub::CreateEnterprise, r, &resp);
  };
  EXPECT_THAT(create(kAdmin, InGuangzhou(1)), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(create(kRegulatorGz, InShenzhen(2)), GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(create(kViewer, InGuangzhou(3)), GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(create("", InGuangzhou(4)), GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(create(kRegulatorGz, InGuangzhou(1)), GrpcIs(grpc::StatusCode::OK));  // same
  rv1::ArchiveEnterpriseRequest archive;
  archive.set_code(InGuangzhou(1).code());
  rv1::ArchiveEnterpriseResponse archived;
  EXPECT_THAT(
      CallAs(kAdmin, stack.registry(), &RegistryStub::ArchiveEnterprise, archive, &archived),
      GrpcIs(grpc::StatusCode::OK));
  // Reads are not audited.
  rv1::GetEnterpriseRequest get;
  get.set_code(InGuangzhou(1).code());
  rv1::GetEnterpriseResponse got;
  EXPECT_THAT(CallAs(kAdmin, stack.registry(), &RegistryStub::GetEnterprise, get, &got),
              GrpcIs(grpc::StatusCode::OK));

  // Records are written just after the status goes out.
  std::vector<av1::AuditRecord> records;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    records = AllRecords(stack.registry_audit(), {});
    if (records.size() >= 5) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(records.size(), 5u);
  const std::string code1 = InGuangzhou(1).code();
  // Each record is written just after its call's status goes out, so records of calls
  // made one after the other may land in either order.
  EXPECT_THAT(records,
              ::testing::UnorderedElementsAre(
                  AuditIs("ops", "admin", "ArchiveEnterprise", code1, google::rpc::OK),
                  AuditIs("gz-bureau", "regulator", "CreateEnterprise", code1, google::rpc::OK),
                  AuditIs("analyst", "viewer", "CreateEnterprise", InGuangzhou(3).code(),
                          google::rpc::PERMISSION_DENIED),
                  AuditIs("gz-bureau", "regulator", "CreateEnterprise", InShenzhen(2).code(),
                          google::rpc::PERMISSION_DENIED),
                  AuditIs("ops", "admin", "CreateEnterprise", code1, google::rpc::OK)));
  for (const auto& r : records) {
    absl::Time t = absl::FromUnixSeconds(r.time().seconds()) + absl::Nanoseconds(r.time().nanos());
    EXPECT_GE(t, start - absl::Seconds(1));
    EXPECT_LE(t, absl::Now() + absl::Seconds(1));
  }

  // Ingestion keeps its own trail.
  ASSERT_TRUE(stack.WaitIngestReady(kAdmin));
  v1::ReportObservationsRequest report;
  *report.add_observations() =
      ::iplus::ingest::e2e::Number("a1", InGuangzhou(5).code(), "inventory_turnover", "2018", 4);
  *report.add_observations() =
      ::iplus::ingest::e2e::Number("a2", InGuangzhou(6).code(), "inventory_turnover", "2018", 4);
  v1::ReportObservationsResponse reported;
  ASSERT_THAT(CallAs(kPartner, stack.ingest(), &IngestStub::ReportObservations, report, &reported),
              GrpcIs(grpc::StatusCode::OK));
  std::vector<av1::AuditRecord> ingest_records;
  while (absl::Now() < deadline + absl::Seconds(5) && ingest_records.empty()) {
    ingest_records = AllRecords(stack.ingest_audit(), {});
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(ingest_records.size(), 1u);
  EXPECT_EQ(ingest_records[0].principal(), "gd-platform");
  EXPECT_EQ(ingest_records[0].role(), "partner");
  EXPECT_EQ(ingest_records[0].method(), "/iplus.ingest.v1.IngestService/ReportObservations");
  EXPECT_EQ(ingest_records[0].object(), "2 items");
  EXPECT_EQ(ingest_records[0].code(), google::rpc::OK);
  // The registry's trail did not get ingestion's records (nor the directory's reads).
  EXPECT_EQ(AllRecords(stack.registry_audit(), {}).size(), 5u);

  // Filters.
  av1::ListAuditRecordsRequest by_principal;
  by_principal.set_principal("gz-bureau");
  EXPECT_EQ(AllRecords(stack.registry_audit(), by_principal).size(), 2u);
  av1::ListAuditRecordsRequest by_method;
  by_method.set_method("ArchiveEnterprise");
  EXPECT_EQ(AllRecords(stack.registry_audit(), by_method).size(), 1u);
  by_method.set_method("/iplus.registry.v1.RegistryService/CreateEnterprise");
  EXPECT_EQ(AllRecords(stack.registry_audit(), by_method).size(), 4u);
  av1::ListAuditRecordsRequest by_time;
  by_time.mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  EXPECT_EQ(AllRecords(stack.registry_audit(), by_time).size(), 0u);
  by_time.mutable_start_time()->set_seconds(absl::ToUnixSeconds(start) - 1);
  by_time.mutable_end_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 1);
  EXPECT_EQ(AllRecords(stack.registry_audit(), by_time).size(), 5u);

  // Who may read it.
  av1::ListAuditRecordsRequest list;
  av1::ListAuditRecordsResponse listed;
  for (const char* token : {kViewer, kPartner, kService}) {
    EXPECT_THAT(CallAs(token, stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  // A regulator limited to Guangzhou does not cover the Guangdong instance.
  EXPECT_THAT(
      CallAs(kRegulatorGz, stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
      GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(
      CallAs(kRegulatorAll, stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
      GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(CallAs("", stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  list.set_page_token("garbage");
  EXPECT_THAT(CallAs(kAdmin, stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
  list.set_page_token("");
  list.set_page_size(1001);
  EXPECT_THAT(CallAs(kAdmin, stack.registry_audit(), &AuditStub::ListAuditRecords, list, &listed),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
}

TEST_F(AuthE2eTest, AuditPagingReturnsEveryRecordOnceNewestFirst) {
  SecureStack stack(redis_.port(), Options());
  ASSERT_THAT(stack.status(), IsOk());
  rv1::CreateEnterpriseRequest create;
  *create.mutable_enterprise() = InGuangzhou(1);
  rv1::CreateEnterpriseResponse created;
  ASSERT_THAT(CallAs(kAdmin, stack.registry(), &RegistryStub::CreateEnterprise, create, &created),
              GrpcIs(grpc::StatusCode::OK));
  constexpr int kUpdates = 11;
  for (int i = 0; i < kUpdates; ++i) {
    rv1::UpdateEnterpriseRequest update;
    update.mutable_enterprise()->set_code(InGuangzhou(1).code());
    update.mutable_enterprise()->set_name(absl::StrCat("Name ", i));
    update.mutable_update_mask()->add_paths("name");
    rv1::UpdateEnterpriseResponse updated;
    ASSERT_THAT(CallAs(kAdmin, stack.registry(), &RegistryStub::UpdateEnterprise, update, &updated),
                GrpcIs(grpc::StatusCode::OK));
  }
  std::vector<av1::AuditRecord> all;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && all.size() < kUpdates + 1) {
    all = AllRecords(stack.registry_audit(), {});
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(all.size(), kUpdates + 1u);

  av1::ListAuditRecordsRequest paged;
  paged.set_page_size(3);
  int pages = 0;
  std::vector<av1::AuditRecord> walked = AllRecords(stack.registry_audit(), paged, &pages);
  ASSERT_EQ(walked.size(), all.size());
  EXPECT_GE(pages, 4);
  std::set<std::string> ids;
  for (size_t i = 0; i < walked.size(); ++i) {
    EXPECT_EQ(walked[i].id(), all[i].id()) << i;
    EXPECT_TRUE(ids.insert(walked[i].id()).second) << "repeated " << walked[i].id();
  }
  // Newest first: the create is last.
  EXPECT_EQ(walked.back().method(), "/iplus.registry.v1.RegistryService/CreateEnterprise");
  EXPECT_EQ(walked.front().method(), "/iplus.registry.v1.RegistryService/UpdateEnterprise");
  // A token belongs to its query.
  av1::ListAuditRecordsResponse first;
  ASSERT_TRUE(
      CallAs(kAdmin, stack.registry_audit(), &AuditStub::ListAuditRecords, paged, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  av1::ListAuditRecordsRequest other;
  other.set_page_size(3);
  other.set_principal("ops");
  other.set_page_token(first.next_page_token());
  av1::ListAuditRecordsResponse ignored;
  EXPECT_THAT(CallAs(kAdmin, stack.registry_audit(), &AuditStub::ListAuditRecords, other, &ignored),
              GrpcInvalidField(grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
}

MATCHER_P5(FundsAuditIs, principal, role, method, object, code, "") {
  *result_listener << "record " << arg.ShortDebugString();
  return arg.principal() == principal && arg.role() == role &&
         arg.method() == absl::StrCat("/iplus.funds.v1.FundsService/", method) &&
         arg.object() == object && arg.code() == code;
}

// Funds records its mutating calls, allowed and refused (for the role or the fund), in
// its own trail on its own port; its calls to the registry (a read) leave none there.
TEST_F(AuthE2eTest, FundsAuditsItsOperationsInItsOwnTrail) {
  test::RedisServer::Options durable;  // funds refuses a Redis that may lose writes
  durable.aof = true;
  durable.appendfsync = "always";
  test::RedisServer funds_redis(durable);
  ASSERT_THAT(funds_redis.Start(), IsOk());
  std::vector<TokenSpec> tokens = BaseTokens();
  tokens.push_back({kFundManager, "gd-fund-office", "fund_manager", "44", "gd-fund"});
  tokens.push_back({kFundsService, "funds", "service"});
  WriteFile(token_file_, TokenFileText(tokens));
  const std::string funds_token_file = token_file_ + "_funds";
  WriteFile(funds_token_file, std::string(kFundsService) + "\n");
  SecureStack::Options options = Options();
  options.with_funds = true;
  options.funds_token_file = funds_token_file;
  SecureStack stack(funds_redis.port(), options);
  ASSERT_THAT(stack.status(), IsOk());
  ASSERT_TRUE(stack.WaitFundsServing());
  rv1::CreateEnterpriseRequest enterprise;
  *enterprise.mutable_enterprise() = InGuangzhou(1);
  rv1::CreateEnterpriseResponse enterprise_created;
  ASSERT_THAT(CallAs(kAdmin, stack.registry(), &RegistryStub::CreateEnterprise, enterprise,
                     &enterprise_created),
              GrpcIs(grpc::StatusCode::OK));

  fv1::CreateFundRequest fund;
  fund.mutable_fund()->set_id("gd-fund");
  fund.mutable_fund()->set_name("Guangdong special fund for platforms");
  fund.mutable_fund()->mutable_sponsor()->set_region_code("440000");
  fund.mutable_fund()->add_focus_areas(fv1::FOCUS_AREA_PLATFORMS);
  fund.mutable_fund()->set_currency("CNY");
  fv1::CreateFundResponse fund_created;
  EXPECT_THAT(CallAs(kAdmin, stack.funds(), &FundsStub::CreateFund, fund, &fund_created),
              GrpcIs(grpc::StatusCode::OK));
  auto capitalise = [&](const std::string& token, const std::string& fund_id,
                        const std::string& request_id) {
    fv1::CapitaliseFundRequest r;
    r.set_fund_id(fund_id);
    r.mutable_amount()->set_currency("CNY");
    r.mutable_amount()->set_fen(100000);
    r.set_request_id(request_id);
    fv1::CapitaliseFundResponse resp;
    return CallAs(token, stack.funds(), &FundsStub::CapitaliseFund, r, &resp);
  };
  EXPECT_THAT(capitalise(kFundManager, "gd-fund", "cap-1"), GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(capitalise(kFundManager, "other-fund", "cap-2"),
              GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(capitalise(kViewer, "gd-fund", "cap-3"), GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  // The beneficiary is checked with the registry under funds' own service token.
  fv1::CreateProjectRequest project;
  fv1::Project* p = project.mutable_project();
  p->set_id("pilot-1");
  p->set_fund_id("gd-fund");
  p->set_beneficiary_code(InGuangzhou(1).code());
  p->set_kind(fv1::PROJECT_KIND_PILOT_PROJECT);
  p->set_title("Networked collaboration pilot");
  p->mutable_budget()->set_currency("CNY");
  p->mutable_budget()->set_fen(10000);
  fv1::Milestone* m = p->add_milestones();
  m->set_id("m1");
  m->set_title("Stage 1");
  m->mutable_amount()->set_currency("CNY");
  m->mutable_amount()->set_fen(10000);
  fv1::CreateProjectResponse project_created;
  EXPECT_THAT(
      CallAs(kFundManager, stack.funds(), &FundsStub::CreateProject, project, &project_created),
      GrpcIs(grpc::StatusCode::OK));
  // Reads are not audited.
  fv1::GetFundRequest get;
  get.set_id("gd-fund");
  fv1::GetFundResponse got;
  EXPECT_THAT(CallAs(kViewer, stack.funds(), &FundsStub::GetFund, get, &got),
              GrpcIs(grpc::StatusCode::OK));

  std::vector<av1::AuditRecord> records;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    records = AllRecords(stack.funds_audit(), {});
    if (records.size() >= 5) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(records, ::testing::UnorderedElementsAre(
                           FundsAuditIs("ops", "admin", "CreateFund", "gd-fund", google::rpc::OK),
                           FundsAuditIs("gd-fund-office", "fund_manager", "CapitaliseFund",
                                        "gd-fund", google::rpc::OK),
                           FundsAuditIs("gd-fund-office", "fund_manager", "CapitaliseFund",
                                        "other-fund", google::rpc::PERMISSION_DENIED),
                           FundsAuditIs("analyst", "viewer", "CapitaliseFund", "gd-fund",
                                        google::rpc::PERMISSION_DENIED),
                           FundsAuditIs("gd-fund-office", "fund_manager", "CreateProject",
                                        "pilot-1", google::rpc::OK)));
  // The registry's trail holds its own create only.
  const std::vector<av1::AuditRecord> registry_records = AllRecords(stack.registry_audit(), {});
  ASSERT_EQ(registry_records.size(), 1u);
  EXPECT_EQ(registry_records[0].method(), "/iplus.registry.v1.RegistryService/CreateEnterprise");

  // Who may read it: admin and regulators covering the instance.
  av1::ListAuditRecordsRequest list;
  av1::ListAuditRecordsResponse listed;
  for (const char* token : {kViewer, kFundManager, kFundsService, kRegulatorGz}) {
    EXPECT_THAT(CallAs(token, stack.funds_audit(), &AuditStub::ListAuditRecords, list, &listed),
                GrpcIs(grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  EXPECT_THAT(
      CallAs(kRegulatorAll, stack.funds_audit(), &AuditStub::ListAuditRecords, list, &listed),
      GrpcIs(grpc::StatusCode::OK));
  std::remove(funds_token_file.c_str());
}

TEST_F(AuthE2eTest, MethodsWithoutARowAreRefused) {
  std::vector<auth::MethodRule> rules;
  for (const auto& rule : auth::DefaultPolicy().rules()) {
    if (rule.method != "/iplus.registry.v1.RegistryService/GetEnterprise") rules.push_back(rule);
  }
  auth::Policy policy(rules);
  SecureStack::Options options = Options();
  options.policy = &policy;
  SecureStack stack(redis_.port(), options);
  ASSERT_THAT(stack.status(), IsOk());
  rv1::GetEnterpriseRequest get;
  get.set_code(InGuangzhou(1).code());
  rv1::GetEnterpriseResponse got;
  grpc::Status s = CallAs(kAdmin, stack.registry(), &RegistryStub::GetEnterprise, get, &got);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(s.error_message(), HasSubstr("not in the authorization table"));
  EXPECT_THAT(ListAs(stack, kAdmin), GrpcIs(grpc::StatusCode::OK));
  // Authentication still comes first.
  EXPECT_THAT(CallAs("", stack.registry(), &RegistryStub::GetEnterprise, get, &got),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(AuthE2eTest, HealthStaysOpenWithoutAToken) {
  SecureStack stack(redis_.port(), Options());
  ASSERT_THAT(stack.status(), IsOk());
  auto channel = Connect(stack.registry_port());
  grpc::Status call;
  EXPECT_EQ(CheckHealth(channel.get(), "", absl::Seconds(5), &call), HealthStatus::kServing)
      << call.error_message();
  EXPECT_EQ(
      CheckHealth(channel.get(), "iplus.registry.v1.RegistryService", absl::Seconds(5), &call),
      HealthStatus::kServing)
      << call.error_message();
}

TEST_F(AuthE2eTest, WithoutTokensEveryCallerIsTheAnonymousAdmin) {
  registry::AppConfig config;
  config.server.grpc_address = "127.0.0.1:0";
  config.server.metrics_address = "";
  config.server.auth.allow_unauthenticated = true;
  config.redis.port = redis_.port();
  registry::App app(config);
  ASSERT_THAT(app.Start(), IsOk());
  auto registry = rv1::RegistryService::NewStub(Connect(app.grpc_port()));
  auto audit = av1::AuditService::NewStub(Connect(app.grpc_port()));
  rv1::CreateEnterpriseRequest create;
  *create.mutable_enterprise() = InShenzhen(9);
  rv1::CreateEnterpriseResponse created;
  // Any token, or none, is ignored.
  EXPECT_THAT(CallAs("", *registry, &RegistryStub::CreateEnterprise, create, &created),
              GrpcIs(grpc::StatusCode::OK));
  EXPECT_THAT(CallAs("whatever", *registry, &RegistryStub::CreateEnterprise, create, &created),
              GrpcIs(grpc::StatusCode::OK));
  // No rate limit: the one anonymous principal stands for every caller (admins with a
  // token get 200 calls a second, burst 400).
  rv1::GetEnterpriseRequest get;
  get.set_code(InShenzhen(9).code());
  rv1::GetEnterpriseResponse got;
  for (int i = 0; i < 600; ++i) {
    ASSERT_THAT(CallAs("", *registry, &RegistryStub::GetEnterprise, get, &got),
                GrpcIs(grpc::StatusCode::OK))
        << i;
  }
  std::vector<av1::AuditRecord> records;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && records.size() < 2) {
    records = AllRecords(*audit, {});
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].principal(), "anonymous");
  EXPECT_EQ(records[0].role(), "admin");
  app.Shutdown();
}

TEST_F(AuthE2eTest, ServerRefusesToStartWithoutTokenFileOrExplicitOptOut) {
  auto start = [&](AuthOptions auth) {
    registry::AppConfig config;
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "";
    config.server.auth = auth;
    config.redis.port = redis_.port();
    registry::App app(config);
    absl::Status s = app.Start();
    app.Shutdown();
    return s;
  };
  EXPECT_THAT(
      start(AuthOptions{}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::AllOf(HasSubstr("--token_file"), HasSubstr("--allow_unauthenticated"))));
  AuthOptions both;
  both.token_file = token_file_;
  both.allow_unauthenticated = true;
  EXPECT_THAT(start(both), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("conflicts")));
  AuthOptions missing;
  missing.token_file = token_file_ + "_missing";
  EXPECT_THAT(start(missing), StatusIs(absl::StatusCode::kFailedPrecondition));
  AuthOptions malformed;
  malformed.token_file = token_file_ + "_bad";
  WriteFile(malformed.token_file, "abc ops admin *\n");
  EXPECT_THAT(start(malformed), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sha256")));
  std::remove(malformed.token_file.c_str());
}

// The binary: exit status 2 with a message naming both ways out.
TEST_F(AuthE2eTest, BinaryRefusesToStartWithoutTokenFileOrExplicitOptOut) {
  const std::string log = TempPath("refusal.log");
  auto run = [&](std::vector<std::string> extra, std::vector<std::string> env) {
    std::remove(log.c_str());
    std::vector<std::string> argv = {IPLUS_REGISTRY_BINARY, "--plaintext",
                                     "--grpc_address=127.0.0.1:0",
                                     "--metrics_address=", "--redis_address=127.0.0.1:1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Child child;
    EXPECT_THAT(child.Spawn(argv, env, log), IsOk());
    int status = child.Wait(absl::Seconds(20));
    if (status == -1) child.Stop();
    return std::make_pair(status, ReadFile(log));
  };
  auto [status, out] = run({}, {});
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_THAT(out, HasSubstr("--token_file"));
  EXPECT_THAT(out, HasSubstr("--allow_unauthenticated"));

  std::tie(status, out) = run({"--allow_unauthenticated", "--token_file=" + token_file_}, {});
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_THAT(out, HasSubstr("conflicts"));

  // The environment works like the flag.
  std::tie(status, out) =
      run({}, {"IPLUS_TOKEN_FILE=" + token_file_, "IPLUS_ALLOW_UNAUTHENTICATED=true"});
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_THAT(out, HasSubstr("conflicts"));
  std::remove(log.c_str());
}

}  // namespace
}  // namespace iplus::auth_e2e
