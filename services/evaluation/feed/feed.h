#pragma once

// The evaluation service's in-memory view of the registry and of ingest: one Dataset per
// process, read by evaluations under a reader lock and changed by the feed under a
// writer lock held briefly.
//
// The feed reads the other services only through their gRPC APIs, never their Redis
// keys. A follower thread runs rounds every poll_interval:
//  - registry: at start (and when the event stream was trimmed past its position, or the
//    registry's version went backwards) ExportEnterprises(include_archived) of the
//    instance's region into the Dataset, following on from the export's registry_version;
//    then ListEvents, re-reading the enterprises named by enterprise events with
//    BatchGetEnterprises. The Dataset's registry version is the export's version, then
//    the version of the last enterprise event applied (link events change nothing an
//    evaluation reads).
//  - targets: the target store's change counter; when it moved, every target is re-read
//    and the columns of new targets are loaded.
//  - ingest: at start, the ingest version (read first), then ScanIndicator of every
//    column an active target reads: its indicator in every period from its baseline to
//    its deadline, and in later periods that have data (GetCoverage). Then ListChanges
//    from the version read first: a change that lists its enterprises and follows the
//    loaded column's data version directly is applied value by value; an unlisted change
//    (more than 64 values), a gap in the data versions, a new period of a followed
//    indicator, or a trimmed change stream (truncated) schedules a rescan. Rescans are
//    coalesced: at most one load per column in flight, and a column is rescanned only
//    while its data version is behind the newest one seen.
//  - columns a request needs that were never loaded are loaded on the request's thread
//    (EnsureColumns), coalesced with any load of the same column in flight.
// Failures are retried with a back-off doubling from poll_interval to max_backoff; the
// Dataset keeps serving what it has. The feed is ready once the registry export, the
// targets and the initial ingest load have all completed once.
//
// Every change to the Dataset or the targets bumps generation(), which WaitForChange
// waits on (a condition variable: watchers never poll).
//
// Metrics (in the registry passed in):
//   iplus_evaluation_feed_ready                      1 once the initial load finished
//   iplus_evaluation_feed_initial_columns{state}     columns of the initial load: total, loaded
//   iplus_evaluation_feed_registry_version           registry version the Dataset reflects
//   iplus_evaluation_feed_ingest_version             ingest version followed up to
//   iplus_evaluation_feed_lag_seconds{source}        time since the feed was last caught
//                                                    up with registry / ingest
//   iplus_evaluation_feed_enterprises, _columns      Dataset size
//   iplus_evaluation_feed_column_loads_total{reason} scans: initial, on_demand, new_target,
//                                                    new_period, unlisted, gap, truncated
//   iplus_evaluation_feed_changes_applied_total      listed changes applied value by value
//   iplus_evaluation_feed_errors_total{source}       failed rounds: registry, ingest, targets
//
// Thread-safety: every public method may be called from any thread. Ownership: the stubs
// and the metrics registry are not owned and must outlive the feed.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/registry.h"
#include "grpcpp/client_context.h"
#include "iplus/ingest/v1/ingest.grpc.pb.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/evaluation/domain/evaluate.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

struct FeedOptions {
  // Region prefix of the instance ("" for national): the export's scope.
  std::string region_prefix;
  // How often the follower reads events, changes and the target counter.
  absl::Duration poll_interval = absl::Milliseconds(100);
  // Longest wait between retries while a source is unreachable.
  absl::Duration max_backoff = absl::Seconds(2);
  // Deadline of unary calls.
  absl::Duration rpc_timeout = absl::Seconds(5);
  // Deadline of one ScanIndicator and of the whole ExportEnterprises.
  absl::Duration scan_timeout = absl::Minutes(2);
  absl::Duration export_timeout = absl::Minutes(10);
  // page_size of ListEvents and ListChanges.
  int events_page = 1000;
  int changes_page = 1000;
};

// Where the feed learns which targets exist (the target store, wired by the app).
struct TargetSource {
  // A counter that moves whenever a target changes.
  std::function<absl::StatusOr<int64_t>()> version;
  // Every target, archived ones included.
  std::function<absl::StatusOr<std::vector<Target>>()> all;
};

