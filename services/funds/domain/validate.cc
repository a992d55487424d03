#include "services/funds/domain/validate.h"

#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace iplus::funds {
namespace {

using R = CreateTransferResult;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool IsValidId(absl::string_view id, size_t max_len) {
  if (id.empty() || id.size() > max_len) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

TransferViolation V(R code, std::string field, std::string description) {
  return TransferViolation{code, std::move(field), std::move(description)};
}

}  // namespace

bool IsValidTransferId(absl::string_view id) { return IsValidId(id, 64); }
bool IsValidAccountId(absl::string_view id) { return IsValidId(id, 128); }

absl::Status TransferViolation::ToStatus(absl::string_view prefix) const {
  return InvalidField(prefix.empty() ? field : absl::StrCat(prefix, ".", field), description);
}

std::optional<TransferViolation> ValidateTransfer(const Transfer& t) {
  if (!IsValidTransferId(t.id)) {
    return V(R::kIdMalformed, "id", "must be 1 to 64 characters of [A-Za-z0-9._:-]");
  }
  const int phases = int{t.flags.pending} + int{t.flags.post_pending_transfer} +
                     int{t.flags.void_pending_transfer};
  if (phases > 1) {
    return V(R::kFlagsAreMutuallyExclusive, "flags",
             "at most one of pending, post_pending_transfer and void_pending_transfer");
  }
  const bool post_or_void = t.is_post_or_void();
  if (!post_or_void && t.debit_account_id.empty()) {
    return V(R::kDebitAccountIdMissing, "debit_account_id", "required");
  }
  if (!post_or_void && t.credit_account_id.empty()) {
    return V(R::kCreditAccountIdMissing, "credit_account_id", "required");
  }
  if (!t.debit_account_id.empty() && t.debit_account_id == t.credit_account_id) {
    return V(R::kAccountsMustBeDifferent, "credit_account_id", "must differ from debit_account_id");
  }
  if (!post_or_void && !t.pending_id.empty()) {
    return V(R::kPendingIdMustBeEmpty, "pending_id",
             "only for post_pending_transfer and void_pending_transfer");
  }
  if (post_or_void && t.pending_id.empty()) {
    return V(R::kPendingIdMissing, "pending_id",
             "required with post_pending_transfer or void_pending_transfer");
  }
  if (t.timeout_ns != 0 && !t.flags.pending) {
    return V(R::kTimeoutReservedForPendingTransfer, "timeout", "only for a pending transfer");
  }
  if (t.timeout_ns < 0) {
    return V(R::kTimeoutReservedForPendingTransfer, "timeout", "must not be negative");
  }
  if (t.amount < 0 || (t.amount == 0 && !post_or_void)) {
    return V(R::kAmountMustBePositive, "amount", "must be positive");
  }
  if (!post_or_void && t.ledger == 0) return V(R::kLedgerMissing, "ledger", "required");
  if (!post_or_void && t.type == 0) return V(R::kTypeMissing, "type", "required");
  if (t.type < 0 || t.type > kMaxIatiType) {
    return V(R::kTypeMissing, "type", absl::StrCat("unknown IATI transaction type ", t.type));
  }
  return std::nullopt;
}

absl::Status ValidateAccount(const Account& a) {
  if (!IsValidAccountId(a.id)) {
    return InvalidField("id", "must be 1 to 128 characters of [A-Za-z0-9._:-]");
  }
  if (a.ledger <= 0) return InvalidField("ledger", "must be positive");
  if (a.flags.debits_must_not_exceed_credits && a.flags.credits_must_not_exceed_debits) {
    return InvalidField("flags", "at most one balance flag");
  }
  const int kind = static_cast<int>(a.kind);
  if (kind < 1 || kind > 4) return InvalidField("kind", "required");
  if (a.debits_pending != 0) return InvalidField("debits_pending", "must be 0 when creating");
  if (a.debits_posted != 0) return InvalidField("debits_posted", "must be 0 when creating");
  if (a.credits_pending != 0) return InvalidField("credits_pending", "must be 0 when creating");
  if (a.credits_posted != 0) return InvalidField("credits_posted", "must be 0 when creating");
  return absl::OkStatus();
}

std::string DifferingField(const Transfer& r, const Transfer& s) {
  if (r.flags != s.flags) return "flags";
  if (r.pending_id != s.pending_id) return "pending_id";
  if (r.timeout_ns != s.timeout_ns) return "timeout";
  const bool pv = r.is_post_or_void();
  if (!(pv && r.debit_account_id.empty()) && r.debit_account_id != s.debit_account_id) {
    return "debit_account_id";
  }
  if (!(pv && r.credit_account_id.empty()) && r.credit_account_id != s.credit_account_id) {
    return "credit_account_id";
  }
  if (!(pv && r.amount == 0) && r.amount != s.amount) return "amount";
  if (!(pv && r.ledger == 0) && r.ledger != s.ledger) return "ledger";
  if (!(pv && r.type == 0) && r.type != s.type) return "type";
  if (r.fund_id != s.fund_id) return "fund_id";
  if (r.project_id != s.project_id) return "project_id";
  if (r.milestone_id != s.milestone_id) return "milestone_id";
  if (r.memo != s.memo) return "memo";
  return "";
}

std::string DifferingAccountField(const Account& r, const Account& s) {
  if (r.ledger != s.ledger) return "ledger";
  if (r.flags != s.flags) return "flags";
  if (r.kind != s.kind) return "kind";
  if (r.fund_id != s.fund_id) return "fund_id";
  if (r.project_id != s.project_id) return "project_id";
  return "";
}

}  // namespace iplus::funds
