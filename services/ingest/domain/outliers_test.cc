#include "services/ingest/domain/outliers.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace iplus::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::SizeIs;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// 0, 1, ..., n-1.
std::vector<double> Iota(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// --- ComputeRobustStats ---------------------------------------------------------------

TEST(ComputeRobustStatsTest, EmptyIsNullopt) {
  EXPECT_EQ(ComputeRobustStats({}), absl::nullopt);
  EXPECT_EQ(ComputeRobustStats({kNaN, kInf, -kInf}), absl::nullopt);
}

TEST(ComputeRobustStatsTest, OddCount) {
  // {1,2,3,4,100}: median 3; |x - 3| = {2,1,0,1,97}, sorted {0,1,1,2,97} -> MAD 1;
  // mean |x - 3| = (2+1+0+1+97)/5 = 101/5 = 20.2.
  auto s = ComputeRobustStats({100, 4, 1, 3, 2});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->median, 3);
  EXPECT_EQ(s->mad, 1);
  EXPECT_DOUBLE_EQ(s->mean_abs_dev, 20.2);
  EXPECT_EQ(s->n, 5u);
}

TEST(ComputeRobustStatsTest, EvenCountMedianIsMeanOfMiddleTwo) {
  // {10,1,3,2} sorted {1,2,3,10}: median (2+3)/2 = 2.5;
  // |x - 2.5| = {7.5,1.5,0.5,0.5}, sorted {0.5,0.5,1.5,7.5} -> MAD (0.5+1.5)/2 = 1;
  // mean |x - 2.5| = (7.5+1.5+0.5+0.5)/4 = 10/4 = 2.5.
  auto s = ComputeRobustStats({10, 1, 3, 2});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->median, 2.5);
  EXPECT_EQ(s->mad, 1);
  EXPECT_EQ(s->mean_abs_dev, 2.5);
  EXPECT_EQ(s->n, 4u);
}

TEST(ComputeRobustStatsTest, SingleValue) {
  auto s = ComputeRobustStats({7});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->median, 7);
  EXPECT_EQ(s->mad, 0);
  EXPECT_EQ(s->mean_abs_dev, 0);
  EXPECT_EQ(s->n, 1u);
}

TEST(ComputeRobustStatsTest, IgnoresNonFiniteValues) {
  // Finite values {1,3,8}: median 3; |x - 3| = {2,0,5} -> MAD 2; mean 7/3.
  auto s = ComputeRobustStats({1, kNaN, 3, kInf, 8, -kInf});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->median, 3);
  EXPECT_EQ(s->mad, 2);
  EXPECT_DOUBLE_EQ(s->mean_abs_dev, 7.0 / 3.0);
  EXPECT_EQ(s->n, 3u);
}

TEST(ComputeRobustStatsTest, MidpointOfHugeValuesDoesNotOverflow) {
  const double big = std::numeric_limits<double>::max();
  auto s = ComputeRobustStats({big, big});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->median, big);
  EXPECT_EQ(s->mad, 0);
}

// --- ModifiedZScore -------------------------------------------------------------------

TEST(ModifiedZScoreTest, UsesMad) {
  // Stats of {1,2,3,4,100}: median 3, MAD 1.
  const RobustStats s = *ComputeRobustStats({1, 2, 3, 4, 100});
  // M(100) = 0.6745 * (100 - 3) / 1 = 0.6745 * 97 = 65.4265.
  EXPECT_DOUBLE_EQ(ModifiedZScore(100, s), 65.4265);
  // M(4) = 0.6745 * 1 / 1 = 0.6745.
  EXPECT_DOUBLE_EQ(ModifiedZScore(4, s), 0.6745);
  // M(3) = 0; M(1) = 0.6745 * (1 - 3) / 1 = -1.349.
  EXPECT_EQ(ModifiedZScore(3, s), 0);
  EXPECT_DOUBLE_EQ(ModifiedZScore(1, s), -1.349);
}

TEST(ModifiedZScoreTest, EvenCount) {
  // Stats of {1,2,3,10}: median 2.5, MAD 1. M(10) = 0.6745 * 7.5 = 5.05875.
  const RobustStats s = *ComputeRobustStats({1, 2, 3, 10});
  EXPECT_DOUBLE_EQ(ModifiedZScore(10, s), 5.05875);
}

