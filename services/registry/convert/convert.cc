#include "services/registry/convert/convert.h"

#include "google/protobuf/util/time_util.h"

namespace iplus::registry {
namespace {

using google::protobuf::util::TimeUtil;

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Time GetTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
}

}  // namespace

void ToProto(const Enterprise& e, v1::Enterprise* out) {
  const EnterpriseContent& c = e.content;
  out->set_code(e.code);
  out->set_name(c.name);
  out->set_region(c.region);
  out->set_industry(c.industry);
  out->set_ownership(static_cast<iplus::common::v1::Ownership>(c.ownership));
  out->set_size(static_cast<iplus::common::v1::EnterpriseSize>(c.size));
  out->set_key_enterprise(c.key_enterprise);
  out->set_kind(static_cast<iplus::common::v1::OrganizationKind>(c.kind));
  out->mutable_labels()->clear();
  for (const auto& [k, v] : c.labels) (*out->mutable_labels())[k] = v;
  out->set_archived(e.archived);
  out->set_archive_reason(e.archive_reason);
  SetTime(e.create_time, out->mutable_create_time());
  SetTime(e.update_time, out->mutable_update_time());
  out->set_etag(EtagOf(e));
  out->set_version(e.version);
}

EnterpriseContent ContentFromProto(const v1::Enterprise& in) {
  EnterpriseContent c;
  c.name = in.name();
  c.region = in.region();
  c.industry = in.industry();
  c.ownership = static_cast<Ownership>(in.ownership());
  c.size = static_cast<EnterpriseSize>(in.size());
  c.key_enterprise = in.key_enterprise();
  c.kind = static_cast<OrganizationKind>(in.kind());
  for (const auto& [k, v] : in.labels()) c.labels[k] = v;
  return c;
}

Enterprise FromProto(const v1::Enterprise& in) {
  Enterprise e;
  e.code = in.code();
  e.content = ContentFromProto(in);
  e.archived = in.archived();
  e.archive_reason = in.archive_reason();
  e.create_time = GetTime(in.create_time());
  e.update_time = GetTime(in.update_time());
  return e;
}

void ToProto(const Link& link, v1::Link* out) {
  out->set_from_code(link.from_code);
  out->set_to_code(link.to_code);
  out->set_type(static_cast<v1::LinkType>(link.type));
  out->set_note(link.note);
  SetTime(link.create_time, out->mutable_create_time());
}

Link FromProto(const v1::Link& in) {
  Link link;
  link.from_code = in.from_code();
  link.to_code = in.to_code();
  link.type = static_cast<LinkType>(in.type());
  link.note = in.note();
  link.create_time = GetTime(in.create_time());
  return link;
}

void ToProto(const Event& event, v1::Event* out) {
  out->set_version(event.version);
  out->set_type(static_cast<v1::EventType>(event.type));
  out->set_code(event.code);
  out->set_other_code(event.other_code);
  SetTime(event.time, out->mutable_time());
}

Query QueryFromProto(const iplus::common::v1::Scope& scope, const std::string& name_prefix,
                     bool include_archived) {
  Query q;
  q.region_prefix = scope.region_prefix();
  q.industry_prefix = scope.industry_prefix();
  q.ownership = static_cast<Ownership>(scope.ownership());
  q.size = static_cast<EnterpriseSize>(scope.size());
  q.key_only = scope.key_only();
  q.kind = static_cast<OrganizationKind>(scope.kind());
  q.name_prefix = name_prefix;
  q.include_archived = include_archived;
  return q;
}

}  // namespace iplus::registry
