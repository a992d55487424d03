#pragma once

// Redis client series for /metrics:
//   iplus_redis_command_duration_seconds{command} (histogram)
//   iplus_redis_errors_total{command}

#include <functional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace iplus::metrics {
class Registry;
}

namespace iplus {

// An observer for redis::Options::observer. `registry` must outlive it.
std::function<void(absl::string_view command, absl::Duration latency, bool ok)>
MakeRedisMetricsObserver(metrics::Registry& registry);

}  // namespace iplus
