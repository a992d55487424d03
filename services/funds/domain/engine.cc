#include "services/funds/domain/engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/validate.h"

namespace iplus::funds {
namespace {

using R = CreateTransferResult;

std::string Prefix(int index) { return absl::StrCat("transfers[", index, "]"); }

TransferResult Fail(int index, R code, std::string message) {
  TransferResult r;
  r.index = index;
  r.result = code;
  r.status = absl::Status(ResultStatusCode(code), std::move(message));
  return r;
}

TransferResult Succeed(int index, R code, Transfer stored) {
  TransferResult r;
  r.index = index;
  r.result = code;
  r.transfer = std::move(stored);
  return r;
}

// *field += delta; false (and *field unchanged) on int64 overflow.
bool AddChecked(int64_t* field, int64_t delta) {
  int64_t out;
  if (__builtin_add_overflow(*field, delta, &out)) return false;
  *field = out;
  return true;
}

bool SumFits(int64_t a, int64_t b) {
  int64_t out;
  return !__builtin_add_overflow(a, b, &out);
}

// The balance rules on the accounts' new state: kOk, kOverflows, kExceedsCredits or
// kExceedsDebits.
R CheckLimits(const Account& dr, const Account& cr) {
  if (!SumFits(dr.debits_pending, dr.debits_posted) ||
      !SumFits(cr.credits_pending, cr.credits_posted)) {
    return R::kOverflows;
  }
  if (dr.flags.debits_must_not_exceed_credits &&
      dr.debits_pending + dr.debits_posted > dr.credits_posted) {
    return R::kExceedsCredits;
  }
  if (cr.flags.credits_must_not_exceed_debits &&
      cr.credits_pending + cr.credits_posted > cr.debits_posted) {
    return R::kExceedsDebits;
  }
  return R::kOk;
}

std::string LimitMessage(R code, const Transfer& t, const Account& dr, const Account& cr) {
  switch (code) {
    case R::kOverflows:
      return absl::StrCat("transfer ", t.id, ": a balance of ", t.debit_account_id, " or ",
                          t.credit_account_id, " would overflow int64");
    case R::kExceedsCredits:
      return absl::StrCat("transfer ", t.id, ": account ", dr.id, " would have debits ",
                          "(pending ", dr.debits_pending, ", posted ", dr.debits_posted,
                          ") above its posted credits ", dr.credits_posted);
    case R::kExceedsDebits:
      return absl::StrCat("transfer ", t.id, ": account ", cr.id, " would have credits ",
                          "(pending ", cr.credits_pending, ", posted ", cr.credits_posted,
                          ") above its posted debits ", cr.debits_posted);
    default:
      return "";
  }
}

}  // namespace

int64_t ExpiryTime(const Transfer& p) {
  if (!p.flags.pending || p.timeout_ns <= 0) return 0;
  int64_t out;
  if (__builtin_add_overflow(p.timestamp_ns, p.timeout_ns, &out)) return INT64_MAX;
  return out;
}

BatchApplier::BatchApplier(const LedgerView* view, int64_t now_ns, int max_expiries)
    : view_(view), now_ns_(now_ns), head_(view->Head()), cursor_ts_(head_.timestamp_ns) {
  ExpireDue(max_expiries);
}

const Account* BatchApplier::GetAccount(const std::string& id) const {
  auto it = accounts_.find(id);
  if (it != accounts_.end()) return &it->second;
  return view_->FindAccount(id);
}

const Transfer* BatchApplier::GetTransfer(const std::string& id) const {
  auto it = transfers_.find(id);
  if (it != transfers_.end()) return &it->second;
  return view_->FindTransfer(id);
}

void BatchApplier::PutAccount(const Account& account) {
  auto it = accounts_.find(account.id);
  if (it == accounts_.end()) {
    account_undo_.emplace_back(account.id, std::nullopt);
    accounts_.emplace(account.id, account);
  } else {
    account_undo_.emplace_back(account.id, it->second);
    it->second = account;
  }
}

void BatchApplier::PutTransfer(const Transfer& transfer) {
  auto it = transfers_.find(transfer.id);
  if (it == transfers_.end()) {
    transfer_undo_.emplace_back(transfer.id, std::nullopt);
    transfers_.emplace(transfer.id, transfer);
  } else {
    transfer_undo_.emplace_back(transfer.id, it->second);
    it->second = transfer;
  }
}

int64_t BatchApplier::PeekTimestamp() const { return std::max(cursor_ts_ + 1, now_ns_); }

BatchApplier::Savepoint BatchApplier::Save() const {
  return Savepoint{account_undo_.size(), transfer_undo_.size(), created_.size(), resolved_.size(),
                   added_.size(),        removed_.size(),       cursor_ts_};
}

void BatchApplier::Rollback(const Savepoint& sp) {
  while (account_undo_.size() > sp.account_undo) {
    auto& [id, prev] = account_undo_.back();
    if (prev.has_value()) {
      accounts_[id] = *prev;
    } else {
      accounts_.erase(id);
    }
    account_undo_.pop_back();
  }
  while (transfer_undo_.size() > sp.transfer_undo) {
    auto& [id, prev] = transfer_undo_.back();
    if (prev.has_value()) {
      transfers_[id] = *prev;
    } else {
      transfers_.erase(id);
    }
    transfer_undo_.pop_back();
  }
  created_.resize(sp.created);
  resolved_.resize(sp.resolved);
  added_.resize(sp.added);
  removed_.resize(sp.removed);
  cursor_ts_ = sp.cursor_ts;
}

Transfer BatchApplier::Commit(Transfer t) {
  cursor_ts_ = PeekTimestamp();
  t.timestamp_ns = cursor_ts_;
  t.journal_sequence = head_.sequence + static_cast<int64_t>(created_.size()) + 1;
  t.pending_state = t.flags.pending ? PendingState::kPending : PendingState::kNone;
  created_.push_back(t);
  PutTransfer(t);
  if (const int64_t expiry = ExpiryTime(t); expiry != 0) added_.emplace_back(expiry, t.id);
  return t;
}

void BatchApplier::ExpireDue(int max_expiries) {
  if (max_expiries <= 0) return;
  for (const std::string& id : view_->DueExpiries(now_ns_, max_expiries)) {
    const Transfer* found = GetTransfer(id);
    if (found == nullptr) continue;
    const Transfer p = *found;  // the overlay may move while we insert
    const ExpiryKey key(ExpiryTime(p), p.id);
    if (p.pending_state != PendingState::kPending) {
      removed_.push_back(key);  // a stale index entry
      continue;
    }
    const Account* dr = GetAccount(p.debit_account_id);
    const Account* cr = GetAccount(p.credit_account_id);
    if (dr == nullptr || cr == nullptr) continue;
    Account ndr = *dr;
    Account ncr = *cr;
    if (!AddChecked(&ndr.debits_pending, -p.amount) ||
        !AddChecked(&ncr.credits_pending, -p.amount)) {
      continue;
    }
    Transfer e;
    e.id = absl::StrCat(kExpiryIdPrefix, p.id);
    e.debit_account_id = p.debit_account_id;
    e.credit_account_id = p.credit_account_id;
    e.amount = p.amount;
    e.ledger = p.ledger;
    e.type = p.type;
    e.flags.void_pending_transfer = true;
    e.pending_id = p.id;
    e.fund_id = p.fund_id;
    e.project_id = p.project_id;
    e.milestone_id = p.milestone_id;
    e.memo = "expired";
    Transfer resolved = p;
    resolved.pending_state = PendingState::kExpired;
    PutAccount(ndr);
    PutAccount(ncr);
    PutTransfer(resolved);
    resolved_.emplace_back(p.id, PendingState::kExpired);
    removed_.push_back(key);
    Commit(std::move(e));
  }
}

std::vector<TransferResult> BatchApplier::Apply(const std::vector<Transfer>& request) {
  const int n = static_cast<int>(request.size());
  std::vector<TransferResult> results(n);
  int i = 0;
  while (i < n) {
    // The chain: i .. end, where end is the first transfer without flags.linked, or the
    // request's last transfer (then the chain is open).
    int end = i;
    while (end < n - 1 && request[end].flags.linked) ++end;
    const bool open = request[end].flags.linked;
    const Savepoint sp = Save();
    int failed = -1;
    for (int k = i; k <= end; ++k) {
      if (open && k == end) {
        results[k] = Fail(k, R::kLinkedEventChainOpen, "");
        results[k].status = InvalidField(absl::StrCat(Prefix(k), ".flags.linked"),
                                         "the last transfer of a request cannot be linked");
      } else {
        results[k] = ApplyOne(request[k], k);
      }
      if (!results[k].succeeded()) {
        failed = k;
        break;
      }
    }
    if (failed >= 0 && end > i) {
      Rollback(sp);
      for (int k = i; k <= end; ++k) {
        if (k == failed) continue;
        results[k] = Fail(k, R::kLinkedEventFailed,
                          absl::StrCat("linked transfer ", failed, " of this chain failed"));
        results[k].failed_index = failed;
      }
    }
    i = end + 1;
  }
  return results;
}

TransferResult BatchApplier::ApplyOne(const Transfer& t, int index) {
  if (auto violation = ValidateTransfer(t)) {
    TransferResult r = Fail(index, violation->code, "");
    r.status = violation->ToStatus(Prefix(index));
    return r;
  }
  if (const Transfer* stored = GetTransfer(t.id)) {
    std::string field = DifferingField(t, *stored);
    if (field.empty()) return Succeed(index, R::kExists, *stored);
    TransferResult r = Fail(index, R::kExistsWithDifferentBody,
                            absl::StrCat("transfer ", t.id, " exists with a different ", field));
    r.differing_field = std::move(field);
    return r;
  }
  return t.is_post_or_void() ? ApplyPostOrVoid(t, index) : ApplySingleOrPending(t, index);
}

TransferResult BatchApplier::ApplySingleOrPending(const Transfer& t, int index) {
  const Account* dr = GetAccount(t.debit_account_id);
  if (dr == nullptr) {
    return Fail(index, R::kDebitAccountNotFound,
                absl::StrCat("debit account ", t.debit_account_id, " not found"));
  }
  const Account* cr = GetAccount(t.credit_account_id);
  if (cr == nullptr) {
    return Fail(index, R::kCreditAccountNotFound,
                absl::StrCat("credit account ", t.credit_account_id, " not found"));
  }
  if (dr->ledger != cr->ledger) {
    return Fail(index, R::kAccountsMustHaveTheSameLedger,
                absl::StrCat("accounts ", dr->id, " (ledger ", dr->ledger, ") and ", cr->id,
                             " (ledger ", cr->ledger, ") are on different ledgers"));
  }
  if (t.ledger != dr->ledger) {
    return Fail(index, R::kTransferMustHaveTheSameLedgerAsAccounts,
                absl::StrCat("transfer ledger ", t.ledger, " != accounts' ledger ", dr->ledger));
  }
  Account ndr = *dr;
  Account ncr = *cr;
  bool fits;
  if (t.flags.pending) {
    int64_t expiry;
    fits = !__builtin_add_overflow(PeekTimestamp(), t.timeout_ns, &expiry) &&
           AddChecked(&ndr.debits_pending, t.amount) && AddChecked(&ncr.credits_pending, t.amount);
  } else {
    fits = AddChecked(&ndr.debits_posted, t.amount) && AddChecked(&ncr.credits_posted, t.amount);
  }
  const R limit = fits ? CheckLimits(ndr, ncr) : R::kOverflows;
  if (limit != R::kOk) return Fail(index, limit, LimitMessage(limit, t, ndr, ncr));

  PutAccount(ndr);
  PutAccount(ncr);
  Transfer stored = t;
  stored.timestamp_ns = 0;
  stored.journal_sequence = 0;
  return Succeed(index, R::kOk, Commit(std::move(stored)));
}

TransferResult BatchApplier::ApplyPostOrVoid(const Transfer& t, int index) {
  const Transfer* p = GetTransfer(t.pending_id);
  if (p == nullptr) {
    return Fail(index, R::kPendingTransferNotFound,
                absl::StrCat("pending transfer ", t.pending_id, " not found"));
  }
  if (!p->flags.pending) {
    return Fail(index, R::kPendingTransferNotPending,
                absl::StrCat("transfer ", t.pending_id, " is not a pending transfer"));
  }
  if ((!t.debit_account_id.empty() && t.debit_account_id != p->debit_account_id) ||
      (!t.credit_account_id.empty() && t.credit_account_id != p->credit_account_id)) {
    return Fail(index, R::kPendingTransferHasDifferentAccounts,
                absl::StrCat("pending transfer ", p->id, " moves ", p->debit_account_id, " -> ",
                             p->credit_account_id));
  }
  if (t.ledger != 0 && t.ledger != p->ledger) {
    return Fail(
        index, R::kTransferMustHaveTheSameLedgerAsAccounts,
        absl::StrCat("transfer ledger ", t.ledger, " != pending transfer's ledger ", p->ledger));
  }
  switch (p->pending_state) {
    case PendingState::kPosted:
      return Fail(index, R::kPendingTransferAlreadyPosted,
                  absl::StrCat("pending transfer ", p->id, " is already posted"));
    case PendingState::kVoided:
      return Fail(index, R::kPendingTransferAlreadyVoided,
                  absl::StrCat("pending transfer ", p->id, " is already voided"));
    case PendingState::kExpired:
      return Fail(index, R::kPendingTransferExpired,
                  absl::StrCat("pending transfer ", p->id, " has expired"));
    default:
      break;
  }
  const int64_t expiry = ExpiryTime(*p);
  if (expiry != 0 && expiry <= PeekTimestamp()) {
    return Fail(index, R::kPendingTransferExpired,
                absl::StrCat("pending transfer ", p->id, " has expired"));
  }
  int64_t amount = p->amount;
  if (t.flags.post_pending_transfer) {
    if (t.amount > p->amount) {
      return Fail(index, R::kExceedsPendingTransferAmount,
                  absl::StrCat("amount ", t.amount, " exceeds the pending amount ", p->amount));
    }
    if (t.amount != 0) amount = t.amount;
  } else if (t.amount != 0 && t.amount != p->amount) {
    return Fail(index, R::kPendingTransferHasDifferentAmount,
                absl::StrCat("amount ", t.amount, " != the pending amount ", p->amount));
  }
  const Account* dr = GetAccount(p->debit_account_id);
  const Account* cr = GetAccount(p->credit_account_id);
  if (dr == nullptr || cr == nullptr) {
    return Fail(index, dr == nullptr ? R::kDebitAccountNotFound : R::kCreditAccountNotFound,
                "an account of the pending transfer is missing");
  }
  Account ndr = *dr;
  Account ncr = *cr;
  bool fits =
      AddChecked(&ndr.debits_pending, -p->amount) && AddChecked(&ncr.credits_pending, -p->amount);
  if (fits && t.flags.post_pending_transfer) {
    fits = AddChecked(&ndr.debits_posted, amount) && AddChecked(&ncr.credits_posted, amount);
  }
  Transfer stored = t;
  stored.debit_account_id = p->debit_account_id;
  stored.credit_account_id = p->credit_account_id;
  stored.amount = amount;
  stored.ledger = p->ledger;
  if (stored.type == 0) stored.type = p->type;
  stored.timestamp_ns = 0;
  stored.journal_sequence = 0;
  const R limit = fits ? CheckLimits(ndr, ncr) : R::kOverflows;
  if (limit != R::kOk) return Fail(index, limit, LimitMessage(limit, stored, ndr, ncr));

  const PendingState state =
      t.flags.post_pending_transfer ? PendingState::kPosted : PendingState::kVoided;
  Transfer resolved = *p;
  resolved.pending_state = state;
  if (expiry != 0) removed_.emplace_back(expiry, p->id);
  resolved_.emplace_back(p->id, state);
  PutTransfer(resolved);
  PutAccount(ndr);
  PutAccount(ncr);
  return Succeed(index, R::kOk, Commit(std::move(stored)));
}

LedgerEffects BatchApplier::Finish() const {
  LedgerEffects e;
  e.head_before = head_;
  e.head_after = head_;
  e.created = created_;
  e.records.reserve(created_.size());
  e.hashes.reserve(created_.size());
  std::string prev = head_.hash;
  for (const Transfer& t : created_) {
    e.records.push_back(EncodeTransferRecord(t));
    prev = EntryHash(prev, e.records.back());
    e.hashes.push_back(prev);
  }
  if (!created_.empty()) {
    e.head_after.sequence = created_.back().journal_sequence;
    e.head_after.timestamp_ns = created_.back().timestamp_ns;
    e.head_after.hash = prev;
  }
  e.accounts.reserve(accounts_.size());
  for (const auto& [id, account] : accounts_) e.accounts.push_back(account);
  std::sort(e.accounts.begin(), e.accounts.end(),
            [](const Account& a, const Account& b) { return a.id < b.id; });
  e.resolved = resolved_;
  e.expiries_added = added_;
  e.expiries_removed = removed_;
  return e;
}

}  // namespace iplus::funds
