#include "services/funds/catalog/catalog.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/hash/fnv.h"

namespace iplus::funds {
namespace {

// KEYS: funds, fund ids. ARGV: id, record. {1} created, {0, stored record} when the id
// existed.
constexpr char kCreateFundLua[] = R"lua(
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {1}
)lua";

// KEYS: projects, project ids, the fund's project ids, the beneficiary's project ids.
// ARGV: id, record. As above.
constexpr char kCreateProjectLua[] = R"lua(
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return {1}
)lua";

// KEYS: projects. ARGV: id, expected record, new record. 1 replaced, 0 the stored record
// changed, -1 absent.
constexpr char kReplaceLua[] = R"lua(
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
if current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
)lua";

// KEYS: lease. ARGV: token. Deletes the lease if it is still ours.
constexpr char kReleaseLua[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

constexpr int kUpdateAttempts = 16;

absl::Status Unexpected(const redis::Reply& reply) {
  return absl::InternalError(absl::StrCat("unexpected reply from Redis: ", reply.DebugString()));
}

template <typename M>
absl::StatusOr<M> Decode(const char* what, const std::string& id, const std::string& bytes) {
  M m;
  if (!m.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("stored ", what, " ", id, " does not parse"));
  }
  return m;
}

// ZRANGEBYLEX bounds: ids after `after` (exclusive), or from the start.
std::string LexAfter(const std::string& after) {
  return after.empty() ? std::string("-") : absl::StrCat("(", after);
}

}  // namespace

FundCatalog::FundCatalog(redis::Client* client, std::string prefix)
    : client_(client),
      prefix_(std::move(prefix)),
      create_fund_script_(kCreateFundLua),
      create_project_script_(kCreateProjectLua),
      replace_script_(kReplaceLua) {}

std::string FundCatalog::Key(absl::string_view suffix) const {
  return absl::StrCat(prefix_, "c:", suffix);
}

absl::StatusOr<std::pair<v1::Fund, bool>> FundCatalog::CreateFund(const v1::Fund& fund) {
  auto reply = client_->Eval(create_fund_script_, {Key("f"), Key("fi")},
                             {fund.id(), fund.SerializeAsString()});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  if (reply->elements()[0].integer() == 1) return std::make_pair(fund, true);
  if (reply->elements().size() != 2) return Unexpected(*reply);
  auto stored = Decode<v1::Fund>("fund", fund.id(), reply->elements()[1].str());
  if (!stored.ok()) return stored.status();
  return std::make_pair(*std::move(stored), false);
}

absl::StatusOr<v1::Fund> FundCatalog::GetFund(const std::string& id) {
  auto reply = client_->Command({"HGET", Key("f"), id});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return absl::NotFoundError(absl::StrCat("fund ", id, " not found"));
  if (!reply->IsString()) return Unexpected(*reply);
  return Decode<v1::Fund>("fund", id, reply->str());
}

absl::StatusOr<std::vector<std::optional<v1::Fund>>> FundCatalog::GetFunds(
    const std::vector<std::string>& ids) {
  std::vector<std::optional<v1::Fund>> out(ids.size());
  if (ids.empty()) return out;
  std::vector<std::string> argv = {"HMGET", Key("f")};
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto reply = client_->Command(std::move(argv));
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != ids.size()) return Unexpected(*reply);
  for (size_t i = 0; i < ids.size(); ++i) {
    const redis::Reply& r = reply->elements()[i];
    if (r.IsNil()) continue;
    auto f = Decode<v1::Fund>("fund", ids[i], r.str());
    if (!f.ok()) return f.status();
    out[i] = *std::move(f);
  }
  return out;
}

