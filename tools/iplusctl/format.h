#pragma once

// Output of iplusctl: aligned tables for people, CSV and proto JSON for scripts, and
// the one-line error messages and exit codes every command shares.

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace iplus::ctl {

enum class OutputFormat { kTable, kJson, kCsv };

// "table", "json" or "csv"; false for anything else.
bool ParseOutputFormat(absl::string_view text, OutputFormat* format);

// Rows of cells under a header. Rendered as an aligned table (columns separated by two
// spaces, every cell left-aligned, trailing blanks trimmed) or as RFC 4180 CSV.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  void Add(std::vector<std::string> row) { rows.push_back(std::move(row)); }
};

std::string RenderTable(const Table& table);
std::string RenderCsv(const Table& table);

// One CSV field: quoted (inner quotes doubled) when it holds a comma, a quote, CR or LF.
std::string CsvField(absl::string_view field);
// One CSV line with its "\n".
std::string CsvLine(const std::vector<std::string>& fields);

// The proto JSON of `message` (lowerCamelCase names, enums by name, 64-bit integers as
// strings), indented, with a final newline.
std::string ToJson(const google::protobuf::Message& message);

// Writes `table` in `format`; for kJson writes `message` instead.
void Print(std::ostream& out, OutputFormat format, const Table& table,
           const google::protobuf::Message& message);

// Exit codes (documented in docs/iplusctl.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitRejected = 4;
inline constexpr int kExitUnavailable = 5;

// The exit code of a failed call with `code`.
int ExitCodeFor(grpc::StatusCode code);

// "INVALID_ARGUMENT", "NOT_FOUND", ...
std::string CodeName(int code);

// One line describing a failed call: the field violations of its google.rpc.BadRequest
// details ("enterprise.region: ... is not a known province"; several joined by "; "),
// else its message, then the code in parentheses: "... (INVALID_ARGUMENT)".
std::string DescribeStatus(const grpc::Status& status);
// The same for a google.rpc.Status (per-item results of batch calls).
std::string DescribeStatus(const google::rpc::Status& status);

// Formats a double in the shortest text that reads back to the same value.
std::string FormatDouble(double value);
// Fixed notation with `digits` decimals, for tables.
std::string FormatFixed(double value, int digits);

// The enum value's name without the type prefix, e.g. "PRIVATE" for OWNERSHIP_PRIVATE.
std::string ShortEnumName(const std::string& full_name, absl::string_view prefix);

}  // namespace iplus::ctl
