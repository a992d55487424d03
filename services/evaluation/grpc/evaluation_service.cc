#include "services/evaluation/grpc/evaluation_service.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/scope.h"
#include "common/grpc/auth_gate.h"
#include "common/grpc/replayable.h"
#include "common/grpc/status.h"
#include "common/hash/fnv.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"
#include "common/status/status.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/domain/evaluate.h"

namespace iplus::evaluation {
namespace {

namespace iv1 = ::iplus::ingest::v1;
using google::protobuf::util::TimeUtil;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kReplaceAttempts = 8;
constexpr absl::Duration kDefaultMinInterval = absl::Seconds(5);
constexpr absl::Duration kMinMinInterval = absl::Seconds(1);
constexpr absl::Duration kMaxMinInterval = absl::Hours(1);

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// Every violation of several statuses in one INVALID_ARGUMENT; another error as is.
absl::Status Merge(const std::vector<absl::Status>& statuses) {
  std::vector<FieldViolation> all;
  for (const absl::Status& s : statuses) {
    if (s.ok()) continue;
    if (s.code() != absl::StatusCode::kInvalidArgument) return s;
    auto v = FieldViolations(s);
    if (v.empty()) return s;
    all.insert(all.end(), v.begin(), v.end());
  }
  return all.empty() ? absl::OkStatus() : InvalidFields(all);
}

// Page tokens: "1|<hash of the query>|<last id>", web-safe base64.
std::string EncodeToken(const std::string& query, const std::string& after) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("1|", absl::Hex(Fnv1a64(query), absl::kZeroPad16), "|", after));
}

absl::StatusOr<std::string> DecodeToken(const std::string& token, const std::string& query) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != "1") {
    return InvalidField("page_token", "is not a token this service issued");
  }
  if (parts[1] != absl::StrCat(absl::Hex(Fnv1a64(query), absl::kZeroPad16))) {
    return InvalidField("page_token",
                        "was issued for a different query; repeat the same include_archived");
  }
  return parts[2];
}

// What ValidateTarget needs before ingest was asked: a guess from the target itself, so
// that malformed requests are INVALID_ARGUMENT whatever ingest says.
IndicatorInfo GuessIndicator(const Target& t) {
  IndicatorInfo info;
  info.id = t.indicator;
  info.boolean =
      t.aggregation == Aggregation::kShareTrue || t.aggregation == Aggregation::kCountTrue;
  info.granularity = t.baseline.granularity;
  return info;
}

// Parses the periods a target message carries without failing on them: bad ones are
// returned as violations and left at their default.
Target ParseTargetLeniently(const v1::Target& in, std::vector<FieldViolation>* violations) {
  v1::Target copy = in;
  auto parsed_baseline = ParsePeriodField(in.baseline_period(), "target.baseline_period");
  auto parsed_deadline = ParsePeriodField(in.deadline_period(), "target.deadline_period");
  copy.set_baseline_period(parsed_baseline.ok() ? in.baseline_period() : "2015");
  copy.set_deadline_period(parsed_deadline.ok() ? in.deadline_period() : "2018");
  Target t = *TargetFromProto(copy);
  for (const auto* s : {&parsed_baseline, &parsed_deadline}) {
    if (s->ok()) continue;
    for (auto& v : FieldViolations(s->status())) violations->push_back(v);
  }
  if (!parsed_baseline.ok() && parsed_deadline.ok()) {
    t.baseline = Period{t.deadline.year - 3, t.deadline.granularity, t.deadline.index};
  }
  if (!parsed_deadline.ok() && parsed_baseline.ok()) {
    t.deadline = Period{t.baseline.year + 3, t.baseline.granularity, t.baseline.index};
  }
  return t;
}

