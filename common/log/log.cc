#include "common/log/log.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace iplus::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

spdlog::logger& Logger(absl::string_view service = "") {
  // The logger is created once; Init() only changes the pattern (service name).
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("iplus", sink);
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  static std::once_flag default_pattern;
  std::call_once(default_pattern, [] {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":"iplus",%v})",
                        spdlog::pattern_time_type::utc);
  });
  if (!service.empty()) {
    logger->set_pattern(absl::StrCat(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":)",
                                     JsonQuote(service), ",%v}"),
                        spdlog::pattern_time_type::utc);
  }
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarning:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "debug") return Level::kDebug;
  if (n == "info") return Level::kInfo;
  if (n == "warning" || n == "warn") return Level::kWarning;
  if (n == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("log level must be debug, info, warning or error, got \"", name, "\""));
}

Field Field::Str(absl::string_view key, absl::string_view value) {
  return Field(absl::StrCat(JsonQuote(key), ":", JsonQuote(value)));
}
Field Field::Int(absl::string_view key, int64_t value) {
  return Field(absl::StrCat(JsonQuote(key), ":", value));
}
Field Field::Num(absl::string_view key, double value) {
  if (!std::isfinite(value)) return Field(absl::StrCat(JsonQuote(key), ":null"));
  return Field(absl::StrCat(JsonQuote(key), ":", absl::StrFormat("%.17g", value)));
}
Field Field::Bool(absl::string_view key, bool value) {
  return Field(absl::StrCat(JsonQuote(key), ":", value ? "true" : "false"));
}
Field Field::Status(absl::string_view key, const absl::Status& status) {
  return Str(key, status.ToString());
}

void Init(absl::string_view service, Level min_level) {
  g_min_level.store(static_cast<int>(min_level));
  Logger(service);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

namespace {

template <typename Fields>
void WriteFields(Level level, absl::string_view msg, const Fields& fields) {
  if (!Enabled(level)) return;
  std::string body = absl::StrCat("\"msg\":", JsonQuote(msg));
  for (const Field& f : fields) absl::StrAppend(&body, ",", f.encoded());
  Logger().log(ToSpd(level), "{}", body);
}

}  // namespace

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  WriteFields(level, msg, fields);
}

void Write(Level level, absl::string_view msg, const std::vector<Field>& fields) {
  WriteFields(level, msg, fields);
}

}  // namespace iplus::log
