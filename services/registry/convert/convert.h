#pragma once

// Conversions between the registry's domain types and its v1 protos, shared by the gRPC
// adapter (API messages) and the Redis store (which stores the same messages).

#include "iplus/registry/v1/registry.pb.h"
#include "services/registry/domain/enterprise.h"

namespace iplus::registry {

void ToProto(const Enterprise& e, v1::Enterprise* out);
// Content and archive fields only; code, times, revision and version are the caller's.
Enterprise FromProto(const v1::Enterprise& in);
EnterpriseContent ContentFromProto(const v1::Enterprise& in);

void ToProto(const Link& link, v1::Link* out);
Link FromProto(const v1::Link& in);

void ToProto(const Event& event, v1::Event* out);

Query QueryFromProto(const iplus::common::v1::Scope& scope, const std::string& name_prefix,
                     bool include_archived);

}  // namespace iplus::registry
