#pragma once

// The command-line flags every service binary has (Redis, region, drain, probe, log,
// TLS, authentication, rate limits, audit), defined once. Only a service's main.cc links
// this library (common_service_flags): linking it registers the flags.
//
// Each main.cc still defines --grpc_address and --metrics_address, whose defaults differ
// per service, and passes their values here.

#include <string>

#include "common/grpc/service_main.h"

namespace iplus {

// The common flags' current values, with the service's own addresses.
CommonFlags CommonFlagValues(std::string grpc_address, std::string metrics_address);

}  // namespace iplus
