#include "common/redis/options.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace iplus::redis {

absl::StatusOr<Options> ParseAddress(absl::string_view address) {
  absl::string_view host = address;
  absl::string_view port_text;
  bool has_port = false;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis address \"", address, "\": missing ']'"));
    }
    absl::string_view rest = host.substr(close + 1);
    host = host.substr(0, close);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) {
        return absl::InvalidArgumentError(
            absl::StrCat("redis address \"", address, "\": expected ':' after ']'"));
      }
      port_text = rest;
      has_port = true;
    }
  } else {
    const size_t colon = host.rfind(':');
    if (colon != absl::string_view::npos) {
      if (host.find(':') != colon) {
        return absl::InvalidArgumentError(
            absl::StrCat("redis address \"", address, "\": write IPv6 literals as [addr]:port"));
      }
      port_text = host.substr(colon + 1);
      host = host.substr(0, colon);
      has_port = true;
    }
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("redis address \"", address, "\": empty host"));
  }
  Options options;
  options.host = std::string(host);
  if (has_port) {
    int port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis address \"", address, "\": port must be an integer in 1..65535"));
    }
    options.port = port;
  }
  return options;
}

std::string FormatAddress(const Options& options) {
  if (options.host.find(':') != std::string::npos) {
    return absl::StrCat("[", options.host, "]:", options.port);
  }
  return absl::StrCat(options.host, ":", options.port);
}

}  // namespace iplus::redis
