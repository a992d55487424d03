#include "services/evaluation/feed/feed.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"

namespace iplus::evaluation {
namespace {

namespace rv1 = ::iplus::registry::v1;
namespace iv1 = ::iplus::ingest::v1;

// Pages of events or changes applied in one round before the round lets others go.
constexpr int kMaxPagesPerRound = 100;
constexpr int kMaxBatchGet = 1000;

void SetDeadline(grpc::ClientContext* context, absl::Time deadline) {
  context->set_deadline(absl::ToChronoTime(deadline));
}

bool IsEnterpriseEvent(rv1::EventType type) {
  return type == rv1::EVENT_TYPE_ENTERPRISE_CREATED || type == rv1::EVENT_TYPE_ENTERPRISE_UPDATED ||
         type == rv1::EVENT_TYPE_ENTERPRISE_ARCHIVED;
}

EnterpriseAttrs AttrsOf(const rv1::Enterprise& e) {
  EnterpriseAttrs a;
  a.region = e.region();
  a.industry = e.industry();
  a.kind = static_cast<uint8_t>(e.kind());
  a.ownership = static_cast<uint8_t>(e.ownership());
  a.size = static_cast<uint8_t>(e.size());
  a.key = e.key_enterprise();
  a.archived = e.archived();
  return a;
}

refdata::Granularity GranularityOf(iv1::Granularity g) {
  switch (g) {
    case iv1::GRANULARITY_QUARTER:
      return refdata::Granularity::kQuarter;
    case iv1::GRANULARITY_MONTH:
      return refdata::Granularity::kMonth;
    default:
      return refdata::Granularity::kYear;
  }
}

IndicatorInfo InfoOf(const iv1::Indicator& i) {
  IndicatorInfo info;
  info.id = i.id();
  info.boolean = i.value_type() == iv1::VALUE_TYPE_BOOLEAN;
  info.granularity = GranularityOf(i.granularity());
  info.retired = i.status() == iv1::INDICATOR_STATUS_RETIRED;
  return info;
}

// A failed call to ingest or the registry as the caller sees it: the dependency is
// unreachable (UNAVAILABLE), unless it answered with a definite code worth passing on.
absl::Status DependencyError(const char* what, const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return s;
    default:
      return absl::UnavailableError(absl::StrCat(what, " unreachable: ", s.message()));
  }
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

std::vector<Period> PeriodsBetween(const Period& from, const Period& to, int limit) {
  std::vector<Period> out;
  if (from.granularity != to.granularity) return out;
  for (Period p = from; p <= to && static_cast<int>(out.size()) < limit; p = p.Next()) {
    out.push_back(p);
  }
  return out;
}

Period CurrentPeriod(refdata::Granularity granularity, absl::Time now) {
  const absl::CivilDay today = absl::ToCivilDay(now, absl::FixedTimeZone(8 * 3600));
  const int year = static_cast<int>(today.year());
  switch (granularity) {
    case refdata::Granularity::kQuarter:
      return Period::Quarter(year, (today.month() - 1) / 3 + 1);
    case refdata::Granularity::kMonth:
      return Period::Month(year, today.month());
    case refdata::Granularity::kYear:
      break;
  }
  return Period::Year(year);
}

Feed::Feed(RegistryStub* registry, IngestStub* ingest, TargetSource targets,
           metrics::Registry& metrics, FeedOptions options)
    : registry_(registry),
      ingest_(ingest),
      target_source_(std::move(targets)),
      options_(std::move(options)),
      ready_gauge_(metrics::BuildGauge()
                       .Name("iplus_evaluation_feed_ready")
                       .Help("1 once the initial load of enterprises, targets and columns "
                             "has finished.")
                       .Register(metrics)
                       .Add({})),
      initial_columns_(metrics::BuildGauge()
                           .Name("iplus_evaluation_feed_initial_columns")
                           .Help("Columns (indicator, period) of the initial load: total and "
                                 "loaded so far.")
                           .Register(metrics)),
      registry_version_gauge_(metrics::BuildGauge()
                                  .Name("iplus_evaluation_feed_registry_version")
                                  .Help("The registry version the in-memory enterprises reflect.")
                                  .Register(metrics)
                                  .Add({})),
      ingest_version_gauge_(metrics::BuildGauge()
                                .Name("iplus_evaluation_feed_ingest_version")
                                .Help("The ingest version the change follower has read up to.")
                                .Register(metrics)
                                .Add({})),
      lag_(metrics::BuildGauge()
               .Name("iplus_evaluation_feed_lag_seconds")
               .Help("Seconds since the feed was last caught up with the source (registry "
                     "events, ingest changes).")
               .Register(metrics)),
      enterprises_gauge_(metrics::BuildGauge()
                             .Name("iplus_evaluation_feed_enterprises")
                             .Help("Enterprises held in memory (archived ones included).")
                             .Register(metrics)
                             .Add({})),
      columns_gauge_(metrics::BuildGauge()
                         .Name("iplus_evaluation_feed_columns")
                         .Help("Columns (indicator, period) held in memory.")
                         .Register(metrics)
                         .Add({})),
      loads_(metrics::BuildCounter()
                 .Name("iplus_evaluation_feed_column_loads_total")
                 .Help("Column scans from ingest by reason: initial, on_demand, new_target, "
                       "new_period, unlisted, gap, truncated.")
                 .Register(metrics)),
      applied_(metrics::BuildCounter()
                   .Name("iplus_evaluation_feed_changes_applied_total")
                   .Help("Ingest changes applied value by value, without a rescan.")
                   .Register(metrics)
                   .Add({})),
      errors_(metrics::BuildCounter()
                  .Name("iplus_evaluation_feed_errors_total")
                  .Help("Feed rounds that failed, by source: registry, ingest, targets.")
                  .Register(metrics)) {
  initial_columns_.Add({{"state", "total"}});
  initial_columns_.Add({{"state", "loaded"}});
  for (const char* source : {"registry", "ingest"}) lag_.Add({{"source", source}});
  for (const char* source : {"registry", "ingest", "targets"}) errors_.Add({{"source", source}});
  for (const char* reason :
       {"initial", "on_demand", "new_target", "new_period", "unlisted", "gap", "truncated"}) {
    loads_.Add({{"reason", reason}});
  }
}

Feed::~Feed() { Stop(); }

void Feed::Start() {
  {
    absl::MutexLock lock(&run_mu_);
    if (started_) return;
    started_ = true;
  }
  registry_ok_ms_.store(NowMs());
  ingest_ok_ms_.store(NowMs());
  log::Info(
      "evaluation feed starting",
      {log::Field::Str("region", options_.region_prefix),
       log::Field::Int("poll_interval_ms", absl::ToInt64Milliseconds(options_.poll_interval))});
  thread_ = std::thread([this] { Run(); });
}

void Feed::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    stopping_ = true;
    for (grpc::ClientContext* c : calls_) c->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
  Wake();
}

absl::Status Feed::SyncNow() {
  absl::MutexLock lock(&round_mu_);
  return Round();
}

void Feed::Run() {
  absl::Duration backoff = options_.poll_interval;
  for (;;) {
    absl::Status s;
    {
      absl::MutexLock lock(&round_mu_);
      s = Round();
    }
    const absl::Duration wait = s.ok() ? options_.poll_interval : backoff;
    backoff = s.ok() ? options_.poll_interval : std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&run_mu_);
    if (run_mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
  }
}

absl::Status Feed::Round() {
  absl::Status first;
  auto keep = [&](const absl::Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  if (Stopping()) return absl::CancelledError("stopping");

  absl::Status reg = (!registry_loaded_ || need_export_) ? Export() : FollowRegistry();
  Note("registry", reg);
  keep(reg);

  absl::Status tgt = RefreshTargets();
  Note("targets", tgt);
  keep(tgt);

  if (registry_loaded_ && targets_loaded_) {
    absl::Status ing = ingest_started_ ? FollowIngest() : InitialIngest();
    if (ing.ok() && ingest_started_) ing = ProcessRescans();
    Note("ingest", ing);
    keep(ing);
  }
  if (!ready_.load() && registry_loaded_ && targets_loaded_ && ingest_started_) {
    ready_.store(true);
    log::Info("evaluation feed ready",
              {log::Field::Int("enterprises", Read([](const Dataset& d) { return d.size(); })),
               log::Field::Int("ingest_version", ingest_after_.load())});
    Bump();
  }
  UpdateGauges();
  return first;
}

// --- registry ---------------------------------------------------------------------------

absl::Status Feed::Export() {
  int64_t start_version = 0;
  {
    rv1::ListEventsRequest request;
    request.set_page_size(1);
    rv1::ListEventsResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.rpc_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = registry_->ListEvents(&context, request, &response);
    EndCall(&context);
    if (!status.ok()) return DependencyError("registry", FromGrpcStatus(status));
    start_version = response.registry_version();
  }
  std::vector<std::pair<std::string, EnterpriseAttrs>> all;
  {
    rv1::ExportEnterprisesRequest request;
    request.mutable_scope()->set_region_prefix(options_.region_prefix);
    request.set_include_archived(true);
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.export_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    auto reader = registry_->ExportEnterprises(&context, request);
    rv1::ExportEnterprisesResponse batch;
    bool first = true;
    while (reader->Read(&batch)) {
      if (first) start_version = batch.registry_version();
      first = false;
      for (const auto& e : batch.enterprises()) all.emplace_back(e.code(), AttrsOf(e));
    }
    grpc::Status status = reader->Finish();
    EndCall(&context);
    if (!status.ok()) return DependencyError("registry", FromGrpcStatus(status));
  }
  int32_t size = 0;
  {
    absl::WriterMutexLock lock(&data_mu_);
    absl::flat_hash_set<std::string> exported;
    exported.reserve(all.size());
    for (auto& [code, attrs] : all) {
      data_.Upsert(code, attrs);
      exported.insert(code);
    }
    // Enterprises are never deleted; one the export no longer has left this registry
    // (a new registry behind the same address): it no longer counts.
    for (int32_t i = 0; i < data_.size(); ++i) {
      if (!data_.attrs(i).archived && !exported.contains(data_.code(i))) {
        EnterpriseAttrs gone = data_.attrs(i);
        gone.archived = true;
        data_.Upsert(data_.code(i), gone);
      }
    }
    data_.set_registry_version(start_version);
    size = data_.size();
  }
  registry_after_ = start_version;
  registry_loaded_ = true;
  need_export_ = false;
  registry_ok_ms_.store(NowMs());
  log::Info("enterprises exported from the registry",
            {log::Field::Int("enterprises", static_cast<int64_t>(all.size())),
             log::Field::Int("held", size), log::Field::Int("registry_version", start_version)});
  Bump();
  return absl::OkStatus();
}

absl::Status Feed::FollowRegistry() {
  for (int page = 0; page < kMaxPagesPerRound && !Stopping(); ++page) {
    rv1::ListEventsRequest request;
    request.set_after_version(registry_after_);
    request.set_page_size(options_.events_page);
    rv1::ListEventsResponse response;
    {
      grpc::ClientContext context;
      SetDeadline(&context, absl::Now() + options_.rpc_timeout);
      if (!BeginCall(&context)) return absl::CancelledError("stopping");
      grpc::Status status = registry_->ListEvents(&context, request, &response);
      EndCall(&context);
      if (!status.ok()) return DependencyError("registry", FromGrpcStatus(status));
    }
    if (response.truncated() || response.registry_version() < registry_after_) {
      log::Info(response.truncated() ? "registry events were trimmed past the feed; re-exporting"
                                     : "registry version went backwards; re-exporting",
                {log::Field::Int("after_version", registry_after_),
                 log::Field::Int("registry_version", response.registry_version())});
      need_export_ = true;
      return Export();
    }
    if (response.events().empty()) {
      registry_ok_ms_.store(NowMs());
      return absl::OkStatus();
    }
    std::vector<std::string> codes;
    int64_t enterprise_version = 0;
    {
      absl::flat_hash_set<std::string> seen;
      for (const auto& e : response.events()) {
        if (!IsEnterpriseEvent(e.type())) continue;
        enterprise_version = e.version();
        if (seen.insert(e.code()).second) codes.push_back(e.code());
      }
    }
    if (!codes.empty()) {
      absl::Status s =
          FetchEnterprises(codes, absl::Now() + options_.rpc_timeout, enterprise_version);
      if (!s.ok()) return s;
    }
    registry_after_ = response.events(response.events_size() - 1).version();
    if (response.events_size() < options_.events_page) {
      registry_ok_ms_.store(NowMs());
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Feed::FetchEnterprises(const std::vector<std::string>& codes, absl::Time deadline,
                                    int64_t registry_version) {
  std::vector<rv1::Enterprise> found;
  std::vector<std::string> valid;
  for (const auto& c : codes) {
    // A malformed code would make the registry refuse the whole batch.
    if (refdata::ValidateCreditCode(c).ok()) valid.push_back(c);
  }
  for (size_t begin = 0; begin < valid.size(); begin += kMaxBatchGet) {
    const size_t end = std::min(valid.size(), begin + kMaxBatchGet);
    rv1::BatchGetEnterprisesRequest request;
    for (size_t i = begin; i < end; ++i) request.add_codes(valid[i]);
    rv1::BatchGetEnterprisesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = registry_->BatchGetEnterprises(&context, request, &response);
    EndCall(&context);
    if (!status.ok()) return DependencyError("registry", FromGrpcStatus(status));
    for (auto& e : *response.mutable_enterprises()) found.push_back(std::move(e));
  }
  {
    absl::WriterMutexLock lock(&data_mu_);
    for (const auto& e : found) {
      EnterpriseAttrs attrs = AttrsOf(e);
      if (!absl::StartsWith(e.region(), options_.region_prefix)) {
        // Moved out of the instance's region: no longer counted here.
        if (!data_.Find(e.code()).has_value()) continue;
        attrs.archived = true;
      }
      data_.Upsert(e.code(), std::move(attrs));
    }
    if (registry_version > data_.registry_version()) data_.set_registry_version(registry_version);
  }
  Bump();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> Feed::Resolve(const std::vector<std::string>& codes,
                                                   absl::Time deadline) {
  std::vector<int32_t> out(codes.size(), -1);
  std::vector<std::string> unknown;
  {
    absl::ReaderMutexLock lock(&data_mu_);
    for (size_t i = 0; i < codes.size(); ++i) {
      if (auto index = data_.Find(codes[i])) {
        out[i] = *index;
      } else {
        unknown.push_back(codes[i]);
      }
    }
  }
  if (unknown.empty()) return out;
  // Ingest accepted these, so the registry has them; the event follower has not read
  // them yet. Fetch them now rather than drop their values.
  std::sort(unknown.begin(), unknown.end());
  unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
  if (absl::Status s = FetchEnterprises(unknown, deadline, 0); !s.ok()) return s;
  absl::ReaderMutexLock lock(&data_mu_);
  for (size_t i = 0; i < codes.size(); ++i) {
    if (out[i] >= 0) continue;
    if (auto index = data_.Find(codes[i])) out[i] = *index;
  }
  return out;
}

// --- targets and the catalogue ------------------------------------------------------------

absl::Status Feed::LoadCatalogue() {
  absl::flat_hash_map<std::string, IndicatorInfo> catalogue;
  std::string token;
  do {
    iv1::ListIndicatorsRequest request;
    request.set_include_retired(true);
    request.set_page_size(1000);
    request.set_page_token(token);
    iv1::ListIndicatorsResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.rpc_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = ingest_->ListIndicators(&context, request, &response);
    EndCall(&context);
    if (!status.ok()) return DependencyError("ingest", FromGrpcStatus(status));
    for (const auto& i : response.indicators()) catalogue[i.id()] = InfoOf(i);
    token = response.next_page_token();
  } while (!token.empty());
  {
    absl::MutexLock lock(&catalogue_mu_);
    catalogue_ = std::move(catalogue);
  }
  catalogue_loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<IndicatorInfo> Feed::Indicator(const std::string& id, bool fresh) {
  if (!fresh) {
    absl::MutexLock lock(&catalogue_mu_);
    auto it = catalogue_.find(id);
    if (it != catalogue_.end()) return it->second;
  }
  iv1::GetIndicatorRequest request;
  request.set_id(id);
  iv1::GetIndicatorResponse response;
  grpc::ClientContext context;
  SetDeadline(&context, absl::Now() + options_.rpc_timeout);
  if (!BeginCall(&context)) return absl::UnavailableError("stopping");
  grpc::Status status = ingest_->GetIndicator(&context, request, &response);
  EndCall(&context);
  if (!status.ok()) {
    absl::Status s = FromGrpcStatus(status);
    if (s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kInvalidArgument) {
      return absl::NotFoundError(absl::StrCat("indicator \"", id, "\" is unknown to ingest"));
    }
    return DependencyError("ingest", s);
  }
  IndicatorInfo info = InfoOf(response.indicator());
  absl::MutexLock lock(&catalogue_mu_);
  catalogue_[id] = info;
  return info;
}

std::vector<Target> Feed::targets() const {
  absl::MutexLock lock(&state_mu_);
  return targets_;
}

absl::Status Feed::RefreshTargets() {
  auto version = target_source_.version();
  if (!version.ok()) return version.status();
  if (targets_loaded_ && *version == targets_version_) return absl::OkStatus();
  auto all = target_source_.all();
  if (!all.ok()) return all.status();
  {
    absl::MutexLock lock(&state_mu_);
    targets_ = *all;
  }
  Bump();
  if (ingest_started_) {
    // Columns of new or changed targets: loaded by ProcessRescans in this round.
    std::vector<Target> active;
    for (const Target& t : *all) {
      if (!t.archived) active.push_back(t);
    }
    auto keys = TargetColumns(active);
    if (!keys.ok()) return keys.status();  // retried next round: the version is not taken
    absl::MutexLock lock(&state_mu_);
    for (const ColumnKey& k : *keys) {
      if (!loaded_.count(k)) rescan_.emplace(k, "new_target");
    }
  }
  if (!targets_loaded_) {
    log::Info("targets loaded", {log::Field::Int("targets", static_cast<int64_t>(all->size()))});
  }
  targets_version_ = *version;
  targets_loaded_ = true;
  return absl::OkStatus();
}

void Feed::Track(const std::string& indicator, const Period& from) {
  absl::MutexLock lock(&state_mu_);
  auto [it, inserted] = tracked_.emplace(indicator, from);
  if (!inserted && it->second.granularity == from.granularity && from < it->second) {
    it->second = from;
  }
}

absl::StatusOr<std::vector<Feed::ColumnKey>> Feed::TargetColumns(
    const std::vector<Target>& targets) {
  std::set<ColumnKey> keys;
  for (const Target& t : targets) {
    auto info = Indicator(t.indicator);
    if (!info.ok()) {
      if (info.status().code() == absl::StatusCode::kNotFound) {
        log::Warn("target's indicator is unknown to ingest; not loaded",
                  {log::Field::Str("target", t.id), log::Field::Str("indicator", t.indicator)});
        continue;
      }
      return info.status();
    }
    if (info->granularity != t.baseline.granularity ||
        t.deadline.granularity != t.baseline.granularity) {
      continue;
    }
    for (const Period& p : PeriodsBetween(t.baseline, t.deadline)) keys.emplace(t.indicator, p);
    Track(t.indicator, t.baseline);
    // Later periods that have data.
    const Period now = CurrentPeriod(t.baseline.granularity, absl::Now());
    if (t.deadline < now) {
      iv1::GetCoverageRequest request;
      request.set_indicator(t.indicator);
      request.mutable_periods()->set_start(t.deadline.Next().ToString());
      request.mutable_periods()->set_end(now.ToString());
      iv1::GetCoverageResponse response;
      grpc::ClientContext context;
      SetDeadline(&context, absl::Now() + options_.rpc_timeout);
      if (!BeginCall(&context)) return absl::CancelledError("stopping");
      grpc::Status status = ingest_->GetCoverage(&context, request, &response);
      EndCall(&context);
      if (!status.ok()) {
        absl::Status s = FromGrpcStatus(status);
        if (s.code() == absl::StatusCode::kNotFound ||
            s.code() == absl::StatusCode::kInvalidArgument) {
          continue;
        }
        return DependencyError("ingest", s);
      }
      for (const auto& c : response.periods()) {
        if (c.reporters() <= 0) continue;
        auto p = refdata::ParsePeriod(c.period());
        if (!p.ok()) continue;
        keys.emplace(t.indicator, *p);
        NoteSeen({t.indicator, *p}, c.data_version());
      }
    }
  }
  return std::vector<ColumnKey>(keys.begin(), keys.end());
}

// --- ingest -------------------------------------------------------------------------------

absl::Status Feed::InitialIngest() {
  const absl::Time start = absl::Now();
  if (!catalogue_loaded_) {
    if (absl::Status s = LoadCatalogue(); !s.ok()) return s;
  }
  if (initial_ingest_version_ < 0) {
    // Read before any scan: following on from it replays whatever the scans may miss.
    iv1::ListChangesRequest request;
    request.set_page_size(1);
    iv1::ListChangesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, absl::Now() + options_.rpc_timeout);
    if (!BeginCall(&context)) return absl::CancelledError("stopping");
    grpc::Status status = ingest_->ListChanges(&context, request, &response);
    EndCall(&context);
    if (!status.ok()) return DependencyError("ingest", FromGrpcStatus(status));
    initial_ingest_version_ = response.ingest_version();
  }
  std::vector<Target> active;
  for (const Target& t : targets()) {
    if (!t.archived) active.push_back(t);
  }
  auto keys = TargetColumns(active);
  if (!keys.ok()) return keys.status();
  int64_t loaded = 0;
  {
    absl::MutexLock lock(&state_mu_);
    for (const ColumnKey& k : *keys) loaded += loaded_.count(k);
  }
  const int64_t total = static_cast<int64_t>(keys->size());
  initial_columns_.Add({{"state", "total"}}).Set(static_cast<double>(total));
  initial_columns_.Add({{"state", "loaded"}}).Set(static_cast<double>(loaded));
  log::Info("loading columns from ingest",
            {log::Field::Int("columns", total), log::Field::Int("already_loaded", loaded),
             log::Field::Int("ingest_version", initial_ingest_version_)});
  int64_t next_log = loaded + std::max<int64_t>(1, total / 10);
  for (const ColumnKey& k : *keys) {
    if (Stopping()) return absl::CancelledError("stopping");
    absl::Status s =
        LoadColumn(k, LoadMode::kIfAbsent, "initial", absl::Now() + options_.scan_timeout);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
    ++loaded;
    initial_columns_.Add({{"state", "loaded"}}).Set(static_cast<double>(loaded));
    if (loaded >= next_log && loaded < total) {
      log::Info("loading columns from ingest",
                {log::Field::Int("loaded", loaded), log::Field::Int("columns", total)});
      next_log = loaded + std::max<int64_t>(1, total / 10);
    }
  }
  ingest_after_.store(initial_ingest_version_);
  ingest_started_ = true;
  ingest_ok_ms_.store(NowMs());
  log::Info("columns loaded from ingest",
            {log::Field::Int("columns", total),
             log::Field::Int("ms", absl::ToInt64Milliseconds(absl::Now() - start)),
             log::Field::Int("ingest_version", initial_ingest_version_)});
  return absl::OkStatus();
}

absl::Status Feed::FollowIngest() {
  for (int page = 0; page < kMaxPagesPerRound && !Stopping(); ++page) {
    const int64_t after = ingest_after_.load();
    iv1::ListChangesRequest request;
    request.set_after_version(after);
    request.set_page_size(options_.changes_page);
    iv1::ListChangesResponse response;
    {
      grpc::ClientContext context;
      SetDeadline(&context, absl::Now() + options_.rpc_timeout);
      if (!BeginCall(&context)) return absl::CancelledError("stopping");
      grpc::Status status = ingest_->ListChanges(&context, request, &response);
      EndCall(&context);
      if (!status.ok()) return DependencyError("ingest", FromGrpcStatus(status));
    }
    if (response.truncated() || response.ingest_version() < after) {
      log::Info(response.truncated() ? "ingest changes were trimmed past the feed; rescanning"
                                     : "ingest version went backwards; rescanning",
                {log::Field::Int("after_version", after),
                 log::Field::Int("ingest_version", response.ingest_version())});
      absl::MutexLock lock(&state_mu_);
      latest_.clear();
      for (const ColumnKey& k : loaded_) force_.insert(k);
      ingest_after_.store(response.ingest_version());
      return absl::OkStatus();
    }
    if (response.changes().empty()) {
      ingest_ok_ms_.store(NowMs());
      return absl::OkStatus();
    }
    bool changed = false;
    for (const auto& c : response.changes()) {
      auto period = refdata::ParsePeriod(c.key().period());
      if (!period.ok()) continue;
      const ColumnKey key{c.key().indicator(), *period};
      NoteSeen(key, c.data_version());
      bool loaded = false;
      {
        absl::MutexLock lock(&state_mu_);
        loaded = loaded_.count(key) > 0;
        if (!loaded) {
          auto t = tracked_.find(key.first);
          if (t != tracked_.end() && t->second.granularity == key.second.granularity &&
              t->second <= key.second) {
            rescan_.emplace(key, "new_period");
          }
          continue;
        }
        if (!c.enterprises_listed() || c.enterprise_codes_size() != c.values_size()) {
          rescan_.emplace(key, "unlisted");
          continue;
        }
      }
      const int64_t have =
          Read([&](const Dataset& d) { return d.data_version(key.first, key.second); });
      if (c.data_version() <= have) continue;
      if (c.data_version() != have + 1) {
        absl::MutexLock lock(&state_mu_);
        rescan_.emplace(key, "gap");
        continue;
      }
      std::vector<std::string> codes(c.enterprise_codes().begin(), c.enterprise_codes().end());
      auto indices = Resolve(codes, absl::Now() + options_.rpc_timeout);
      if (!indices.ok()) return indices.status();  // the page is replayed next round
      bool applied = false;
      {
        absl::WriterMutexLock lock(&data_mu_);
        if (data_.data_version(key.first, key.second) == c.data_version() - 1) {
          for (size_t i = 0; i < codes.size(); ++i) {
            if ((*indices)[i] < 0) continue;
            data_.SetValue(key.first, key.second, (*indices)[i], c.values(static_cast<int>(i)),
                           c.data_version());
            applied = true;
          }
        }
      }
      if (applied) {
        applied_.Increment();
        changed = true;
      }
      if (Behind(key)) {
        absl::MutexLock lock(&state_mu_);
        rescan_.emplace(key, "gap");
      }
    }
    ingest_after_.store(response.changes(response.changes_size() - 1).version());
    if (changed) Bump();
    if (response.changes_size() < options_.changes_page) {
      ingest_ok_ms_.store(NowMs());
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Feed::ProcessRescans() {
  std::map<ColumnKey, const char*> todo;
  std::set<ColumnKey> force;
  {
    absl::MutexLock lock(&state_mu_);
    todo.swap(rescan_);
    force.swap(force_);
  }
  absl::Status failed;
  auto requeue = [&](const ColumnKey& k, const char* reason, bool forced) {
    absl::MutexLock lock(&state_mu_);
    if (forced) {
      force_.insert(k);
    } else {
      rescan_.emplace(k, reason);
    }
  };
  for (const ColumnKey& k : force) {
    if (!failed.ok() || Stopping()) {
      requeue(k, "truncated", true);
      continue;
    }
    absl::Status s =
        LoadColumn(k, LoadMode::kForce, "truncated", absl::Now() + options_.scan_timeout);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      failed = s;
      requeue(k, "truncated", true);
    }
  }
  for (const auto& [k, reason] : todo) {
    if (force.count(k)) continue;
    if (!failed.ok() || Stopping()) {
      requeue(k, reason, false);
      continue;
    }
    absl::Status s =
        LoadColumn(k, LoadMode::kIfBehind, reason, absl::Now() + options_.scan_timeout);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
      failed = s;
      requeue(k, reason, false);
    }
  }
  return failed;
}

bool Feed::Behind(const ColumnKey& key) const {
  int64_t latest = 0;
  {
    absl::MutexLock lock(&state_mu_);
    auto it = latest_.find(key);
    if (it == latest_.end()) return false;
    latest = it->second;
  }
  absl::ReaderMutexLock lock(&data_mu_);
  return data_.data_version(key.first, key.second) < latest;
}

void Feed::NoteSeen(const ColumnKey& key, int64_t data_version) {
  absl::MutexLock lock(&state_mu_);
  int64_t& v = latest_[key];
  v = std::max(v, data_version);
}

absl::Status Feed::LoadColumn(const ColumnKey& key, LoadMode mode, const char* reason,
                              absl::Time deadline) {
  {
    absl::MutexLock lock(&load_mu_);
    while (loading_.count(key) > 0) {
      if (load_cv_.WaitWithDeadline(&load_mu_, deadline)) {
        return absl::UnavailableError(absl::StrCat("timed out waiting for a load of ", key.first,
                                                   " ", key.second.ToString()));
      }
    }
    bool exists = false;
    {
      absl::MutexLock state(&state_mu_);
      exists = loaded_.count(key) > 0;
    }
    if (exists && mode == LoadMode::kIfAbsent) return absl::OkStatus();
    if (exists && mode == LoadMode::kIfBehind && !Behind(key)) return absl::OkStatus();
    loading_.insert(key);
  }
  auto done = [&] {
    absl::MutexLock lock(&load_mu_);
    loading_.erase(key);
    load_cv_.SignalAll();
  };

  iv1::ScanIndicatorRequest request;
  request.set_indicator(key.first);
  request.set_period(key.second.ToString());
  std::vector<std::string> codes;
  std::vector<double> values;
  int64_t version = 0;
  {
    grpc::ClientContext context;
    SetDeadline(&context, std::min(deadline, absl::Now() + options_.scan_timeout));
    if (!BeginCall(&context)) {
      done();
      return absl::UnavailableError("stopping");
    }
    auto reader = ingest_->ScanIndicator(&context, request);
    iv1::ScanIndicatorResponse batch;
    while (reader->Read(&batch)) {
      version = batch.data_version();
      const int n = std::min(batch.enterprise_codes_size(), batch.values_size());
      for (int i = 0; i < n; ++i) {
        codes.push_back(batch.enterprise_codes(i));
        values.push_back(batch.values(i));
      }
    }
    grpc::Status status = reader->Finish();
    EndCall(&context);
    if (!status.ok()) {
      done();
      return DependencyError("ingest", FromGrpcStatus(status));
    }
  }
  auto indices = Resolve(codes, deadline);
  if (!indices.ok()) {
    done();
    return indices.status();
  }
  std::vector<std::pair<int32_t, double>> column;
  column.reserve(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if ((*indices)[i] >= 0) column.emplace_back((*indices)[i], values[i]);
  }
  {
    absl::WriterMutexLock lock(&data_mu_);
    const Column* existing = data_.column(key.first, key.second);
    // Changes applied while the scan ran may be newer than the scan.
    if (mode == LoadMode::kForce || existing == nullptr || existing->data_version <= version) {
      data_.ReplaceColumn(key.first, key.second, column, version);
    }
  }
  {
    absl::MutexLock lock(&state_mu_);
    loaded_.insert(key);
  }
  NoteSeen(key, version);
  if (Behind(key)) {
    // A change arrived while the column was being read.
    absl::MutexLock lock(&state_mu_);
    rescan_.emplace(key, "gap");
  }
  loads_.Add({{"reason", reason}}).Increment();
  done();
  Bump();
  return absl::OkStatus();
}

absl::Status Feed::EnsureColumns(const std::string& indicator, const Period& from, const Period& to,
                                 absl::Time deadline) {
  for (const Period& p : PeriodsBetween(from, to)) {
    const ColumnKey key{indicator, p};
    {
      absl::MutexLock lock(&state_mu_);
      if (loaded_.count(key) > 0) continue;
    }
    absl::Status s = LoadColumn(key, LoadMode::kIfAbsent, "on_demand", deadline);
    if (!s.ok()) {
      if (s.code() == absl::StatusCode::kNotFound) {
        return absl::NotFoundError(
            absl::StrCat("indicator \"", indicator, "\" is unknown to ingest"));
      }
      if (s.code() == absl::StatusCode::kUnavailable) return s;
      return absl::UnavailableError(absl::StrCat("cannot load ", indicator, " ", p.ToString(),
                                                 " from ingest: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// --- notification, calls, bookkeeping --------------------------------------------------

void Feed::Bump() {
  absl::MutexLock lock(&gen_mu_);
  ++generation_;
  gen_cv_.SignalAll();
}

uint64_t Feed::generation() const {
  absl::MutexLock lock(&gen_mu_);
  return generation_;
}

uint64_t Feed::WaitForChange(uint64_t seen, absl::Time deadline) {
  absl::MutexLock lock(&gen_mu_);
  if (generation_ == seen) gen_cv_.WaitWithDeadline(&gen_mu_, deadline);
  return generation_;
}

void Feed::Wake() {
  absl::MutexLock lock(&gen_mu_);
  gen_cv_.SignalAll();
}

bool Feed::BeginCall(grpc::ClientContext* context) {
  absl::MutexLock lock(&run_mu_);
  if (stopping_) return false;
  calls_.insert(context);
  return true;
}

void Feed::EndCall(grpc::ClientContext* context) {
  absl::MutexLock lock(&run_mu_);
  calls_.erase(context);
}

bool Feed::Stopping() const {
  absl::MutexLock lock(&run_mu_);
  return stopping_;
}

void Feed::Note(const char* source, const absl::Status& status) {
  std::atomic<bool>* down = absl::string_view(source) == "registry" ? &registry_down_
                            : absl::string_view(source) == "ingest" ? &ingest_down_
                                                                    : &targets_down_;
  if (status.ok()) {
    if (down->exchange(false))
      log::Info("feed source reachable again", {log::Field::Str("source", source)});
    return;
  }
  if (status.code() == absl::StatusCode::kCancelled && Stopping()) return;
  errors_.Add({{"source", source}}).Increment();
  if (!down->exchange(true)) {
    log::Warn("feed source unreachable; serving what is loaded and retrying",
              {log::Field::Str("source", source), log::Field::Status("error", status)});
  }
}

void Feed::UpdateGauges() {
  ready_gauge_.Set(ready_.load() ? 1 : 0);
  const auto [enterprises, registry_version] =
      Read([](const Dataset& d) { return std::make_pair(d.size(), d.registry_version()); });
  enterprises_gauge_.Set(static_cast<double>(enterprises));
  registry_version_gauge_.Set(static_cast<double>(registry_version));
  ingest_version_gauge_.Set(static_cast<double>(ingest_after_.load()));
  {
    absl::MutexLock lock(&state_mu_);
    columns_gauge_.Set(static_cast<double>(loaded_.size()));
  }
  const int64_t now = NowMs();
  lag_.Add({{"source", "registry"}}).Set(static_cast<double>(now - registry_ok_ms_.load()) / 1000);
  lag_.Add({{"source", "ingest"}}).Set(static_cast<double>(now - ingest_ok_ms_.load()) / 1000);
}

}  // namespace iplus::evaluation
