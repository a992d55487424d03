#pragma once

// The registry's domain core: validation, idempotent creation, conditional updates,
// paging and counting over a Store. No gRPC, no Redis. Thread-safe if the Store is.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "services/registry/domain/enterprise.h"
#include "services/registry/domain/store.h"

namespace iplus::registry {

struct RegistryConfig {
  // Region prefix this instance serves ("44", "4401"); empty means national.
  std::string region_prefix;
  int max_batch = 1000;
  int default_page_size = 100;
  int max_page_size = 1000;
  // Upper bound of enterprises examined by one List call before it returns a partial
  // page with a token.
  int max_examined_per_page = 20000;
  int default_export_batch = 1000;
  int max_export_batch = 5000;
};

// Updatable enterprise fields, as named in update masks.
enum class UpdateField {
  kName,
  kRegion,
  kIndustry,
  kOwnership,
  kSize,
  kKeyEnterprise,
  kKind,
  kLabels
};

struct ListPage {
  std::vector<Enterprise> enterprises;
  std::string next_page_token;
};

struct CountResult {
  std::vector<std::pair<std::string, int64_t>> groups;  // ordered by key
  int64_t total = 0;
  int64_t registry_version = 0;
};

struct BatchGetResult {
  std::vector<Enterprise> enterprises;
  std::vector<std::string> missing_codes;
};

class Registry {
 public:
  // `store` and `clock` must outlive the Registry.
  Registry(Store* store, Clock* clock, RegistryConfig config);

  // Field names in errors are relative to the request: "enterprise.code", ...
  absl::StatusOr<CreateResult> Create(const std::string& code, const EnterpriseContent& content);

  // Asked about each valid item of a batch before it is stored; an item refused gets the
  // returned status as its result (the adapter checks the caller's regions with it).
  using ItemCheck =
      std::function<absl::Status(const std::string& code, const EnterpriseContent& content)>;

  // One status-or-result per item; INVALID_ARGUMENT for the whole call when the batch is
  // empty or too large. Item errors name fields as "requests[i].enterprise.x".
  absl::StatusOr<std::vector<absl::StatusOr<CreateResult>>> BatchCreate(
      const std::vector<std::pair<std::string, EnterpriseContent>>& items,
      const ItemCheck& admit = nullptr);

  absl::StatusOr<Enterprise> Get(const std::string& code);
  absl::StatusOr<BatchGetResult> BatchGet(const std::vector<std::string>& codes);

  // Applies the fields of `mask` from `content`. `mask_paths` are the raw paths, so that
  // an unknown one is reported by name. An empty etag means unconditional.
  absl::StatusOr<Enterprise> Update(const std::string& code, const EnterpriseContent& content,
                                    const std::vector<std::string>& mask_paths,
                                    const std::string& etag);

  absl::StatusOr<Enterprise> Archive(const std::string& code, const std::string& reason,
                                     const std::string& etag);

  absl::StatusOr<ListPage> List(const Query& query, int page_size, const std::string& page_token);

  absl::StatusOr<CountResult> Count(const Query& query, Dimension group_by);

  // Calls `sink` with batches of matching enterprises in code order and the registry
  // version read before the first batch; stops early when `sink` returns false.
  absl::Status Export(const Query& query, int batch_size,
                      const std::function<bool(const std::vector<Enterprise>&, int64_t)>& sink);

  absl::StatusOr<LinkResult> CreateLink(const Link& link);
  absl::Status DeleteLink(const Link& link);
  absl::StatusOr<std::pair<std::vector<Link>, std::string>> ListLinks(
      const std::string& code, int page_size, const std::string& page_token);

  absl::StatusOr<EventsPage> ListEvents(int64_t after_version, int page_size);

  // Validation, exposed for the adapter and for tests. `field` prefixes error fields.
  absl::Status ValidateCode(const std::string& code, const std::string& field) const;
  absl::Status ValidateContent(const EnterpriseContent& content, const std::string& prefix) const;
  absl::Status ValidateQuery(const Query& query) const;

  const RegistryConfig& config() const { return config_; }

 private:
  absl::StatusOr<Enterprise> ReplaceChecked(const std::string& code, const std::string& etag,
                                            const std::function<absl::Status(Enterprise&)>& change,
                                            EventType type);

  Store* store_;
  Clock* clock_;
  RegistryConfig config_;
};

// Page tokens: opaque to clients, tied to the query that produced them.
std::string EncodePageToken(const std::string& query_canonical, const std::string& after);
// INVALID_ARGUMENT naming "page_token" if malformed or made for another query.
absl::StatusOr<std::string> DecodePageToken(const std::string& token,
                                            const std::string& query_canonical);

}  // namespace iplus::registry
