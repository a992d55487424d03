#include "services/ingest/directory/registry_directory.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/redis/script.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/industry.h"
#include "grpcpp/client_context.h"

namespace iplus::ingest {
namespace {

namespace v1 = ::iplus::registry::v1;

// Writes entries only over older ones (the version is the value's last field), so that
// replicas racing on the shared hash never replace newer data with older; moves the cache
// version only forward.
// KEYS[1] entries hash, KEYS[2] version key; ARGV[1] cache version (0: leave it), then
// code, value pairs.
const redis::Script& WriteScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local function version_of(value)
  return tonumber(string.match(value, '|(%d+)$')) or 0
end
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if (not current) or version_of(current) <= version_of(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local v = tonumber(ARGV[1])
if v > 0 and (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) < v then
  redis.call('SET', KEYS[2], ARGV[1])
end
return 1
)lua");
  return *script;
}

// Replaces the entries hash by a fully written staging hash and sets the cache version
// (unconditionally: after a rebuild the version may legitimately go down, for a new
// registry). RENAME keeps the staging key's expiry, hence PERSIST.
// KEYS[1] staging hash, KEYS[2] entries hash, KEYS[3] version key; ARGV[1] version.
const redis::Script& SwapScript() {
  static const redis::Script* script = new redis::Script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[3], ARGV[1])
return 1
)lua");
  return *script;
}

// A staging hash outlives a writer that died half-way by this much at most.
constexpr int64_t kStagingTtlMs = 10 * 60 * 1000;
// HSETs of redis_batch fields sent in one pipeline while writing a snapshot.
constexpr int kSnapshotCommandsPerPipeline = 8;
// Event pages applied in one round before the follower lets others have a go.
constexpr int kMaxPagesPerRound = 100;
constexpr int kMaxBatchGet = 1000;

bool IsEnterpriseEvent(v1::EventType type) {
  return type == v1::EVENT_TYPE_ENTERPRISE_CREATED || type == v1::EVENT_TYPE_ENTERPRISE_UPDATED ||
         type == v1::EVENT_TYPE_ENTERPRISE_ARCHIVED;
}

void SetDeadline(grpc::ClientContext* context, absl::Time deadline) {
  context->set_deadline(absl::ToChronoTime(deadline));
}

}  // namespace

RegistryDirectory::RegistryDirectory(std::shared_ptr<grpc::Channel> channel, redis::Client* redis,
                                     std::string key_prefix, metrics::Registry& metrics,
                                     RegistryDirectoryOptions options)
    : RegistryDirectory(static_cast<Stub*>(nullptr), redis, std::move(key_prefix), metrics,
                        std::move(options)) {
  owned_stub_ = v1::RegistryService::NewStub(std::move(channel));
  stub_ = owned_stub_.get();
}

RegistryDirectory::RegistryDirectory(Stub* stub, redis::Client* redis, std::string key_prefix,
                                     metrics::Registry& metrics, RegistryDirectoryOptions options)
    : stub_(stub),
      redis_(redis),
      entries_key_(absl::StrCat(key_prefix, "ent")),
      version_key_(absl::StrCat(key_prefix, "ent:ver")),
      prefix_(std::move(key_prefix)),
      options_(std::move(options)),
      hits_(metrics::BuildCounter()
                .Name("iplus_ingest_registry_cache_lookups_total")
                .Help("Enterprise lookups by outcome: hit (answered from the in-process "
                      "cache), miss (answered by the registry), unavailable (not cached and "
                      "the registry could not be asked).")
                .Register(metrics)
                .Add({{"result", "hit"}})),
      misses_(metrics::BuildCounter()
                  .Name("iplus_ingest_registry_cache_lookups_total")
                  .Register(metrics)
                  .Add({{"result", "miss"}})),
      unavailable_(metrics::BuildCounter()
                       .Name("iplus_ingest_registry_cache_lookups_total")
                       .Register(metrics)
                       .Add({{"result", "unavailable"}})),
      entries_gauge_(metrics::BuildGauge()
                         .Name("iplus_ingest_registry_cache_entries")
                         .Help("Enterprises cached in memory.")
                         .Register(metrics)
                         .Add({})),
      version_gauge_(metrics::BuildGauge()
                         .Name("iplus_ingest_registry_cache_version")
                         .Help("The registry version the enterprise cache reflects.")
                         .Register(metrics)
                         .Add({})) {}

