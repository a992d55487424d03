#pragma once

// The funds and projects of one instance in Redis, next to its ledger: the same prefix
// and hash tag as RedisLedger (P = "iplus:{funds:<region or all>}:"), under "c:", so
// that a Redis Cluster keeps a region's funds in one slot.
//
//   P c:f             hash: fund id -> v1.Fund (serialized; create time and account ids set)
//   P c:fi            sorted set, all scores 0: every fund id (lexicographic = id order)
//   P c:p             hash: project id -> v1.Project (serialized; statuses, milestones'
//                     disbursements and times included)
//   P c:pi            sorted set: every project id
//   P c:pf:<fund>     sorted set: the ids of the fund's projects
//   P c:pb:<code>     sorted set: the ids of the beneficiary's projects
//   P c:lock:<id>     string: a project's lease (ProjectLocks)
//
// Creates are idempotent on the id (one script: stored only when absent, the stored
// record returned otherwise); the caller compares contents. A project changes only
// through Update, a compare-and-set on the whole stored record, retried on conflict, so
// two changes at once (two milestones disbursed) never lose each other. Funds never
// change. Nothing is ever deleted.
//
// Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redis/client.h"
#include "common/redis/script.h"
#include "iplus/funds/v1/funds.pb.h"

namespace iplus::funds {

namespace v1 = ::iplus::funds::v1;

struct FundPage {
  std::vector<v1::Fund> funds;
  // The last id examined when more may follow; empty on the last page.
  std::string next_after;
};

struct ProjectPage {
  std::vector<v1::Project> projects;
  std::string next_after;
};

class FundCatalog {
 public:
  // `prefix` is the ledger's (RedisLedger::prefix()). `client` must outlive the catalog.
  FundCatalog(redis::Client* client, std::string prefix);

  const std::string& prefix() const { return prefix_; }
  std::string Key(absl::string_view suffix) const;

  // Stores `fund` unless its id exists. Returns the stored fund and whether it was
  // created now.
  absl::StatusOr<std::pair<v1::Fund, bool>> CreateFund(const v1::Fund& fund);
  // NOT_FOUND when absent.
  absl::StatusOr<v1::Fund> GetFund(const std::string& id);
  // nullopt for an id not stored.
  absl::StatusOr<std::vector<std::optional<v1::Fund>>> GetFunds(
      const std::vector<std::string>& ids);
  // Funds with id > after (all when empty), in id order, at most `limit`.
  absl::StatusOr<FundPage> ListFunds(const std::string& after, int limit);

  absl::StatusOr<std::pair<v1::Project, bool>> CreateProject(const v1::Project& project);
  absl::StatusOr<v1::Project> GetProject(const std::string& id);
  // Projects with id > after in id order, of `fund_id` and `beneficiary_code` when not
  // empty, at most `limit`; a page may be short (at most `max_examined` ids are read)
  // and still be followed by more.
  absl::StatusOr<ProjectPage> ListProjects(const std::string& fund_id,
                                           const std::string& beneficiary_code,
                                           const std::string& after, int limit,
                                           int max_examined = 10000);
  // Every project id of a fund, in id order.
  absl::StatusOr<std::vector<std::string>> ProjectIdsOfFund(const std::string& fund_id);

  // Applies `change` to the stored project and stores the result if the stored record
  // did not change in between (else re-reads and reapplies, up to a few times: ABORTED
  // after that). `change` returns OK to store, ALREADY_EXISTS for "nothing to change"
  // (the stored project is returned), or another error, returned as is. NOT_FOUND when
  // absent.
  absl::StatusOr<v1::Project> UpdateProject(
      const std::string& id, const std::function<absl::Status(v1::Project&)>& change);

 private:
  absl::StatusOr<std::pair<v1::Project, std::string>> GetProjectBytes(const std::string& id);

  redis::Client* const client_;
  const std::string prefix_;
  const redis::Script create_fund_script_;
  const redis::Script create_project_script_;
  const redis::Script replace_script_;
};

// Serializes the changes to one project's money (commit, disburse, release): an
// in-process mutex per project (striped) and, for replicas sharing the Redis, a lease
// "P c:lock:<project>" taken with SET NX PX and released by a compare-and-delete. A lease
// outlives a holder that dies by at most `lease`; a holder paused for longer than that
// loses it (the change it then makes is no longer exclusive).
class ProjectLocks {
 public:
  class Guard {
   public:
    Guard(Guard&& other) noexcept;
    Guard& operator=(Guard&&) = delete;
    ~Guard();

   private:
    friend class ProjectLocks;
    Guard(ProjectLocks* locks, size_t stripe, std::string key, std::string token);
    ProjectLocks* locks_;
    size_t stripe_;
    std::string key_;
    std::string token_;
  };

  ProjectLocks(redis::Client* client, FundCatalog* catalog,
               absl::Duration lease = absl::Seconds(30));

  // Waits until `deadline` for the project's lock: UNAVAILABLE when Redis is
  // unreachable, ABORTED when another holder keeps it past the deadline.
  absl::StatusOr<Guard> Acquire(const std::string& project_id, absl::Time deadline);

 private:
  static constexpr size_t kStripes = 64;
  void Release(size_t stripe, const std::string& key, const std::string& token);

  redis::Client* const client_;
  FundCatalog* const catalog_;
  const absl::Duration lease_;
  const redis::Script release_script_;
  std::vector<std::unique_ptr<absl::Mutex>> stripes_;
};

}  // namespace iplus::funds
