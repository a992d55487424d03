#include "common/redis/reply.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace iplus::redis {

Reply Reply::Integer(int64_t value) {
  Reply r;
  r.kind_ = Kind::kInteger;
  r.integer_ = value;
  return r;
}

Reply Reply::String(std::string value) {
  Reply r;
  r.kind_ = Kind::kString;
  r.str_ = std::move(value);
  return r;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply r;
  r.kind_ = Kind::kArray;
  r.elements_ = std::move(elements);
  return r;
}

Reply Reply::Error(std::string message) {
  Reply r;
  r.kind_ = Kind::kError;
  r.str_ = std::move(message);
  return r;
}

std::string Reply::DebugString() const {
  switch (kind_) {
    case Kind::kNil:
      return "nil";
    case Kind::kInteger:
      return absl::StrCat(integer_);
    case Kind::kString:
      return absl::StrCat("\"", absl::CEscape(str_), "\"");
    case Kind::kError:
      return absl::StrCat("(error) ", absl::CEscape(str_));
    case Kind::kArray:
      return absl::StrCat("[",
                          absl::StrJoin(elements_, ", ",
                                        [](std::string* out, const Reply& r) {
                                          absl::StrAppend(out, r.DebugString());
                                        }),
                          "]");
  }
  return "?";
}

bool operator==(const Reply& a, const Reply& b) {
  return a.kind_ == b.kind_ && a.integer_ == b.integer_ && a.str_ == b.str_ &&
         a.elements_ == b.elements_;
}

absl::Status ErrorReplyToStatus(absl::string_view message) {
  const absl::string_view prefix = message.substr(0, message.find(' '));
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (prefix == transient) return absl::UnavailableError(message);
  }
  if (absl::StartsWithIgnoreCase(message, "ERR max number of clients")) {
    return absl::UnavailableError(message);
  }
  if (prefix == "OOM") return absl::ResourceExhaustedError(message);
  if (prefix == "NOAUTH" || prefix == "WRONGPASS" || prefix == "NOPERM") {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

absl::Status ReplyStatus(const Reply& reply) {
  if (!reply.IsError()) return absl::OkStatus();
  return ErrorReplyToStatus(reply.str());
}

}  // namespace iplus::redis