RegistryDirectory::~RegistryDirectory() { Stop(); }

absl::Status RegistryDirectory::Start() {
  {
    absl::MutexLock lock(&run_mu_);
    if (started_) return absl::FailedPreconditionError("registry directory already started");
    started_ = true;
  }
  {
    absl::MutexLock lock(&round_mu_);
    absl::Status loaded = LoadFromRedis();
    NoteRedis(loaded);
    if (!loaded.ok()) {
      // Memory must reflect some registry version before it can follow events, so build
      // it from the registry; Redis is rewritten from memory once it answers.
      need_rebuild_ = true;
      redis_stale_ = true;
    }
    log::Info("enterprise cache loaded", {log::Field::Int("entries", static_cast<int64_t>(size())),
                                          log::Field::Int("registry_version", version()),
                                          log::Field::Bool("rebuild", need_rebuild_)});
  }
  thread_ = std::thread([this] { FollowLoop(); });
  return absl::OkStatus();
}

void RegistryDirectory::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    stopping_ = true;
    if (active_call_ != nullptr) active_call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status RegistryDirectory::SyncNow() {
  absl::MutexLock lock(&round_mu_);
  return Round();
}

size_t RegistryDirectory::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

std::vector<absl::StatusOr<EnterpriseInfo>> RegistryDirectory::Lookup(
    const std::vector<std::string>& codes) {
  std::vector<absl::StatusOr<EnterpriseInfo>> out(codes.size(), EnterpriseInfo{});
  std::vector<size_t> missed;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (size_t i = 0; i < codes.size(); ++i) {
      auto it = entries_.find(codes[i]);
      if (it == entries_.end()) {
        missed.push_back(i);
        continue;
      }
      EnterpriseInfo& info = *out[i];
      info.known = true;
      info.archived = it->second.archived;
      info.region = it->second.region;
      info.division = it->second.division;
    }
  }
  hits_.Increment(static_cast<double>(codes.size() - missed.size()));
  if (missed.empty()) return out;

  // Malformed codes cannot be registered (and would make the registry refuse the whole
  // batch), so they are unknown without asking.
  std::vector<size_t> candidates;
  for (size_t i : missed) {
    if (refdata::ValidateCreditCode(codes[i]).ok()) candidates.push_back(i);
  }
  size_t answered = missed.size() - candidates.size();

  std::vector<size_t> to_ask;
  if (!candidates.empty()) {
    const absl::Time now = Now();
    absl::MutexLock lock(&negative_mu_);
    for (size_t i : candidates) {
      auto it = negative_.find(codes[i]);
      if (it != negative_.end() && it->second > now) {
        ++answered;
      } else {
        to_ask.push_back(i);
      }
    }
  }
  if (to_ask.empty()) {
    misses_.Increment(static_cast<double>(answered));
    return out;
  }

  std::vector<std::string> unique;
  {
    absl::flat_hash_set<absl::string_view> seen;
    for (size_t i : to_ask) {
      if (seen.insert(codes[i]).second) unique.push_back(codes[i]);
    }
  }
  std::vector<std::pair<std::string, Entry>> found;
  std::vector<std::string> missing;
  absl::Status status =
      BatchGet(unique, absl::Now() + options_.rpc_timeout, /*follower=*/false, &found, &missing);
  NoteRegistry(status);

  if (!found.empty()) {
    Merge(found);
    absl::MutexLock lock(&pending_mu_);
    for (const auto& f : found) {
      if (static_cast<int>(pending_.size()) >= options_.max_pending_writes) break;
      pending_.push_back(f);
    }
  }
  if (!missing.empty()) {
    const absl::Time expiry = Now() + options_.negative_ttl;
    absl::MutexLock lock(&negative_mu_);
    if (static_cast<int>(negative_.size() + missing.size()) > options_.max_negative_entries) {
      const absl::Time now = Now();
      absl::erase_if(negative_, [&](const auto& kv) { return kv.second <= now; });
      if (static_cast<int>(negative_.size() + missing.size()) > options_.max_negative_entries) {
        negative_.clear();
      }
    }
    for (const auto& code : missing) negative_[code] = expiry;
  }

  absl::flat_hash_map<absl::string_view, const Entry*> by_code;
  for (const auto& f : found) by_code[f.first] = &f.second;
  absl::flat_hash_set<absl::string_view> unknown(missing.begin(), missing.end());
  const absl::Status unavailable =
      absl::UnavailableError(absl::StrCat("registry unavailable: ", status.message()));
  size_t failed = 0;
  for (size_t i : to_ask) {
    auto it = by_code.find(codes[i]);
    if (it != by_code.end()) {
      EnterpriseInfo& info = *out[i];
      info.known = true;
      info.archived = it->second->archived;
      info.region = it->second->region;
      info.division = it->second->division;
      ++answered;
    } else if (unknown.contains(codes[i])) {
      ++answered;
    } else {
      out[i] = unavailable;
      ++failed;
    }
  }
  misses_.Increment(static_cast<double>(answered));
  unavailable_.Increment(static_cast<double>(failed));
  return out;
}