TEST(ModifiedZScoreTest, FallsBackToMeanAbsoluteDeviationWhenMadIsZero) {
  // {5,5,5,5,6,9}: median (5+5)/2 = 5; |x - 5| = {0,0,0,0,1,4} -> MAD (0+0)/2 = 0;
  // mean |x - 5| = 5/6. Fallback M = (x - 5) / (1.253314 * 5/6):
  //   M(10) = 5 / (1.253314 * 5/6) = 6 / 1.253314 ≈ 4.78730
  //   M(6)  = 1 / (1.253314 * 5/6) = 1.2 / 1.253314 ≈ 0.95746
  //   M(0)  = -5 / (1.253314 * 5/6) ≈ -4.78730
  const RobustStats s = *ComputeRobustStats({5, 5, 5, 5, 6, 9});
  EXPECT_EQ(s.median, 5);
  EXPECT_EQ(s.mad, 0);
  EXPECT_DOUBLE_EQ(s.mean_abs_dev, 5.0 / 6.0);
  EXPECT_NEAR(ModifiedZScore(10, s), 4.78730, 1e-5);
  EXPECT_NEAR(ModifiedZScore(6, s), 0.95746, 1e-5);
  EXPECT_NEAR(ModifiedZScore(0, s), -4.78730, 1e-5);
  EXPECT_EQ(ModifiedZScore(5, s), 0);
}

TEST(ModifiedZScoreTest, AllEqualReferenceGivesZeroOrInfinity) {
  const RobustStats s = *ComputeRobustStats({4, 4, 4});
  EXPECT_EQ(ModifiedZScore(4, s), 0);
  EXPECT_EQ(ModifiedZScore(4.5, s), kInf);
  EXPECT_EQ(ModifiedZScore(3, s), -kInf);
  EXPECT_TRUE(std::isnan(ModifiedZScore(kNaN, s)));
}

// --- CheckAgainst ---------------------------------------------------------------------

TEST(CheckAgainstTest, FlagsGrossOutlier) {
  auto c = CheckAgainst(100, {1, 2, 3, 4, 5}, /*min_points=*/5);
  // {1..5}: median 3, |x - 3| = {2,1,0,1,2} -> MAD 1. M(100) = 0.6745 * 97 = 65.4265.
  ASSERT_TRUE(c.has_value());
  EXPECT_DOUBLE_EQ(c->score, 65.4265);
  EXPECT_EQ(c->threshold, 3.5);
  EXPECT_TRUE(c->flagged);

  // M(6) = 0.6745 * 3 = 2.0235: not flagged.
  c = CheckAgainst(6, {1, 2, 3, 4, 5}, 5);
  ASSERT_TRUE(c.has_value());
  EXPECT_DOUBLE_EQ(c->score, 2.0235);
  EXPECT_FALSE(c->flagged);

  // Same value below the median: M(-2) = 0.6745 * -5 = -3.3725, |M| < 3.5.
  c = CheckAgainst(-2, {1, 2, 3, 4, 5}, 5);
  ASSERT_TRUE(c.has_value());
  EXPECT_DOUBLE_EQ(c->score, -3.3725);
  EXPECT_FALSE(c->flagged);
}

TEST(CheckAgainstTest, MinPoints) {
  EXPECT_EQ(CheckAgainst(100, {1, 2, 3, 4}, /*min_points=*/5), absl::nullopt);
  EXPECT_TRUE(CheckAgainst(100, {1, 2, 3, 4, 5}, 5).has_value());
  // Non-finite reference values do not count towards min_points.
  EXPECT_EQ(CheckAgainst(100, {1, 2, 3, 4, kNaN}, 5), absl::nullopt);
  // No reference at all is never enough, even with min_points 0.
  EXPECT_EQ(CheckAgainst(100, {}, 0), absl::nullopt);
}

TEST(CheckAgainstTest, ThresholdIsExclusive) {
  // {-0.6745, 0, 0.6745}: median 0, |x| = {0.6745, 0, 0.6745} -> MAD 0.6745.
  // M(3.5) = 0.6745 * 3.5 / 0.6745 = 3.5 exactly: on the threshold, not flagged.
  const std::vector<double> ref = {-0.6745, 0, 0.6745};
  auto at = CheckAgainst(3.5, ref, 3);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->score, 3.5);
  EXPECT_FALSE(at->flagged);
  auto below = CheckAgainst(-3.5, ref, 3);
  ASSERT_TRUE(below.has_value());
  EXPECT_EQ(below->score, -3.5);
  EXPECT_FALSE(below->flagged);
  // Just above it in either direction is flagged.
  EXPECT_TRUE(CheckAgainst(3.5001, ref, 3)->flagged);
  EXPECT_TRUE(CheckAgainst(-3.5001, ref, 3)->flagged);
}

