#pragma once

// Structured logging: one JSON object a line on stdout, e.g.
//   {"time":"2026-01-02T03:04:05.678Z","level":"info","service":"registry",
//    "msg":"listening","grpc_address":"127.0.0.1:50051"}
// Thread-safe. Never pass secrets as fields: nothing here can tell them apart.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace iplus::log {

enum class Level { kDebug, kInfo, kWarning, kError };

absl::StatusOr<Level> ParseLevel(absl::string_view name);  // debug|info|warning|error

// One key and its already-encoded JSON value.
class Field {
 public:
  static Field Str(absl::string_view key, absl::string_view value);
  static Field Int(absl::string_view key, int64_t value);
  static Field Num(absl::string_view key, double value);
  static Field Bool(absl::string_view key, bool value);
  static Field Status(absl::string_view key, const absl::Status& status);

  const std::string& encoded() const { return encoded_; }

 private:
  explicit Field(std::string encoded) : encoded_(std::move(encoded)) {}
  std::string encoded_;  // "\"key\":value"
};

// Sets the service name stamped on every line and the lowest level written.
// Lines logged before Init carry service "iplus" at level info.
void Init(absl::string_view service, Level min_level);

bool Enabled(Level level);
void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields = {});
void Write(Level level, absl::string_view msg, const std::vector<Field>& fields);

inline void Debug(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, msg, fields);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}

// JSON string escaping (quotes included), exposed for tests and other encoders.
std::string JsonQuote(absl::string_view s);

}  // namespace iplus::log
