#include "common/config/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace iplus::config {

absl::StatusOr<std::vector<std::string>> ApplyEnvironment(
    absl::string_view prefix, const std::vector<std::string>& secret_names) {
  std::vector<std::string> unknown;
  for (char** env = environ; env != nullptr && *env != nullptr; ++env) {
    absl::string_view entry(*env);
    if (!absl::StartsWith(entry, prefix)) continue;
    size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) continue;
    std::string name(entry.substr(0, eq));
    absl::string_view value = entry.substr(eq + 1);
    bool secret = false;
    for (const auto& s : secret_names) secret = secret || s == name;
    if (secret) continue;
    std::string flag_name = absl::AsciiStrToLower(absl::string_view(name).substr(prefix.size()));
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(flag_name);
    if (flag == nullptr) {
      unknown.push_back(name);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", error));
    }
  }
  return unknown;
}

absl::StatusOr<std::string> ReadFile(absl::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read file ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::string> ReadSecret(absl::string_view env_name, absl::string_view file_path) {
  const char* env = std::getenv(std::string(env_name).c_str());
  if (env != nullptr && *env != '\0') return std::string(env);
  if (file_path.empty()) return std::string();
  auto content = ReadFile(file_path);
  if (!content.ok()) return content.status();
  absl::string_view s = *content;
  while (absl::ConsumeSuffix(&s, "\n") || absl::ConsumeSuffix(&s, "\r")) {
  }
  return std::string(s);
}

}  // namespace iplus::config
