// Evaluation requests from arbitrary bytes, the way the gRPC adapter validates them,
// then evaluated over a small in-memory Dataset. The input is a 2-byte little-endian
// length L, L bytes of a serialized v1::CreateTargetRequest, and the rest a serialized
// v1::BreakdownRequest (scope, period, dimension). The target's request_id bytes, when
// present, choose which of six enterprises report which values (so the data varies with
// the input); without one, a fixed pattern is used.
//
// Invariants:
//  - TargetFromProto is OK or INVALID_ARGUMENT naming only target.baseline_period /
//    target.deadline_period; ValidateTarget is OK or INVALID_ARGUMENT naming only fields
//    under "target."; a valid target survives ToProto/TargetFromProto unchanged;
//  - ValidateScope is OK or INVALID_ARGUMENT naming fields under "scope.";
//    ValidateEvaluationPeriod is OK or INVALID_ARGUMENT naming "period";
//  - for a valid target, scope and period (at most 64 periods after the baseline),
//    Evaluate gives a result of that target and period with coverage ratios in [0, 1],
//    reporters within the population, a panel no larger than either period's reporters,
//    a status (never unspecified), an applied panel mode, one data version per period
//    read and points in period order between the baseline and the period; Breakdown's
//    groups are non-empty and their populations add up to the total's;
//  - CheckEnterprise with the target's rule meets only with both values present, and
//    always explains itself.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/refdata/period.h"
#include "common/status/status.h"
#include "fuzz/fuzz_check.h"
#include "iplus/evaluation/v1/evaluation.pb.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/domain/evaluate.h"
#include "services/evaluation/domain/model.h"