absl::Status RegistryDirectory::BatchGet(const std::vector<std::string>& codes, absl::Time deadline,
                                         bool follower,
                                         std::vector<std::pair<std::string, Entry>>* found,
                                         std::vector<std::string>* missing) {
  for (size_t begin = 0; begin < codes.size(); begin += kMaxBatchGet) {
    const size_t end = std::min(codes.size(), begin + kMaxBatchGet);
    v1::BatchGetEnterprisesRequest request;
    for (size_t i = begin; i < end; ++i) request.add_codes(codes[i]);
    v1::BatchGetEnterprisesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    if (follower && !BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = stub_->BatchGetEnterprises(&context, request, &response);
    if (follower) EndCall();
    if (!status.ok()) return FromGrpcStatus(status);
    for (const auto& e : response.enterprises()) found->emplace_back(e.code(), FromProto(e));
    for (const auto& code : response.missing_codes()) missing->push_back(code);
  }
  return absl::OkStatus();
}

void RegistryDirectory::Merge(const std::vector<std::pair<std::string, Entry>>& entries) {
  absl::MutexLock lock(&mu_);
  for (const auto& [code, entry] : entries) {
    auto [it, inserted] = entries_.try_emplace(code, entry);
    // A lookup's answer may race with the follower's newer one: keep the newer.
    if (!inserted && it->second.version <= entry.version) it->second = entry;
  }
  entries_gauge_.Set(static_cast<double>(entries_.size()));
}

void RegistryDirectory::FollowLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&round_mu_);
      // Errors are logged once per outage inside; the next round retries.
      Round().IgnoreError();
    }
    absl::MutexLock lock(&run_mu_);
    if (run_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval)) return;
  }
}

absl::Status RegistryDirectory::Round() {
  if (need_rebuild_) {
    absl::Status rebuilt = Rebuild();
    if (!rebuilt.ok()) return rebuilt;
  }
  absl::Status first = redis_stale_ ? WriteSnapshot() : FlushPending();
  for (int page = 0; page < kMaxPagesPerRound && !Stopping(); ++page) {
    bool caught_up = false;
    absl::Status redis_status;
    absl::Status s = FollowPage(&caught_up, &redis_status);
    if (first.ok()) first = !s.ok() ? s : redis_status;
    if (!s.ok() || caught_up) break;
  }
  return first;
}

