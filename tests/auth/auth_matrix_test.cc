// The authorization matrix end to end: every RPC the registry, ingestion and evaluation
// serve (the audit service on all three ports included) × every role × a principal
// limited to Guangzhou (4401) asking about something inside or outside it, and a
// principal with every region — through gRPC against the real services of a Guangdong
// (44) instance. Without a
// token or with an unknown one every RPC is UNAUTHENTICATED.
//
// The roles each RPC allows are written out here again, independently of the table in
// common/auth/policy.cc, so that an accidental change of either fails the test. The list
// of RPCs is checked against the services' descriptors: a served RPC without a case
// fails.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/refdata/credit_code.h"
#include "common/testing/redis_server.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "tests/auth/auth_test_util.h"

namespace iplus::auth_e2e {
namespace {

using auth::Role;
using ::iplus::ingest::e2e::Number;
using ::iplus::registry::e2e::Manufacturer;

// Inside Guangzhou (registered in 440103, code of 440100) and outside it (Shenzhen).
std::string InsideCode(int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n));
}
std::string OutsideCode(int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91440300%08d", n));
}
rv1::Enterprise Inside(int n) {
  rv1::Enterprise e = Manufacturer(n);
  e.set_code(InsideCode(n));
  return e;
}
rv1::Enterprise Outside(int n) {
  rv1::Enterprise e = Manufacturer(n);
  e.set_code(OutsideCode(n));
  e.set_region("440304");
  e.set_name(absl::StrCat("Shenzhen Parts ", n));
  return e;
}

// Enterprises the cases name.
constexpr int kMain = 1, kOther = 2, kArchive = 3, kCreate = 4;

enum class Scoping {
  kNone,      // the caller's regions do not matter
  kScoped,    // outside the caller's regions: PERMISSION_DENIED
  kInstance,  // reads the whole instance: needs regions covering 44
  kItems,     // a batch: items outside are refused one by one, the call succeeds
};

struct Outcome {
  grpc::Status status;
  bool has_item = false;
  bool item_denied = false;  // PERMISSION_DENIED item status, or NOT_AUTHORIZED reject
};

using Invoke = std::function<Outcome(SecureStack&, const std::string& token, bool inside)>;

struct Case {
  std::string method;  // full name
  std::set<Role> roles;
  Scoping scoping;
  Invoke invoke;
};

const std::set<Role> kEveryone = {Role::kAdmin,   Role::kRegulator, Role::kFundManager,
                                  Role::kPartner, Role::kViewer,    Role::kService};

Outcome Plain(grpc::Status s) { return Outcome{std::move(s)}; }

std::string Reg(const char* m) { return absl::StrCat("/iplus.registry.v1.RegistryService/", m); }
std::string Ing(const char* m) { return absl::StrCat("/iplus.ingest.v1.IngestService/", m); }
std::string Eva(const char* m) {
  return absl::StrCat("/iplus.evaluation.v1.EvaluationService/", m);
}

// Targets the evaluation cases name (created by the suite's set-up).
constexpr char kTarget[] = "auth-turnover";
constexpr char kArchiveTarget[] = "auth-archive";

ev1::Target MatrixTarget(const std::string& id) {
  ev1::Target t;
  t.set_id(id);
  t.set_title("Mean inventory turnover up by half");
  t.set_indicator("inventory_turnover");
  t.mutable_population()->set_kind(::iplus::common::v1::ORGANIZATION_KIND_MANUFACTURER);
  t.set_aggregation(ev1::AGGREGATION_MEAN);
  t.mutable_rule()->mutable_multiple()->set_multiple(1.5);
  t.set_baseline_period("2015");
  t.set_deadline_period("2018");
  return t;
}

