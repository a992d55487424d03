#include "services/registry/store/redis_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/redis/versioned_stream.h"
#include "common/refdata/industry.h"
#include "services/registry/convert/convert.h"

namespace iplus::registry {
namespace {

// KEYS: record, version, events, counts, index keys...
// ARGV: code, pb, time ms, max events, revision, archived, count fields...
// Returns {1, "", version} when created, {0, pb, version, rev} when the code existed.
constexpr char kCreateLua[] = R"lua(
local existing = redis.call('HMGET', KEYS[1], 'pb', 'ver', 'rev')
if existing[1] then
  return {0, existing[1], tonumber(existing[2]), tonumber(existing[3])}
end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'pb', ARGV[2], 'rev', ARGV[5], 'ver', v, 'arch', ARGV[6])
for i = 5, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
for i = 7, #ARGV do redis.call('HINCRBY', KEYS[4], ARGV[i], 1) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], v .. '-0', 't', 1, 'c', ARGV[1], 'ts', ARGV[3])
return {1, '', v, tonumber(ARGV[5])}
)lua";

// KEYS: record, version, events, counts, then n_add index keys to add, n_rem to remove.
// ARGV: code, pb, time ms, max events, new revision, archived, event type, n_add, n_rem,
//       n_inc, n_dec, then n_inc count fields to increment, n_dec to decrement.
// Returns {1, version}, {0, stored revision} on a revision mismatch, {-1} if absent.
constexpr char kReplaceLua[] = R"lua(
local cur = redis.call('HGET', KEYS[1], 'rev')
if not cur then return {-1} end
if tonumber(cur) ~= tonumber(ARGV[5]) - 1 then return {0, tonumber(cur)} end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'pb', ARGV[2], 'rev', ARGV[5], 'ver', v, 'arch', ARGV[6])
local n_add, n_rem = tonumber(ARGV[8]), tonumber(ARGV[9])
for i = 5 + n_add, 4 + n_add + n_rem do redis.call('ZREM', KEYS[i], ARGV[1]) end
for i = 5, 4 + n_add do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
local n_inc, n_dec = tonumber(ARGV[10]), tonumber(ARGV[11])
for i = 12, 11 + n_inc do redis.call('HINCRBY', KEYS[4], ARGV[i], 1) end
for i = 12 + n_inc, 11 + n_inc + n_dec do redis.call('HINCRBY', KEYS[4], ARGV[i], -1) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], v .. '-0', 't', ARGV[7], 'c', ARGV[1], 'ts', ARGV[3])
return {1, v}
)lua";

// KEYS: from record, to record, link, from links, to links, version, events
// ARGV: link key, pb, time ms, max events, from code, to code
// Returns {0} created, {1, pb} existed, {2, i} enterprise i missing, {3, i} archived.
constexpr char kCreateLinkLua[] = R"lua(
for i = 1, 2 do
  local a = redis.call('HGET', KEYS[i], 'arch')
  if not a then return {2, i} end
  if a == '1' then return {3, i} end
end
local existing = redis.call('GET', KEYS[3])
if existing then return {1, existing} end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[5], 0, ARGV[1])
local v = redis.call('INCR', KEYS[6])
redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[4], v .. '-0', 't', 4, 'c', ARGV[5], 'o', ARGV[6], 'ts', ARGV[3])
return {0}
)lua";

// KEYS: link, from links, to links, version, events
// ARGV: link key, time ms, max events, from code, to code
// Returns {0, pb} deleted, {1} absent.
constexpr char kDeleteLinkLua[] = R"lua(
local existing = redis.call('GET', KEYS[1])
if not existing then return {1} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local v = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], v .. '-0', 't', 5, 'c', ARGV[4], 'o', ARGV[5], 'ts', ARGV[2])
return {0, existing}
)lua";

absl::Status Unexpected(const redis::Reply& reply) {
  return absl::InternalError(absl::StrCat("unexpected reply from Redis: ", reply.DebugString()));
}

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

// Count-hash fields of an enterprise: one per dimension, only while it is active.
std::vector<std::string> CountFields(const Enterprise& e) {
  std::vector<std::string> out;
  if (e.archived) return out;
  for (int d = 1; d <= kMaxDimension; ++d) {
    out.push_back(absl::StrCat(d, ":", GroupKey(static_cast<Dimension>(d), e)));
  }
  return out;
}

