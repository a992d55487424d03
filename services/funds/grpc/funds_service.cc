#include "services/funds/grpc/funds_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/scope.h"
#include "common/grpc/auth_gate.h"
#include "common/grpc/replayable.h"
#include "common/grpc/status.h"
#include "common/hash/fnv.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/region.h"
#include "common/status/status.h"
#include "services/funds/catalog/validation.h"
#include "services/funds/domain/validate.h"
#include "services/funds/grpc/convert.h"

namespace iplus::funds {
namespace {

namespace cv1 = ::iplus::common::v1;
namespace ev1 = ::iplus::evaluation::v1;
namespace rv1 = ::iplus::registry::v1;
using Op = FundOperation;
using R = CreateTransferResult;

// A commitment's timeout: at most ten years.
constexpr int64_t kMaxTimeoutNs = int64_t{3650} * 86400 * 1'000'000'000;

// Every violation of several statuses in one INVALID_ARGUMENT; another error as is.
absl::Status Merge(const std::vector<absl::Status>& statuses) {
  std::vector<FieldViolation> all;
  for (const absl::Status& s : statuses) {
    if (s.ok()) continue;
    if (s.code() != absl::StatusCode::kInvalidArgument) return s;
    auto v = FieldViolations(s);
    if (v.empty()) return s;
    all.insert(all.end(), v.begin(), v.end());
  }
  return all.empty() ? absl::OkStatus() : InvalidFields(all);
}

absl::Status Required(const std::string& value, const char* field, const char* what = "") {
  if (!value.empty()) return absl::OkStatus();
  return InvalidField(field, absl::StrCat("must be set", what));
}

// Page tokens: "1|<hash of the query>|<position>", web-safe base64.
std::string EncodeToken(const std::string& query, const std::string& position) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("1|", absl::Hex(Fnv1a64(query), absl::kZeroPad16), "|", position));
}

absl::StatusOr<std::string> DecodeToken(const std::string& token, const std::string& query) {
  std::string raw;
  std::vector<std::string> parts;
  if (absl::WebSafeBase64Unescape(token, &raw))
    parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != "1" || parts[2].empty()) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  if (parts[1] != absl::StrCat(absl::Hex(Fnv1a64(query), absl::kZeroPad16))) {
    return InvalidField("page_token",
                        "was issued for a different query; repeat the same other fields");
  }
  return parts[2];
}

absl::StatusOr<int64_t> DecodeNumberToken(const std::string& token, const std::string& query) {
  auto position = DecodeToken(token, query);
  if (!position.ok()) return position.status();
  int64_t n = 0;
  if (!absl::SimpleAtoi(*position, &n) || n < 0) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  return n;
}

// What an account can still spend under debits_must_not_exceed_credits.
int64_t Spendable(const Account& a) {
  return a.credits_posted - a.debits_posted - a.debits_pending;
}

// The milestone's index, or -1.
int FindMilestone(const v1::Project& p, const std::string& id) {
  for (int i = 0; i < p.milestones_size(); ++i) {
    if (p.milestones(i).id() == id) return i;
  }
  return -1;
}

// Marks milestone `milestone_id` disbursed by `t`, and the project COMPLETED once every
// milestone is (a CLOSED project stays closed). False when nothing changed.
bool ApplyDisbursement(v1::Project& p, const std::string& milestone_id, const Transfer& t,
                       absl::Time now) {
  bool changed = false;
  const int i = FindMilestone(p, milestone_id);
  if (i >= 0 && p.milestones(i).status() != v1::MILESTONE_STATUS_DISBURSED) {
    v1::Milestone* m = p.mutable_milestones(i);
    m->set_status(v1::MILESTONE_STATUS_DISBURSED);
    SetTimestamp(t.timestamp_ns, m->mutable_disburse_time());
    m->set_disbursement_transfer_id(t.id);
    changed = true;
  }
  bool all = p.milestones_size() > 0;
  for (const auto& m : p.milestones()) all = all && m.status() == v1::MILESTONE_STATUS_DISBURSED;
  if (all && p.status() == v1::PROJECT_STATUS_ACTIVE) {
    p.set_status(v1::PROJECT_STATUS_COMPLETED);
    changed = true;
  }
  if (changed) SetTimestamp(absl::ToUnixNanos(now), p.mutable_update_time());
  return changed;
}

absl::Status ClosedError(const v1::Project& p, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("project ", p.id(), " is closed: no more ", what));
}

std::string LowerResultName(R r) { return absl::AsciiStrToLower(ResultName(r)); }

}  // namespace

FundsServiceImpl::FundsServiceImpl(LedgerStore* ledger, FundCatalog* catalog, ProjectLocks* locks,
                                   rv1::RegistryService::StubInterface* registry,
                                   ev1::EvaluationService::StubInterface* evaluation,
                                   redis::ReplayCache* replay, Clock* clock,
                                   metrics::Registry& metrics,
                                   std::function<absl::Status()> writable,
                                   FundsServiceOptions options)
    : ledger_(ledger),
      catalog_(catalog),
      locks_(locks),
      registry_(registry),
      evaluation_(evaluation),
      replay_(replay),
      clock_(clock),
      writable_(std::move(writable)),
      options_(std::move(options)),
      transfers_(metrics::BuildCounter()
                     .Name("iplus_funds_transfers_total")
                     .Help("Transfers given to the ledger (fund operations and CreateTransfers), "
                           "by result: the CreateTransferResult in lower case.")
                     .Register(metrics)),
      batch_sizes_(metrics::BuildHistogram()
                       .Name("iplus_funds_batch_size")
                       .Help("Transfers per ledger CreateTransfers call (one for a fund "
                             "operation; the request's size for CreateTransfers).")
                       .Register(metrics)
                       .Add({}, metrics::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200,
                                                                     500, 1000})),
      verifications_(metrics::BuildCounter()
                         .Name("iplus_funds_verify_total")
                         .Help("VerifyJournal runs by outcome: ok, or failed (a discrepancy).")
                         .Register(metrics)) {
  for (int r = static_cast<int>(R::kOk); r <= static_cast<int>(R::kExceedsDebits); ++r) {
    transfers_.Add({{"result", LowerResultName(static_cast<R>(r))}});
  }
  verifications_.Add({{"outcome", "ok"}});
  verifications_.Add({{"outcome", "failed"}});
}

absl::Status FundsServiceImpl::Writable() const {
  return writable_ ? writable_() : absl::OkStatus();
}

absl::Time FundsServiceImpl::Deadline(const grpc::ServerContext& ctx, absl::Duration limit) const {
  return std::min(absl::Now() + limit, absl::FromChrono(ctx.deadline()));
}

absl::StatusOr<std::vector<TransferResult>> FundsServiceImpl::Apply(
    const std::vector<Transfer>& transfers) {
  batch_sizes_.Observe(static_cast<double>(transfers.size()));
  auto results = ledger_->CreateTransfers(transfers);
  if (!results.ok()) return results.status();
  std::map<R, int> counts;
  for (const TransferResult& r : *results) ++counts[r.result];
  for (const auto& [r, n] : counts) {
    transfers_.Add({{"result", LowerResultName(r)}}).Increment(n);
  }
  return results;
}

