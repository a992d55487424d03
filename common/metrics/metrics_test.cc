#include <cmath>
#include <ctime>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/names.h"
#include "common/metrics/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::SizeIs;

std::vector<std::uint64_t> CumulativeCounts(const ClientMetric& metric) {
  std::vector<std::uint64_t> counts;
  for (const auto& bucket : metric.histogram.bucket) counts.push_back(bucket.cumulative_count);
  return counts;
}

TEST(MetricsCounterTest, IncrementsAndIgnoresNegativeAndNaN) {
  Counter counter;
  EXPECT_EQ(counter.Value(), 0.0);
  counter.Increment();
  counter.Increment(2.5);
  counter.Increment(-10);
  counter.Increment(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.Value(), 3.5);
  EXPECT_EQ(counter.Collect().counter.value, 3.5);
}

TEST(MetricsGaugeTest, SetIncrementDecrement) {
  Gauge gauge;
  gauge.Set(10);
  gauge.Increment();
  gauge.Increment(4);
  gauge.Decrement();
  gauge.Decrement(20);
  EXPECT_EQ(gauge.Value(), -6.0);
  EXPECT_EQ(gauge.Collect().gauge.value, -6.0);
}

TEST(MetricsGaugeTest, SetToCurrentTime) {
  Gauge gauge;
  const double before = static_cast<double>(std::time(nullptr));
  gauge.SetToCurrentTime();
  const double after = static_cast<double>(std::time(nullptr)) + 1;
  EXPECT_GE(gauge.Value(), before);
  EXPECT_LE(gauge.Value(), after);
}

TEST(MetricsHistogramTest, BucketsAreCumulativeAndInclusive) {
  Histogram histogram({1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 7.0, 100.0}) histogram.Observe(v);
  ClientMetric m = histogram.Collect();
  ASSERT_THAT(m.histogram.bucket, SizeIs(4));
  EXPECT_EQ(m.histogram.bucket[0].upper_bound, 1);
  EXPECT_EQ(m.histogram.bucket[2].upper_bound, 5);
  EXPECT_TRUE(std::isinf(m.histogram.bucket[3].upper_bound));
  // le=1: 0.5, 1.0; le=2: +1.5, 2.0; le=5: +3.0; +Inf: +7, 100.
  EXPECT_THAT(CumulativeCounts(m), ElementsAre(2, 4, 5, 7));
  EXPECT_EQ(m.histogram.sample_count, 7u);
  EXPECT_DOUBLE_EQ(m.histogram.sample_sum, 115.0);
}

TEST(MetricsHistogramTest, NaNGoesToInfBucketOnly) {
  Histogram histogram({1});
  histogram.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(CumulativeCounts(histogram.Collect()), ElementsAre(0, 1));
}

TEST(MetricsHistogramTest, TrailingInfBoundaryIsImplicit) {
  Histogram histogram({1, std::numeric_limits<double>::infinity()});
  histogram.Observe(3);
  EXPECT_THAT(CumulativeCounts(histogram.Collect()), ElementsAre(0, 1));
}

TEST(MetricsHistogramTest, BucketHelpers) {
  EXPECT_THAT(ExponentialBuckets(1, 2, 4), ElementsAre(1, 2, 4, 8));
  EXPECT_THAT(LinearBuckets(0.5, 1, 3), ElementsAre(0.5, 1.5, 2.5));
  const auto latency = DefaultLatencyBuckets();
  ASSERT_FALSE(latency.empty());
  EXPECT_EQ(latency.front(), 0.0005);
  EXPECT_EQ(latency.back(), 10);
  EXPECT_TRUE(std::is_sorted(latency.begin(), latency.end()));
}