// The periods from `from` to `to` inclusive (same granularity), at most `limit` of them.
std::vector<Period> PeriodsBetween(const Period& from, const Period& to, int limit = 1200);

// The period of `granularity` that contains today in China Standard Time.
Period CurrentPeriod(refdata::Granularity granularity, absl::Time now);

class Feed {
 public:
  using RegistryStub = registry::v1::RegistryService::StubInterface;
  using IngestStub = ingest::v1::IngestService::StubInterface;
  using ColumnKey = std::pair<std::string, Period>;

  Feed(RegistryStub* registry, IngestStub* ingest, TargetSource targets, metrics::Registry& metrics,
       FeedOptions options = {});
  ~Feed();  // Stop()s.
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Starts the follower thread; the initial load runs on it.
  void Start();
  // Stops the follower, cancelling calls in flight; idempotent.
  void Stop();

  // Runs one follower round on the caller's thread, serialised with the follower.
  // Returns the first error of the round.
  absl::Status SyncNow();

  // True once the initial load has completed.
  bool ready() const { return ready_.load(); }

  // Runs fn(const Dataset&) under the reader lock and returns what it returns.
  template <typename Fn>
  auto Read(Fn fn) const {
    absl::ReaderMutexLock lock(&data_mu_);
    return fn(data_);
  }

  // Loads the columns of `indicator` for the periods from `from` to `to` that were never
  // loaded, coalesced with loads of the same columns in flight. UNAVAILABLE when ingest
  // cannot be reached in time, NOT_FOUND for an indicator ingest does not know.
  absl::Status EnsureColumns(const std::string& indicator, const Period& from, const Period& to,
                             absl::Time deadline);

  // What an indicator is, from the catalogue the feed keeps; asked from ingest when
  // unknown or when `fresh`. NOT_FOUND for an indicator ingest does not know;
  // UNAVAILABLE when ingest cannot be asked.
  absl::StatusOr<IndicatorInfo> Indicator(const std::string& id, bool fresh = false);

  // Every target as of the last refresh, in id order.
  std::vector<Target> targets() const;

  // Bumped by every change to the Dataset or the targets.
  uint64_t generation() const;
  // Waits until generation() differs from `seen`, Wake() is called or `deadline`
  // passes; may return early. Returns generation().
  uint64_t WaitForChange(uint64_t seen, absl::Time deadline);
  // Wakes every WaitForChange.
  void Wake();

  // The ingest version the follower has read up to.
  int64_t ingest_version() const { return ingest_after_.load(); }

 private:
  enum class LoadMode { kIfAbsent, kIfBehind, kForce };

