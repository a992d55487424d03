#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/client_metric.h"
#include "common/metrics/collectable.h"
#include "common/metrics/labels.h"
#include "common/metrics/metric_family.h"
#include "common/metrics/names.h"

namespace iplus::metrics {

// All series of one metric name, one per distinct label set. T is Counter, Gauge or
// Histogram. Families are normally created through BuildCounter() etc. and owned by a
// Registry; they are neither copyable nor movable because callers hold references to
// them and to their series.
//
// Thread-safety: every method may be called concurrently. Add(), Remove() and Has() take
// a mutex, so hot paths should call Add() once and keep the returned reference; updating
// the series itself is lock-free.
template <typename T>
class Family : public Collectable {
 public:
  // Aborts on an invalid name or constant label (see names.h).
  Family(std::string name, std::string help, Labels constant_labels)
      : name_(std::move(name)),
        help_(std::move(help)),
        constant_labels_(std::move(constant_labels)) {
    internal::CheckFamily(name_, constant_labels_, T::kMetricType);
  }
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // Returns the series for `labels`, creating it with T(args...) on first use (e.g.
  // Add(labels, DefaultLatencyBuckets()) for a histogram). Later calls with the same
  // labels return the same object and ignore `args`. The reference stays valid until
  // Remove() of that series or destruction of the family. Aborts on an invalid label
  // name, a name that repeats a constant label, or "le" on a histogram.
  template <typename... Args>
  T& Add(const Labels& labels, Args&&... args) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = metrics_.find(labels);
    if (it != metrics_.end()) return *it->second;
    internal::CheckSeriesLabels(name_, constant_labels_, labels, T::kMetricType);
    auto metric = std::make_unique<T>(std::forward<Args>(args)...);
    T& ref = *metric;
    metrics_.emplace(labels, std::move(metric));
    return ref;
  }

  // Deletes the series `metric` points to; references to it dangle afterwards. A pointer
  // that is not a series of this family (including nullptr) is ignored.
  void Remove(T* metric) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = metrics_.begin(); it != metrics_.end(); ++it) {
      if (it->second.get() == metric) {
        metrics_.erase(it);
        return;
      }
    }
  }

  // Whether a series with exactly these (non-constant) labels exists.
  bool Has(const Labels& labels) const {
    std::lock_guard<std::mutex> lock(mu_);
    return metrics_.count(labels) != 0;
  }

  const std::string& GetName() const { return name_; }
  const std::string& GetHelp() const { return help_; }
  const Labels& GetConstantLabels() const { return constant_labels_; }

  // One MetricFamily holding every series, ordered by label set.
  std::vector<MetricFamily> Collect() const override {
    MetricFamily family;
    family.name = name_;
    family.help = help_;
    family.type = T::kMetricType;
    std::lock_guard<std::mutex> lock(mu_);
    family.metric.reserve(metrics_.size());
    for (const auto& [labels, metric] : metrics_) {
      ClientMetric snapshot = metric->Collect();
      Labels all = constant_labels_;
      all.insert(labels.begin(), labels.end());
      snapshot.label.reserve(all.size());
      for (const auto& [name, value] : all) snapshot.label.push_back({name, value});
      family.metric.push_back(std::move(snapshot));
    }
    std::vector<MetricFamily> out;
    out.push_back(std::move(family));
    return out;
  }

 private:
  const std::string name_;
  const std::string help_;
  const Labels constant_labels_;
  mutable std::mutex mu_;
  // unique_ptr keeps series at fixed addresses while the map changes.
  std::map<Labels, std::unique_ptr<T>> metrics_;  // guarded by mu_
};

}  // namespace iplus::metrics
