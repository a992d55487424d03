#include "services/funds/catalog/validation.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/period.h"
#include "common/refdata/region.h"
#include "common/status/status.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/evaluation/convert/convert.h"
#include "services/evaluation/domain/evaluate.h"

namespace iplus::funds {
namespace {

namespace cv1 = ::iplus::common::v1;
using google::protobuf::util::MessageDifferencer;

class Violations {
 public:
  void Add(std::string field, std::string description) {
    list_.push_back(FieldViolation{std::move(field), std::move(description)});
  }
  void Add(const absl::Status& s) {
    if (s.ok()) return;
    auto v = FieldViolations(s);
    if (v.empty()) {
      list_.push_back(FieldViolation{"", std::string(s.message())});
      return;
    }
    list_.insert(list_.end(), v.begin(), v.end());
  }
  absl::Status Status() const { return list_.empty() ? absl::OkStatus() : InvalidFields(list_); }

 private:
  std::vector<FieldViolation> list_;
};

constexpr char kKebabRule[] =
    "must be lower-case kebab case (a-z, 0-9, single hyphens inside), 1-64 characters";

bool IsSnakeId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars || !absl::ascii_islower(id[0])) return false;
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

void CheckCondition(const v1::MilestoneCondition& c, const std::string& field, Violations* out) {
  if (c.indicator().empty()) {
    out->Add(absl::StrCat(field, ".indicator"), "must be set: an ingest indicator id");
  } else if (!IsSnakeId(c.indicator())) {
    out->Add(absl::StrCat(field, ".indicator"),
             "must be an indicator id: lower-case snake case (a-z, 0-9, _), 1-64 characters");
  }
  auto baseline =
      evaluation::ParsePeriodField(c.baseline_period(), absl::StrCat(field, ".baseline_period"));
  auto current =
      evaluation::ParsePeriodField(c.current_period(), absl::StrCat(field, ".current_period"));
  out->Add(baseline.status());
  out->Add(current.status());
  if (baseline.ok() && current.ok()) {
    if (baseline->granularity != current->granularity) {
      out->Add(absl::StrCat(field, ".current_period"),
               absl::StrCat("must be a ", refdata::GranularityName(baseline->granularity),
                            " like the baseline period"));
    } else if (!(*baseline < *current)) {
      out->Add(absl::StrCat(field, ".current_period"),
               absl::StrCat("must be after the baseline period ", c.baseline_period()));
    }
  }
  if (c.rule().kind_case() == evaluation::v1::Rule::KIND_NOT_SET) {
    out->Add(absl::StrCat(field, ".rule"), "must be set: absolute, multiple or relative_change");
  } else {
    out->Add(evaluation::ValidateRule(evaluation::RuleFromProto(c.rule()),
                                      absl::StrCat(field, ".rule")));
  }
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return MessageDifferencer::Equals(a, b);
}

}  // namespace

bool IsKebabId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars) return false;
  if (id.front() == '-' || id.back() == '-') return false;
  char prev = 0;
  for (char c : id) {
    const bool ok = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
    if (!ok || (c == '-' && prev == '-')) return false;
    prev = c;
  }
  return true;
}

bool IsMilestoneId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdChars) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

