#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics/builder.h"
#include "common/metrics/collectable.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/labels.h"
#include "common/metrics/metric_family.h"
#include "common/metrics/metric_type.h"

namespace iplus::metrics {

// Owns metric families and collects them for an Exposer. There is no global registry:
// main() creates one with std::make_shared<Registry>(), passes it by reference to the
// code that registers metrics, and hands a weak_ptr to the Exposer. Families and their
// series live as long as the registry.
//
// Registering a name that exists already:
//   - same type and same constant labels: the existing family is returned;
//   - same type, other constant labels: a second family is created, and Collect()
//     merges both into one MetricFamily (HELP of the first registered);
//   - different type: a programming error, reported on stderr followed by abort().
//
// Thread-safety: all methods may be called concurrently.
class Registry : public Collectable {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Snapshots of all families, sorted by name, families of the same name merged.
  std::vector<MetricFamily> Collect() const override;

  // Deletes `family`, invalidating references to it and its series. Returns false if it
  // is not owned by this registry.
  template <typename T>
  bool Remove(const Family<T>& family);

 private:
  template <typename T>
  friend class detail::Builder;

  template <typename T>
  Family<T>& Add(const std::string& name, const std::string& help, const Labels& constant_labels);

  struct Entry {
    MetricType type;
    std::unique_ptr<Collectable> family;
    const std::string* name;        // owned by *family
    const Labels* constant_labels;  // owned by *family
  };

  mutable std::mutex mu_;
  std::vector<Entry> families_;  // guarded by mu_
};

}  // namespace iplus::metrics
