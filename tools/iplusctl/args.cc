#include "tools/iplusctl/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace iplus::ctl {

std::string ParsedArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return {};
  return it->second;
}

bool ParsedArgs::Switch(const std::string& name) const { return Get(name, "false") == "true"; }

namespace {

const FlagSpec* Find(const std::vector<FlagSpec>* specs, absl::string_view name) {
  if (specs == nullptr) return nullptr;
  for (const auto& s : *specs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& global,
                                     CommandFlagsFn command_flags, void* arg) {
  ParsedArgs out;
  const std::vector<FlagSpec>* command = nullptr;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (flags_done || a.size() < 2 || a[0] != '-' || a == "-") {
      out.words.push_back(a);
      if (command == nullptr) command = command_flags(out.words, arg);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a[1] != '-') {
      // Negative numbers are values, not flags: "-5" is a positional argument.
      double unused;
      if (absl::SimpleAtod(a, &unused)) {
        out.words.push_back(a);
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", a));
    }
    absl::string_view body = absl::string_view(a).substr(2);
    std::string name(body);
    std::string value;
    bool has_inline = false;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = std::string(body.substr(0, eq));
      value = std::string(body.substr(eq + 1));
      has_inline = true;
    }
    const FlagSpec* spec = Find(&global, name);
    if (spec == nullptr) spec = Find(command, name);
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (spec->takes_value) {
      if (!has_inline) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
    } else if (has_inline) {
      auto b = ParseBool("--" + name, value);
      if (!b.ok()) return b.status();
      value = *b ? "true" : "false";
    } else {
      value = "true";
    }
    out.flags[name].push_back(value);
  }
  return out;
}

absl::StatusOr<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                                     int64_t max) {
  int64_t v;
  if (!absl::SimpleAtoi(value, &v) || v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", value, "\" is not an integer in ", min, "..", max));
  }
  return v;
}

absl::StatusOr<double> ParseDoubleFlag(const std::string& flag, const std::string& value) {
  double v;
  if (!absl::SimpleAtod(value, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", value, "\" is not a number"));
  }
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& flag, const std::string& value) {
  const std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", value, "\" is not true or false"));
}

}  // namespace iplus::ctl
