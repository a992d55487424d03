#include "services/funds/domain/operations.h"

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/validate.h"

namespace iplus::funds {
namespace {

bool IsPlainRequestId(absl::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Account NewAccount(std::string id, AccountKind kind, bool dmnec, absl::string_view fund_id,
                   absl::string_view project_id) {
  Account a;
  a.id = std::move(id);
  a.ledger = kLedgerCny;
  a.kind = kind;
  a.flags.debits_must_not_exceed_credits = dmnec;
  a.fund_id = std::string(fund_id);
  a.project_id = std::string(project_id);
  return a;
}

}  // namespace

const char* OperationName(FundOperation op) {
  switch (op) {
    case FundOperation::kCapitaliseFund:
      return "capitalise";
    case FundOperation::kCommitToProject:
      return "commit";
    case FundOperation::kPostCommitment:
      return "post";
    case FundOperation::kVoidCommitment:
      return "void";
    case FundOperation::kDisburseMilestone:
      return "disburse";
    case FundOperation::kReleaseCommitment:
      return "release";
    case FundOperation::kClawBack:
      return "clawback";
  }
  return "op";
}

std::string FundSourceAccountId(absl::string_view fund_id) {
  return absl::StrCat("fund:", fund_id, ":source");
}
std::string FundAccountId(absl::string_view fund_id) { return absl::StrCat("fund:", fund_id); }
std::string ProjectCommitmentAccountId(absl::string_view project_id) {
  return absl::StrCat("project:", project_id, ":commitment");
}
std::string ProjectDisbursedAccountId(absl::string_view project_id) {
  return absl::StrCat("project:", project_id, ":disbursed");
}

std::vector<Account> FundAccounts(absl::string_view fund_id) {
  return {NewAccount(FundSourceAccountId(fund_id), AccountKind::kFundSource, false, fund_id, ""),
          NewAccount(FundAccountId(fund_id), AccountKind::kFund, true, fund_id, "")};
}

std::vector<Account> ProjectAccounts(absl::string_view fund_id, absl::string_view project_id) {
  return {NewAccount(ProjectCommitmentAccountId(project_id), AccountKind::kProjectCommitment, true,
                     fund_id, project_id),
          NewAccount(ProjectDisbursedAccountId(project_id), AccountKind::kProjectDisbursed, true,
                     fund_id, project_id)};
}

std::string OperationTransferId(FundOperation op, absl::string_view request_id) {
  std::string direct = absl::StrCat(OperationName(op), ":", request_id);
  if (IsPlainRequestId(request_id) && direct.size() <= 64) return direct;
  return absl::StrCat(OperationName(op), ":h.", Sha256Hex(request_id).substr(0, 40));
}

std::string MilestoneTransferId(absl::string_view project_id, absl::string_view milestone_id) {
  std::string direct = absl::StrCat("disburse:", project_id, ":", milestone_id);
  // No ':' in the milestone id: "<project>:<milestone>" must split one way only.
  const bool plain = !project_id.empty() && !milestone_id.empty() &&
                     project_id.find(':') == absl::string_view::npos &&
                     milestone_id.find(':') == absl::string_view::npos;
  if (plain && IsValidTransferId(direct)) return direct;
  return absl::StrCat("disburse:h.",
                      Sha256Hex(absl::StrCat(project_id, ":", milestone_id)).substr(0, 40));
}

std::string TransferIdFor(const FundOperationRequest& r) {
  if (r.operation == FundOperation::kDisburseMilestone) {
    return MilestoneTransferId(r.project_id, r.milestone_id);
  }
  return OperationTransferId(r.operation, r.request_id);
}

absl::StatusOr<std::vector<Transfer>> TransfersFor(const FundOperationRequest& r) {
  using Op = FundOperation;
  const Op op = r.operation;
  if (r.request_id.empty()) return InvalidField("request_id", "required");
  if (r.fund_id.empty()) return InvalidField("fund_id", "required");
  if (op != Op::kCapitaliseFund && r.project_id.empty()) {
    return InvalidField("project_id", "required");
  }
  switch (op) {
    case Op::kPostCommitment:
      if (r.amount < 0) return InvalidField("amount", "must be positive, or unset for all");
      break;
    case Op::kVoidCommitment:
      break;
    default:
      if (r.amount <= 0) return InvalidField("amount", "must be positive");
  }
  if (r.timeout_ns != 0 && op != Op::kCommitToProject) {
    return InvalidField("timeout", "only for a commitment");
  }
  if (r.timeout_ns < 0) return InvalidField("timeout", "must not be negative");
  if (op == Op::kPostCommitment || op == Op::kVoidCommitment) {
    if (!IsValidTransferId(r.pending_transfer_id)) {
      return InvalidField("pending_transfer_id", "must be the id of a pending commitment");
    }
  }
  if (op == Op::kDisburseMilestone && r.milestone_id.empty()) {
    return InvalidField("milestone_id", "required");
  }

  Transfer t;
  t.id = TransferIdFor(r);
  t.ledger = kLedgerCny;
  t.amount = r.amount;
  t.fund_id = r.fund_id;
  t.project_id = r.project_id;
  t.memo = r.memo;
  const std::string fund = FundAccountId(r.fund_id);
  const std::string commitment = ProjectCommitmentAccountId(r.project_id);
  const std::string disbursed = ProjectDisbursedAccountId(r.project_id);
  switch (op) {
    case Op::kCapitaliseFund:
      t.debit_account_id = FundSourceAccountId(r.fund_id);
      t.credit_account_id = fund;
      t.type = static_cast<int32_t>(IatiType::kIncomingFunds);
      break;
    case Op::kCommitToProject:
      t.debit_account_id = fund;
      t.credit_account_id = commitment;
      t.type = static_cast<int32_t>(IatiType::kOutgoingCommitment);
      t.flags.pending = true;
      t.timeout_ns = r.timeout_ns;
      break;
    case Op::kPostCommitment:
    case Op::kVoidCommitment:
      t.debit_account_id = fund;
      t.credit_account_id = commitment;
      t.type = static_cast<int32_t>(IatiType::kOutgoingCommitment);
      t.pending_id = r.pending_transfer_id;
      if (op == Op::kPostCommitment) {
        t.flags.post_pending_transfer = true;
      } else {
        t.flags.void_pending_transfer = true;
        t.amount = 0;
      }
      break;
    case Op::kDisburseMilestone:
      t.debit_account_id = commitment;
      t.credit_account_id = disbursed;
      t.type = static_cast<int32_t>(IatiType::kDisbursement);
      t.milestone_id = r.milestone_id;
      t.memo = r.request_id;
      break;
    case Op::kReleaseCommitment:
      t.debit_account_id = commitment;
      t.credit_account_id = fund;
      t.type = static_cast<int32_t>(IatiType::kOutgoingCommitment);
      break;
    case Op::kClawBack:
      t.debit_account_id = disbursed;
      t.credit_account_id = fund;
      t.type = static_cast<int32_t>(IatiType::kIncomingFunds);
      t.milestone_id = r.milestone_id;
      break;
  }
  return std::vector<Transfer>{std::move(t)};
}

}  // namespace iplus::funds
