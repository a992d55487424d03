#include "services/evaluation/grpc/target_gauges.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log/log.h"
#include "services/evaluation/domain/model.h"

namespace iplus::evaluation {

TargetGauges::TargetGauges(Evaluator* evaluator, metrics::Registry& metrics,
                           TargetGaugesOptions options)
    : evaluator_(evaluator),
      options_(options),
      progress_(metrics::BuildGauge()
                    .Name("iplus_target_progress_ratio")
                    .Help("Progress of an active target at its latest period with data: "
                          "(current - baseline) / (target - baseline), not clamped; by "
                          "province, province=\"all\" for the whole instance.")
                    .Register(metrics)),
      status_(metrics::BuildGauge()
                  .Name("iplus_target_status")
                  .Help("Status of an active target at its latest period with data: 1 "
                        "achieved, 2 on track, 3 at risk, 4 off track, 5 insufficient data.")
                  .Register(metrics)),
      coverage_(metrics::BuildGauge()
                    .Name("iplus_target_coverage_ratio")
                    .Help("Coverage of an active target at its latest period with data: "
                          "reporters / population.")
                    .Register(metrics)) {}

TargetGauges::~TargetGauges() { Stop(); }

void TargetGauges::Start() {
  absl::MutexLock lock(&run_mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void TargetGauges::Stop() {
  {
    absl::MutexLock lock(&run_mu_);
    stopping_ = true;
  }
  evaluator_->feed()->Wake();
  if (thread_.joinable()) thread_.join();
}

void TargetGauges::Run() {
  Feed* feed = evaluator_->feed();
  uint64_t seen = feed->generation();
  absl::Time next = absl::Now();
  absl::Time last = absl::InfinitePast();
  bool failed_once = false;
  for (;;) {
    {
      absl::MutexLock lock(&run_mu_);
      if (stopping_) return;
    }
    const absl::Time now = absl::Now();
    const uint64_t generation = feed->generation();
    if (now >= next || (generation != seen && now >= last + options_.min_spacing)) {
      seen = generation;
      absl::Status s = RefreshNow();
      last = absl::Now();
      // Until the feed is ready, try again soon rather than after a whole interval.
      next = last + (s.code() == absl::StatusCode::kUnavailable && !feed->ready()
                         ? options_.min_spacing
                         : options_.interval);
      if (!s.ok() && feed->ready() && !failed_once) {
        log::Warn("target gauges not refreshed", {log::Field::Status("error", s)});
      }
      failed_once = !s.ok() && feed->ready();
      continue;
    }
    if (generation != seen) {
      // A change is pending: refresh once min_spacing has passed since the last one.
      absl::MutexLock lock(&run_mu_);
      run_mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                               std::min(next, last + options_.min_spacing) - absl::Now());
      continue;
    }
    // Wakes on a data change, at the next due time, or at least every second to notice
    // Stop().
    feed->WaitForChange(seen, std::min(next, absl::Now() + absl::Seconds(1)));
  }
}

void TargetGauges::Set(metrics::Family<metrics::Gauge>& family, const metrics::Labels& labels,
                       double value, std::set<std::pair<const void*, metrics::Labels>>& seen) {
  family.Add(labels).Set(value);
  seen.emplace(&family, labels);
}

absl::Status TargetGauges::RefreshNow() {
  Feed* feed = evaluator_->feed();
  if (!feed->ready()) return absl::UnavailableError("the feed is still loading");
  absl::MutexLock lock(&mu_);
  std::set<std::pair<const void*, metrics::Labels>> seen;
  absl::Status first;
  for (const Target& t : feed->targets()) {
    if (t.archived || t.baseline.granularity != t.deadline.granularity) continue;
    // The latest period from the baseline to the deadline that has a reporter.
    std::optional<Period> period = feed->Read([&](const Dataset& d) -> std::optional<Period> {
      std::vector<Period> periods = PeriodsBetween(t.baseline, t.deadline);
      for (auto it = periods.rbegin(); it != periods.rend(); ++it) {
        const Column* c = d.column(t.indicator, *it);
        if (c != nullptr && c->reporters > 0) return *it;
      }
      return std::nullopt;
    });
    if (!period.has_value()) continue;
    auto b = evaluator_->Breakdown(t, Scope{}, *period, Dimension::kProvince,
                                   absl::Now() + absl::Seconds(30));
    if (!b.ok()) {
      if (first.ok()) first = b.status();
      // Keep this target's series as they were.
      for (auto* family : {&progress_, &status_, &coverage_}) {
        for (const auto& s : series_) {
          if (s.first == family && s.second.at("target") == t.id) seen.insert(s);
        }
      }
      continue;
    }
    auto set_all = [&](const std::string& province, const v1::Evaluation& e) {
      const metrics::Labels labels = {{"target", t.id}, {"province", province}};
      if (e.has_progress()) Set(progress_, labels, e.progress(), seen);
      Set(status_, labels, static_cast<double>(e.status()), seen);
      Set(coverage_, labels, e.coverage().ratio(), seen);
    };
    set_all("all", b->total());
    for (const auto& g : b->groups()) set_all(g.key(), g.evaluation());
  }
  for (const auto& s : series_) {
    if (seen.count(s)) continue;
    auto* family = const_cast<metrics::Family<metrics::Gauge>*>(
        static_cast<const metrics::Family<metrics::Gauge>*>(s.first));
    family->Remove(&family->Add(s.second));
  }
  series_ = std::move(seen);
  return first;
}

}  // namespace iplus::evaluation
