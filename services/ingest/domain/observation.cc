#include "services/ingest/domain/observation.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/hash/fnv.h"

namespace iplus::ingest {
namespace {

std::string Base36(int64_t v) {
  if (v <= 0) return "0";
  std::string out;
  while (v > 0) {
    int d = static_cast<int>(v % 36);
    out.insert(out.begin(), static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10));
    v /= 36;
  }
  return out;
}

bool ParseBase36(absl::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 12) return false;
  int64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = v * 36 + d;
  }
  *out = v;
  return true;
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A lower-case canonical UUID (8-4-4-4-12 hex digits), the common report id, is kept as
// '~' and the base64url of its 16 bytes: 23 characters instead of 36. '~' cannot start a
// report id, so other ids are kept as they are.
std::string CompactReportId(const std::string& id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') {
    return id;
  }
  std::string hex = absl::StrCat(id.substr(0, 8), id.substr(9, 4), id.substr(14, 4),
                                 id.substr(19, 4), id.substr(24, 12));
  if (!IsLowerHex(hex)) return id;
  return absl::StrCat("~", absl::WebSafeBase64Escape(absl::HexStringToBytes(hex)));
}

std::string ExpandReportId(absl::string_view stored) {
  if (stored.empty() || stored[0] != '~') return std::string(stored);
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(stored.substr(1), &bytes) || bytes.size() != 16) {
    return std::string(stored);
  }
  std::string hex = absl::BytesToHexString(bytes);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20, 12));
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("stored series entry is corrupt: ", what));
}

}  // namespace

const char* RejectReasonName(RejectReason reason) {
  static const char* const kNames[] = {
      "UNSPECIFIED",         "MISSING_FIELD",     "MALFORMED_FIELD",      "UNKNOWN_ENTERPRISE",
      "ARCHIVED_ENTERPRISE", "UNKNOWN_INDICATOR", "RETIRED_INDICATOR",    "VALUE_NOT_FINITE",
      "VALUE_OUT_OF_RANGE",  "WRONG_VALUE_TYPE",  "MALFORMED_PERIOD",     "WRONG_GRANULARITY",
      "FUTURE_PERIOD",       "NOT_AUTHORIZED",    "REGISTRY_UNAVAILABLE", "REPORT_ID_REUSED"};
  int i = static_cast<int>(reason);
  return i >= 0 && i <= 15 ? kNames[i] : kNames[0];
}

std::string CanonicalNumber(double value) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

bool ValidReportId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

uint64_t Hash64(absl::string_view data) { return Fnv1a64(data); }

std::string Hash64Bytes(absl::string_view data) {
  uint64_t h = Hash64(data);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((h >> (8 * i)) & 0xff);
  return out;
}

std::string EncodeEntry(const SeriesEntry& e) {
  std::string out =
      absl::StrCat(Base36(e.ordinal), ",", CanonicalNumber(e.value), ",", e.revision, ",",
                   e.reporter_id, ",", Base36(e.time_s), ",", CompactReportId(e.report_id));
  if (!e.flags.empty()) {
    std::vector<std::string> parts;
    for (const Flag& f : e.flags) {
      parts.push_back(absl::StrCat(static_cast<int>(f.kind), ":", CanonicalNumber(f.score), ":",
                                   CanonicalNumber(f.threshold)));
    }
    absl::StrAppend(&out, ",", absl::StrJoin(parts, "|"));
  }
  return out;
}

absl::StatusOr<SeriesEntry> DecodeEntry(absl::string_view text) {
  std::vector<absl::string_view> f = absl::StrSplit(text, ',');
  if (f.size() != 6 && f.size() != 7) return Corrupt(text);
  SeriesEntry e;
  int64_t ordinal = 0;
  if (!ParseBase36(f[0], &ordinal) || !absl::SimpleAtod(f[1], &e.value) ||
      !absl::SimpleAtoi(f[2], &e.revision) || !absl::SimpleAtoi(f[3], &e.reporter_id) ||
      !ParseBase36(f[4], &e.time_s)) {
    return Corrupt(text);
  }
  e.ordinal = static_cast<int>(ordinal);
  e.report_id = ExpandReportId(f[5]);
  if (f.size() == 7) {
    for (absl::string_view part : absl::StrSplit(f[6], '|')) {
      std::vector<absl::string_view> kv = absl::StrSplit(part, ':');
      int kind = 0;
      Flag flag;
      if (kv.size() != 3 || !absl::SimpleAtoi(kv[0], &kind) ||
          !absl::SimpleAtod(kv[1], &flag.score) || !absl::SimpleAtod(kv[2], &flag.threshold)) {
        return Corrupt(text);
      }
      flag.kind = static_cast<OutlierKind>(kind);
      e.flags.push_back(flag);
    }
  }
  return e;
}

std::string EncodeSeries(const std::vector<SeriesEntry>& entries) {
  std::vector<std::string> parts;
  parts.reserve(entries.size());
  for (const auto& e : entries) parts.push_back(EncodeEntry(e));
  return absl::StrJoin(parts, ";");
}

absl::StatusOr<std::vector<SeriesEntry>> DecodeSeries(absl::string_view text) {
  std::vector<SeriesEntry> out;
  if (text.empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ';')) {
    auto e = DecodeEntry(part);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

}  // namespace iplus::ingest
