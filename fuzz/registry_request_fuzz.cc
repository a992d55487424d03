// Registry requests from arbitrary bytes, the way the gRPC adapter handles them. The
// first byte selects the request type, the rest is its serialized proto:
//   0  CreateEnterpriseRequest   1  UpdateEnterpriseRequest   2  ListEnterprisesRequest
// (the byte is taken modulo 3). Each input runs against a fresh Registry over a
// MemoryStore that already holds two enterprises, one of them archived.
//
// Invariants: Create ends in OK, INVALID_ARGUMENT (with field violations) or
// ALREADY_EXISTS; an accepted enterprise reads back unchanged, survives a proto round
// trip and is created again idempotently. Update ends in OK, INVALID_ARGUMENT,
// NOT_FOUND, ABORTED (etag) or FAILED_PRECONDITION (archived). List ends in OK or
// INVALID_ARGUMENT, returns at most the page size, and its token leads to the next page.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/clock/clock.h"
#include "common/status/status.h"
#include "fuzz/fuzz_check.h"
#include "iplus/registry/v1/registry.pb.h"
#include "services/registry/convert/convert.h"
#include "services/registry/domain/memory_store.h"
#include "services/registry/domain/registry.h"

namespace {

using iplus::registry::EnterpriseContent;
using iplus::registry::Registry;
namespace v1 = iplus::registry::v1;

constexpr char kLive[] = "91350100M000100Y43";      // region 350100
constexpr char kArchived[] = "91110000100006485K";  // region 110000

EnterpriseContent Manufacturer(const std::string& region) {
  EnterpriseContent c;
  c.name = "Precision Parts Co.";
  c.region = region;
  c.industry = "C34";
  c.ownership = iplus::registry::Ownership::kPrivate;
  c.size = iplus::registry::EnterpriseSize::kMedium;
  c.key_enterprise = true;
  c.kind = iplus::registry::OrganizationKind::kManufacturer;
  c.labels = {{"cluster", "pearl-river"}};
  return c;
}

std::string Describe(const absl::Status& s) { return s.ToString(); }

void CheckCreate(Registry& registry, const v1::CreateEnterpriseRequest& req) {
  const std::string& code = req.enterprise().code();
  const EnterpriseContent content = iplus::registry::ContentFromProto(req.enterprise());
  auto r = registry.Create(code, content);
  const absl::StatusCode c = r.status().code();
  FUZZ_CHECK(c == absl::StatusCode::kOk || c == absl::StatusCode::kInvalidArgument ||
                 c == absl::StatusCode::kAlreadyExists,
             Describe(r.status()));
  if (c == absl::StatusCode::kInvalidArgument) {
    FUZZ_CHECK(!iplus::FieldViolations(r.status()).empty(), Describe(r.status()));
  }
  if (!r.ok()) return;
  FUZZ_CHECK(r->enterprise.code == code, code);
  FUZZ_CHECK(r->enterprise.content == content, code);

  auto got = registry.Get(code);
  FUZZ_CHECK(got.ok(), Describe(got.status()));
  FUZZ_CHECK(got->content == content, code);

  // What the adapter and the Redis store write must read back as the same content.
  v1::Enterprise out;
  iplus::registry::ToProto(*got, &out);
  FUZZ_CHECK(out.code() == code, code);
  FUZZ_CHECK(iplus::registry::ContentFromProto(out) == content, out.ShortDebugString());
  v1::Enterprise reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(out.SerializeAsString()), code);
  FUZZ_CHECK(iplus::registry::ContentFromProto(reparsed) == content, code);

  auto again = registry.Create(code, content);
  FUZZ_CHECK(again.ok(), Describe(again.status()));
  FUZZ_CHECK(!again->created, code);
}

void CheckUpdate(Registry& registry, const v1::UpdateEnterpriseRequest& req) {
  std::vector<std::string> paths(req.update_mask().paths().begin(),
                                 req.update_mask().paths().end());
  auto r = registry.Update(req.enterprise().code(),
                           iplus::registry::ContentFromProto(req.enterprise()), paths, req.etag());
  const absl::StatusCode c = r.status().code();
  FUZZ_CHECK(c == absl::StatusCode::kOk || c == absl::StatusCode::kInvalidArgument ||
                 c == absl::StatusCode::kNotFound || c == absl::StatusCode::kAborted ||
                 c == absl::StatusCode::kFailedPrecondition,
             Describe(r.status()));
  if (!r.ok()) return;
  FUZZ_CHECK(r->code == req.enterprise().code(), r->code);
  FUZZ_CHECK(r->revision >= 1, r->code);
  // The stored result is itself valid content.
  FUZZ_CHECK(registry.ValidateContent(r->content, "enterprise").ok(), r->code);
  auto got = registry.Get(r->code);
  FUZZ_CHECK(got.ok() && got->content == r->content, r->code);
}

void CheckList(Registry& registry, const v1::ListEnterprisesRequest& req) {
  const auto query =
      iplus::registry::QueryFromProto(req.scope(), req.name_prefix(), req.include_archived());
  auto page = registry.List(query, req.page_size(), req.page_token());
  const absl::StatusCode c = page.status().code();
  FUZZ_CHECK(c == absl::StatusCode::kOk || c == absl::StatusCode::kInvalidArgument,
             Describe(page.status()));
  if (!page.ok()) return;
  if (req.page_size() > 0) {
    FUZZ_CHECK(page->enterprises.size() <= static_cast<size_t>(req.page_size()),
               absl::StrCat(page->enterprises.size()));
  }
  for (const auto& e : page->enterprises) {
    FUZZ_CHECK(req.include_archived() || !e.archived, e.code);
  }
  if (!page->next_page_token.empty()) {
    auto next = registry.List(query, req.page_size(), page->next_page_token);
    FUZZ_CHECK(next.ok(), Describe(next.status()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] % 3;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  iplus::registry::MemoryStore store;
  iplus::FakeClock clock;
  Registry registry(&store, &clock, iplus::registry::RegistryConfig{});
  FUZZ_CHECK(registry.Create(kLive, Manufacturer("350102")).ok(), "setup");
  FUZZ_CHECK(registry.Create(kArchived, Manufacturer("110101")).ok(), "setup");
  FUZZ_CHECK(registry.Archive(kArchived, "merged", "").ok(), "setup");

  switch (kind) {
    case 0: {
      v1::CreateEnterpriseRequest req;
      if (req.ParseFromString(bytes)) CheckCreate(registry, req);
      break;
    }
    case 1: {
      v1::UpdateEnterpriseRequest req;
      if (req.ParseFromString(bytes)) CheckUpdate(registry, req);
      break;
    }
    default: {
      v1::ListEnterprisesRequest req;
      if (req.ParseFromString(bytes)) CheckList(registry, req);
      break;
    }
  }
  return 0;
}
