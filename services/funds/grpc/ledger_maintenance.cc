#include "services/funds/grpc/ledger_maintenance.h"

#include <utility>

#include "common/log/log.h"

namespace iplus::funds {

LedgerMaintenance::LedgerMaintenance(LedgerStore* ledger, metrics::Registry& metrics,
                                     std::function<bool()> writable,
                                     LedgerMaintenanceOptions options)
    : ledger_(ledger),
      writable_(std::move(writable)),
      options_(std::move(options)),
      pending_gauge_(metrics::BuildGauge()
                         .Name("iplus_funds_pending_transfers")
                         .Help("Pending transfers (commitments) not yet posted, voided or "
                               "expired, as the journal shows them.")
                         .Register(metrics)
                         .Add({})),
      journal_gauge_(metrics::BuildGauge()
                         .Name("iplus_funds_journal_entries")
                         .Help("Entries in the ledger's journal: the head's sequence.")
                         .Register(metrics)
                         .Add({})),
      expired_(metrics::BuildCounter()
                   .Name("iplus_funds_expired_transfers_total")
                   .Help("Pending transfers voided by this process because their timeout "
                         "passed.")
                   .Register(metrics)
                   .Add({})) {}

LedgerMaintenance::~LedgerMaintenance() { Stop(); }

void LedgerMaintenance::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void LedgerMaintenance::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void LedgerMaintenance::Loop() {
  for (;;) {
    if (!writable_ || writable_()) {
      absl::Status s = RunOnce();
      absl::MutexLock lock(&round_mu_);
      if (!s.ok() && !failing_) {
        log::Warn("ledger maintenance failed; retrying every round",
                  {log::Field::Status("error", s)});
      } else if (s.ok() && failing_) {
        log::Info("ledger maintenance works again");
      }
      failing_ = !s.ok();
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.expire_interval)) return;
  }
}

absl::Status LedgerMaintenance::RunOnce() {
  absl::MutexLock lock(&round_mu_);
  // Expiries first: a full call (max_expiries_per_call) may leave more due.
  for (int i = 0; i < 10; ++i) {
    auto n = ledger_->ExpirePending();
    if (!n.ok()) return n.status();
    expired_.Increment(*n);
    if (*n < 1000) break;
  }
  for (int page = 0; page < options_.max_pages_per_round; ++page) {
    auto entries = ledger_->ReadJournal(followed_.load(), kMaxPageSize);
    if (!entries.ok()) return entries.status();
    int64_t pending = pending_.load();
    for (const JournalEntry& e : *entries) {
      if (e.transfer.flags.pending) ++pending;
      if (e.transfer.is_post_or_void()) --pending;
      followed_.store(e.sequence);
    }
    pending_.store(pending);
    if (static_cast<int>(entries->size()) < kMaxPageSize) break;
  }
  pending_gauge_.Set(static_cast<double>(pending_.load()));
  auto head = ledger_->Head();
  if (!head.ok()) return head.status();
  journal_gauge_.Set(static_cast<double>(head->sequence));
  return absl::OkStatus();
}

}  // namespace iplus::funds