int CharCount(absl::string_view text) {
  int n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::Status CheckText(absl::string_view text, absl::string_view field, int min, int max) {
  const int n = CharCount(text);
  if (min > 0 && absl::StripAsciiWhitespace(text).empty()) {
    return InvalidField(field, absl::StrCat("must be set (", min, "-", max, " characters)"));
  }
  if (n < min || n > max) {
    return InvalidField(field, absl::StrCat("must be ", min, "-", max, " characters, got ", n));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PositiveFen(const cv1::Money& money, bool present,
                                    absl::string_view field) {
  if (!present) return InvalidField(field, "must be set: a positive amount of CNY in fen");
  std::vector<FieldViolation> v;
  if (money.currency() != "CNY") {
    v.push_back({absl::StrCat(field, ".currency"),
                 money.currency().empty()
                     ? std::string("must be \"CNY\"")
                     : absl::StrCat("must be \"CNY\", got \"", money.currency(), "\"")});
  }
  if (money.fen() <= 0) {
    v.push_back({absl::StrCat(field, ".fen"), absl::StrCat("must be positive, got ", money.fen())});
  }
  if (!v.empty()) return InvalidFields(v);
  return money.fen();
}

cv1::Money Cny(int64_t fen) {
  cv1::Money m;
  SetCny(fen, &m);
  return m;
}

void SetCny(int64_t fen, cv1::Money* out) {
  out->set_currency("CNY");
  out->set_fen(fen);
}

v1::Fund FundContent(const v1::Fund& fund) {
  v1::Fund f = fund;
  f.clear_create_time();
  f.clear_source_account_id();
  f.clear_fund_account_id();
  return f;
}

v1::Project ProjectContent(const v1::Project& project) {
  v1::Project p = project;
  p.clear_status();
  p.clear_create_time();
  p.clear_update_time();
  p.clear_commitment_account_id();
  p.clear_disbursed_account_id();
  for (auto& m : *p.mutable_milestones()) {
    m.clear_status();
    m.clear_disburse_time();
    m.clear_disbursement_transfer_id();
  }
  return p;
}

absl::Status ValidateFund(const v1::Fund& f) {
  Violations out;
  if (!IsKebabId(f.id())) out.Add("fund.id", kKebabRule);
  out.Add(CheckText(f.name(), "fund.name", 1, kMaxNameChars));
  switch (f.sponsor().kind_case()) {
    case v1::Sponsor::kRegionCode:
      if (absl::Status s = refdata::ValidateRegionCode(f.sponsor().region_code()); !s.ok()) {
        out.Add("fund.sponsor.region_code", std::string(s.message()));
      }
      break;
    case v1::Sponsor::kEnterpriseCode:
      if (absl::Status s = refdata::ValidateCreditCode(f.sponsor().enterprise_code()); !s.ok()) {
        out.Add("fund.sponsor.enterprise_code", std::string(s.message()));
      }
      break;
    case v1::Sponsor::kNational:
      if (!f.sponsor().national()) out.Add("fund.sponsor.national", "must be true when set");
      break;
    case v1::Sponsor::KIND_NOT_SET:
      out.Add("fund.sponsor",
              "must be set: region_code (a local government), enterprise_code (a central "
              "enterprise) or national");
      break;
  }
  std::set<int> seen;
  for (int i = 0; i < f.focus_areas_size(); ++i) {
    const int a = f.focus_areas(i);
    const std::string field = absl::StrCat("fund.focus_areas[", i, "]");
    if (a == v1::FOCUS_AREA_UNSPECIFIED || !v1::FocusArea_IsValid(a)) {
      out.Add(field, absl::StrCat("must be a known focus area, got ", a));
    } else if (!seen.insert(a).second) {
      out.Add(field, absl::StrCat("repeats ", v1::FocusArea_Name(a)));
    }
  }
  if (f.currency() != "CNY") {
    out.Add("fund.currency", f.currency().empty()
                                 ? std::string("must be \"CNY\"")
                                 : absl::StrCat("must be \"CNY\", got \"", f.currency(), "\""));
  }
  out.Add(CheckText(f.description(), "fund.description", 0, kMaxDescriptionChars));
  return out.Status();
}

absl::Status ValidateProject(const v1::Project& p) {
  Violations out;
  if (!IsKebabId(p.id())) out.Add("project.id", kKebabRule);
  if (p.fund_id().empty()) {
    out.Add("project.fund_id", "must be set");
  } else if (!IsKebabId(p.fund_id())) {
    out.Add("project.fund_id", kKebabRule);
  }
  if (absl::Status s = refdata::ValidateCreditCode(p.beneficiary_code()); !s.ok()) {
    out.Add("project.beneficiary_code", std::string(s.message()));
  }
  if (p.kind() == v1::PROJECT_KIND_UNSPECIFIED || !v1::ProjectKind_IsValid(p.kind())) {
    out.Add("project.kind", absl::StrCat("must be a known project kind, got ", p.kind()));
  }
  out.Add(CheckText(p.title(), "project.title", 1, kMaxNameChars));
  auto budget = PositiveFen(p.budget(), p.has_budget(), "project.budget");
  out.Add(budget.status());
  if (p.milestones_size() == 0 || p.milestones_size() > kMaxMilestones) {
    out.Add("project.milestones",
            absl::StrCat("must hold 1-", kMaxMilestones, " milestones, got ", p.milestones_size()));
  }
  std::set<std::string> ids;
  int64_t total = 0;
  bool amounts_ok = true;
  for (int i = 0; i < p.milestones_size(); ++i) {
    const v1::Milestone& m = p.milestones(i);
    const std::string field = absl::StrCat("project.milestones[", i, "]");
    if (!IsMilestoneId(m.id())) {
      out.Add(absl::StrCat(field, ".id"), "must be 1-64 characters of [A-Za-z0-9._-]");
    } else if (!ids.insert(m.id()).second) {
      out.Add(absl::StrCat(field, ".id"), absl::StrCat("repeats milestone id \"", m.id(), "\""));
    }
    out.Add(CheckText(m.title(), absl::StrCat(field, ".title"), 1, kMaxNameChars));
    auto amount = PositiveFen(m.amount(), m.has_amount(), absl::StrCat(field, ".amount"));
    out.Add(amount.status());
    if (!amount.ok() || __builtin_add_overflow(total, *amount, &total)) amounts_ok = false;
    if (m.has_condition()) CheckCondition(m.condition(), absl::StrCat(field, ".condition"), &out);
  }
  if (budget.ok() && amounts_ok && total > *budget) {
    out.Add("project.milestones", absl::StrCat("the milestones add up to ", total,
                                               " fen, more than the budget of ", *budget, " fen"));
  }
  return out.Status();
}

std::string DifferingFundField(const v1::Fund& request, const v1::Fund& stored) {
  if (request.name() != stored.name()) return "fund.name";
  if (!Same(request.sponsor(), stored.sponsor())) return "fund.sponsor";
  if (request.focus_areas_size() != stored.focus_areas_size()) return "fund.focus_areas";
  for (int i = 0; i < request.focus_areas_size(); ++i) {
    if (request.focus_areas(i) != stored.focus_areas(i)) {
      return absl::StrCat("fund.focus_areas[", i, "]");
    }
  }
  if (request.currency() != stored.currency()) return "fund.currency";
  if (request.description() != stored.description()) return "fund.description";
  return "";
}

std::string DifferingProjectField(const v1::Project& request, const v1::Project& stored) {
  if (request.fund_id() != stored.fund_id()) return "project.fund_id";
  if (request.beneficiary_code() != stored.beneficiary_code()) return "project.beneficiary_code";
  if (request.kind() != stored.kind()) return "project.kind";
  if (request.title() != stored.title()) return "project.title";
  if (!Same(request.budget(), stored.budget())) return "project.budget";
  if (request.milestones_size() != stored.milestones_size()) return "project.milestones";
  for (int i = 0; i < request.milestones_size(); ++i) {
    const v1::Milestone& a = request.milestones(i);
    const v1::Milestone& b = stored.milestones(i);
    const std::string field = absl::StrCat("project.milestones[", i, "]");
    if (a.id() != b.id()) return absl::StrCat(field, ".id");
    if (a.title() != b.title()) return absl::StrCat(field, ".title");
    if (!Same(a.amount(), b.amount())) return absl::StrCat(field, ".amount");
    if (a.has_condition() != b.has_condition()) return absl::StrCat(field, ".condition");
    if (!Same(a.condition(), b.condition())) {
      const auto& ca = a.condition();
      const auto& cb = b.condition();
      if (ca.indicator() != cb.indicator()) return absl::StrCat(field, ".condition.indicator");
      if (ca.baseline_period() != cb.baseline_period()) {
        return absl::StrCat(field, ".condition.baseline_period");
      }
      if (ca.current_period() != cb.current_period()) {
        return absl::StrCat(field, ".condition.current_period");
      }
      return absl::StrCat(field, ".condition.rule");
    }
  }
  return "";
}

int64_t MilestonesTotal(const v1::Project& project) {
  int64_t total = 0;
  for (const auto& m : project.milestones()) total += m.amount().fen();
  return total;
}

}  // namespace iplus::funds