absl::Status RegistryDirectory::LoadFromRedis() {
  auto ver = redis_->Command({"GET", version_key_});
  if (!ver.ok()) return ver.status();
  int64_t version = 0;
  if (ver->IsString() && !absl::SimpleAtoi(ver->str(), &version)) {
    return absl::DataLossError(absl::StrCat(version_key_, " is not a number"));
  }
  // Entries are read after the version: they only move forward, so they reflect at
  // least that version.
  std::vector<std::pair<std::string, Entry>> loaded;
  std::string cursor = "0";
  do {
    auto reply = redis_->Command(
        {"HSCAN", entries_key_, cursor, "COUNT", absl::StrCat(std::max(1, options_.redis_batch))});
    if (!reply.ok()) return reply.status();
    if (!reply->IsArray() || reply->elements().size() != 2) {
      return absl::InternalError("unexpected HSCAN reply");
    }
    cursor = reply->elements()[0].str();
    const auto& fields = reply->elements()[1].elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      Entry entry;
      if (Decode(fields[i + 1].str(), &entry)) loaded.emplace_back(fields[i].str(), entry);
    }
  } while (cursor != "0" && !Stopping());
  Merge(loaded);
  version_.store(version, std::memory_order_relaxed);
  version_gauge_.Set(static_cast<double>(version));
  if (version == 0 && loaded.empty()) need_rebuild_ = true;
  return absl::OkStatus();
}

absl::Status RegistryDirectory::Rebuild() {
  // The version now is a safe starting point should the export stream nothing (no
  // enterprises yet): replaying events from an earlier version only re-reads codes.
  int64_t start_version = 0;
  {
    v1::ListEventsRequest request;
    request.set_page_size(1);
    v1::ListEventsResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.rpc_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = stub_->ListEvents(&context, request, &response);
    EndCall();
    if (!status.ok()) {
      absl::Status s = FromGrpcStatus(status);
      NoteRegistry(s);
      return s;
    }
    start_version = response.registry_version();
  }

  EntryMap rebuilt;
  bool got_batch = false;
  {
    v1::ExportEnterprisesRequest request;
    request.set_include_archived(true);
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.export_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    std::unique_ptr<grpc::ClientReaderInterface<v1::ExportEnterprisesResponse>> reader =
        stub_->ExportEnterprises(&context, request);
    v1::ExportEnterprisesResponse batch;
    while (reader->Read(&batch)) {
      if (!got_batch) start_version = batch.registry_version();
      got_batch = true;
      for (const auto& e : batch.enterprises()) rebuilt[e.code()] = FromProto(e);
    }
    grpc::Status status = reader->Finish();
    EndCall();
    if (!status.ok()) {
      absl::Status s = FromGrpcStatus(status);
      NoteRegistry(s);
      return s;
    }
  }
  NoteRegistry(absl::OkStatus());

  {
    absl::MutexLock lock(&mu_);
    entries_.swap(rebuilt);
    entries_gauge_.Set(static_cast<double>(entries_.size()));
  }
  {
    // Whatever the registry did not know before may exist now.
    absl::MutexLock lock(&negative_mu_);
    negative_.clear();
  }
  version_.store(start_version, std::memory_order_relaxed);
  version_gauge_.Set(static_cast<double>(start_version));
  need_rebuild_ = false;
  redis_stale_ = true;
  log::Info("enterprise cache rebuilt from the registry",
            {log::Field::Int("entries", static_cast<int64_t>(size())),
             log::Field::Int("registry_version", start_version)});
  // `rebuilt` now holds the old map; it is freed here, outside the lock.
  return absl::OkStatus();
}

