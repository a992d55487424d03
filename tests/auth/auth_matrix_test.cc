// The authorization matrix end to end: every RPC the registry, ingestion, evaluation and
// funds serve (the audit service on all four ports included) × every role × a principal
// limited to Guangzhou (4401) asking about something inside or outside it, and a
// principal with every region — through gRPC against the real services of a Guangdong
// (44) instance, funds on a Redis that keeps writes on disk. Both fund managers' tokens
// name one fund, Guangzhou's: for the funds RPCs "inside" is that fund (sponsored by
// Guangzhou, its projects' beneficiary in Guangzhou) and "outside" another fund
// (sponsored by Shenzhen, its beneficiary in Shenzhen). Without a token or with an
// unknown one every RPC is UNAUTHENTICATED.
//
// The roles each RPC allows and how it is scoped are written out here again from the
// policy rows' text, independently of the table in common/auth/policy.cc, so that an
// accidental change of either fails the test. The list of RPCs is checked against the
// services' descriptors, per port: a served RPC without a case fails. Further tests
// take the funds' scoping apart: fund managers' lists and other funds, region sponsors,
// a project created again, and a request id sent again by another caller.

#include <atomic>
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
namespace cv1 = ::iplus::common::v1;

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
  kNone,           // the caller's regions do not matter
  kScoped,         // outside the caller's regions: PERMISSION_DENIED
  kInstance,       // reads the whole instance: needs regions covering 44
  kItems,          // a batch: items outside are refused one by one, the call succeeds
  kFund,           // another fund than the token's: PERMISSION_DENIED for fund managers only
  kFundAndRegion,  // as kFund, and a fund sponsored (or a beneficiary) outside the
                   // caller's regions is PERMISSION_DENIED for everyone
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
  std::string server = "";  // the service whose port is called; empty: the method's own
};

// "registry", "ingest", "evaluation" or "funds": the port a case calls.
std::string ServerOf(const Case& c) {
  if (!c.server.empty()) return c.server;
  // "/iplus.<server>.v1.<Service>/<Method>"
  const size_t begin = c.method.find('.') + 1;
  return c.method.substr(begin, c.method.find('.', begin) - begin);
}

const std::set<Role> kEveryone = {Role::kAdmin,   Role::kRegulator, Role::kFundManager,
                                  Role::kPartner, Role::kViewer,    Role::kService};

Outcome Plain(grpc::Status s) { return Outcome{std::move(s)}; }

std::string Reg(const char* m) { return absl::StrCat("/iplus.registry.v1.RegistryService/", m); }
std::string Ing(const char* m) { return absl::StrCat("/iplus.ingest.v1.IngestService/", m); }
std::string Eva(const char* m) {
  return absl::StrCat("/iplus.evaluation.v1.EvaluationService/", m);
}
std::string Fun(const char* m) { return absl::StrCat("/iplus.funds.v1.FundsService/", m); }

