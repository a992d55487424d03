#pragma once

#include <string>

namespace iplus::metrics {

class Registry;

// Sets gauge iplus_build_info{service="<service>",version="<version>"} to 1 in
// `registry`, the conventional way to expose what is running (join on it in queries).
// Calling it again with other values adds another series.
void SetBuildInfo(Registry& registry, const std::string& service, const std::string& version);

}  // namespace iplus::metrics
