#pragma once

// Reading RFC 4180 CSV files record by record, with the byte offset of every record so
// that an import can resume from a checkpoint without reading the file again.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace iplus::ctl {

class CsvReader {
 public:
  // `in` must be positioned at byte `offset` of the file.
  explicit CsvReader(std::istream& in, int64_t offset = 0) : in_(in), offset_(offset) {}

  // Reads the next record into `fields`, its start offset into `start` and its text
  // (without the line end) into `raw`. False at end of file. A quoted field may hold
  // commas, doubled quotes and line breaks; "\r\n" line ends are accepted. Blank lines
  // are skipped. `error` is set (and the record still returned) for a stray quote.
  bool Next(std::vector<std::string>* fields, int64_t* start, std::string* raw, std::string* error);

  // The offset of the first byte after the last record read.
  int64_t offset() const { return offset_; }

 private:
  std::istream& in_;
  int64_t offset_;
};

// Splits one complete record. False (with a reason) for a malformed one.
bool SplitCsv(const std::string& record, std::vector<std::string>* fields, std::string* error);

}  // namespace iplus::ctl