// ValidateTarget's violations, without those of fields already reported.
absl::Status ValidateWith(const Target& t, const IndicatorInfo& info,
                          std::vector<FieldViolation> earlier) {
  absl::Status s = ValidateTarget(t, info, "target");
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument && earlier.empty()) return s;
  std::set<std::string> named;
  for (const auto& v : earlier) named.insert(v.field);
  for (const auto& v : FieldViolations(s)) {
    if (!named.count(v.field)) earlier.push_back(v);
  }
  if (!earlier.empty()) return InvalidFields(earlier);
  return s;
}

// An evaluation without the fields that say when and how it was served.
v1::Evaluation Comparable(const v1::Evaluation& e) {
  v1::Evaluation c = e;
  c.clear_computed_time();
  c.clear_cached();
  return c;
}

}  // namespace

EvaluationServiceImpl::EvaluationServiceImpl(TargetStore* store, Evaluator* evaluator,
                                             iv1::IngestService::StubInterface* ingest,
                                             redis::ReplayCache* replay, Clock* clock,
                                             metrics::Registry& metrics, ServiceOptions options)
    : store_(store),
      evaluator_(evaluator),
      feed_(evaluator->feed()),
      ingest_(ingest),
      replay_(replay),
      clock_(clock),
      options_(std::move(options)),
      watch_streams_(metrics::BuildGauge()
                         .Name("iplus_evaluation_watch_streams_active")
                         .Help("Open WatchScorecard streams.")
                         .Register(metrics)
                         .Add({})),
      watch_messages_(metrics::BuildCounter()
                          .Name("iplus_evaluation_watch_messages_total")
                          .Help("Scorecards sent on WatchScorecard streams.")
                          .Register(metrics)
                          .Add({})) {}

void EvaluationServiceImpl::Drain() {
  draining_.store(true);
  feed_->Wake();
}

absl::Time EvaluationServiceImpl::Deadline(const grpc::ServerContext& ctx) const {
  const absl::Time limit = absl::Now() + options_.max_call_time;
  const absl::Time client = absl::FromChrono(ctx.deadline());
  return std::min(limit, client);
}

absl::Status EvaluationServiceImpl::ValidateScopeField(const Scope& scope,
                                                       absl::string_view field) const {
  if (absl::Status s = ValidateScope(scope, field); !s.ok()) return s;
  const std::string& mine = options_.region_prefix;
  if (!absl::StartsWith(scope.region_prefix, mine) &&
      !absl::StartsWith(mine, scope.region_prefix)) {
    return InvalidField(absl::StrCat(field, ".region_prefix"),
                        absl::StrCat("\"", scope.region_prefix,
                                     "\" is outside this instance's region \"", mine, "\""));
  }
  return absl::OkStatus();
}

absl::Status EvaluationServiceImpl::NarrowScope(const auth::Principal& p, Scope& scope) const {
  auto prefix = auth::EffectiveRegionPrefix(p, scope.region_prefix, options_.region_prefix);
  if (!prefix.ok()) return prefix.status();
  scope.region_prefix = *std::move(prefix);
  return absl::OkStatus();
}

absl::Status EvaluationServiceImpl::CheckCode(const auth::Principal& p,
                                              const std::string& code) const {
  if (!auth::RegionLimited(p)) return absl::OkStatus();
  // The Dataset holds every enterprise of the instance's region, archived ones included.
  std::optional<std::string> region =
      feed_->Read([&](const Dataset& data) -> std::optional<std::string> {
        auto index = data.Find(code);
        if (!index) return std::nullopt;
        return data.attrs(*index).region;
      });
  return auth::CheckEnterprise(p, code, region ? &*region : nullptr);
}

// --- targets --------------------------------------------------------------------------

