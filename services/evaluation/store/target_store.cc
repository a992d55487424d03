#include "services/evaluation/store/target_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/evaluation/convert/convert.h"

namespace iplus::evaluation {
namespace {

// KEYS: targets, etags, version. ARGV: id, pb, etag.
// Returns {1} when created, {0, stored pb} when the id existed.
constexpr char kCreateLua[] = R"lua(
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('INCR', KEYS[3])
return {1}
)lua";

// KEYS: targets, etags, version. ARGV: id, pb, expected etag, new etag.
// Returns {1} replaced, {0, stored etag} on a mismatch, {-1} when absent.
constexpr char kReplaceLua[] = R"lua(
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return {-1} end
if current ~= ARGV[3] then return {0, current} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('INCR', KEYS[3])
return {1}
)lua";

// KEYS: targets, etags, version, seed marker. ARGV: (id, pb, etag) triples.
// Returns 1 when this call seeded, 0 when the marker was already set.
constexpr char kSeedLua[] = R"lua(
if not redis.call('SET', KEYS[4], '1', 'NX') then return 0 end
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
  end
end
redis.call('INCR', KEYS[3])
return 1
)lua";

absl::Status Unexpected(const redis::Reply& reply) {
  return absl::InternalError(absl::StrCat("unexpected reply from Redis: ", reply.DebugString()));
}

std::string Encode(const Target& t) {
  v1::Target proto;
  ToProto(t, &proto);
  return proto.SerializeAsString();
}

absl::StatusOr<Target> Decode(const std::string& id, const std::string& bytes) {
  v1::Target proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("stored target ", id, " does not parse"));
  }
  auto t = TargetFromProto(proto);
  if (!t.ok()) {
    return absl::DataLossError(absl::StrCat("stored target ", id, ": ", t.status().message()));
  }
  return t;
}

}  // namespace

std::string EvaluationKeyPrefix(const std::string& region_prefix) {
  return absl::StrCat("iplus:{evaluation:", region_prefix.empty() ? "all" : region_prefix, "}:");
}

int64_t RevisionOfEtag(const std::string& etag) {
  int64_t r = 0;
  if (!absl::StartsWith(etag, "r") || !absl::SimpleAtoi(etag.substr(1), &r) || r < 1) return 0;
  return r;
}

std::string EtagOfRevision(int64_t revision) { return absl::StrCat("r", revision); }

TargetStore::TargetStore(redis::Client* client, TargetStoreOptions options)
    : client_(client),
      prefix_(EvaluationKeyPrefix(options.region_prefix)),
      create_script_(kCreateLua),
      replace_script_(kReplaceLua),
      seed_script_(kSeedLua) {}

std::string TargetStore::Key(absl::string_view suffix) const {
  return absl::StrCat(prefix_, suffix);
}

absl::StatusOr<std::pair<Target, bool>> TargetStore::Create(const Target& target) {
  auto reply = client_->Eval(create_script_, {Key("t"), Key("te"), Key("tver")},
                             {target.id, Encode(target), target.etag});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  if (reply->elements()[0].integer() == 1) return std::make_pair(target, true);
  if (reply->elements().size() != 2) return Unexpected(*reply);
  auto stored = Decode(target.id, reply->elements()[1].str());
  if (!stored.ok()) return stored.status();
  return std::make_pair(*std::move(stored), false);
}

absl::StatusOr<Target> TargetStore::Get(const std::string& id) {
  auto reply = client_->Command({"HGET", Key("t"), id});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return absl::NotFoundError(absl::StrCat("no target \"", id, "\""));
  if (!reply->IsString()) return Unexpected(*reply);
  return Decode(id, reply->str());
}

absl::StatusOr<Target> TargetStore::Replace(const Target& updated,
                                            const std::string& expected_etag) {
  auto reply = client_->Eval(replace_script_, {Key("t"), Key("te"), Key("tver")},
                             {updated.id, Encode(updated), expected_etag, updated.etag});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().empty()) return Unexpected(*reply);
  switch (reply->elements()[0].integer()) {
    case 1:
      return updated;
    case -1:
      return absl::NotFoundError(absl::StrCat("no target \"", updated.id, "\""));
    case 0:
      if (reply->elements().size() != 2) return Unexpected(*reply);
      return absl::AbortedError(
          absl::StrCat("etag \"", expected_etag, "\" does not match the stored \"",
                       reply->elements()[1].str(), "\"; read the target again"));
  }
  return Unexpected(*reply);
}

absl::StatusOr<std::vector<Target>> TargetStore::All() {
  auto reply = client_->Command({"HGETALL", Key("t")});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray()) return Unexpected(*reply);
  std::vector<Target> out;
  const auto& fields = reply->elements();
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    auto t = Decode(fields[i].str(), fields[i + 1].str());
    if (!t.ok()) return t.status();
    out.push_back(*std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const Target& a, const Target& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<int64_t> TargetStore::Version() {
  auto reply = client_->Command({"GET", Key("tver")});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return 0;
  int64_t v = 0;
  if (!reply->IsString() || !absl::SimpleAtoi(reply->str(), &v)) return Unexpected(*reply);
  return v;
}

absl::StatusOr<bool> TargetStore::Seed(const std::vector<Target>& targets) {
  std::vector<std::string> args;
  args.reserve(targets.size() * 3);
  for (const Target& t : targets) {
    args.push_back(t.id);
    args.push_back(Encode(t));
    args.push_back(t.etag);
  }
  auto reply = client_->Eval(seed_script_, {Key("t"), Key("te"), Key("tver"), Key("seeded")}, args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsInteger()) return Unexpected(*reply);
  return reply->integer() == 1;
}

}  // namespace iplus::evaluation