absl::Status RegistryDirectory::WriteSnapshot() {
  // Cheap check first: copying a large map only to fail on the first write is waste.
  absl::Status ping = redis_->Ping();
  NoteRedis(ping);
  if (!ping.ok()) return ping;

  {
    // The copy below covers everything lookups found so far; later finds stay pending.
    absl::MutexLock lock(&pending_mu_);
    pending_.clear();
  }
  std::vector<std::pair<std::string, std::string>> snapshot;
  int64_t version = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    snapshot.reserve(entries_.size());
    for (const auto& [code, entry] : entries_) snapshot.emplace_back(code, Encode(entry));
    // Only rounds change the version, and this is one.
    version = version_.load(std::memory_order_relaxed);
  }
  // Other replicas keep serving from the old hash until the swap.
  const std::string staging =
      absl::StrCat(prefix_, "ent:staging:", absl::Hex(absl::Uniform<uint64_t>(absl::BitGen())));
  const size_t batch = static_cast<size_t>(std::max(1, options_.redis_batch));
  size_t next = 0;
  while (next < snapshot.size()) {
    if (Stopping()) return absl::CancelledError("stopping");
    std::vector<std::vector<std::string>> commands;
    for (int c = 0; c < kSnapshotCommandsPerPipeline && next < snapshot.size(); ++c) {
      std::vector<std::string> hset = {"HSET", staging};
      const size_t end = std::min(snapshot.size(), next + batch);
      hset.reserve(2 + 2 * (end - next));
      for (; next < end; ++next) {
        hset.push_back(std::move(snapshot[next].first));
        hset.push_back(std::move(snapshot[next].second));
      }
      commands.push_back(std::move(hset));
    }
    commands.push_back({"PEXPIRE", staging, absl::StrCat(kStagingTtlMs)});
    auto replies = redis_->Pipeline(commands);
    absl::Status s = replies.status();
    if (s.ok()) {
      for (const auto& r : *replies) {
        if (s.ok()) s = redis::ReplyStatus(r);
      }
    }
    NoteRedis(s);
    if (!s.ok()) return s;
  }
  auto swapped =
      redis_->Eval(SwapScript(), {staging, entries_key_, version_key_}, {absl::StrCat(version)});
  NoteRedis(swapped.status());
  if (!swapped.ok()) return swapped.status();
  redis_stale_ = false;
  return absl::OkStatus();
}

absl::Status RegistryDirectory::FlushPending() {
  std::vector<std::pair<std::string, Entry>> pending;
  {
    absl::MutexLock lock(&pending_mu_);
    pending.swap(pending_);
  }
  if (pending.empty()) return absl::OkStatus();
  return WriteEntries(pending, 0);
}

absl::Status RegistryDirectory::FollowPage(bool* caught_up, absl::Status* redis_status) {
  *caught_up = true;
  const int64_t after = version_.load(std::memory_order_relaxed);
  v1::ListEventsRequest request;
  request.set_after_version(after);
  request.set_page_size(options_.max_events_page);
  v1::ListEventsResponse response;
  {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.rpc_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = stub_->ListEvents(&context, request, &response);
    EndCall();
    if (!status.ok()) {
      absl::Status s = FromGrpcStatus(status);
      NoteRegistry(s);
      return s;
    }
  }
  NoteRegistry(absl::OkStatus());

  if (response.truncated() || response.registry_version() < after) {
    log::Info(response.truncated() ? "registry events were trimmed past the cache; rebuilding"
                                   : "registry version went backwards; rebuilding",
              {log::Field::Int("cache_version", after),
               log::Field::Int("registry_version", response.registry_version())});
    need_rebuild_ = true;
    absl::Status rebuilt = Rebuild();
    if (!rebuilt.ok()) return rebuilt;
    *redis_status = WriteSnapshot();
    *caught_up = false;  // follow on from the export's version
    return absl::OkStatus();
  }
  if (response.events().empty()) return absl::OkStatus();

  std::vector<std::string> codes;
  {
    absl::flat_hash_set<std::string> seen;
    for (const auto& e : response.events()) {
      if (IsEnterpriseEvent(e.type()) && seen.insert(e.code()).second) codes.push_back(e.code());
    }
  }
  std::vector<std::pair<std::string, Entry>> found;
  if (!codes.empty()) {
    {
      absl::MutexLock lock(&negative_mu_);
      for (const auto& code : codes) negative_.erase(code);
    }
    std::vector<std::string> missing;  // cannot happen: enterprises are never deleted
    absl::Status s =
        BatchGet(codes, absl::Now() + options_.rpc_timeout, /*follower=*/true, &found, &missing);
    NoteRegistry(s);
    if (!s.ok()) return s;
    Merge(found);
  }
  const int64_t new_version = response.events(response.events_size() - 1).version();
  if (!redis_stale_) *redis_status = WriteEntries(found, new_version);
  version_.store(new_version, std::memory_order_relaxed);
  version_gauge_.Set(static_cast<double>(new_version));
  *caught_up = response.events_size() < options_.max_events_page;
  return absl::OkStatus();
}

