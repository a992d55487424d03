#include "services/registry/domain/enterprise.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/refdata/industry.h"
#include "common/refdata/region.h"

namespace iplus::registry {

std::string EtagOf(const Enterprise& e) { return absl::StrCat("r", e.revision); }

std::string Query::Canonical() const {
  return absl::StrCat("r=", region_prefix, ";i=", industry_prefix,
                      ";o=", static_cast<int>(ownership), ";s=", static_cast<int>(size),
                      ";k=", key_only ? 1 : 0, ";t=", static_cast<int>(kind), ";n=", name_prefix,
                      ";a=", include_archived ? 1 : 0);
}

bool Matches(const Query& q, const Enterprise& e) {
  const EnterpriseContent& c = e.content;
  if (e.archived && !q.include_archived) return false;
  if (!absl::StartsWith(c.region, q.region_prefix)) return false;
  if (!absl::StartsWith(c.industry, q.industry_prefix)) return false;
  if (q.ownership != Ownership::kUnspecified && c.ownership != q.ownership) return false;
  if (q.size != EnterpriseSize::kUnspecified && c.size != q.size) return false;
  if (q.key_only && !c.key_enterprise) return false;
  if (q.kind != OrganizationKind::kUnspecified && c.kind != q.kind) return false;
  if (!absl::StartsWith(c.name, q.name_prefix)) return false;
  return true;
}

const char* OwnershipName(Ownership v) {
  static const char* const kNames[] = {"OWNERSHIP_UNSPECIFIED",      "OWNERSHIP_STATE_OWNED",
                                       "OWNERSHIP_COLLECTIVE",       "OWNERSHIP_PRIVATE",
                                       "OWNERSHIP_JOINT_STOCK",      "OWNERSHIP_HMT_INVESTED",
                                       "OWNERSHIP_FOREIGN_INVESTED", "OWNERSHIP_OTHER"};
  int i = static_cast<int>(v);
  return i >= 0 && i <= kMaxOwnership ? kNames[i] : kNames[0];
}

const char* SizeName(EnterpriseSize v) {
  static const char* const kNames[] = {"ENTERPRISE_SIZE_UNSPECIFIED", "ENTERPRISE_SIZE_LARGE",
                                       "ENTERPRISE_SIZE_MEDIUM", "ENTERPRISE_SIZE_SMALL",
                                       "ENTERPRISE_SIZE_MICRO"};
  int i = static_cast<int>(v);
  return i >= 0 && i <= kMaxEnterpriseSize ? kNames[i] : kNames[0];
}

const char* KindName(OrganizationKind v) {
  static const char* const kNames[] = {"ORGANIZATION_KIND_UNSPECIFIED",
                                       "ORGANIZATION_KIND_MANUFACTURER",
                                       "ORGANIZATION_KIND_INTERNET_SERVICE_PROVIDER",
                                       "ORGANIZATION_KIND_TELECOM_OPERATOR",
                                       "ORGANIZATION_KIND_UNIVERSITY",
                                       "ORGANIZATION_KIND_RESEARCH_INSTITUTE",
                                       "ORGANIZATION_KIND_MAKERSPACE",
                                       "ORGANIZATION_KIND_PLATFORM_OPERATOR"};
  int i = static_cast<int>(v);
  return i >= 0 && i <= kMaxOrganizationKind ? kNames[i] : kNames[0];
}

std::string GroupKey(Dimension dimension, const Enterprise& e) {
  const EnterpriseContent& c = e.content;
  switch (dimension) {
    case Dimension::kProvince:
      return refdata::ProvinceOf(c.region);
    case Dimension::kPrefecture:
      return refdata::PrefectureOf(c.region);
    case Dimension::kCounty:
      return c.region;
    case Dimension::kIndustryDivision:
      return refdata::DivisionOf(c.industry);
    case Dimension::kOwnership:
      return OwnershipName(c.ownership);
    case Dimension::kSize:
      return SizeName(c.size);
    case Dimension::kKind:
      return KindName(c.kind);
    case Dimension::kKeyEnterprise:
      return c.key_enterprise ? "true" : "false";
    case Dimension::kUnspecified:
      break;
  }
  return "";
}

}  // namespace iplus::registry