grpc::Status EvaluationServiceImpl::CreateTarget(grpc::ServerContext*,
                                                 const v1::CreateTargetRequest* req,
                                                 v1::CreateTargetResponse* resp) {
  return Replayable(replay_, "CreateTarget", req->request_id(), *req, resp, [&]() -> absl::Status {
    std::vector<FieldViolation> violations;
    Target t = ParseTargetLeniently(req->target(), &violations);
    if (absl::Status s = ValidateWith(t, GuessIndicator(t), violations); !s.ok()) return s;
    auto info = feed_->Indicator(t.indicator, /*fresh=*/true);
    if (info.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(
          absl::StrCat("indicator \"", t.indicator, "\" is unknown to ingest"));
    }
    if (!info.ok()) return info.status();
    if (absl::Status s = ValidateTarget(t, *info, "target"); !s.ok()) return s;
    const absl::Time now = clock_->Now();
    t.archived = false;
    t.create_time = t.update_time = now;
    t.etag = EtagOfRevision(1);
    auto stored = store_->Create(t);
    if (!stored.ok()) return stored.status();
    if (!stored->second && !SameContent(stored->first, t)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "target \"", t.id, "\" already exists with different content; use UpdateTarget"));
    }
    ToProto(stored->first, resp->mutable_target());
    resp->set_created(stored->second);
    return absl::OkStatus();
  });
}

grpc::Status EvaluationServiceImpl::GetTarget(grpc::ServerContext*, const v1::GetTargetRequest* req,
                                              v1::GetTargetResponse* resp) {
  if (req->id().empty()) return ToGrpcStatus(InvalidField("id", "must be set"));
  auto t = store_->Get(req->id());
  if (!t.ok()) return ToGrpcStatus(t.status());
  ToProto(*t, resp->mutable_target());
  return grpc::Status::OK;
}

absl::StatusOr<Target> EvaluationServiceImpl::Modify(
    const std::string& id, const std::string& etag,
    const std::function<absl::Status(Target&)>& change) {
  for (int attempt = 0;; ++attempt) {
    auto current = store_->Get(id);
    if (!current.ok()) return current.status();
    if (!etag.empty() && current->etag != etag) {
      return absl::AbortedError(absl::StrCat("etag \"", etag, "\" does not match the stored \"",
                                             current->etag, "\"; read the target again"));
    }
    Target updated = *current;
    absl::Status s = change(updated);
    if (s.code() == absl::StatusCode::kAlreadyExists) return *current;  // nothing to change
    if (!s.ok()) return s;
    updated.etag = EtagOfRevision(RevisionOfEtag(current->etag) + 1);
    updated.update_time = clock_->Now();
    auto stored = store_->Replace(updated, current->etag);
    // Without an etag, a concurrent writer only means "read again and reapply".
    if (stored.status().code() == absl::StatusCode::kAborted && etag.empty() &&
        attempt + 1 < kReplaceAttempts) {
      continue;
    }
    return stored;
  }
}