std::vector<Case> Cases() {
  std::vector<Case> c;
  auto code = [](bool inside, int n) { return inside ? InsideCode(n) : OutsideCode(n); };
  auto prefix = [](bool inside) { return inside ? std::string("4401") : std::string("4403"); };

  // ----- registry
  c.push_back({Reg("CreateEnterprise"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kScoped,
               [](SecureStack& s, const std::string& t, bool in) {
                 rv1::CreateEnterpriseRequest r;
                 *r.mutable_enterprise() = in ? Inside(kCreate) : Outside(kCreate);
                 rv1::CreateEnterpriseResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::CreateEnterprise, r, &resp));
               }});
  c.push_back({Reg("BatchCreateEnterprises"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kItems,
               [](SecureStack& s, const std::string& t, bool in) {
                 rv1::BatchCreateEnterprisesRequest r;
                 *r.add_requests()->mutable_enterprise() = in ? Inside(kCreate) : Outside(kCreate);
                 rv1::BatchCreateEnterprisesResponse resp;
                 Outcome o{
                     CallAs(t, s.registry(), &RegistryStub::BatchCreateEnterprises, r, &resp)};
                 if (resp.results_size() == 1) {
                   o.has_item = true;
                   o.item_denied = resp.results(0).status().code() ==
                                   static_cast<int>(grpc::StatusCode::PERMISSION_DENIED);
                 }
                 return o;
               }});
  c.push_back({Reg("GetEnterprise"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::GetEnterpriseRequest r;
                 r.set_code(code(in, kMain));
                 rv1::GetEnterpriseResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::GetEnterprise, r, &resp));
               }});
  c.push_back({Reg("BatchGetEnterprises"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::BatchGetEnterprisesRequest r;
                 r.add_codes(InsideCode(kOther));
                 r.add_codes(code(in, kMain));
                 rv1::BatchGetEnterprisesResponse resp;
                 return Plain(
                     CallAs(t, s.registry(), &RegistryStub::BatchGetEnterprises, r, &resp));
               }});
  c.push_back({Reg("UpdateEnterprise"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::UpdateEnterpriseRequest r;
                 r.mutable_enterprise()->set_code(code(in, kMain));
                 r.mutable_enterprise()->set_name("Renamed Parts Co.");
                 r.mutable_update_mask()->add_paths("name");
                 rv1::UpdateEnterpriseResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::UpdateEnterprise, r, &resp));
               }});
  c.push_back({Reg("ArchiveEnterprise"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::ArchiveEnterpriseRequest r;
                 r.set_code(code(in, kArchive));
                 r.set_reason("merged");
                 rv1::ArchiveEnterpriseResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::ArchiveEnterprise, r, &resp));
               }});
  c.push_back({Reg("ListEnterprises"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::ListEnterprisesRequest r;
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 rv1::ListEnterprisesResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::ListEnterprises, r, &resp));
               }});
  c.push_back({Reg("CountEnterprises"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::CountEnterprisesRequest r;
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 r.set_group_by(rv1::DIMENSION_PREFECTURE);
                 rv1::CountEnterprisesResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::CountEnterprises, r, &resp));
               }});
  c.push_back({Reg("ExportEnterprises"),
               {Role::kAdmin, Role::kRegulator, Role::kService},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::ExportEnterprisesRequest r;
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 return Plain(StreamAs(t, s.registry(), &RegistryStub::ExportEnterprises, r));
               }});
  c.push_back({Reg("CreateLink"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::CreateLinkRequest r;
                 r.mutable_link()->set_from_code(InsideCode(kMain));
                 r.mutable_link()->set_to_code(code(in, kOther));
                 r.mutable_link()->set_type(rv1::LINK_TYPE_RD_COOPERATION);
                 rv1::CreateLinkResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::CreateLink, r, &resp));
               }});
  c.push_back({Reg("ListLinks"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::ListLinksRequest r;
                 r.set_code(code(in, kMain));
                 rv1::ListLinksResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::ListLinks, r, &resp));
               }});
  c.push_back({Reg("DeleteLink"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 rv1::DeleteLinkRequest r;
                 r.set_from_code(InsideCode(kMain));
                 r.set_to_code(code(in, kOther));
                 r.set_type(rv1::LINK_TYPE_LOGISTICS);  // never created: NOT_FOUND
                 rv1::DeleteLinkResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::DeleteLink, r, &resp));
               }});
  c.push_back({Reg("ListEvents"),
               {Role::kAdmin, Role::kService},
               Scoping::kInstance,
               [](SecureStack& s, const std::string& t, bool) {
                 rv1::ListEventsRequest r;
                 rv1::ListEventsResponse resp;
                 return Plain(CallAs(t, s.registry(), &RegistryStub::ListEvents, r, &resp));
               }});

  // ----- ingestion
  c.push_back({Ing("ListIndicators"), kEveryone, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::ListIndicatorsRequest r;
                 v1::ListIndicatorsResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::ListIndicators, r, &resp));
               }});
  c.push_back({Ing("GetIndicator"), kEveryone, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::GetIndicatorRequest r;
                 r.set_id("inventory_turnover");
                 v1::GetIndicatorResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::GetIndicator, r, &resp));
               }});
  c.push_back({Ing("CreateIndicator"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::CreateIndicatorRequest r;
                 r.mutable_indicator()->set_id("platform_users");
                 r.mutable_indicator()->set_title("Users of the enterprise's platform");
                 r.mutable_indicator()->set_value_type(v1::VALUE_TYPE_NUMBER);
                 v1::CreateIndicatorResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::CreateIndicator, r, &resp));
               }});
  c.push_back({Ing("RetireIndicator"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::RetireIndicatorRequest r;
                 r.set_id("platform_users");
                 r.set_reason("replaced");
                 v1::RetireIndicatorResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::RetireIndicator, r, &resp));
               }});
  c.push_back({Ing("ReportObservations"),
               {Role::kAdmin, Role::kPartner},
               Scoping::kItems,
               [=](SecureStack& s, const std::string& t, bool in) {
                 v1::ReportObservationsRequest r;
                 *r.add_observations() = Number(in ? "m-in" : "m-out", code(in, kMain),
                                                "inventory_turnover", "2018", 5);
                 v1::ReportObservationsResponse resp;
                 Outcome o{CallAs(t, s.ingest(), &IngestStub::ReportObservations, r, &resp)};
                 if (resp.results_size() == 1) {
                   o.has_item = true;
                   o.item_denied =
                       resp.results(0).reject_reason() == v1::REJECT_REASON_NOT_AUTHORIZED;
                 }
                 return o;
               }});
  c.push_back({Ing("StreamObservations"),
               {Role::kAdmin, Role::kPartner},
               Scoping::kItems,
               [=](SecureStack& s, const std::string& t, bool in) {
                 grpc::ClientContext ctx;
                 SetDeadline(&ctx);
                 if (!t.empty()) ctx.AddMetadata("authorization", "Bearer " + t);
                 auto stream = s.ingest().StreamObservations(&ctx);
                 v1::StreamObservationsRequest batch;
                 batch.set_batch_id(1);
                 *batch.add_observations() = Number(in ? "s-in" : "s-out", code(in, kMain),
                                                    "inventory_turnover", "2018", 5);
                 stream->Write(batch);
                 stream->WritesDone();
                 Outcome o;
                 v1::StreamObservationsResponse ack;
                 while (stream->Read(&ack)) {
                   if (ack.results_size() == 1) {
                     o.has_item = true;
                     o.item_denied =
                         ack.results(0).reject_reason() == v1::REJECT_REASON_NOT_AUTHORIZED;
                   }
                 }
                 o.status = stream->Finish();
                 return o;
               }});
  c.push_back({Ing("GetSeries"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 v1::GetSeriesRequest r;
                 r.set_enterprise_code(code(in, kMain));
                 r.set_indicator("inventory_turnover");
                 v1::GetSeriesResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::GetSeries, r, &resp));
               }});
  c.push_back({Ing("GetObservationHistory"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 v1::GetObservationHistoryRequest r;
                 r.set_enterprise_code(code(in, kMain));
                 r.set_indicator("inventory_turnover");
                 r.set_period("2018");
                 v1::GetObservationHistoryResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::GetObservationHistory, r, &resp));
               }});
  c.push_back({Ing("ScanIndicator"),
               {Role::kAdmin, Role::kRegulator, Role::kService},
               Scoping::kInstance,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::ScanIndicatorRequest r;
                 r.set_indicator("inventory_turnover");
                 r.set_period("2018");
                 return Plain(StreamAs(t, s.ingest(), &IngestStub::ScanIndicator, r));
               }});
  c.push_back({Ing("GetCoverage"),
               {Role::kAdmin, Role::kRegulator, Role::kViewer, Role::kService},
               Scoping::kInstance,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::GetCoverageRequest r;
                 r.set_indicator("inventory_turnover");
                 r.mutable_periods()->set_start("2016");
                 r.mutable_periods()->set_end("2018");
                 v1::GetCoverageResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::GetCoverage, r, &resp));
               }});
  c.push_back({Ing("GetDataVersions"),
               {Role::kAdmin, Role::kRegulator, Role::kService},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::GetDataVersionsRequest r;
                 r.add_keys()->set_indicator("inventory_turnover");
                 r.mutable_keys(0)->set_period("2018");
                 v1::GetDataVersionsResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::GetDataVersions, r, &resp));
               }});
  c.push_back({Ing("ListChanges"),
               {Role::kAdmin, Role::kRegulator, Role::kService},
               Scoping::kInstance,
               [](SecureStack& s, const std::string& t, bool) {
                 v1::ListChangesRequest r;
                 v1::ListChangesResponse resp;
                 return Plain(CallAs(t, s.ingest(), &IngestStub::ListChanges, r, &resp));
               }});

  // ----- evaluation
  c.push_back({Eva("CreateTarget"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 ev1::CreateTargetRequest r;
                 *r.mutable_target() = MatrixTarget("auth-created");
                 ev1::CreateTargetResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::CreateTarget, r, &resp));
               }});
  c.push_back(
      {Eva("GetTarget"), kEveryone, Scoping::kNone, [](SecureStack& s, const std::string& t, bool) {
         ev1::GetTargetRequest r;
         r.set_id(kTarget);
         ev1::GetTargetResponse resp;
         return Plain(CallAs(t, s.evaluation(), &EvaluationStub::GetTarget, r, &resp));
       }});
  c.push_back({Eva("UpdateTarget"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 ev1::UpdateTargetRequest r;
                 r.mutable_target()->set_id(kTarget);
                 r.mutable_target()->set_title("Mean inventory turnover up by a half");
                 r.mutable_update_mask()->add_paths("title");
                 ev1::UpdateTargetResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::UpdateTarget, r, &resp));
               }});
  c.push_back({Eva("ListTargets"), kEveryone, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 ev1::ListTargetsRequest r;
                 ev1::ListTargetsResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::ListTargets, r, &resp));
               }});
  c.push_back({Eva("ArchiveTarget"),
               {Role::kAdmin, Role::kRegulator},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 ev1::ArchiveTargetRequest r;
                 r.set_id(kArchiveTarget);
                 ev1::ArchiveTargetResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::ArchiveTarget, r, &resp));
               }});
  c.push_back({Eva("Evaluate"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 ev1::EvaluateRequest r;
                 r.set_target_id(kTarget);
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 r.set_period("2016");
                 ev1::EvaluateResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::Evaluate, r, &resp));
               }});
  c.push_back({Eva("Breakdown"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 ev1::BreakdownRequest r;
                 r.set_target_id(kTarget);
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 r.set_period("2016");
                 r.set_dimension(ev1::BREAKDOWN_DIMENSION_PREFECTURE);
                 ev1::BreakdownResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::Breakdown, r, &resp));
               }});
  c.push_back({Eva("GetScorecard"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 ev1::GetScorecardRequest r;
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 r.set_period("2016");
                 ev1::GetScorecardResponse resp;
                 return Plain(CallAs(t, s.evaluation(), &EvaluationStub::GetScorecard, r, &resp));
               }});
  c.push_back({Eva("WatchScorecard"), kEveryone, Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 ev1::WatchScorecardRequest r;
                 r.mutable_scope()->set_region_prefix(prefix(in));
                 r.set_period("2016");
                 grpc::ClientContext ctx;
                 SetDeadline(&ctx);
                 if (!t.empty()) ctx.AddMetadata("authorization", "Bearer " + t);
                 auto reader = s.evaluation().WatchScorecard(&ctx, r);
                 ev1::WatchScorecardResponse first;
                 if (reader->Read(&first)) {
                   // The stream serves: its first scorecard arrived; end it.
                   ctx.TryCancel();
                   reader->Finish();
                   return Plain(grpc::Status::OK);
                 }
                 return Plain(reader->Finish());
               }});
  c.push_back({Eva("CheckEnterprise"),
               {Role::kAdmin, Role::kRegulator, Role::kFundManager, Role::kService},
               Scoping::kScoped,
               [=](SecureStack& s, const std::string& t, bool in) {
                 ev1::CheckEnterpriseRequest r;
                 r.set_enterprise_code(code(in, kMain));
                 r.set_indicator("inventory_turnover");
                 r.set_baseline_period("2015");
                 r.set_current_period("2018");
                 r.mutable_rule()->mutable_multiple()->set_multiple(1.5);
                 ev1::CheckEnterpriseResponse resp;
                 return Plain(
                     CallAs(t, s.evaluation(), &EvaluationStub::CheckEnterprise, r, &resp));
               }});

  // ----- the audit service, on every port
  for (int port : {0, 1, 2}) {
    c.push_back({"/iplus.audit.v1.AuditService/ListAuditRecords",
                 {Role::kAdmin, Role::kRegulator},
                 Scoping::kInstance,
                 [port](SecureStack& s, const std::string& t, bool) {
                   av1::ListAuditRecordsRequest r;
                   r.set_page_size(5);
                   av1::ListAuditRecordsResponse resp;
                   AuditStub& stub = port == 0   ? s.registry_audit()
                                     : port == 1 ? s.ingest_audit()
                                                 : s.evaluation_audit();
                   return Plain(CallAs(t, stub, &AuditStub::ListAuditRecords, r, &resp));
                 }});
  }
  return c;
}

