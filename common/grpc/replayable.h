#pragma once

// Request-id replay for mutating RPC handlers: the first successful response to a
// (method, request id) is stored; a retry with the same id and the same request gets it
// back without running again; the same id with another request is INVALID_ARGUMENT.

#include <string>

#include "absl/status/status.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/replay/replay_cache.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/support/status.h"

namespace iplus {

// The request's bytes with map entries in a fixed order (plain serialization may order
// them differently for equal messages), for fingerprinting.
inline std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// Runs `call` (which fills `resp` and returns a status) at most once per request id.
// `replay` may be null and `request_id` empty: then `call` simply runs.
template <typename Req, typename Resp, typename Fn>
grpc::Status Replayable(redis::ReplayCache* replay, const char* method,
                        const std::string& request_id, const Req& req, Resp* resp, Fn call) {
  if (absl::Status s = redis::ReplayCache::ValidateRequestId(request_id); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (replay == nullptr || request_id.empty()) return ToGrpcStatus(call());
  std::string request_bytes = DeterministicBytes(req);
  auto cached = replay->Lookup(method, request_id, request_bytes);
  if (!cached.ok()) return ToGrpcStatus(cached.status());
  if (cached->has_value() && resp->ParseFromString(**cached)) return grpc::Status::OK;
  absl::Status status = call();
  if (status.ok()) {
    absl::Status stored =
        replay->Store(method, request_id, request_bytes, resp->SerializeAsString());
    if (!stored.ok()) {
      log::Warn("request id not recorded",
                {log::Field::Str("method", method), log::Field::Status("error", stored)});
    }
  }
  return ToGrpcStatus(status);
}

}  // namespace iplus