absl::StatusOr<std::optional<Transfer>> FundsServiceImpl::FindTransfer(const std::string& id) {
  auto found = ledger_->LookupTransfers({id});
  if (!found.ok()) return found.status();
  if (found->size() != 1) return absl::InternalError("the ledger returned no answer");
  return std::move((*found)[0]);
}

absl::StatusOr<Transfer> FundsServiceImpl::Run(const Operation& op) {
  auto transfers = TransfersFor(op.request);
  if (!transfers.ok()) return transfers.status();
  auto results = Apply(*transfers);
  if (!results.ok()) return results.status();
  if (results->size() != 1) return absl::InternalError("the ledger returned no result");
  const TransferResult& r = (*results)[0];
  if (r.succeeded()) return r.transfer;
  return OperationError(op, r);
}

absl::Status FundsServiceImpl::OperationError(const Operation& op, const TransferResult& r) {
  const FundOperationRequest& q = op.request;
  const std::string id = TransferIdFor(q);
  switch (r.result) {
    case R::kExistsWithDifferentBody:
      if (q.operation == Op::kDisburseMilestone) {
        return absl::FailedPreconditionError(
            absl::StrCat("milestone ", q.milestone_id, " of project ", q.project_id,
                         " was already disbursed by transfer ", id, " under another request id"));
      }
      return InvalidField(
          "request_id", absl::StrCat("request id ", q.request_id, " was already used for another ",
                                     OperationName(q.operation), " request (its transfer ", id,
                                     " differs in ", r.differing_field, "); use a new request id"));
    case R::kExceedsCredits: {
      const std::string debit = (*TransfersFor(q))[0].debit_account_id;
      int64_t spendable = -1;
      if (auto a = ledger_->LookupAccounts({debit}); a.ok() && a->size() == 1 && (*a)[0]) {
        spendable = Spendable(*(*a)[0]);
      }
      const std::string have =
          spendable < 0 ? std::string("less") : absl::StrCat(spendable, " fen");
      switch (q.operation) {
        case Op::kCommitToProject:
          return absl::FailedPreconditionError(
              absl::StrCat("fund ", q.fund_id, " holds less than the commitment: ", have,
                           " available, ", q.amount, " fen asked"));
        case Op::kDisburseMilestone:
          return absl::FailedPreconditionError(
              absl::StrCat("project ", q.project_id, " has ", have,
                           " of posted commitments not yet disbursed, ", "less than milestone ",
                           q.milestone_id, "'s ", op.amount, " fen; commit and post more first"));
        case Op::kReleaseCommitment:
          return absl::FailedPreconditionError(
              absl::StrCat("release of ", q.amount, " fen is above what project ", q.project_id,
                           " has posted and not disbursed (", have, ")"));
        case Op::kClawBack:
          return absl::FailedPreconditionError(
              absl::StrCat("claw back of ", q.amount, " fen is above what project ", q.project_id,
                           " disbursed and has not clawed back (", have, ")"));
        default:
          break;
      }
      return absl::FailedPreconditionError(r.status.message());
    }
    case R::kPendingTransferNotFound:
      return absl::NotFoundError(absl::StrCat("no pending commitment ", q.pending_transfer_id,
                                              " (the transfer id CommitToProject returned)"));
    case R::kPendingTransferHasDifferentAccounts:
      return absl::NotFoundError(
          absl::StrCat(q.pending_transfer_id, " is not a commitment of project ", q.project_id));
    case R::kPendingTransferNotPending:
      return absl::FailedPreconditionError(
          absl::StrCat(q.pending_transfer_id, " is not a pending commitment"));
    case R::kPendingTransferAlreadyPosted:
    case R::kPendingTransferAlreadyVoided:
    case R::kPendingTransferExpired:
      return absl::FailedPreconditionError(
          absl::StrCat("commitment ", q.pending_transfer_id, ": ", r.status.message()));
    case R::kExceedsPendingTransferAmount:
      return absl::FailedPreconditionError(absl::StrCat("post amount above the pending commitment ",
                                                        q.pending_transfer_id, ": ",
                                                        r.status.message()));
    default:
      break;
  }
  if (r.status.ok()) {
    return absl::InternalError(absl::StrCat("unexpected ledger result ", ResultName(r.result)));
  }
  return r.status;
}

absl::StatusOr<v1::Project> FundsServiceImpl::LoadProject(const grpc::ServerContext* ctx,
                                                          const std::string& id,
                                                          const char* field) {
  if (id.empty()) return InvalidField(field, "must be set");
  auto p = catalog_->GetProject(id);
  if (!p.ok()) return p.status();
  if (absl::Status s = auth::CheckFund(CurrentPrincipal(ctx), p->fund_id()); !s.ok()) return s;
  return p;
}

absl::StatusOr<std::pair<Account, Account>> FundsServiceImpl::ProjectAccountsOf(
    const std::string& project_id) {
  auto a = ledger_->LookupAccounts(
      {ProjectCommitmentAccountId(project_id), ProjectDisbursedAccountId(project_id)});
  if (!a.ok()) return a.status();
  if (a->size() != 2 || !(*a)[0] || !(*a)[1]) {
    return absl::InternalError(
        absl::StrCat("the ledger accounts of project ", project_id, " are missing"));
  }
  return std::make_pair(*(*a)[0], *(*a)[1]);
}

absl::StatusOr<v1::Project> FundsServiceImpl::MarkDisbursed(const std::string& project_id,
                                                            const std::string& milestone_id,
                                                            const Transfer& t) {
  const absl::Time now = clock_->Now();
  return catalog_->UpdateProject(project_id, [&](v1::Project& p) -> absl::Status {
    if (!ApplyDisbursement(p, milestone_id, t, now)) return absl::AlreadyExistsError("unchanged");
    return absl::OkStatus();
  });
}

