#pragma once

// The registry's storage port. The domain core calls it; the Redis adapter
// (services/registry/store) and the in-memory fake (memory_store.h) implement it.
//
// Every method is atomic on its own: a record, its indexes, the counts, the registry
// version and the event stream change together or not at all. Implementations are
// thread-safe. Errors: UNAVAILABLE when the backing store cannot be reached.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "services/registry/domain/enterprise.h"

namespace iplus::registry {

struct CreateResult {
  // The stored enterprise: the new one, or the one that already had the code.
  Enterprise enterprise;
  bool created = false;
};

struct ScanResult {
  // Matches with code > after, in code order, at most `limit` of them.
  std::vector<Enterprise> enterprises;
  // The last code examined; a later scan resumes after it.
  std::string resume_after;
  // No enterprise with a code > resume_after can match.
  bool done = false;
};

enum class LinkChange { kApplied, kAlreadyDone, kMissingEnterprise, kArchivedEnterprise };

struct LinkResult {
  LinkChange change = LinkChange::kApplied;
  Link link;                   // the stored link (kApplied or kAlreadyDone on create)
  std::string offending_code;  // for kMissingEnterprise / kArchivedEnterprise
};

struct EventsPage {
  std::vector<Event> events;
  int64_t registry_version = 0;
  bool truncated = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Stores `e` (revision 1) unless an enterprise with its code exists, in which case the
  // existing one is returned with created = false. Assigns the registry version.
  virtual absl::StatusOr<CreateResult> Create(const Enterprise& e) = 0;

  // Create for many, in one round trip where the backend allows; results in order.
  virtual absl::StatusOr<std::vector<CreateResult>> CreateMany(
      const std::vector<Enterprise>& enterprises) = 0;

  // NOT_FOUND if absent.
  virtual absl::StatusOr<Enterprise> Get(const std::string& code) = 0;

  // One entry per code, nullopt where absent.
  virtual absl::StatusOr<std::vector<absl::optional<Enterprise>>> GetMany(
      const std::vector<std::string>& codes) = 0;

  // Replaces the enterprise with updated.code if its stored revision is still
  // updated.revision - 1; ABORTED if it moved on, NOT_FOUND if absent. Assigns the
  // registry version and records an event of `type`.
  virtual absl::StatusOr<Enterprise> Replace(const Enterprise& updated, EventType type) = 0;

  // Enterprises matching `query` with code > after, in code order. Examines at most
  // `max_examined` candidates, so a selective query returns in bounded time.
  virtual absl::StatusOr<ScanResult> Scan(const Query& query, const std::string& after, int limit,
                                          int max_examined) = 0;

  // Counts of matching enterprises by group key, and the registry version read.
  virtual absl::StatusOr<std::map<std::string, int64_t>> Count(const Query& query,
                                                               Dimension dimension,
                                                               int64_t* registry_version) = 0;

  // Both enterprises must exist and be active.
  virtual absl::StatusOr<LinkResult> CreateLink(const Link& link) = 0;
  virtual absl::StatusOr<LinkResult> DeleteLink(const Link& link) = 0;
  // Links touching `code`, ordered by (from, to, type) key, after the key `after`.
  virtual absl::StatusOr<std::vector<Link>> ListLinks(const std::string& code,
                                                      const std::string& after, int limit) = 0;

  virtual absl::StatusOr<EventsPage> ListEvents(int64_t after_version, int limit) = 0;
  virtual absl::StatusOr<int64_t> Version() = 0;
};

// The ordering key of a link within one enterprise's links.
std::string LinkKey(const Link& link);

}  // namespace iplus::registry