// a \ b for sorted vectors.
std::vector<std::string> Minus(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

absl::StatusOr<Enterprise> Decode(const std::string& code, const redis::Reply& pb,
                                  const redis::Reply& rev, const redis::Reply& ver) {
  v1::Enterprise proto;
  if (!pb.IsString() || !proto.ParseFromString(pb.str())) {
    return absl::DataLossError(absl::StrCat("stored enterprise ", code, " does not parse"));
  }
  Enterprise e = FromProto(proto);
  int64_t r = 0, v = 0;
  if (!absl::SimpleAtoi(rev.str(), &r) || !absl::SimpleAtoi(ver.str(), &v)) {
    return absl::DataLossError(absl::StrCat("stored enterprise ", code, " lacks rev/ver"));
  }
  e.revision = r;
  e.version = v;
  return e;
}

}  // namespace

RedisStore::RedisStore(redis::Client* client, RedisStoreOptions options)
    : client_(client),
      options_(std::move(options)),
      prefix_(absl::StrCat("iplus:{registry:",
                           options_.region_prefix.empty() ? "all" : options_.region_prefix, "}:")),
      create_script_(kCreateLua),
      replace_script_(kReplaceLua),
      create_link_script_(kCreateLinkLua),
      delete_link_script_(kDeleteLinkLua) {}

std::string RedisStore::Key(absl::string_view suffix) const {
  return absl::StrCat(prefix_, suffix);
}

std::vector<std::string> RedisStore::IndexKeys(const Enterprise& e) const {
  const EnterpriseContent& c = e.content;
  std::vector<std::string> keys = {
      Key("ix:all"),
      Key(absl::StrCat("ix:prov:", c.region.substr(0, 2))),
      Key(absl::StrCat("ix:pref:", c.region.substr(0, 4))),
      Key(absl::StrCat("ix:cty:", c.region)),
      Key(absl::StrCat("ix:ind:", refdata::DivisionOf(c.industry))),
      Key(absl::StrCat("ix:own:", static_cast<int>(c.ownership))),
      Key(absl::StrCat("ix:size:", static_cast<int>(c.size))),
      Key(absl::StrCat("ix:kind:", static_cast<int>(c.kind))),
  };
  if (c.key_enterprise) keys.push_back(Key("ix:key"));
  return keys;
}

redis::Client::ScriptCall RedisStore::CreateCall(const Enterprise& e) const {
  v1::Enterprise proto;
  ToProto(e, &proto);
  redis::Client::ScriptCall call;
  call.keys = {Key(absl::StrCat("e:", e.code)), Key("ver"), Key("ev"), Key("cnt")};
  for (auto& k : IndexKeys(e)) call.keys.push_back(std::move(k));
  call.args = {e.code,
               proto.SerializeAsString(),
               absl::StrCat(Millis(e.update_time)),
               absl::StrCat(options_.max_events),
               absl::StrCat(e.revision),
               e.archived ? "1" : "0"};
  for (auto& f : CountFields(e)) call.args.push_back(std::move(f));
  return call;
}

absl::StatusOr<CreateResult> RedisStore::CreateResultFrom(const Enterprise& e,
                                                          const redis::Reply& reply) const {
  if (reply.IsError()) return absl::InternalError(reply.str());
  if (!reply.IsArray() || reply.elements().size() != 4) return Unexpected(reply);
  const auto& el = reply.elements();
  if (el[0].integer() == 1) {
    CreateResult r{e, true};
    r.enterprise.version = el[2].integer();
    return r;
  }
  auto existing = Decode(e.code, el[1], redis::Reply::String(absl::StrCat(el[3].integer())),
                         redis::Reply::String(absl::StrCat(el[2].integer())));
  if (!existing.ok()) return existing.status();
  return CreateResult{*std::move(existing), false};
}

absl::StatusOr<CreateResult> RedisStore::Create(const Enterprise& e) {
  auto call = CreateCall(e);
  auto reply = client_->Eval(create_script_, call.keys, call.args);
  if (!reply.ok()) return reply.status();
  return CreateResultFrom(e, *reply);
}

absl::StatusOr<std::vector<CreateResult>> RedisStore::CreateMany(
    const std::vector<Enterprise>& enterprises) {
  std::vector<redis::Client::ScriptCall> calls;
  calls.reserve(enterprises.size());
  for (const auto& e : enterprises) calls.push_back(CreateCall(e));
  auto replies = client_->EvalPipeline(create_script_, calls);
  if (!replies.ok()) return replies.status();
  std::vector<CreateResult> out;
  out.reserve(enterprises.size());
  for (size_t i = 0; i < enterprises.size(); ++i) {
    auto r = CreateResultFrom(enterprises[i], (*replies)[i]);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
  }
  return out;
}

