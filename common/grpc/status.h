#pragma once

// The one place where absl and gRPC statuses are converted. INVALID_ARGUMENT statuses
// carrying field violations (common/status) become google.rpc.BadRequest details in the
// standard grpc-status-details-bin trailer, so clients in any language can read which
// field was wrong.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
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

// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail saying how long to wait (rate
// limits). The server also sends the delay as the `retry-delay-ms` trailer.
grpc::Status ResourceExhaustedRetryAfter(const std::string& message, absl::Duration delay);

// The google.rpc.RetryInfo delay in a status's details, if any.
absl::optional<absl::Duration> RetryDelay(const grpc::Status& status);

// "OK", "InvalidArgument", ...: the code names Prometheus gRPC dashboards use.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace iplus