absl::Status FundsServiceImpl::Reconcile(std::vector<v1::Project*> projects) {
  struct Open {
    v1::Project* project;
    std::string milestone;
    std::string transfer_id;
  };
  std::vector<Open> open;
  for (v1::Project* p : projects) {
    for (const auto& m : p->milestones()) {
      if (m.status() == v1::MILESTONE_STATUS_DISBURSED) continue;
      open.push_back(Open{p, m.id(), MilestoneTransferId(p->id(), m.id())});
    }
  }
  const absl::Time now = clock_->Now();
  for (size_t begin = 0; begin < open.size(); begin += kMaxBatch) {
    const size_t end = std::min(open.size(), begin + kMaxBatch);
    std::vector<std::string> ids;
    for (size_t i = begin; i < end; ++i) ids.push_back(open[i].transfer_id);
    auto found = ledger_->LookupTransfers(ids);
    if (!found.ok()) return found.status();
    for (size_t i = begin; i < end; ++i) {
      const std::optional<Transfer>& t = (*found)[i - begin];
      if (!t) continue;
      // The ledger is the truth: the transfer happened, the catalog missed it.
      ApplyDisbursement(*open[i].project, open[i].milestone, *t, now);
      auto repaired = MarkDisbursed(open[i].project->id(), open[i].milestone, *t);
      if (!repaired.ok()) {
        log::Warn("milestone disbursement not recorded in the catalog yet",
                  {log::Field::Str("project", open[i].project->id()),
                   log::Field::Str("milestone", open[i].milestone),
                   log::Field::Status("error", repaired.status())});
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::vector<Account>, int64_t>> FundsServiceImpl::StableBalances(
    const std::vector<std::string>& ids) {
  for (int attempt = 0; attempt < options_.statement_attempts; ++attempt) {
    auto before = ledger_->Head();
    if (!before.ok()) return before.status();
    std::vector<Account> accounts;
    for (size_t begin = 0; begin < ids.size(); begin += kMaxBatch) {
      const size_t end = std::min(ids.size(), begin + kMaxBatch);
      auto found =
          ledger_->LookupAccounts(std::vector<std::string>(ids.begin() + begin, ids.begin() + end));
      if (!found.ok()) return found.status();
      for (size_t i = begin; i < end; ++i) {
        const auto& a = (*found)[i - begin];
        if (a) {
          accounts.push_back(*a);
        } else {
          Account zero;
          zero.id = ids[i];
          accounts.push_back(zero);
        }
      }
    }
    auto after = ledger_->Head();
    if (!after.ok()) return after.status();
    if (after->sequence == before->sequence) return std::make_pair(accounts, after->sequence);
  }
  return absl::AbortedError("the journal kept moving while the balances were read; retry");
}

absl::Status FundsServiceImpl::CheckBeneficiary(const grpc::ServerContext& ctx,
                                                const auth::Principal& caller,
                                                const std::string& code, bool allow_archived) {
  rv1::GetEnterpriseRequest request;
  request.set_code(code);
  rv1::GetEnterpriseResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(Deadline(ctx, options_.registry_deadline)));
  grpc::Status status = registry_->GetEnterprise(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    // Judged by the region in the code first, so the answer does not reveal existence.
    if (absl::Status s = auth::CheckEnterprise(caller, code, nullptr); !s.ok()) return s;
    return absl::NotFoundError(absl::StrCat("beneficiary ", code, " is not in the registry"));
  }
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return InvalidField("project.beneficiary_code",
                        absl::StrCat("the registry refused it: ", status.error_message()));
  }
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("registry unreachable for the beneficiary check: ", status.error_message()));
  }
  const rv1::Enterprise& e = response.enterprise();
  if (absl::Status s = auth::CheckEnterprise(caller, code, &e.region()); !s.ok()) return s;
  if (!options_.region_prefix.empty() &&
      !refdata::RegionMatchesPrefix(e.region(), options_.region_prefix)) {
    return InvalidField("project.beneficiary_code",
                        absl::StrCat("is registered in region ", e.region(),
                                     ", outside this instance's region ", options_.region_prefix));
  }
  if (e.archived() && !allow_archived) {
    return absl::FailedPreconditionError(
        absl::StrCat("beneficiary ", code, " is archived in the registry"));
  }
  return absl::OkStatus();
}

absl::Status FundsServiceImpl::AuthorizeFundCreation(const grpc::ServerContext& ctx,
                                                     const v1::Fund& fund) {
  const auth::Principal& caller = CurrentPrincipal(&ctx);
  if (!fund.id().empty()) {
    if (absl::Status s = auth::CheckFund(caller, fund.id()); !s.ok()) return s;
  }
  if (fund.sponsor().kind_case() == v1::Sponsor::kRegionCode &&
      !fund.sponsor().region_code().empty()) {
    return auth::CheckRegion(caller, fund.sponsor().region_code());
  }
  return absl::OkStatus();
}

absl::Status FundsServiceImpl::AuthorizeFund(const grpc::ServerContext& ctx,
                                             const std::string& fund_id) {
  if (fund_id.empty()) return absl::OkStatus();  // the handler names the missing field
  return auth::CheckFund(CurrentPrincipal(&ctx), fund_id);
}

absl::Status FundsServiceImpl::AuthorizeProject(const grpc::ServerContext& ctx,
                                                const std::string& project_id) {
  if (project_id.empty()) return absl::OkStatus();
  auto p = catalog_->GetProject(project_id);
  if (!p.ok()) {
    // An unknown project is the handler's NOT_FOUND; an outage its UNAVAILABLE.
    return p.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus() : p.status();
  }
  return auth::CheckFund(CurrentPrincipal(&ctx), p->fund_id());
}

// The project's fund as for CreateFund (the fund manager's funds, a region sponsor in
// the caller's regions) and the beneficiary as GetEnterprise, also for a project sent
// again (which returns the stored project), so that the answer never depends on what
// another caller created.
absl::Status FundsServiceImpl::AuthorizeProjectCreation(const grpc::ServerContext& ctx,
                                                        const v1::Project& project) {
  const auth::Principal& caller = CurrentPrincipal(&ctx);
  if (!project.fund_id().empty()) {
    if (absl::Status s = auth::CheckFund(caller, project.fund_id()); !s.ok()) return s;
    auto fund = catalog_->GetFund(project.fund_id());
    if (!fund.ok() && fund.status().code() != absl::StatusCode::kNotFound) return fund.status();
    if (fund.ok() && fund->sponsor().kind_case() == v1::Sponsor::kRegionCode) {
      if (absl::Status s = auth::CheckRegion(caller, fund->sponsor().region_code()); !s.ok()) {
        return s;
      }
    }
  }
  if (project.beneficiary_code().empty() || caller.all_regions) return absl::OkStatus();
  return CheckBeneficiary(ctx, caller, project.beneficiary_code(), /*allow_archived=*/true);
}

absl::StatusOr<ev1::CheckEnterpriseResponse> FundsServiceImpl::CheckCondition(
    const grpc::ServerContext& ctx, const v1::Project& project, int index) {
  const v1::Milestone& m = project.milestones(index);
  ev1::CheckEnterpriseRequest request;
  request.set_enterprise_code(project.beneficiary_code());
  request.set_indicator(m.condition().indicator());
  request.set_baseline_period(m.condition().baseline_period());
  request.set_current_period(m.condition().current_period());
  *request.mutable_rule() = m.condition().rule();
  ev1::CheckEnterpriseResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(Deadline(ctx, options_.evaluation_deadline)));
  grpc::Status status = evaluation_->CheckEnterprise(&context, request, &response);
  if (status.ok()) return response;
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return absl::FailedPreconditionError(
          absl::StrCat("milestone ", m.id(), "'s condition (project.milestones[", index,
                       "].condition) cannot be checked: ", status.error_message()));
    default:
      return absl::UnavailableError(
          absl::StrCat("evaluation unavailable for milestone ", m.id(), "'s condition (",
                       GrpcCodeName(status.error_code()), ": ", status.error_message(),
                       "); nothing was disbursed; retry with the same request id"));
  }
}

// --- funds and projects ------------------------------------------------------------------

