#include "common/metrics/text_serializer.h"

#include <limits>
#include <memory>

#include "common/metrics/build_info.h"
#include "common/metrics/counter.h"
#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/histogram.h"
#include "common/metrics/registry.h"
#include "gtest/gtest.h"

namespace iplus::metrics {
namespace {

std::string Render(const Registry& registry) {
  return TextSerializer().Serialize(registry.Collect());
}

TEST(MetricsFormatValueTest, Numbers) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(123456789012345.0), "123456789012345");
  EXPECT_EQ(FormatValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(2.5e-5), "2.5e-05");
  EXPECT_EQ(FormatValue(-1.25), "-1.25");
  EXPECT_EQ(FormatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatValue(1690000000.125), "1690000000.125");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsTextSerializerTest, CounterGolden) {
  Registry registry;
  auto& family =
      BuildCounter().Name("iplus_requests_total").Help("Requests handled.").Register(registry);
  family.Add({{"method", "get"}, {"code", "OK"}}).Increment(3);
  family.Add({{"method", "put"}, {"code", "OK"}}).Increment(0.5);
  EXPECT_EQ(Render(registry),
            "# HELP iplus_requests_total Requests handled.\n"
            "# TYPE iplus_requests_total counter\n"
            "iplus_requests_total{code=\"OK\",method=\"get\"} 3\n"
            "iplus_requests_total{code=\"OK\",method=\"put\"} 0.5\n");
}

TEST(MetricsTextSerializerTest, GaugeGoldenWithConstantLabelsAndNoLabels) {
  Registry registry;
  BuildGauge().Name("iplus_up").Help("Up.").Register(registry).Add({}).Set(1);
  auto& depth = BuildGauge()
                    .Name("iplus_queue_depth")
                    .Help("Queue depth.")
                    .Labels({{"region", "east"}})
                    .Register(registry);
  depth.Add({{"queue", "a"}}).Set(-2);
  depth.Add({}).Set(std::numeric_limits<double>::infinity());
  EXPECT_EQ(Render(registry),
            "# HELP iplus_queue_depth Queue depth.\n"
            "# TYPE iplus_queue_depth gauge\n"
            "iplus_queue_depth{region=\"east\"} +Inf\n"
            "iplus_queue_depth{queue=\"a\",region=\"east\"} -2\n"
            "# HELP iplus_up Up.\n"
            "# TYPE iplus_up gauge\n"
            "iplus_up 1\n");
}

TEST(MetricsTextSerializerTest, HistogramGolden) {
  Registry registry;
  auto& family =
      BuildHistogram().Name("iplus_handling_seconds").Help("Handling time.").Register(registry);
  auto& h = family.Add({{"method", "Get"}}, Histogram::BucketBoundaries{0.005, 0.5, 1});
  h.Observe(0.001);
  h.Observe(0.25);
  h.Observe(0.5);
  h.Observe(3);
  EXPECT_EQ(Render(registry),
            "# HELP iplus_handling_seconds Handling time.\n"
            "# TYPE iplus_handling_seconds histogram\n"
            "iplus_handling_seconds_bucket{method=\"Get\",le=\"0.005\"} 1\n"
            "iplus_handling_seconds_bucket{method=\"Get\",le=\"0.5\"} 3\n"
            "iplus_handling_seconds_bucket{method=\"Get\",le=\"1\"} 3\n"
            "iplus_handling_seconds_bucket{method=\"Get\",le=\"+Inf\"} 4\n"
            "iplus_handling_seconds_sum{method=\"Get\"} 3.751\n"
            "iplus_handling_seconds_count{method=\"Get\"} 4\n");
}