TEST(CheckAgainstTest, CustomThreshold) {
  // {1,2,3,4,100}: M(4) = 0.6745 exactly (MAD 1).
  const std::vector<double> ref = {1, 2, 3, 4, 100};
  EXPECT_FALSE(CheckAgainst(4, ref, 5, /*threshold=*/0.6745)->flagged);
  EXPECT_TRUE(CheckAgainst(4, ref, 5, /*threshold=*/0.67)->flagged);
  EXPECT_EQ(CheckAgainst(4, ref, 5, 0.67)->threshold, 0.67);
}

TEST(CheckAgainstTest, AllEqualReference) {
  const std::vector<double> ref = {2, 2, 2, 2};
  auto same = CheckAgainst(2, ref, 4);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->score, 0);
  EXPECT_FALSE(same->flagged);
  auto higher = CheckAgainst(2.01, ref, 4);
  EXPECT_EQ(higher->score, kInf);
  EXPECT_TRUE(higher->flagged);
  auto lower = CheckAgainst(1.99, ref, 4);
  EXPECT_EQ(lower->score, -kInf);
  EXPECT_TRUE(lower->flagged);
}

TEST(CheckAgainstTest, NaNIsNeverFlagged) {
  auto c = CheckAgainst(kNaN, {1, 2, 3}, 3);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(std::isnan(c->score));
  EXPECT_FALSE(c->flagged);
}

// --- CheckPlausible -------------------------------------------------------------------

TEST(CheckPlausibleTest, NoBoundIsNullopt) {
  EXPECT_EQ(CheckPlausible(5, PlausibleRange{}), absl::nullopt);
}

TEST(CheckPlausibleTest, BothBounds) {
  const PlausibleRange range{0.0, 100.0};  // width 100
  auto inside = CheckPlausible(50, range);
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->score, 0);
  EXPECT_EQ(inside->threshold, 0);
  EXPECT_FALSE(inside->flagged);
  // Bounds are inclusive.
  EXPECT_FALSE(CheckPlausible(0, range)->flagged);
  EXPECT_FALSE(CheckPlausible(100, range)->flagged);

  // Above: (150 - 100) / (100 - 0) = 0.5 range widths.
  auto above = CheckPlausible(150, range);
  EXPECT_EQ(above->score, 0.5);
  EXPECT_TRUE(above->flagged);
  // Below: (-20 - 0) / 100 = -0.2.
  auto below = CheckPlausible(-20, range);
  EXPECT_EQ(below->score, -0.2);
  EXPECT_TRUE(below->flagged);
}

TEST(CheckPlausibleTest, OneSidedUsesSignedDistance) {
  const PlausibleRange non_negative{0.0, absl::nullopt};
  EXPECT_FALSE(CheckPlausible(1e9, non_negative)->flagged);
  auto negative = CheckPlausible(-3, non_negative);
  EXPECT_EQ(negative->score, -3);  // -3 - 0
  EXPECT_TRUE(negative->flagged);

  const PlausibleRange percent_cap{absl::nullopt, 100.0};
  EXPECT_FALSE(CheckPlausible(-1e9, percent_cap)->flagged);
  auto over = CheckPlausible(112.5, percent_cap);
  EXPECT_EQ(over->score, 12.5);  // 112.5 - 100
  EXPECT_TRUE(over->flagged);
}

TEST(CheckPlausibleTest, DegenerateRangeUsesSignedDistance) {
  const PlausibleRange exactly_one{1.0, 1.0};
  EXPECT_FALSE(CheckPlausible(1, exactly_one)->flagged);
  auto c = CheckPlausible(3, exactly_one);
  EXPECT_EQ(c->score, 2);  // 3 - 1; the width 0 is not divided by
  EXPECT_TRUE(c->flagged);
}

TEST(CheckPlausibleTest, TinyExcessIsStillFlagged) {
  // The score underflows to 0 relative to a huge width, but the value is outside.
  const PlausibleRange range{0.0, 1e300};
  auto c = CheckPlausible(std::nextafter(1e300, kInf), range);
  EXPECT_TRUE(c->flagged);
}

// --- PeerStats ------------------------------------------------------------------------

TEST(PeerStatsTest, UnknownKey) {
  PeerStats peers;
  EXPECT_FALSE(peers.Has("C26|2024Q1|rev"));
  EXPECT_EQ(peers.Count("C26|2024Q1|rev"), 0u);
  EXPECT_EQ(peers.Check("C26|2024Q1|rev", 1), absl::nullopt);
  EXPECT_THAT(peers.Sample("C26|2024Q1|rev"), SizeIs(0));
}