absl::StatusOr<FundPage> FundCatalog::ListFunds(const std::string& after, int limit) {
  auto ids = client_->Command(
      {"ZRANGEBYLEX", Key("fi"), LexAfter(after), "+", "LIMIT", "0", absl::StrCat(limit + 1)});
  if (!ids.ok()) return ids.status();
  if (!ids->IsArray()) return Unexpected(*ids);
  std::vector<std::string> page;
  for (const auto& e : ids->elements()) page.push_back(e.str());
  FundPage out;
  const bool more = static_cast<int>(page.size()) > limit;
  if (more) page.resize(limit);
  auto funds = GetFunds(page);
  if (!funds.ok()) return funds.status();
  for (auto& f : *funds) {
    if (f) out.funds.push_back(*std::move(f));
  }
  if (more && !page.empty()) out.next_after = page.back();
  return out;
}

absl::StatusOr<std::pair<v1::Project, bool>> FundCatalog::CreateProject(
    const v1::Project& project) {
  auto reply = client_->Eval(create_project_script_,
                             {Key("p"), Key("pi"), Key(absl::StrCat("pf:", project.fund_id())),
                              Key(absl::StrCat("pb:", project.beneficiary_code()))},
                             {project.id(), project.SerializeAsString()});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  if (reply->elements()[0].integer() == 1) return std::make_pair(project, true);
  if (reply->elements().size() != 2) return Unexpected(*reply);
  auto stored = Decode<v1::Project>("project", project.id(), reply->elements()[1].str());
  if (!stored.ok()) return stored.status();
  return std::make_pair(*std::move(stored), false);
}

absl::StatusOr<std::pair<v1::Project, std::string>> FundCatalog::GetProjectBytes(
    const std::string& id) {
  auto reply = client_->Command({"HGET", Key("p"), id});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return absl::NotFoundError(absl::StrCat("project ", id, " not found"));
  if (!reply->IsString()) return Unexpected(*reply);
  auto p = Decode<v1::Project>("project", id, reply->str());
  if (!p.ok()) return p.status();
  return std::make_pair(*std::move(p), reply->str());
}

absl::StatusOr<v1::Project> FundCatalog::GetProject(const std::string& id) {
  auto p = GetProjectBytes(id);
  if (!p.ok()) return p.status();
  return std::move(p->first);
}

absl::StatusOr<ProjectPage> FundCatalog::ListProjects(const std::string& fund_id,
                                                      const std::string& beneficiary_code,
                                                      const std::string& after, int limit,
                                                      int max_examined) {
  // Walk the narrowest index; the other filter is applied to the records read.
  std::string index = Key("pi");
  if (!fund_id.empty()) {
    index = Key(absl::StrCat("pf:", fund_id));
  } else if (!beneficiary_code.empty()) {
    index = Key(absl::StrCat("pb:", beneficiary_code));
  }
  ProjectPage out;
  std::string cursor = after;
  int examined = 0;
  const int chunk = std::max(limit + 1, 64);
  for (;;) {
    auto ids = client_->Command(
        {"ZRANGEBYLEX", index, LexAfter(cursor), "+", "LIMIT", "0", absl::StrCat(chunk)});
    if (!ids.ok()) return ids.status();
    if (!ids->IsArray()) return Unexpected(*ids);
    if (ids->elements().empty()) return out;
    std::vector<std::string> argv = {"HMGET", Key("p")};
    for (const auto& e : ids->elements()) argv.push_back(e.str());
    auto records = client_->Command(std::move(argv));
    if (!records.ok()) return records.status();
    if (!records->IsArray() || records->elements().size() != ids->elements().size()) {
      return Unexpected(*records);
    }
    for (size_t i = 0; i < ids->elements().size(); ++i) {
      const std::string& id = ids->elements()[i].str();
      if (static_cast<int>(out.projects.size()) == limit || examined >= max_examined) {
        // More may follow: resume after the last id returned or examined.
        out.next_after = cursor;
        return out;
      }
      cursor = id;
      ++examined;
      const redis::Reply& r = records->elements()[i];
      if (r.IsNil()) continue;
      auto p = Decode<v1::Project>("project", id, r.str());
      if (!p.ok()) return p.status();
      if (!fund_id.empty() && p->fund_id() != fund_id) continue;
      if (!beneficiary_code.empty() && p->beneficiary_code() != beneficiary_code) continue;
      out.projects.push_back(*std::move(p));
    }
    if (static_cast<int>(ids->elements().size()) < chunk) return out;
  }
}

