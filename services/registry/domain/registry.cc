#include "services/registry/domain/registry.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/hash/fnv.h"
#include "common/refdata/credit_code.h"
#include "common/refdata/industry.h"
#include "common/refdata/region.h"
#include "common/status/status.h"

namespace iplus::registry {
namespace {

constexpr size_t kMaxNameBytes = 300;
constexpr size_t kMaxLabels = 32;
constexpr size_t kMaxLabelKeyBytes = 63;
constexpr size_t kMaxLabelValueBytes = 256;
constexpr size_t kMaxNoteBytes = 500;
constexpr size_t kMaxReasonBytes = 500;
constexpr int kMaxEventsPage = 10000;
constexpr int kDefaultEventsPage = 1000;
constexpr int kReplaceAttempts = 8;

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 0x6) {
      n = 1;
    } else if ((c >> 4) == 0xE) {
      n = 2;
    } else if ((c >> 3) == 0x1E) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n + 1;
  }
  return true;
}

bool ValidLabelKey(absl::string_view k) {
  if (k.empty() || k.size() > kMaxLabelKeyBytes) return false;
  if (!absl::ascii_islower(k[0]) && !absl::ascii_isdigit(k[0])) return false;
  for (char c : k) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

absl::Status Wrap(absl::string_view field, const absl::Status& s) {
  if (s.ok()) return s;
  return InvalidField(field, s.message());
}

int ClampPageSize(int requested, int def, int max, const char* field, absl::Status* error) {
  if (requested < 0 || requested > max) {
    *error = InvalidField(field, absl::StrCat("must be between 0 and ", max, ", got ", requested));
    return 0;
  }
  return requested == 0 ? def : requested;
}

}  // namespace

std::string EncodePageToken(const std::string& query_canonical, const std::string& after) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("1|", absl::Hex(Fnv1a64(query_canonical), absl::kZeroPad16), "|", after));
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token,
                                            const std::string& query_canonical) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != "1") {
    return InvalidField("page_token", "is not a token this service issued");
  }
  if (parts[1] != absl::StrCat(absl::Hex(Fnv1a64(query_canonical), absl::kZeroPad16))) {
    return InvalidField("page_token", "was issued for a different query; repeat the same filters");
  }
  return parts[2];
}

Registry::Registry(Store* store, Clock* clock, RegistryConfig config)
    : store_(store), clock_(clock), config_(std::move(config)) {}

absl::Status Registry::ValidateCode(const std::string& code, const std::string& field) const {
  return Wrap(field, refdata::ValidateCreditCode(code));
}

absl::Status Registry::ValidateContent(const EnterpriseContent& c,
                                       const std::string& prefix) const {
  auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  std::vector<FieldViolation> v;
  auto add = [&](absl::string_view name, absl::string_view why) {
    v.push_back(FieldViolation{f(name), std::string(why)});
  };

  if (absl::StripAsciiWhitespace(c.name).empty()) {
    add("name", "must not be empty");
  } else if (c.name.size() > kMaxNameBytes) {
    add("name", absl::StrCat("must be at most ", kMaxNameBytes, " bytes"));
  } else if (!ValidUtf8(c.name)) {
    add("name", "must be valid UTF-8");
  }

  if (absl::Status s = refdata::ValidateRegionCode(c.region); !s.ok()) {
    add("region", s.message());
  } else if (!absl::StartsWith(c.region, config_.region_prefix)) {
    add("region", absl::StrCat("\"", c.region, "\" is outside this instance's region \"",
                               config_.region_prefix, "\""));
  }

  int kind = static_cast<int>(c.kind);
  if (kind <= 0 || kind > kMaxOrganizationKind) {
    add("kind", kind == 0 ? "must be set" : absl::StrCat("unknown value ", kind));
  }

  if (absl::Status s = refdata::ValidateIndustryCode(c.industry); !s.ok()) {
    add("industry", s.message());
  } else if (c.kind == OrganizationKind::kManufacturer && !refdata::IsManufacturing(c.industry)) {
    add("industry",
        absl::StrCat("a manufacturer must be in manufacturing divisions C13-C43, got \"",
                     c.industry, "\""));
  }

  int ownership = static_cast<int>(c.ownership);
  if (ownership <= 0 || ownership > kMaxOwnership) {
    add("ownership", ownership == 0 ? "must be set" : absl::StrCat("unknown value ", ownership));
  }
  int size = static_cast<int>(c.size);
  if (size <= 0 || size > kMaxEnterpriseSize) {
    add("size", size == 0 ? "must be set" : absl::StrCat("unknown value ", size));
  }

  if (c.labels.size() > kMaxLabels) {
    add("labels", absl::StrCat("at most ", kMaxLabels, " labels"));
  }
  for (const auto& [k, val] : c.labels) {
    if (!ValidLabelKey(k)) {
      add(absl::StrCat("labels[", k, "]"),
          "key must be 1-63 characters of a-z, 0-9, '_', '-', '.', starting with a letter or "
          "digit");
    } else if (val.size() > kMaxLabelValueBytes || !ValidUtf8(val)) {
      add(absl::StrCat("labels[", k, "]"),
          absl::StrCat("value must be valid UTF-8 of at most ", kMaxLabelValueBytes, " bytes"));
    }
  }
  if (v.empty()) return absl::OkStatus();
  return InvalidFields(v);
}

