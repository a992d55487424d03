#include "common/metrics/build_info.h"

#include "common/metrics/family.h"
#include "common/metrics/gauge.h"
#include "common/metrics/registry.h"

namespace iplus::metrics {

void SetBuildInfo(Registry& registry, const std::string& service, const std::string& version) {
  BuildGauge()
      .Name("iplus_build_info")
      .Help("Build information of the running service; always 1.")
      .Register(registry)
      .Add({{"service", service}, {"version", version}})
      .Set(1);
}

}  // namespace iplus::metrics
