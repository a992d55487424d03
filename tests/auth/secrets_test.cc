// Secrets never appear in logs, error messages, metric labels or /metrics. A realistic
// session with the real binaries: Redis (append only, fsync always, as funds requires)
// with an ACL user and password, the registry, ingestion, evaluation and funds with a
// token file (debug logging), ingestion calling the registry, evaluation calling both and
// funds calling the registry with their service tokens; calls with good tokens, bad
// tokens, another scheme, a token added by rewriting the file, refused (for the role,
// the region or the fund) and throttled calls. Then every log line, every status message
// the clients saw and every /metrics page are searched for every configured secret: each
// token, each token's SHA-256, the service tokens and the Redis passwords.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/refdata/credit_code.h"
#include "common/testing/free_port.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/auth/auth_test_util.h"

namespace iplus::auth_e2e {
namespace {

using ::iplus::ingest::e2e::Number;
using ::iplus::registry::e2e::CheckHealth;
using ::iplus::registry::e2e::HealthStatus;
using ::iplus::registry::e2e::Manufacturer;
using ::iplus::test::IsOk;

constexpr char kRedisUser[] = "iplus";
constexpr char kRedisAclPassword[] = "acl-pw-Qx7Tz2Lm9Vb4";
constexpr char kRedisDefaultPassword[] = "default-pw-Hd8Kc3Wq1Zr6";
constexpr char kAdminToken[] = "secret-admin-AJ4nB8sQ2wE6";
constexpr char kPartnerToken[] = "secret-partner-PL3mN7bV5cX1";
constexpr char kViewerToken[] = "secret-viewer-VR9tY2uI6oP0";
constexpr char kLateToken[] = "secret-late-LT5gH1jK8lZ3";
constexpr char kServiceToken[] = "secret-service-SV2dF6gH0jK4";
constexpr char kEvaluationToken[] = "secret-evaluation-EV8wQ4rT1yU7";
constexpr char kFundsToken[] = "secret-funds-FS6kL2zX9cV3";
constexpr char kManagerToken[] = "secret-manager-FM1qW5eR8tY2";
constexpr char kBadToken[] = "secret-bad-BD7xC3vB9nM5";

struct Service {
  Child process;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string log;
};

bool WaitServing(int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    // A new channel each time: one refused before the port listened would wait out
    // gRPC's reconnect back-off.
    auto channel = Connect(port);
    if (CheckHealth(channel.get(), "", absl::Seconds(1)) == HealthStatus::kServing) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST(SecretsTest, NoSecretInLogsMessagesOrMetrics) {
  test::RedisServer::Options redis_options;
  redis_options.password = kRedisDefaultPassword;
  redis_options.aof = true;  // appendfsync always: funds refuses anything less
  redis_options.extra_args = {"--user", kRedisUser, "on",   absl::StrCat(">", kRedisAclPassword),
                              "~*",     "&*",       "+@all"};
  test::RedisServer redis(redis_options);
  ASSERT_THAT(redis.Start(), IsOk());

  const std::string token_file = TempPath("secrets_tokens");
  std::vector<TokenSpec> tokens = {
      {kAdminToken, "ops", "admin"},
      {kPartnerToken, "gd-platform", "partner", "4401"},
      {kViewerToken, "analyst", "viewer", "44"},
      {kServiceToken, "ingest", "service"},
      {kEvaluationToken, "evaluation", "service"},
      {kFundsToken, "funds", "service"},
      {kManagerToken, "gd-fund-office", "fund_manager", "44", "gd-fund"}};
  WriteFile(token_file, TokenFileText(tokens));
  const std::string service_token_file = TempPath("secrets_service_token");
  WriteFile(service_token_file, std::string(kServiceToken) + "\n");
  const std::string evaluation_token_file = TempPath("secrets_evaluation_token");
  WriteFile(evaluation_token_file, std::string(kEvaluationToken) + "\n");
  const std::string funds_token_file = TempPath("secrets_funds_token");
  WriteFile(funds_token_file, std::string(kFundsToken) + "\n");
  const std::string redis_password_file = TempPath("secrets_redis_password");
  WriteFile(redis_password_file, std::string(kRedisAclPassword) + "\n");

  auto common = [&](Service& s) {
    s.grpc_port = test::FreePort();
    s.metrics_port = test::FreePort();
    return std::vector<std::string>{absl::StrCat("--grpc_address=127.0.0.1:", s.grpc_port),
                                    absl::StrCat("--metrics_address=127.0.0.1:", s.metrics_port),
                                    absl::StrCat("--redis_address=", redis.address()),
                                    absl::StrCat("--redis_user=", kRedisUser), "--plaintext",
                                    "--log_level=debug", "--region=44",
                                    "--token_file=" + token_file,
                                    // Low limits, so that the session is throttled too.
                                    "--rate_limits=viewer=1:2"};
  };
  Service registry;
  registry.log = TempPath("secrets_registry.log");
  std::vector<std::string> argv = {IPLUS_REGISTRY_BINARY};
  for (auto& a : common(registry)) argv.push_back(a);
  // The registry reads the Redis password from the environment, ingestion from a file.
  ASSERT_THAT(registry.process.Spawn(
                  argv, {absl::StrCat("IPLUS_REDIS_PASSWORD=", kRedisAclPassword)}, registry.log),
              IsOk());
  ASSERT_TRUE(WaitServing(registry.grpc_port, absl::Seconds(20))) << ReadFile(registry.log);

  Service ingest;
  ingest.log = TempPath("secrets_ingest.log");
  argv = {IPLUS_INGEST_BINARY};
  for (auto& a : common(ingest)) argv.push_back(a);
  argv.push_back("--redis_password_file=" + redis_password_file);
  argv.push_back("--service_token_file=" + service_token_file);
  argv.push_back(absl::StrCat("--registry_target=127.0.0.1:", registry.grpc_port));
  ASSERT_THAT(ingest.process.Spawn(argv, {}, ingest.log), IsOk());
  ASSERT_TRUE(WaitServing(ingest.grpc_port, absl::Seconds(20))) << ReadFile(ingest.log);

  // Evaluation: SERVING only once its feed has read the registry and ingest, which
  // requires its service token.
  Service evaluation;
  evaluation.log = TempPath("secrets_evaluation.log");
  argv = {IPLUS_EVALUATION_BINARY};
  for (auto& a : common(evaluation)) argv.push_back(a);
  argv.push_back("--redis_password_file=" + redis_password_file);
  argv.push_back("--service_token_file=" + evaluation_token_file);
  argv.push_back(absl::StrCat("--registry_target=127.0.0.1:", registry.grpc_port));
  argv.push_back(absl::StrCat("--ingest_target=127.0.0.1:", ingest.grpc_port));
  ASSERT_THAT(evaluation.process.Spawn(argv, {}, evaluation.log), IsOk());
  ASSERT_TRUE(WaitServing(evaluation.grpc_port, absl::Seconds(30))) << ReadFile(evaluation.log);

  // Funds: SERVING once Redis answers and keeps writes on disk.
  Service funds;
  funds.log = TempPath("secrets_funds.log");
  argv = {IPLUS_FUNDS_BINARY};
  for (auto& a : common(funds)) argv.push_back(a);
  argv.push_back("--redis_password_file=" + redis_password_file);
  argv.push_back("--service_token_file=" + funds_token_file);
  argv.push_back(absl::StrCat("--registry_target=127.0.0.1:", registry.grpc_port));
  argv.push_back(absl::StrCat("--evaluation_target=127.0.0.1:", evaluation.grpc_port));
  ASSERT_THAT(funds.process.Spawn(argv, {}, funds.log), IsOk());
  ASSERT_TRUE(WaitServing(funds.grpc_port, absl::Seconds(30))) << ReadFile(funds.log);

  auto registry_stub = rv1::RegistryService::NewStub(Connect(registry.grpc_port));
  auto ingest_stub = v1::IngestService::NewStub(Connect(ingest.grpc_port));
  std::vector<std::string> messages;  // every status message the clients saw
  auto note = [&](const grpc::Status& s) {
    messages.push_back(s.error_message());
    return s;
  };

  // Good tokens.
  const std::string code = refdata::CompleteCreditCode("9144010000000001");
  rv1::Enterprise e = Manufacturer(1);
  e.set_code(code);
  rv1::CreateEnterpriseRequest create;
  *create.mutable_enterprise() = e;
  rv1::CreateEnterpriseResponse created;
  EXPECT_TRUE(
      note(CallAs(kAdminToken, *registry_stub, &RegistryStub::CreateEnterprise, create, &created))
          .ok());
  v1::ReportObservationsRequest report;
  *report.add_observations() = Number("s1", code, "inventory_turnover", "2018", 6);
  v1::ReportObservationsResponse reported;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    reported.Clear();
    grpc::Status s = note(
        CallAs(kPartnerToken, *ingest_stub, &IngestStub::ReportObservations, report, &reported));
    if (s.ok() && reported.results_size() == 1 &&
        reported.results(0).outcome() == v1::OUTCOME_ACCEPTED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(reported.results_size(), 1);
  EXPECT_EQ(reported.results(0).outcome(), v1::OUTCOME_ACCEPTED)
      << reported.results(0).message() << "\n"
      << ReadFile(ingest.log);
  for (const auto& r : reported.results()) messages.push_back(r.message());

  // Bad tokens, another scheme, no token, a refused role, a refused region, throttling.
  rv1::GetEnterpriseRequest get;
  get.set_code(code);
  rv1::GetEnterpriseResponse got;
  EXPECT_EQ(
      note(CallAs(kBadToken, *registry_stub, &RegistryStub::GetEnterprise, get, &got)).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    ctx.AddMetadata("authorization", absl::StrCat("Basic ", kAdminToken));
    EXPECT_EQ(note(registry_stub->GetEnterprise(&ctx, get, &got)).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    ctx.AddMetadata("authorization", kAdminToken);  // no scheme
    EXPECT_EQ(note(registry_stub->GetEnterprise(&ctx, get, &got)).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(note(CallAs("", *registry_stub, &RegistryStub::GetEnterprise, get, &got)).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      note(CallAs(kViewerToken, *registry_stub, &RegistryStub::CreateEnterprise, create, &created))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  rv1::Enterprise outside = Manufacturer(2);
  outside.set_code(refdata::CompleteCreditCode("9144030000000002"));
  outside.set_region("440304");
  *report.mutable_observations(0) = Number("s2", outside.code(), "inventory_turnover", "2018", 6);
  EXPECT_TRUE(
      note(CallAs(kPartnerToken, *ingest_stub, &IngestStub::ReportObservations, report, &reported))
          .ok());
  for (const auto& r : reported.results()) messages.push_back(r.message());
  bool throttled = false;
  for (int i = 0; i < 5; ++i) {
    grpc::Status s =
        note(CallAs(kViewerToken, *registry_stub, &RegistryStub::GetEnterprise, get, &got));
    throttled = throttled || s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
  }
  EXPECT_TRUE(throttled);

  // A token added by rewriting the file works (and its loading is logged, without it).
  tokens.push_back({kLateToken, "newcomer", "admin"});
  WriteFile(token_file, TokenFileText(tokens));
  bool late_ok = false;
  const absl::Time late_deadline = absl::Now() + absl::Seconds(10);
  while (!late_ok && absl::Now() < late_deadline) {
    late_ok =
        note(CallAs(kLateToken, *registry_stub, &RegistryStub::GetEnterprise, get, &got)).ok();
    if (!late_ok) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(late_ok);
  // A broken rewrite is reported (file and line), not its content.
  WriteFile(token_file, absl::StrCat(TokenFileText(tokens), kBadToken, " x admin *\n"));
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_TRUE(
      note(CallAs(kLateToken, *registry_stub, &RegistryStub::GetEnterprise, get, &got)).ok());

  // Evaluation: a good token, a bad one, a refused role (audited), a refused region.
  auto evaluation_stub = ev1::EvaluationService::NewStub(Connect(evaluation.grpc_port));
  ev1::GetScorecardRequest card;
  card.set_period("2018");
  ev1::GetScorecardResponse carded;
  EXPECT_TRUE(
      note(CallAs(kAdminToken, *evaluation_stub, &EvaluationStub::GetScorecard, card, &carded))
          .ok());
  EXPECT_EQ(note(CallAs(kBadToken, *evaluation_stub, &EvaluationStub::GetScorecard, card, &carded))
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ev1::CreateTargetRequest target;
  target.mutable_target()->set_id("secret-test");
  ev1::CreateTargetResponse targeted;
  EXPECT_EQ(
      note(CallAs(kViewerToken, *evaluation_stub, &EvaluationStub::CreateTarget, target, &targeted))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  card.mutable_scope()->set_region_prefix("4403");
  EXPECT_EQ(
      note(CallAs(kPartnerToken, *evaluation_stub, &EvaluationStub::GetScorecard, card, &carded))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  // Funds: a fund and a project (the beneficiary checked with the registry under funds'
  // service token), a bad token, a refused role, a fund outside the manager's token.
  auto funds_stub = fv1::FundsService::NewStub(Connect(funds.grpc_port));
  fv1::CreateFundRequest fund;
  fund.mutable_fund()->set_id("gd-fund");
  fund.mutable_fund()->set_name("Guangdong special fund for platforms");
  fund.mutable_fund()->mutable_sponsor()->set_region_code("440000");
  fund.mutable_fund()->add_focus_areas(fv1::FOCUS_AREA_PLATFORMS);
  fund.mutable_fund()->set_currency("CNY");
  fv1::CreateFundResponse fund_created;
  EXPECT_TRUE(
      note(CallAs(kAdminToken, *funds_stub, &FundsStub::CreateFund, fund, &fund_created)).ok());
  fv1::CreateProjectRequest project;
  fv1::Project* p = project.mutable_project();
  p->set_id("pilot-1");
  p->set_fund_id("gd-fund");
  p->set_beneficiary_code(code);
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
  EXPECT_TRUE(
      note(CallAs(kManagerToken, *funds_stub, &FundsStub::CreateProject, project, &project_created))
          .ok());
  fv1::CapitaliseFundRequest capitalise;
  capitalise.set_fund_id("gd-fund");
  capitalise.mutable_amount()->set_currency("CNY");
  capitalise.mutable_amount()->set_fen(100000);
  capitalise.set_request_id("secrets-cap-1");
  fv1::CapitaliseFundResponse capitalised;
  EXPECT_TRUE(
      note(CallAs(kManagerToken, *funds_stub, &FundsStub::CapitaliseFund, capitalise, &capitalised))
          .ok());
  EXPECT_EQ(
      note(CallAs(kBadToken, *funds_stub, &FundsStub::CapitaliseFund, capitalise, &capitalised))
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  capitalise.set_request_id("secrets-cap-2");
  EXPECT_EQ(
      note(CallAs(kPartnerToken, *funds_stub, &FundsStub::CapitaliseFund, capitalise, &capitalised))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  capitalise.set_fund_id("other-fund");
  capitalise.set_request_id("secrets-cap-3");
  EXPECT_EQ(
      note(CallAs(kManagerToken, *funds_stub, &FundsStub::CapitaliseFund, capitalise, &capitalised))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  const std::string registry_metrics = HttpGet(registry.metrics_port, "/metrics");
  const std::string ingest_metrics = HttpGet(ingest.metrics_port, "/metrics");
  const std::string evaluation_metrics = HttpGet(evaluation.metrics_port, "/metrics");
  const std::string funds_metrics = HttpGet(funds.metrics_port, "/metrics");
  EXPECT_THAT(registry_metrics, ::testing::HasSubstr("iplus_rate_limited_total"));
  EXPECT_THAT(ingest_metrics, ::testing::HasSubstr("grpc_server_handled_total"));
  EXPECT_THAT(evaluation_metrics, ::testing::HasSubstr("grpc_server_handled_total"));
  EXPECT_THAT(funds_metrics, ::testing::HasSubstr("iplus_funds_transfers_total"));
  // Callers first: funds, evaluation, ingestion, then the registry they all call. With no
  // call in flight each drain is prompt: the connections this test's idle stubs keep open
  // are closed, not waited for.
  EXPECT_EQ(funds.process.Stop(), 0);
  EXPECT_EQ(evaluation.process.Stop(), 0);
  EXPECT_EQ(ingest.process.Stop(), 0);
  EXPECT_EQ(registry.process.Stop(), 0);
  const std::string registry_log = ReadFile(registry.log);
  const std::string ingest_log = ReadFile(ingest.log);
  const std::string evaluation_log = ReadFile(evaluation.log);
  const std::string funds_log = ReadFile(funds.log);
  // The logs say what happened...
  EXPECT_THAT(registry_log, ::testing::HasSubstr("token file loaded"));
  EXPECT_THAT(registry_log, ::testing::HasSubstr("token file reload failed"));
  EXPECT_THAT(ingest_log, ::testing::HasSubstr("\"redis_auth\":true"));
  EXPECT_THAT(evaluation_log, ::testing::HasSubstr(evaluation_token_file));
  EXPECT_THAT(funds_log, ::testing::HasSubstr(funds_token_file));
  EXPECT_THAT(funds_log, ::testing::HasSubstr("\"redis_auth\":true"));

  // ...and never a secret.
  std::vector<std::pair<std::string, std::string>> secrets = {
      {"Redis ACL password", kRedisAclPassword}, {"Redis default password", kRedisDefaultPassword},
      {"service token", kServiceToken},          {"evaluation's service token", kEvaluationToken},
      {"funds' service token", kFundsToken},     {"bad token", kBadToken}};
  for (const auto& t : tokens) {
    secrets.push_back({absl::StrCat(t.principal, "'s token"), t.secret});
    secrets.push_back({absl::StrCat(t.principal, "'s token hash"), auth::Sha256Hex(t.secret)});
  }
  secrets.push_back({"bad token hash", auth::Sha256Hex(kBadToken)});
  const std::vector<std::pair<std::string, const std::string*>> places = {
      {"registry log", &registry_log},
      {"ingestion log", &ingest_log},
      {"evaluation log", &evaluation_log},
      {"registry /metrics", &registry_metrics},
      {"ingestion /metrics", &ingest_metrics},
      {"evaluation /metrics", &evaluation_metrics},
      {"funds log", &funds_log},
      {"funds /metrics", &funds_metrics}};
  for (const auto& [what, secret] : secrets) {
    for (const auto& [where, text] : places) {
      EXPECT_FALSE(absl::StrContains(*text, secret)) << what << " appears in the " << where;
    }
    for (const std::string& m : messages) {
      EXPECT_FALSE(absl::StrContains(m, secret)) << what << " appears in a status: " << m;
    }
  }
  EXPECT_GT(messages.size(), 10u);
  std::remove(token_file.c_str());
  std::remove(service_token_file.c_str());
  std::remove(evaluation_token_file.c_str());
  std::remove(funds_token_file.c_str());
  std::remove(redis_password_file.c_str());
}

}  // namespace
}  // namespace iplus::auth_e2e
