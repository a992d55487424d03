// security_doc: keeps the authorization table in docs/security.md equal to the code's.
//
//   security_doc --write docs/security.md   replaces the text between the markers
//   security_doc --check docs/security.md   exits 1 when it differs
//   security_doc                            prints the table

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common/auth/policy.h"

namespace {

constexpr char kBegin[] = "<!-- BEGIN GENERATED: authorization table -->\n";
constexpr char kEnd[] = "<!-- END GENERATED: authorization table -->";

}  // namespace

int main(int argc, char** argv) {
  const std::string table = iplus::auth::RenderPolicyTable(iplus::auth::DefaultPolicy());
  if (argc == 1) {
    std::cout << table;
    return 0;
  }
  if (argc != 3 || (std::strcmp(argv[1], "--write") != 0 && std::strcmp(argv[1], "--check") != 0)) {
    std::cerr << "usage: security_doc [--write|--check <docs/security.md>]\n";
    return 2;
  }
  const bool write = std::strcmp(argv[1], "--write") == 0;
  std::ifstream in(argv[2]);
  if (!in) {
    std::cerr << "cannot read " << argv[2] << "\n";
    return 2;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string doc = buffer.str();
  size_t b = doc.find(kBegin);
  size_t e = doc.find(kEnd);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    std::cerr << argv[2] << ": the generated-table markers are missing\n";
    return 2;
  }
  b += std::strlen(kBegin);
  if (doc.compare(b, e - b, table) == 0) return 0;
  if (!write) {
    std::cerr << argv[2] << " differs from the code's table; run security_doc --write\n";
    return 1;
  }
  doc.replace(b, e - b, table);
  std::ofstream out(argv[2], std::ios::trunc);
  out << doc;
  return out ? 0 : 2;
}
