// Built when this tree has no funds service: the benchmark then runs only --baseline.
#include "bench/funds/funds_grpc_side.h"

namespace iplus::funds::bench {

absl::StatusOr<std::unique_ptr<Side>> MakeFundsSide(const test::RedisServer&) {
  return absl::UnimplementedError(
      "this build has no funds service (services/funds/app.h); run with --baseline");
}

}  // namespace iplus::funds::bench