grpc::Status EvaluationServiceImpl::UpdateTarget(grpc::ServerContext*,
                                                 const v1::UpdateTargetRequest* req,
                                                 v1::UpdateTargetResponse* resp) {
  return Replayable(replay_, "UpdateTarget", req->request_id(), *req, resp, [&]() -> absl::Status {
    const v1::Target& in = req->target();
    if (in.id().empty()) return InvalidField("target.id", "must be set");
    if (req->update_mask().paths().empty()) {
      return InvalidField("update_mask", "must name at least one field to update");
    }
    static const std::set<std::string> kUpdatable = {
        "title",           "description",     "population", "aggregation",   "rule",
        "baseline_period", "deadline_period", "panel_mode", "coverage_floor"};
    std::set<std::string> paths;
    for (const std::string& path : req->update_mask().paths()) {
      if (path == "id" || path == "indicator") {
        return InvalidField("update_mask", absl::StrCat("\"", path, "\" is immutable"));
      }
      if (!kUpdatable.count(path)) {
        return InvalidField("update_mask",
                            absl::StrCat("\"", path,
                                         "\" is not an updatable field (updatable: title, "
                                         "description, population, aggregation, rule, "
                                         "baseline_period, deadline_period, panel_mode, "
                                         "coverage_floor)"));
      }
      paths.insert(path);
    }
    // Periods in the mask must parse before anything is read.
    std::optional<Period> baseline, deadline;
    {
      std::vector<absl::Status> checks;
      if (paths.count("baseline_period")) {
        auto p = ParsePeriodField(in.baseline_period(), "target.baseline_period");
        if (p.ok()) baseline = *p;
        checks.push_back(p.status());
      }
      if (paths.count("deadline_period")) {
        auto p = ParsePeriodField(in.deadline_period(), "target.deadline_period");
        if (p.ok()) deadline = *p;
        checks.push_back(p.status());
      }
      if (absl::Status s = Merge(checks); !s.ok()) return s;
    }
    auto t = Modify(in.id(), req->etag(), [&](Target& target) -> absl::Status {
      if (target.archived) {
        return absl::FailedPreconditionError(
            absl::StrCat("target \"", target.id, "\" is archived and cannot be updated"));
      }
      for (const std::string& path : paths) {
        if (path == "title") target.title = in.title();
        if (path == "description") target.description = in.description();
        if (path == "population") target.population = PopulationFromProto(in.population());
        if (path == "aggregation") target.aggregation = static_cast<Aggregation>(in.aggregation());
        if (path == "rule") target.rule = RuleFromProto(in.rule());
        if (path == "baseline_period") target.baseline = *baseline;
        if (path == "deadline_period") target.deadline = *deadline;
        if (path == "panel_mode") target.panel_mode = static_cast<PanelMode>(in.panel_mode());
        if (path == "coverage_floor") {
          target.coverage_floor =
              in.has_coverage_floor() ? std::optional<double>(in.coverage_floor()) : std::nullopt;
        }
      }
      // The indicator was checked when the target was created; a retired indicator does
      // not stop edits, and an unreachable ingest falls back on what the target implies.
      auto info = feed_->Indicator(target.indicator);
      IndicatorInfo checked = info.ok() ? *info : GuessIndicator(target);
      if (!info.ok()) checked.granularity = target.baseline.granularity;
      checked.retired = false;
      return ValidateTarget(target, checked, "target");
    });
    if (!t.ok()) return t.status();
    ToProto(*t, resp->mutable_target());
    return absl::OkStatus();
  });
}

grpc::Status EvaluationServiceImpl::ArchiveTarget(grpc::ServerContext*,
                                                  const v1::ArchiveTargetRequest* req,
                                                  v1::ArchiveTargetResponse* resp) {
  return Replayable(replay_, "ArchiveTarget", req->request_id(), *req, resp, [&]() -> absl::Status {
    if (req->id().empty()) return InvalidField("id", "must be set");
    auto t = Modify(req->id(), req->etag(), [](Target& target) -> absl::Status {
      if (target.archived) return absl::AlreadyExistsError("already archived");
      target.archived = true;
      return absl::OkStatus();
    });
    if (!t.ok()) return t.status();
    ToProto(*t, resp->mutable_target());
    return absl::OkStatus();
  });
}

grpc::Status EvaluationServiceImpl::ListTargets(grpc::ServerContext*,
                                                const v1::ListTargetsRequest* req,
                                                v1::ListTargetsResponse* resp) {
  if (req->page_size() < 0 || req->page_size() > kMaxPageSize) {
    return ToGrpcStatus(InvalidField(
        "page_size",
        absl::StrCat("must be between 0 and ", kMaxPageSize, ", got ", req->page_size())));
  }
  const int limit = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
  const std::string query = req->include_archived() ? "archived:1" : "archived:0";
  std::string after;
  if (!req->page_token().empty()) {
    auto decoded = DecodeToken(req->page_token(), query);
    if (!decoded.ok()) return ToGrpcStatus(decoded.status());
    after = *decoded;
  }
  auto all = store_->All();
  if (!all.ok()) return ToGrpcStatus(all.status());
  std::string last;
  bool more = false;
  for (const Target& t : *all) {  // in id order
    if (t.id <= after && !after.empty()) continue;
    if (t.archived && !req->include_archived()) continue;
    if (resp->targets_size() == limit) {
      more = true;
      break;
    }
    ToProto(t, resp->add_targets());
    last = t.id;
  }
  if (more) resp->set_next_page_token(EncodeToken(query, last));
  return grpc::Status::OK;
}

