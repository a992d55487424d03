#include "services/ingest/convert/convert.h"

#include "google/protobuf/util/time_util.h"

namespace iplus::ingest {
namespace {

using google::protobuf::util::TimeUtil;

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time GetTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

void RangeToProto(const ValueRange& r, v1::ValueRange* out) {
  if (r.min) {
    out->set_min(*r.min);
    out->set_min_inclusive(r.min_inclusive);
  }
  if (r.max) {
    out->set_max(*r.max);
    out->set_max_inclusive(r.max_inclusive);
  }
}

ValueRange RangeFromProto(const v1::ValueRange& in) {
  ValueRange r;
  if (in.has_min()) {
    r.min = in.min();
    r.min_inclusive = in.min_inclusive();
  }
  if (in.has_max()) {
    r.max = in.max();
    r.max_inclusive = in.max_inclusive();
  }
  return r;
}

}  // namespace

void ToProto(const Indicator& i, v1::Indicator* out) {
  out->set_id(i.id);
  out->set_title(i.title);
  out->set_unit(i.unit);
  out->set_value_type(static_cast<v1::ValueType>(i.value_type));
  RangeToProto(i.range, out->mutable_range());
  RangeToProto(i.plausible_range, out->mutable_plausible_range());
  out->set_granularity(static_cast<v1::Granularity>(static_cast<int>(i.granularity) + 1));
  out->set_higher_is_better(i.higher_is_better);
  out->set_description(i.description);
  out->set_status(static_cast<v1::IndicatorStatus>(i.status));
  out->set_retire_reason(i.retire_reason);
  SetTime(i.create_time, out->mutable_create_time());
  SetTime(i.update_time, out->mutable_update_time());
}

Indicator FromProto(const v1::Indicator& in) {
  Indicator i;
  i.id = in.id();
  i.title = in.title();
  i.unit = in.unit();
  i.value_type = static_cast<ValueType>(in.value_type());
  i.range = RangeFromProto(in.range());
  i.plausible_range = RangeFromProto(in.plausible_range());
  switch (in.granularity()) {
    case v1::GRANULARITY_QUARTER:
      i.granularity = refdata::Granularity::kQuarter;
      break;
    case v1::GRANULARITY_MONTH:
      i.granularity = refdata::Granularity::kMonth;
      break;
    default:
      i.granularity = refdata::Granularity::kYear;
  }
  i.higher_is_better = in.higher_is_better();
  i.description = in.description();
  i.status = static_cast<IndicatorStatus>(in.status());
  i.retire_reason = in.retire_reason();
  i.create_time = GetTime(in.create_time());
  i.update_time = GetTime(in.update_time());
  return i;
}

ObservationInput FromProto(const v1::Observation& in) {
  ObservationInput o;
  o.report_id = in.report_id();
  o.enterprise_code = in.enterprise_code();
  o.indicator = in.indicator();
  o.period = in.period();
  switch (in.value_case()) {
    case v1::Observation::kBoolValue:
      o.kind = ObservationInput::ValueKind::kBool;
      o.bool_value = in.bool_value();
      break;
    case v1::Observation::kNumberValue:
      o.kind = ObservationInput::ValueKind::kNumber;
      o.number_value = in.number_value();
      break;
    default:
      o.kind = ObservationInput::ValueKind::kNone;
  }
  return o;
}

void ToProto(const Flag& flag, v1::OutlierFlag* out) {
  out->set_kind(static_cast<v1::OutlierKind>(flag.kind));
  out->set_score(flag.score);
  out->set_threshold(flag.threshold);
}

void ToProto(const ItemResult& r, v1::ItemResult* out) {
  out->set_index(r.index);
  out->set_outcome(static_cast<v1::Outcome>(r.outcome));
  out->set_reject_reason(static_cast<v1::RejectReason>(r.reason));
  out->set_field(r.field);
  out->set_message(r.message);
  out->set_retryable(r.retryable);
  for (const Flag& f : r.flags) ToProto(f, out->add_flags());
  out->set_revision(r.revision);
}

void ToProto(const StoredObservation& o, ValueType type, v1::Observation* out) {
  out->set_report_id(o.entry.report_id);
  out->set_enterprise_code(o.code);
  out->set_indicator(o.indicator);
  out->set_period(o.period);
  if (type == ValueType::kBoolean) {
    out->set_bool_value(o.entry.value != 0);
  } else {
    out->set_number_value(o.entry.value);
  }
  out->set_reporter(o.reporter);
  SetTime(absl::FromUnixSeconds(o.entry.time_s), out->mutable_report_time());
  for (const Flag& f : o.entry.flags) ToProto(f, out->add_flags());
  out->set_revision(o.entry.revision);
}

void SetValue(double value, ValueType type, v1::Value* out) {
  if (type == ValueType::kBoolean) {
    out->set_bool_value(value != 0);
  } else {
    out->set_number_value(value);
  }
}

}  // namespace iplus::ingest