grpc::Status FundsServiceImpl::CreateFund(grpc::ServerContext* ctx,
                                          const v1::CreateFundRequest* req,
                                          v1::CreateFundResponse* resp) {
  // Authorized before the request id is looked up: a replayed response goes only to a
  // caller allowed to make the request.
  if (absl::Status s = AuthorizeFundCreation(*ctx, req->fund()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(replay_, "CreateFund", req->request_id(), *req, resp, [&]() -> absl::Status {
    if (absl::Status s = Writable(); !s.ok()) return s;
    v1::Fund fund = FundContent(req->fund());
    if (absl::Status s = ValidateFund(fund); !s.ok()) return s;
    const auth::Principal& caller = CurrentPrincipal(ctx);
    if (absl::Status s = auth::CheckFund(caller, fund.id()); !s.ok()) return s;
    if (fund.sponsor().kind_case() == v1::Sponsor::kRegionCode) {
      const std::string& region = fund.sponsor().region_code();
      if (!options_.region_prefix.empty() &&
          !refdata::RegionMatchesPrefix(region, options_.region_prefix)) {
        return InvalidField("fund.sponsor.region_code",
                            absl::StrCat("\"", region, "\" is outside this instance's region ",
                                         options_.region_prefix));
      }
      if (absl::Status s = auth::CheckRegion(caller, region); !s.ok()) return s;
    }
    auto existing = catalog_->GetFund(fund.id());
    if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
      return existing.status();
    }
    if (existing.ok()) {
      if (std::string f = DifferingFundField(fund, *existing); !f.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("fund ", fund.id(), " already exists with a different ", f));
      }
    }
    // The accounts first: a fund in the catalog always has them (creating them again is
    // a no-op).
    auto accounts = ledger_->CreateAccounts(FundAccounts(fund.id()));
    if (!accounts.ok()) return accounts.status();
    for (const AccountResult& a : *accounts) {
      if (!a.status.ok()) return absl::InternalError(a.status.message());
    }
    if (existing.ok()) {
      *resp->mutable_fund() = *existing;
      resp->set_created(false);
      return absl::OkStatus();
    }
    SetTimestamp(absl::ToUnixNanos(clock_->Now()), fund.mutable_create_time());
    fund.set_source_account_id(FundSourceAccountId(fund.id()));
    fund.set_fund_account_id(FundAccountId(fund.id()));
    auto stored = catalog_->CreateFund(fund);
    if (!stored.ok()) return stored.status();
    if (!stored->second) {
      if (std::string f = DifferingFundField(fund, stored->first); !f.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("fund ", fund.id(), " already exists with a different ", f));
      }
    }
    *resp->mutable_fund() = stored->first;
    resp->set_created(stored->second);
    return absl::OkStatus();
  });
}

