#include "tools/iplusctl/csv.h"

namespace iplus::ctl {

bool SplitCsv(const std::string& record, std::vector<std::string>* fields, std::string* error) {
  fields->clear();
  error->clear();
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < record.size(); ++i) {
    const char c = record[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < record.size() && record[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = true;
      was_quoted = true;
    } else if (c == '"' || was_quoted) {
      *error = "stray double quote";
      field += c;
    } else {
      field += c;
    }
  }
  if (quoted) *error = "unterminated quoted field";
  fields->push_back(std::move(field));
  return error->empty();
}

namespace {

// True when `text` ends inside a quoted field.
bool OpenQuote(const std::string& text) {
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
  }
  return quoted;
}

}  // namespace

bool CsvReader::Next(std::vector<std::string>* fields, int64_t* start, std::string* raw,
                     std::string* error) {
  std::string line;
  while (true) {
    if (!std::getline(in_, line)) return false;
    const int64_t line_start = offset_;
    offset_ += static_cast<int64_t>(line.size()) + (in_.eof() ? 0 : 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    *start = line_start;
    *raw = line;
    while (OpenQuote(*raw)) {
      std::string more;
      if (!std::getline(in_, more)) break;
      offset_ += static_cast<int64_t>(more.size()) + (in_.eof() ? 0 : 1);
      if (!more.empty() && more.back() == '\r') more.pop_back();
      *raw += '\n';
      *raw += more;
    }
    SplitCsv(*raw, fields, error);
    return true;
  }
}

}  // namespace iplus::ctl
