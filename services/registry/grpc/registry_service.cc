#include "services/registry/grpc/registry_service.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/auth/scope.h"
#include "common/grpc/auth_gate.h"
#include "common/grpc/replayable.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "common/refdata/credit_code.h"
#include "services/registry/convert/convert.h"

namespace iplus::registry {

RegistryServiceImpl::RegistryServiceImpl(Registry* registry, redis::ReplayCache* replay)
    : registry_(registry), replay_(replay) {}

absl::Status RegistryServiceImpl::CheckCode(const auth::Principal& p, const std::string& code) {
  if (!auth::RegionLimited(p)) return absl::OkStatus();
  auto e = registry_->Get(code);
  if (e.ok()) return auth::CheckEnterprise(p, code, &e->content.region);
  if (e.status().code() == absl::StatusCode::kNotFound ||
      e.status().code() == absl::StatusCode::kInvalidArgument) {
    return auth::CheckEnterprise(p, code, nullptr);
  }
  return e.status();
}

absl::StatusOr<Query> RegistryServiceImpl::Scoped(const auth::Principal& p, Query query) {
  auto prefix =
      auth::EffectiveRegionPrefix(p, query.region_prefix, registry_->config().region_prefix);
  if (!prefix.ok()) return prefix.status();
  query.region_prefix = *prefix;
  return query;
}

grpc::Status RegistryServiceImpl::CreateEnterprise(grpc::ServerContext* ctx,
                                                   const v1::CreateEnterpriseRequest* req,
                                                   v1::CreateEnterpriseResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  if (auth::RegionLimited(p)) {
    // The region asked for, and the stored one when the code exists.
    if (absl::Status s = auth::CheckRegion(p, req->enterprise().region()); !s.ok()) {
      return ToGrpcStatus(s);
    }
    auto stored = registry_->Get(req->enterprise().code());
    if (stored.ok()) {
      if (absl::Status s = auth::CheckEnterprise(p, stored->code, &stored->content.region);
          !s.ok()) {
        return ToGrpcStatus(s);
      }
    } else if (stored.status().code() == absl::StatusCode::kUnavailable) {
      return ToGrpcStatus(stored.status());
    }
  }
  return iplus::Replayable(
      replay_, "CreateEnterprise", req->request_id(), *req, resp, [&]() -> absl::Status {
        auto r = registry_->Create(req->enterprise().code(), ContentFromProto(req->enterprise()));
        if (!r.ok()) return r.status();
        ToProto(r->enterprise, resp->mutable_enterprise());
        resp->set_created(r->created);
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::BatchCreateEnterprises(
    grpc::ServerContext* ctx, const v1::BatchCreateEnterprisesRequest* req,
    v1::BatchCreateEnterprisesResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  // For a caller limited to some regions: the stored region of every code that exists,
  // read once for the batch.
  absl::flat_hash_map<std::string, std::string> stored_region;
  if (auth::RegionLimited(p) && req->requests_size() <= registry_->config().max_batch) {
    std::vector<std::string> codes;
    for (const auto& item : req->requests()) {
      if (refdata::ValidateCreditCode(item.enterprise().code()).ok()) {
        codes.push_back(item.enterprise().code());
      }
    }
    if (!codes.empty()) {
      auto stored = registry_->BatchGet(codes);
      if (!stored.ok()) return ToGrpcStatus(stored.status());
      for (const auto& e : stored->enterprises) stored_region[e.code] = e.content.region;
    }
  }
  Registry::ItemCheck admit;
  if (auth::RegionLimited(p)) {
    admit = [&](const std::string& code, const EnterpriseContent& content) -> absl::Status {
      if (absl::Status s = auth::CheckRegion(p, content.region); !s.ok()) return s;
      auto it = stored_region.find(code);
      if (it == stored_region.end()) return absl::OkStatus();
      return auth::CheckEnterprise(p, code, &it->second);
    };
  }
  return iplus::Replayable(
      replay_, "BatchCreateEnterprises", req->request_id(), *req, resp, [&]() -> absl::Status {
        std::vector<std::pair<std::string, EnterpriseContent>> items;
        items.reserve(req->requests_size());
        for (const auto& item : req->requests()) {
          items.emplace_back(item.enterprise().code(), ContentFromProto(item.enterprise()));
        }
        auto results = registry_->BatchCreate(items, admit);
        if (!results.ok()) return results.status();
        for (const auto& r : *results) {
          auto* out = resp->add_results();
          *out->mutable_status() = ToRpcStatus(r.status());
          if (r.ok()) {
            ToProto(r->enterprise, out->mutable_enterprise());
            out->set_created(r->created);
          }
        }
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::GetEnterprise(grpc::ServerContext* ctx,
                                                const v1::GetEnterpriseRequest* req,
                                                v1::GetEnterpriseResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  auto e = registry_->Get(req->code());
  if (!e.ok()) {
    if (e.status().code() == absl::StatusCode::kNotFound) {
      // Unknown: refused exactly like a known enterprise outside the caller's regions.
      if (absl::Status s = auth::CheckEnterprise(p, req->code(), nullptr); !s.ok()) {
        return ToGrpcStatus(s);
      }
    }
    return ToGrpcStatus(e.status());
  }
  if (absl::Status s = auth::CheckEnterprise(p, e->code, &e->content.region); !s.ok()) {
    return ToGrpcStatus(s);
  }
  ToProto(*e, resp->mutable_enterprise());
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::BatchGetEnterprises(grpc::ServerContext* ctx,
                                                      const v1::BatchGetEnterprisesRequest* req,
                                                      v1::BatchGetEnterprisesResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  std::vector<std::string> codes(req->codes().begin(), req->codes().end());
  auto r = registry_->BatchGet(codes);
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const auto& e : r->enterprises) {
    if (absl::Status s = auth::CheckEnterprise(p, e.code, &e.content.region); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  for (const auto& c : r->missing_codes) {
    if (absl::Status s = auth::CheckEnterprise(p, c, nullptr); !s.ok()) return ToGrpcStatus(s);
  }
  for (const auto& e : r->enterprises) ToProto(e, resp->add_enterprises());
  for (const auto& c : r->missing_codes) resp->add_missing_codes(c);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::UpdateEnterprise(grpc::ServerContext* ctx,
                                                   const v1::UpdateEnterpriseRequest* req,
                                                   v1::UpdateEnterpriseResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  if (absl::Status s = CheckCode(p, req->enterprise().code()); !s.ok()) return ToGrpcStatus(s);
  for (const std::string& path : req->update_mask().paths()) {
    if (path != "region") continue;
    if (absl::Status s = auth::CheckRegion(p, req->enterprise().region()); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  return iplus::Replayable(
      replay_, "UpdateEnterprise", req->request_id(), *req, resp, [&]() -> absl::Status {
        std::vector<std::string> paths(req->update_mask().paths().begin(),
                                       req->update_mask().paths().end());
        auto e = registry_->Update(req->enterprise().code(), ContentFromProto(req->enterprise()),
                                   paths, req->etag());
        if (!e.ok()) return e.status();
        ToProto(*e, resp->mutable_enterprise());
        return absl::OkStatus();
      });
}

grpc::Status RegistryServiceImpl::ArchiveEnterprise(grpc::ServerContext* ctx,
                                                    const v1::ArchiveEnterpriseRequest* req,
                                                    v1::ArchiveEnterpriseResponse* resp) {
  if (absl::Status s = CheckCode(CurrentPrincipal(ctx), req->code()); !s.ok())
    return ToGrpcStatus(s);
  return iplus::Replayable(replay_, "ArchiveEnterprise", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             auto e = registry_->Archive(req->code(), req->reason(), req->etag());
                             if (!e.ok()) return e.status();
                             ToProto(*e, resp->mutable_enterprise());
                             return absl::OkStatus();
                           });
}

grpc::Status RegistryServiceImpl::ListEnterprises(grpc::ServerContext* ctx,
                                                  const v1::ListEnterprisesRequest* req,
                                                  v1::ListEnterprisesResponse* resp) {
  auto query = Scoped(CurrentPrincipal(ctx),
                      QueryFromProto(req->scope(), req->name_prefix(), req->include_archived()));
  if (!query.ok()) return ToGrpcStatus(query.status());
  auto page = registry_->List(*query, req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->enterprises) ToProto(e, resp->add_enterprises());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::CountEnterprises(grpc::ServerContext* ctx,
                                                   const v1::CountEnterprisesRequest* req,
                                                   v1::CountEnterprisesResponse* resp) {
  auto query =
      Scoped(CurrentPrincipal(ctx), QueryFromProto(req->scope(), "", req->include_archived()));
  if (!query.ok()) return ToGrpcStatus(query.status());
  auto r = registry_->Count(*query, static_cast<Dimension>(req->group_by()));
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const auto& [key, n] : r->groups) {
    auto* g = resp->add_groups();
    g->set_key(key);
    g->set_count(n);
  }
  resp->set_total(r->total);
  resp->set_registry_version(r->registry_version);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::ExportEnterprises(
    grpc::ServerContext* ctx, const v1::ExportEnterprisesRequest* req,
    grpc::ServerWriter<v1::ExportEnterprisesResponse>* writer) {
  auto query =
      Scoped(CurrentPrincipal(ctx), QueryFromProto(req->scope(), "", req->include_archived()));
  if (!query.ok()) return ToGrpcStatus(query.status());
  bool client_gone = false;
  absl::Status s = registry_->Export(*query, req->batch_size(),
                                     [&](const std::vector<Enterprise>& batch, int64_t version) {
                                       if (ctx->IsCancelled()) {
                                         client_gone = true;
                                         return false;
                                       }
                                       v1::ExportEnterprisesResponse out;
                                       out.set_registry_version(version);
                                       for (const auto& e : batch)
                                         ToProto(e, out.add_enterprises());
                                       if (!writer->Write(out)) {
                                         client_gone = true;
                                         return false;
                                       }
                                       return true;
                                     });
  if (client_gone) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  return ToGrpcStatus(s);
}

grpc::Status RegistryServiceImpl::CreateLink(grpc::ServerContext* ctx,
                                             const v1::CreateLinkRequest* req,
                                             v1::CreateLinkResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  for (const std::string* code : {&req->link().from_code(), &req->link().to_code()}) {
    if (absl::Status s = CheckCode(p, *code); !s.ok()) return ToGrpcStatus(s);
  }
  return iplus::Replayable(replay_, "CreateLink", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             auto r = registry_->CreateLink(FromProto(req->link()));
                             if (!r.ok()) return r.status();
                             ToProto(r->link, resp->mutable_link());
                             resp->set_created(r->change == LinkChange::kApplied);
                             return absl::OkStatus();
                           });
}

grpc::Status RegistryServiceImpl::ListLinks(grpc::ServerContext* ctx,
                                            const v1::ListLinksRequest* req,
                                            v1::ListLinksResponse* resp) {
  if (absl::Status s = CheckCode(CurrentPrincipal(ctx), req->code()); !s.ok())
    return ToGrpcStatus(s);
  auto r = registry_->ListLinks(req->code(), req->page_size(), req->page_token());
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const auto& link : r->first) ToProto(link, resp->add_links());
  resp->set_next_page_token(r->second);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::DeleteLink(grpc::ServerContext* ctx,
                                             const v1::DeleteLinkRequest* req,
                                             v1::DeleteLinkResponse* resp) {
  const auth::Principal& p = CurrentPrincipal(ctx);
  for (const std::string* code : {&req->from_code(), &req->to_code()}) {
    if (absl::Status s = CheckCode(p, *code); !s.ok()) return ToGrpcStatus(s);
  }
  return iplus::Replayable(replay_, "DeleteLink", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             Link link;
                             link.from_code = req->from_code();
                             link.to_code = req->to_code();
                             link.type = static_cast<LinkType>(req->type());
                             return registry_->DeleteLink(link);
                           });
}

grpc::Status RegistryServiceImpl::ListEvents(grpc::ServerContext* ctx,
                                             const v1::ListEventsRequest* req,
                                             v1::ListEventsResponse* resp) {
  if (absl::Status s =
          auth::CheckCoversInstance(CurrentPrincipal(ctx), registry_->config().region_prefix);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto page = registry_->ListEvents(req->after_version(), req->page_size());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->events) ToProto(e, resp->add_events());
  resp->set_registry_version(page->registry_version);
  resp->set_truncated(page->truncated);
  return grpc::Status::OK;
}

}  // namespace iplus::registry
