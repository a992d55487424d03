#pragma once

// The funds service's background work on the ledger, on one thread:
//   - every `expire_interval`, LedgerStore::ExpirePending, so that commitments whose
//     timeout passed are voided (and their reservations released) without traffic;
//   - it follows the journal (ReadJournal from the last entry it saw) to keep two gauges:
//     iplus_funds_journal_entries (the head's sequence) and iplus_funds_pending_transfers
//     (pending transfers not yet posted, voided or expired: +1 per pending entry, -1 per
//     post or void, expiries included). At start it reads the whole journal once, a
//     bounded number of pages per round.
// Nothing runs while `writable` says no (Redis's durability not confirmed yet).

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/counter.h"
#include "common/metrics/gauge.h"
#include "common/metrics/registry.h"
#include "services/funds/domain/ledger_store.h"

namespace iplus::funds {

struct LedgerMaintenanceOptions {
  absl::Duration expire_interval = absl::Seconds(1);
  // Journal pages (of 1000 entries) read per round while catching up.
  int max_pages_per_round = 50;
};

class LedgerMaintenance {
 public:
  // `ledger` must outlive this object; `writable` may be null (always writable).
  LedgerMaintenance(LedgerStore* ledger, metrics::Registry& metrics, std::function<bool()> writable,
                    LedgerMaintenanceOptions options = {});
  ~LedgerMaintenance();

  void Start();
  // Idempotent.
  void Stop();

  // One round (expiries, then the journal); what the thread runs. For tests.
  absl::Status RunOnce();

  int64_t pending() const { return pending_.load(); }
  int64_t followed_sequence() const { return followed_.load(); }

 private:
  void Loop();

  LedgerStore* const ledger_;
  const std::function<bool()> writable_;
  const LedgerMaintenanceOptions options_;
  metrics::Gauge& pending_gauge_;
  metrics::Gauge& journal_gauge_;
  metrics::Counter& expired_;
  absl::Mutex round_mu_;  // one round at a time
  std::atomic<int64_t> followed_{0};
  std::atomic<int64_t> pending_{0};
  bool failing_ = false;  // guarded by round_mu_: log once per outage

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace iplus::funds