absl::StatusOr<std::vector<std::string>> FundCatalog::ProjectIdsOfFund(const std::string& fund_id) {
  auto ids = client_->Command({"ZRANGEBYLEX", Key(absl::StrCat("pf:", fund_id)), "-", "+"});
  if (!ids.ok()) return ids.status();
  if (!ids->IsArray()) return Unexpected(*ids);
  std::vector<std::string> out;
  for (const auto& e : ids->elements()) out.push_back(e.str());
  return out;
}

absl::StatusOr<v1::Project> FundCatalog::UpdateProject(
    const std::string& id, const std::function<absl::Status(v1::Project&)>& change) {
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto current = GetProjectBytes(id);
    if (!current.ok()) return current.status();
    v1::Project updated = current->first;
    absl::Status s = change(updated);
    if (s.code() == absl::StatusCode::kAlreadyExists) return current->first;
    if (!s.ok()) return s;
    auto reply = client_->Eval(replace_script_, {Key("p")},
                               {id, current->second, updated.SerializeAsString()});
    if (!reply.ok()) return reply.status();
    if (!reply->IsInteger()) return Unexpected(*reply);
    if (reply->integer() == 1) return updated;
    if (reply->integer() == -1)
      return absl::NotFoundError(absl::StrCat("project ", id, " not found"));
    // Changed meanwhile: read again and reapply.
  }
  return absl::AbortedError(
      absl::StrCat("project ", id, " kept changing while it was being updated; retry"));
}

// --- ProjectLocks ----------------------------------------------------------------------

ProjectLocks::Guard::Guard(ProjectLocks* locks, size_t stripe, std::string key, std::string token)
    : locks_(locks), stripe_(stripe), key_(std::move(key)), token_(std::move(token)) {}

ProjectLocks::Guard::Guard(Guard&& other) noexcept
    : locks_(other.locks_),
      stripe_(other.stripe_),
      key_(std::move(other.key_)),
      token_(std::move(other.token_)) {
  other.locks_ = nullptr;
}

ProjectLocks::Guard::~Guard() {
  if (locks_ != nullptr) locks_->Release(stripe_, key_, token_);
}

ProjectLocks::ProjectLocks(redis::Client* client, FundCatalog* catalog, absl::Duration lease)
    : client_(client), catalog_(catalog), lease_(lease), release_script_(kReleaseLua) {
  for (size_t i = 0; i < kStripes; ++i) stripes_.push_back(std::make_unique<absl::Mutex>());
}

absl::StatusOr<ProjectLocks::Guard> ProjectLocks::Acquire(const std::string& project_id,
                                                          absl::Time deadline) {
  const size_t stripe = Fnv1a64(project_id) % kStripes;
  absl::Mutex& mu = *stripes_[stripe];
  while (!mu.TryLock()) {
    if (absl::Now() >= deadline) {
      return absl::AbortedError(
          absl::StrCat("project ", project_id, " is busy with another change; retry"));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string token = absl::StrCat(absl::Hex(rng()), absl::Hex(rng()));
  const std::string key = catalog_->Key(absl::StrCat("lock:", project_id));
  absl::Duration pause = absl::Milliseconds(5);
  for (;;) {
    auto reply = client_->Command(
        {"SET", key, token, "NX", "PX", absl::StrCat(absl::ToInt64Milliseconds(lease_))});
    if (!reply.ok()) {
      mu.Unlock();
      return reply.status();
    }
    if (!reply->IsNil()) break;  // "OK": the lease is ours
    if (absl::Now() + pause >= deadline) {
      mu.Unlock();
      return absl::AbortedError(absl::StrCat(
          "project ", project_id, " is busy with a change made by another replica; retry"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(100));
  }
  return Guard(this, stripe, key, token);
}

void ProjectLocks::Release(size_t stripe, const std::string& key, const std::string& token) {
  // Best effort: a lease that cannot be deleted expires by itself.
  client_->Eval(release_script_, {key}, {token}).IgnoreError();
  stripes_[stripe]->Unlock();
}

}  // namespace iplus::funds
