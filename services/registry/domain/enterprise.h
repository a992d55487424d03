#pragma once

// Domain types of the registry. Enum values equal the v1 API's enum numbers so the gRPC
// adapter converts with a range-checked cast; 0 is always "unspecified".

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace iplus::registry {

enum class OrganizationKind : int {
  kUnspecified = 0,
  kManufacturer = 1,
  kInternetServiceProvider = 2,
  kTelecomOperator = 3,
  kUniversity = 4,
  kResearchInstitute = 5,
  kMakerspace = 6,
  kPlatformOperator = 7,
};
inline constexpr int kMaxOrganizationKind = 7;

enum class Ownership : int {
  kUnspecified = 0,
  kStateOwned = 1,
  kCollective = 2,
  kPrivate = 3,
  kJointStock = 4,
  kHmtInvested = 5,
  kForeignInvested = 6,
  kOther = 7,
};
inline constexpr int kMaxOwnership = 7;

enum class EnterpriseSize : int {
  kUnspecified = 0,
  kLarge = 1,
  kMedium = 2,
  kSmall = 3,
  kMicro = 4,
};
inline constexpr int kMaxEnterpriseSize = 4;

enum class LinkType : int {
  kUnspecified = 0,
  kJointVenture = 1,
  kPlatformService = 2,
  kRdCooperation = 3,
  kOnlineSales = 4,
  kLogistics = 5,
  kBrandCultivation = 6,
};
inline constexpr int kMaxLinkType = 6;

enum class Dimension : int {
  kUnspecified = 0,
  kProvince = 1,
  kPrefecture = 2,
  kCounty = 3,
  kIndustryDivision = 4,
  kOwnership = 5,
  kSize = 6,
  kKind = 7,
  kKeyEnterprise = 8,
};
inline constexpr int kMaxDimension = 8;

enum class EventType : int {
  kUnspecified = 0,
  kEnterpriseCreated = 1,
  kEnterpriseUpdated = 2,
  kEnterpriseArchived = 3,
  kLinkCreated = 4,
  kLinkDeleted = 5,
};

// What a client supplies for an enterprise.
struct EnterpriseContent {
  std::string name;
  std::string region;
  std::string industry;
  Ownership ownership = Ownership::kUnspecified;
  EnterpriseSize size = EnterpriseSize::kUnspecified;
  bool key_enterprise = false;
  OrganizationKind kind = OrganizationKind::kUnspecified;
  std::map<std::string, std::string> labels;

  bool operator==(const EnterpriseContent& o) const {
    return name == o.name && region == o.region && industry == o.industry &&
           ownership == o.ownership && size == o.size && key_enterprise == o.key_enterprise &&
           kind == o.kind && labels == o.labels;
  }
  bool operator!=(const EnterpriseContent& o) const { return !(*this == o); }
};

struct Enterprise {
  std::string code;
  EnterpriseContent content;
  bool archived = false;
  std::string archive_reason;
  absl::Time create_time;
  absl::Time update_time;
  // Per-enterprise revision, 1 on creation; the etag is derived from it.
  int64_t revision = 0;
  // Registry version of the last change; assigned by the store.
  int64_t version = 0;
};

// The etag clients see: opaque to them, derived from the revision.
std::string EtagOf(const Enterprise& e);

struct Link {
  std::string from_code;
  std::string to_code;
  LinkType type = LinkType::kUnspecified;
  std::string note;
  absl::Time create_time;
};

struct Event {
  int64_t version = 0;
  EventType type = EventType::kUnspecified;
  std::string code;
  std::string other_code;
  absl::Time time;
};

// Which enterprises a list, count or export covers. Empty/unspecified fields match all.
struct Query {
  std::string region_prefix;
  std::string industry_prefix;
  Ownership ownership = Ownership::kUnspecified;
  EnterpriseSize size = EnterpriseSize::kUnspecified;
  bool key_only = false;
  OrganizationKind kind = OrganizationKind::kUnspecified;
  std::string name_prefix;
  bool include_archived = false;

  // Stable text form, used to tie page tokens to the query that produced them.
  std::string Canonical() const;
};

bool Matches(const Query& query, const Enterprise& e);

// The group key of `e` under `dimension`: "440000", "C26", "OWNERSHIP_PRIVATE", "true".
std::string GroupKey(Dimension dimension, const Enterprise& e);

const char* OwnershipName(Ownership v);
const char* SizeName(EnterpriseSize v);
const char* KindName(OrganizationKind v);

}  // namespace iplus::registry
