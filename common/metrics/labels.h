#pragma once

#include <map>
#include <string>

namespace iplus::metrics {

// Label name → label value. A std::map so that the same set of labels always compares
// equal and serializes in the same (sorted) order.
using Labels = std::map<std::string, std::string>;

}  // namespace iplus::metrics
