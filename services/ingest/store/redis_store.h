#pragma once

// The ingestion service's Store on Redis.
//
// Keys, all under one hash tag per region (scripts touch several keys):
//   P = "iplus:{ingest:<region or all>}:"
//   P ind                      hash id → v1.Indicator
//   P rep / P repn / P repseq  reporter name → id, id → name, id counter
//   P s:<ind>:<b>              series: hash code → series text (b = hash(code) % series buckets)
//   P c:<ind>:<period>:<b>     column: hash code → value text (b = hash(code) % column buckets)
//   P r:<b>                    reports: hash report key (8 bytes) → fingerprint (8 bytes)
//   P h:<ind>:<period>:<code>  list of entries replaced by revisions
//   P cov / P dv               hash "<ind>|<period>" → reporters / data version
//   P ver, P ch                ingest version; capped change stream, entry id "<version>-0"
//   P meta                     the bucket counts the data was written with
// Buckets keep each hash small enough for Redis's compact (listpack) encoding, which is
// what makes an observation cost about a hundred bytes; see docs/design.md.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "services/ingest/domain/store.h"

namespace iplus::ingest {

struct RedisStoreOptions {
  std::string region_prefix;
  int series_buckets = 4096;
  int column_buckets = 1024;
  int report_buckets = 16384;
  int64_t max_changes = 1000000;
  // Writes per script call; a batch is applied in chunks of this size, in order.
  int writes_per_script = 1000;
};

class RedisStore : public Store {
 public:
  // `client` must outlive the store.
  RedisStore(redis::Client* client, RedisStoreOptions options);

  // Records the bucket counts on first use and refuses (FAILED_PRECONDITION) to run with
  // others, which would make existing data unreachable.
  absl::Status Init();

  absl::StatusOr<std::vector<Indicator>> ListIndicators() override;
  absl::StatusOr<std::pair<Indicator, bool>> CreateIndicator(const Indicator& indicator) override;
  absl::StatusOr<Indicator> ReplaceIndicator(const Indicator& indicator) override;
  absl::StatusOr<int> ReporterId(const std::string& reporter) override;
  absl::StatusOr<std::string> ReporterName(int id) override;
  absl::StatusOr<std::vector<std::string>> ReadSeries(const std::vector<SeriesKey>& keys) override;
  absl::StatusOr<std::vector<std::string>> ReadReports(
      const std::vector<std::string>& report_keys) override;
  absl::StatusOr<std::vector<WriteStatus>> Apply(const std::vector<ObservationWrite>& writes,
                                                 absl::Time time) override;
  absl::StatusOr<std::vector<SeriesEntry>> History(const SeriesKey& key,
                                                   const std::string& period) override;
  absl::Status Scan(const DataKey& key, int batch_size,
                    const std::function<bool(const std::vector<std::pair<std::string, double>>&,
                                             int64_t)>& sink) override;
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> Coverage(
      const std::vector<DataKey>& keys) override;
  absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> DataVersions(
      const std::vector<DataKey>& keys) override;
  absl::StatusOr<ChangesPage> ListChanges(int64_t after_version, int limit) override;

  const std::string& prefix() const { return prefix_; }

  // Key names, exposed for the benchmark's raw-pipeline baseline.
  std::string SeriesKeyName(const SeriesKey& key) const;
  std::string ColumnKeyName(const std::string& indicator, const std::string& period,
                            const std::string& code) const;
  std::string ReportKeyName(const std::string& report_key) const;
  std::string HistoryKeyName(const SeriesKey& key, const std::string& period) const;

 private:
  std::string Key(absl::string_view suffix) const;

  redis::Client* client_;
  RedisStoreOptions options_;
  std::string prefix_;
  redis::Script apply_script_;
  redis::Script reporter_script_;
  absl::Mutex mu_;
  absl::flat_hash_map<int, std::string> reporter_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace iplus::ingest