// --- evaluations ----------------------------------------------------------------------

grpc::Status EvaluationServiceImpl::Evaluate(grpc::ServerContext* ctx,
                                             const v1::EvaluateRequest* req,
                                             v1::EvaluateResponse* resp) {
  Scope scope = ScopeFromProto(req->scope());
  auto period = ParsePeriodField(req->period(), "period");
  if (absl::Status s = Merge(
          {ValidateScopeField(scope, "scope"), period.status(),
           req->target_id().empty() ? InvalidField("target_id", "must be set") : absl::OkStatus()});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = NarrowScope(CurrentPrincipal(ctx), scope); !s.ok()) return ToGrpcStatus(s);
  auto target = store_->Get(req->target_id());
  if (!target.ok()) return ToGrpcStatus(target.status());
  if (absl::Status s = ValidateEvaluationPeriod(*target, *period, "period"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto e = evaluator_->Evaluate(*target, scope, *period, Deadline(*ctx));
  if (!e.ok()) return ToGrpcStatus(e.status());
  *resp->mutable_evaluation() = *std::move(e);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::Breakdown(grpc::ServerContext* ctx,
                                              const v1::BreakdownRequest* req,
                                              v1::BreakdownResponse* resp) {
  Scope scope = ScopeFromProto(req->scope());
  auto period = ParsePeriodField(req->period(), "period");
  absl::Status dimension;
  if (req->dimension() == v1::BREAKDOWN_DIMENSION_UNSPECIFIED) {
    dimension = InvalidField("dimension", "must be set");
  } else if (!v1::BreakdownDimension_IsValid(req->dimension())) {
    dimension = InvalidField("dimension", absl::StrCat("unknown value ", req->dimension()));
  }
  if (absl::Status s = Merge(
          {ValidateScopeField(scope, "scope"), period.status(), dimension,
           req->target_id().empty() ? InvalidField("target_id", "must be set") : absl::OkStatus()});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = NarrowScope(CurrentPrincipal(ctx), scope); !s.ok()) return ToGrpcStatus(s);
  auto target = store_->Get(req->target_id());
  if (!target.ok()) return ToGrpcStatus(target.status());
  if (absl::Status s = ValidateEvaluationPeriod(*target, *period, "period"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto b = evaluator_->Breakdown(*target, scope, *period, static_cast<Dimension>(req->dimension()),
                                 Deadline(*ctx));
  if (!b.ok()) return ToGrpcStatus(b.status());
  *resp = *std::move(b);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::GetScorecard(grpc::ServerContext* ctx,
                                                 const v1::GetScorecardRequest* req,
                                                 v1::GetScorecardResponse* resp) {
  Scope scope = ScopeFromProto(req->scope());
  auto period = ParsePeriodField(req->period(), "period");
  if (absl::Status s = Merge({ValidateScopeField(scope, "scope"), period.status()}); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = NarrowScope(CurrentPrincipal(ctx), scope); !s.ok()) return ToGrpcStatus(s);
  auto targets = store_->All();
  if (!targets.ok()) return ToGrpcStatus(targets.status());
  auto card = evaluator_->Scorecard(*std::move(targets), scope, *period, Deadline(*ctx));
  if (!card.ok()) return ToGrpcStatus(card.status());
  *resp->mutable_scorecard() = *std::move(card);
  return grpc::Status::OK;
}

grpc::Status EvaluationServiceImpl::WatchScorecard(
    grpc::ServerContext* ctx, const v1::WatchScorecardRequest* req,
    grpc::ServerWriter<v1::WatchScorecardResponse>* writer) {
  Scope scope = ScopeFromProto(req->scope());
  auto period = ParsePeriodField(req->period(), "period");
  absl::Duration min_interval = kDefaultMinInterval;
  absl::Status interval;
  if (req->has_min_interval()) {
    const auto& d = req->min_interval();
    min_interval = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (min_interval < kMinMinInterval || min_interval > kMaxMinInterval) {
      interval = InvalidField("min_interval", "must be between 1s and 1h");
    }
  }
  if (absl::Status s = Merge({ValidateScopeField(scope, "scope"), period.status(), interval});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = NarrowScope(CurrentPrincipal(ctx), scope); !s.ok()) return ToGrpcStatus(s);
  if (Draining()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is draining");

  watch_streams_.Increment();
  struct Closer {
    metrics::Gauge& g;
    ~Closer() { g.Decrement(); }
  } closer{watch_streams_};

  // One scorecard, through the cache, of the targets as stored now.
  auto compute = [&]() -> absl::StatusOr<v1::Scorecard> {
    auto targets = store_->All();
    if (!targets.ok()) return targets.status();
    return evaluator_->Scorecard(*std::move(targets), scope, *period,
                                 absl::Now() + options_.max_call_time);
  };
  auto ended = [&]() -> std::optional<grpc::Status> {
    if (Draining()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is draining; reconnect");
    }
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    return std::nullopt;
  };

  uint64_t seen = feed_->generation();
  auto first = compute();
  if (!first.ok()) return ToGrpcStatus(first.status());
  v1::Scorecard last = *std::move(first);
  {
    v1::WatchScorecardResponse msg;
    *msg.mutable_scorecard() = last;
    if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    watch_messages_.Increment();
  }
  absl::Time last_sent = absl::Now();
  bool failed = false;  // the last refresh failed: retry after min_interval even unchanged

  for (;;) {
    // Wait for a change of anything the feed holds (enterprises, columns, targets).
    while (feed_->generation() == seen && !failed) {
      if (auto end = ended()) return *end;
      feed_->WaitForChange(seen, absl::Now() + options_.watch_tick);
    }
    // No more often than min_interval: changes arriving meanwhile are coalesced into the
    // next scorecard.
    while (absl::Now() < last_sent + min_interval) {
      if (auto end = ended()) return *end;
      absl::SleepFor(std::min(options_.watch_tick, last_sent + min_interval - absl::Now()));
    }
    if (auto end = ended()) return *end;
    seen = feed_->generation();
    auto next = compute();
    v1::WatchScorecardResponse msg;
    if (!next.ok()) {
      // Keep the stream: repeat the last scorecard with the reason it is not fresh.
      *msg.mutable_scorecard() = last;
      *msg.mutable_status() = ToRpcStatus(next.status());
      failed = true;
    } else {
      failed = false;
      std::map<std::string, const v1::Evaluation*> before, after;
      for (const auto& e : last.evaluations()) before[e.target_id()] = &e;
      for (const auto& e : next->evaluations()) after[e.target_id()] = &e;
      std::set<std::string> changed;
      for (const auto& [id, e] : after) {
        auto it = before.find(id);
        if (it == before.end() || !google::protobuf::util::MessageDifferencer::Equals(
                                      Comparable(*it->second), Comparable(*e))) {
          changed.insert(id);
        }
      }
      for (const auto& [id, e] : before) {
        if (!after.count(id)) changed.insert(id);
      }
      if (changed.empty()) continue;  // the change touched nothing this scorecard reads
      last = *std::move(next);
      *msg.mutable_scorecard() = last;
      for (const std::string& id : changed) msg.add_changed_target_ids(id);
    }
    if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    watch_messages_.Increment();
    last_sent = absl::Now();
  }
}

// --- the enterprise check ---------------------------------------------------------------

grpc::Status EvaluationServiceImpl::CheckEnterprise(grpc::ServerContext* ctx,
                                                    const v1::CheckEnterpriseRequest* req,
                                                    v1::CheckEnterpriseResponse* resp) {
  absl::Status code;
  if (absl::Status s = refdata::ValidateCreditCode(req->enterprise_code()); !s.ok()) {
    code = InvalidField("enterprise_code", s.message());
  }
  auto baseline = ParsePeriodField(req->baseline_period(), "baseline_period");
  auto current = ParsePeriodField(req->current_period(), "current_period");
  absl::Status rule = req->rule().kind_case() == v1::Rule::KIND_NOT_SET
                          ? InvalidField("rule", "must be set")
                          : ValidateRule(RuleFromProto(req->rule()), "rule");
  absl::Status indicator =
      req->indicator().empty() ? InvalidField("indicator", "must be set") : absl::OkStatus();
  if (absl::Status s = Merge({code, indicator, baseline.status(), current.status(), rule});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  // Before anything is looked up: the answer must not say whether the enterprise exists.
  if (absl::Status s = CheckCode(CurrentPrincipal(ctx), req->enterprise_code()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto info = feed_->Indicator(req->indicator(), /*fresh=*/true);
  if (!info.ok()) return ToGrpcStatus(info.status());
  {
    std::vector<absl::Status> checks;
    for (const auto& [field, p] : {std::make_pair("baseline_period", &*baseline),
                                   std::make_pair("current_period", &*current)}) {
      if (p->granularity != info->granularity) {
        checks.push_back(InvalidField(
            field, absl::StrCat("must be a ", refdata::GranularityName(info->granularity),
                                ": indicator \"", req->indicator(), "\" is reported per ",
                                refdata::GranularityName(info->granularity))));
      }
    }
    if (absl::Status s = Merge(checks); !s.ok()) return ToGrpcStatus(s);
  }
  const absl::Time deadline = Deadline(*ctx);
  auto call_error = [](const grpc::Status& status) {
    absl::Status s = FromGrpcStatus(status);
    if (s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kInvalidArgument) {
      return ToGrpcStatus(s);
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("ingest unreachable: ", s.message()));
  };
  std::vector<Period> periods = {*baseline};
  if (*current != *baseline) periods.push_back(*current);
  std::sort(periods.begin(), periods.end());
  // Versions first: the values read next are at least this new.
  iv1::GetDataVersionsResponse versions;
  {
    iv1::GetDataVersionsRequest request;
    for (const Period& p : periods) {
      auto* k = request.add_keys();
      k->set_indicator(req->indicator());
      k->set_period(p.ToString());
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    grpc::Status status = ingest_->GetDataVersions(&context, request, &versions);
    if (!status.ok()) return call_error(status);
  }
  std::optional<double> base_value, current_value;
  {
    iv1::GetSeriesRequest request;
    request.set_enterprise_code(req->enterprise_code());
    request.set_indicator(req->indicator());
    request.mutable_periods()->set_start(periods.front().ToString());
    request.mutable_periods()->set_end(periods.back().ToString());
    iv1::GetSeriesResponse series;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    grpc::Status status = ingest_->GetSeries(&context, request, &series);
    if (!status.ok()) return call_error(status);
    for (const auto& o : series.observations()) {
      const double v = o.has_bool_value() ? (o.bool_value() ? 1.0 : 0.0) : o.number_value();
      if (o.period() == baseline->ToString()) base_value = v;
      if (o.period() == current->ToString()) current_value = v;
    }
  }
  CheckResult r = iplus::evaluation::CheckEnterprise(
      req->indicator(), *baseline, *current, base_value, current_value, RuleFromProto(req->rule()));
  if (r.baseline_value) resp->set_baseline_value(*r.baseline_value);
  if (r.current_value) resp->set_current_value(*r.current_value);
  if (r.measured_change) resp->set_measured_change(*r.measured_change);
  if (r.required) resp->set_required(*r.required);
  resp->set_meets(r.meets);
  resp->set_explanation(r.explanation);
  for (const auto& v : versions.versions()) {
    auto* e = resp->mutable_data_versions()->add_ingest_versions();
    e->set_indicator(v.key().indicator());
    e->set_period(v.key().period());
    e->set_version(v.version());
  }
  SetTime(clock_->Now(), resp->mutable_computed_time());
  return grpc::Status::OK;
}

}  // namespace iplus::evaluation
