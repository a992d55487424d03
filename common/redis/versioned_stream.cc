#include "common/redis/versioned_stream.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace iplus::redis {
namespace {

int64_t VersionOf(const Reply& entry) {
  int64_t v = 0;
  if (!entry.IsArray() || entry.elements().empty()) return v;
  const std::string& id = entry.elements()[0].str();
  absl::SimpleAtoi(absl::string_view(id).substr(0, id.find('-')), &v);
  return v;
}

}  // namespace

absl::StatusOr<VersionedPage> ReadVersionedStream(Client& client, const std::string& stream_key,
                                                  const std::string& version_key,
                                                  int64_t after_version, int limit) {
  auto replies = client.Pipeline({{"GET", version_key},
                                  {"XRANGE", stream_key, "-", "+", "COUNT", "1"},
                                  {"XRANGE", stream_key, absl::StrCat(after_version + 1, "-0"), "+",
                                   "COUNT", absl::StrCat(limit)}});
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return absl::InternalError(r.str());
  }
  VersionedPage page;
  if ((*replies)[0].IsString()) absl::SimpleAtoi((*replies)[0].str(), &page.current_version);
  const auto& first = (*replies)[1].elements();
  if (page.current_version > after_version) {
    page.truncated = first.empty() || VersionOf(first[0]) > after_version + 1;
  }
  for (const auto& entry : (*replies)[2].elements()) {
    VersionedEntry e;
    e.version = VersionOf(entry);
    if (entry.elements().size() > 1) {
      const auto& fields = entry.elements()[1].elements();
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        e.fields.emplace_back(fields[i].str(), fields[i + 1].str());
      }
    }
    page.entries.push_back(std::move(e));
  }
  return page;
}

}  // namespace iplus::redis