absl::StatusOr<Enterprise> RedisStore::Get(const std::string& code) {
  auto reply = client_->Command({"HMGET", Key(absl::StrCat("e:", code)), "pb", "rev", "ver"});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != 3) return Unexpected(*reply);
  const auto& el = reply->elements();
  if (el[0].IsNil()) return absl::NotFoundError(absl::StrCat("enterprise ", code, " not found"));
  return Decode(code, el[0], el[1], el[2]);
}

absl::StatusOr<std::vector<absl::optional<Enterprise>>> RedisStore::GetMany(
    const std::vector<std::string>& codes) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(codes.size());
  for (const auto& code : codes) {
    commands.push_back({"HMGET", Key(absl::StrCat("e:", code)), "pb", "rev", "ver"});
  }
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<absl::optional<Enterprise>> out;
  out.reserve(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    const redis::Reply& r = (*replies)[i];
    if (r.IsError()) return absl::InternalError(r.str());
    if (!r.IsArray() || r.elements().size() != 3) return Unexpected(r);
    if (r.elements()[0].IsNil()) {
      out.push_back(absl::nullopt);
      continue;
    }
    auto e = Decode(codes[i], r.elements()[0], r.elements()[1], r.elements()[2]);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

absl::StatusOr<Enterprise> RedisStore::Replace(const Enterprise& updated, EventType type) {
  // The indexes and counts to move depend on the stored state; the script re-checks the
  // revision, so the state read here is the one the script replaces.
  auto current = Get(updated.code);
  if (!current.ok()) return current.status();
  if (current->revision != updated.revision - 1) {
    return absl::AbortedError(absl::StrCat("enterprise ", updated.code, " changed concurrently"));
  }
  std::vector<std::string> old_index = IndexKeys(*current), new_index = IndexKeys(updated);
  std::vector<std::string> add = Minus(new_index, old_index), rem = Minus(old_index, new_index);
  std::vector<std::string> old_counts = CountFields(*current), new_counts = CountFields(updated);
  std::vector<std::string> inc = Minus(new_counts, old_counts), dec = Minus(old_counts, new_counts);

  v1::Enterprise proto;
  ToProto(updated, &proto);
  std::vector<std::string> keys = {Key(absl::StrCat("e:", updated.code)), Key("ver"), Key("ev"),
                                   Key("cnt")};
  keys.insert(keys.end(), add.begin(), add.end());
  keys.insert(keys.end(), rem.begin(), rem.end());
  std::vector<std::string> args = {updated.code,
                                   proto.SerializeAsString(),
                                   absl::StrCat(Millis(updated.update_time)),
                                   absl::StrCat(options_.max_events),
                                   absl::StrCat(updated.revision),
                                   updated.archived ? "1" : "0",
                                   absl::StrCat(static_cast<int>(type)),
                                   absl::StrCat(add.size()),
                                   absl::StrCat(rem.size()),
                                   absl::StrCat(inc.size()),
                                   absl::StrCat(dec.size())};
  args.insert(args.end(), inc.begin(), inc.end());
  args.insert(args.end(), dec.begin(), dec.end());
  auto reply = client_->Eval(replace_script_, keys, args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  int64_t outcome = reply->elements()[0].integer();
  if (outcome == -1)
    return absl::NotFoundError(absl::StrCat("enterprise ", updated.code, " not found"));
  if (outcome == 0) {
    return absl::AbortedError(absl::StrCat("enterprise ", updated.code, " changed concurrently"));
  }
  Enterprise stored = updated;
  stored.version = reply->elements()[1].integer();
  return stored;
}

absl::StatusOr<std::string> RedisStore::ChooseIndex(const Query& q) {
  std::vector<std::string> candidates;
  const std::string& r = q.region_prefix;
  if (r.size() >= 6) {
    candidates.push_back(Key(absl::StrCat("ix:cty:", r.substr(0, 6))));
  } else if (r.size() >= 4) {
    candidates.push_back(Key(absl::StrCat("ix:pref:", r.substr(0, 4))));
  } else if (r.size() >= 2) {
    candidates.push_back(Key(absl::StrCat("ix:prov:", r.substr(0, 2))));
  }
  if (q.industry_prefix.size() >= 3) {
    candidates.push_back(Key(absl::StrCat("ix:ind:", q.industry_prefix.substr(0, 3))));
  }
  if (q.ownership != Ownership::kUnspecified) {
    candidates.push_back(Key(absl::StrCat("ix:own:", static_cast<int>(q.ownership))));
  }
  if (q.size != EnterpriseSize::kUnspecified) {
    candidates.push_back(Key(absl::StrCat("ix:size:", static_cast<int>(q.size))));
  }
  if (q.kind != OrganizationKind::kUnspecified) {
    candidates.push_back(Key(absl::StrCat("ix:kind:", static_cast<int>(q.kind))));
  }
  if (q.key_only) candidates.push_back(Key("ix:key"));
  if (candidates.empty()) return Key("ix:all");
  if (candidates.size() == 1) return candidates[0];
  std::vector<std::vector<std::string>> commands;
  for (const auto& c : candidates) commands.push_back({"ZCARD", c});
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if ((*replies)[i].integer() < (*replies)[best].integer()) best = i;
  }
  return candidates[best];
}

absl::StatusOr<ScanResult> RedisStore::Scan(const Query& query, const std::string& after, int limit,
                                            int max_examined) {
  auto index = ChooseIndex(query);
  if (!index.ok()) return index.status();
  ScanResult out;
  out.resume_after = after;
  int examined = 0;
  while (static_cast<int>(out.enterprises.size()) < limit && examined < max_examined) {
    int want = std::min(max_examined - examined,
                        std::max(256, 2 * (limit - static_cast<int>(out.enterprises.size()))));
    std::string min = out.resume_after.empty() ? "-" : absl::StrCat("(", out.resume_after);
    auto codes =
        client_->Command({"ZRANGE", *index, min, "+", "BYLEX", "LIMIT", "0", absl::StrCat(want)});
    if (!codes.ok()) return codes.status();
    if (!codes->IsArray()) return Unexpected(*codes);
    std::vector<std::string> batch;
    for (const auto& c : codes->elements()) batch.push_back(c.str());
    if (batch.empty()) {
      out.done = true;
      return out;
    }
    auto records = GetMany(batch);
    if (!records.ok()) return records.status();
    for (size_t i = 0; i < batch.size(); ++i) {
      ++examined;
      out.resume_after = batch[i];
      const auto& e = (*records)[i];
      if (e.has_value() && Matches(query, *e)) {
        out.enterprises.push_back(*e);
        if (static_cast<int>(out.enterprises.size()) >= limit) break;
      }
    }
    if (static_cast<int>(batch.size()) < want && out.resume_after == batch.back()) {
      out.done = true;
      return out;
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> RedisStore::Count(const Query& query,
                                                                 Dimension dimension,
                                                                 int64_t* registry_version) {
  std::map<std::string, int64_t> out;
  std::string dim_prefix = absl::StrCat(static_cast<int>(dimension), ":");
  bool unfiltered = query.Canonical() == Query{}.Canonical();
  if (unfiltered) {
    // The maintained counts, read together with the version they belong to.
    auto replies =
        client_->Pipeline({{"MULTI"}, {"HGETALL", Key("cnt")}, {"GET", Key("ver")}, {"EXEC"}});
    if (!replies.ok()) return replies.status();
    const redis::Reply& exec = replies->back();
    if (!exec.IsArray() || exec.elements().size() != 2) return Unexpected(exec);
    const auto& fields = exec.elements()[0].elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      absl::string_view f = fields[i].str();
      if (f.substr(0, dim_prefix.size()) != dim_prefix) continue;
      int64_t n = 0;
      if (absl::SimpleAtoi(fields[i + 1].str(), &n) && n > 0) {
        out[std::string(f.substr(dim_prefix.size()))] = n;
      }
    }
    *registry_version = 0;
    if (exec.elements()[1].IsString()) absl::SimpleAtoi(exec.elements()[1].str(), registry_version);
    return out;
  }
  auto version = Version();
  if (!version.ok()) return version.status();
  *registry_version = *version;
  std::string after;
  for (;;) {
    auto scan = Scan(query, after, 5000, 50000);
    if (!scan.ok()) return scan.status();
    for (const auto& e : scan->enterprises) ++out[GroupKey(dimension, e)];
    after = scan->resume_after;
    if (scan->done) return out;
  }
}

absl::StatusOr<LinkResult> RedisStore::CreateLink(const Link& link) {
  v1::Link proto;
  ToProto(link, &proto);
  std::string lk = LinkKey(link);
  auto reply =
      client_->Eval(create_link_script_,
                    {Key(absl::StrCat("e:", link.from_code)), Key(absl::StrCat("e:", link.to_code)),
                     Key(absl::StrCat("lk:", lk)), Key(absl::StrCat("l:", link.from_code)),
                     Key(absl::StrCat("l:", link.to_code)), Key("ver"), Key("ev")},
                    {lk, proto.SerializeAsString(), absl::StrCat(Millis(link.create_time)),
                     absl::StrCat(options_.max_events), link.from_code, link.to_code});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  const auto& el = reply->elements();
  switch (el[0].integer()) {
    case 0:
      return LinkResult{LinkChange::kApplied, link, ""};
    case 1: {
      v1::Link stored;
      if (!stored.ParseFromString(el[1].str()))
        return absl::DataLossError("stored link does not parse");
      return LinkResult{LinkChange::kAlreadyDone, FromProto(stored), ""};
    }
    case 2:
      return LinkResult{
          LinkChange::kMissingEnterprise, {}, el[1].integer() == 1 ? link.from_code : link.to_code};
    case 3:
      return LinkResult{LinkChange::kArchivedEnterprise,
                        {},
                        el[1].integer() == 1 ? link.from_code : link.to_code};
  }
  return Unexpected(*reply);
}

absl::StatusOr<LinkResult> RedisStore::DeleteLink(const Link& link) {
  std::string lk = LinkKey(link);
  auto reply = client_->Eval(delete_link_script_,
                             {Key(absl::StrCat("lk:", lk)), Key(absl::StrCat("l:", link.from_code)),
                              Key(absl::StrCat("l:", link.to_code)), Key("ver"), Key("ev")},
                             {lk, absl::StrCat(absl::ToUnixMillis(absl::Now())),
                              absl::StrCat(options_.max_events), link.from_code, link.to_code});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  if (reply->elements()[0].integer() == 1) return LinkResult{LinkChange::kAlreadyDone, link, ""};
  return LinkResult{LinkChange::kApplied, link, ""};
}

absl::StatusOr<std::vector<Link>> RedisStore::ListLinks(const std::string& code,
                                                        const std::string& after, int limit) {
  std::string min = after.empty() ? "-" : absl::StrCat("(", after);
  auto keys = client_->Command({"ZRANGE", Key(absl::StrCat("l:", code)), min, "+", "BYLEX", "LIMIT",
                                "0", absl::StrCat(limit)});
  if (!keys.ok()) return keys.status();
  std::vector<Link> out;
  if (!keys->IsArray() || keys->elements().empty()) return out;
  std::vector<std::string> mget = {"MGET"};
  for (const auto& k : keys->elements()) mget.push_back(Key(absl::StrCat("lk:", k.str())));
  auto values = client_->Command(mget);
  if (!values.ok()) return values.status();
  for (const auto& v : values->elements()) {
    if (!v.IsString()) continue;  // removed between the two reads
    v1::Link proto;
    if (!proto.ParseFromString(v.str())) return absl::DataLossError("stored link does not parse");
    out.push_back(FromProto(proto));
  }
  return out;
}

absl::StatusOr<EventsPage> RedisStore::ListEvents(int64_t after_version, int limit) {
  auto read = redis::ReadVersionedStream(*client_, Key("ev"), Key("ver"), after_version, limit);
  if (!read.ok()) return read.status();
  EventsPage page;
  page.registry_version = read->current_version;
  page.truncated = read->truncated;
  for (const auto& entry : read->entries) {
    Event e;
    e.version = entry.version;
    for (const auto& [k, v] : entry.fields) {
      if (k == "t") {
        int t = 0;
        absl::SimpleAtoi(v, &t);
        e.type = static_cast<EventType>(t);
      } else if (k == "c") {
        e.code = v;
      } else if (k == "o") {
        e.other_code = v;
      } else if (k == "ts") {
        int64_t ms = 0;
        absl::SimpleAtoi(v, &ms);
        e.time = absl::FromUnixMillis(ms);
      }
    }
    page.events.push_back(std::move(e));
  }
  return page;
}

absl::StatusOr<int64_t> RedisStore::Version() {
  auto reply = client_->Command({"GET", Key("ver")});
  if (!reply.ok()) return reply.status();
  int64_t v = 0;
  if (reply->IsString() && !absl::SimpleAtoi(reply->str(), &v)) return Unexpected(*reply);
  return v;
}

}  // namespace iplus::registry