grpc::Status FundsServiceImpl::GetFund(grpc::ServerContext* ctx, const v1::GetFundRequest* req,
                                       v1::GetFundResponse* resp) {
  if (req->id().empty()) return ToGrpcStatus(InvalidField("id", "must be set"));
  if (absl::Status s = auth::CheckFund(CurrentPrincipal(ctx), req->id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto fund = catalog_->GetFund(req->id());
  if (!fund.ok()) return ToGrpcStatus(fund.status());
  *resp->mutable_fund() = *std::move(fund);
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::ListFunds(grpc::ServerContext* ctx, const v1::ListFundsRequest* req,
                                         v1::ListFundsResponse* resp) {
  auto limit = CheckPageSize(req->page_size());
  if (!limit.ok()) return ToGrpcStatus(limit.status());
  const std::string query = "funds";
  std::string after;
  if (!req->page_token().empty()) {
    auto decoded = DecodeToken(req->page_token(), query);
    if (!decoded.ok()) return ToGrpcStatus(decoded.status());
    after = *decoded;
  }
  const auth::Principal& caller = CurrentPrincipal(ctx);
  if (caller.all_funds) {
    auto page = catalog_->ListFunds(after, *limit);
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (auto& f : page->funds) *resp->add_funds() = std::move(f);
    if (!page->next_after.empty()) resp->set_next_page_token(EncodeToken(query, page->next_after));
    return grpc::Status::OK;
  }
  // A fund manager: only the funds of its token.
  std::vector<std::string> ids;
  for (const std::string& id : caller.funds) {
    if (id > after) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const bool more = static_cast<int>(ids.size()) > *limit;
  if (more) ids.resize(*limit);
  auto funds = catalog_->GetFunds(ids);
  if (!funds.ok()) return ToGrpcStatus(funds.status());
  for (auto& f : *funds) {
    if (f) *resp->add_funds() = *std::move(f);
  }
  if (more) resp->set_next_page_token(EncodeToken(query, ids.back()));
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::CreateProject(grpc::ServerContext* ctx,
                                             const v1::CreateProjectRequest* req,
                                             v1::CreateProjectResponse* resp) {
  if (absl::Status s = AuthorizeProjectCreation(*ctx, req->project()); !s.ok())
    return ToGrpcStatus(s);
  return Replayable(replay_, "CreateProject", req->request_id(), *req, resp, [&]() -> absl::Status {
    if (absl::Status s = Writable(); !s.ok()) return s;
    v1::Project project = ProjectContent(req->project());
    if (absl::Status s = ValidateProject(project); !s.ok()) return s;
    const auth::Principal& caller = CurrentPrincipal(ctx);
    if (absl::Status s = auth::CheckFund(caller, project.fund_id()); !s.ok()) return s;
    auto fund = catalog_->GetFund(project.fund_id());
    if (!fund.ok()) return fund.status();
    auto existing = catalog_->GetProject(project.id());
    if (!existing.ok() && existing.status().code() != absl::StatusCode::kNotFound) {
      return existing.status();
    }
    if (existing.ok()) {
      if (std::string f = DifferingProjectField(project, ProjectContent(*existing)); !f.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("project ", project.id(), " already exists with a different ", f));
      }
    } else if (absl::Status s = CheckBeneficiary(*ctx, caller, project.beneficiary_code(),
                                                 /*allow_archived=*/false);
               !s.ok()) {
      return s;
    }
    auto accounts = ledger_->CreateAccounts(ProjectAccounts(project.fund_id(), project.id()));
    if (!accounts.ok()) return accounts.status();
    for (const AccountResult& a : *accounts) {
      if (!a.status.ok()) return absl::InternalError(a.status.message());
    }
    if (existing.ok()) {
      if (absl::Status s = Reconcile({&*existing}); !s.ok()) return s;
      *resp->mutable_project() = *existing;
      resp->set_created(false);
      return absl::OkStatus();
    }
    const int64_t now = absl::ToUnixNanos(clock_->Now());
    project.set_status(v1::PROJECT_STATUS_ACTIVE);
    SetTimestamp(now, project.mutable_create_time());
    SetTimestamp(now, project.mutable_update_time());
    project.set_commitment_account_id(ProjectCommitmentAccountId(project.id()));
    project.set_disbursed_account_id(ProjectDisbursedAccountId(project.id()));
    for (auto& m : *project.mutable_milestones()) m.set_status(v1::MILESTONE_STATUS_PENDING);
    auto stored = catalog_->CreateProject(project);
    if (!stored.ok()) return stored.status();
    if (!stored->second) {
      if (std::string f = DifferingProjectField(project, ProjectContent(stored->first));
          !f.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("project ", project.id(), " already exists with a different ", f));
      }
    }
    *resp->mutable_project() = stored->first;
    resp->set_created(stored->second);
    return absl::OkStatus();
  });
}

grpc::Status FundsServiceImpl::GetProject(grpc::ServerContext* ctx,
                                          const v1::GetProjectRequest* req,
                                          v1::GetProjectResponse* resp) {
  auto p = LoadProject(ctx, req->id(), "id");
  if (!p.ok()) return ToGrpcStatus(p.status());
  if (absl::Status s = Reconcile({&*p}); !s.ok()) return ToGrpcStatus(s);
  *resp->mutable_project() = *std::move(p);
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::ListProjects(grpc::ServerContext* ctx,
                                            const v1::ListProjectsRequest* req,
                                            v1::ListProjectsResponse* resp) {
  auto limit = CheckPageSize(req->page_size());
  absl::Status code;
  if (!req->beneficiary_code().empty()) {
    if (absl::Status s = refdata::ValidateCreditCode(req->beneficiary_code()); !s.ok()) {
      code = InvalidField("beneficiary_code", s.message());
    }
  }
  const std::string query = absl::StrCat("projects|", req->fund_id(), "|", req->beneficiary_code());
  std::string after;
  absl::Status token;
  if (!req->page_token().empty()) {
    auto decoded = DecodeToken(req->page_token(), query);
    token = decoded.status();
    if (decoded.ok()) after = *decoded;
  }
  if (absl::Status s = Merge({limit.status(), code, token}); !s.ok()) return ToGrpcStatus(s);
  const auth::Principal& caller = CurrentPrincipal(ctx);
  if (!caller.all_funds) {
    if (req->fund_id().empty()) {
      return ToGrpcStatus(absl::PermissionDeniedError(
          "a fund manager lists the projects of one of its funds: set fund_id"));
    }
    if (absl::Status s = auth::CheckFund(caller, req->fund_id()); !s.ok()) return ToGrpcStatus(s);
  }
  auto page = catalog_->ListProjects(req->fund_id(), req->beneficiary_code(), after, *limit);
  if (!page.ok()) return ToGrpcStatus(page.status());
  std::vector<v1::Project*> projects;
  for (auto& p : page->projects) projects.push_back(&p);
  if (absl::Status s = Reconcile(projects); !s.ok()) return ToGrpcStatus(s);
  for (auto& p : page->projects) *resp->add_projects() = std::move(p);
  if (!page->next_after.empty()) resp->set_next_page_token(EncodeToken(query, page->next_after));
  return grpc::Status::OK;
}

// --- fund operations ---------------------------------------------------------------------

grpc::Status FundsServiceImpl::CapitaliseFund(grpc::ServerContext* ctx,
                                              const v1::CapitaliseFundRequest* req,
                                              v1::CapitaliseFundResponse* resp) {
  if (absl::Status s = AuthorizeFund(*ctx, req->fund_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "CapitaliseFund", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        auto amount = PositiveFen(req->amount(), req->has_amount(), "amount");
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                       Required(req->fund_id(), "fund_id"), amount.status(),
                       CheckText(req->memo(), "memo", 0, kMaxMemoChars)});
            !s.ok()) {
          return s;
        }
        if (absl::Status s = auth::CheckFund(CurrentPrincipal(ctx), req->fund_id()); !s.ok())
          return s;
        auto fund = catalog_->GetFund(req->fund_id());
        if (!fund.ok()) return fund.status();
        Operation op;
        op.request.operation = Op::kCapitaliseFund;
        op.request.fund_id = req->fund_id();
        op.request.amount = *amount;
        op.request.memo = req->memo();
        op.request.request_id = req->request_id();
        auto t = Run(op);
        if (!t.ok()) return t.status();
        ToProto(*t, resp->add_transfers());
        return absl::OkStatus();
      });
}

grpc::Status FundsServiceImpl::CommitToProject(grpc::ServerContext* ctx,
                                               const v1::CommitToProjectRequest* req,
                                               v1::CommitToProjectResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "CommitToProject", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        auto amount = PositiveFen(req->amount(), req->has_amount(), "amount");
        absl::Status timeout;
        int64_t timeout_ns = 0;
        if (req->has_timeout()) {
          timeout_ns = DurationNanos(req->timeout());
          if (timeout_ns <= 0 || timeout_ns > kMaxTimeoutNs) {
            timeout = InvalidField("timeout",
                                   "must be positive and at most 3650 days; unset never expires");
          }
        }
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                       Required(req->project_id(), "project_id"), amount.status(), timeout,
                       CheckText(req->memo(), "memo", 0, kMaxMemoChars)});
            !s.ok()) {
          return s;
        }
        auto project = LoadProject(ctx, req->project_id(), "project_id");
        if (!project.ok()) return project.status();
        Operation op;
        op.request.operation = Op::kCommitToProject;
        op.request.fund_id = project->fund_id();
        op.request.project_id = project->id();
        op.request.amount = *amount;
        op.request.timeout_ns = timeout_ns;
        op.request.memo = req->memo();
        op.request.request_id = req->request_id();
        auto existing = FindTransfer(TransferIdFor(op.request));
        if (!existing.ok()) return existing.status();
        std::optional<ProjectLocks::Guard> guard;
        if (!existing->has_value()) {
          // A new commitment: the budget check and the transfer under the project's lock, so
          // that two commitments cannot both pass a check that only one of them fits.
          auto g = locks_->Acquire(project->id(), absl::Now() + options_.lock_wait);
          if (!g.ok()) return g.status();
          guard.emplace(*std::move(g));
          auto fresh = catalog_->GetProject(project->id());
          if (!fresh.ok()) return fresh.status();
          if (fresh->status() == v1::PROJECT_STATUS_CLOSED)
            return ClosedError(*fresh, "commitments");
          auto accounts = ProjectAccountsOf(project->id());
          if (!accounts.ok()) return accounts.status();
          const Account& c = accounts->first;
          const Account& d = accounts->second;
          const int64_t released = c.debits_posted - d.credits_posted;
          const int64_t committed = c.credits_pending + c.credits_posted - released;
          const int64_t budget = fresh->budget().fen();
          int64_t total;
          if (__builtin_add_overflow(committed, *amount, &total) || total > budget) {
            return absl::FailedPreconditionError(absl::StrCat(
                "commitments to project ", project->id(), " would exceed its budget: ", committed,
                " fen committed, ", *amount, " fen asked, budget ", budget, " fen (",
                std::max<int64_t>(0, budget - committed), " fen uncommitted)"));
          }
        }
        auto t = Run(op);
        if (!t.ok()) return t.status();
        ToProto(*t, resp->add_transfers());
        return absl::OkStatus();
      });
}

