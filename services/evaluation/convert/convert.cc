#include "services/evaluation/convert/convert.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "google/protobuf/util/time_util.h"

namespace iplus::evaluation {
namespace {

namespace cv1 = ::iplus::common::v1;
using google::protobuf::util::TimeUtil;

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time GetTime(const google::protobuf::Timestamp& t) {
  // Out-of-range timestamps (a corrupt or hostile message) become the epoch rather than
  // overflowing.
  if (t.seconds() < TimeUtil::kTimestampMinSeconds ||
      t.seconds() > TimeUtil::kTimestampMaxSeconds || t.nanos() < 0 || t.nanos() > 999999999) {
    return absl::UnixEpoch();
  }
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Bit-exact comparison, so that NaN equals NaN and 0 differs from -0: content equality,
// not numeric equality.
bool SameDouble(double a, double b) {
  uint64_t x = 0, y = 0;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

}  // namespace

absl::StatusOr<Period> ParsePeriodField(absl::string_view text, absl::string_view field) {
  if (text.empty()) return InvalidField(field, "must be set, e.g. \"2018\"");
  auto p = refdata::ParsePeriod(text);
  if (!p.ok()) return InvalidField(field, p.status().message());
  return *p;
}

Rule RuleFromProto(const v1::Rule& in) {
  Rule r;
  switch (in.kind_case()) {
    case v1::Rule::kAbsolute:
      r.kind = Rule::Kind::kAbsolute;
      r.comparison = static_cast<Comparison>(in.absolute().comparison());
      r.value = in.absolute().value();
      break;
    case v1::Rule::kMultiple:
      r.kind = Rule::Kind::kMultiple;
      r.value = in.multiple().multiple();
      break;
    case v1::Rule::kRelativeChange:
      r.kind = Rule::Kind::kRelativeChange;
      r.value = in.relative_change().change();
      break;
    case v1::Rule::KIND_NOT_SET:
      break;
  }
  return r;
}

void ToProto(const Rule& rule, v1::Rule* out) {
  out->Clear();
  switch (rule.kind) {
    case Rule::Kind::kAbsolute:
      out->mutable_absolute()->set_comparison(static_cast<v1::Comparison>(rule.comparison));
      out->mutable_absolute()->set_value(rule.value);
      break;
    case Rule::Kind::kMultiple:
      out->mutable_multiple()->set_multiple(rule.value);
      break;
    case Rule::Kind::kRelativeChange:
      out->mutable_relative_change()->set_change(rule.value);
      break;
    case Rule::Kind::kUnset:
      break;
  }
}

Population PopulationFromProto(const v1::Population& in) {
  Population p;
  p.kind = static_cast<int>(in.kind());
  p.key_only = in.key_only();
  p.ownership = static_cast<int>(in.ownership());
  p.size = static_cast<int>(in.size());
  return p;
}

void ToProto(const Population& population, v1::Population* out) {
  out->set_kind(static_cast<cv1::OrganizationKind>(population.kind));
  out->set_key_only(population.key_only);
  out->set_ownership(static_cast<cv1::Ownership>(population.ownership));
  out->set_size(static_cast<cv1::EnterpriseSize>(population.size));
}

Scope ScopeFromProto(const cv1::Scope& in) {
  Scope s;
  s.region_prefix = in.region_prefix();
  s.industry_prefix = in.industry_prefix();
  s.ownership = static_cast<int>(in.ownership());
  s.size = static_cast<int>(in.size());
  s.key_only = in.key_only();
  s.kind = static_cast<int>(in.kind());
  return s;
}

void ToProto(const Scope& scope, cv1::Scope* out) {
  out->set_region_prefix(scope.region_prefix);
  out->set_industry_prefix(scope.industry_prefix);
  out->set_ownership(static_cast<cv1::Ownership>(scope.ownership));
  out->set_size(static_cast<cv1::EnterpriseSize>(scope.size));
  out->set_key_only(scope.key_only);
  out->set_kind(static_cast<cv1::OrganizationKind>(scope.kind));
}

std::string CanonicalScope(const Scope& scope) {
  // Region and industry prefixes are validated to digits and [A-Z0-9] before use; the
  // lengths keep the text unambiguous for any input.
  return absl::StrCat("r", scope.region_prefix.size(), ":", scope.region_prefix, "|i",
                      scope.industry_prefix.size(), ":", scope.industry_prefix, "|o",
                      scope.ownership, "|s", scope.size, "|k", scope.key_only ? 1 : 0, "|t",
                      scope.kind);
}

absl::StatusOr<Target> TargetFromProto(const v1::Target& in, absl::string_view field) {
  Target t;
  t.id = in.id();
  t.title = in.title();
  t.indicator = in.indicator();
  t.population = PopulationFromProto(in.population());
  t.aggregation = static_cast<Aggregation>(in.aggregation());
  t.rule = RuleFromProto(in.rule());
  std::vector<FieldViolation> violations;
  auto baseline = ParsePeriodField(in.baseline_period(), absl::StrCat(field, ".baseline_period"));
  if (baseline.ok()) {
    t.baseline = *baseline;
  } else {
    for (auto& v : FieldViolations(baseline.status())) violations.push_back(v);
  }
  auto deadline = ParsePeriodField(in.deadline_period(), absl::StrCat(field, ".deadline_period"));
  if (deadline.ok()) {
    t.deadline = *deadline;
  } else {
    for (auto& v : FieldViolations(deadline.status())) violations.push_back(v);
  }
  if (!violations.empty()) return InvalidFields(violations);
  t.panel_mode = static_cast<PanelMode>(in.panel_mode());
  if (in.has_coverage_floor()) t.coverage_floor = in.coverage_floor();
  t.description = in.description();
  t.archived = in.archived();
  t.create_time = GetTime(in.create_time());
  t.update_time = GetTime(in.update_time());
  t.etag = in.etag();
  return t;
}

void ToProto(const Target& target, v1::Target* out) {
  out->set_id(target.id);
  out->set_title(target.title);
  out->set_indicator(target.indicator);
  ToProto(target.population, out->mutable_population());
  out->set_aggregation(static_cast<v1::Aggregation>(target.aggregation));
  ToProto(target.rule, out->mutable_rule());
  out->set_baseline_period(target.baseline.ToString());
  out->set_deadline_period(target.deadline.ToString());
  out->set_panel_mode(static_cast<v1::PanelMode>(target.panel_mode));
  if (target.coverage_floor.has_value()) {
    out->set_coverage_floor(*target.coverage_floor);
  } else {
    out->clear_coverage_floor();
  }
  out->set_description(target.description);
  out->set_archived(target.archived);
  SetTime(target.create_time, out->mutable_create_time());
  SetTime(target.update_time, out->mutable_update_time());
  out->set_etag(target.etag);
}

bool SameContent(const Target& a, const Target& b) {
  auto same_rule = [](const Rule& x, const Rule& y) {
    return x.kind == y.kind && x.comparison == y.comparison && SameDouble(x.value, y.value);
  };
  auto same_population = [](const Population& x, const Population& y) {
    return x.kind == y.kind && x.key_only == y.key_only && x.ownership == y.ownership &&
           x.size == y.size;
  };
  bool same_floor =
      a.coverage_floor.has_value() == b.coverage_floor.has_value() &&
      (!a.coverage_floor.has_value() || SameDouble(*a.coverage_floor, *b.coverage_floor));
  return a.id == b.id && a.title == b.title && a.indicator == b.indicator &&
         same_population(a.population, b.population) && a.aggregation == b.aggregation &&
         same_rule(a.rule, b.rule) && a.baseline == b.baseline && a.deadline == b.deadline &&
         a.panel_mode == b.panel_mode && same_floor && a.description == b.description;
}

void ToProto(const Result& result, v1::Evaluation* out) {
  out->set_target_id(result.target_id);
  ToProto(result.scope, out->mutable_scope());
  out->set_period(result.period.ToString());
  if (result.baseline_value) out->set_baseline_value(*result.baseline_value);
  if (result.current_value) out->set_current_value(*result.current_value);
  if (result.target_value) out->set_target_value(*result.target_value);
  if (result.progress) out->set_progress(*result.progress);
  out->set_expected_progress(result.expected_progress);
  out->set_status(static_cast<v1::EvaluationStatus>(result.status));
  out->set_status_reason(result.status_reason);
  if (result.forecast_value) out->set_forecast_value(*result.forecast_value);
  for (const TrendPoint& p : result.points) {
    auto* point = out->add_points();
    point->set_period(p.period.ToString());
    point->set_value(p.value);
    point->set_reporters(p.reporters);
  }
  auto* coverage = out->mutable_coverage();
  coverage->set_population(result.population);
  coverage->set_baseline_reporters(result.baseline_reporters);
  coverage->set_current_reporters(result.current_reporters);
  coverage->set_ratio(result.coverage_ratio);
  coverage->set_baseline_ratio(result.baseline_coverage_ratio);
  coverage->set_floor(result.coverage_floor);
  out->set_panel_size(result.panel_size);
  out->set_panel_mode(static_cast<v1::PanelMode>(result.panel_mode));
  auto* versions = out->mutable_data_versions();
  versions->set_registry_version(result.registry_version);
  for (const DataVersionEntry& v : result.ingest_versions) {
    auto* e = versions->add_ingest_versions();
    e->set_indicator(v.indicator);
    e->set_period(v.period.ToString());
    e->set_version(v.version);
  }
  versions->set_target_etag(result.target_etag);
}

}  // namespace iplus::evaluation
