#pragma once

// An in-memory Store for unit tests of the domain core. Same contract as the Redis
// store, including atomicity (one mutex) and the event stream cap.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/registry/domain/store.h"

namespace iplus::registry {

class MemoryStore : public Store {
 public:
  explicit MemoryStore(size_t max_events = 100000) : max_events_(max_events) {}

  absl::StatusOr<CreateResult> Create(const Enterprise& e) override;
  absl::StatusOr<std::vector<CreateResult>> CreateMany(
      const std::vector<Enterprise>& enterprises) override;
  absl::StatusOr<Enterprise> Get(const std::string& code) override;
  absl::StatusOr<std::vector<absl::optional<Enterprise>>> GetMany(
      const std::vector<std::string>& codes) override;
  absl::StatusOr<Enterprise> Replace(const Enterprise& updated, EventType type) override;
  absl::StatusOr<ScanResult> Scan(const Query& query, const std::string& after, int limit,
                                  int max_examined) override;
  absl::StatusOr<std::map<std::string, int64_t>> Count(const Query& query, Dimension dimension,
                                                       int64_t* registry_version) override;
  absl::StatusOr<LinkResult> CreateLink(const Link& link) override;
  absl::StatusOr<LinkResult> DeleteLink(const Link& link) override;
  absl::StatusOr<std::vector<Link>> ListLinks(const std::string& code, const std::string& after,
                                              int limit) override;
  absl::StatusOr<EventsPage> ListEvents(int64_t after_version, int limit) override;
  absl::StatusOr<int64_t> Version() override;

  // Makes every call fail with `status` until cleared with OkStatus (outage tests).
  void SetFailure(absl::Status status);

 private:
  CreateResult CreateLocked(const Enterprise& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AppendEvent(EventType type, const std::string& code, const std::string& other,
                   absl::Time time) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_events_;
  absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Enterprise> enterprises_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Link> links_ ABSL_GUARDED_BY(mu_);  // by LinkKey
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace iplus::registry
