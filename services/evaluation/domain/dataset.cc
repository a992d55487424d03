#include "services/evaluation/domain/model.h"

#include <algorithm>

namespace iplus::evaluation {

int32_t Dataset::Upsert(absl::string_view code, EnterpriseAttrs attrs) {
  auto it = index_.find(code);
  if (it != index_.end()) {
    attrs_[it->second] = std::move(attrs);
    return it->second;
  }
  int32_t index = static_cast<int32_t>(attrs_.size());
  codes_.emplace_back(code);
  attrs_.push_back(std::move(attrs));
  index_.emplace(std::string(code), index);
  return index;
}

std::optional<int32_t> Dataset::Find(absl::string_view code) const {
  auto it = index_.find(code);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

Column& Dataset::MutableColumn(const std::string& indicator, const Period& period) {
  return columns_[{indicator, period}];
}

void Dataset::SetValue(const std::string& indicator, const Period& period, int32_t index,
                       double value, int64_t data_version) {
  Column& c = MutableColumn(indicator, period);
  if (c.values.size() <= static_cast<size_t>(index)) {
    size_t n = std::max<size_t>(static_cast<size_t>(index) + 1, attrs_.size());
    c.values.resize(n, 0);
    c.present.resize(n, 0);
  }
  if (!c.present[index]) {
    c.present[index] = 1;
    ++c.reporters;
  }
  c.values[index] = value;
  if (data_version > c.data_version) c.data_version = data_version;
}

void Dataset::ReplaceColumn(const std::string& indicator, const Period& period,
                            const std::vector<std::pair<int32_t, double>>& values,
                            int64_t data_version) {
  Column& c = MutableColumn(indicator, period);
  c.values.assign(attrs_.size(), 0);
  c.present.assign(attrs_.size(), 0);
  c.reporters = 0;
  for (const auto& [index, value] : values) {
    if (index < 0) continue;
    if (c.values.size() <= static_cast<size_t>(index)) {
      c.values.resize(static_cast<size_t>(index) + 1, 0);
      c.present.resize(static_cast<size_t>(index) + 1, 0);
    }
    if (!c.present[index]) {
      c.present[index] = 1;
      ++c.reporters;
    }
    c.values[index] = value;
  }
  c.data_version = data_version;
}

const Column* Dataset::column(const std::string& indicator, const Period& period) const {
  auto it = columns_.find({indicator, period});
  return it == columns_.end() ? nullptr : &it->second;
}

int64_t Dataset::data_version(const std::string& indicator, const Period& period) const {
  const Column* c = column(indicator, period);
  return c == nullptr ? 0 : c->data_version;
}

}  // namespace iplus::evaluation
