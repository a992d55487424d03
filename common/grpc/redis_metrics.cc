#include "common/grpc/redis_metrics.h"

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"

namespace iplus {
namespace {

class RedisSeries {
 public:
  explicit RedisSeries(metrics::Registry& registry)
      : seconds_(metrics::BuildHistogram()
                     .Name("iplus_redis_command_duration_seconds")
                     .Help("Latency of Redis commands, pipelines and scripts, by command.")
                     .Register(registry)),
        errors_(metrics::BuildCounter()
                    .Name("iplus_redis_errors_total")
                    .Help("Redis calls that failed (transport or error reply), by command.")
                    .Register(registry)) {}

  void Observe(absl::string_view command, absl::Duration latency, bool ok) {
    Entry& e = Lookup(command);
    e.seconds->Observe(absl::ToDoubleSeconds(latency));
    if (!ok) e.errors->Increment();
  }

 private:
  struct Entry {
    metrics::Histogram* seconds;
    metrics::Counter* errors;
  };

  Entry& Lookup(absl::string_view command) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = entries_.find(command);
      if (it != entries_.end()) return it->second;
    }
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(command);
    if (it != entries_.end()) return it->second;
    metrics::Labels labels{{"command", std::string(command)}};
    Entry e{&seconds_.Add(labels, metrics::DefaultLatencyBuckets()), &errors_.Add(labels)};
    return entries_.emplace(std::string(command), e).first->second;
  }

  metrics::Family<metrics::Histogram>& seconds_;
  metrics::Family<metrics::Counter>& errors_;
  absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::function<void(absl::string_view, absl::Duration, bool)> MakeRedisMetricsObserver(
    metrics::Registry& registry) {
  auto series = std::make_shared<RedisSeries>(registry);
  return [series](absl::string_view command, absl::Duration latency, bool ok) {
    series->Observe(command, latency, ok);
  };
}

}  // namespace iplus