grpc::Status FundsServiceImpl::PostCommitment(grpc::ServerContext* ctx,
                                              const v1::PostCommitmentRequest* req,
                                              v1::PostCommitmentResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "PostCommitment", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        absl::StatusOr<int64_t> amount = 0;
        if (req->has_amount()) amount = PositiveFen(req->amount(), true, "amount");
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                       Required(req->project_id(), "project_id"),
                       Required(req->pending_transfer_id(), "pending_transfer_id",
                                ": the transfer id CommitToProject returned"),
                       amount.status()});
            !s.ok()) {
          return s;
        }
        auto project = LoadProject(ctx, req->project_id(), "project_id");
        if (!project.ok()) return project.status();
        Operation op;
        op.request.operation = Op::kPostCommitment;
        op.request.fund_id = project->fund_id();
        op.request.project_id = project->id();
        op.request.amount = *amount;
        op.request.pending_transfer_id = req->pending_transfer_id();
        op.request.request_id = req->request_id();
        auto existing = FindTransfer(TransferIdFor(op.request));
        if (!existing.ok()) return existing.status();
        if (!existing->has_value() && project->status() == v1::PROJECT_STATUS_CLOSED) {
          return ClosedError(*project, "commitments");
        }
        auto t = Run(op);
        if (!t.ok()) return t.status();
        ToProto(*t, resp->add_transfers());
        return absl::OkStatus();
      });
}

grpc::Status FundsServiceImpl::VoidCommitment(grpc::ServerContext* ctx,
                                              const v1::VoidCommitmentRequest* req,
                                              v1::VoidCommitmentResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "VoidCommitment", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                       Required(req->project_id(), "project_id"),
                       Required(req->pending_transfer_id(), "pending_transfer_id",
                                ": the transfer id CommitToProject returned"),
                       CheckText(req->reason(), "reason", 0, kMaxMemoChars)});
            !s.ok()) {
          return s;
        }
        auto project = LoadProject(ctx, req->project_id(), "project_id");
        if (!project.ok()) return project.status();
        // Voiding gives money back to the fund: allowed on a closed project too.
        Operation op;
        op.request.operation = Op::kVoidCommitment;
        op.request.fund_id = project->fund_id();
        op.request.project_id = project->id();
        op.request.pending_transfer_id = req->pending_transfer_id();
        op.request.memo = req->reason();
        op.request.request_id = req->request_id();
        auto t = Run(op);
        if (!t.ok()) return t.status();
        ToProto(*t, resp->add_transfers());
        return absl::OkStatus();
      });
}

grpc::Status FundsServiceImpl::DisburseMilestone(grpc::ServerContext* ctx,
                                                 const v1::DisburseMilestoneRequest* req,
                                                 v1::DisburseMilestoneResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "DisburseMilestone", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it is recorded in the memo"),
                       Required(req->project_id(), "project_id"),
                       Required(req->milestone_id(), "milestone_id")});
            !s.ok()) {
          return s;
        }
        auto project = LoadProject(ctx, req->project_id(), "project_id");
        if (!project.ok()) return project.status();
        const int index = FindMilestone(*project, req->milestone_id());
        if (index < 0) {
          return absl::NotFoundError(
              absl::StrCat("project ", project->id(), " has no milestone ", req->milestone_id()));
        }
        const v1::Milestone& milestone = project->milestones(index);
        Operation op;
        op.request.operation = Op::kDisburseMilestone;
        op.request.fund_id = project->fund_id();
        op.request.project_id = project->id();
        op.request.milestone_id = milestone.id();
        op.request.amount = milestone.amount().fen();
        op.request.request_id = req->request_id();
        op.amount = milestone.amount().fen();
        auto expected = TransfersFor(op.request);
        if (!expected.ok()) return expected.status();
        const Transfer& transfer = (*expected)[0];

        // The response once the transfer exists: the catalog updated (or repaired).
        auto finish = [&](const Transfer& t) -> absl::Status {
          auto updated = MarkDisbursed(project->id(), milestone.id(), t);
          if (!updated.ok()) return updated.status();
          ToProto(t, resp->add_transfers());
          const int i = FindMilestone(*updated, milestone.id());
          if (i >= 0) *resp->mutable_milestone() = updated->milestones(i);
          return absl::OkStatus();
        };

        auto existing = FindTransfer(transfer.id);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          const Transfer& stored = **existing;
          if (DifferingField(transfer, stored).empty()) return finish(stored);  // a retry
          // Paid under another request id: the catalog may still need to learn it.
          if (auto repaired = MarkDisbursed(project->id(), milestone.id(), stored);
              !repaired.ok()) {
            log::Warn("milestone disbursement not recorded in the catalog yet",
                      {log::Field::Str("project", project->id()),
                       log::Field::Str("milestone", milestone.id()),
                       log::Field::Status("error", repaired.status())});
          }
          return absl::FailedPreconditionError(absl::StrCat(
              "milestone ", milestone.id(), " of project ", project->id(),
              " was already disbursed by transfer ", stored.id, " (request ", stored.memo, ")"));
        }
        if (project->status() == v1::PROJECT_STATUS_CLOSED) {
          return ClosedError(*project, "disbursements");
        }
        std::optional<ev1::CheckEnterpriseResponse> check;
        if (milestone.has_condition()) {
          auto c = CheckCondition(*ctx, *project, index);
          if (!c.ok()) return c.status();
          if (!c->meets()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "milestone ", milestone.id(), "'s condition is not met: ", c->explanation()));
          }
          check = *std::move(c);
        }
        auto guard = locks_->Acquire(project->id(), absl::Now() + options_.lock_wait);
        if (!guard.ok()) return guard.status();
        auto fresh = catalog_->GetProject(project->id());
        if (!fresh.ok()) return fresh.status();
        if (fresh->status() == v1::PROJECT_STATUS_CLOSED) {
          return ClosedError(*fresh, "disbursements");
        }
        auto t = Run(op);
        if (!t.ok()) return t.status();
        if (absl::Status s = finish(*t); !s.ok()) return s;
        if (check) *resp->mutable_check() = *std::move(check);
        return absl::OkStatus();
      });
}

