#pragma once

// Command-line parsing of iplusctl: `iplusctl [global flags] <group> <verb> [args]
// [flags]`. Flags are `--name value` or `--name=value`; switches (flags without a value)
// take no argument (`--key-only`) but accept `--key-only=true|false`. A flag given twice
// keeps both values (repeatable flags such as --label); the others use the last one.
// `--` ends the flags. Global flags may appear anywhere; a command's own flags only
// after its words.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace iplus::ctl {

struct FlagSpec {
  FlagSpec(std::string n, bool v, std::string h, std::string e = "")
      : name(std::move(n)), takes_value(v), help(std::move(h)), env(std::move(e)) {}

  std::string name;  // without "--"
  bool takes_value = true;
  std::string help;  // "" hides nothing; shown by --help
  std::string env;   // environment variable supplying a default ("" for none)
};

struct ParsedArgs {
  std::vector<std::string> words;  // command words and positional arguments, in order
  std::map<std::string, std::vector<std::string>> flags;  // switches hold "true"/"false"
  bool help = false;                                      // --help or -h

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The last value of `name`, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  // A switch: true when given without a value or with "true".
  bool Switch(const std::string& name) const;
};

// Parses `args` (argv without the program name). `global` flags are accepted anywhere;
// `command_flags(words)` returns the flags of the command named by the leading words
// parsed so far, or nullptr while they name no command yet. INVALID_ARGUMENT naming the
// flag for an unknown flag, a missing value or a value given to a switch.
using CommandFlagsFn = const std::vector<FlagSpec>* (*)(const std::vector<std::string>& words,
                                                        void* arg);
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& global,
                                     CommandFlagsFn command_flags, void* arg);

// Strict numbers for flag values; INVALID_ARGUMENT naming --flag otherwise.
absl::StatusOr<int64_t> ParseIntFlag(const std::string& flag, const std::string& value, int64_t min,
                                     int64_t max);
absl::StatusOr<double> ParseDoubleFlag(const std::string& flag, const std::string& value);
absl::StatusOr<bool> ParseBool(const std::string& flag, const std::string& value);

}  // namespace iplus::ctl
