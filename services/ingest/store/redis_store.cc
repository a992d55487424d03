#include "services/ingest/store/redis_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/versioned_stream.h"
#include "services/ingest/convert/convert.h"

namespace iplus::ingest {
namespace {

// KEYS: coverage, data versions, version, changes, then per write: report bucket,
//       series bucket, column bucket.
// ARGV: time ms, max changes, number of data keys, the data keys ("<ind>|<period>"), the
//       history key prefix of each data key, then per write: report key, fingerprint,
//       code, expected series, new series, value, replaced entry, first value ("1"/"0"),
//       data key index (1-based).
// The history list of a write, "<history prefix of its data key><code>", is touched only
// by revisions; it shares the hash tag of every other key here.
// The change entry of a data key lists the codes and values this call set ('e' and 'x',
// comma-joined, in write order) when there are at most 64 of them (kMaxListedChangeValues).
// Returns per write: 0 applied, 1 duplicate report, 2 report id reused, 3 conflict.
constexpr char kApplyLua[] = R"lua(
local n_dk = tonumber(ARGV[3])
local dks, hist, covered, touched, listed = {}, {}, {}, {}, {}
for i = 1, n_dk do
  dks[i] = ARGV[3 + i]
  hist[i] = ARGV[3 + n_dk + i]
end
local out = {}
local base = 3 + 2 * n_dk
local n = (#ARGV - base) / 9
for i = 0, n - 1 do
  local a = base + i * 9
  local k = 4 + i * 3
  local seen = redis.call('HGET', KEYS[k + 1], ARGV[a + 1])
  if seen then
    if seen == ARGV[a + 2] then out[i + 1] = 1 else out[i + 1] = 2 end
  else
    local code = ARGV[a + 3]
    local cur = redis.call('HGET', KEYS[k + 2], code) or ''
    if cur ~= ARGV[a + 4] then
      out[i + 1] = 3
    else
      redis.call('HSET', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
      if ARGV[a + 5] ~= '' then
        local d = tonumber(ARGV[a + 9])
        redis.call('HSET', KEYS[k + 2], code, ARGV[a + 5])
        redis.call('HSET', KEYS[k + 3], code, ARGV[a + 6])
        if ARGV[a + 7] ~= '' then redis.call('RPUSH', hist[d] .. code, ARGV[a + 7]) end
        if ARGV[a + 8] == '1' then covered[d] = (covered[d] or 0) + 1 end
        touched[d] = true
        local l = listed[d]
        if l == nil then
          l = {n = 0, c = {}, x = {}}
          listed[d] = l
        end
        l.n = l.n + 1
        if l.n <= 64 then
          l.c[l.n] = code
          l.x[l.n] = ARGV[a + 6]
        end
      end
      out[i + 1] = 0
    end
  end
end
for d = 1, n_dk do
  if covered[d] then redis.call('HINCRBY', KEYS[1], dks[d], covered[d]) end
  if touched[d] then
    local dv = redis.call('HINCRBY', KEYS[2], dks[d], 1)
    local v = redis.call('INCR', KEYS[3])
    local l = listed[d]
    if l.n <= 64 then
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], v .. '-0', 'k', dks[d], 'd', dv, 'ts',
                 ARGV[1], 'e', table.concat(l.c, ','), 'x', table.concat(l.x, ','))
    else
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[2], v .. '-0', 'k', dks[d], 'd', dv, 'ts',
                 ARGV[1])
    end
  end
end
return out
)lua";

// KEYS: name → id hash, id → name hash, counter. ARGV: name. Returns the id.
constexpr char kReporterLua[] = R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return tonumber(id) end
id = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('HSET', KEYS[2], id, ARGV[1])
return id
)lua";

absl::Status Unexpected(const redis::Reply& reply) {
  return absl::InternalError(absl::StrCat("unexpected reply from Redis: ", reply.DebugString()));
}

uint64_t Bucket(absl::string_view s, int buckets) {
  return Hash64(s) % static_cast<uint64_t>(buckets);
}

std::string DataKeyName(const DataKey& k) { return absl::StrCat(k.indicator, "|", k.period); }

}  // namespace

RedisStore::RedisStore(redis::Client* client, RedisStoreOptions options)
    : client_(client),
      options_(std::move(options)),
      prefix_(absl::StrCat(
          "iplus:{ingest:", options_.region_prefix.empty() ? "all" : options_.region_prefix, "}:")),
      apply_script_(kApplyLua),
      reporter_script_(kReporterLua) {}

std::string RedisStore::Key(absl::string_view suffix) const {
  return absl::StrCat(prefix_, suffix);
}