// The caller may be refused for its role or regions only with these; everything else
// is an answer of the service itself (OK or a domain error).
bool Refused(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
         s.error_code() == grpc::StatusCode::UNAUTHENTICATED;
}
bool Served(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat(::iplus::registry::e2e::CodeName(static_cast<int>(s.error_code())), " \"",
                      s.error_message(), "\"");
}

class AuthMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new test::RedisServer();
    ASSERT_THAT(redis_->Start(), test::IsOk());
    std::vector<TokenSpec> tokens;
    for (Role role : auth::AllRoles()) {
      const std::string name = auth::RoleName(role);
      const std::string funds = role == Role::kFundManager ? "*" : "";
      tokens.push_back({absl::StrCat("tok-", name, "-gz-7f3a"), name + "-gz", name, "4401", funds});
      tokens.push_back({absl::StrCat("tok-", name, "-all-91bd"), name + "-all", name, "*", funds});
    }
    tokens.push_back({kServiceToken, "ingest", "service", "*"});
    tokens.push_back({kEvaluationToken, "evaluation", "service", "*"});
    const std::string token_file = TempPath("matrix_tokens");
    WriteFile(token_file, TokenFileText(tokens));
    const std::string service_token_file = TempPath("matrix_service_token");
    WriteFile(service_token_file, std::string(kServiceToken) + "\n");
    const std::string evaluation_token_file = TempPath("matrix_evaluation_token");
    WriteFile(evaluation_token_file, std::string(kEvaluationToken) + "\n");

    SecureStack::Options options;
    options.token_file = token_file;
    options.service_token_file = service_token_file;
    options.with_evaluation = true;
    options.evaluation_token_file = evaluation_token_file;
    // The matrix makes many calls per principal; rate limits have their own test.
    options.rate_limits = auth::RateLimits{};
    stack_ = new SecureStack(redis_->port(), options);
    ASSERT_THAT(stack_->status(), test::IsOk());
    ASSERT_TRUE(stack_->WaitIngestReady(Token(Role::kAdmin, false)));

    // The enterprises the cases name, inside and outside Guangzhou.
    rv1::BatchCreateEnterprisesRequest create;
    for (int n : {kMain, kOther, kArchive}) {
      *create.add_requests()->mutable_enterprise() = Inside(n);
      *create.add_requests()->mutable_enterprise() = Outside(n);
    }
    rv1::BatchCreateEnterprisesResponse created;
    ASSERT_THAT(CallAs(Token(Role::kAdmin, false), stack_->registry(),
                       &RegistryStub::BatchCreateEnterprises, create, &created),
                ::iplus::registry::e2e::GrpcIs(grpc::StatusCode::OK));
    for (const auto& r : created.results()) ASSERT_EQ(r.status().code(), 0) << r.status().message();

    // Evaluation's feed loads with its own service token; then the targets the cases name.
    ASSERT_TRUE(stack_->WaitEvaluationServing());
    for (const char* id : {kTarget, kArchiveTarget}) {
      ev1::CreateTargetRequest target;
      *target.mutable_target() = MatrixTarget(id);
      ev1::CreateTargetResponse made;
      ASSERT_THAT(CallAs(Token(Role::kAdmin, false), stack_->evaluation(),
                         &EvaluationStub::CreateTarget, target, &made),
                  ::iplus::registry::e2e::GrpcIs(grpc::StatusCode::OK));
    }
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete redis_;
  }

  static std::string Token(Role role, bool limited) {
    return absl::StrCat("tok-", auth::RoleName(role), limited ? "-gz-7f3a" : "-all-91bd");
  }

  static constexpr char kServiceToken[] = "tok-ingest-service-55c0";
  static constexpr char kEvaluationToken[] = "tok-evaluation-service-0d2e";
  static test::RedisServer* redis_;
  static SecureStack* stack_;
};

