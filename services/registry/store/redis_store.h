#pragma once

// The registry's Store on Redis.
//
// Keys, all under one hash tag per region so that every script's keys share a slot
// (Redis Cluster) and one Redis can hold several regions:
//   P = "iplus:{registry:<region or all>}:"
//   P e:<code>        hash: pb (v1.Enterprise), rev, ver, arch ("0"/"1")
//   P ver             the registry version (INCR)
//   P ev              capped stream of changes; entry id "<version>-0"
//   P cnt             hash "<dimension>:<group key>" → active enterprises
//   P ix:...          sorted sets (score 0, member = code) for lexicographic paging:
//                     all, prov:<PP>, pref:<PPCC>, cty:<PPCCDD>, ind:<C26>, own:<n>,
//                     size:<n>, kind:<n>, key
//   P l:<code>        sorted set of link keys touching the enterprise
//   P lk:<link key>   v1.Link
// Every change goes through one Lua script that writes the record, its indexes, the
// counts, the version and the event together.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/redis/client.h"
#include "common/redis/script.h"
#include "services/registry/domain/store.h"

namespace iplus::registry {

struct RedisStoreOptions {
  // Region prefix of the instance ("" for national); part of every key.
  std::string region_prefix;
  // Approximate cap of the event stream (XADD MAXLEN ~).
  int64_t max_events = 1000000;
};

class RedisStore : public Store {
 public:
  // `client` must outlive the store.
  RedisStore(redis::Client* client, RedisStoreOptions options);

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

  const std::string& prefix() const { return prefix_; }

 private:
  std::string Key(absl::string_view suffix) const;
  std::vector<std::string> IndexKeys(const Enterprise& e) const;
  redis::Client::ScriptCall CreateCall(const Enterprise& e) const;
  absl::StatusOr<CreateResult> CreateResultFrom(const Enterprise& e,
                                                const redis::Reply& reply) const;
  // The smallest index that holds every enterprise the query can match.
  absl::StatusOr<std::string> ChooseIndex(const Query& query);

  redis::Client* client_;
  RedisStoreOptions options_;
  std::string prefix_;
  redis::Script create_script_;
  redis::Script replace_script_;
  redis::Script create_link_script_;
  redis::Script delete_link_script_;
};

}  // namespace iplus::registry
