#include "common/metrics/gauge.h"

#include <chrono>

#include "common/metrics/internal/atomic_double.h"

namespace iplus::metrics {

void Gauge::Set(double value) { value_.store(value, std::memory_order_relaxed); }

void Gauge::Increment(double value) { internal::AtomicAdd(value_, value); }

void Gauge::Decrement(double value) { internal::AtomicAdd(value_, -value); }

void Gauge::SetToCurrentTime() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  Set(std::chrono::duration<double>(since_epoch).count());
}

double Gauge::Value() const { return value_.load(std::memory_order_relaxed); }

ClientMetric Gauge::Collect() const {
  ClientMetric metric;
  metric.gauge.value = Value();
  return metric;
}

detail::Builder<Gauge> BuildGauge() { return {}; }

}  // namespace iplus::metrics
