#include "services/evaluation/grpc/evaluator.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "google/protobuf/util/time_util.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/domain/evaluate.h"

namespace iplus::evaluation {
namespace {

using google::protobuf::util::TimeUtil;

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

metrics::Histogram::BucketBoundaries ComputeBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

}  // namespace

Evaluator::Evaluator(Feed* feed, ResultCache* cache, Clock* clock, metrics::Registry& metrics)
    : feed_(feed),
      cache_(cache),
      clock_(clock),
      requests_(metrics::BuildCounter()
                    .Name("iplus_evaluation_cache_requests_total")
                    .Help("Result cache lookups by kind (evaluate, breakdown) and result "
                          "(hit, miss).")
                    .Register(metrics)),
      computed_(metrics::BuildCounter()
                    .Name("iplus_evaluation_computed_total")
                    .Help("Results computed (cache misses) by kind: evaluate, breakdown.")
                    .Register(metrics)),
      compute_seconds_(metrics::BuildHistogram()
                           .Name("iplus_evaluation_compute_seconds")
                           .Help("Time to compute one result from the in-memory data, by "
                                 "kind.")
                           .Register(metrics)) {
  for (const char* kind : {"evaluate", "breakdown"}) {
    for (const char* result : {"hit", "miss"}) requests_.Add({{"kind", kind}, {"result", result}});
    computed_.Add({{"kind", kind}});
    compute_seconds_.Add({{"kind", kind}}, ComputeBuckets());
  }
}

CacheKeyParts Evaluator::Parts(const char* kind, const Target& target, const Scope& scope,
                               const Period& period, int dimension, const Dataset& data) {
  CacheKeyParts parts;
  parts.kind = kind;
  parts.target_id = target.id;
  parts.target_etag = target.etag;
  parts.scope = scope;
  parts.period = period;
  parts.dimension = dimension;
  parts.registry_version = data.registry_version();
  for (const Period& p : PeriodsBetween(target.baseline, period)) {
    parts.ingest_versions.push_back(
        DataVersionEntry{target.indicator, p, data.data_version(target.indicator, p)});
  }
  return parts;
}

absl::Status Evaluator::Prepare(const Target& target, const Period& period, absl::Time deadline) {
  if (!feed_->ready()) {
    return absl::UnavailableError(
        "evaluation data is still loading from the registry and ingest; retry shortly");
  }
  absl::Status s = feed_->EnsureColumns(target.indicator, target.baseline, period, deadline);
  if (s.code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(absl::StrCat("target \"", target.id, "\": ", s.message()));
  }
  return s;
}

absl::StatusOr<v1::Evaluation> Evaluator::Evaluate(const Target& target, const Scope& scope,
                                                   const Period& period, absl::Time deadline) {
  if (absl::Status s = Prepare(target, period, deadline); !s.ok()) return s;
  const std::string key = cache_->Key(feed_->Read(
      [&](const Dataset& d) { return Parts("evaluate", target, scope, period, 0, d); }));
  auto cached = cache_->Get({key});
  if (!cached.ok()) return cached.status();
  v1::Evaluation out;
  if ((*cached)[0].has_value() && out.ParseFromString(*(*cached)[0])) {
    requests_.Add({{"kind", "evaluate"}, {"result", "hit"}}).Increment();
    out.set_cached(true);
    return out;
  }
  requests_.Add({{"kind", "evaluate"}, {"result", "miss"}}).Increment();
  out.Clear();
  const absl::Time start = absl::Now();
  // The key of what is computed: the versions may have moved since the lookup.
  const std::string computed_key = feed_->Read([&](const Dataset& d) {
    ToProto(iplus::evaluation::Evaluate(target, scope, period, d), &out);
    return cache_->Key(Parts("evaluate", target, scope, period, 0, d));
  });
  compute_seconds_.Add({{"kind", "evaluate"}}, ComputeBuckets())
      .Observe(absl::ToDoubleSeconds(absl::Now() - start));
  computed_.Add({{"kind", "evaluate"}}).Increment();
  SetTime(clock_->Now(), out.mutable_computed_time());
  if (absl::Status s = cache_->Put({{computed_key, out.SerializeAsString()}}); !s.ok()) {
    log::Warn("evaluation not cached", {log::Field::Status("error", s)});
  }
  return out;
}

absl::StatusOr<v1::BreakdownResponse> Evaluator::Breakdown(const Target& target, const Scope& scope,
                                                           const Period& period,
                                                           Dimension dimension,
                                                           absl::Time deadline) {
  if (absl::Status s = Prepare(target, period, deadline); !s.ok()) return s;
  const int dim = static_cast<int>(dimension);
  const std::string key = cache_->Key(feed_->Read(
      [&](const Dataset& d) { return Parts("breakdown", target, scope, period, dim, d); }));
  auto cached = cache_->Get({key});
  if (!cached.ok()) return cached.status();
  v1::BreakdownResponse out;
  if ((*cached)[0].has_value() && out.ParseFromString(*(*cached)[0])) {
    requests_.Add({{"kind", "breakdown"}, {"result", "hit"}}).Increment();
    out.mutable_total()->set_cached(true);
    for (auto& g : *out.mutable_groups()) g.mutable_evaluation()->set_cached(true);
    return out;
  }
  requests_.Add({{"kind", "breakdown"}, {"result", "miss"}}).Increment();
  out.Clear();
  const absl::Time start = absl::Now();
  const std::string computed_key = feed_->Read([&](const Dataset& d) {
    BreakdownResult r = iplus::evaluation::Breakdown(target, scope, period, dimension, d);
    ToProto(r.total, out.mutable_total());
    for (const BreakdownGroup& g : r.groups) {
      auto* group = out.add_groups();
      group->set_key(g.key);
      group->set_label(g.label);
      ToProto(g.result, group->mutable_evaluation());
    }
    return cache_->Key(Parts("breakdown", target, scope, period, dim, d));
  });
  compute_seconds_.Add({{"kind", "breakdown"}}, ComputeBuckets())
      .Observe(absl::ToDoubleSeconds(absl::Now() - start));
  computed_.Add({{"kind", "breakdown"}}).Increment();
  const absl::Time now = clock_->Now();
  SetTime(now, out.mutable_total()->mutable_computed_time());
  for (auto& g : *out.mutable_groups())
    SetTime(now, g.mutable_evaluation()->mutable_computed_time());
  if (absl::Status s = cache_->Put({{computed_key, out.SerializeAsString()}}); !s.ok()) {
    log::Warn("breakdown not cached", {log::Field::Status("error", s)});
  }
  return out;
}

absl::StatusOr<v1::Scorecard> Evaluator::Scorecard(std::vector<Target> targets, const Scope& scope,
                                                   const Period& period, absl::Time deadline) {
  if (!feed_->ready()) {
    return absl::UnavailableError(
        "evaluation data is still loading from the registry and ingest; retry shortly");
  }
  std::sort(targets.begin(), targets.end(),
            [](const Target& a, const Target& b) { return a.id < b.id; });
  std::vector<Target> evaluable;
  for (Target& t : targets) {
    if (t.archived || !ValidateEvaluationPeriod(t, period).ok()) continue;
    absl::Status s = feed_->EnsureColumns(t.indicator, t.baseline, period, deadline);
    if (s.code() == absl::StatusCode::kNotFound) continue;  // its indicator is unknown
    if (!s.ok()) return s;
    evaluable.push_back(std::move(t));
  }
  std::vector<std::string> keys = feed_->Read([&](const Dataset& d) {
    std::vector<std::string> out;
    for (const Target& t : evaluable) {
      out.push_back(cache_->Key(Parts("evaluate", t, scope, period, 0, d)));
    }
    return out;
  });
  auto cached = cache_->Get(keys);
  if (!cached.ok()) return cached.status();

  v1::Scorecard card;
  ToProto(scope, card.mutable_scope());
  card.set_period(period.ToString());
  std::vector<size_t> misses;
  for (size_t i = 0; i < evaluable.size(); ++i) {
    v1::Evaluation* e = card.add_evaluations();
    if ((*cached)[i].has_value() && e->ParseFromString(*(*cached)[i])) {
      e->set_cached(true);
      requests_.Add({{"kind", "evaluate"}, {"result", "hit"}}).Increment();
    } else {
      e->Clear();
      misses.push_back(i);
      requests_.Add({{"kind", "evaluate"}, {"result", "miss"}}).Increment();
    }
  }
  const absl::Time now = clock_->Now();
  if (!misses.empty()) {
    std::vector<std::pair<std::string, std::string>> entries;
    feed_->Read([&](const Dataset& d) {
      for (size_t i : misses) {
        const absl::Time start = absl::Now();
        v1::Evaluation* e = card.mutable_evaluations(static_cast<int>(i));
        ToProto(iplus::evaluation::Evaluate(evaluable[i], scope, period, d), e);
        compute_seconds_.Add({{"kind", "evaluate"}}, ComputeBuckets())
            .Observe(absl::ToDoubleSeconds(absl::Now() - start));
        computed_.Add({{"kind", "evaluate"}}).Increment();
        SetTime(now, e->mutable_computed_time());
        entries.emplace_back(cache_->Key(Parts("evaluate", evaluable[i], scope, period, 0, d)),
                             e->SerializeAsString());
      }
      return 0;
    });
    if (absl::Status s = cache_->Put(entries); !s.ok()) {
      log::Warn("scorecard evaluations not cached", {log::Field::Status("error", s)});
    }
  }
  SetTime(now, card.mutable_computed_time());
  return card;
}

}  // namespace iplus::evaluation
