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

// Functions the read scripts share. record_of: a journal entry's record (KEYS[3] is the
// journal). hmget: HMGET of a list in chunks (Lua's unpack has a small limit), aligned
// with the list. The strings of a record start at byte kRecordFixedSize + 1 = 43
// (codec.h); u32 reads a length there.
constexpr char kLuaCommon[] = R"lua(
local function u32(s, p)
  local a, b, c, d = string.byte(s, p, p + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function record_of(seq)
  local e = redis.call('XRANGE', KEYS[3], seq, seq)
  if #e == 0 then error('funds ledger: no journal entry ' .. seq) end
  return e[1][2][2]
end
local function hmget(key, list)
  local out = {}
  for s = 1, #list, 500 do
    local r = redis.call('HMGET', key, unpack(list, s, math.min(s + 499, #list)))
    for k = 1, #r do out[s + k - 1] = r[k] end
  end
  return out
end
)lua";

// The snapshot a batch is computed on.
// KEYS: head, t, j, a, p, e.
// ARGV: expiry bound (8-byte big-endian now+1, or '' for none), max expiries, the number
//       n of transfer ids, the n ids, then account ids.
// Returns {head, {id, record, state, ...}, {account id, record, ...}, {due pending ids}}
// with the accounts of the given ids and of every transfer returned.
constexpr char kSnapshotLua[] = R"lua(
local want, accounts = {}, {}
local function want_account(id)
  if id ~= '' and not want[id] then
    want[id] = true
    accounts[#accounts + 1] = id
  end
end
local seen, tr = {}, {}
local function fetch(ids)
  local seqs = hmget(KEYS[2], ids)
  for k = 1, #ids do
    local id, seq = ids[k], seqs[k]
    if seq and not seen[id] then
      seen[id] = true
      local rec = record_of(seq)
      tr[#tr + 1] = id
      tr[#tr + 1] = rec
      tr[#tr + 1] = redis.call('HGET', KEYS[5], id) or ''
      local p = 43
      p = p + 4 + u32(rec, p)
      local n = u32(rec, p)
      want_account(string.sub(rec, p + 4, p + 3 + n))
      p = p + 4 + n
      n = u32(rec, p)
      want_account(string.sub(rec, p + 4, p + 3 + n))
    end
  end
end
local n = tonumber(ARGV[3])
local ids = {}
for i = 1, n do ids[i] = ARGV[3 + i] end
fetch(ids)
for i = 4 + n, #ARGV do want_account(ARGV[i]) end
local due = {}
if ARGV[1] ~= '' then
  local m = redis.call('ZRANGEBYLEX', KEYS[6], '-', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
  for i = 1, #m do due[i] = string.sub(m[i], 9) end
  fetch(due)
end
local ac = {}
local records = hmget(KEYS[4], accounts)
for k = 1, #accounts do
  if records[k] then
    ac[#ac + 1] = accounts[k]
    ac[#ac + 1] = records[k]
  end
end
return {redis.call('GET', KEYS[1]) or '', tr, ac, due}
)lua";

// Applies a batch's effects if the head is still the one the snapshot had.
// KEYS: head, t, j, a, p, e, and the account index key prefix (P x:), whose keys share
//       the others' hash tag.
// ARGV: expected head, new head, first sequence, then
//   entries:        n, then n x (transfer id, record, raw hash)
//   accounts:       n, then n x (account id, record)
//   pending states: n, then n x (pending id, state)
//   account index:  n accounts, then per account (account id, m, m sequences as 8 bytes)
//   expiries added: n, then n members;  expiries removed: n, then n members
// Returns 1 when written, 0 when the head had moved (nothing written).
// Everything that could fail is checked before the first write: a Redis script is not
// rolled back when a command fails half-way. The "#!lua" line makes Redis refuse the
// whole script up front when it is out of memory, rather than fail at the first write.
constexpr char kApplyLua[] = R"lua(#!lua
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local seq = tonumber(ARGV[3])
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local tail = 0
if #last > 0 then tail = tonumber(string.match(last[1][1], '^(%d+)')) end
if tail + 1 ~= seq then
  return redis.error_reply('funds ledger: the journal ends at ' .. tail .. ' but the head is at ' ..
                           (seq - 1))
end
local i = 4
local function flush(cmd, key, buf)
  if #buf > 0 then redis.call(cmd, key, unpack(buf)) end
  return {}
end
local n = tonumber(ARGV[i])
i = i + 1
local buf = {}
for k = 0, n - 1 do
  local s = string.format('%d', seq + k)
  redis.call('XADD', KEYS[3], s .. '-0', 'r', ARGV[i + 1], 'h', ARGV[i + 2])
  buf[#buf + 1] = ARGV[i]
  buf[#buf + 1] = s
  if #buf >= 1000 then buf = flush('HSET', KEYS[2], buf) end
  i = i + 3
end
flush('HSET', KEYS[2], buf)
for _, key in ipairs({KEYS[4], KEYS[5]}) do
  n = tonumber(ARGV[i])
  i = i + 1
  buf = {}
  for k = 1, n do
    buf[#buf + 1] = ARGV[i]
    buf[#buf + 1] = ARGV[i + 1]
    i = i + 2
    if #buf >= 1000 then buf = flush('HSET', key, buf) end
  end
  flush('HSET', key, buf)
end
n = tonumber(ARGV[i])
i = i + 1
for k = 1, n do
  local key = KEYS[7] .. ARGV[i]
  local m = tonumber(ARGV[i + 1])
  i = i + 2
  buf = {}
  for x = 1, m do
    buf[#buf + 1] = ARGV[i]
    i = i + 1
    if #buf >= 1000 then buf = flush('RPUSH', key, buf) end
  end
  flush('RPUSH', key, buf)
end
n = tonumber(ARGV[i])
i = i + 1
buf = {}
for k = 1, n do
  buf[#buf + 1] = 0
  buf[#buf + 1] = ARGV[i]
  i = i + 1
  if #buf >= 1000 then buf = flush('ZADD', KEYS[6], buf) end
end
flush('ZADD', KEYS[6], buf)
n = tonumber(ARGV[i])
i = i + 1
buf = {}
for k = 1, n do
  buf[#buf + 1] = ARGV[i]
  i = i + 1
  if #buf >= 1000 then buf = flush('ZREM', KEYS[6], buf) end
end
flush('ZREM', KEYS[6], buf)
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

// One page of an account's transfers. KEYS: head, t, j, a, p, x:<account> (head and t
// unused). ARGV: account id, start and end (8-byte big-endian timestamps, '' for no
// bound; end exclusive), limit. The account's list holds its transfers' sequences in
// journal order, which is also time order, so the start is found by binary search;
// timestamps are compared as bytes (Lua's numbers cannot hold them exactly).
// Returns nil for an unknown account, else {record, state, ...}.
constexpr char kListLua[] = R"lua(
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then return false end
local key = KEYS[6]
local len = redis.call('LLEN', key)
local function record_at(member)
  local s = 0
  for k = 1, 8 do s = s * 256 + string.byte(member, k) end
  return record_of(string.format('%d', s))
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
    if before(record_at(redis.call('LINDEX', key, mid)), ARGV[2]) then
      lo = mid + 1
    else
      hi = mid
    end
  end
end
local want = tonumber(ARGV[4])
local out = {}
if lo >= len then return out end
for _, m in ipairs(redis.call('LRANGE', key, lo, math.min(lo + want, len) - 1)) do
  local rec = record_at(m)
  if ARGV[3] ~= '' and not before(rec, ARGV[3]) then break end
  out[#out + 1] = rec
  out[#out + 1] = redis.call('HGET', KEYS[5], string.sub(rec, 47, 46 + u32(rec, 43))) or ''
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

// "123-0" -> 123.
bool ParseStreamId(const std::string& id, int64_t* seq) {
  const size_t dash = id.find('-');
  return absl::SimpleAtoi(absl::string_view(id).substr(0, dash), seq);
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
  absl::flat_hash_map<std::string, Transfer> transfers;
  std::vector<std::string> due;
  JournalHead head;
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
      snapshot_script_(absl::StrCat(kReadOnly, kLuaCommon, kSnapshotLua)),
      apply_script_(kApplyLua),
      accounts_script_(kAccountsLua),
      list_script_(absl::StrCat(kReadOnly, kLuaCommon, kListLua)) {}

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
  while (!request->done) {
    if (writing_) {
      cv_.Wait(&mu_);
      continue;
    }
    // Lead: take what is queued, in order, up to the write's size.
    writing_ = true;
    std::vector<Request*> group;
    size_t total = 0;
    while (!queue_.empty()) {
      const size_t n = queue_.front()->transfers->size();
      if (!group.empty() && total + n > static_cast<size_t>(options_.max_transfers_per_write)) {
        break;
      }
      group.push_back(queue_.front());
      queue_.pop_front();
      total += n;
    }
    mu_.Unlock();
    WriteGroup(group);
    mu_.Lock();
    for (Request* r : group) r->done = true;
    writing_ = false;
    cv_.SignalAll();
  }
  return absl::OkStatus();
}

void RedisLedger::WriteGroup(const std::vector<Request*>& group) {
  auto fail_all = [&](const absl::Status& status) {
    for (Request* r : group) r->results = status;
  };
  for (int attempt = 0; attempt < std::max(options_.max_attempts, 1); ++attempt) {
    const int64_t now = absl::ToUnixNanos(clock_->Now());
    auto snapshot = ReadSnapshot(group, now, options_.max_expiries_per_call > 0);
    if (!snapshot.ok()) return fail_all(snapshot.status());
    BatchApplier applier(&*snapshot, now, options_.max_expiries_per_call);
    const int64_t expired = applier.created();
    std::vector<std::vector<TransferResult>> results;
    results.reserve(group.size());
    for (Request* r : group) {
      results.push_back(r->transfers->empty() ? std::vector<TransferResult>()
                                              : applier.Apply(*r->transfers));
    }
    bool written = true;
    if (applier.created() > 0) {
      auto w = WriteEffects(applier.Finish());
      if (!w.ok()) return fail_all(w.status());
      written = *w;
    }
    if (written) {
      for (size_t k = 0; k < group.size(); ++k) {
        group[k]->results = std::move(results[k]);
        group[k]->expired = static_cast<int>(expired);
      }
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      ++conflicts_;
    }
    // Another process moved the journal: back off a little, growing, then recompute.
    if (attempt >= 2) absl::SleepFor(absl::Microseconds(100 * std::min(attempt, 50)));
  }
  fail_all(absl::UnavailableError(
      absl::StrCat("the ledger kept changing under ", options_.max_attempts,
                   " attempts to apply this batch; nothing was applied, retry")));
}

absl::StatusOr<RedisLedger::Snapshot> RedisLedger::ReadSnapshot(const std::vector<Request*>& group,
                                                                int64_t now_ns,
                                                                bool with_expiries) {
  std::vector<std::string> ids;
  std::vector<std::string> accounts;
  for (const Request* r : group) {
    for (const Transfer& t : *r->transfers) {
      ids.push_back(t.id);
      if (!t.pending_id.empty()) ids.push_back(t.pending_id);
      if (!t.debit_account_id.empty()) accounts.push_back(t.debit_account_id);
      if (!t.credit_account_id.empty()) accounts.push_back(t.credit_account_id);
    }
  }
  std::vector<std::string> args;
  args.reserve(3 + ids.size() + accounts.size());
  args.push_back(with_expiries && now_ns < INT64_MAX ? BigEndian64(now_ns + 1) : "");
  args.push_back(absl::StrCat(options_.max_expiries_per_call));
  args.push_back(absl::StrCat(ids.size()));
  args.insert(args.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
  args.insert(args.end(), std::make_move_iterator(accounts.begin()),
              std::make_move_iterator(accounts.end()));
  auto reply = client_->Eval(snapshot_script_,
                             {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("e")}, args);
  if (!reply.ok()) return reply.status();
  const auto& el = reply->elements();
  if (!reply->IsArray() || el.size() != 4 || !el[1].IsArray() || !el[2].IsArray() ||
      !el[3].IsArray() || el[1].elements().size() % 3 != 0 || el[2].elements().size() % 2 != 0) {
    return Unexpected(*reply);
  }
  Snapshot s;
  auto head = DecodeHead(el[0].str());
  if (!head.ok()) return head.status();
  s.head = *head;
  const auto& tr = el[1].elements();
  for (size_t i = 0; i < tr.size(); i += 3) {
    auto t = DecodeWithState(tr[i + 1].str(), tr[i + 2].str());
    if (!t.ok()) return t.status();
    s.transfers.emplace(tr[i].str(), std::move(*t));
  }
  const auto& ac = el[2].elements();
  for (size_t i = 0; i < ac.size(); i += 2) {
    auto a = DecodeAccount(ac[i].str(), ac[i + 1].str());
    if (!a.ok()) return a.status();
    s.accounts.emplace(ac[i].str(), std::move(*a));
  }
  for (const redis::Reply& d : el[3].elements()) s.due.push_back(d.str());
  return s;
}

absl::StatusOr<bool> RedisLedger::WriteEffects(const LedgerEffects& e) {
  std::vector<std::string> args;
  args.reserve(16 + 3 * e.created.size() + 2 * e.accounts.size() + 2 * e.resolved.size() +
               4 * e.created.size() + e.expiries_added.size() + e.expiries_removed.size());
  args.push_back(EncodeHead(e.head_before));
  args.push_back(EncodeHead(e.head_after));
  args.push_back(absl::StrCat(e.head_before.sequence + 1));
  args.push_back(absl::StrCat(e.created.size()));
  for (size_t i = 0; i < e.created.size(); ++i) {
    args.push_back(e.created[i].id);
    args.push_back(e.records[i]);
    args.push_back(absl::HexStringToBytes(e.hashes[i]));
  }
  args.push_back(absl::StrCat(e.accounts.size()));
  for (const Account& a : e.accounts) {
    args.push_back(a.id);
    args.push_back(EncodeAccount(a));
  }
  args.push_back(absl::StrCat(e.resolved.size()));
  for (const auto& [id, state] : e.resolved) {
    args.push_back(id);
    args.push_back(StateCode(state));
  }
  // The account index: per account (in order of first appearance) its new sequences.
  std::vector<std::string> order;
  absl::flat_hash_map<std::string, std::vector<int64_t>> index;
  for (const Transfer& t : e.created) {
    for (const std::string* account : {&t.debit_account_id, &t.credit_account_id}) {
      auto [it, inserted] = index.try_emplace(*account);
      if (inserted) order.push_back(*account);
      it->second.push_back(t.journal_sequence);
    }
  }
  args.push_back(absl::StrCat(order.size()));
  for (const std::string& account : order) {
    const std::vector<int64_t>& seqs = index[account];
    args.push_back(account);
    args.push_back(absl::StrCat(seqs.size()));
    for (int64_t seq : seqs) args.push_back(BigEndian64(seq));
  }
  args.push_back(absl::StrCat(e.expiries_added.size()));
  for (const ExpiryKey& k : e.expiries_added) args.push_back(ExpiryMember(k));
  // An expiry added and removed in the same write is never in the set: the script adds
  // before it removes, so both lists can be sent as they are.
  args.push_back(absl::StrCat(e.expiries_removed.size()));
  for (const ExpiryKey& k : e.expiries_removed) args.push_back(ExpiryMember(k));
  auto reply = client_->Eval(
      apply_script_, {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("e"), Key("x:")},
      args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsInteger()) return Unexpected(*reply);
  return reply->integer() == 1;
}

absl::StatusOr<std::vector<std::optional<Transfer>>> RedisLedger::LookupTransfers(
    const std::vector<std::string>& ids) {
  if (auto s = CheckBatchSize("ids", ids.size(), true); !s.ok()) return s;
  std::vector<std::optional<Transfer>> out(ids.size());
  if (ids.empty()) return out;
  std::vector<std::string> args = {"", "0", absl::StrCat(ids.size())};
  args.insert(args.end(), ids.begin(), ids.end());
  auto reply = client_->Eval(snapshot_script_,
                             {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key("e")}, args);
  if (!reply.ok()) return reply.status();
  if (!reply->IsArray() || reply->elements().size() != 4) return Unexpected(*reply);
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
  auto reply = client_->Eval(
      list_script_,
      {Key("head"), Key("t"), Key("j"), Key("a"), Key("p"), Key(absl::StrCat("x:", q.account_id))},
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
  std::vector<std::vector<std::string>> commands = {
      {"XRANGE", Key("j"), absl::StrCat(after_sequence + 1), "+", "COUNT", absl::StrCat(*limit)}};
  if (after_sequence > 0) {
    commands.push_back(
        {"XRANGE", Key("j"), absl::StrCat(after_sequence), absl::StrCat(after_sequence)});
  }
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (auto s = redis::ReplyStatus(r); !s.ok()) return s;
  }
  std::string prev(kZeroHash);
  if (after_sequence > 0) {
    const auto& e = (*replies)[1].elements();
    if (e.size() != 1 || e[0].elements().size() != 2 || e[0].elements()[1].elements().size() != 4) {
      return absl::DataLossError(absl::StrCat("journal entry ", after_sequence, " is missing"));
    }
    prev = absl::BytesToHexString(e[0].elements()[1].elements()[3].str());
  }
  std::vector<JournalEntry> out;
  for (const redis::Reply& entry : (*replies)[0].elements()) {
    const auto& parts = entry.elements();
    if (parts.size() != 2 || parts[1].elements().size() != 4) return Unexpected(entry);
    JournalEntry e;
    if (!ParseStreamId(parts[0].str(), &e.sequence)) return Unexpected(entry);
    auto t = DecodeTransferRecord(parts[1].elements()[1].str());
    if (!t.ok()) return t.status();
    e.transfer = std::move(*t);
    e.prev_hash = prev;
    e.hash = absl::BytesToHexString(parts[1].elements()[3].str());
    prev = e.hash;
    out.push_back(std::move(e));
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
  while (verifier.ok() && next <= head->sequence) {
    auto page =
        client_->Command({"XRANGE", Key("j"), absl::StrCat(next), absl::StrCat(head->sequence),
                          "COUNT", absl::StrCat(std::max(options_.verify_page, 1))});
    if (!page.ok()) return page.status();
    if (page->elements().empty()) {
      verifier.Fail(next,
                    absl::StrCat("entry ", next, " missing: the journal ends before the head"));
      break;
    }
    std::vector<std::string> hmget = {"HMGET", Key("t")};
    std::vector<int64_t> seqs;
    for (const redis::Reply& entry : page->elements()) {
      const auto& parts = entry.elements();
      int64_t seq = 0;
      if (parts.size() != 2 || !ParseStreamId(parts[0].str(), &seq) ||
          parts[1].elements().size() != 4 || parts[1].elements()[0].str() != "r" ||
          parts[1].elements()[2].str() != "h") {
        verifier.Fail(next, absl::StrCat("entry after ", next - 1, " is malformed"));
        break;
      }
      const std::string& record = parts[1].elements()[1].str();
      if (!verifier.AddEntry(seq, record, absl::BytesToHexString(parts[1].elements()[3].str()))) {
        break;
      }
      auto t = DecodeTransferRecord(record);
      hmget.push_back(t->id);
      seqs.push_back(seq);
      next = seq + 1;
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
