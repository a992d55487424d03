#pragma once

// Enum values on the command line and in CSV files: the full proto name
// ("OWNERSHIP_PRIVATE") or the name without its prefix, in any case ("private",
// "joint-stock" with '-' for '_').

#include <string>

#include "google/protobuf/descriptor.h"

namespace iplus::ctl {

// The value of `text` in `type` whose names start with `prefix`; false when unknown or
// the UNSPECIFIED value.
bool ParseEnum(const google::protobuf::EnumDescriptor* type, const std::string& prefix,
               const std::string& text, int* value);
// The name of `value` without `prefix` ("PRIVATE"); the number for an unknown value.
std::string EnumShortName(const google::protobuf::EnumDescriptor* type, const std::string& prefix,
                          int value);
// The full name ("OWNERSHIP_PRIVATE").
std::string EnumFullName(const google::protobuf::EnumDescriptor* type, int value);

bool ParseKind(const std::string& text, int* value);
bool ParseOwnership(const std::string& text, int* value);
bool ParseSize(const std::string& text, int* value);
bool ParseLinkType(const std::string& text, int* value);

}  // namespace iplus::ctl
