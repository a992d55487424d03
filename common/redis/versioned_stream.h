#pragma once

// Change streams whose entry ids are "<version>-0" next to a counter holding the newest
// version: the registry's events and ingestion's changes. Reading after a version is one
// XRANGE; a reader whose version was trimmed off a capped stream is told so.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis/client.h"

namespace iplus::redis {

struct VersionedEntry {
  int64_t version = 0;
  std::vector<std::pair<std::string, std::string>> fields;
};

struct VersionedPage {
  std::vector<VersionedEntry> entries;
  // The counter's value at read time.
  int64_t current_version = 0;
  // Entries after `after_version` were trimmed: the reader must start over.
  bool truncated = false;
};

// Entries with version > after_version, oldest first, at most `limit`.
absl::StatusOr<VersionedPage> ReadVersionedStream(Client& client, const std::string& stream_key,
                                                  const std::string& version_key,
                                                  int64_t after_version, int limit);

}  // namespace iplus::redis
