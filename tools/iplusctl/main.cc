// iplusctl: the command-line client of the iplus services (docs/iplusctl.md).

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "grpc/support/log.h"
#include "tools/iplusctl/commands.h"

namespace {

// gRPC's own log lines (e.g. a failed TLS handshake) would come before the one error line
// iplusctl prints, which already holds the status's message.
void DropGrpcLog(gpr_log_func_args*) {}

}  // namespace

int main(int argc, char** argv) {
  // GRPC_VERBOSITY or GRPC_TRACE set: gRPC logs as it would (for debugging a connection).
  if (std::getenv("GRPC_VERBOSITY") == nullptr && std::getenv("GRPC_TRACE") == nullptr) {
    gpr_set_log_function(DropGrpcLog);
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  return iplus::ctl::Run(
      args, std::cout, std::cerr, [](const char* name) { return std::getenv(name); },
      isatty(STDERR_FILENO) != 0);
}
