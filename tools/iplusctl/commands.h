#pragma once

// The command table of iplusctl and its entry point. Each command is one row of the
// table: its words ("enterprise list"), its flags, its help text and its handler; a new
// service's commands (funds) are added as rows, with a Service for their channel.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/iplusctl/args.h"
#include "tools/iplusctl/client.h"
#include "tools/iplusctl/format.h"

namespace iplus::common::v1 {
class Scope;
}  // namespace iplus::common::v1

namespace iplus::ctl {

struct Context {
  ParsedArgs args;
  std::vector<std::string> positionals;  // the words after the command's own
  OutputFormat format = OutputFormat::kTable;
  Client* client = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool stderr_tty = false;

  // Prints "iplusctl: <description of status>" and returns its exit code.
  int Fail(const grpc::Status& status);
  // Prints "iplusctl: <message>" and returns kExitUsage.
  int Usage(const std::string& message);
  // A number cell: shortest exact text in CSV and JSON, 6 significant digits in tables.
  std::string Num(double v) const;
};

struct Command {
  std::vector<std::string> words;
  std::string args_help;  // e.g. "CODE"
  std::string summary;
  std::vector<FlagSpec> flags;
  int min_positionals = 0;
  int max_positionals = 0;
  std::function<int(Context&)> run;
};

const std::vector<Command>& Commands();

// The scope flags (--region, --industry, --ownership, --size, --kind, --key-only) and the
// Scope they give; false after a usage message (its exit code in *exit_code) for a bad
// value. For commands defined in other files.
const std::vector<FlagSpec>& ScopeFlagSpecs();
bool ScopeFromFlags(Context& ctx, ::iplus::common::v1::Scope* scope, int* exit_code);

const std::vector<FlagSpec>& GlobalFlags();

// Runs iplusctl with `args` (argv without the program name). `getenv` supplies the
// IPLUS_* defaults (std::getenv in main). Returns the exit code.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const std::function<const char*(const char*)>& getenv, bool stderr_tty);

// The full help text (also printed by `iplusctl help`).
std::string HelpText();

}  // namespace iplus::ctl
