#include "tools/iplusctl/enums.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "iplus/common/v1/common.pb.h"
#include "iplus/registry/v1/registry.pb.h"

namespace iplus::ctl {

bool ParseEnum(const google::protobuf::EnumDescriptor* type, const std::string& prefix,
               const std::string& text, int* value) {
  std::string name = absl::AsciiStrToUpper(text);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByName(name);
  if (v == nullptr && !absl::StartsWith(name, prefix)) {
    v = type->FindValueByName(prefix + name);
  }
  if (v == nullptr || v->number() == 0) return false;
  *value = v->number();
  return true;
}

std::string EnumShortName(const google::protobuf::EnumDescriptor* type, const std::string& prefix,
                          int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  if (v->number() == 0) return "";
  const std::string& name = v->name();
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

std::string EnumFullName(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  return v == nullptr ? absl::StrCat(value) : v->name();
}

bool ParseKind(const std::string& text, int* value) {
  return ParseEnum(common::v1::OrganizationKind_descriptor(), "ORGANIZATION_KIND_", text, value);
}
bool ParseOwnership(const std::string& text, int* value) {
  return ParseEnum(common::v1::Ownership_descriptor(), "OWNERSHIP_", text, value);
}
bool ParseSize(const std::string& text, int* value) {
  return ParseEnum(common::v1::EnterpriseSize_descriptor(), "ENTERPRISE_SIZE_", text, value);
}
bool ParseLinkType(const std::string& text, int* value) {
  return ParseEnum(registry::v1::LinkType_descriptor(), "LINK_TYPE_", text, value);
}

}  // namespace iplus::ctl