TEST(MetricsNamesTest, MetricAndLabelNames) {
  EXPECT_TRUE(IsValidMetricName("iplus_requests_total"));
  EXPECT_TRUE(IsValidMetricName("ns:rule:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_FALSE(IsValidMetricName("__reserved"));
  EXPECT_TRUE(IsValidLabelName("grpc_code"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("9"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricsFamilyTest, SameLabelsGiveSameMetric) {
  auto registry = std::make_shared<Registry>();
  auto& family = BuildCounter().Name("iplus_test_total").Help("h").Register(*registry);
  Counter& a = family.Add({{"method", "get"}});
  Counter& b = family.Add({{"method", "get"}});
  Counter& c = family.Add({{"method", "put"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_TRUE(family.Has({{"method", "get"}}));
  EXPECT_FALSE(family.Has({{"method", "post"}}));
  EXPECT_FALSE(family.Has({}));
}

TEST(MetricsFamilyTest, HistogramArgumentsUsedOnlyOnFirstAdd) {
  Family<Histogram> family("iplus_latency_seconds", "h", {});
  Histogram& a = family.Add({}, Histogram::BucketBoundaries{1, 2});
  Histogram& b = family.Add({}, Histogram::BucketBoundaries{5});
  EXPECT_EQ(&a, &b);
  EXPECT_THAT(a.Collect().histogram.bucket, SizeIs(3));
}

TEST(MetricsFamilyTest, RemoveDeletesTheSeries) {
  Family<Gauge> family("iplus_queue_depth", "h", {});
  Gauge& a = family.Add({{"queue", "a"}});
  family.Add({{"queue", "b"}});
  family.Remove(&a);
  family.Remove(nullptr);  // ignored
  EXPECT_FALSE(family.Has({{"queue", "a"}}));
  EXPECT_TRUE(family.Has({{"queue", "b"}}));
  EXPECT_THAT(family.Collect()[0].metric, SizeIs(1));
  // Adding again creates a fresh series starting at zero.
  EXPECT_EQ(family.Add({{"queue", "a"}}).Value(), 0.0);
}

TEST(MetricsFamilyTest, CollectMergesConstantLabelsSorted) {
  auto registry = std::make_shared<Registry>();
  auto& family = BuildGauge()
                     .Name("iplus_temperature")
                     .Help("h")
                     .Labels({{"region", "north"}, {"a_first", "1"}})
                     .Register(*registry);
  family.Add({{"m_middle", "x"}}).Set(3);
  auto collected = family.Collect();
  ASSERT_THAT(collected, SizeIs(1));
  EXPECT_EQ(collected[0].type, MetricType::kGauge);
  ASSERT_THAT(collected[0].metric, SizeIs(1));
  EXPECT_THAT(collected[0].metric[0].label,
              ElementsAre(Field(&ClientMetric::Label::name, "a_first"),
                          Field(&ClientMetric::Label::name, "m_middle"),
                          Field(&ClientMetric::Label::name, "region")));
  EXPECT_EQ(collected[0].metric[0].gauge.value, 3);
}

TEST(MetricsRegistryTest, SameNameAndTypeReturnsExistingFamily) {
  Registry registry;
  auto& a = BuildCounter().Name("iplus_x_total").Help("first").Register(registry);
  auto& b = BuildCounter().Name("iplus_x_total").Help("second").Register(registry);
  EXPECT_EQ(&a, &b);
  auto& c = BuildCounter().Name("iplus_x_total").Labels({{"shard", "2"}}).Register(registry);
  EXPECT_NE(&a, &c);
  a.Add({}).Increment(1);
  c.Add({}).Increment(2);
  auto collected = registry.Collect();
  ASSERT_THAT(collected, SizeIs(1));  // merged under one name
  EXPECT_EQ(collected[0].help, "first");
  EXPECT_THAT(collected[0].metric, SizeIs(2));
}

TEST(MetricsRegistryTest, CollectSortedByNameAndRemove) {
  Registry registry;
  auto& z = BuildGauge().Name("zeta").Register(registry);
  BuildGauge().Name("alpha").Register(registry).Add({});
  z.Add({});
  auto collected = registry.Collect();
  ASSERT_THAT(collected, SizeIs(2));
  EXPECT_EQ(collected[0].name, "alpha");
  EXPECT_EQ(collected[1].name, "zeta");
  EXPECT_TRUE(registry.Remove(z));
  EXPECT_FALSE(registry.Remove(z));
  collected = registry.Collect();
  ASSERT_THAT(collected, SizeIs(1));
  EXPECT_EQ(collected[0].name, "alpha");
}

TEST(MetricsConcurrencyTest, IncrementsFromManyThreadsSumExactly) {
  Registry registry;
  auto& counters = BuildCounter().Name("iplus_ops_total").Register(registry);
  auto& gauges = BuildGauge().Name("iplus_level").Register(registry);
  auto& histograms = BuildHistogram().Name("iplus_size_bytes").Register(registry);
  constexpr int kThreads = 8;
  constexpr int kIterations = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread looks the series up itself to exercise Add() concurrently too.
      Counter& counter = counters.Add({{"kind", "shared"}});
      Gauge& gauge = gauges.Add({});
      Histogram& histogram = histograms.Add({}, Histogram::BucketBoundaries{10, 100});
      for (int i = 0; i < kIterations; ++i) {
        counter.Increment();
        gauge.Increment(2);
        gauge.Decrement();
        histogram.Observe(t % 2 == 0 ? 5 : 50);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counters.Add({{"kind", "shared"}}).Value(), kThreads * kIterations);
  EXPECT_EQ(gauges.Add({}).Value(), kThreads * kIterations);
  ClientMetric h = histograms.Add({}, Histogram::BucketBoundaries{}).Collect();
  EXPECT_THAT(CumulativeCounts(h), ElementsAre(kThreads / 2 * kIterations, kThreads * kIterations,
                                               kThreads * kIterations));
  EXPECT_EQ(h.histogram.sample_sum, kThreads / 2 * kIterations * 55.0);
}

class MetricsDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
  Registry registry_;
};

TEST_F(MetricsDeathTest, InvalidMetricNameAborts) {
  EXPECT_DEATH(BuildCounter().Name("bad-name").Register(registry_),
               "invalid metric name \"bad-name\"");
  EXPECT_DEATH(BuildGauge().Name("").Register(registry_), "invalid metric name");
  EXPECT_DEATH(BuildGauge().Name("__x").Register(registry_), "invalid metric name");
}

TEST_F(MetricsDeathTest, InvalidLabelNamesAbort) {
  EXPECT_DEATH(BuildCounter().Name("ok_total").Labels({{"a-b", "1"}}).Register(registry_),
               "invalid label name \"a-b\"");
  auto& family = BuildCounter().Name("ok_total").Register(registry_);
  EXPECT_DEATH(family.Add({{"1x", "v"}}), "invalid label name \"1x\"");
  EXPECT_DEATH(family.Add({{"__name__", "v"}}), "invalid label name");
}

TEST_F(MetricsDeathTest, LabelRepeatingConstantLabelAborts) {
  auto& family = BuildGauge().Name("g").Labels({{"region", "north"}}).Register(registry_);
  EXPECT_DEATH(family.Add({{"region", "south"}}), "already a constant label");
}

TEST_F(MetricsDeathTest, LeIsReservedInHistograms) {
  EXPECT_DEATH(BuildHistogram().Name("h_seconds").Labels({{"le", "1"}}).Register(registry_),
               "\"le\" is reserved");
  auto& family = BuildHistogram().Name("h_seconds").Register(registry_);
  EXPECT_DEATH(family.Add({{"le", "1"}}, DefaultLatencyBuckets()), "\"le\" is reserved");
  // "le" is an ordinary label elsewhere.
  BuildGauge().Name("g").Register(registry_).Add({{"le", "1"}}).Set(1);
}

TEST_F(MetricsDeathTest, SameNameDifferentTypeAborts) {
  BuildCounter().Name("iplus_thing").Register(registry_);
  EXPECT_DEATH(BuildGauge().Name("iplus_thing").Register(registry_),
               "registered as counter and again as gauge");
}

TEST_F(MetricsDeathTest, BadBucketsAbort) {
  EXPECT_DEATH(Histogram({2, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({1, 1}), "strictly increasing");
  EXPECT_DEATH(Histogram({std::numeric_limits<double>::quiet_NaN()}), "strictly increasing");
  EXPECT_DEATH(ExponentialBuckets(0, 2, 3), "ExponentialBuckets");
  EXPECT_DEATH(ExponentialBuckets(1, 1, 3), "ExponentialBuckets");
  EXPECT_DEATH(LinearBuckets(0, 1, 0), "LinearBuckets");
}

}  // namespace
}  // namespace iplus::metrics
