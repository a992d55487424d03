#pragma once

// What ingestion needs to know about enterprises, behind an interface: the registry
// adapter (services/ingest/directory) implements it with a Redis cache that the
// registry's event stream keeps current; tests use a fake.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace iplus::ingest {

struct EnterpriseInfo {
  // False when the registry does not know the code.
  bool known = false;
  bool archived = false;
  // 6-digit region code and industry division ("C26"); empty when unknown.
  std::string region;
  std::string division;
};

class EnterpriseDirectory {
 public:
  virtual ~EnterpriseDirectory() = default;

  // One entry per code, in order. An entry is UNAVAILABLE when the code is not cached
  // and the registry cannot be asked right now (the caller rejects it as retryable; it is
  // never silently accepted). Thread-safe.
  virtual std::vector<absl::StatusOr<EnterpriseInfo>> Lookup(
      const std::vector<std::string>& codes) = 0;
};

}  // namespace iplus::ingest
