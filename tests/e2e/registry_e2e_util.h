#pragma once

// Helpers shared by the registry's end-to-end and fault tests: synthetic enterprises,
// the field names of google.rpc.BadRequest details, a gMock matcher for grpc::Status,
// and a hand-rolled client for the standard grpc.health.v1.Health/Check.
//
// gRPC C++ ships no client stub for the health service, so Check is called through
// grpc::internal::BlockingUnaryCall with raw bytes. The messages are tiny:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }  // 1 SERVING, 2 NOT_SERVING
// and are read and written with protobuf's wire-format helpers.

#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/refdata/credit_code.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/rpc/code.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "iplus/registry/v1/registry.pb.h"

namespace iplus::registry::e2e {

namespace v1 = ::iplus::registry::v1;
namespace cv1 = ::iplus::common::v1;

// The n-th synthetic valid credit code; codes sort in the order of n.
inline std::string CodeN(int n) {
  return refdata::CompleteCreditCode(absl::StrFormat("91440100%08d", n));
}

// A valid manufacturer in Guangzhou's Tianhe district.
inline v1::Enterprise Manufacturer(int n) {
  v1::Enterprise e;
  e.set_code(CodeN(n));
  e.set_name(absl::StrFormat("Guangzhou Precision Parts %d Co.", n));
  e.set_region("440103");
  e.set_industry("C34");
  e.set_ownership(cv1::OWNERSHIP_PRIVATE);
  e.set_size(cv1::ENTERPRISE_SIZE_MEDIUM);
  e.set_key_enterprise(true);
  e.set_kind(cv1::ORGANIZATION_KIND_MANUFACTURER);
  (*e.mutable_labels())["cluster"] = "pearl-river";
  return e;
}

// A valid industrial-internet platform operator.
inline v1::Enterprise PlatformOperator(int n) {
  v1::Enterprise e;
  e.set_code(CodeN(n));
  e.set_name(absl::StrFormat("Cloud Platform %d Ltd.", n));
  e.set_region("440300");
  e.set_industry("I64");
  e.set_ownership(cv1::OWNERSHIP_JOINT_STOCK);
  e.set_size(cv1::ENTERPRISE_SIZE_LARGE);
  e.set_kind(cv1::ORGANIZATION_KIND_PLATFORM_OPERATOR);
  return e;
}

// The field names of the google.rpc.BadRequest violations in a google.rpc.Status.
inline std::vector<std::string> ViolationFields(const google::rpc::Status& status) {
  std::vector<std::string> fields;
  for (const auto& any : status.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
  }
  return fields;
}

// The same for a call's status: the details travel in grpc-status-details-bin. A status
// whose details do not parse yields a single "<unparsable details>".
inline std::vector<std::string> ViolationFields(const grpc::Status& status) {
  if (status.error_details().empty()) return {};
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return {"<unparsable details>"};
  return ViolationFields(details);
}

inline std::string CodeName(int code) {
  return google::rpc::Code_IsValid(code) ? google::rpc::Code_Name(code)
                                         : absl::StrFormat("code %d", code);
}

// Matches a grpc::Status with the given code.
MATCHER_P(GrpcIs, code,
          absl::StrFormat("%s gRPC status %s", negation ? "is not" : "is",
                          CodeName(static_cast<int>(code)))) {
  *result_listener << "whose status is " << CodeName(static_cast<int>(arg.error_code())) << " \""
                   << arg.error_message() << "\"";
  return arg.error_code() == code;
}

// Matches a grpc::Status with the given code whose BadRequest details name `field`.
MATCHER_P2(GrpcInvalidField, code, field,
           absl::StrFormat("is %s naming field \"%s\"", CodeName(static_cast<int>(code)),
                           std::string(field))) {
  std::vector<std::string> fields = ViolationFields(arg);
  *result_listener << "whose status is " << CodeName(static_cast<int>(arg.error_code())) << " \""
                   << arg.error_message() << "\" with violations [";
  for (size_t i = 0; i < fields.size(); ++i) *result_listener << (i ? ", " : "") << fields[i];
  *result_listener << "]";
  return arg.error_code() == code &&
         std::find(fields.begin(), fields.end(), std::string(field)) != fields.end();
}

// Matches a google.rpc.Status (a batch item's result) with the given code.
MATCHER_P(RpcStatusIs, code, absl::StrFormat("is google.rpc.Status %s", CodeName(code))) {
  *result_listener << "whose code is " << CodeName(arg.code()) << " \"" << arg.message() << "\"";
  return arg.code() == code;
}

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

inline const char* HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kUnknown:
      return "UNKNOWN";
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "?";
}

// grpc.health.v1.Health/Check for `service` ("" is the server as a whole). The call's
// own status is returned through `call_status` when it is not OK, and the result is
// then kUnknown.
inline HealthStatus CheckHealth(grpc::Channel* channel, const std::string& service,
                                absl::Duration timeout, grpc::Status* call_status = nullptr) {
  std::string request;
  {
    google::protobuf::io::StringOutputStream out(&request);
    google::protobuf::io::CodedOutputStream coded(&out);
    if (!service.empty()) {
      coded.WriteTag((1 << 3) | 2);  // field 1, length-delimited
      coded.WriteVarint32(static_cast<uint32_t>(service.size()));
      coded.WriteString(service);
    }
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  static const grpc::internal::RpcMethod kCheck("/grpc.health.v1.Health/Check",
                                                grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Status status = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel, kCheck, &context, request_buffer, &response_buffer);
  if (call_status != nullptr) *call_status = status;
  if (!status.ok()) return HealthStatus::kUnknown;
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return HealthStatus::kUnknown;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return HealthStatus::kUnknown;
  HealthStatus result = HealthStatus::kUnknown;  // proto3: an absent field is 0
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    if (f.number() == 1 && f.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      result = static_cast<HealthStatus>(f.varint());
    }
  }
  return result;
}

}  // namespace iplus::registry::e2e

// gtest finds PrintTo by argument-dependent lookup: print a grpc::Status readably in
// failure messages rather than as bytes.
namespace grpc {
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << ::iplus::registry::e2e::CodeName(static_cast<int>(status.error_code())) << " \""
      << status.error_message() << "\"";
}
}  // namespace grpc
