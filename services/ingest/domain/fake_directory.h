#pragma once

// An EnterpriseDirectory for tests: a map, and a switch that makes the registry
// unreachable.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/ingest/domain/directory.h"

namespace iplus::ingest {

class FakeDirectory : public EnterpriseDirectory {
 public:
  std::vector<absl::StatusOr<EnterpriseInfo>> Lookup(
      const std::vector<std::string>& codes) override {
    absl::MutexLock lock(&mu_);
    std::vector<absl::StatusOr<EnterpriseInfo>> out;
    for (const auto& c : codes) {
      if (unavailable_) {
        out.push_back(absl::UnavailableError("registry unreachable"));
        continue;
      }
      auto it = known_.find(c);
      out.push_back(it == known_.end() ? EnterpriseInfo{} : it->second);
    }
    return out;
  }

  void Add(const std::string& code, const std::string& division = "C26", bool archived = false,
           const std::string& region = "440103") {
    absl::MutexLock lock(&mu_);
    known_[code] = EnterpriseInfo{true, archived, region, division};
  }

  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, EnterpriseInfo> known_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace iplus::ingest
