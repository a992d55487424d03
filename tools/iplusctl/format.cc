#include "tools/iplusctl/format.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/code.pb.h"
#include "google/rpc/error_details.pb.h"

namespace iplus::ctl {

bool ParseOutputFormat(absl::string_view text, OutputFormat* format) {
  if (text == "table") {
    *format = OutputFormat::kTable;
  } else if (text == "json") {
    *format = OutputFormat::kJson;
  } else if (text == "csv") {
    *format = OutputFormat::kCsv;
  } else {
    return false;
  }
  return true;
}

namespace {

// Display width of a UTF-8 string: one column per code point (CJK names count one per
// character too; tables stay aligned for Latin text, close enough for others).
size_t Width(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

std::string RenderTable(const Table& table) {
  const size_t columns = table.header.size();
  std::vector<size_t> widths(columns, 0);
  for (size_t i = 0; i < columns; ++i) widths[i] = Width(table.header[i]);
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < columns && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < columns; ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      l += cell;
      if (i + 1 < columns) l.append(widths[i] - Width(cell) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l;
    out += '\n';
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out;
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(fields[i]);
  }
  out += '\n';
  return out;
}

std::string RenderCsv(const Table& table) {
  std::string out = CsvLine(table.header);
  for (const auto& row : table.rows) out += CsvLine(row);
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\": \"", status.ToString(), "\"}\n");
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

void Print(std::ostream& out, OutputFormat format, const Table& table,
           const google::protobuf::Message& message) {
  switch (format) {
    case OutputFormat::kTable:
      out << RenderTable(table);
      break;
    case OutputFormat::kCsv:
      out << RenderCsv(table);
      break;
    case OutputFormat::kJson:
      out << ToJson(message);
      break;
  }
}

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitRejected;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

std::string CodeName(int code) {
  const std::string& name = google::rpc::Code_Name(static_cast<google::rpc::Code>(code));
  if (name.empty()) return absl::StrCat("CODE_", code);
  return name;
}

namespace {

std::string Describe(int code, const std::string& message, const google::rpc::Status* details) {
  std::vector<std::string> parts;
  if (details != nullptr) {
    for (const auto& any : details->details()) {
      google::rpc::BadRequest bad_request;
      if (!any.UnpackTo(&bad_request)) continue;
      for (const auto& fv : bad_request.field_violations()) {
        parts.push_back(fv.field().empty() ? fv.description()
                                           : absl::StrCat(fv.field(), ": ", fv.description()));
      }
    }
  }
  std::string text = parts.empty() ? message : absl::StrJoin(parts, "; ");
  // One line, whatever the server sent.
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (text.empty()) text = "call failed";
  return absl::StrCat(text, " (", CodeName(code), ")");
}

}  // namespace

std::string DescribeStatus(const grpc::Status& status) {
  google::rpc::Status details;
  const bool has_details =
      !status.error_details().empty() && details.ParseFromString(status.error_details());
  return Describe(static_cast<int>(status.error_code()), status.error_message(),
                  has_details ? &details : nullptr);
}

std::string DescribeStatus(const google::rpc::Status& status) {
  return Describe(status.code(), status.message(), &status);
}

std::string FormatDouble(double value) {
  // The shortest text that reads back to the same double, fixed or scientific notation,
  // whichever is shorter ("120", "0.1", "1e+20").
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return absl::StrFormat("%.17g", value);
  return std::string(buf, end);
}

std::string FormatFixed(double value, int digits) { return absl::StrFormat("%.*f", digits, value); }

std::string ShortEnumName(const std::string& full_name, absl::string_view prefix) {
  if (absl::StartsWith(full_name, prefix)) return full_name.substr(prefix.size());
  return full_name;
}

}  // namespace iplus::ctl