TEST(PeerStatsTest, ExactBelowCapacity) {
  PeerStats peers(/*capacity=*/8);
  peers.AddMany("k", {1, 2, 3, 4});
  peers.Add("k", 100);
  EXPECT_TRUE(peers.Has("k"));
  EXPECT_EQ(peers.Count("k"), 5u);
  // Below capacity the sample is every value, in order.
  EXPECT_THAT(peers.Sample("k"), ElementsAre(1, 2, 3, 4, 100));
  // {1,2,3,4,100}: median 3, MAD 1. M(100) = 65.4265, M(4) = 0.6745.
  auto c = peers.Check("k", 100, /*min_points=*/5);
  ASSERT_TRUE(c.has_value());
  EXPECT_DOUBLE_EQ(c->score, 65.4265);
  EXPECT_TRUE(c->flagged);
  EXPECT_DOUBLE_EQ(peers.Check("k", 4, 5)->score, 0.6745);
}

TEST(PeerStatsTest, MinPointsAndValueNotIncluded) {
  PeerStats peers;
  peers.AddMany("k", {1, 2, 3, 4});
  EXPECT_EQ(peers.Check("k", 3, /*min_points=*/5), absl::nullopt);
  // Checking does not add the value.
  EXPECT_EQ(peers.Count("k"), 4u);
  peers.Add("k", 5);
  EXPECT_TRUE(peers.Check("k", 3, 5).has_value());
  // The default min_points is 10.
  EXPECT_EQ(peers.Check("k", 3), absl::nullopt);
}

TEST(PeerStatsTest, IgnoresNonFiniteValues) {
  PeerStats peers;
  peers.Add("k", kNaN);
  EXPECT_FALSE(peers.Has("k"));
  peers.AddMany("k", {1, kInf, 2, kNaN});
  EXPECT_EQ(peers.Count("k"), 2u);
  EXPECT_THAT(peers.Sample("k"), ElementsAre(1, 2));
}

TEST(PeerStatsTest, KeysAreIndependent) {
  PeerStats peers;
  peers.AddMany("C26|2024Q1|revenue", Iota(20));
  peers.AddMany("C27|2024Q1|revenue", {1000, 1001, 1002});
  EXPECT_EQ(peers.KeyCount(), 2u);
  EXPECT_EQ(peers.Count("C26|2024Q1|revenue"), 20u);
  EXPECT_EQ(peers.Count("C27|2024Q1|revenue"), 3u);
  // 0..19: median 9.5, MAD 5 (deviations 0.5..9.5 twice; middle two 4.5 and 5.5);
  // M(1000) = 0.6745 * 990.5 / 5 = 133.61845.
  EXPECT_DOUBLE_EQ(peers.Check("C26|2024Q1|revenue", 1000)->score, 0.6745 * 990.5 / 5);
}

TEST(PeerStatsTest, ReservoirIsBoundedAndCountKeepsCounting) {
  PeerStats peers(/*capacity=*/100);
  peers.AddMany("k", Iota(10000));
  EXPECT_EQ(peers.Count("k"), 10000u);
  const std::vector<double> sample = peers.Sample("k");
  ASSERT_THAT(sample, SizeIs(100));
  // A uniform sample of 0..9999 is spread over the whole stream, not just its start:
  // its mean is 4999.5 with a standard error of about 2887 / 10 ≈ 289.
  double sum = 0;
  int late = 0;
  for (double v : sample) {
    sum += v;
    if (v >= 5000) ++late;
  }
  EXPECT_NEAR(sum / 100, 4999.5, 1000);
  EXPECT_GT(late, 25);
  EXPECT_LT(late, 75);
}

TEST(PeerStatsTest, DeterministicGivenSeed) {
  PeerStats a(/*capacity=*/16, /*seed=*/42);
  PeerStats b(/*capacity=*/16, /*seed=*/42);
  PeerStats c(/*capacity=*/16, /*seed=*/43);
  for (int i = 0; i < 1000; ++i) {
    a.Add("k", i);
    // Values added to other keys in between do not change the sample of "k".
    b.Add("other", -i);
    b.Add("k", i);
    c.Add("k", i);
  }
  EXPECT_THAT(a.Sample("k"), ElementsAreArray(b.Sample("k")));
  EXPECT_NE(a.Sample("k"), c.Sample("k"));
  // Different keys of one instance draw different samples from the same stream.
  PeerStats d(/*capacity=*/16, /*seed=*/42);
  d.AddMany("k1", Iota(1000));
  d.AddMany("k2", Iota(1000));
  EXPECT_NE(d.Sample("k1"), d.Sample("k2"));
}

TEST(PeerStatsTest, ZeroCapacityKeepsOneValue) {
  PeerStats peers(/*capacity=*/0);
  peers.AddMany("k", {1, 2, 3});
  EXPECT_THAT(peers.Sample("k"), SizeIs(1));
  EXPECT_EQ(peers.Count("k"), 3u);
}