// The token of a principal of `role`, limited to Guangzhou or with every region. Fund
// managers' tokens also name one fund, kFundIn.
std::string MatrixToken(Role role, bool limited) {
  return absl::StrCat("tok-", auth::RoleName(role), limited ? "-gz-7f3a" : "-all-91bd");
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

// Funds and projects the funds cases name (created by the suite's set-up). Inside: the
// fund of both fund managers' tokens, sponsored by Guangzhou, and its project for a
// Guangzhou beneficiary; outside: a fund sponsored by Shenzhen and its project for a
// Shenzhen beneficiary.
constexpr char kFundIn[] = "gz-fund";
constexpr char kFundOut[] = "sz-fund";
constexpr char kProjectIn[] = "gz-project";
constexpr char kProjectOut[] = "sz-project";
// Further fixtures of the scoping tests: another fund sponsored by Guangzhou, and a
// project of the inside fund for a Shenzhen beneficiary.
constexpr char kFundIn2[] = "gz-fund-2";
constexpr char kProjectMixed[] = "gz-fund-sz-beneficiary";
// Milestones: "big" (disbursed by the set-up, for the claw-backs) and m1..m90 of 1 fen,
// one for each disbursement the cases make.
constexpr int kSmallMilestones = 90;

// A name not used before in this process: "<what>-<n>".
std::string Fresh(const char* what) {
  static std::atomic<int> n{0};
  return absl::StrCat(what, "-", ++n);
}

cv1::Money Fen(int64_t fen) {
  cv1::Money m;
  m.set_currency("CNY");
  m.set_fen(fen);
  return m;
}

fv1::Fund MatrixFund(const std::string& id, const std::string& sponsor_region) {
  fv1::Fund f;
  f.set_id(id);
  f.set_name("Special fund for industrial internet platforms");
  f.mutable_sponsor()->set_region_code(sponsor_region);
  f.add_focus_areas(fv1::FOCUS_AREA_PLATFORMS);
  f.set_currency("CNY");
  return f;
}

fv1::Project MatrixProject(const std::string& id, const std::string& fund,
                           const std::string& beneficiary) {
  fv1::Project p;
  p.set_id(id);
  p.set_fund_id(fund);
  p.set_beneficiary_code(beneficiary);
  p.set_kind(fv1::PROJECT_KIND_PLATFORM);
  p.set_title("Networked collaboration platform");
  *p.mutable_budget() = Fen(1'000'000);
  auto* big = p.add_milestones();
  big->set_id("big");
  big->set_title("First stage");
  *big->mutable_amount() = Fen(500);
  for (int i = 1; i <= kSmallMilestones; ++i) {
    auto* m = p.add_milestones();
    m->set_id(absl::StrCat("m", i));
    m->set_title(absl::StrCat("Stage ", i));
    *m->mutable_amount() = Fen(1);
  }
  return p;
}

// A pending commitment of 1 fen on the project, made by the admin for a case that
// resolves it; a setup failure comes back as INTERNAL, which no expectation accepts.
absl::StatusOr<std::string> PendingCommitment(SecureStack& s, const std::string& project) {
  fv1::CommitToProjectRequest r;
  r.set_project_id(project);
  *r.mutable_amount() = Fen(1);
  r.set_request_id(Fresh("setup-commit"));
  fv1::CommitToProjectResponse resp;
  grpc::Status st =
      CallAs(MatrixToken(Role::kAdmin, false), s.funds(), &FundsStub::CommitToProject, r, &resp);
  if (!st.ok() || resp.transfers_size() != 1) {
    return absl::InternalError(
        absl::StrCat("setup: commitment on ", project, ": ", st.error_message()));
  }
  return resp.transfers(0).id();
}

Outcome SetupFailed(const absl::Status& s) {
  return Plain(grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message())));
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

  // ----- funds
  auto fund = [](bool inside) { return std::string(inside ? kFundIn : kFundOut); };
  auto project = [](bool inside) { return std::string(inside ? kProjectIn : kProjectOut); };
  const std::set<Role> kFundRoles = {Role::kAdmin, Role::kFundManager};
  const std::set<Role> kFundReaders = {Role::kAdmin, Role::kRegulator, Role::kFundManager,
                                       Role::kViewer};
  const std::set<Role> kLedgerReaders = {Role::kAdmin, Role::kRegulator};
  // "a fund manager only for the funds in its token; a region sponsor in the caller's
  // regions". The stored fund again (created=false) inside and outside.
  c.push_back({Fun("CreateFund"), kFundRoles, Scoping::kFundAndRegion,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::CreateFundRequest r;
                 *r.mutable_fund() = MatrixFund(fund(in), in ? "440100" : "440300");
                 r.set_request_id(Fresh("rid"));
                 fv1::CreateFundResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::CreateFund, r, &resp));
               }});
  c.push_back({Fun("GetFund"), kFundReaders, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::GetFundRequest r;
                 r.set_id(fund(in));
                 fv1::GetFundResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::GetFund, r, &resp));
               }});
  // "a fund manager sees only the funds in its token": narrowed, never refused.
  c.push_back({Fun("ListFunds"), kFundReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::ListFundsRequest r;
                 fv1::ListFundsResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ListFunds, r, &resp));
               }});
  // "the project's fund as for CreateFund; the beneficiary as GetEnterprise": a new
  // project each time, in the inside fund for a Guangzhou beneficiary or in the outside
  // fund for a Shenzhen one.
  c.push_back({Fun("CreateProject"), kFundRoles, Scoping::kFundAndRegion,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::CreateProjectRequest r;
                 *r.mutable_project() =
                     MatrixProject(Fresh(in ? "new-gz" : "new-sz"), fund(in), code(in, kMain));
                 r.set_request_id(Fresh("rid"));
                 fv1::CreateProjectResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::CreateProject, r, &resp));
               }});
  c.push_back({Fun("GetProject"), kFundReaders, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::GetProjectRequest r;
                 r.set_id(project(in));
                 fv1::GetProjectResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::GetProject, r, &resp));
               }});
  // "a fund manager: `fund_id` required and among its funds".
  c.push_back({Fun("ListProjects"), kFundReaders, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::ListProjectsRequest r;
                 r.set_fund_id(fund(in));
                 fv1::ListProjectsResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ListProjects, r, &resp));
               }});
  c.push_back({Fun("CapitaliseFund"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::CapitaliseFundRequest r;
                 r.set_fund_id(fund(in));
                 *r.mutable_amount() = Fen(100);
                 r.set_request_id(Fresh("rid"));
                 fv1::CapitaliseFundResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::CapitaliseFund, r, &resp));
               }});
  c.push_back({Fun("CommitToProject"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::CommitToProjectRequest r;
                 r.set_project_id(project(in));
                 *r.mutable_amount() = Fen(1);
                 r.set_request_id(Fresh("rid"));
                 fv1::CommitToProjectResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::CommitToProject, r, &resp));
               }});
  c.push_back({Fun("PostCommitment"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 auto pending = PendingCommitment(s, project(in));
                 if (!pending.ok()) return SetupFailed(pending.status());
                 fv1::PostCommitmentRequest r;
                 r.set_project_id(project(in));
                 r.set_pending_transfer_id(*pending);
                 r.set_request_id(Fresh("rid"));
                 fv1::PostCommitmentResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::PostCommitment, r, &resp));
               }});
  c.push_back({Fun("VoidCommitment"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 auto pending = PendingCommitment(s, project(in));
                 if (!pending.ok()) return SetupFailed(pending.status());
                 fv1::VoidCommitmentRequest r;
                 r.set_project_id(project(in));
                 r.set_pending_transfer_id(*pending);
                 r.set_reason("plan changed");
                 r.set_request_id(Fresh("rid"));
                 fv1::VoidCommitmentResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::VoidCommitment, r, &resp));
               }});
  c.push_back({Fun("DisburseMilestone"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 // The next milestone not paid yet, so that an allowed call pays it.
                 static std::atomic<int> next[2] = {0, 0};
                 const int n = ++next[in ? 0 : 1];
                 if (n > kSmallMilestones) {
                   return SetupFailed(absl::InternalError("setup: out of milestones"));
                 }
                 fv1::DisburseMilestoneRequest r;
                 r.set_project_id(project(in));
                 r.set_milestone_id(absl::StrCat("m", n));
                 r.set_request_id(Fresh("rid"));
                 fv1::DisburseMilestoneResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::DisburseMilestone, r, &resp));
               }});
  c.push_back({Fun("ReleaseCommitment"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::ReleaseCommitmentRequest r;
                 r.set_project_id(project(in));
                 *r.mutable_amount() = Fen(1);
                 r.set_reason("unused");
                 r.set_request_id(Fresh("rid"));
                 fv1::ReleaseCommitmentResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ReleaseCommitment, r, &resp));
               }});
  c.push_back({Fun("ClawBack"), kFundRoles, Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::ClawBackRequest r;
                 r.set_project_id(project(in));
                 *r.mutable_amount() = Fen(1);
                 r.set_reason("audit finding");
                 r.set_request_id(Fresh("rid"));
                 fv1::ClawBackResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ClawBack, r, &resp));
               }});
  c.push_back({Fun("CreateTransfers"),
               {Role::kAdmin},
               Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::CreateTransfersRequest r;
                 fv1::Transfer* x = r.add_transfers();
                 x->set_id(Fresh("matrix-transfer"));
                 x->set_debit_account_id(absl::StrCat("fund:", kFundIn, ":source"));
                 x->set_credit_account_id(absl::StrCat("fund:", kFundIn));
                 x->set_amount(1);
                 x->set_ledger(1);
                 x->set_type(fv1::IATI_TRANSACTION_TYPE_INCOMING_FUNDS);
                 fv1::CreateTransfersResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::CreateTransfers, r, &resp));
               }});
  c.push_back({Fun("LookupAccounts"), kLedgerReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::LookupAccountsRequest r;
                 r.add_ids(absl::StrCat("fund:", kFundIn));
                 fv1::LookupAccountsResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::LookupAccounts, r, &resp));
               }});
  c.push_back({Fun("LookupTransfers"), kLedgerReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::LookupTransfersRequest r;
                 r.add_ids("capitalise:setup-capital-gz-fund");
                 fv1::LookupTransfersResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::LookupTransfers, r, &resp));
               }});
  c.push_back({Fun("ListAccountTransfers"), kLedgerReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::ListAccountTransfersRequest r;
                 r.set_account_id(absl::StrCat("fund:", kFundIn));
                 r.set_page_size(5);
                 fv1::ListAccountTransfersResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ListAccountTransfers, r, &resp));
               }});
  c.push_back({Fun("GetFundStatement"),
               {Role::kAdmin, Role::kRegulator, Role::kFundManager},
               Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::GetFundStatementRequest r;
                 r.set_fund_id(fund(in));
                 fv1::GetFundStatementResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::GetFundStatement, r, &resp));
               }});
  c.push_back({Fun("GetProjectStatement"),
               {Role::kAdmin, Role::kRegulator, Role::kFundManager},
               Scoping::kFund,
               [=](SecureStack& s, const std::string& t, bool in) {
                 fv1::GetProjectStatementRequest r;
                 r.set_project_id(project(in));
                 fv1::GetProjectStatementResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::GetProjectStatement, r, &resp));
               }});
  c.push_back({Fun("ListJournal"), kLedgerReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::ListJournalRequest r;
                 r.set_page_size(5);
                 fv1::ListJournalResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::ListJournal, r, &resp));
               }});
  c.push_back({Fun("VerifyJournal"), kLedgerReaders, Scoping::kNone,
               [](SecureStack& s, const std::string& t, bool) {
                 fv1::VerifyJournalRequest r;
                 fv1::VerifyJournalResponse resp;
                 return Plain(CallAs(t, s.funds(), &FundsStub::VerifyJournal, r, &resp));
               }});

  // ----- the audit service, on every port
  for (const char* server : {"registry", "ingest", "evaluation", "funds"}) {
    const std::string name = server;
    c.push_back({"/iplus.audit.v1.AuditService/ListAuditRecords",
                 {Role::kAdmin, Role::kRegulator},
                 Scoping::kInstance,
                 [name](SecureStack& s, const std::string& t, bool) {
                   av1::ListAuditRecordsRequest r;
                   r.set_page_size(5);
                   av1::ListAuditRecordsResponse resp;
                   AuditStub& stub = name == "registry"     ? s.registry_audit()
                                     : name == "ingest"     ? s.ingest_audit()
                                     : name == "evaluation" ? s.evaluation_audit()
                                                            : s.funds_audit();
                   return Plain(CallAs(t, stub, &AuditStub::ListAuditRecords, r, &resp));
                 },
                 name});
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
    // Funds requires a Redis that keeps every write on disk; the others share it.
    test::RedisServer::Options durable;
    durable.aof = true;
    durable.appendfsync = "always";
    redis_ = new test::RedisServer(durable);
    ASSERT_THAT(redis_->Start(), test::IsOk());
    std::vector<TokenSpec> tokens;
    for (Role role : auth::AllRoles()) {
      const std::string name = auth::RoleName(role);
      const std::string funds = role == Role::kFundManager ? kFundIn : "";
      tokens.push_back({absl::StrCat("tok-", name, "-gz-7f3a"), name + "-gz", name, "4401", funds});
      tokens.push_back({absl::StrCat("tok-", name, "-all-91bd"), name + "-all", name, "*", funds});
    }
    tokens.push_back({kServiceToken, "ingest", "service", "*"});
    tokens.push_back({kEvaluationToken, "evaluation", "service", "*"});
    tokens.push_back({kFundsToken, "funds", "service", "*"});
    tokens.push_back({kAnyFundGz, "fund_manager-anyfund-gz", "fund_manager", "4401", "*"});
    tokens.push_back({kAnyFundAll, "fund_manager-anyfund-all", "fund_manager", "*", "*"});
    const std::string token_file = TempPath("matrix_tokens");
    WriteFile(token_file, TokenFileText(tokens));
    const std::string service_token_file = TempPath("matrix_service_token");
    WriteFile(service_token_file, std::string(kServiceToken) + "\n");
    const std::string evaluation_token_file = TempPath("matrix_evaluation_token");
    WriteFile(evaluation_token_file, std::string(kEvaluationToken) + "\n");
    const std::string funds_token_file = TempPath("matrix_funds_token");
    WriteFile(funds_token_file, std::string(kFundsToken) + "\n");

    SecureStack::Options options;
    options.token_file = token_file;
    options.service_token_file = service_token_file;
    options.with_evaluation = true;
    options.evaluation_token_file = evaluation_token_file;
    options.with_funds = true;
    options.funds_token_file = funds_token_file;
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

    // Funds: the funds and projects the cases name, capital, and for each project a
    // posted commitment of which milestone "big" is paid.
    ASSERT_TRUE(stack_->WaitFundsServing());
    const std::string admin = Token(Role::kAdmin, false);
    auto ok = ::iplus::registry::e2e::GrpcIs(grpc::StatusCode::OK);
    for (const auto& [id, region] : std::vector<std::pair<std::string, std::string>>{
             {kFundIn, "440100"}, {kFundOut, "440300"}, {kFundIn2, "440100"}}) {
      fv1::CreateFundRequest r;
      *r.mutable_fund() = MatrixFund(id, region);
      fv1::CreateFundResponse resp;
      ASSERT_THAT(CallAs(admin, stack_->funds(), &FundsStub::CreateFund, r, &resp), ok) << id;
      fv1::CapitaliseFundRequest cap;
      cap.set_fund_id(id);
      *cap.mutable_amount() = Fen(10'000'000);
      cap.set_request_id(absl::StrCat("setup-capital-", id));
      fv1::CapitaliseFundResponse capped;
      ASSERT_THAT(CallAs(admin, stack_->funds(), &FundsStub::CapitaliseFund, cap, &capped), ok);
    }
    for (const fv1::Project& p : {MatrixProject(kProjectIn, kFundIn, InsideCode(kMain)),
                                  MatrixProject(kProjectOut, kFundOut, OutsideCode(kMain)),
                                  MatrixProject(kProjectMixed, kFundIn, OutsideCode(kMain))}) {
      fv1::CreateProjectRequest r;
      *r.mutable_project() = p;
      fv1::CreateProjectResponse resp;
      ASSERT_THAT(CallAs(admin, stack_->funds(), &FundsStub::CreateProject, r, &resp), ok)
          << p.id();
    }
    for (const char* project : {kProjectIn, kProjectOut}) {
      fv1::CommitToProjectRequest commit;
      commit.set_project_id(project);
      *commit.mutable_amount() = Fen(100'000);
      commit.set_request_id(absl::StrCat("setup-commit-", project));
      fv1::CommitToProjectResponse committed;
      ASSERT_THAT(CallAs(admin, stack_->funds(), &FundsStub::CommitToProject, commit, &committed),
                  ok);
      ASSERT_EQ(committed.transfers_size(), 1);
      fv1::PostCommitmentRequest post;
      post.set_project_id(project);
      post.set_pending_transfer_id(committed.transfers(0).id());
      post.set_request_id(absl::StrCat("setup-post-", project));
      fv1::PostCommitmentResponse posted;
      ASSERT_THAT(CallAs(admin, stack_->funds(), &FundsStub::PostCommitment, post, &posted), ok);
      fv1::DisburseMilestoneRequest disburse;
      disburse.set_project_id(project);
      disburse.set_milestone_id("big");
      disburse.set_request_id(absl::StrCat("setup-disburse-", project));
      fv1::DisburseMilestoneResponse disbursed;
      ASSERT_THAT(
          CallAs(admin, stack_->funds(), &FundsStub::DisburseMilestone, disburse, &disbursed), ok);
    }
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete redis_;
  }

  static std::string Token(Role role, bool limited) { return MatrixToken(role, limited); }

  // Fund managers of every fund (the matrix's name one): limited to Guangzhou or not.
  static constexpr char kAnyFundGz[] = "tok-fund_manager-anyfund-gz-5e21";
  static constexpr char kAnyFundAll[] = "tok-fund_manager-anyfund-all-8c44";

  static constexpr char kServiceToken[] = "tok-ingest-service-55c0";
  static constexpr char kEvaluationToken[] = "tok-evaluation-service-0d2e";
  static constexpr char kFundsToken[] = "tok-funds-service-b41f";
  static test::RedisServer* redis_;
  static SecureStack* stack_;
};

