#include "services/registry/domain/memory_store.h"

#include <algorithm>

namespace iplus::registry {

void MemoryStore::SetFailure(absl::Status status) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(status);
}

void MemoryStore::AppendEvent(EventType type, const std::string& code, const std::string& other,
                              absl::Time time) {
  events_.push_back(Event{version_, type, code, other, time});
  if (events_.size() > max_events_) events_.erase(events_.begin());
}

CreateResult MemoryStore::CreateLocked(const Enterprise& e) {
  auto it = enterprises_.find(e.code);
  if (it != enterprises_.end()) return CreateResult{it->second, false};
  Enterprise stored = e;
  stored.version = ++version_;
  enterprises_[e.code] = stored;
  AppendEvent(EventType::kEnterpriseCreated, e.code, "", e.update_time);
  return CreateResult{stored, true};
}

absl::StatusOr<CreateResult> MemoryStore::Create(const Enterprise& e) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  return CreateLocked(e);
}

absl::StatusOr<std::vector<CreateResult>> MemoryStore::CreateMany(
    const std::vector<Enterprise>& enterprises) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<CreateResult> out;
  for (const auto& e : enterprises) out.push_back(CreateLocked(e));
  return out;
}

absl::StatusOr<Enterprise> MemoryStore::Get(const std::string& code) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = enterprises_.find(code);
  if (it == enterprises_.end()) return absl::NotFoundError("enterprise " + code + " not found");
  return it->second;
}

absl::StatusOr<std::vector<absl::optional<Enterprise>>> MemoryStore::GetMany(
    const std::vector<std::string>& codes) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<absl::optional<Enterprise>> out;
  for (const auto& code : codes) {
    auto it = enterprises_.find(code);
    out.push_back(it == enterprises_.end() ? absl::nullopt : absl::make_optional(it->second));
  }
  return out;
}

absl::StatusOr<Enterprise> MemoryStore::Replace(const Enterprise& updated, EventType type) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = enterprises_.find(updated.code);
  if (it == enterprises_.end())
    return absl::NotFoundError("enterprise " + updated.code + " not found");
  if (it->second.revision != updated.revision - 1) {
    return absl::AbortedError("enterprise " + updated.code + " changed concurrently");
  }
  Enterprise stored = updated;
  stored.version = ++version_;
  it->second = stored;
  AppendEvent(type, updated.code, "", updated.update_time);
  return stored;
}

absl::StatusOr<ScanResult> MemoryStore::Scan(const Query& query, const std::string& after,
                                             int limit, int max_examined) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  ScanResult out;
  out.resume_after = after;
  int examined = 0;
  for (auto it = enterprises_.upper_bound(after); it != enterprises_.end(); ++it) {
    if (static_cast<int>(out.enterprises.size()) >= limit || examined >= max_examined) {
      return out;
    }
    ++examined;
    out.resume_after = it->first;
    if (Matches(query, it->second)) out.enterprises.push_back(it->second);
  }
  out.done = true;
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> MemoryStore::Count(const Query& query,
                                                                  Dimension dimension,
                                                                  int64_t* registry_version) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::map<std::string, int64_t> out;
  for (const auto& [code, e] : enterprises_) {
    if (Matches(query, e)) ++out[GroupKey(dimension, e)];
  }
  *registry_version = version_;
  return out;
}

absl::StatusOr<LinkResult> MemoryStore::CreateLink(const Link& link) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  for (const std::string& code : {link.from_code, link.to_code}) {
    auto it = enterprises_.find(code);
    if (it == enterprises_.end()) return LinkResult{LinkChange::kMissingEnterprise, {}, code};
    if (it->second.archived) return LinkResult{LinkChange::kArchivedEnterprise, {}, code};
  }
  auto [it, inserted] = links_.try_emplace(LinkKey(link), link);
  if (!inserted) return LinkResult{LinkChange::kAlreadyDone, it->second, ""};
  ++version_;
  AppendEvent(EventType::kLinkCreated, link.from_code, link.to_code, link.create_time);
  return LinkResult{LinkChange::kApplied, link, ""};
}

absl::StatusOr<LinkResult> MemoryStore::DeleteLink(const Link& link) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  auto it = links_.find(LinkKey(link));
  if (it == links_.end()) return LinkResult{LinkChange::kAlreadyDone, link, ""};
  Link removed = it->second;
  links_.erase(it);
  ++version_;
  AppendEvent(EventType::kLinkDeleted, link.from_code, link.to_code, removed.create_time);
  return LinkResult{LinkChange::kApplied, removed, ""};
}

absl::StatusOr<std::vector<Link>> MemoryStore::ListLinks(const std::string& code,
                                                         const std::string& after, int limit) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  std::vector<Link> out;
  for (auto it = links_.upper_bound(after); it != links_.end(); ++it) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (it->second.from_code == code || it->second.to_code == code) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<EventsPage> MemoryStore::ListEvents(int64_t after_version, int limit) {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  EventsPage page;
  page.registry_version = version_;
  page.truncated = !events_.empty() && events_.front().version > after_version + 1;
  for (const Event& e : events_) {
    if (e.version <= after_version) continue;
    if (static_cast<int>(page.events.size()) >= limit) break;
    page.events.push_back(e);
  }
  return page;
}

absl::StatusOr<int64_t> MemoryStore::Version() {
  absl::MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  return version_;
}

}  // namespace iplus::registry
