#include "common/audit/audit_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/auth/scope.h"
#include "common/grpc/status.h"
#include "common/hash/fnv.h"
#include "common/log/log.h"
#include "common/metrics/family.h"
#include "common/metrics/registry.h"
#include "common/status/status.h"

namespace iplus::audit {
namespace {

constexpr char kPageToken[] = "page_token";

int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

std::string Fingerprint(const AuditQuery& q) {
  std::string key = absl::StrCat(q.start == absl::InfinitePast() ? -1 : Millis(q.start), "|",
                                 q.end == absl::InfiniteFuture() ? -1 : Millis(q.end), "|",
                                 q.principal, "|", q.method);
  return absl::StrFormat("%016x", Fnv1a64(key));
}

std::string EncodeToken(const std::string& id, const std::string& fingerprint) {
  return absl::WebSafeBase64Escape(absl::StrCat(id, "|", fingerprint));
}

// The stream id to continue after, or INVALID_ARGUMENT naming page_token.
absl::StatusOr<std::string> DecodeToken(const std::string& token, const std::string& fingerprint) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField(kPageToken, "not a token this service issued");
  }
  std::pair<std::string, std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 1));
  std::pair<absl::string_view, absl::string_view> id = absl::StrSplit(parts.first, '-');
  uint64_t ms = 0, seq = 0;
  if (!absl::SimpleAtoi(id.first, &ms) || !absl::SimpleAtoi(id.second, &seq)) {
    return InvalidField(kPageToken, "not a token this service issued");
  }
  if (parts.second != fingerprint) {
    return InvalidField(kPageToken, "issued for a different query");
  }
  return parts.first;
}

bool MethodMatches(const std::string& method, const std::string& filter) {
  if (filter.empty()) return true;
  if (absl::StrContains(filter, '/')) return method == filter;
  return absl::EndsWith(method, absl::StrCat("/", filter));
}

absl::Time TimeOfId(absl::string_view id) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(id, '-');
  int64_t ms = 0;
  if (!absl::SimpleAtoi(parts.first, &ms)) return absl::UnixEpoch();
  return absl::FromUnixMillis(ms);
}

}  // namespace

AuditLog::AuditLog(redis::Client* client, const std::string& key_prefix, AuditOptions options,
                   metrics::Registry* metrics)
    : client_(client), key_(absl::StrCat(key_prefix, "audit")), options_(options) {
  if (metrics != nullptr) {
    failures_ = &metrics::BuildCounter()
                     .Name("iplus_audit_write_failures_total")
                     .Help("Audit records that could not be written to Redis.")
                     .Register(*metrics)
                     .Add({});
  }
}

void AuditLog::Record(const AuditEvent& e) {
  auto reply = client_->Command({"XADD", key_, "MAXLEN", "~", absl::StrCat(options_.max_records),
                                 "*", "p", e.principal, "r", e.role, "m", e.method, "o", e.object,
                                 "c", absl::StrCat(static_cast<int>(e.code))});
  absl::Status s = reply.ok() ? redis::ReplyStatus(*reply) : reply.status();
  if (!s.ok()) {
    if (failures_ != nullptr) failures_->Increment();
    log::Warn("audit record not written",
              {log::Field::Str("method", e.method), log::Field::Str("principal", e.principal),
               log::Field::Status("error", s)});
  }
}