test::RedisServer* AuthMatrixTest::redis_ = nullptr;
SecureStack* AuthMatrixTest::stack_ = nullptr;

TEST_F(AuthMatrixTest, EveryServedRpcHasACase) {
  std::set<std::pair<std::string, std::string>> covered;  // (server, method)
  for (const Case& c : Cases()) {
    EXPECT_TRUE(covered.insert({ServerOf(c), c.method}).second)
        << c.method << " on " << ServerOf(c) << " has two cases";
  }
  const std::map<std::string, std::vector<std::string>> served = {
      {"registry", {"iplus.registry.v1.RegistryService", "iplus.audit.v1.AuditService"}},
      {"ingest", {"iplus.ingest.v1.IngestService", "iplus.audit.v1.AuditService"}},
      {"evaluation", {"iplus.evaluation.v1.EvaluationService", "iplus.audit.v1.AuditService"}},
      {"funds", {"iplus.funds.v1.FundsService", "iplus.audit.v1.AuditService"}}};
  size_t methods = 0;
  for (const auto& [server, services] : served) {
    for (const std::string& service : services) {
      const auto* d =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
      ASSERT_NE(d, nullptr) << service;
      for (int i = 0; i < d->method_count(); ++i) {
        const std::string m = absl::StrCat("/", service, "/", d->method(i)->name());
        ++methods;
        EXPECT_TRUE(covered.count({server, m}))
            << m << " is served by " << server << " but has no case in the matrix";
      }
    }
  }
  // And no case for something not served.
  EXPECT_EQ(covered.size(), methods);
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
          const bool fund_scoped =
              c.scoping == Scoping::kFund || c.scoping == Scoping::kFundAndRegion;
          const bool region_scoped =
              c.scoping == Scoping::kScoped || c.scoping == Scoping::kFundAndRegion;
          // Both fund managers' tokens name the inside fund only.
          const bool refused_by_fund = role == Role::kFundManager && fund_scoped && !inside;
          const bool refused_by_region =
              limited && ((region_scoped && !inside) || c.scoping == Scoping::kInstance);
          if (refused_by_fund || refused_by_region) {
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
  // 13 registry, 12 ingestion, 10 evaluation and 21 funds RPCs, audit on 4 ports.
  EXPECT_EQ(checked, 60 * 6 * 4);
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

// Fund managers: lists narrowed to the funds of their token, another fund refused even
// when it is sponsored inside their regions (and nothing moves), an unknown fund refused
// like a known one; a fund manager of every fund is kept to its regions for a region
// sponsor only.
TEST_F(AuthMatrixTest, FundManagersAreKeptToTheFundsOfTheirToken) {
  const std::string admin = Token(Role::kAdmin, false);
  const auto list_funds = [&](const std::string& token) {
    fv1::ListFundsResponse resp;
    EXPECT_TRUE(
        CallAs(token, stack_->funds(), &FundsStub::ListFunds, fv1::ListFundsRequest(), &resp).ok())
        << token;
    std::set<std::string> ids;
    for (const auto& f : resp.funds()) ids.insert(f.id());
    return ids;
  };
  const std::set<std::string> only_in = {kFundIn};
  EXPECT_EQ(list_funds(Token(Role::kFundManager, true)), only_in);
  EXPECT_EQ(list_funds(Token(Role::kFundManager, false)), only_in);
  for (const std::string& token : {std::string(kAnyFundAll), std::string(kAnyFundGz),
                                   Token(Role::kViewer, true), Token(Role::kRegulator, true)}) {
    const std::set<std::string> ids = list_funds(token);
    for (const char* id : {kFundIn, kFundOut, kFundIn2}) EXPECT_TRUE(ids.count(id)) << id;
  }

  // ListProjects: a fund manager names one of its funds; the others need not.
  fv1::ListProjectsRequest all_projects;
  fv1::ListProjectsResponse projects;
  for (bool limited : {true, false}) {
    EXPECT_EQ(CallAs(Token(Role::kFundManager, limited), stack_->funds(), &FundsStub::ListProjects,
                     all_projects, &projects)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  ASSERT_TRUE(CallAs(Token(Role::kViewer, true), stack_->funds(), &FundsStub::ListProjects,
                     all_projects, &projects)
                  .ok());
  EXPECT_GE(projects.projects_size(), 3);

  // Another fund, sponsored inside Guangzhou: refused, and its capital does not move.
  const auto capital = [&](const std::string& fund) {
    fv1::GetFundStatementRequest r;
    r.set_fund_id(fund);
    fv1::GetFundStatementResponse resp;
    EXPECT_TRUE(CallAs(admin, stack_->funds(), &FundsStub::GetFundStatement, r, &resp).ok());
    return resp.statement().capital().fen();
  };
  const int64_t before = capital(kFundIn2);
  fv1::CapitaliseFundRequest cap;
  cap.set_fund_id(kFundIn2);
  *cap.mutable_amount() = Fen(5);
  fv1::CapitaliseFundResponse capped;
  fv1::GetFundRequest get;
  get.set_id(kFundIn2);
  fv1::GetFundResponse got;
  for (bool limited : {true, false}) {
    const std::string fm = Token(Role::kFundManager, limited);
    cap.set_request_id(Fresh("fm-other"));
    EXPECT_EQ(CallAs(fm, stack_->funds(), &FundsStub::CapitaliseFund, cap, &capped).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(CallAs(fm, stack_->funds(), &FundsStub::GetFund, get, &got).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(capital(kFundIn2), before);
  cap.set_request_id(Fresh("anyfund"));
  EXPECT_TRUE(CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CapitaliseFund, cap, &capped).ok());
  EXPECT_EQ(capital(kFundIn2), before + 5);

  // A fund that does not exist: refused for a fund manager whose token does not name it,
  // exactly like one that exists; NOT_FOUND for those it may name.
  get.set_id("no-such-fund");
  const grpc::Status unknown =
      CallAs(Token(Role::kFundManager, true), stack_->funds(), &FundsStub::GetFund, get, &got);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  get.set_id(kFundIn2);
  const grpc::Status known =
      CallAs(Token(Role::kFundManager, true), stack_->funds(), &FundsStub::GetFund, get, &got);
  EXPECT_EQ(absl::StrReplaceAll(unknown.error_message(), {{"no-such-fund", "<id>"}}),
            absl::StrReplaceAll(known.error_message(), {{kFundIn2, "<id>"}}));
  get.set_id("no-such-fund");
  EXPECT_EQ(CallAs(kAnyFundGz, stack_->funds(), &FundsStub::GetFund, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A fund manager of every fund, limited to Guangzhou: a region sponsor must be in
  // Guangzhou; a national sponsor is not region-scoped.
  fv1::CreateFundRequest create;
  fv1::CreateFundResponse created;
  *create.mutable_fund() = MatrixFund("any-sz-fund", "440300");
  EXPECT_EQ(
      CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CreateFund, create, &created).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  *create.mutable_fund() = MatrixFund("any-gz-fund", "440100");
  EXPECT_TRUE(CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CreateFund, create, &created).ok());
  create.mutable_fund()->set_id("any-national-fund");
  create.mutable_fund()->mutable_sponsor()->set_national(true);
  EXPECT_TRUE(CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CreateFund, create, &created).ok());
  // And a beneficiary must be in Guangzhou.
  fv1::CreateProjectRequest project;
  fv1::CreateProjectResponse made;
  *project.mutable_project() = MatrixProject("any-gz-sz", "any-gz-fund", OutsideCode(kMain));
  EXPECT_EQ(
      CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CreateProject, project, &made).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  *project.mutable_project() = MatrixProject("any-gz-gz", "any-gz-fund", InsideCode(kMain));
  EXPECT_TRUE(CallAs(kAnyFundGz, stack_->funds(), &FundsStub::CreateProject, project, &made).ok());
}

// CreateProject: "the project's fund as for CreateFund", i.e. a fund sponsored by a
// region outside the caller's regions refuses the project, even for a beneficiary
// inside them.
TEST_F(AuthMatrixTest, AProjectOfAFundSponsoredOutsideTheCallersRegionsIsRefused) {
  fv1::CreateProjectRequest r;
  fv1::CreateProjectResponse resp;
  for (const std::string& token : {Token(Role::kAdmin, true), std::string(kAnyFundGz)}) {
    *r.mutable_project() = MatrixProject(Fresh("cross"), kFundOut, InsideCode(kMain));
    EXPECT_EQ(CallAs(token, stack_->funds(), &FundsStub::CreateProject, r, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << token << ": a project of " << kFundOut << " (sponsored by 440300) for "
        << InsideCode(kMain);
    // The same project in a fund sponsored by Guangzhou is allowed.
    *r.mutable_project() = MatrixProject(Fresh("cross"), kFundIn2, InsideCode(kMain));
    EXPECT_TRUE(CallAs(token, stack_->funds(), &FundsStub::CreateProject, r, &resp).ok()) << token;
  }
}

// A create of a project that exists already (created=false) is judged like a new one:
// its beneficiary outside the caller's regions refuses it, as it refuses a new project
// for that beneficiary.
TEST_F(AuthMatrixTest, RecreatingAProjectIsScopedLikeCreatingIt) {
  const std::string admin_gz = Token(Role::kAdmin, true);
  fv1::CreateProjectRequest r;
  fv1::CreateProjectResponse resp;
  *r.mutable_project() = MatrixProject(Fresh("new-mixed"), kFundIn, OutsideCode(kMain));
  EXPECT_EQ(CallAs(admin_gz, stack_->funds(), &FundsStub::CreateProject, r, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  *r.mutable_project() = MatrixProject(kProjectMixed, kFundIn, OutsideCode(kMain));
  ASSERT_TRUE(
      CallAs(Token(Role::kAdmin, false), stack_->funds(), &FundsStub::CreateProject, r, &resp)
          .ok());
  EXPECT_FALSE(resp.created());
  resp.Clear();
  EXPECT_EQ(CallAs(admin_gz, stack_->funds(), &FundsStub::CreateProject, r, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "the stored project came back: " << resp.project().id() << " for "
      << resp.project().beneficiary_code();
}

// A request id sent again by another caller is authorized again: the stored response
// of the first caller is not handed to a caller refused for the fund or the region.
TEST_F(AuthMatrixTest, ARepeatedRequestIdIsAuthorizedAgain) {
  const std::string admin = Token(Role::kAdmin, false);
  fv1::CapitaliseFundRequest cap;
  cap.set_fund_id(kFundOut);
  *cap.mutable_amount() = Fen(7);
  cap.set_request_id(Fresh("repeated"));
  fv1::CapitaliseFundResponse capped;
  ASSERT_TRUE(CallAs(admin, stack_->funds(), &FundsStub::CapitaliseFund, cap, &capped).ok());
  capped.Clear();
  EXPECT_EQ(CallAs(Token(Role::kFundManager, false), stack_->funds(), &FundsStub::CapitaliseFund,
                   cap, &capped)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED)
      << "another fund manager's retry got " << capped.ShortDebugString();

  fv1::CommitToProjectRequest commit;
  commit.set_project_id(kProjectOut);
  *commit.mutable_amount() = Fen(1);
  commit.set_request_id(Fresh("repeated"));
  fv1::CommitToProjectResponse committed;
  ASSERT_TRUE(CallAs(admin, stack_->funds(), &FundsStub::CommitToProject, commit, &committed).ok());
  EXPECT_EQ(CallAs(Token(Role::kFundManager, true), stack_->funds(), &FundsStub::CommitToProject,
                   commit, &committed)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  fv1::CreateFundRequest create;
  *create.mutable_fund() = MatrixFund(kFundOut, "440300");
  create.set_request_id(Fresh("repeated"));
  fv1::CreateFundResponse created;
  ASSERT_TRUE(CallAs(admin, stack_->funds(), &FundsStub::CreateFund, create, &created).ok());
  EXPECT_EQ(
      CallAs(Token(Role::kAdmin, true), stack_->funds(), &FundsStub::CreateFund, create, &created)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace iplus::auth_e2e