  void Run();
  absl::Status Round() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status Export() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status FollowRegistry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status RefreshTargets() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status LoadCatalogue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status InitialIngest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status FollowIngest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  absl::Status ProcessRescans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // The columns the active targets read: baseline to deadline, and later periods that
  // have data.
  absl::StatusOr<std::vector<ColumnKey>> TargetColumns(const std::vector<Target>& targets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  void Track(const std::string& indicator, const Period& from);

  // Scans one column and installs it, per `mode`; coalesced with loads in flight.
  absl::Status LoadColumn(const ColumnKey& key, LoadMode mode, const char* reason,
                          absl::Time deadline);
  // Dataset indices of `codes`, fetching unknown ones from the registry; -1 for codes the
  // registry does not know (or outside the region).
  absl::StatusOr<std::vector<int32_t>> Resolve(const std::vector<std::string>& codes,
                                               absl::Time deadline);
  // Fetches enterprises by code and upserts them; returns whether the Dataset changed.
  absl::Status FetchEnterprises(const std::vector<std::string>& codes, absl::Time deadline,
                                int64_t registry_version);
  bool Behind(const ColumnKey& key) const;
  void NoteSeen(const ColumnKey& key, int64_t data_version);
  void Bump();

  // Call registration, so that Stop() can cancel what is in flight.
  bool BeginCall(grpc::ClientContext* context);
  void EndCall(grpc::ClientContext* context);
  bool Stopping() const;

  void Note(const char* source, const absl::Status& status);
  void UpdateGauges();

  RegistryStub* const registry_;
  IngestStub* const ingest_;
  const TargetSource target_source_;
  const FeedOptions options_;

  mutable absl::Mutex data_mu_;
  Dataset data_ ABSL_GUARDED_BY(data_mu_);

  // Follower state: one round at a time.
  absl::Mutex round_mu_;
  bool registry_loaded_ ABSL_GUARDED_BY(round_mu_) = false;
  bool need_export_ ABSL_GUARDED_BY(round_mu_) = false;
  int64_t registry_after_ ABSL_GUARDED_BY(round_mu_) = 0;
  bool catalogue_loaded_ ABSL_GUARDED_BY(round_mu_) = false;
  bool targets_loaded_ ABSL_GUARDED_BY(round_mu_) = false;
  int64_t targets_version_ ABSL_GUARDED_BY(round_mu_) = -1;
  bool ingest_started_ ABSL_GUARDED_BY(round_mu_) = false;
  // The ingest version read before the first scan of the initial load (-1: not yet).
  int64_t initial_ingest_version_ ABSL_GUARDED_BY(round_mu_) = -1;
  std::atomic<int64_t> ingest_after_{0};
  std::atomic<bool> ready_{false};

  // Columns waiting for a rescan, and why; columns rescanned unconditionally.
  mutable absl::Mutex state_mu_;
  std::map<ColumnKey, const char*> rescan_ ABSL_GUARDED_BY(state_mu_);
  std::set<ColumnKey> force_ ABSL_GUARDED_BY(state_mu_);
  // Every column loaded at least once.
  std::set<ColumnKey> loaded_ ABSL_GUARDED_BY(state_mu_);
  // The newest data version seen for each key (changes, coverage).
  std::map<ColumnKey, int64_t> latest_ ABSL_GUARDED_BY(state_mu_);
  // Followed indicators and the first period followed: changes to later periods that
  // were never loaded load them.
  std::map<std::string, Period> tracked_ ABSL_GUARDED_BY(state_mu_);
  std::vector<Target> targets_ ABSL_GUARDED_BY(state_mu_);

  // Column loads in flight.
  absl::Mutex load_mu_;
  absl::CondVar load_cv_;
  std::set<ColumnKey> loading_ ABSL_GUARDED_BY(load_mu_);

  mutable absl::Mutex catalogue_mu_;
  absl::flat_hash_map<std::string, IndicatorInfo> catalogue_ ABSL_GUARDED_BY(catalogue_mu_);

  mutable absl::Mutex gen_mu_;
  absl::CondVar gen_cv_;
  uint64_t generation_ ABSL_GUARDED_BY(gen_mu_) = 0;

  // Thread control.
  mutable absl::Mutex run_mu_;
  bool stopping_ ABSL_GUARDED_BY(run_mu_) = false;
  bool started_ ABSL_GUARDED_BY(run_mu_) = false;
  std::set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(run_mu_);
  std::thread thread_;

  // Outage bookkeeping: one warning per outage and source.
  std::atomic<bool> registry_down_{false};
  std::atomic<bool> ingest_down_{false};
  std::atomic<bool> targets_down_{false};
  std::atomic<int64_t> registry_ok_ms_{0};
  std::atomic<int64_t> ingest_ok_ms_{0};

  metrics::Gauge& ready_gauge_;
  metrics::Family<metrics::Gauge>& initial_columns_;
  metrics::Gauge& registry_version_gauge_;
  metrics::Gauge& ingest_version_gauge_;
  metrics::Family<metrics::Gauge>& lag_;
  metrics::Gauge& enterprises_gauge_;
  metrics::Gauge& columns_gauge_;
  metrics::Family<metrics::Counter>& loads_;
  metrics::Counter& applied_;
  metrics::Family<metrics::Counter>& errors_;
};

}  // namespace iplus::evaluation
