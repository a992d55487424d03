// iplusctl: the command-line client of the iplus services (docs/iplusctl.md).

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tools/iplusctl/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return iplus::ctl::Run(
      args, std::cout, std::cerr, [](const char* name) { return std::getenv(name); },
      isatty(STDERR_FILENO) != 0);
}