TEST(PeerStatsTest, LazyRecomputeFollowsTheDocumentedRule) {
  PeerStats peers;
  peers.AddMany("k", Iota(100));
  // 0..99: median (49+50)/2 = 49.5; deviations k+0.5 (k = 0..49), each twice; the middle
  // two sorted deviations are 24.5 and 25.5 -> MAD 25. M(99.5) = 0.6745 * 50 / 25 = 1.349.
  EXPECT_DOUBLE_EQ(peers.Check("k", 99.5)->score, 1.349);

  // Five more values change 5 of 105 sampled values, not more than 5%: the cached
  // statistics are still used, so the score is unchanged.
  peers.AddMany("k", {1000, 1000, 1000, 1000, 1000});
  EXPECT_DOUBLE_EQ(peers.Check("k", 99.5)->score, 1.349);

  // A sixth makes 6 of 106 (> 5%): recomputed. 0..99 plus six 1000s: median
  // (52+53)/2 = 52.5; deviations of 0..99 are j+0.5 twice for j = 0..46 and 47.5..52.5
  // once, plus 947.5 six times; the middle two (sorted positions 52 and 53) are both
  // 26.5 -> MAD 26.5. M(99.5) = 0.6745 * 47 / 26.5 ≈ 1.196283.
  peers.Add("k", 1000);
  EXPECT_DOUBLE_EQ(peers.Check("k", 99.5)->score, 0.6745 * 47 / 26.5);
}

TEST(PeerStatsTest, LazyRecomputeStillFlagsGrossOutlier) {
  PeerStats peers;  // capacity 512
  // Values 90..110 in a repeating pattern, far more than the capacity.
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) values.push_back(90 + (i * 7) % 21);
  peers.AddMany("k", values);
  ASSERT_THAT(peers.Sample("k"), SizeIs(512));
  ASSERT_FALSE(peers.Check("k", 100)->flagged);  // caches the statistics

  // A handful of new values, below the recompute threshold, including extreme ones.
  peers.AddMany("k", {1e6, 1e6, 100, 101, 99});
  auto gross = peers.Check("k", 1e6);
  ASSERT_TRUE(gross.has_value());
  EXPECT_TRUE(gross->flagged);
  EXPECT_GT(gross->score, 1000);
  auto low = peers.Check("k", -1e6);
  EXPECT_TRUE(low->flagged);
  EXPECT_LT(low->score, -1000);
  EXPECT_FALSE(peers.Check("k", 101)->flagged);
}

TEST(PeerStatsTest, ConcurrentAddAndCheck) {
  PeerStats peers(/*capacity=*/64);
  constexpr int kWriters = 4;
  constexpr int kReaders = 3;
  constexpr int kPerWriter = 20000;
  const std::vector<std::string> keys = {"C26|2024Q1|revenue", "C26|2024Q2|revenue",
                                         "C27|2024Q1|revenue"};
  std::atomic<bool> done{false};
  std::atomic<int> flagged{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        peers.Add(keys[static_cast<size_t>(i) % keys.size()], 100 + (i + w) % 10);
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      while (!done.load()) {
        for (const auto& key : keys) {
          auto c = peers.Check(key, 1e9);
          if (c.has_value() && c->flagged) flagged.fetch_add(1);
          peers.Count(key);
          peers.Has(key);
        }
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  done.store(true);
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  size_t total = 0;
  for (const auto& key : keys) {
    total += peers.Count(key);
    EXPECT_THAT(peers.Sample(key), SizeIs(64));
    EXPECT_TRUE(peers.Check(key, 1e9)->flagged);
  }
  EXPECT_EQ(total, static_cast<size_t>(kWriters * kPerWriter));
  // 20000 = 6667 + 6667 + 6666 per writer.
  EXPECT_EQ(peers.Count(keys[0]), static_cast<size_t>(kWriters * 6667));
  EXPECT_EQ(peers.Count(keys[2]), static_cast<size_t>(kWriters * 6666));
}

TEST(PeerStatsTest, Clear) {
  PeerStats peers;
  peers.AddMany("a", Iota(20));
  peers.AddMany("b", Iota(20));
  peers.Clear();
  EXPECT_EQ(peers.KeyCount(), 0u);
  EXPECT_FALSE(peers.Has("a"));
  EXPECT_EQ(peers.Count("b"), 0u);
  EXPECT_EQ(peers.Check("a", 1), absl::nullopt);
  peers.Add("a", 1);
  EXPECT_EQ(peers.Count("a"), 1u);
}

}  // namespace
}  // namespace iplus::ingest
