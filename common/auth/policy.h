#pragma once

// The authorization table: which role may call which RPC, for every RPC of every v1
// service (served or designed) and the audit service. The server bootstrap
// (common/grpc/auth_gate.h) consults it before any handler runs; a method without a row
// is refused (fail closed). docs/security.md carries the table as rendered by
// RenderPolicyTable(); a test fails when the two disagree.
//
// A row also says whether the method mutates state (mutating calls are audited), which
// request fields name the object it touches (recorded in the audit record), and, in
// words, how the caller's regions or funds narrow it further (the handlers enforce that
// with the checks in common/auth/scope.h).
//
// Pure and thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/auth/auth.h"

namespace iplus::auth {

// A set of roles, one bit per Role.
using RoleSet = uint32_t;

constexpr RoleSet RoleBit(Role role) { return RoleSet{1} << static_cast<int>(role); }

// Every role, in the order of the table's columns.
const std::vector<Role>& AllRoles();

struct MethodRule {
  // The full gRPC method name, "/iplus.registry.v1.RegistryService/CreateEnterprise".
  std::string method;
  RoleSet roles = 0;
  // Changes state: every call (allowed or denied) is written to the audit stream.
  bool mutating = false;
  // Request fields recorded as the audit record's object, comma-separated dotted paths
  // ("enterprise.code", "link.from_code,link.to_code"). A repeated field is recorded as
  // its element count ("3 items"). Empty: nothing (e.g. a client stream).
  std::string object;
  // How regions or funds narrow the call, in words, for the documentation.
  std::string scoping;

  bool Allows(Role role) const { return (roles & RoleBit(role)) != 0; }
};

class Policy {
 public:
  // REQUIRES: method names are unique.
  explicit Policy(std::vector<MethodRule> rules);

  // The row of `full_method`, or null when the table has none (the call is refused).
  const MethodRule* Find(absl::string_view full_method) const;

  const std::vector<MethodRule>& rules() const { return rules_; }

 private:
  std::vector<MethodRule> rules_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// The project's table.
const Policy& DefaultPolicy();

// The Markdown table of `policy` for docs/security.md: one row per method, grouped by
// service in table order, a column per role ("✓" allowed), whether it is audited, and
// the scoping text.
std::string RenderPolicyTable(const Policy& policy);

}  // namespace iplus::auth
