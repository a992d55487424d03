#include "common/replay/replay_cache.h"

#include "absl/strings/str_cat.h"
#include "common/hash/fnv.h"
#include "common/status/status.h"

namespace iplus::redis {
namespace {

constexpr size_t kMaxRequestId = 128;

std::string Fingerprint(const std::string& bytes) {
  return absl::StrCat(absl::Hex(Fnv1a64(bytes), absl::kZeroPad16), bytes.size());
}

}  // namespace

ReplayCache::ReplayCache(Client* client, std::string prefix, absl::Duration ttl)
    : client_(client), prefix_(std::move(prefix)), ttl_(ttl) {}

absl::Status ReplayCache::ValidateRequestId(const std::string& request_id) {
  if (request_id.size() > kMaxRequestId) {
    return InvalidField("request_id",
                        absl::StrCat("must be at most ", kMaxRequestId, " characters"));
  }
  for (char c : request_id) {
    if (c <= ' ' || c > '~') {
      return InvalidField("request_id", "must be printable ASCII without spaces (a UUID)");
    }
  }
  return absl::OkStatus();
}

std::string ReplayCache::Key(const std::string& method, const std::string& request_id) const {
  return absl::StrCat(prefix_, "rid:", method, ":", request_id);
}

absl::StatusOr<absl::optional<std::string>> ReplayCache::Lookup(const std::string& method,
                                                                const std::string& request_id,
                                                                const std::string& request_bytes) {
  auto reply = client_->Command({"GET", Key(method, request_id)});
  if (!reply.ok()) return reply.status();
  if (!reply->IsString()) return absl::optional<std::string>();
  const std::string& stored = reply->str();
  std::string fp = Fingerprint(request_bytes);
  if (stored.size() < fp.size() + 1 || stored.compare(0, fp.size(), fp) != 0 ||
      stored[fp.size()] != '|') {
    return InvalidField("request_id", "was already used for a different request");
  }
  return absl::optional<std::string>(stored.substr(fp.size() + 1));
}

absl::Status ReplayCache::Store(const std::string& method, const std::string& request_id,
                                const std::string& request_bytes,
                                const std::string& response_bytes) {
  auto reply = client_->Command({"SET", Key(method, request_id),
                                 absl::StrCat(Fingerprint(request_bytes), "|", response_bytes),
                                 "PX", absl::StrCat(absl::ToInt64Milliseconds(ttl_))});
  return reply.status();
}

}  // namespace iplus::redis