grpc::Status FundsServiceImpl::ReleaseCommitment(grpc::ServerContext* ctx,
                                                 const v1::ReleaseCommitmentRequest* req,
                                                 v1::ReleaseCommitmentResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(
      replay_, "ReleaseCommitment", req->request_id(), *req, resp, [&]() -> absl::Status {
        if (absl::Status s = Writable(); !s.ok()) return s;
        absl::StatusOr<int64_t> amount = 0;
        if (req->has_amount()) amount = PositiveFen(req->amount(), true, "amount");
        if (absl::Status s =
                Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                       Required(req->project_id(), "project_id"), amount.status(),
                       CheckText(req->reason(), "reason", 0, kMaxMemoChars)});
            !s.ok()) {
          return s;
        }
        auto project = LoadProject(ctx, req->project_id(), "project_id");
        if (!project.ok()) return project.status();
        Operation op;
        op.request.operation = Op::kReleaseCommitment;
        op.request.fund_id = project->fund_id();
        op.request.project_id = project->id();
        op.request.memo = req->reason();
        op.request.request_id = req->request_id();
        const std::string id = TransferIdFor(op.request);

        auto close = [&]() -> absl::Status {
          if (!req->close()) return absl::OkStatus();
          const absl::Time now = clock_->Now();
          auto closed = catalog_->UpdateProject(project->id(), [&](v1::Project& p) -> absl::Status {
            if (p.status() == v1::PROJECT_STATUS_CLOSED) return absl::AlreadyExistsError("closed");
            p.set_status(v1::PROJECT_STATUS_CLOSED);
            SetTimestamp(absl::ToUnixNanos(now), p.mutable_update_time());
            return absl::OkStatus();
          });
          return closed.status();
        };
        auto answer = [&]() -> absl::Status {
          auto p = catalog_->GetProject(project->id());
          if (!p.ok()) return p.status();
          if (absl::Status s = Reconcile({&*p}); !s.ok()) return s;
          *resp->mutable_project() = *std::move(p);
          return absl::OkStatus();
        };

        auto existing = FindTransfer(id);
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          // A retry. With an amount the ledger compares the whole body; without one, the
          // amount was resolved by the first call, so everything else is compared here.
          const Transfer& stored = **existing;
          if (req->has_amount()) {
            op.request.amount = *amount;
            auto t = Run(op);
            if (!t.ok()) return t.status();
            ToProto(*t, resp->add_transfers());
          } else {
            op.request.amount = stored.amount;
            auto mine = TransfersFor(op.request);
            if (!mine.ok()) return mine.status();
            if (std::string f = DifferingField((*mine)[0], stored); !f.empty()) {
              return InvalidField("request_id",
                                  absl::StrCat("request id ", req->request_id(),
                                               " was already used for another release request "
                                               "(its transfer ",
                                               id, " differs in ", f, "); use a new request id"));
            }
            ToProto(stored, resp->add_transfers());
          }
          if (absl::Status s = close(); !s.ok()) return s;
          return answer();
        }

        auto guard = locks_->Acquire(project->id(), absl::Now() + options_.lock_wait);
        if (!guard.ok()) return guard.status();
        auto accounts = ProjectAccountsOf(project->id());
        if (!accounts.ok()) return accounts.status();
        const Account& c = accounts->first;
        const int64_t left = Spendable(c);
        if (req->close() && c.credits_pending > 0) {
          return absl::FailedPreconditionError(
              absl::StrCat("project ", project->id(), " has ", c.credits_pending,
                           " fen in pending commitments: post or void them before closing it"));
        }
        if (req->close() && req->has_amount() && *amount != left) {
          return absl::FailedPreconditionError(absl::StrCat("closing project ", project->id(),
                                                            " releases everything left (", left,
                                                            " fen): leave amount unset"));
        }
        op.request.amount = req->has_amount() ? *amount : left;
        if (op.request.amount > 0) {
          auto t = Run(op);
          if (!t.ok()) return t.status();
          ToProto(*t, resp->add_transfers());
        }
        if (absl::Status s = close(); !s.ok()) return s;
        return answer();
      });
}

grpc::Status FundsServiceImpl::ClawBack(grpc::ServerContext* ctx, const v1::ClawBackRequest* req,
                                        v1::ClawBackResponse* resp) {
  if (absl::Status s = AuthorizeProject(*ctx, req->project_id()); !s.ok()) return ToGrpcStatus(s);
  return Replayable(replay_, "ClawBack", req->request_id(), *req, resp, [&]() -> absl::Status {
    if (absl::Status s = Writable(); !s.ok()) return s;
    auto amount = PositiveFen(req->amount(), req->has_amount(), "amount");
    if (absl::Status s =
            Merge({Required(req->request_id(), "request_id", ": it names the transfer"),
                   Required(req->project_id(), "project_id"), amount.status(),
                   CheckText(req->reason(), "reason", 0, kMaxMemoChars)});
        !s.ok()) {
      return s;
    }
    auto project = LoadProject(ctx, req->project_id(), "project_id");
    if (!project.ok()) return project.status();
    if (!req->milestone_id().empty() && FindMilestone(*project, req->milestone_id()) < 0) {
      return absl::NotFoundError(
          absl::StrCat("project ", project->id(), " has no milestone ", req->milestone_id()));
    }
    Operation op;
    op.request.operation = Op::kClawBack;
    op.request.fund_id = project->fund_id();
    op.request.project_id = project->id();
    op.request.amount = *amount;
    op.request.milestone_id = req->milestone_id();
    op.request.memo = req->reason();
    op.request.request_id = req->request_id();
    auto t = Run(op);
    if (!t.ok()) return t.status();
    ToProto(*t, resp->add_transfers());
    return absl::OkStatus();
  });
}

// --- the ledger ------------------------------------------------------------------------

