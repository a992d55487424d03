#pragma once

// A server interceptor that records the conventional gRPC server series, named and
// labelled as go-grpc-prometheus does so that existing dashboards work:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
//   grpc_server_msg_received_total / grpc_server_msg_sent_total

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace iplus::metrics {
class Registry;
}

namespace iplus {

// The factory keeps references into `registry`, which must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(metrics::Registry& registry);

}  // namespace iplus