namespace {

namespace ev = iplus::evaluation;
namespace v1 = iplus::evaluation::v1;

void CheckFields(const absl::Status& s, const std::string& prefix, const char* what) {
  const absl::StatusCode c = s.code();
  FUZZ_CHECK(c == absl::StatusCode::kOk || c == absl::StatusCode::kInvalidArgument,
             absl::StrCat(what, ": ", s.ToString()));
  if (s.ok()) return;
  auto violations = iplus::FieldViolations(s);
  FUZZ_CHECK(!violations.empty(), absl::StrCat(what, " names no field: ", s.ToString()));
  for (const auto& v : violations) {
    FUZZ_CHECK(absl::StartsWith(v.field, prefix),
               absl::StrCat(what, " names ", v.field, ", not under ", prefix));
  }
}

bool Ratio(double r) { return std::isfinite(r) && r >= 0 && r <= 1; }

// Six enterprises in two provinces and two divisions, with values of the target's
// indicator in every period from the baseline to `last`.
ev::Dataset MakeData(const ev::Target& t, const ev::Period& last, const std::string& pattern) {
  ev::Dataset d;
  const char* regions[] = {"440103", "440106", "440305", "350102", "350203", "440103"};
  const char* industries[] = {"C34", "C26", "C3411", "C34", "C39", "I64"};
  for (int i = 0; i < 6; ++i) {
    ev::EnterpriseAttrs a;
    a.region = regions[i];
    a.industry = industries[i];
    a.kind = static_cast<uint8_t>(i == 5 ? 7 : 1);
    a.ownership = static_cast<uint8_t>(1 + i % 3);
    a.size = static_cast<uint8_t>(1 + i % 4);
    a.key = i % 2 == 0;
    a.archived = i == 4;
    d.Upsert(absl::StrCat("code-", i), a);
  }
  const bool boolean =
      t.aggregation == ev::Aggregation::kShareTrue || t.aggregation == ev::Aggregation::kCountTrue;
  int p_index = 0;
  int64_t version = 1;
  for (ev::Period p = t.baseline; p <= last; p = p.Next(), ++p_index) {
    std::vector<std::pair<int32_t, double>> column;
    for (int32_t i = 0; i < 6; ++i) {
      const size_t k = static_cast<size_t>(p_index * 6 + i);
      const unsigned char b = pattern.empty()
                                  ? static_cast<unsigned char>(37 * k + 11)
                                  : static_cast<unsigned char>(pattern[k % pattern.size()] + k);
      if (b % 5 == 0) continue;  // no report
      column.emplace_back(i, boolean ? (b & 1) : static_cast<double>(b) / 3.0 - 20.0);
    }
    d.ReplaceColumn(t.indicator, p, column, version++);
  }
  d.set_registry_version(7);
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t target_len = static_cast<size_t>(data[0]) | (static_cast<size_t>(data[1]) << 8);
  if (target_len > size - 2) return 0;
  v1::CreateTargetRequest create;
  v1::BreakdownRequest request;
  if (!create.ParseFromArray(data + 2, static_cast<int>(target_len)) ||
      !request.ParseFromArray(data + 2 + target_len, static_cast<int>(size - 2 - target_len))) {
    return 0;
  }

  // The target, as CreateTarget validates it.
  auto parsed = ev::TargetFromProto(create.target());
  CheckFields(parsed.status(), "target.", "TargetFromProto");
  if (!parsed.ok()) {
    for (const auto& v : iplus::FieldViolations(parsed.status())) {
      FUZZ_CHECK(v.field == "target.baseline_period" || v.field == "target.deadline_period",
                 v.field);
    }
    return 0;
  }
  ev::Target target = *parsed;
  ev::IndicatorInfo info;
  info.id = target.indicator;
  info.boolean = target.aggregation == ev::Aggregation::kShareTrue ||
                 target.aggregation == ev::Aggregation::kCountTrue;
  info.granularity = target.baseline.granularity;
  const absl::Status valid = ev::ValidateTarget(target, info, "target");
  CheckFields(valid, "target.", "ValidateTarget");
  {
    v1::Target out;
    ev::ToProto(target, &out);
    auto back = ev::TargetFromProto(out);
    FUZZ_CHECK(back.ok(), back.status().ToString());
    FUZZ_CHECK(ev::SameContent(*back, target), "target changed in a round trip");
  }

  // The scope and period, as Evaluate and Breakdown validate them.
  const ev::Scope scope = ev::ScopeFromProto(request.scope());
  const absl::Status scope_ok = ev::ValidateScope(scope, "scope");
  CheckFields(scope_ok, "scope.", "ValidateScope");
  auto period = ev::ParsePeriodField(request.period(), "period");
  CheckFields(period.status(), "period", "ParsePeriodField");
  if (!valid.ok() || !scope_ok.ok() || !period.ok()) return 0;
  const absl::Status period_ok = ev::ValidateEvaluationPeriod(target, *period, "period");
  CheckFields(period_ok, "period", "ValidateEvaluationPeriod");
  if (!period_ok.ok()) return 0;
  if (iplus::refdata::PeriodOrdinal(*period) - iplus::refdata::PeriodOrdinal(target.baseline) >
      64) {
    return 0;
  }

  const ev::Dataset d = MakeData(target, *period, create.request_id());
  const ev::Result r = ev::Evaluate(target, scope, *period, d);
  const std::string where = absl::StrCat(target.id, " at ", period->ToString());
  FUZZ_CHECK(r.target_id == target.id && r.period == *period, where);
  FUZZ_CHECK(r.status != ev::Status::kUnspecified, where);
  FUZZ_CHECK(r.panel_mode != ev::PanelMode::kUnspecified, where);
  FUZZ_CHECK(Ratio(r.coverage_ratio) && Ratio(r.baseline_coverage_ratio),
             absl::StrCat(where, " coverage ", r.coverage_ratio, " ", r.baseline_coverage_ratio));
  FUZZ_CHECK(r.population >= 0 && r.current_reporters <= r.population &&
                 r.baseline_reporters <= r.population,
             where);
  FUZZ_CHECK(r.panel_size <= r.current_reporters && r.panel_size <= r.baseline_reporters, where);
  const int periods =
      iplus::refdata::PeriodOrdinal(*period) - iplus::refdata::PeriodOrdinal(target.baseline) + 1;
  FUZZ_CHECK(static_cast<int>(r.ingest_versions.size()) == periods,
             absl::StrCat(where, ": ", r.ingest_versions.size(), " versions"));
  for (size_t i = 0; i < r.points.size(); ++i) {
    FUZZ_CHECK(r.points[i].period >= target.baseline && r.points[i].period <= *period, where);
    if (i > 0) FUZZ_CHECK(r.points[i - 1].period < r.points[i].period, where);
  }
  v1::Evaluation proto;
  ev::ToProto(r, &proto);
  FUZZ_CHECK(proto.target_id() == target.id, where);

  const int dimension = static_cast<int>(request.dimension());
  if (dimension >= 1 && dimension <= 5) {
    const ev::BreakdownResult b =
        ev::Breakdown(target, scope, *period, static_cast<ev::Dimension>(dimension), d);
    int64_t sum = 0;
    for (const auto& g : b.groups) {
      FUZZ_CHECK(!g.key.empty() && g.result.population > 0, where);
      sum += g.result.population;
    }
    FUZZ_CHECK(sum == b.total.population,
               absl::StrCat(where, ": groups ", sum, " total ", b.total.population));
  }

  // The check funds asks for, with this target's rule and enterprise 0's values.
  if (ev::ValidateRule(target.rule, "rule").ok()) {
    auto value = [&](const ev::Period& p) -> std::optional<double> {
      const ev::Column* c = d.column(target.indicator, p);
      if (c == nullptr || c->present.empty() || !c->present[0]) return std::nullopt;
      return c->values[0];
    };
    const ev::CheckResult c =
        ev::CheckEnterprise(target.indicator, target.baseline, *period, value(target.baseline),
                            value(*period), target.rule);
    FUZZ_CHECK(!c.explanation.empty(), where);
    if (c.meets) FUZZ_CHECK(c.current_value.has_value(), where);
  }
  return 0;
}
