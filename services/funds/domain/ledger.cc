#include "services/funds/domain/ledger.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/validate.h"

namespace iplus::funds {

// The engine's view of the ledger's maps; used with mu_ held.
class Ledger::View : public LedgerView {
 public:
  explicit View(const Ledger* ledger) : l_(ledger) {}

  const Account* FindAccount(const std::string& id) const override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    auto it = l_->accounts_.find(id);
    return it == l_->accounts_.end() ? nullptr : &it->second;
  }
  const Transfer* FindTransfer(const std::string& id) const override
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    auto it = l_->transfers_.find(id);
    return it == l_->transfers_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> DueExpiries(int64_t now_ns,
                                       int limit) const override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    std::vector<std::string> out;
    for (const ExpiryKey& key : l_->expiries_) {
      if (key.first > now_ns || static_cast<int>(out.size()) >= limit) break;
      out.push_back(key.second);
    }
    return out;
  }
  JournalHead Head() const override ABSL_NO_THREAD_SAFETY_ANALYSIS { return l_->head_; }

 private:
  const Ledger* l_;
};

Ledger::Ledger(Clock* clock, LedgerOptions options) : clock_(clock), options_(options) {
  head_.hash = std::string(kZeroHash);
}

absl::StatusOr<std::vector<AccountResult>> Ledger::CreateAccounts(
    const std::vector<Account>& accounts) {
  if (auto s = CheckBatchSize("accounts", accounts.size(), false); !s.ok()) return s;
  const int64_t now = absl::ToUnixNanos(clock_->Now());
  absl::MutexLock lock(&mu_);
  std::vector<AccountResult> out(accounts.size());
  for (size_t i = 0; i < accounts.size(); ++i) {
    const Account& a = accounts[i];
    AccountResult& r = out[i];
    if (auto s = ValidateAccount(a); !s.ok()) {
      r.status = PrefixFields(s, absl::StrCat("accounts[", i, "]"));
      continue;
    }
    auto it = accounts_.find(a.id);
    if (it != accounts_.end()) {
      const std::string field = DifferingAccountField(a, it->second);
      if (field.empty()) {
        r.account = it->second;
      } else {
        r.status = absl::AlreadyExistsError(
            absl::StrCat("account ", a.id, " exists with a different ", field));
      }
      continue;
    }
    Account stored = a;
    stored.create_time_ns = now;
    accounts_.emplace(stored.id, stored);
    r.created = true;
    r.account = std::move(stored);
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<Account>>> Ledger::LookupAccounts(
    const std::vector<std::string>& ids) {
  if (auto s = CheckBatchSize("ids", ids.size(), true); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  std::vector<std::optional<Account>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto it = accounts_.find(id);
    out.push_back(it == accounts_.end() ? std::nullopt : std::optional<Account>(it->second));
  }
  return out;
}

absl::StatusOr<std::vector<TransferResult>> Ledger::CreateTransfers(
    const std::vector<Transfer>& transfers) {
  if (auto s = CheckBatchSize("transfers", transfers.size(), false); !s.ok()) return s;
  const int64_t now = absl::ToUnixNanos(clock_->Now());
  absl::MutexLock lock(&mu_);
  View view(this);
  BatchApplier applier(&view, now, options_.max_expiries_per_call);
  std::vector<TransferResult> results = applier.Apply(transfers);
  Commit(applier.Finish());
  return results;
}

absl::StatusOr<int> Ledger::ExpirePending() {
  const int64_t now = absl::ToUnixNanos(clock_->Now());
  absl::MutexLock lock(&mu_);
  View view(this);
  BatchApplier applier(&view, now, options_.max_expiries_per_call);
  const int n = static_cast<int>(applier.created());
  Commit(applier.Finish());
  return n;
}

void Ledger::Commit(const LedgerEffects& e) {
  for (size_t i = 0; i < e.created.size(); ++i) {
    const Transfer& t = e.created[i];
    transfers_[t.id] = t;
    journal_.push_back(Entry{e.records[i], e.hashes[i]});
    by_account_[t.debit_account_id].emplace_back(t.timestamp_ns, t.journal_sequence);
    by_account_[t.credit_account_id].emplace_back(t.timestamp_ns, t.journal_sequence);
  }
  for (const auto& [id, state] : e.resolved) transfers_[id].pending_state = state;
  for (const Account& a : e.accounts) accounts_[a.id] = a;
  for (const ExpiryKey& key : e.expiries_added) expiries_.insert(key);
  for (const ExpiryKey& key : e.expiries_removed) expiries_.erase(key);
  head_ = e.head_after;
}

absl::StatusOr<std::vector<std::optional<Transfer>>> Ledger::LookupTransfers(
    const std::vector<std::string>& ids) {
  if (auto s = CheckBatchSize("ids", ids.size(), true); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  std::vector<std::optional<Transfer>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto it = transfers_.find(id);
    out.push_back(it == transfers_.end() ? std::nullopt : std::optional<Transfer>(it->second));
  }
  return out;
}

absl::StatusOr<AccountTransfersPage> Ledger::ListAccountTransfers(const AccountTransfersQuery& q) {
  if (auto s = CheckAccountTransfersQuery(q); !s.ok()) return s;
  const int limit = *CheckPageSize(q.page_size);
  absl::MutexLock lock(&mu_);
  if (!accounts_.contains(q.account_id)) {
    return absl::NotFoundError(absl::StrCat("account ", q.account_id, " not found"));
  }
  AccountTransfersPage page;
  auto idx = by_account_.find(q.account_id);
  if (idx == by_account_.end()) return page;
  const auto& list = idx->second;
  auto it = std::lower_bound(list.begin(), list.end(), std::make_pair(q.start_ns, int64_t{0}));
  for (; it != list.end(); ++it) {
    if (q.end_ns != 0 && it->first >= q.end_ns) break;
    if (static_cast<int>(page.transfers.size()) == limit) {
      page.next_start_ns = page.transfers.back().timestamp_ns + 1;
      break;
    }
    auto t = DecodeTransferRecord(journal_[it->second - 1].record);
    if (!t.ok()) return t.status();
    t->pending_state = transfers_[t->id].pending_state;
    page.transfers.push_back(std::move(*t));
  }
  return page;
}

absl::StatusOr<std::vector<JournalEntry>> Ledger::ReadJournal(int64_t after_sequence,
                                                              int page_size) {
  auto limit = CheckPageSize(page_size);
  if (!limit.ok()) return limit.status();
  if (after_sequence < 0) return InvalidField("after_sequence", "must not be negative");
  absl::MutexLock lock(&mu_);
  std::vector<JournalEntry> out;
  const int64_t size = static_cast<int64_t>(journal_.size());
  for (int64_t s = after_sequence + 1; s <= size && static_cast<int>(out.size()) < *limit; ++s) {
    auto t = DecodeTransferRecord(journal_[s - 1].record);
    if (!t.ok()) return t.status();
    JournalEntry e;
    e.sequence = s;
    e.transfer = std::move(*t);
    e.prev_hash = s == 1 ? std::string(kZeroHash) : journal_[s - 2].hash;
    e.hash = journal_[s - 1].hash;
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<JournalHead> Ledger::Head() {
  absl::MutexLock lock(&mu_);
  return head_;
}

absl::StatusOr<VerifyReport> Ledger::Verify() {
  absl::MutexLock lock(&mu_);
  JournalVerifier verifier;
  for (size_t i = 0; i < journal_.size(); ++i) {
    if (!verifier.AddEntry(static_cast<int64_t>(i + 1), journal_[i].record, journal_[i].hash)) {
      break;
    }
  }
  verifier.CheckHead(head_);
  std::vector<const Account*> sorted;
  for (const auto& [id, a] : accounts_) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(),
            [](const Account* a, const Account* b) { return a->id < b->id; });
  for (const Account* a : sorted) {
    if (!verifier.CheckAccount(*a)) break;
  }
  return verifier.Finish();
}

}  // namespace iplus::funds
