#include "services/evaluation/store/result_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/hash/fnv.h"
#include "services/evaluation/convert/convert.h"

namespace iplus::evaluation {

std::string CacheKeyText(const CacheKeyParts& parts) {
  std::string out = absl::StrCat(
      "v1|", parts.kind.size(), ":", parts.kind, "|", parts.target_id.size(), ":", parts.target_id,
      "|", parts.target_etag.size(), ":", parts.target_etag, "|", CanonicalScope(parts.scope), "|",
      parts.period.ToString(), "|d", parts.dimension, "|reg", parts.registry_version);
  for (const DataVersionEntry& v : parts.ingest_versions) {
    absl::StrAppend(&out, "|", v.indicator.size(), ":", v.indicator, "@", v.period.ToString(), "=",
                    v.version);
  }
  return out;
}

ResultCache::ResultCache(redis::Client* client, std::string prefix, absl::Duration ttl)
    : client_(client), prefix_(std::move(prefix)), ttl_(ttl) {}

std::string ResultCache::Key(const CacheKeyParts& parts) const {
  const std::string text = CacheKeyText(parts);
  return absl::StrCat(
      prefix_, "res:", absl::Hex(Fnv1a64(text), absl::kZeroPad16),
      absl::Hex(Fnv1a64(absl::StrCat("evaluation-result|", text)), absl::kZeroPad16));
}

absl::StatusOr<std::vector<std::optional<std::string>>> ResultCache::Get(
    const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out;
  if (keys.empty()) return out;
  std::vector<std::string> argv = {"MGET"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  auto reply = client_->Command(std::move(argv));
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != keys.size()) {
    return absl::InternalError(absl::StrCat("unexpected MGET reply: ", reply->DebugString()));
  }
  out.reserve(keys.size());
  for (const auto& r : reply->elements()) {
    if (r.IsString()) {
      out.emplace_back(r.str());
    } else {
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

absl::Status ResultCache::Put(const std::vector<std::pair<std::string, std::string>>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const std::string ttl_ms = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl_)));
  std::vector<std::vector<std::string>> commands;
  commands.reserve(entries.size());
  for (const auto& [key, value] : entries) commands.push_back({"SET", key, value, "PX", ttl_ms});
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (absl::Status s = redis::ReplyStatus(r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace iplus::evaluation
