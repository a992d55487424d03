#pragma once

// A Redis reply as a plain value, deep-copied out of hiredis so that no hiredis type
// or pointer ever escapes common/redis. Copyable and movable; not synchronised (treat
// like std::string).

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace iplus::redis {

class Reply {
 public:
  enum class Kind { kNil, kInteger, kString, kArray, kError };

  Reply() = default;  // nil
  static Reply Nil() { return Reply(); }
  static Reply Integer(int64_t value);
  static Reply String(std::string value);  // bulk and status replies alike
  static Reply Array(std::vector<Reply> elements);
  static Reply Error(std::string message);  // e.g. "WRONGTYPE Operation against ..."

  Kind kind() const { return kind_; }
  bool IsNil() const { return kind_ == Kind::kNil; }
  bool IsInteger() const { return kind_ == Kind::kInteger; }
  bool IsString() const { return kind_ == Kind::kString; }
  bool IsArray() const { return kind_ == Kind::kArray; }
  bool IsError() const { return kind_ == Kind::kError; }

  // Accessors never fail: on a reply of another kind they return 0 / "" / {}.
  int64_t integer() const { return integer_; }
  // The (binary-safe) payload of a string, or the message of an error.
  const std::string& str() const { return str_; }
  const std::vector<Reply>& elements() const { return elements_; }

  // Human-readable, with non-printable bytes escaped: nil, 42, "abc",
  // [1, "a", nil], (error) ERR ...
  std::string DebugString() const;

  friend bool operator==(const Reply& a, const Reply& b);
  friend bool operator!=(const Reply& a, const Reply& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const Reply& reply) {
    return os << reply.DebugString();
  }

 private:
  Kind kind_ = Kind::kNil;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

// How a Redis error reply maps to a status code; the status message is the reply's
// message unchanged. The first word of the message decides:
//   LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN, CLUSTERDOWN, and
//   "ERR max number of clients reached"    -> UNAVAILABLE (transient; retry later)
//   OOM                                     -> RESOURCE_EXHAUSTED (maxmemory reached)
//   NOAUTH, WRONGPASS, NOPERM               -> FAILED_PRECONDITION (the deployment's
//                                              credentials or ACLs need fixing)
//   anything else (ERR, WRONGTYPE, EXECABORT, NOSCRIPT, script errors, ...) -> INTERNAL
// Scripts report application outcomes as ordinary values, so their error replies go
// through the same mapping.
absl::Status ErrorReplyToStatus(absl::string_view message);

// OK unless `reply.IsError()`, in which case ErrorReplyToStatus(reply.str()). Useful
// for the per-command replies of a pipeline.
absl::Status ReplyStatus(const Reply& reply);

}  // namespace iplus::redis
