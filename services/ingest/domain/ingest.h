#pragma once

// The ingestion service's domain core: the indicator catalogue, validation of reported
// observations, outcomes (accepted, duplicate, revised, rejected), outlier flags and the
// reads. No gRPC, no Redis. Thread-safe if the Store and directory are.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock/clock.h"
#include "services/ingest/domain/directory.h"
#include "services/ingest/domain/indicator.h"
#include "services/ingest/domain/observation.h"
#include "services/ingest/domain/outliers.h"
#include "services/ingest/domain/store.h"

namespace iplus::ingest {

struct IngestConfig {
  int max_batch = 5000;
  double outlier_threshold = 3.5;
  // Own-history scores need at least this many earlier periods; peer scores this many
  // peers in the same industry division and period.
  size_t own_history_min_points = 3;
  size_t peer_min_points = 10;
  // How often the in-memory catalogue is reloaded, so that indicators created or retired
  // through another replica take effect here too.
  absl::Duration catalogue_refresh = absl::Seconds(1);
  // Rounds of re-preparing items whose series another writer moved meanwhile.
  int max_conflict_rounds = 16;
  int default_page_size = 100;
  int max_page_size = 1000;
  // Offset of the reporting calendar from UTC, for "not in the future" (China: UTC+8).
  int utc_offset_hours = 8;
  // Fill the peer samples of an (indicator, period) from the stored column the first
  // time this process sees it, on a background thread, so that peer scores work after a
  // restart and on every replica. Off in unit tests for determinism.
  bool seed_peers = false;
};

// Whether a reporter may report for an enterprise; the caller's regions plug in here.
// It is asked before the enterprise's existence and state are looked at, so that a
// refusal says nothing about them: for a code the registry does not know,
// `enterprise.known` is false and `enterprise.region` is the region embedded in the
// credit code.
class ReportPolicy {
 public:
  virtual ~ReportPolicy() = default;
  virtual bool MayReport(const std::string& reporter, const EnterpriseInfo& enterprise) = 0;
};

// The current value of one period, with who reported it.
struct StoredObservation {
  std::string code;
  std::string indicator;
  std::string period;
  SeriesEntry entry;
  std::string reporter;
};

struct Revision {
  int revision = 0;
  std::string report_id;
  std::string reporter;
  absl::Time time;
  absl::optional<double> old_value;
  double new_value = 0;
  std::vector<Flag> flags;
};

struct PeriodCoverage {
  std::string period;
  int64_t reporters = 0;
  int64_t data_version = 0;
};

struct IndicatorPage {
  std::vector<Indicator> indicators;
  std::string next_page_token;
};

class Ingest {
 public:
  // Everything passed in must outlive the core; `policy` may be null (allow all).
  Ingest(Store* store, EnterpriseDirectory* directory, Clock* clock, PeerStats* peers,
         ReportPolicy* policy, IngestConfig config);
  // Stops the peer seeder, if it runs.
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Blocks until every peer seeding requested so far is done (tests and benchmarks).
  void WaitForPeerSeeding();

  // Creates the built-in indicators that are missing (on start; idempotent).
  absl::Status SeedCatalogue();

  absl::StatusOr<IndicatorPage> ListIndicators(bool include_retired, int page_size,
                                               const std::string& page_token);
  absl::StatusOr<Indicator> GetIndicator(const std::string& id);
  absl::StatusOr<std::pair<Indicator, bool>> CreateIndicator(Indicator indicator);
  absl::StatusOr<Indicator> RetireIndicator(const std::string& id, const std::string& reason);

  // One result per observation, in order. INVALID_ARGUMENT for the whole call when the
  // batch is empty or larger than max_batch; UNAVAILABLE when the store is unreachable
  // (nothing of the batch was stored then, except items already applied before the
  // outage, which a resend reports as DUPLICATE).
  //
  // `call_policy`, when not null, is asked too (besides the core's own policy): the
  // adapter passes the caller's regions with it. An item it refuses is rejected
  // NOT_AUTHORIZED.
  absl::StatusOr<std::vector<ItemResult>> Report(const std::string& reporter,
                                                 const std::vector<ObservationInput>& items,
                                                 ReportPolicy* call_policy = nullptr);

  absl::StatusOr<std::vector<StoredObservation>> GetSeries(const std::string& code,
                                                           const std::string& indicator,
                                                           const std::string& start,
                                                           const std::string& end);
  absl::StatusOr<std::vector<Revision>> GetHistory(const std::string& code,
                                                   const std::string& indicator,
                                                   const std::string& period);
  absl::Status Scan(
      const std::string& indicator, const std::string& period, int batch_size,
      const std::function<bool(const std::vector<std::pair<std::string, double>>&, int64_t)>& sink);
  absl::StatusOr<std::vector<PeriodCoverage>> GetCoverage(const std::string& indicator,
                                                          const std::string& start,
                                                          const std::string& end);
  absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> GetDataVersions(
      const std::vector<DataKey>& keys);
  absl::StatusOr<ChangesPage> ListChanges(int64_t after_version, int page_size);

 private:
  struct Prepared;

  // The catalogue, reloaded when older than catalogue_refresh or when `force`.
  absl::StatusOr<std::shared_ptr<const absl::flat_hash_map<std::string, Indicator>>> Catalogue(
      bool force);
  absl::StatusOr<Indicator> FindIndicator(const std::string& id, const std::string& field);
  absl::StatusOr<int> ReporterIdOf(const std::string& reporter);
  absl::StatusOr<std::vector<refdata::Period>> PeriodRange(const Indicator& indicator,
                                                           const std::string& start,
                                                           const std::string& end);
  std::vector<Flag> Score(const Indicator& indicator, const std::string& period,
                          const std::string& division, const std::vector<SeriesEntry>& series,
                          int ordinal, double value);

  // Queues (indicator, period) for peer seeding unless it was queued before.
  void RequestPeerSeeding(const Indicator& indicator, const std::string& period);
  void SeedLoop();
  void SeedPeers(const std::string& indicator, const std::string& period);

  Store* store_;
  EnterpriseDirectory* directory_;
  Clock* clock_;
  PeerStats* peers_;
  ReportPolicy* policy_;
  IngestConfig config_;

  absl::Mutex mu_;
  std::shared_ptr<const absl::flat_hash_map<std::string, Indicator>> catalogue_
      ABSL_GUARDED_BY(mu_);
  absl::Time catalogue_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::flat_hash_map<std::string, int> reporter_ids_ ABSL_GUARDED_BY(mu_);

  absl::Mutex seed_mu_;
  absl::flat_hash_set<std::string> seed_requested_ ABSL_GUARDED_BY(seed_mu_);
  std::deque<std::pair<std::string, std::string>> seed_queue_ ABSL_GUARDED_BY(seed_mu_);
  int seeding_ ABSL_GUARDED_BY(seed_mu_) = 0;
  bool seed_stop_ ABSL_GUARDED_BY(seed_mu_) = false;
  std::thread seeder_;
};

}  // namespace iplus::ingest
