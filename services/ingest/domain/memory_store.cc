#include "services/ingest/domain/memory_store.h"

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace iplus::ingest {

void MemoryStore::SetFailure(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

void MemoryStore::BeforeNextApply(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  before_apply_ = std::move(hook);
}

void MemoryStore::PutSeries(const SeriesKey& key, const std::string& text) {
  absl::MutexLock lock(&mu_);
  series_[{key.indicator, key.code}] = text;
}

absl::StatusOr<std::vector<Indicator>> MemoryStore::ListIndicators() {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<Indicator> out;
  for (const auto& [id, i] : indicators_) out.push_back(i);
  return out;
}

absl::StatusOr<std::pair<Indicator, bool>> MemoryStore::CreateIndicator(
    const Indicator& indicator) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto [it, inserted] = indicators_.try_emplace(indicator.id, indicator);
  return std::make_pair(it->second, inserted);
}

absl::StatusOr<Indicator> MemoryStore::ReplaceIndicator(const Indicator& indicator) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = indicators_.find(indicator.id);
  if (it == indicators_.end()) return absl::NotFoundError("indicator " + indicator.id);
  it->second = indicator;
  return indicator;
}

absl::StatusOr<int> MemoryStore::ReporterId(const std::string& reporter) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  for (size_t i = 0; i < reporters_.size(); ++i) {
    if (reporters_[i] == reporter) return static_cast<int>(i + 1);
  }
  reporters_.push_back(reporter);
  return static_cast<int>(reporters_.size());
}

absl::StatusOr<std::string> MemoryStore::ReporterName(int id) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  if (id < 1 || id > static_cast<int>(reporters_.size())) return absl::NotFoundError("reporter");
  return reporters_[id - 1];
}

absl::StatusOr<std::vector<std::string>> MemoryStore::ReadSeries(
    const std::vector<SeriesKey>& keys) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<std::string> out;
  for (const auto& k : keys) {
    auto it = series_.find({k.indicator, k.code});
    out.push_back(it == series_.end() ? "" : it->second);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MemoryStore::ReadReports(
    const std::vector<std::string>& report_keys) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<std::string> out;
  for (const auto& k : report_keys) {
    auto it = reports_.find(k);
    out.push_back(it == reports_.end() ? "" : it->second);
  }
  return out;
}

absl::StatusOr<std::vector<WriteStatus>> MemoryStore::Apply(
    const std::vector<ObservationWrite>& writes, absl::Time time) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = std::move(before_apply_);
    before_apply_ = nullptr;
  }
  if (hook) hook();
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<WriteStatus> out;
  std::map<ColumnKey, std::vector<std::pair<std::string, double>>> touched;
  for (const auto& w : writes) {
    auto seen = reports_.find(w.report_key);
    if (seen != reports_.end()) {
      out.push_back(seen->second == w.fingerprint ? WriteStatus::kDuplicateReport
                                                  : WriteStatus::kReportIdReused);
      continue;
    }
    std::string& current = series_[{w.series.indicator, w.series.code}];
    if (current != w.expected_series) {
      out.push_back(WriteStatus::kConflict);
      continue;
    }
    reports_[w.report_key] = w.fingerprint;
    if (!w.new_series.empty()) {
      current = w.new_series;
      double v = 0;
      if (!absl::SimpleAtod(w.value, &v))
        return absl::InvalidArgumentError("value is not a number");
      columns_[{w.series.indicator, w.period}][w.series.code] = v;
      if (!w.replaced_entry.empty()) {
        auto entry = DecodeEntry(w.replaced_entry);
        if (entry.ok()) history_[{w.series.indicator, w.series.code, w.period}].push_back(*entry);
      }
      touched[{w.series.indicator, w.period}].emplace_back(w.series.code, v);
    }
    out.push_back(WriteStatus::kApplied);
  }
  for (auto& [key, values] : touched) {
    int64_t dv = ++data_versions_[key];
    Change change{++version_, DataKey{key.first, key.second}, dv, time, {}, false};
    if (values.size() <= static_cast<size_t>(kMaxListedChangeValues)) {
      change.values = std::move(values);
      change.listed = true;
    }
    changes_.push_back(std::move(change));
    if (changes_.size() > max_changes_) changes_.erase(changes_.begin());
  }
  return out;
}

absl::StatusOr<std::vector<SeriesEntry>> MemoryStore::History(const SeriesKey& key,
                                                              const std::string& period) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = history_.find({key.indicator, key.code, period});
  if (it == history_.end()) return std::vector<SeriesEntry>{};
  return it->second;
}

absl::Status MemoryStore::Scan(
    const DataKey& key, int batch_size,
    const std::function<bool(const std::vector<std::pair<std::string, double>>&, int64_t)>& sink) {
  std::vector<std::pair<std::string, double>> all;
  int64_t version = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!failure_.ok()) return failure_;
    auto it = columns_.find({key.indicator, key.period});
    if (it != columns_.end()) all.assign(it->second.begin(), it->second.end());
    auto dv = data_versions_.find({key.indicator, key.period});
    version = dv == data_versions_.end() ? 0 : dv->second;
  }
  for (size_t i = 0; i < all.size(); i += batch_size) {
    std::vector<std::pair<std::string, double>> batch(
        all.begin() + i, all.begin() + std::min(all.size(), i + batch_size));
    if (!sink(batch, version)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> MemoryStore::Coverage(
    const std::vector<DataKey>& keys) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& k : keys) {
    auto c = columns_.find({k.indicator, k.period});
    auto dv = data_versions_.find({k.indicator, k.period});
    out.emplace_back(c == columns_.end() ? 0 : static_cast<int64_t>(c->second.size()),
                     dv == data_versions_.end() ? 0 : dv->second);
  }
  return out;
}

absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> MemoryStore::DataVersions(
    const std::vector<DataKey>& keys) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<int64_t> out;
  for (const auto& k : keys) {
    auto dv = data_versions_.find({k.indicator, k.period});
    out.push_back(dv == data_versions_.end() ? 0 : dv->second);
  }
  return std::make_pair(out, version_);
}

absl::StatusOr<ChangesPage> MemoryStore::ListChanges(int64_t after_version, int limit) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  ChangesPage page;
  page.ingest_version = version_;
  page.truncated = version_ > after_version &&
                   (changes_.empty() || changes_.front().version > after_version + 1);
  for (const auto& c : changes_) {
    if (c.version <= after_version) continue;
    if (static_cast<int>(page.changes.size()) >= limit) break;
    page.changes.push_back(c);
  }
  return page;
}

}  // namespace iplus::ingest