std::string RedisStore::SeriesKeyName(const SeriesKey& k) const {
  return Key(absl::StrCat("s:", k.indicator, ":", Bucket(k.code, options_.series_buckets)));
}

std::string RedisStore::ColumnKeyName(const std::string& indicator, const std::string& period,
                                      const std::string& code) const {
  return Key(
      absl::StrCat("c:", indicator, ":", period, ":", Bucket(code, options_.column_buckets)));
}

std::string RedisStore::ReportKeyName(const std::string& report_key) const {
  return Key(absl::StrCat("r:", Bucket(report_key, options_.report_buckets)));
}

std::string RedisStore::HistoryKeyName(const SeriesKey& k, const std::string& period) const {
  return Key(absl::StrCat("h:", k.indicator, ":", period, ":", k.code));
}

absl::Status RedisStore::Init() {
  std::string want = absl::StrCat(options_.series_buckets, "/", options_.column_buckets, "/",
                                  options_.report_buckets);
  auto set = client_->Command({"HSETNX", Key("meta"), "buckets", want});
  if (!set.ok()) return set.status();
  auto got = client_->Command({"HGET", Key("meta"), "buckets"});
  if (!got.ok()) return got.status();
  if (got->IsString() && got->str() != want) {
    return absl::FailedPreconditionError(
        absl::StrCat("the data under ", prefix_, " was written with buckets ", got->str(),
                     " (series/column/report); this process is configured with ", want));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Indicator>> RedisStore::ListIndicators() {
  auto reply = client_->Command({"HGETALL", Key("ind")});
  if (!reply.ok()) return reply.status();
  std::vector<Indicator> out;
  const auto& el = reply->elements();
  for (size_t i = 0; i + 1 < el.size(); i += 2) {
    v1::Indicator proto;
    if (!proto.ParseFromString(el[i + 1].str())) {
      return absl::DataLossError(absl::StrCat("stored indicator ", el[i].str(), " does not parse"));
    }
    out.push_back(FromProto(proto));
  }
  std::sort(out.begin(), out.end(),
            [](const Indicator& a, const Indicator& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<std::pair<Indicator, bool>> RedisStore::CreateIndicator(const Indicator& indicator) {
  v1::Indicator proto;
  ToProto(indicator, &proto);
  auto replies = client_->Pipeline({{"HSETNX", Key("ind"), indicator.id, proto.SerializeAsString()},
                                    {"HGET", Key("ind"), indicator.id}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[0].IsError()) return absl::InternalError((*replies)[0].str());
  bool created = (*replies)[0].integer() == 1;
  v1::Indicator stored;
  if (!stored.ParseFromString((*replies)[1].str())) {
    return absl::DataLossError(absl::StrCat("stored indicator ", indicator.id, " does not parse"));
  }
  return std::make_pair(FromProto(stored), created);
}

absl::StatusOr<Indicator> RedisStore::ReplaceIndicator(const Indicator& indicator) {
  v1::Indicator proto;
  ToProto(indicator, &proto);
  auto reply = client_->Command({"HSET", Key("ind"), indicator.id, proto.SerializeAsString()});
  if (!reply.ok()) return reply.status();
  return indicator;
}

absl::StatusOr<int> RedisStore::ReporterId(const std::string& reporter) {
  auto reply =
      client_->Eval(reporter_script_, {Key("rep"), Key("repn"), Key("repseq")}, {reporter});
  if (!reply.ok()) return reply.status();
  if (!reply->IsInteger()) return Unexpected(*reply);
  absl::MutexLock lock(&mu_);
  reporter_names_[static_cast<int>(reply->integer())] = reporter;
  return static_cast<int>(reply->integer());
}

absl::StatusOr<std::string> RedisStore::ReporterName(int id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = reporter_names_.find(id);
    if (it != reporter_names_.end()) return it->second;
  }
  auto reply = client_->Command({"HGET", Key("repn"), absl::StrCat(id)});
  if (!reply.ok()) return reply.status();
  if (!reply->IsString()) return absl::NotFoundError(absl::StrCat("reporter ", id));
  absl::MutexLock lock(&mu_);
  reporter_names_[id] = reply->str();
  return reply->str();
}

absl::StatusOr<std::vector<std::string>> RedisStore::ReadSeries(
    const std::vector<SeriesKey>& keys) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size());
  for (const auto& k : keys) commands.push_back({"HGET", SeriesKeyName(k), k.code});
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& r : *replies) {
    if (r.IsError()) return absl::InternalError(r.str());
    out.push_back(r.IsString() ? r.str() : "");
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisStore::ReadReports(
    const std::vector<std::string>& report_keys) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(report_keys.size());
  for (const auto& k : report_keys) commands.push_back({"HGET", ReportKeyName(k), k});
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<std::string> out;
  out.reserve(report_keys.size());
  for (const auto& r : *replies) {
    if (r.IsError()) return absl::InternalError(r.str());
    out.push_back(r.IsString() ? r.str() : "");
  }
  return out;
}

absl::StatusOr<std::vector<WriteStatus>> RedisStore::Apply(
    const std::vector<ObservationWrite>& writes, absl::Time time) {
  std::vector<WriteStatus> out;
  out.reserve(writes.size());
  std::string time_ms = absl::StrCat(absl::ToUnixMillis(time));
  std::string max_changes = absl::StrCat(options_.max_changes);
  for (size_t start = 0; start < writes.size(); start += options_.writes_per_script) {
    size_t end = std::min(writes.size(), start + options_.writes_per_script);
    std::map<std::string, int> dk_index;
    std::vector<std::string> dk_names;
    for (size_t i = start; i < end; ++i) {
      std::string dk = DataKeyName(DataKey{writes[i].series.indicator, writes[i].period});
      if (dk_index.emplace(dk, static_cast<int>(dk_names.size()) + 1).second) {
        dk_names.push_back(dk);
      }
    }
    std::vector<std::string> keys = {Key("cov"), Key("dv"), Key("ver"), Key("ch")};
    std::vector<std::string> args = {time_ms, max_changes, absl::StrCat(dk_names.size())};
    keys.reserve(4 + 3 * (end - start));
    args.reserve(3 + 2 * dk_names.size() + 9 * (end - start));
    args.insert(args.end(), dk_names.begin(), dk_names.end());
    for (const auto& dk : dk_names) {
      size_t bar = dk.find('|');
      args.push_back(HistoryKeyName(SeriesKey{dk.substr(0, bar), ""}, dk.substr(bar + 1)));
    }
    for (size_t i = start; i < end; ++i) {
      const ObservationWrite& w = writes[i];
      keys.push_back(ReportKeyName(w.report_key));
      keys.push_back(SeriesKeyName(w.series));
      keys.push_back(ColumnKeyName(w.series.indicator, w.period, w.series.code));
      args.push_back(w.report_key);
      args.push_back(w.fingerprint);
      args.push_back(w.series.code);
      args.push_back(w.expected_series);
      args.push_back(w.new_series);
      args.push_back(w.value);
      args.push_back(w.replaced_entry);
      args.push_back(w.first_value ? "1" : "0");
      args.push_back(absl::StrCat(dk_index[DataKeyName(DataKey{w.series.indicator, w.period})]));
    }
    auto reply = client_->Eval(apply_script_, keys, args);
    if (!reply.ok()) return reply.status();
    if (!reply->IsArray() || reply->elements().size() != end - start) return Unexpected(*reply);
    for (const auto& r : reply->elements()) {
      switch (r.integer()) {
        case 0:
          out.push_back(WriteStatus::kApplied);
          break;
        case 1:
          out.push_back(WriteStatus::kDuplicateReport);
          break;
        case 2:
          out.push_back(WriteStatus::kReportIdReused);
          break;
        default:
          out.push_back(WriteStatus::kConflict);
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<SeriesEntry>> RedisStore::History(const SeriesKey& key,
                                                             const std::string& period) {
  auto reply = client_->Command({"LRANGE", HistoryKeyName(key, period), "0", "-1"});
  if (!reply.ok()) return reply.status();
  std::vector<SeriesEntry> out;
  for (const auto& e : reply->elements()) {
    auto entry = DecodeEntry(e.str());
    if (!entry.ok()) return entry.status();
    out.push_back(*std::move(entry));
  }
  return out;
}

absl::Status RedisStore::Scan(
    const DataKey& key, int batch_size,
    const std::function<bool(const std::vector<std::pair<std::string, double>>&, int64_t)>& sink) {
  // Every bucket and the data version in one MULTI/EXEC: a consistent snapshot.
  std::vector<std::vector<std::string>> commands;
  commands.reserve(options_.column_buckets + 3);
  commands.push_back({"MULTI"});
  commands.push_back({"HGET", Key("dv"), DataKeyName(key)});
  for (int b = 0; b < options_.column_buckets; ++b) {
    commands.push_back(
        {"HGETALL", Key(absl::StrCat("c:", key.indicator, ":", key.period, ":", b))});
  }
  commands.push_back({"EXEC"});
  auto replies = client_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  const redis::Reply& exec = replies->back();
  if (!exec.IsArray() ||
      exec.elements().size() != static_cast<size_t>(options_.column_buckets) + 1) {
    return Unexpected(exec);
  }
  int64_t version = 0;
  if (exec.elements()[0].IsString()) absl::SimpleAtoi(exec.elements()[0].str(), &version);
  std::vector<std::pair<std::string, double>> all;
  for (size_t b = 1; b < exec.elements().size(); ++b) {
    const auto& fields = exec.elements()[b].elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      double v = 0;
      if (!absl::SimpleAtod(fields[i + 1].str(), &v)) {
        return absl::DataLossError(
            absl::StrCat("stored value of ", fields[i].str(), " is corrupt"));
      }
      all.emplace_back(fields[i].str(), v);
    }
  }
  std::sort(all.begin(), all.end());
  if (all.empty()) {
    sink({}, version);
    return absl::OkStatus();
  }
  for (size_t i = 0; i < all.size(); i += batch_size) {
    std::vector<std::pair<std::string, double>> batch(
        all.begin() + i, all.begin() + std::min(all.size(), i + static_cast<size_t>(batch_size)));
    if (!sink(batch, version)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> RedisStore::Coverage(
    const std::vector<DataKey>& keys) {
  std::vector<std::string> cov = {"HMGET", Key("cov")};
  std::vector<std::string> dv = {"HMGET", Key("dv")};
  for (const auto& k : keys) {
    cov.push_back(DataKeyName(k));
    dv.push_back(DataKeyName(k));
  }
  auto replies = client_->Pipeline({cov, dv});
  if (!replies.ok()) return replies.status();
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    int64_t c = 0, d = 0;
    const auto& rc = (*replies)[0].elements()[i];
    const auto& rd = (*replies)[1].elements()[i];
    if (rc.IsString()) absl::SimpleAtoi(rc.str(), &c);
    if (rd.IsString()) absl::SimpleAtoi(rd.str(), &d);
    out.emplace_back(c, d);
  }
  return out;
}

absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> RedisStore::DataVersions(
    const std::vector<DataKey>& keys) {
  std::vector<std::string> dv = {"HMGET", Key("dv")};
  for (const auto& k : keys) dv.push_back(DataKeyName(k));
  auto replies = client_->Pipeline({{"MULTI"}, dv, {"GET", Key("ver")}, {"EXEC"}});
  if (!replies.ok()) return replies.status();
  const redis::Reply& exec = replies->back();
  if (!exec.IsArray() || exec.elements().size() != 2) return Unexpected(exec);
  std::vector<int64_t> out;
  for (const auto& r : exec.elements()[0].elements()) {
    int64_t d = 0;
    if (r.IsString()) absl::SimpleAtoi(r.str(), &d);
    out.push_back(d);
  }
  int64_t version = 0;
  if (exec.elements()[1].IsString()) absl::SimpleAtoi(exec.elements()[1].str(), &version);
  return std::make_pair(out, version);
}

absl::StatusOr<ChangesPage> RedisStore::ListChanges(int64_t after_version, int limit) {
  auto read = redis::ReadVersionedStream(*client_, Key("ch"), Key("ver"), after_version, limit);
  if (!read.ok()) return read.status();
  ChangesPage page;
  page.ingest_version = read->current_version;
  page.truncated = read->truncated;
  for (const auto& entry : read->entries) {
    Change c;
    c.version = entry.version;
    std::vector<std::string> codes;
    std::vector<std::string> values;
    for (const auto& [k, v] : entry.fields) {
      if (k == "k") {
        size_t bar = v.find('|');
        c.key.indicator = v.substr(0, bar);
        c.key.period = bar == std::string::npos ? "" : v.substr(bar + 1);
      } else if (k == "d") {
        absl::SimpleAtoi(v, &c.data_version);
      } else if (k == "ts") {
        int64_t ms = 0;
        absl::SimpleAtoi(v, &ms);
        c.time = absl::FromUnixMillis(ms);
      } else if (k == "e") {
        codes = absl::StrSplit(v, ',');
      } else if (k == "x") {
        values = absl::StrSplit(v, ',');
      }
    }
    if (!codes.empty() && codes.size() == values.size()) {
      c.listed = true;
      c.values.reserve(codes.size());
      for (size_t i = 0; i < codes.size(); ++i) {
        double value = 0;
        if (!absl::SimpleAtod(values[i], &value)) {
          c.listed = false;
          c.values.clear();
          break;
        }
        c.values.emplace_back(std::move(codes[i]), value);
      }
    }
    page.changes.push_back(std::move(c));
  }
  return page;
}

}  // namespace iplus::ingest
