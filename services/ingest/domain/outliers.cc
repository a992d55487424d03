#include "services/ingest/domain/outliers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace iplus::ingest {
namespace {

// Φ⁻¹(0.75): E[MAD] = kMadScale · σ for normal data.
constexpr double kMadScale = 0.6745;
// √(π/2): σ = kMeanAbsDevScale · E|X − μ| for normal data.
constexpr double kMeanAbsDevScale = 1.253314;

// The cache of a sample is stale once more than 1/kStaleFraction of it changed, or once
// kMaxStaleChanges values changed, whichever comes first.
constexpr size_t kStaleFraction = 20;  // 5%
constexpr size_t kMaxStaleChanges = 32;

// Median of values[0, n), n > 0, reordering them. The midpoint of the two middle values
// is computed as a/2 + b/2, which cannot overflow.
double MedianInPlace(std::vector<double>& values) {
  const size_t n = values.size();
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(values.begin(), mid, values.end());
  const double upper = *mid;
  if (n % 2 == 1) return upper;
  // After nth_element every element before `mid` is <= *mid: the lower middle value is
  // the largest of them.
  const double lower = *std::max_element(values.begin(), mid);
  return lower / 2 + upper / 2;
}

// SplitMix64 (Steele, Lea & Flood 2014): 64 bits of state, fully specified, so samples
// are reproducible across platforms and library versions.
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a: a hash that, unlike absl::Hash, is the same in every process.
uint64_t StableHash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

OutlierCheck Score(double x, const RobustStats& s, double threshold) {
  const double score = ModifiedZScore(x, s);
  return OutlierCheck{score, threshold, std::abs(score) > threshold};
}

}  // namespace

absl::optional<RobustStats> ComputeRobustStats(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty()) return absl::nullopt;
  RobustStats s;
  s.n = values.size();
  s.median = MedianInPlace(values);
  double sum = 0;
  for (double& v : values) {
    v = std::abs(v - s.median);
    sum += v;
  }
  s.mean_abs_dev = sum / static_cast<double>(s.n);
  s.mad = MedianInPlace(values);
  return s;
}

double ModifiedZScore(double x, const RobustStats& s) {
  const double dev = x - s.median;
  if (s.mad > 0) return kMadScale * dev / s.mad;
  if (s.mean_abs_dev > 0) return dev / (kMeanAbsDevScale * s.mean_abs_dev);
  if (dev == 0) return 0;
  if (std::isnan(dev)) return dev;
  return dev > 0 ? std::numeric_limits<double>::infinity()
                 : -std::numeric_limits<double>::infinity();
}

absl::optional<OutlierCheck> CheckAgainst(double x, const std::vector<double>& reference,
                                          size_t min_points, double threshold) {
  // Cheap rejection before copying: non-finite values only lower the count.
  if (reference.size() < min_points) return absl::nullopt;
  absl::optional<RobustStats> stats = ComputeRobustStats(reference);
  if (!stats.has_value() || stats->n < min_points) return absl::nullopt;
  return Score(x, *stats, threshold);
}

absl::optional<OutlierCheck> CheckPlausible(double x, const PlausibleRange& range) {
  if (!range.min.has_value() && !range.max.has_value()) return absl::nullopt;
  OutlierCheck check{0, 0, false};
  double outside = 0;  // signed distance outside the range; 0 inside
  if (range.max.has_value() && x > *range.max) {
    outside = x - *range.max;
  } else if (range.min.has_value() && x < *range.min) {
    outside = x - *range.min;
  } else {
    return check;
  }
  check.flagged = true;
  check.score = outside;
  if (range.min.has_value() && range.max.has_value() && *range.max > *range.min) {
    check.score = outside / (*range.max - *range.min);
  }
  return check;
}

PeerStats::PeerStats(size_t capacity, uint64_t seed)
    : capacity_(std::max<size_t>(capacity, 1)), seed_(seed) {}

void PeerStats::Add(const std::string& key, double value) {
  if (!std::isfinite(value)) return;
  absl::MutexLock lock(&mu_);
  AddLocked(key, value);
}

void PeerStats::AddMany(const std::string& key, const std::vector<double>& values) {
  absl::MutexLock lock(&mu_);
  for (double v : values) {
    if (std::isfinite(v)) AddLocked(key, v);
  }
}

void PeerStats::AddLocked(const std::string& key, double value) {
  AddToReservoir(FindOrCreateLocked(key), capacity_, value);
}

PeerStats::Reservoir& PeerStats::FindOrCreateLocked(const std::string& key) {
  auto it = reservoirs_.find(key);
  if (it != reservoirs_.end()) return it->second;
  Reservoir& r = reservoirs_[key];
  r.rng_state = seed_ ^ StableHash(key);
  return r;
}

void PeerStats::AddToReservoir(Reservoir& r, size_t capacity, double value) {
  ++r.seen;
  if (r.sample.size() < capacity) {
    // Grows on demand: most keys never see `capacity` values.
    r.sample.push_back(value);
    ++r.changes_since_stats;
    return;
  }
  // Algorithm R: the seen-th value replaces a random slot with probability
  // capacity / seen. The modulo bias is below seen / 2^64, negligible here.
  const uint64_t j = SplitMix64(r.rng_state) % r.seen;
  if (j < capacity) {
    r.sample[j] = value;
    ++r.changes_since_stats;
  }
}

bool PeerStats::Stale(const Reservoir& r) {
  if (!r.stats.has_value()) return true;
  const size_t changes = r.changes_since_stats;
  return changes * kStaleFraction > r.sample.size() || changes >= kMaxStaleChanges;
}

absl::optional<OutlierCheck> PeerStats::Check(const std::string& key, double value,
                                              size_t min_points, double threshold) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = reservoirs_.find(key);
    if (it == reservoirs_.end() || it->second.sample.size() < min_points) return absl::nullopt;
    if (!Stale(it->second)) return Score(value, *it->second.stats, threshold);
  }
  // Recompute under the exclusive lock. The key may have changed or gone in between, so
  // look again; another Check may also have refreshed the cache already.
  absl::MutexLock lock(&mu_);
  auto it = reservoirs_.find(key);
  if (it == reservoirs_.end() || it->second.sample.size() < min_points) return absl::nullopt;
  const Reservoir& r = it->second;
  if (Stale(r)) {
    r.stats = ComputeRobustStats(r.sample);
    r.changes_since_stats = 0;
  }
  if (!r.stats.has_value()) return absl::nullopt;  // only when the sample is empty
  return Score(value, *r.stats, threshold);
}

size_t PeerStats::Count(const std::string& key) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = reservoirs_.find(key);
  return it == reservoirs_.end() ? 0 : static_cast<size_t>(it->second.seen);
}

bool PeerStats::Has(const std::string& key) const {
  absl::ReaderMutexLock lock(&mu_);
  return reservoirs_.contains(key);
}

std::vector<double> PeerStats::Sample(const std::string& key) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = reservoirs_.find(key);
  return it == reservoirs_.end() ? std::vector<double>{} : it->second.sample;
}

size_t PeerStats::KeyCount() const {
  absl::ReaderMutexLock lock(&mu_);
  return reservoirs_.size();
}

void PeerStats::Clear() {
  absl::MutexLock lock(&mu_);
  reservoirs_.clear();
}

}  // namespace iplus::ingest