absl::Status RegistryDirectory::WriteEntries(
    const std::vector<std::pair<std::string, Entry>>& entries, int64_t cache_version) {
  if (redis_stale_) return absl::OkStatus();  // the next snapshot carries them
  if (entries.empty() && cache_version <= 0) return absl::OkStatus();
  const size_t batch = static_cast<size_t>(std::max(1, options_.redis_batch));
  std::vector<redis::Client::ScriptCall> calls;
  for (size_t begin = 0; begin < entries.size() || calls.empty(); begin += batch) {
    redis::Client::ScriptCall call;
    call.keys = {entries_key_, version_key_};
    call.args.push_back("0");
    const size_t end = std::min(entries.size(), begin + batch);
    for (size_t i = begin; i < end; ++i) {
      call.args.push_back(entries[i].first);
      call.args.push_back(Encode(entries[i].second));
    }
    calls.push_back(std::move(call));
    if (end == entries.size()) break;
  }
  if (cache_version > 0) calls.back().args[0] = absl::StrCat(cache_version);
  auto replies = redis_->EvalPipeline(WriteScript(), calls);
  absl::Status s = replies.status();
  if (s.ok()) {
    for (const auto& r : *replies) {
      if (s.ok()) s = redis::ReplyStatus(r);
    }
  }
  NoteRedis(s);
  if (!s.ok()) redis_stale_ = true;  // memory is ahead now: rewrite Redis from it later
  return s;
}

bool RegistryDirectory::BeginCall(grpc::ClientContext* context) {
  absl::MutexLock lock(&run_mu_);
  if (stopping_) return false;
  active_call_ = context;
  return true;
}

void RegistryDirectory::EndCall() {
  absl::MutexLock lock(&run_mu_);
  active_call_ = nullptr;
}

bool RegistryDirectory::Stopping() {
  absl::MutexLock lock(&run_mu_);
  return stopping_;
}

void RegistryDirectory::NoteRegistry(const absl::Status& status) {
  if (status.ok()) {
    if (registry_down_.exchange(false)) log::Info("registry reachable again");
  } else if (status.code() != absl::StatusCode::kCancelled || !Stopping()) {
    if (!registry_down_.exchange(true)) {
      log::Warn("registry unreachable; serving enterprises from the cache",
                {log::Field::Status("error", status)});
    }
  }
}

void RegistryDirectory::NoteRedis(const absl::Status& status) {
  if (status.ok()) {
    if (redis_down_.exchange(false)) log::Info("enterprise cache in Redis reachable again");
  } else if (!redis_down_.exchange(true)) {
    log::Warn("enterprise cache in Redis unreachable; serving from memory",
              {log::Field::Status("error", status)});
  }
}

absl::Time RegistryDirectory::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : absl::Now();
}

RegistryDirectory::Entry RegistryDirectory::FromProto(const v1::Enterprise& e) {
  Entry entry;
  entry.archived = e.archived();
  entry.region = e.region();
  if (refdata::ValidateIndustryCode(e.industry()).ok()) {
    entry.division = refdata::DivisionOf(e.industry());
  }
  entry.version = e.version();
  return entry;
}

std::string RegistryDirectory::Encode(const Entry& entry) {
  return absl::StrCat(entry.archived ? "1" : "0", "|", entry.region, "|", entry.division, "|",
                      entry.version);
}

bool RegistryDirectory::Decode(const std::string& value, Entry* entry) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, '|');
  if (parts.size() != 3 && parts.size() != 4) return false;
  if (parts[0] != "0" && parts[0] != "1") return false;
  entry->archived = parts[0] == "1";
  entry->region = std::string(parts[1]);
  entry->division = std::string(parts[2]);
  entry->version = 0;
  if (parts.size() == 4 && !absl::SimpleAtoi(parts[3], &entry->version)) return false;
  return true;
}

}  // namespace iplus::ingest