absl::StatusOr<AuditPage> AuditLog::List(const AuditQuery& q) {
  if (q.page_size < 0 || q.page_size > options_.max_page_size) {
    return InvalidField("page_size", absl::StrCat("must be 0..", options_.max_page_size));
  }
  if (q.start != absl::InfinitePast() && q.end != absl::InfiniteFuture() && q.end <= q.start) {
    return InvalidField("end_time", "must be after start_time");
  }
  const int page_size = q.page_size == 0 ? options_.default_page_size : q.page_size;
  const std::string fingerprint = Fingerprint(q);

  std::string upper = "+";
  if (!q.page_token.empty()) {
    auto after = DecodeToken(q.page_token, fingerprint);
    if (!after.ok()) return after.status();
    upper = absl::StrCat("(", *after);
  } else if (q.end != absl::InfiniteFuture()) {
    upper = absl::StrCat("(", std::max<int64_t>(Millis(q.end), 0), "-0");
  }
  const std::string lower =
      q.start == absl::InfinitePast() ? "-" : absl::StrCat(std::max<int64_t>(Millis(q.start), 0));

  AuditPage page;
  int examined = 0;
  std::string last_id;
  bool more = true;
  while (more && static_cast<int>(page.records.size()) < page_size &&
         examined < options_.max_examined_per_page) {
    const int count = std::min(500, options_.max_examined_per_page - examined);
    auto reply = client_->Command({"XREVRANGE", key_, upper, lower, "COUNT", absl::StrCat(count)});
    if (!reply.ok()) return reply.status();
    if (absl::Status s = redis::ReplyStatus(*reply); !s.ok()) return s;
    const auto& entries = reply->elements();
    if (static_cast<int>(entries.size()) < count) more = false;
    for (const auto& entry : entries) {
      if (entry.elements().size() != 2) continue;
      ++examined;
      last_id = entry.elements()[0].str();
      v1::AuditRecord r;
      r.set_id(last_id);
      const auto& fields = entry.elements()[1].elements();
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        const std::string& f = fields[i].str();
        const std::string& v = fields[i + 1].str();
        if (f == "p") {
          r.set_principal(v);
        } else if (f == "r") {
          r.set_role(v);
        } else if (f == "m") {
          r.set_method(v);
        } else if (f == "o") {
          r.set_object(v);
        } else if (f == "c") {
          int code = 0;
          if (absl::SimpleAtoi(v, &code) && google::rpc::Code_IsValid(code)) {
            r.set_code(static_cast<google::rpc::Code>(code));
          }
        }
      }
      absl::Time t = TimeOfId(last_id);
      r.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
      r.mutable_time()->set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(absl::ToUnixSeconds(t)))));
      if ((!q.principal.empty() && r.principal() != q.principal) ||
          !MethodMatches(r.method(), q.method)) {
        if (examined >= options_.max_examined_per_page) break;
        continue;
      }
      page.records.push_back(std::move(r));
      if (static_cast<int>(page.records.size()) == page_size) break;
      if (examined >= options_.max_examined_per_page) break;
    }
    upper = absl::StrCat("(", last_id);
    if (entries.empty()) more = false;
  }
  // Whatever stopped the walk before the end, the next page continues after the last
  // entry examined.
  const bool stopped_early = static_cast<int>(page.records.size()) == page_size ||
                             examined >= options_.max_examined_per_page;
  if (!last_id.empty() && stopped_early) {
    page.next_page_token = EncodeToken(last_id, fingerprint);
  }
  return page;
}

AuditServiceImpl::AuditServiceImpl(AuditLog* log, std::string instance_region)
    : log_(log), instance_region_(std::move(instance_region)) {}

grpc::Status AuditServiceImpl::ListAuditRecords(grpc::ServerContext* ctx,
                                                const v1::ListAuditRecordsRequest* req,
                                                v1::ListAuditRecordsResponse* resp) {
  if (absl::Status s = auth::CheckCoversInstance(CurrentPrincipal(ctx), instance_region_);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  AuditQuery q;
  if (req->has_start_time()) {
    q.start = absl::FromUnixSeconds(req->start_time().seconds()) +
              absl::Nanoseconds(req->start_time().nanos());
  }
  if (req->has_end_time()) {
    q.end = absl::FromUnixSeconds(req->end_time().seconds()) +
            absl::Nanoseconds(req->end_time().nanos());
  }
  q.principal = req->principal();
  q.method = req->method();
  q.page_size = req->page_size();
  q.page_token = req->page_token();
  auto page = log_->List(q);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (auto& r : page->records) *resp->add_records() = std::move(r);
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

}  // namespace iplus::audit