test::RedisServer* AuthMatrixTest::redis_ = nullptr;
SecureStack* AuthMatrixTest::stack_ = nullptr;

TEST_F(AuthMatrixTest, EveryServedRpcHasACase) {
  std::set<std::string> covered;
  for (const Case& c : Cases()) covered.insert(c.method);
  for (const char* service :
       {"iplus.registry.v1.RegistryService", "iplus.ingest.v1.IngestService",
        "iplus.evaluation.v1.EvaluationService", "iplus.audit.v1.AuditService"}) {
    const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    ASSERT_NE(d, nullptr) << service;
    for (int i = 0; i < d->method_count(); ++i) {
      const std::string m = absl::StrCat("/", service, "/", d->method(i)->name());
      EXPECT_TRUE(covered.count(m)) << m << " is served but has no case in the matrix";
    }
  }
}

TEST_F(AuthMatrixTest, NoTokenOrAnUnknownTokenIsUnauthenticated) {
  for (const Case& c : Cases()) {
    for (const std::string& token : {std::string(), std::string("not-a-known-token")}) {
      Outcome o = c.invoke(*stack_, token, /*inside=*/true);
      EXPECT_EQ(o.status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << c.method << " with token \"" << token << "\": " << Describe(o.status);
    }
  }
}

TEST_F(AuthMatrixTest, RolesAndRegions) {
  int checked = 0;
  for (const Case& c : Cases()) {
    for (Role role : auth::AllRoles()) {
      const bool allowed = c.roles.count(role) > 0;
      for (bool limited : {false, true}) {
        for (bool inside : {true, false}) {
          const std::string where =
              absl::StrCat(c.method, " as ", auth::RoleName(role),
                           limited ? " limited to 4401" : " with every region",
                           inside ? ", inside" : ", outside");
          Outcome o = c.invoke(*stack_, Token(role, limited), inside);
          ++checked;
          if (!allowed) {
            EXPECT_EQ(o.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
                << where << ": " << Describe(o.status);
            continue;
          }
          const bool refused_by_region = limited && ((c.scoping == Scoping::kScoped && !inside) ||
                                                     c.scoping == Scoping::kInstance);
          if (refused_by_region) {
            EXPECT_EQ(o.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
                << where << ": " << Describe(o.status);
            continue;
          }
          EXPECT_TRUE(Served(o.status)) << where << ": " << Describe(o.status);
          EXPECT_FALSE(Refused(o.status)) << where << ": " << Describe(o.status);
          if (c.scoping == Scoping::kItems) {
            ASSERT_TRUE(o.has_item) << where << ": " << Describe(o.status);
            EXPECT_EQ(o.item_denied, limited && !inside) << where;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 38 * 6 * 4 - 1);
}

// A caller limited to some regions gets lists narrowed to them when it names no region;
// an unknown code is refused by the region in the code, exactly like a known one.
TEST_F(AuthMatrixTest, NarrowingAndUnknownCodes) {
  const std::string gz = Token(Role::kViewer, true);
  rv1::ListEnterprisesRequest list;
  rv1::ListEnterprisesResponse listed;
  ASSERT_TRUE(CallAs(gz, stack_->registry(), &RegistryStub::ListEnterprises, list, &listed).ok());
  ASSERT_GT(listed.enterprises_size(), 0);
  for (const auto& e : listed.enterprises()) EXPECT_EQ(e.region().substr(0, 4), "4401") << e.code();
  rv1::ListEnterprisesResponse all;
  ASSERT_TRUE(CallAs(Token(Role::kViewer, false), stack_->registry(),
                     &RegistryStub::ListEnterprises, list, &all)
                  .ok());
  EXPECT_GT(all.enterprises_size(), listed.enterprises_size());

  rv1::CountEnterprisesRequest count;
  count.set_group_by(rv1::DIMENSION_PREFECTURE);
  rv1::CountEnterprisesResponse counted;
  ASSERT_TRUE(
      CallAs(gz, stack_->registry(), &RegistryStub::CountEnterprises, count, &counted).ok());
  ASSERT_EQ(counted.groups_size(), 1);
  EXPECT_EQ(counted.groups(0).key(), "440100");

  rv1::GetEnterpriseRequest get;
  rv1::GetEnterpriseResponse got;
  get.set_code(OutsideCode(999));  // unknown, code of Shenzhen
  EXPECT_EQ(CallAs(gz, stack_->registry(), &RegistryStub::GetEnterprise, get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  get.set_code(OutsideCode(kMain));  // known, registered in Shenzhen
  grpc::Status known = CallAs(gz, stack_->registry(), &RegistryStub::GetEnterprise, get, &got);
  EXPECT_EQ(known.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  get.set_code(OutsideCode(999));
  grpc::Status unknown = CallAs(gz, stack_->registry(), &RegistryStub::GetEnterprise, get, &got);
  // The same words whether the enterprise exists or not.
  EXPECT_EQ(absl::StrReplaceAll(known.error_message(), {{OutsideCode(kMain), "<code>"}}),
            absl::StrReplaceAll(unknown.error_message(), {{OutsideCode(999), "<code>"}}));
  get.set_code(InsideCode(999));  // unknown, code of Guangzhou
  EXPECT_EQ(CallAs(gz, stack_->registry(), &RegistryStub::GetEnterprise, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Malformed input is validation's to answer, whoever asks.
  get.set_code("91440100-bad");
  EXPECT_EQ(CallAs(gz, stack_->registry(), &RegistryStub::GetEnterprise, get, &got).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetSeriesRequest series;
  series.set_enterprise_code("91440100-bad");
  series.set_indicator("inventory_turnover");
  v1::GetSeriesResponse series_resp;
  EXPECT_EQ(CallAs(gz, stack_->ingest(), &IngestStub::GetSeries, series, &series_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  rv1::ListEnterprisesRequest bad_scope;
  bad_scope.mutable_scope()->set_region_prefix("4X");
  EXPECT_EQ(CallAs(gz, stack_->registry(), &RegistryStub::ListEnterprises, bad_scope, &listed)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Observations for an unknown code outside: NOT_AUTHORIZED, not UNKNOWN_ENTERPRISE.
  v1::ReportObservationsRequest report;
  *report.add_observations() = Number("u-out", OutsideCode(999), "inventory_turnover", "2018", 1);
  *report.add_observations() = Number("u-in", InsideCode(999), "inventory_turnover", "2018", 1);
  v1::ReportObservationsResponse reported;
  ASSERT_TRUE(CallAs(Token(Role::kPartner, true), stack_->ingest(), &IngestStub::ReportObservations,
                     report, &reported)
                  .ok());
  ASSERT_EQ(reported.results_size(), 2);
  EXPECT_EQ(reported.results(0).reject_reason(), v1::REJECT_REASON_NOT_AUTHORIZED);
  EXPECT_EQ(reported.results(1).reject_reason(), v1::REJECT_REASON_UNKNOWN_ENTERPRISE);
}

// Evaluation narrows an empty scope like the registry's lists, refuses a prefix wider
// than the caller's region, and judges CheckEnterprise's code like GetEnterprise.
TEST_F(AuthMatrixTest, EvaluationNarrowingAndUnknownCodes) {
  const std::string gz = Token(Role::kViewer, true);
  ev1::EvaluateRequest evaluate;
  evaluate.set_target_id(kTarget);
  evaluate.set_period("2016");
  ev1::EvaluateResponse evaluated;
  ASSERT_TRUE(
      CallAs(gz, stack_->evaluation(), &EvaluationStub::Evaluate, evaluate, &evaluated).ok());
  EXPECT_EQ(evaluated.evaluation().scope().region_prefix(), "4401");
  ASSERT_TRUE(CallAs(Token(Role::kViewer, false), stack_->evaluation(), &EvaluationStub::Evaluate,
                     evaluate, &evaluated)
                  .ok());
  EXPECT_EQ(evaluated.evaluation().scope().region_prefix(), "");
  // Malformed is validation's to answer, whoever asks.
  evaluate.mutable_scope()->set_region_prefix("4X");
  EXPECT_EQ(CallAs(gz, stack_->evaluation(), &EvaluationStub::Evaluate, evaluate, &evaluated)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A prefix wider than the caller's region.
  evaluate.mutable_scope()->set_region_prefix("44");
  EXPECT_EQ(CallAs(gz, stack_->evaluation(), &EvaluationStub::Evaluate, evaluate, &evaluated)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ev1::CheckEnterpriseRequest check;
  check.set_indicator("inventory_turnover");
  check.set_baseline_period("2015");
  check.set_current_period("2018");
  check.mutable_rule()->mutable_multiple()->set_multiple(1.5);
  ev1::CheckEnterpriseResponse checked;
  const std::string fm = Token(Role::kFundManager, true);
  check.set_enterprise_code(OutsideCode(kMain));  // known, registered in Shenzhen
  grpc::Status known =
      CallAs(fm, stack_->evaluation(), &EvaluationStub::CheckEnterprise, check, &checked);
  EXPECT_EQ(known.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  check.set_enterprise_code(OutsideCode(999));  // unknown, code of Shenzhen
  grpc::Status unknown =
      CallAs(fm, stack_->evaluation(), &EvaluationStub::CheckEnterprise, check, &checked);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(absl::StrReplaceAll(known.error_message(), {{OutsideCode(kMain), "<code>"}}),
            absl::StrReplaceAll(unknown.error_message(), {{OutsideCode(999), "<code>"}}));
  check.set_enterprise_code(InsideCode(999));  // unknown, code of Guangzhou: not refused
  EXPECT_FALSE(
      Refused(CallAs(fm, stack_->evaluation(), &EvaluationStub::CheckEnterprise, check, &checked)));
  check.set_enterprise_code("91440100-bad");
  EXPECT_EQ(CallAs(fm, stack_->evaluation(), &EvaluationStub::CheckEnterprise, check, &checked)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace iplus::auth_e2e