TEST(MetricsTextSerializerTest, HistogramWithoutLabelsAndEmpty) {
  Registry registry;
  BuildHistogram()
      .Name("iplus_size_bytes")
      .Register(registry)
      .Add({}, ExponentialBuckets(1, 10, 2));
  EXPECT_EQ(Render(registry),
            "# TYPE iplus_size_bytes histogram\n"
            "iplus_size_bytes_bucket{le=\"1\"} 0\n"
            "iplus_size_bytes_bucket{le=\"10\"} 0\n"
            "iplus_size_bytes_bucket{le=\"+Inf\"} 0\n"
            "iplus_size_bytes_sum 0\n"
            "iplus_size_bytes_count 0\n");
}

TEST(MetricsTextSerializerTest, EscapesHelpAndLabelValues) {
  Registry registry;
  BuildCounter()
      .Name("iplus_escape_total")
      .Help("Back\\slash, \"quotes\" and\nnewline.")
      .Register(registry)
      .Add({{"path", "C:\\dir\\\"file\"\nnext"}})
      .Increment();
  EXPECT_EQ(Render(registry),
            "# HELP iplus_escape_total Back\\\\slash, \"quotes\" and\\nnewline.\n"
            "# TYPE iplus_escape_total counter\n"
            "iplus_escape_total{path=\"C:\\\\dir\\\\\\\"file\\\"\\nnext\"} 1\n");
}

TEST(MetricsTextSerializerTest, SkipsEmptyFamiliesAndSortsAcrossInputs) {
  Registry first;
  Registry second;
  BuildCounter().Name("iplus_b_total").Help("b").Register(first).Add({{"x", "1"}}).Increment();
  BuildCounter().Name("iplus_unused_total").Help("never used").Register(first);
  BuildCounter().Name("iplus_a_total").Help("a").Register(second).Add({}).Increment(2);
  BuildCounter().Name("iplus_b_total").Help("b").Register(second).Add({{"x", "2"}}).Increment();
  // A clashing type under the same name is dropped rather than breaking the exposition.
  BuildGauge().Name("iplus_a_total").Register(first).Add({{"y", "1"}}).Set(9);

  std::vector<MetricFamily> families = first.Collect();
  for (auto& family : second.Collect()) families.push_back(family);
  EXPECT_EQ(TextSerializer().Serialize(families),
            "# TYPE iplus_a_total gauge\n"
            "iplus_a_total{y=\"1\"} 9\n"
            "# HELP iplus_b_total b\n"
            "# TYPE iplus_b_total counter\n"
            "iplus_b_total{x=\"1\"} 1\n"
            "iplus_b_total{x=\"2\"} 1\n");
}

TEST(MetricsTextSerializerTest, CustomCollectorsHistogramGetsInfBucketAndTimestamp) {
  MetricFamily family;
  family.name = "ext_latency_seconds";
  family.help = "From elsewhere.";
  family.type = MetricType::kHistogram;
  ClientMetric metric;
  metric.histogram.sample_count = 5;
  metric.histogram.sample_sum = 1.5;
  metric.histogram.bucket.push_back({2, 0.1});
  family.metric.push_back(metric);
  MetricFamily untyped;
  untyped.name = "ext_value";
  ClientMetric sample;
  sample.untyped.value = 7;
  sample.timestamp_ms = 1700000000123;
  untyped.metric.push_back(sample);
  EXPECT_EQ(TextSerializer().Serialize({untyped, family}),
            "# HELP ext_latency_seconds From elsewhere.\n"
            "# TYPE ext_latency_seconds histogram\n"
            "ext_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "ext_latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "ext_latency_seconds_sum 1.5\n"
            "ext_latency_seconds_count 5\n"
            "# TYPE ext_value untyped\n"
            "ext_value 7 1700000000123\n");
}

TEST(MetricsBuildInfoTest, SetsGaugeToOne) {
  Registry registry;
  SetBuildInfo(registry, "registry", "1.2.3");
  EXPECT_EQ(Render(registry),
            "# HELP iplus_build_info Build information of the running service; always 1.\n"
            "# TYPE iplus_build_info gauge\n"
            "iplus_build_info{service=\"registry\",version=\"1.2.3\"} 1\n");
}

}  // namespace
}  // namespace iplus::metrics