absl::Status Registry::ValidateQuery(const Query& q) const {
  if (absl::Status s = refdata::ValidateRegionPrefix(q.region_prefix); !s.ok()) {
    return InvalidField("scope.region_prefix", s.message());
  }
  if (!absl::StartsWith(q.region_prefix, config_.region_prefix) &&
      !absl::StartsWith(config_.region_prefix, q.region_prefix)) {
    return InvalidField(
        "scope.region_prefix",
        absl::StrCat("\"", q.region_prefix, "\" is outside this instance's region \"",
                     config_.region_prefix, "\""));
  }
  if (absl::Status s = refdata::ValidateIndustryPrefix(q.industry_prefix); !s.ok()) {
    return InvalidField("scope.industry_prefix", s.message());
  }
  if (static_cast<int>(q.ownership) < 0 || static_cast<int>(q.ownership) > kMaxOwnership) {
    return InvalidField("scope.ownership",
                        absl::StrCat("unknown value ", static_cast<int>(q.ownership)));
  }
  if (static_cast<int>(q.size) < 0 || static_cast<int>(q.size) > kMaxEnterpriseSize) {
    return InvalidField("scope.size", absl::StrCat("unknown value ", static_cast<int>(q.size)));
  }
  if (static_cast<int>(q.kind) < 0 || static_cast<int>(q.kind) > kMaxOrganizationKind) {
    return InvalidField("scope.kind", absl::StrCat("unknown value ", static_cast<int>(q.kind)));
  }
  if (q.name_prefix.size() > kMaxNameBytes) {
    return InvalidField("name_prefix", absl::StrCat("must be at most ", kMaxNameBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CreateResult> Registry::Create(const std::string& code,
                                              const EnterpriseContent& content) {
  std::vector<FieldViolation> v;
  if (absl::Status s = ValidateCode(code, "enterprise.code"); !s.ok()) {
    for (auto& fv : FieldViolations(s)) v.push_back(fv);
  }
  if (absl::Status s = ValidateContent(content, "enterprise"); !s.ok()) {
    for (auto& fv : FieldViolations(s)) v.push_back(fv);
  }
  if (!v.empty()) return InvalidFields(v);

  Enterprise e;
  e.code = code;
  e.content = content;
  e.create_time = e.update_time = clock_->Now();
  e.revision = 1;
  auto result = store_->Create(e);
  if (!result.ok()) return result.status();
  if (!result->created && result->enterprise.content != content) {
    return absl::AlreadyExistsError(absl::StrCat(
        "enterprise ", code, " already exists with different content; use UpdateEnterprise"));
  }
  return result;
}

absl::StatusOr<std::vector<absl::StatusOr<CreateResult>>> Registry::BatchCreate(
    const std::vector<std::pair<std::string, EnterpriseContent>>& items, const ItemCheck& admit) {
  if (items.empty()) return InvalidField("requests", "must hold at least one item");
  if (static_cast<int>(items.size()) > config_.max_batch) {
    return InvalidField("requests",
                        absl::StrCat("at most ", config_.max_batch, " items, got ", items.size()));
  }
  std::vector<absl::StatusOr<CreateResult>> out(items.size(), absl::UnknownError("unset"));
  std::vector<Enterprise> valid;
  std::vector<size_t> valid_index;
  std::map<std::string, size_t> first_of_code;
  absl::Time now = clock_->Now();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [code, content] = items[i];
    std::string prefix = absl::StrCat("requests[", i, "]");
    std::vector<FieldViolation> v;
    for (const absl::Status& s :
         {ValidateCode(code, "enterprise.code"), ValidateContent(content, "enterprise")}) {
      for (auto& fv : FieldViolations(PrefixFields(s, prefix))) v.push_back(fv);
    }
    if (!v.empty()) {
      out[i] = InvalidFields(v);
      continue;
    }
    if (admit) {
      if (absl::Status s = admit(code, content); !s.ok()) {
        out[i] = s;
        continue;
      }
    }
    // A code repeated within one batch is resolved against its first occurrence below.
    if (first_of_code.count(code) != 0) continue;
    first_of_code[code] = i;
    Enterprise e;
    e.code = code;
    e.content = content;
    e.create_time = e.update_time = now;
    e.revision = 1;
    valid.push_back(std::move(e));
    valid_index.push_back(i);
  }
  if (!valid.empty()) {
    auto stored = store_->CreateMany(valid);
    if (!stored.ok()) return stored.status();
    for (size_t k = 0; k < valid.size(); ++k) {
      size_t i = valid_index[k];
      CreateResult& r = (*stored)[k];
      if (!r.created && r.enterprise.content != items[i].second) {
        out[i] = absl::AlreadyExistsError(
            absl::StrCat("enterprise ", items[i].first, " already exists with different content"));
      } else {
        out[i] = r;
      }
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (out[i].status().code() != absl::StatusCode::kUnknown || out[i].ok()) continue;
    // A repeat of a code earlier in the batch: same as a resend of that item.
    const auto& first = out[first_of_code[items[i].first]];
    if (!first.ok()) {
      out[i] = first.status();
    } else if (first->enterprise.content != items[i].second) {
      out[i] = absl::AlreadyExistsError(absl::StrCat(
          "enterprise ", items[i].first, " appears earlier in the batch with different content"));
    } else {
      out[i] = CreateResult{first->enterprise, false};
    }
  }
  return out;
}

absl::StatusOr<Enterprise> Registry::Get(const std::string& code) {
  if (absl::Status s = ValidateCode(code, "code"); !s.ok()) return s;
  return store_->Get(code);
}

absl::StatusOr<BatchGetResult> Registry::BatchGet(const std::vector<std::string>& codes) {
  if (static_cast<int>(codes.size()) > config_.max_batch) {
    return InvalidField("codes",
                        absl::StrCat("at most ", config_.max_batch, " codes, got ", codes.size()));
  }
  for (size_t i = 0; i < codes.size(); ++i) {
    if (absl::Status s = ValidateCode(codes[i], absl::StrCat("codes[", i, "]")); !s.ok()) return s;
  }
  BatchGetResult out;
  if (codes.empty()) return out;
  auto found = store_->GetMany(codes);
  if (!found.ok()) return found.status();
  for (size_t i = 0; i < codes.size(); ++i) {
    if ((*found)[i].has_value()) {
      out.enterprises.push_back(*std::move((*found)[i]));
    } else {
      out.missing_codes.push_back(codes[i]);
    }
  }
  return out;
}

absl::StatusOr<Enterprise> Registry::ReplaceChecked(
    const std::string& code, const std::string& etag,
    const std::function<absl::Status(Enterprise&)>& change, EventType type) {
  for (int attempt = 0;; ++attempt) {
    auto current = store_->Get(code);
    if (!current.ok()) return current.status();
    if (!etag.empty() && EtagOf(*current) != etag) {
      return absl::AbortedError(absl::StrCat("etag \"", etag, "\" does not match the stored \"",
                                             EtagOf(*current), "\"; read the enterprise again"));
    }
    Enterprise updated = *current;
    absl::Status s = change(updated);
    if (s.code() == absl::StatusCode::kAlreadyExists) return *current;  // nothing to change
    if (!s.ok()) return s;
    updated.revision = current->revision + 1;
    updated.update_time = clock_->Now();
    auto stored = store_->Replace(updated, type);
    // With an etag the caller asked for exactly that revision; without one, a concurrent
    // writer only means "read again and reapply".
    if (stored.status().code() == absl::StatusCode::kAborted && etag.empty() &&
        attempt + 1 < kReplaceAttempts) {
      continue;
    }
    return stored;
  }
}

absl::StatusOr<Enterprise> Registry::Update(const std::string& code,
                                            const EnterpriseContent& content,
                                            const std::vector<std::string>& mask_paths,
                                            const std::string& etag) {
  if (absl::Status s = ValidateCode(code, "enterprise.code"); !s.ok()) return s;
  if (mask_paths.empty()) {
    return InvalidField("update_mask", "must name at least one field to update");
  }
  static const std::map<std::string, UpdateField> kPaths = {
      {"name", UpdateField::kName},         {"region", UpdateField::kRegion},
      {"industry", UpdateField::kIndustry}, {"ownership", UpdateField::kOwnership},
      {"size", UpdateField::kSize},         {"key_enterprise", UpdateField::kKeyEnterprise},
      {"kind", UpdateField::kKind},         {"labels", UpdateField::kLabels}};
  std::set<UpdateField> fields;
  for (const std::string& path : mask_paths) {
    auto it = kPaths.find(path);
    if (it == kPaths.end()) {
      return InvalidField("update_mask",
                          absl::StrCat("\"", path,
                                       "\" is not an updatable field (updatable: name, "
                                       "region, industry, ownership, size, key_enterprise, kind, "
                                       "labels)"));
    }
    fields.insert(it->second);
  }
  return ReplaceChecked(
      code, etag,
      [&](Enterprise& e) -> absl::Status {
        if (e.archived) {
          return absl::FailedPreconditionError(
              absl::StrCat("enterprise ", code, " is archived and cannot be updated"));
        }
        EnterpriseContent& c = e.content;
        for (UpdateField f : fields) {
          switch (f) {
            case UpdateField::kName:
              c.name = content.name;
              break;
            case UpdateField::kRegion:
              c.region = content.region;
              break;
            case UpdateField::kIndustry:
              c.industry = content.industry;
              break;
            case UpdateField::kOwnership:
              c.ownership = content.ownership;
              break;
            case UpdateField::kSize:
              c.size = content.size;
              break;
            case UpdateField::kKeyEnterprise:
              c.key_enterprise = content.key_enterprise;
              break;
            case UpdateField::kKind:
              c.kind = content.kind;
              break;
            case UpdateField::kLabels:
              c.labels = content.labels;
              break;
          }
        }
        return ValidateContent(c, "enterprise");
      },
      EventType::kEnterpriseUpdated);
}

absl::StatusOr<Enterprise> Registry::Archive(const std::string& code, const std::string& reason,
                                             const std::string& etag) {
  if (absl::Status s = ValidateCode(code, "code"); !s.ok()) return s;
  if (reason.size() > kMaxReasonBytes || !ValidUtf8(reason)) {
    return InvalidField("reason",
                        absl::StrCat("must be valid UTF-8 of at most ", kMaxReasonBytes, " bytes"));
  }
  return ReplaceChecked(
      code, etag,
      [&](Enterprise& e) -> absl::Status {
        if (e.archived) return absl::AlreadyExistsError("already archived");
        e.archived = true;
        e.archive_reason = reason;
        return absl::OkStatus();
      },
      EventType::kEnterpriseArchived);
}

absl::StatusOr<ListPage> Registry::List(const Query& query, int page_size,
                                        const std::string& page_token) {
  if (absl::Status s = ValidateQuery(query); !s.ok()) return s;
  absl::Status error;
  int limit = ClampPageSize(page_size, config_.default_page_size, config_.max_page_size,
                            "page_size", &error);
  if (!error.ok()) return error;
  std::string after;
  if (!page_token.empty()) {
    auto decoded = DecodePageToken(page_token, query.Canonical());
    if (!decoded.ok()) return decoded.status();
    after = *decoded;
  }
  auto scan = store_->Scan(query, after, limit, config_.max_examined_per_page);
  if (!scan.ok()) return scan.status();
  ListPage page;
  page.enterprises = std::move(scan->enterprises);
  if (!scan->done) page.next_page_token = EncodePageToken(query.Canonical(), scan->resume_after);
  return page;
}

absl::StatusOr<CountResult> Registry::Count(const Query& query, Dimension group_by) {
  int d = static_cast<int>(group_by);
  if (d <= 0 || d > kMaxDimension) {
    return InvalidField("group_by", d == 0 ? "must be set" : absl::StrCat("unknown value ", d));
  }
  if (absl::Status s = ValidateQuery(query); !s.ok()) return s;
  CountResult out;
  auto counts = store_->Count(query, group_by, &out.registry_version);
  if (!counts.ok()) return counts.status();
  for (const auto& [key, n] : *counts) {
    if (n == 0) continue;
    out.groups.emplace_back(key, n);
    out.total += n;
  }
  return out;
}

absl::Status Registry::Export(
    const Query& query, int batch_size,
    const std::function<bool(const std::vector<Enterprise>&, int64_t)>& sink) {
  if (absl::Status s = ValidateQuery(query); !s.ok()) return s;
  absl::Status error;
  int limit = ClampPageSize(batch_size, config_.default_export_batch, config_.max_export_batch,
                            "batch_size", &error);
  if (!error.ok()) return error;
  auto version = store_->Version();
  if (!version.ok()) return version.status();
  std::string after;
  std::vector<Enterprise> batch;
  for (;;) {
    auto scan = store_->Scan(query, after, limit - static_cast<int>(batch.size()),
                             config_.max_examined_per_page);
    if (!scan.ok()) return scan.status();
    for (auto& e : scan->enterprises) batch.push_back(std::move(e));
    after = scan->resume_after;
    if (static_cast<int>(batch.size()) >= limit || (scan->done && !batch.empty())) {
      if (!sink(batch, *version)) return absl::OkStatus();
      batch.clear();
    }
    if (scan->done) return absl::OkStatus();
  }
}

absl::StatusOr<LinkResult> Registry::CreateLink(const Link& link) {
  if (absl::Status s = ValidateCode(link.from_code, "link.from_code"); !s.ok()) return s;
  if (absl::Status s = ValidateCode(link.to_code, "link.to_code"); !s.ok()) return s;
  if (link.from_code == link.to_code) {
    return InvalidField("link.to_code", "must differ from link.from_code");
  }
  int t = static_cast<int>(link.type);
  if (t <= 0 || t > kMaxLinkType) {
    return InvalidField("link.type", t == 0 ? "must be set" : absl::StrCat("unknown value ", t));
  }
  if (link.note.size() > kMaxNoteBytes || !ValidUtf8(link.note)) {
    return InvalidField("link.note",
                        absl::StrCat("must be valid UTF-8 of at most ", kMaxNoteBytes, " bytes"));
  }
  Link stored = link;
  stored.create_time = clock_->Now();
  auto r = store_->CreateLink(stored);
  if (!r.ok()) return r.status();
  switch (r->change) {
    case LinkChange::kMissingEnterprise:
      return absl::NotFoundError(absl::StrCat("enterprise ", r->offending_code, " not found"));
    case LinkChange::kArchivedEnterprise:
      return absl::FailedPreconditionError(
          absl::StrCat("enterprise ", r->offending_code, " is archived"));
    case LinkChange::kAlreadyDone:
      if (r->link.note != link.note) {
        return absl::AlreadyExistsError("this link already exists with a different note");
      }
      return r;
    case LinkChange::kApplied:
      return r;
  }
  return r;
}

absl::Status Registry::DeleteLink(const Link& link) {
  if (absl::Status s = ValidateCode(link.from_code, "from_code"); !s.ok()) return s;
  if (absl::Status s = ValidateCode(link.to_code, "to_code"); !s.ok()) return s;
  int t = static_cast<int>(link.type);
  if (t <= 0 || t > kMaxLinkType) {
    return InvalidField("type", t == 0 ? "must be set" : absl::StrCat("unknown value ", t));
  }
  auto r = store_->DeleteLink(link);
  if (!r.ok()) return r.status();
  if (r->change == LinkChange::kAlreadyDone) return absl::NotFoundError("no such link");
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::vector<Link>, std::string>> Registry::ListLinks(
    const std::string& code, int page_size, const std::string& page_token) {
  if (absl::Status s = ValidateCode(code, "code"); !s.ok()) return s;
  absl::Status error;
  int limit = ClampPageSize(page_size, config_.default_page_size, config_.max_page_size,
                            "page_size", &error);
  if (!error.ok()) return error;
  std::string canonical = absl::StrCat("links:", code);
  std::string after;
  if (!page_token.empty()) {
    auto decoded = DecodePageToken(page_token, canonical);
    if (!decoded.ok()) return decoded.status();
    after = *decoded;
  }
  auto links = store_->ListLinks(code, after, limit + 1);
  if (!links.ok()) return links.status();
  std::string next;
  if (static_cast<int>(links->size()) > limit) {
    links->resize(limit);
    next = EncodePageToken(canonical, LinkKey(links->back()));
  }
  return std::make_pair(std::move(*links), next);
}

absl::StatusOr<EventsPage> Registry::ListEvents(int64_t after_version, int page_size) {
  if (after_version < 0) return InvalidField("after_version", "must not be negative");
  absl::Status error;
  int limit = ClampPageSize(page_size, kDefaultEventsPage, kMaxEventsPage, "page_size", &error);
  if (!error.ok()) return error;
  return store_->ListEvents(after_version, limit);
}

std::string LinkKey(const Link& link) {
  return absl::StrCat(link.from_code, "|", link.to_code, "|", static_cast<int>(link.type));
}

}  // namespace iplus::registry
