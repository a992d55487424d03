#pragma once

// An in-memory Store for unit tests of the domain core: same contract as the Redis
// store, one mutex for atomicity.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/ingest/domain/store.h"

namespace iplus::ingest {

class MemoryStore : public Store {
 public:
  explicit MemoryStore(size_t max_changes = 100000) : max_changes_(max_changes) {}

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

  // Makes every call fail with `status` until cleared with OkStatus.
  void SetFailure(absl::Status status);
  // Runs `hook` inside the next Apply, before it looks at anything (conflict tests).
  void BeforeNextApply(std::function<void()> hook);
  // Replaces a series behind the core's back (conflict tests).
  void PutSeries(const SeriesKey& key, const std::string& text);

 private:
  using ColumnKey = std::pair<std::string, std::string>;  // indicator, period

  const size_t max_changes_;
  absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_apply_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Indicator> indicators_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> reporters_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::string> series_ ABSL_GUARDED_BY(mu_);
  std::map<ColumnKey, std::map<std::string, double>> columns_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> reports_ ABSL_GUARDED_BY(mu_);
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<SeriesEntry>> history_
      ABSL_GUARDED_BY(mu_);
  std::map<ColumnKey, int64_t> data_versions_ ABSL_GUARDED_BY(mu_);
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace iplus::ingest
