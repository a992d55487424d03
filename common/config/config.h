#pragma once

// Configuration helpers for service binaries. The flags are defined in each main.cc and,
// for those every service shares, in common/grpc/service_flags.cc; these functions only
// move values between the environment, files and those flags. Nothing here reads a flag
// on its own.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace iplus::config {

// For every environment variable named <prefix><FLAG> (e.g. IPLUS_GRPC_ADDRESS for the
// flag --grpc_address) whose flag is defined in this binary, sets the flag from the
// variable. Call before absl::ParseCommandLine so that the command line wins.
//
// Variables with the prefix that match no flag of this binary are returned, not treated
// as fatal: one environment commonly configures several iplus binaries (and iplusctl),
// so a variable meant for another one is normal. Variables listed in `secret_names`
// (e.g. "IPLUS_REDIS_PASSWORD") are never applied to flags, so a secret cannot reach the
// command line, and are not returned as unknown.
//
// Returns INVALID_ARGUMENT naming the variable when a value does not parse.
absl::StatusOr<std::vector<std::string>> ApplyEnvironment(
    absl::string_view prefix, const std::vector<std::string>& secret_names = {});

// Reads a secret: the environment variable `env_name` if set and non-empty, else the
// file `file_path` if non-empty (trailing newlines removed), else an empty string.
// A named file that cannot be read is FAILED_PRECONDITION (the message names the file,
// never its content).
absl::StatusOr<std::string> ReadSecret(absl::string_view env_name, absl::string_view file_path);

// Reads a whole file.
absl::StatusOr<std::string> ReadFile(absl::string_view path);

}  // namespace iplus::config
