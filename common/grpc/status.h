#pragma once

// The one place where absl and gRPC statuses are converted. INVALID_ARGUMENT statuses
// carrying field violations (common/status) become google.rpc.BadRequest details in the
// standard grpc-status-details-bin trailer, so clients in any language can read which
// field was wrong.

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace iplus {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The google.rpc.Status form of `status`, with BadRequest details when the status has
// field violations. Used for per-item results of batch calls.
google::rpc::Status ToRpcStatus(const absl::Status& status);

// Back from gRPC, e.g. for a call to another service. Field violations in the details
// are restored.
absl::Status FromGrpcStatus(const grpc::Status& status);

// "OK", "InvalidArgument", ...: the code names Prometheus gRPC dashboards use.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace iplus