grpc::Status FundsServiceImpl::CreateTransfers(grpc::ServerContext*,
                                               const v1::CreateTransfersRequest* req,
                                               v1::CreateTransfersResponse* resp) {
  if (absl::Status s = Writable(); !s.ok()) return ToGrpcStatus(s);
  if (absl::Status s = CheckBatchSize("transfers", req->transfers_size(), false); !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::vector<Transfer> transfers;
  transfers.reserve(req->transfers_size());
  for (const auto& t : req->transfers()) transfers.push_back(TransferFromProto(t));
  auto results = Apply(transfers);
  if (!results.ok()) return ToGrpcStatus(results.status());
  for (const TransferResult& r : *results) {
    auto* out = resp->add_results();
    out->set_index(r.index);
    out->set_result(static_cast<v1::CreateTransferResult>(r.result));
    *out->mutable_status() = ToRpcStatus(r.status);
    if (r.succeeded()) ToProto(r.transfer, out->mutable_transfer());
    if (r.result == R::kLinkedEventFailed) out->set_failed_index(r.failed_index);
  }
  return grpc::Status::OK;
}

namespace {

// LookupAccounts and LookupTransfers: the found items in request order, and the ids not
// found. `lookup` is the ledger's batch lookup; `add` appends one item to the response.
template <typename Req, typename Resp, typename Lookup, typename Add>
grpc::Status LookupByIds(const Req& req, Resp* resp, Lookup lookup, Add add) {
  if (absl::Status s = CheckBatchSize("ids", req.ids_size(), true); !s.ok()) {
    return ToGrpcStatus(s);
  }
  std::vector<std::string> ids(req.ids().begin(), req.ids().end());
  if (ids.empty()) return grpc::Status::OK;
  auto found = lookup(ids);
  if (!found.ok()) return ToGrpcStatus(found.status());
  for (size_t i = 0; i < ids.size(); ++i) {
    if ((*found)[i]) {
      ToProto(*(*found)[i], add(resp));
    } else {
      resp->add_missing_ids(ids[i]);
    }
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status FundsServiceImpl::LookupAccounts(grpc::ServerContext*,
                                              const v1::LookupAccountsRequest* req,
                                              v1::LookupAccountsResponse* resp) {
  return LookupByIds(
      *req, resp,
      [this](const std::vector<std::string>& ids) { return ledger_->LookupAccounts(ids); },
      [](v1::LookupAccountsResponse* r) { return r->add_accounts(); });
}

grpc::Status FundsServiceImpl::LookupTransfers(grpc::ServerContext*,
                                               const v1::LookupTransfersRequest* req,
                                               v1::LookupTransfersResponse* resp) {
  return LookupByIds(
      *req, resp,
      [this](const std::vector<std::string>& ids) { return ledger_->LookupTransfers(ids); },
      [](v1::LookupTransfersResponse* r) { return r->add_transfers(); });
}

grpc::Status FundsServiceImpl::ListAccountTransfers(grpc::ServerContext*,
                                                    const v1::ListAccountTransfersRequest* req,
                                                    v1::ListAccountTransfersResponse* resp) {
  AccountTransfersQuery q;
  q.account_id = req->account_id();
  q.start_ns = req->has_start_time() ? TimestampNanos(req->start_time()) : 0;
  q.end_ns = req->has_end_time() ? TimestampNanos(req->end_time()) : 0;
  q.page_size = req->page_size();
  const std::string query = absl::StrCat("account|", q.account_id, "|", q.end_ns);
  absl::Status token;
  if (!req->page_token().empty()) {
    auto start = DecodeNumberToken(req->page_token(), query);
    token = start.status();
    if (start.ok()) q.start_ns = *start;
  }
  if (absl::Status s =
          Merge({Required(q.account_id, "account_id"), CheckAccountTransfersQuery(q), token});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto page = ledger_->ListAccountTransfers(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const Transfer& t : page->transfers) ToProto(t, resp->add_transfers());
  if (page->next_start_ns != 0) {
    resp->set_next_page_token(EncodeToken(query, absl::StrCat(page->next_start_ns)));
  }
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::GetFundStatement(grpc::ServerContext* ctx,
                                                const v1::GetFundStatementRequest* req,
                                                v1::GetFundStatementResponse* resp) {
  if (req->fund_id().empty()) return ToGrpcStatus(InvalidField("fund_id", "must be set"));
  if (absl::Status s = auth::CheckFund(CurrentPrincipal(ctx), req->fund_id()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto fund = catalog_->GetFund(req->fund_id());
  if (!fund.ok()) return ToGrpcStatus(fund.status());
  auto projects = catalog_->ProjectIdsOfFund(fund->id());
  if (!projects.ok()) return ToGrpcStatus(projects.status());
  std::vector<std::string> ids = {FundSourceAccountId(fund->id()), FundAccountId(fund->id())};
  for (const std::string& p : *projects) {
    ids.push_back(ProjectCommitmentAccountId(p));
    ids.push_back(ProjectDisbursedAccountId(p));
  }
  auto balances = StableBalances(ids);
  if (!balances.ok()) return ToGrpcStatus(balances.status());
  const std::vector<Account>& a = balances->first;
  const Account& source = a[0];
  const Account& held = a[1];
  int64_t released = 0, disbursed = 0, clawed_back = 0;
  for (size_t i = 2; i + 1 < a.size(); i += 2) {
    const Account& c = a[i];
    const Account& d = a[i + 1];
    disbursed += d.credits_posted;
    clawed_back += d.debits_posted;
    released += c.debits_posted - d.credits_posted;
  }
  v1::FundStatement* s = resp->mutable_statement();
  s->set_fund_id(fund->id());
  SetCny(source.debits_posted, s->mutable_capital());
  SetCny(held.debits_pending, s->mutable_committed());
  SetCny(held.debits_posted, s->mutable_posted());
  SetCny(released, s->mutable_released());
  SetCny(disbursed, s->mutable_disbursed());
  SetCny(clawed_back, s->mutable_clawed_back());
  SetCny(source.debits_posted + released + clawed_back - held.debits_posted - held.debits_pending,
         s->mutable_available());
  s->set_journal_sequence(balances->second);
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::GetProjectStatement(grpc::ServerContext* ctx,
                                                   const v1::GetProjectStatementRequest* req,
                                                   v1::GetProjectStatementResponse* resp) {
  auto project = LoadProject(ctx, req->project_id(), "project_id");
  if (!project.ok()) return ToGrpcStatus(project.status());
  auto balances = StableBalances(
      {ProjectCommitmentAccountId(project->id()), ProjectDisbursedAccountId(project->id())});
  if (!balances.ok()) return ToGrpcStatus(balances.status());
  if (absl::Status s = Reconcile({&*project}); !s.ok()) return ToGrpcStatus(s);
  const Account& c = balances->first[0];
  const Account& d = balances->first[1];
  const int64_t committed = c.credits_pending;
  const int64_t posted = c.credits_posted;
  const int64_t disbursed = d.credits_posted;
  const int64_t clawed_back = d.debits_posted;
  const int64_t released = c.debits_posted - disbursed;
  const int64_t budget = project->budget().fen();
  v1::ProjectStatement* s = resp->mutable_statement();
  s->set_project_id(project->id());
  s->set_fund_id(project->fund_id());
  SetCny(budget, s->mutable_budget());
  SetCny(committed, s->mutable_committed());
  SetCny(posted, s->mutable_posted());
  SetCny(released, s->mutable_released());
  SetCny(disbursed, s->mutable_disbursed());
  SetCny(clawed_back, s->mutable_clawed_back());
  SetCny(posted - released - disbursed, s->mutable_undisbursed());
  SetCny(budget - committed - posted + released, s->mutable_uncommitted_budget());
  *s->mutable_milestones() = project->milestones();
  s->set_journal_sequence(balances->second);
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::ListJournal(grpc::ServerContext*, const v1::ListJournalRequest* req,
                                           v1::ListJournalResponse* resp) {
  auto limit = CheckPageSize(req->page_size());
  int64_t after = req->after_sequence();
  absl::Status position =
      after < 0 ? InvalidField("after_sequence", "must not be negative") : absl::OkStatus();
  const std::string query = "journal";
  if (!req->page_token().empty()) {
    auto decoded = DecodeNumberToken(req->page_token(), query);
    position = decoded.status();
    if (decoded.ok()) after = *decoded;
  }
  if (absl::Status s = Merge({limit.status(), position}); !s.ok()) return ToGrpcStatus(s);
  auto entries = ledger_->ReadJournal(after, *limit);
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (const JournalEntry& e : *entries) ToProto(e, resp->add_entries());
  if (static_cast<int>(entries->size()) == *limit && !entries->empty()) {
    auto head = ledger_->Head();
    if (!head.ok()) return ToGrpcStatus(head.status());
    if (entries->back().sequence < head->sequence) {
      resp->set_next_page_token(EncodeToken(query, absl::StrCat(entries->back().sequence)));
    }
  }
  return grpc::Status::OK;
}

grpc::Status FundsServiceImpl::VerifyJournal(grpc::ServerContext*, const v1::VerifyJournalRequest*,
                                             v1::VerifyJournalResponse* resp) {
  auto report = ledger_->Verify();
  if (!report.ok()) return ToGrpcStatus(report.status());
  verifications_.Add({{"outcome", report->ok ? "ok" : "failed"}}).Increment();
  if (!report->ok) {
    log::Error("journal verification failed",
               {log::Field::Int("first_bad_sequence", report->first_bad_sequence),
                log::Field::Str("discrepancy", report->discrepancy)});
  }
  resp->set_ok(report->ok);
  resp->set_entries_checked(report->entries_checked);
  resp->set_first_bad_sequence(report->first_bad_sequence);
  resp->set_discrepancy(report->discrepancy);
  resp->set_balances_checked(report->balances_checked);
  resp->set_head_sequence(report->head_sequence);
  resp->set_head_hash(report->head_hash);
  return grpc::Status::OK;
}

}  // namespace iplus::funds
