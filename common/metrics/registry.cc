#include "common/metrics/registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metrics/names.h"

namespace iplus::metrics {
template <typename T>
Family<T>& Registry::Add(const std::string& name, const std::string& help,
                         const Labels& constant_labels) {
  // Names and labels are checked by the Family constructor.
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& entry : families_) {
    if (*entry.name != name) continue;
    if (entry.type != T::kMetricType) {
      internal::Fatal(absl::StrCat("metric family \"", name, "\" registered as ",
                                   MetricTypeName(entry.type), " and again as ",
                                   MetricTypeName(T::kMetricType)));
    }
    if (*entry.constant_labels == constant_labels) {
      return static_cast<Family<T>&>(*entry.family);
    }
  }
  auto family = std::make_unique<Family<T>>(name, help, constant_labels);
  Family<T>& ref = *family;
  families_.push_back(
      Entry{T::kMetricType, std::move(family), &ref.GetName(), &ref.GetConstantLabels()});
  return ref;
}

template <typename T>
bool Registry::Remove(const Family<T>& family) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(families_.begin(), families_.end(),
                         [&](const Entry& entry) { return entry.family.get() == &family; });
  if (it == families_.end()) return false;
  families_.erase(it);
  return true;
}

std::vector<MetricFamily> Registry::Collect() const {
  std::vector<MetricFamily> collected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& entry : families_) {
      for (MetricFamily& family : entry.family->Collect()) collected.push_back(std::move(family));
    }
  }
  // Stable, so that among same-name families the first registered comes first.
  std::stable_sort(collected.begin(), collected.end(),
                   [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
  std::vector<MetricFamily> merged;
  for (MetricFamily& family : collected) {
    if (!merged.empty() && merged.back().name == family.name) {
      MetricFamily& target = merged.back();
      if (target.help.empty()) target.help = std::move(family.help);
      for (ClientMetric& metric : family.metric) target.metric.push_back(std::move(metric));
      continue;
    }
    merged.push_back(std::move(family));
  }
  return merged;
}

template Family<Counter>& Registry::Add<Counter>(const std::string&, const std::string&,
                                                 const Labels&);
template Family<Gauge>& Registry::Add<Gauge>(const std::string&, const std::string&, const Labels&);
template Family<Histogram>& Registry::Add<Histogram>(const std::string&, const std::string&,
                                                     const Labels&);
template bool Registry::Remove<Counter>(const Family<Counter>&);
template bool Registry::Remove<Gauge>(const Family<Gauge>&);
template bool Registry::Remove<Histogram>(const Family<Histogram>&);

}  // namespace iplus::metrics
