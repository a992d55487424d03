#include "services/funds/store/redis_ledger.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "services/funds/domain/codec.h"
#include "services/funds/domain/journal.h"
#include "services/funds/domain/validate.h"

namespace iplus::funds {
namespace {

// The first line of the read-only scripts: Redis runs them even when out of memory.
constexpr char kReadOnly[] = "#!lua flags=no-writes\n";

// Sequences in one block of the account index (P x): each account's transfers are
// kept as blocks of this many 8-byte sequences; see kListLua.
constexpr int64_t kIndexBlock = 16;

// Transfers queued before a group is computed while the previous write is in flight.
constexpr size_t kPipelineMinTransfers = 250;

// Functions the lookup and list scripts share (KEYS[3] is the journal).
// u32, u64: big-endian integers at byte p. hmget: HMGET of list[from..to] in slices of
// 4000 (Lua's unpack fails beyond about 8000 values; the write script slices its
// commands alike), aligned with the list (false for a missing field). record_of: a
// journal entry's record.
//
// A journal stream entry holds the consecutive journal entries first .. first + n - 1
// of one write: its id is "<first>-0" and its fields are o (n 4-byte big-endian end
// offsets into r), r (the n records, concatenated) and h (the n 32-byte hashes,
// concatenated). The stream entry of sequence s is the last one whose id is at most s
// (XREVRANGE s - COUNT 1, a radix-tree seek), and the offset table finds the record in
// it without a scan. The stream entry read last is kept, so consecutive sequences cost
// one XREVRANGE. The strings of a record start at byte kRecordFixedSize + 1 = 43
// (codec.h).
constexpr char kLuaCommon[] = R"lua(
local function u32(s, p)
  local a, b, c, d = string.byte(s, p, p + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function u64(s, p)
  local v = 0
  for k = p, p + 7 do v = v * 256 + string.byte(s, k) end
  return v
end
local function hmget(key, list, from, to)
  local out = {}
  for s = from, to, 4000 do
    local r = redis.call('HMGET', key, unpack(list, s, math.min(s + 3999, to)))
    for k = 1, #r do out[#out + 1] = r[k] end
  end
  return out
end
local chunk = {first = 0, n = 0}
local function record_of(seq)
  if seq < chunk.first or seq >= chunk.first + chunk.n then
    local e = redis.call('XREVRANGE', KEYS[3], string.format('%d', seq), '-', 'COUNT', 1)
    if #e == 0 then error('funds ledger: no journal entry ' .. seq) end
    local f = e[1][2]
    if #f ~= 6 or f[1] ~= 'o' or f[3] ~= 'r' or f[5] ~= 'h' then
      error('funds ledger: journal stream entry ' .. e[1][1] .. ' is malformed')
    end
    chunk = {first = tonumber(string.match(e[1][1], '^(%d+)')), n = #f[2] / 4, o = f[2], r = f[4]}
    if seq >= chunk.first + chunk.n then error('funds ledger: no journal entry ' .. seq) end
  end
  local k = seq - chunk.first
  local from = 1
  if k > 0 then from = u32(chunk.o, 4 * k - 3) + 1 end
  return string.sub(chunk.r, from, u32(chunk.o, 4 * k + 1))
end
)lua";

// Transfers by id, with their state and, if asked, their accounts: the second read of
// a snapshot (when the first found transfers or due expiries) and LookupTransfers.
// KEYS: head, t, j, a, p, x.
// ARGV: '1' to return the accounts of the transfers found, then transfer ids (distinct).
// Returns {head, {id, record, state, ...}, {account id, record, index tail, ...}} with
// the transfers that exist, in journal order, and their accounts that exist.
constexpr char kLookupLua[] = R"lua(
local seqs = hmget(KEYS[2], ARGV, 2, #ARGV)
local found = {}
for k = 1, #seqs do
  if seqs[k] then found[#found + 1] = {tonumber(seqs[k]), ARGV[k + 1]} end
end
-- In journal order, so that entries of one stream entry are read with one XREVRANGE.
table.sort(found, function(x, y) return x[1] < y[1] end)
local tr, ids, accounts, want = {}, {}, {}, {}
for k = 1, #found do
  local rec = record_of(found[k][1])
  ids[k] = found[k][2]
  tr[#tr + 1] = found[k][2]
  tr[#tr + 1] = rec
  tr[#tr + 1] = ''
  if ARGV[1] == '1' then
    local p = 43
    p = p + 4 + u32(rec, p)
    for side = 1, 2 do
      local len = u32(rec, p)
      local id = string.sub(rec, p + 4, p + 3 + len)
      if id ~= '' and not want[id] then
        want[id] = true
        accounts[#accounts + 1] = id
      end
      p = p + 4 + len
    end
  end
end
local states = hmget(KEYS[5], ids, 1, #ids)
for k = 1, #states do
  if states[k] then tr[3 * k] = states[k] end
end
local ac = {}
local records = hmget(KEYS[4], accounts, 1, #accounts)
local tails = hmget(KEYS[6], accounts, 1, #accounts)
for k = 1, #accounts do
  if records[k] then
    ac[#ac + 1] = accounts[k]
    ac[#ac + 1] = records[k]
    ac[#ac + 1] = tails[k] or ''
  end
end
return {redis.call('GET', KEYS[1]) or '', tr, ac}
)lua";

// Applies a batch's effects if the head is still the one the snapshot had.
// KEYS: head, t, j, a, p, e, x.
// ARGV: expected head, new head, first sequence, then
//   journal:        the number c of stream entries, then c x (first sequence, o, r, h)
//   then runs, each its length m and m arguments passed as they are to one command
//   (in slices of 4000):
//   transfer index: HSET t    (transfer id, sequence) pairs
//   accounts:       HSET a    (account id, record) pairs
//   pending states: HSET p    (pending id, state) pairs
//   account index:  HSET x    (field, block) pairs
//   expiries added: ZADD e    (0, member) pairs;  expiries removed: ZREM e  members
// Returns 1 when written, 0 when the head had moved (nothing written).
// Everything that could fail is checked before the first write: a Redis script is not
// rolled back when a command fails half-way. The "#!lua" line makes Redis refuse the
// whole script up front when it is out of memory, rather than fail at the first write.
constexpr char kApplyLua[] = R"lua(#!lua
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local seq = tonumber(ARGV[3])
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local tail = 0
if #last > 0 then
  local f = last[1][2]
  if #f ~= 6 or f[1] ~= 'o' or #f[2] == 0 or #f[2] % 4 ~= 0 then
    return redis.error_reply('funds ledger: the last journal stream entry ' .. last[1][1] ..
                             ' is malformed')
  end
  tail = tonumber(string.match(last[1][1], '^(%d+)')) + #f[2] / 4 - 1
end
if tail + 1 ~= seq then
  return redis.error_reply('funds ledger: the journal ends at ' .. tail .. ' but the head is at ' ..
                           (seq - 1))
end
local i = 4
for k = 1, tonumber(ARGV[i]) do
  redis.call('XADD', KEYS[3], ARGV[i + 1] .. '-0', 'o', ARGV[i + 2], 'r', ARGV[i + 3], 'h',
             ARGV[i + 4])
  i = i + 4
end
i = i + 1
local function run(cmd, key)
  local m = tonumber(ARGV[i])
  for s = i + 1, i + m, 4000 do
    redis.call(cmd, key, unpack(ARGV, s, math.min(s + 3999, i + m)))
  end
  i = i + 1 + m
end
run('HSET', KEYS[2])
run('HSET', KEYS[4])
run('HSET', KEYS[5])
run('HSET', KEYS[7])
run('ZADD', KEYS[6])
run('ZREM', KEYS[6])
redis.call('SET', KEYS[1], ARGV[2])
return 1
)lua";

// Creates the accounts that do not exist. KEYS: a. ARGV: (id, record) pairs.
// Returns per account 1 when created, else the stored record.
constexpr char kAccountsLua[] = R"lua(#!lua
local out = {}
for k = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[k])
  if cur then
    out[#out + 1] = cur
  else
    redis.call('HSET', KEYS[1], ARGV[k], ARGV[k + 1])
    out[#out + 1] = 1
  end
end
return out
)lua";

// One page of an account's transfers. KEYS: head, t, j, a, p, x (head and t unused).
// ARGV: account id, start and end (8-byte big-endian timestamps, '' for no bound; end
// exclusive), limit. The account index holds the account's transfers' sequences in
// journal order, which is also time order, so the start is found by binary search;
// timestamps are compared as bytes (Lua's numbers cannot hold them exactly).
// The index (P x): field <account> is the tail, 8 bytes count c then the last
// c mod B sequences; field <account>#<k> is the k-th full block of B sequences
// (B = kIndexBlock, prepended to the script as `B`).
// Returns nil for an unknown account, else {record, state, ...}.
constexpr char kListLua[] = R"lua(
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return false end
local tail = redis.call('HGET', KEYS[6], ARGV[1])
if not tail then return {} end
if #tail < 8 or #tail % 8 ~= 0 or (#tail - 8) / 8 ~= u64(tail, 1) % B then
  error('funds ledger: account index tail ' .. ARGV[1] .. ' is malformed')
end
local len = u64(tail, 1)
local full = len - (#tail - 8) / 8
local block = {k = -1}
local function seq_at(i)
  if i >= full then return u64(tail, 9 + 8 * (i - full)) end
  local k = math.floor(i / B)
  if block.k ~= k then
    local v = redis.call('HGET', KEYS[6], ARGV[1] .. '#' .. k)
    if not v or #v ~= 8 * B then
      error('funds ledger: account index block ' .. ARGV[1] .. '#' .. k .. ' is malformed')
    end
    block = {k = k, v = v}
  end
  return u64(block.v, 1 + 8 * (i % B))
end
local function before(rec, bound)
  for k = 1, 8 do
    local x, y = string.byte(rec, 9 + k), string.byte(bound, k)
    if x ~= y then return x < y end
  end
  return false
end
local lo, hi = 0, len
if ARGV[2] ~= '' then
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if before(record_of(seq_at(mid)), ARGV[2]) then
      lo = mid + 1
    else
      hi = mid
    end
  end
end
local out, ids = {}, {}
for i = lo, math.min(lo + tonumber(ARGV[4]), len) - 1 do
  local rec = record_of(seq_at(i))
  if ARGV[3] ~= '' and not before(rec, ARGV[3]) then break end
  out[#out + 1] = rec
  out[#out + 1] = ''
  ids[#ids + 1] = string.sub(rec, 47, 46 + u32(rec, 43))
end
local states = hmget(KEYS[5], ids, 1, #ids)
for k = 1, #states do
  if states[k] then out[2 * k] = states[k] end
end
return out
)lua";

// Journal stream entries, for ReadJournal and Verify. KEYS: j.
// ARGV: 'at' to start with the stream entry holding sequence ARGV[2] (if any), or
//       'after' to start after stream id ARGV[2]; the journal entries wanted (the reply
//       stops at the first stream entry that reaches them); the last stream id to
//       return, or '+'.
// Returns the stream entries as XRANGE does.
constexpr char kJournalLua[] = R"lua(
local want = tonumber(ARGV[3])
local out, got, cursor = {}, 0, '(' .. ARGV[2]
local function entries(e)
  local f = e[2]
  if f[1] == 'o' and #f[2] >= 4 then return math.floor(#f[2] / 4) end
  return 1
end
if ARGV[1] == 'at' then
  cursor = '-'
  local e = redis.call('XREVRANGE', KEYS[1], ARGV[2], '-', 'COUNT', 1)
  if #e > 0 then
    out[1] = e[1]
    cursor = '(' .. e[1][1]
    got = tonumber(string.match(e[1][1], '^(%d+)')) + entries(e[1]) - 1 - tonumber(ARGV[2])
  end
end
while got < want do
  local page = redis.call('XRANGE', KEYS[1], cursor, ARGV[4], 'COUNT', 16)
  if #page == 0 then break end
  for _, e in ipairs(page) do
    out[#out + 1] = e
    got = got + entries(e)
    cursor = '(' .. e[1]
    if got >= want then break end
  end
end
return out
)lua";

absl::Status Unexpected(const redis::Reply& reply) {
  return absl::InternalError(
      absl::StrCat("unexpected reply from Redis: ", reply.DebugString().substr(0, 200)));
}

PendingState ParseState(const std::string& s, const Transfer& t) {
  if (s == "P") return PendingState::kPosted;
  if (s == "V") return PendingState::kVoided;
  if (s == "E") return PendingState::kExpired;
  return t.flags.pending ? PendingState::kPending : PendingState::kNone;
}

const char* StateCode(PendingState s) {
  switch (s) {
    case PendingState::kPosted:
      return "P";
    case PendingState::kVoided:
      return "V";
    case PendingState::kExpired:
      return "E";
    default:
      return "";
  }
}

absl::StatusOr<Transfer> DecodeWithState(const std::string& record, const std::string& state) {
  auto t = DecodeTransferRecord(record);
  if (!t.ok()) return t.status();
  t->pending_state = ParseState(state, *t);
  return t;
}

std::string ExpiryMember(const ExpiryKey& key) { return BigEndian64(key.first) + key.second; }

// One journal stream entry as XRANGE returns it: the journal entries first ..
// first + n - 1 (see kLuaCommon).
struct StreamEntry {
  std::string id;
  int64_t first = 0;
  int64_t n = 0;
  absl::string_view offsets, records, hashes;

  absl::string_view Record(int64_t k) const {
    const size_t from = k == 0 ? 0 : Offset(k - 1);
    return records.substr(from, Offset(k) - from);
  }
  std::string HashHex(int64_t k) const {
    return absl::BytesToHexString(hashes.substr(static_cast<size_t>(32 * k), 32));
  }
  size_t Offset(int64_t k) const {
    return static_cast<uint32_t>(ReadBigEndian32(offsets.data() + 4 * k));
  }
};

// False when `item` is not a well-formed stream entry: id "<first>-0", fields o, r, h,
// at least one entry, 32 bytes of hash and a non-decreasing end offset within r per
// entry, the last one at the end of r.
bool ParseStreamEntry(const redis::Reply& item, StreamEntry* e) {
  const auto& parts = item.elements();
  if (!item.IsArray() || parts.size() != 2 || !parts[1].IsArray()) return false;
  e->id = parts[0].str();
  const auto& f = parts[1].elements();
  if (f.size() != 6 || f[0].str() != "o" || f[2].str() != "r" || f[4].str() != "h") return false;
  const size_t dash = e->id.find('-');
  if (dash == std::string::npos || e->id.substr(dash) != "-0" ||
      !absl::SimpleAtoi(absl::string_view(e->id).substr(0, dash), &e->first) || e->first < 1) {
    return false;
  }
  e->offsets = f[1].str();
  e->records = f[3].str();
  e->hashes = f[5].str();
  e->n = static_cast<int64_t>(e->offsets.size() / 4);
  if (e->n == 0 || e->offsets.size() % 4 != 0 ||
      e->hashes.size() != static_cast<size_t>(32 * e->n)) {
    return false;
  }
  size_t prev = 0;
  for (int64_t k = 0; k < e->n; ++k) {
    const size_t end = e->Offset(k);
    if (end < prev || end > e->records.size()) return false;
    prev = end;
  }
  return prev == e->records.size();
}

// A record's transfer id, or "" when the record is too short to hold one.
absl::string_view RecordId(absl::string_view record) {
  if (record.size() < kRecordFixedSize + 4) return "";
  const size_t n = static_cast<uint32_t>(ReadBigEndian32(record.data() + kRecordFixedSize));
  return record.substr(kRecordFixedSize + 4, n);
}

}  // namespace
class RedisLedger::Snapshot : public LedgerView {
 public:
  const Account* FindAccount(const std::string& id) const override {
    auto it = accounts.find(id);
    return it == accounts.end() ? nullptr : &it->second;
  }
  const Transfer* FindTransfer(const std::string& id) const override {
    auto it = transfers.find(id);
    return it == transfers.end() ? nullptr : &it->second;
  }
  std::vector<std::string> DueExpiries(int64_t, int limit) const override {
    std::vector<std::string> out(due.begin(),
                                 due.begin() + std::min<size_t>(due.size(), std::max(limit, 0)));
    return out;
  }
  JournalHead Head() const override { return head; }

  absl::flat_hash_map<std::string, Account> accounts;
  // The account index tail (P x field <account>) of every account read, "" for none.
  absl::flat_hash_map<std::string, std::string> index_tails;
  absl::flat_hash_map<std::string, Transfer> transfers;
  std::vector<std::string> due;
  JournalHead head;
  // The reads saw a head they cannot be made exact at: read again.
  bool stale = false;
};

struct RedisLedger::InFlight {
  explicit InFlight(LedgerEffects e) : effects(std::move(e)) {
    for (size_t i = 0; i < effects.created.size(); ++i) created.emplace(effects.created[i].id, i);
    for (const auto& [id, state] : effects.resolved) resolved[id] = state;
  }
  // A transfer the write creates, with its pending state once the write is applied.
  std::optional<Transfer> Created(absl::string_view id) const {
    auto it = created.find(id);
    if (it == created.end()) return std::nullopt;
    Transfer t = effects.created[it->second];
    if (auto r = resolved.find(id); r != resolved.end()) t.pending_state = r->second;
    return t;
  }

  const LedgerEffects effects;
  absl::flat_hash_map<absl::string_view, size_t> created;  // id -> index in effects.created
  absl::flat_hash_map<absl::string_view, PendingState> resolved;
  // The new index tail of every account the write appends to.
  absl::flat_hash_map<std::string, std::string> index_tails;
  // Guarded by RedisLedger::mu_.
  enum class Outcome { kPending, kWritten, kFailed } outcome = Outcome::kPending;
};

absl::Status CheckDurability(redis::Client* client, bool allow_unsafe) {
  std::string problem;
  for (const auto& [name, want] : {std::pair<std::string, std::string>{"appendonly", "yes"},
                                   std::pair<std::string, std::string>{"appendfsync", "always"}}) {
    auto reply = client->Command({"CONFIG", "GET", name});
    if (!reply.ok()) {
      if (reply.status().code() == absl::StatusCode::kUnavailable) return reply.status();
      problem = absl::StrCat("cannot read Redis's ", name, ": ", reply.status().message());
      break;
    }
    const auto& el = reply->elements();
    const std::string got = el.size() == 2 ? el[1].str() : "";
    if (got != want) {
      problem = absl::StrCat("Redis has ", name, " ", got.empty() ? "unset" : got, ", not ", want);
      break;
    }
  }
  if (problem.empty()) return absl::OkStatus();
  if (allow_unsafe) {
    log::Warn(
        "funds ledger: Redis does not confirm writes on disk; acknowledged transfers can "
        "be lost in a crash",
        {log::Field::Str("problem", problem)});
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat(problem, "; the ledger needs appendonly yes and appendfsync always"));
}

RedisLedger::RedisLedger(redis::Client* client, Clock* clock, RedisLedgerOptions options)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      prefix_(
          absl::StrCat("iplus:{funds:", options_.region.empty() ? "all" : options_.region, "}:")),
      lookup_script_(absl::StrCat(kReadOnly, kLuaCommon, kLookupLua)),
      apply_script_(kApplyLua),
      accounts_script_(kAccountsLua),
      list_script_(absl::StrCat(kReadOnly, "local B = ", kIndexBlock, "\n", kLuaCommon, kListLua)),
      journal_script_(absl::StrCat(kReadOnly, kJournalLua)) {}

std::string RedisLedger::Key(absl::string_view suffix) const {
  return absl::StrCat(prefix_, suffix);
}

int64_t RedisLedger::conflicts() const {
  absl::MutexLock lock(&mu_);
  return conflicts_;
}

absl::StatusOr<std::vector<AccountResult>> RedisLedger::CreateAccounts(
    const std::vector<Account>& accounts) {
  if (auto s = CheckBatchSize("accounts", accounts.size(), false); !s.ok()) return s;
  const int64_t now = absl::ToUnixNanos(clock_->Now());
  std::vector<AccountResult> out(accounts.size());
  std::vector<std::string> args;
  std::vector<size_t> sent;
  for (size_t i = 0; i < accounts.size(); ++i) {
    if (auto s = ValidateAccount(accounts[i]); !s.ok()) {
      out[i].status = PrefixFields(s, absl::StrCat("accounts[", i, "]"));
      continue;
    }
    Account stored = accounts[i];
    stored.create_time_ns = now;
    args.push_back(stored.id);
    args.push_back(EncodeAccount(stored));
    out[i].account = std::move(stored);
    sent.push_back(i);
  }
  if (sent.empty()) return out;
  auto reply = client_->Eval(accounts_script_, {Key("a")}, args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != sent.size()) return Unexpected(*reply);
  for (size_t k = 0; k < sent.size(); ++k) {
    const redis::Reply& r = reply->elements()[k];
    AccountResult& result = out[sent[k]];
    if (r.IsInteger()) {
      result.created = true;
      continue;
    }
    auto existing = DecodeAccount(result.account.id, r.str());
    if (!existing.ok()) return existing.status();
    const std::string field = DifferingAccountField(result.account, *existing);
    if (field.empty()) {
      result.account = std::move(*existing);
    } else {
      result.status = absl::AlreadyExistsError(
          absl::StrCat("account ", result.account.id, " exists with a different ", field));
      result.account = Account();
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::optional<Account>>> RedisLedger::LookupAccounts(
    const std::vector<std::string>& ids) {
  if (auto s = CheckBatchSize("ids", ids.size(), true); !s.ok()) return s;
  std::vector<std::optional<Account>> out;
  if (ids.empty()) return out;
  std::vector<std::string> argv = {"HMGET", Key("a")};
  argv.insert(argv.end(), ids.begin(), ids.end());
  auto reply = client_->Command(std::move(argv));
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != ids.size()) return Unexpected(*reply);
  for (size_t i = 0; i < ids.size(); ++i) {
    const redis::Reply& r = reply->elements()[i];
    if (r.IsNil()) {
      out.push_back(std::nullopt);
      continue;
    }
    auto a = DecodeAccount(ids[i], r.str());
    if (!a.ok()) return a.status();
    out.push_back(std::move(*a));
  }
  return out;
}

absl::StatusOr<std::vector<TransferResult>> RedisLedger::CreateTransfers(
    const std::vector<Transfer>& transfers) {
  if (auto s = CheckBatchSize("transfers", transfers.size(), false); !s.ok()) return s;
  Request request;
  request.transfers = &transfers;
  if (auto s = Submit(&request); !s.ok()) return s;
  return std::move(request.results);
}

absl::StatusOr<int> RedisLedger::ExpirePending() {
  static const std::vector<Transfer> kNone;
  Request request;
  request.transfers = &kNone;
  if (auto s = Submit(&request); !s.ok()) return s;
  if (!request.results.ok()) return request.results.status();
  return request.expired;
}

absl::Status RedisLedger::Submit(Request* request) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(request);
  queued_transfers_ += request->transfers->size();
  while (!request->done) {
    // While a write is in flight, a group is computed on top of it only when it is
    // large enough for the overlap to pay; a few small requests wait for it to finish,
    // so that more join them and share the next write's fsync.
    if (computing_ || request->taken ||
        (inflight_ != nullptr && queued_transfers_ < kPipelineMinTransfers)) {
      cv_.Wait(&mu_);
      continue;
    }
    // Lead: take what is queued, in order, up to the write's size.
    computing_ = true;
    std::vector<Request*> group;
    size_t total = 0;
    while (!queue_.empty()) {
      const size_t n = queue_.front()->transfers->size();
      if (!group.empty() && total + n > static_cast<size_t>(options_.max_transfers_per_write)) {
        break;
      }
      group.push_back(queue_.front());
      group.back()->taken = true;
      queue_.pop_front();
      queued_transfers_ -= n;
      total += n;
    }
    mu_.Unlock();
    WriteGroup(group);
    mu_.Lock();
    for (Request* r : group) r->done = true;
    cv_.SignalAll();
  }
  return absl::OkStatus();
}

void RedisLedger::WriteGroup(const std::vector<Request*>& group) {
  bool computing = true;  // this call holds computing_
  auto release = [&] {
    if (!computing) return;
    absl::MutexLock lock(&mu_);
    computing_ = false;
    computing = false;
    cv_.SignalAll();
  };
  auto acquire = [&] {
    if (computing) return;
    absl::MutexLock lock(&mu_);
    while (computing_) cv_.Wait(&mu_);
    computing_ = true;
    computing = true;
  };
  // Waits for a write's reply; true when it was applied.
  auto written = [&](const std::shared_ptr<InFlight>& w) {
    absl::MutexLock lock(&mu_);
    while (w->outcome == InFlight::Outcome::kPending) cv_.Wait(&mu_);
    return w->outcome == InFlight::Outcome::kWritten;
  };
  auto conflict = [&](int attempt) {
    {
      absl::MutexLock lock(&mu_);
      ++conflicts_;
    }
    // Another writer moved the journal: back off a little, growing, then recompute.
    if (attempt >= 2) absl::SleepFor(absl::Microseconds(100 * std::min(attempt, 50)));
  };
  auto fail_all = [&](const absl::Status& status) {
    release();
    for (Request* r : group) r->results = status;
  };
  for (int attempt = 0; attempt < std::max(options_.max_attempts, 1); ++attempt) {
    acquire();
    std::shared_ptr<InFlight> base;
    {
      absl::MutexLock lock(&mu_);
      base = inflight_;
    }
    const int64_t now = absl::ToUnixNanos(clock_->Now());
    auto snapshot = ReadSnapshot(group, now, options_.max_expiries_per_call > 0, base.get());
    if (!snapshot.ok()) return fail_all(snapshot.status());
    if (snapshot->stale) {
      if (base) written(base);  // the next read comes after it
      conflict(attempt);
      continue;
    }
    BatchApplier applier(&*snapshot, now, options_.max_expiries_per_call);
    const int64_t expired = applier.created();
    std::vector<std::vector<TransferResult>> results;
    results.reserve(group.size());
    for (Request* r : group) {
      results.push_back(r->transfers->empty() ? std::vector<TransferResult>()
                                              : applier.Apply(*r->transfers));
    }
    // These results stand on the write in flight: they hold only if it was applied.
    if (base && !written(base)) continue;
    std::shared_ptr<InFlight> mine;
    std::vector<std::string> args;
    if (applier.created() > 0) {
      mine = std::make_shared<InFlight>(applier.Finish());
      auto a = WriteArgs(mine->effects, *snapshot, &mine->index_tails);
      if (!a.ok()) return fail_all(a.status());
      args = std::move(*a);
      // The next group may be computed on top of this write while it is in flight.
      absl::MutexLock lock(&mu_);
      inflight_ = mine;
      computing_ = false;
      computing = false;
      cv_.SignalAll();
    } else {
      release();
    }
    if (mine) {
      auto reply = client_->Eval(
          apply_script_, {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("e"), Key("x")},
          args);
      const bool applied = reply.ok() && reply->IsInteger() && reply->integer() == 1;
      {
        absl::MutexLock lock(&mu_);
        mine->outcome = applied ? InFlight::Outcome::kWritten : InFlight::Outcome::kFailed;
        if (inflight_ == mine) inflight_.reset();
        cv_.SignalAll();
      }
      if (!reply.ok()) return fail_all(reply.status());
      if (!reply->IsInteger()) return fail_all(Unexpected(*reply));
      if (!applied) {
        conflict(attempt);
        continue;
      }
    }
    for (size_t k = 0; k < group.size(); ++k) {
      group[k]->results = std::move(results[k]);
      group[k]->expired = static_cast<int>(expired);
    }
    return;
  }
  fail_all(absl::UnavailableError(
      absl::StrCat("the ledger kept changing under ", options_.max_attempts,
                   " attempts to apply this batch; nothing was applied, retry")));
}

absl::StatusOr<RedisLedger::Snapshot> RedisLedger::ReadSnapshot(const std::vector<Request*>& group,
                                                                int64_t now_ns, bool with_expiries,
                                                                const InFlight* base) {
  // Each id and account once: a batch often names the same account many times.
  absl::flat_hash_set<absl::string_view> seen_ids, seen_accounts;
  std::vector<std::string> ids = {"HMGET", Key("t")};
  std::vector<std::string> accounts = {"HMGET", Key("a")};
  for (const Request* r : group) {
    for (const Transfer& t : *r->transfers) {
      for (const std::string* id : {&t.id, &t.pending_id}) {
        if (!id->empty() && seen_ids.insert(*id).second) ids.push_back(*id);
      }
      for (const std::string* a : {&t.debit_account_id, &t.credit_account_id}) {
        if (!a->empty() && seen_accounts.insert(*a).second) accounts.push_back(*a);
      }
    }
  }
  // First read, plain commands in one transaction: the head, which of the ids exist,
  // the accounts with their index tails, and the due expiries.
  std::vector<std::vector<std::string>> commands = {{"MULTI"}, {"GET", Key("head")}};
  const bool with_ids = ids.size() > 2;
  const bool with_accounts = accounts.size() > 2;
  if (with_ids) commands.push_back(std::move(ids));
  if (with_accounts) {
    std::vector<std::string> tails = accounts;
    tails[1] = Key("x");
    commands.push_back(std::move(accounts));
    commands.push_back(std::move(tails));
  }
  with_expiries = with_expiries && now_ns < INT64_MAX;
  const int max_expiries = options_.max_expiries_per_call;
  if (with_expiries) {
    commands.push_back({"ZRANGEBYLEX", Key("e"), "-", absl::StrCat("(", BigEndian64(now_ns + 1)),
                        "LIMIT", "0", absl::StrCat(max_expiries)});
  }
  commands.push_back({"EXEC"});
  // The heads the reads may see: with a write in flight, before or after it.
  const std::string before = base ? EncodeHead(base->effects.head_before) : "";
  const std::string after = base ? EncodeHead(base->effects.head_after) : "";
  for (int attempt = 0;; ++attempt) {
    auto replies = client_->Pipeline(commands);
    if (!replies.ok()) return replies.status();
    const redis::Reply& exec = replies->back();
    if (auto st = redis::ReplyStatus(exec); !st.ok()) return st;
    const size_t expected = 1 + with_ids + 2 * with_accounts + with_expiries;
    if (!exec.IsArray() || exec.elements().size() != expected) return Unexpected(exec);
    const auto& el = exec.elements();
    Snapshot s;
    if (base && el[0].str() != before && el[0].str() != after) {
      s.stale = true;
      return s;
    }
    auto head = DecodeHead(el[0].str());
    if (!head.ok()) return head.status();
    s.head = *head;
    size_t at = 1;
    // Ids that exist, and due expiries: read with their records, states and accounts.
    std::vector<std::string> lookup = {"1"};
    if (with_ids) {
      const std::vector<std::string>& sent = commands[2];
      const auto& seqs = el[at++].elements();
      if (seqs.size() != sent.size() - 2) return Unexpected(exec);
      for (size_t i = 0; i < seqs.size(); ++i) {
        if (!seqs[i].IsNil()) lookup.push_back(sent[i + 2]);
      }
    }
    if (with_accounts) {
      const std::vector<std::string>& sent = commands[2 + with_ids];
      const auto& records = el[at++].elements();
      const auto& tails = el[at++].elements();
      if (records.size() != sent.size() - 2 || tails.size() != records.size()) {
        return Unexpected(exec);
      }
      for (size_t i = 0; i < records.size(); ++i) {
        if (records[i].IsNil()) continue;
        const std::string& id = sent[i + 2];
        auto a = DecodeAccount(id, records[i].str());
        if (!a.ok()) return a.status();
        s.accounts.emplace(id, std::move(*a));
        s.index_tails.emplace(id, tails[i].str());
      }
    }
    std::vector<ExpiryKey> due;
    if (with_expiries) {
      for (const redis::Reply& m : el[at++].elements()) {
        if (m.str().size() <= 8) return Unexpected(m);
        due.emplace_back(ReadBigEndian64(m.str().data()), m.str().substr(8));
        if (!seen_ids.contains(due.back().second)) lookup.push_back(due.back().second);
      }
    }
    if (lookup.size() > 1) {
      auto found = client_->Eval(
          lookup_script_, {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("x")}, lookup);
      if (!found.ok()) return found.status();
      const auto& fl = found->elements();
      if (!found->IsArray() || fl.size() != 3 || !fl[1].IsArray() || !fl[2].IsArray() ||
          fl[1].elements().size() % 3 != 0 || fl[2].elements().size() % 3 != 0) {
        return Unexpected(*found);
      }
      if (base ? fl[0].str() != before && fl[0].str() != after : fl[0].str() != el[0].str()) {
        if (base) {
          s.stale = true;
          return s;
        }
        // Another writer moved the head between the two reads: read both again.
        {
          absl::MutexLock lock(&mu_);
          ++conflicts_;
        }
        if (attempt + 1 >= std::max(options_.max_attempts, 1)) {
          return absl::UnavailableError(
              absl::StrCat("the ledger kept changing under ", options_.max_attempts,
                           " attempts to read a consistent snapshot; nothing was applied, retry"));
        }
        continue;
      }
      const auto& tr = fl[1].elements();
      for (size_t i = 0; i < tr.size(); i += 3) {
        auto t = DecodeWithState(tr[i + 1].str(), tr[i + 2].str());
        if (!t.ok()) return t.status();
        s.transfers.emplace(tr[i].str(), std::move(*t));
      }
      const auto& ac = fl[2].elements();
      for (size_t i = 0; i < ac.size(); i += 3) {
        if (s.accounts.contains(ac[i].str())) continue;
        auto a = DecodeAccount(ac[i].str(), ac[i + 1].str());
        if (!a.ok()) return a.status();
        s.accounts.emplace(ac[i].str(), std::move(*a));
        s.index_tails.emplace(ac[i].str(), ac[i + 2].str());
      }
    }
    if (base) {
      // Lay the write in flight over what was read, before or after it landed: the
      // state once it is applied. It changes nothing else.
      const LedgerEffects& e = base->effects;
      s.head = e.head_after;
      for (const Account& a : e.accounts) s.accounts.insert_or_assign(a.id, a);
      for (const auto& [id, tail] : base->index_tails) s.index_tails.insert_or_assign(id, tail);
      for (auto& [id, t] : s.transfers) {
        if (auto r = base->resolved.find(id); r != base->resolved.end()) {
          t.pending_state = r->second;
        }
      }
      for (absl::string_view id : seen_ids) {
        if (auto t = base->Created(id)) s.transfers.insert_or_assign(std::string(id), *t);
      }
      if (with_expiries) {
        // A full read may have had more due expiries behind those the write removed.
        const bool full = static_cast<int>(due.size()) >= max_expiries;
        const absl::flat_hash_set<ExpiryKey> removed(e.expiries_removed.begin(),
                                                     e.expiries_removed.end());
        const size_t read = due.size();
        due.erase(std::remove_if(due.begin(), due.end(),
                                 [&](const ExpiryKey& k) { return removed.contains(k); }),
                  due.end());
        if (full && due.size() < read) {
          s.stale = true;
          return s;
        }
        for (const ExpiryKey& k : e.expiries_added) {
          if (k.first <= now_ns && !removed.contains(k)) due.push_back(k);
        }
        std::sort(due.begin(), due.end());
        due.erase(std::unique(due.begin(), due.end()), due.end());
        if (static_cast<int>(due.size()) > max_expiries) due.resize(std::max(max_expiries, 0));
        for (const ExpiryKey& k : due) {
          if (auto t = base->Created(k.second)) s.transfers.insert_or_assign(k.second, *t);
        }
      }
    }
    for (ExpiryKey& k : due) s.due.push_back(std::move(k.second));
    return s;
  }
}

absl::StatusOr<std::vector<std::string>> RedisLedger::WriteArgs(
    const LedgerEffects& e, const Snapshot& snapshot,
    absl::flat_hash_map<std::string, std::string>* tails) const {
  const size_t n = e.created.size();
  const int64_t per_entry = std::max(options_.max_entries_per_stream_entry, 1);
  // The account index: per account (in order of first appearance) its new sequences.
  std::vector<absl::string_view> order;
  absl::flat_hash_map<absl::string_view, std::vector<int64_t>> index;
  for (const Transfer& t : e.created) {
    for (const std::string* account : {&t.debit_account_id, &t.credit_account_id}) {
      auto [it, inserted] = index.try_emplace(*account);
      if (inserted) order.push_back(*account);
      it->second.push_back(t.journal_sequence);
    }
  }
  std::vector<std::string> args;
  args.reserve(16 + 4 * (n / per_entry + 1) + 2 * n + 2 * e.accounts.size() +
               2 * e.resolved.size() + 2 * order.size() + n / 4 + 2 * e.expiries_added.size() +
               e.expiries_removed.size());
  args.push_back(EncodeHead(e.head_before));
  args.push_back(EncodeHead(e.head_after));
  args.push_back(absl::StrCat(e.head_before.sequence + 1));
  // The journal: stream entries of up to per_entry consecutive entries each.
  args.push_back(absl::StrCat((static_cast<int64_t>(n) + per_entry - 1) / per_entry));
  for (size_t from = 0; from < n; from += per_entry) {
    const size_t to = std::min(n, from + per_entry);
    std::string offsets, records, hashes;
    size_t bytes = 0;
    for (size_t i = from; i < to; ++i) bytes += e.records[i].size();
    offsets.reserve(4 * (to - from));
    records.reserve(bytes);
    hashes.reserve(32 * (to - from));
    for (size_t i = from; i < to; ++i) {
      records += e.records[i];
      AppendBigEndian32(&offsets, static_cast<int32_t>(records.size()));
      hashes += absl::HexStringToBytes(e.hashes[i]);
    }
    args.push_back(absl::StrCat(e.created[from].journal_sequence));
    args.push_back(std::move(offsets));
    args.push_back(std::move(records));
    args.push_back(std::move(hashes));
  }
  args.push_back(absl::StrCat(2 * n));
  for (const Transfer& t : e.created) {
    args.push_back(t.id);
    args.push_back(absl::StrCat(t.journal_sequence));
  }
  args.push_back(absl::StrCat(2 * e.accounts.size()));
  for (const Account& a : e.accounts) {
    args.push_back(a.id);
    args.push_back(EncodeAccount(a));
  }
  args.push_back(absl::StrCat(2 * e.resolved.size()));
  for (const auto& [id, state] : e.resolved) {
    args.push_back(id);
    args.push_back(StateCode(state));
  }
  // The new sequences go after the tail the snapshot read (unchanged while the head
  // is): every kIndexBlock of them that fill up become a full block.
  const size_t index_at = args.size();
  args.emplace_back();
  for (absl::string_view account : order) {
    auto it = snapshot.index_tails.find(account);
    if (it == snapshot.index_tails.end()) {
      return absl::InternalError(absl::StrCat("the snapshot lacks the account index of ", account));
    }
    const std::string& tail = it->second;
    const int64_t count = tail.size() >= 8 ? ReadBigEndian64(tail.data()) : 0;
    if (count < 0 ||
        static_cast<int64_t>(tail.size()) != (tail.empty() ? 0 : 8 + 8 * (count % kIndexBlock))) {
      return absl::DataLossError(absl::StrCat("account index of ", account, " is malformed"));
    }
    const std::vector<int64_t>& seqs = index[account];
    int64_t block = count / kIndexBlock;
    std::string open = tail.empty() ? "" : tail.substr(8);
    for (int64_t seq : seqs) {
      AppendBigEndian64(&open, seq);
      if (open.size() == static_cast<size_t>(8 * kIndexBlock)) {
        args.push_back(absl::StrCat(account, "#", block++));
        args.push_back(std::move(open));
        open.clear();
      }
    }
    args.emplace_back(account);
    args.push_back(BigEndian64(count + static_cast<int64_t>(seqs.size())) + open);
    tails->insert_or_assign(std::string(account), args.back());
  }
  args[index_at] = absl::StrCat(args.size() - index_at - 1);
  // An expiry added and removed in the same write is never in the set: the script adds
  // before it removes, so both lists can be sent as they are.
  args.push_back(absl::StrCat(2 * e.expiries_added.size()));
  for (const ExpiryKey& k : e.expiries_added) {
    args.push_back("0");
    args.push_back(ExpiryMember(k));
  }
  args.push_back(absl::StrCat(e.expiries_removed.size()));
  for (const ExpiryKey& k : e.expiries_removed) args.push_back(ExpiryMember(k));
  return args;
}

absl::StatusOr<std::vector<std::optional<Transfer>>> RedisLedger::LookupTransfers(
    const std::vector<std::string>& ids) {
  if (auto s = CheckBatchSize("ids", ids.size(), true); !s.ok()) return s;
  std::vector<std::optional<Transfer>> out(ids.size());
  if (ids.empty()) return out;
  absl::flat_hash_set<absl::string_view> distinct;
  std::vector<std::string> args = {""};
  for (const std::string& id : ids) {
    if (distinct.insert(id).second) args.push_back(id);
  }
  auto reply = client_->Eval(lookup_script_,
                             {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("x")}, args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != 3) return Unexpected(*reply);
  absl::flat_hash_map<std::string, Transfer> found;
  const auto& tr = reply->elements()[1].elements();
  for (size_t i = 0; i + 2 < tr.size(); i += 3) {
    auto t = DecodeWithState(tr[i + 1].str(), tr[i + 2].str());
    if (!t.ok()) return t.status();
    found.emplace(tr[i].str(), std::move(*t));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto it = found.find(ids[i]);
    if (it != found.end()) out[i] = it->second;
  }
  return out;
}

absl::StatusOr<AccountTransfersPage> RedisLedger::ListAccountTransfers(
    const AccountTransfersQuery& q) {
  if (auto s = CheckAccountTransfersQuery(q); !s.ok()) return s;
  const int limit = *CheckPageSize(q.page_size);
  auto reply =
      client_->Eval(list_script_, {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("x")},
                    {q.account_id, q.start_ns == 0 ? "" : BigEndian64(q.start_ns),
                     q.end_ns == 0 ? "" : BigEndian64(q.end_ns), absl::StrCat(limit + 1)});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) {
    return absl::NotFoundError(absl::StrCat("account ", q.account_id, " not found"));
  }
  if (!reply->IsArray() || reply->elements().size() % 2 != 0) return Unexpected(*reply);
  AccountTransfersPage page;
  const auto& el = reply->elements();
  for (size_t i = 0; i < el.size(); i += 2) {
    if (static_cast<int>(page.transfers.size()) == limit) {
      page.next_start_ns = page.transfers.back().timestamp_ns + 1;
      break;
    }
    auto t = DecodeWithState(el[i].str(), el[i + 1].str());
    if (!t.ok()) return t.status();
    page.transfers.push_back(std::move(*t));
  }
  return page;
}

absl::StatusOr<std::vector<JournalEntry>> RedisLedger::ReadJournal(int64_t after_sequence,
                                                                   int page_size) {
  auto limit = CheckPageSize(page_size);
  if (!limit.ok()) return limit.status();
  if (after_sequence < 0) return InvalidField("after_sequence", "must not be negative");
  // From the stream entry holding after_sequence (its hash is the first entry's
  // prev_hash) on.
  auto reply = client_->Eval(journal_script_, {Key("j")},
                             {after_sequence > 0 ? "at" : "after", absl::StrCat(after_sequence),
                              absl::StrCat(*limit), "+"});
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray()) return Unexpected(*reply);
  std::string prev = after_sequence == 0 ? std::string(kZeroHash) : "";
  std::vector<JournalEntry> out;
  for (const redis::Reply& item : reply->elements()) {
    StreamEntry s;
    if (!ParseStreamEntry(item, &s)) {
      return absl::DataLossError(absl::StrCat("journal stream entry ", s.id, " is malformed"));
    }
    for (int64_t k = 0; k < s.n && static_cast<int>(out.size()) < *limit; ++k) {
      const int64_t seq = s.first + k;
      if (seq < after_sequence) continue;
      if (seq == after_sequence) {
        prev = s.HashHex(k);
        continue;
      }
      if (prev.empty()) {
        return absl::DataLossError(absl::StrCat("journal entry ", after_sequence, " is missing"));
      }
      JournalEntry e;
      e.sequence = seq;
      auto t = DecodeTransferRecord(s.Record(k));
      if (!t.ok()) return t.status();
      e.transfer = std::move(*t);
      e.prev_hash = std::move(prev);
      e.hash = s.HashHex(k);
      prev = e.hash;
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<JournalHead> RedisLedger::Head() {
  auto reply = client_->Command({"GET", Key("head")});
  if (!reply.ok()) return reply.status();
  return DecodeHead(reply->str());
}

absl::StatusOr<VerifyReport> RedisLedger::Verify() {
  // The head and every account at one instant; the journal up to that head is
  // append-only, so it can be read afterwards page by page.
  auto snap = client_->Pipeline({{"MULTI"}, {"GET", Key("head")}, {"HGETALL", Key("a")}, {"EXEC"}});
  if (!snap.ok()) return snap.status();
  const redis::Reply& exec = snap->back();
  if (auto s = redis::ReplyStatus(exec); !s.ok()) return s;
  if (!exec.IsArray() || exec.elements().size() != 2) return Unexpected(exec);
  auto head = DecodeHead(exec.elements()[0].str());
  if (!head.ok()) return head.status();
  std::map<std::string, std::string> accounts;
  const auto& flat = exec.elements()[1].elements();
  for (size_t i = 0; i + 1 < flat.size(); i += 2) accounts[flat[i].str()] = flat[i + 1].str();

  JournalVerifier verifier;
  int64_t next = 1;
  std::string cursor = "0";  // the last stream id read
  const std::string last = absl::StrCat(head->sequence);
  const std::string page_size = absl::StrCat(std::max(options_.verify_page, 1));
  while (verifier.ok() && next <= head->sequence) {
    auto page = client_->Eval(journal_script_, {Key("j")}, {"after", cursor, page_size, last});
    if (!page.ok()) return page.status();
    if (!page->IsArray()) return Unexpected(*page);
    if (page->elements().empty()) {
      verifier.Fail(next,
                    absl::StrCat("entry ", next, " missing: the journal ends before the head"));
      break;
    }
    std::vector<std::string> hmget = {"HMGET", Key("t")};
    std::vector<int64_t> seqs;
    for (const redis::Reply& item : page->elements()) {
      StreamEntry s;
      if (!ParseStreamEntry(item, &s)) {
        verifier.Fail(next, absl::StrCat("journal stream entry ", s.id, " after entry ", next - 1,
                                         " is malformed"));
        break;
      }
      for (int64_t k = 0; k < s.n && s.first + k <= head->sequence; ++k) {
        const absl::string_view record = s.Record(k);
        if (!verifier.AddEntry(s.first + k, record, s.HashHex(k))) break;
        hmget.emplace_back(RecordId(record));
        seqs.push_back(s.first + k);
        next = s.first + k + 1;
      }
      if (!verifier.ok()) break;
      cursor = s.id;
    }
    if (!verifier.ok() || seqs.empty()) break;
    // Every entry's transfer id must point back at it.
    auto index = client_->Command(hmget);
    if (!index.ok()) return index.status();
    for (size_t i = 0; i < seqs.size(); ++i) {
      const std::string& got = index->elements().size() > i ? index->elements()[i].str() : "";
      if (got != absl::StrCat(seqs[i])) {
        verifier.Fail(seqs[i], absl::StrCat("transfer ", hmget[i + 2], " of entry ", seqs[i],
                                            " is indexed at sequence '", got, "'"));
        break;
      }
    }
  }
  verifier.CheckHead(*head);
  for (const auto& [id, record] : accounts) {
    auto a = DecodeAccount(id, record);
    if (!a.ok()) {
      verifier.Fail(0, std::string(a.status().message()));
      break;
    }
    if (!verifier.CheckAccount(*a)) break;
  }
  return verifier.Finish();
}

}  // namespace iplus::funds
