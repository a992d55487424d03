#pragma once

#include <string>

#include "common/metrics/labels.h"

namespace iplus::metrics {

template <typename T>
class Family;
class Registry;

namespace detail {

// Fluent registration of a metric family, obtained from BuildCounter(), BuildGauge() or
// BuildHistogram():
//
//   Family<Counter>& requests = BuildCounter()
//                                   .Name("iplus_requests_total")
//                                   .Help("Requests handled.")
//                                   .Labels({{"region", "north"}})
//                                   .Register(registry);
//
// Name() is required; Labels() sets constant labels attached to every series of the
// family. Register() aborts on an invalid name or label (see names.h). A Builder is a
// short-lived value; it is not thread-safe, but Register() itself is.
template <typename T>
class Builder {
 public:
  Builder& Name(const std::string& name);
  Builder& Help(const std::string& help);
  Builder& Labels(const ::iplus::metrics::Labels& labels);

  // Returns the family registered in `registry` under the name: a new one, or the
  // existing one when a family of the same name, type and constant labels exists. The
  // family lives as long as `registry`.
  Family<T>& Register(Registry& registry);

 private:
  std::string name_;
  std::string help_;
  ::iplus::metrics::Labels labels_;
};

}  // namespace detail
}  // namespace iplus::metrics
