#include "services/registry/grpc/registry_service.h"

#include <utility>
#include <vector>

#include "common/grpc/replayable.h"
#include "common/grpc/status.h"
#include "common/log/log.h"
#include "services/registry/convert/convert.h"

namespace iplus::registry {

RegistryServiceImpl::RegistryServiceImpl(Registry* registry, redis::ReplayCache* replay)
    : registry_(registry), replay_(replay) {}

grpc::Status RegistryServiceImpl::CreateEnterprise(grpc::ServerContext*,
                                                   const v1::CreateEnterpriseRequest* req,
                                                   v1::CreateEnterpriseResponse* resp) {
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
    grpc::ServerContext*, const v1::BatchCreateEnterprisesRequest* req,
    v1::BatchCreateEnterprisesResponse* resp) {
  return iplus::Replayable(
      replay_, "BatchCreateEnterprises", req->request_id(), *req, resp, [&]() -> absl::Status {
        std::vector<std::pair<std::string, EnterpriseContent>> items;
        items.reserve(req->requests_size());
        for (const auto& item : req->requests()) {
          items.emplace_back(item.enterprise().code(), ContentFromProto(item.enterprise()));
        }
        auto results = registry_->BatchCreate(items);
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

grpc::Status RegistryServiceImpl::GetEnterprise(grpc::ServerContext*,
                                                const v1::GetEnterpriseRequest* req,
                                                v1::GetEnterpriseResponse* resp) {
  auto e = registry_->Get(req->code());
  if (!e.ok()) return ToGrpcStatus(e.status());
  ToProto(*e, resp->mutable_enterprise());
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::BatchGetEnterprises(grpc::ServerContext*,
                                                      const v1::BatchGetEnterprisesRequest* req,
                                                      v1::BatchGetEnterprisesResponse* resp) {
  std::vector<std::string> codes(req->codes().begin(), req->codes().end());
  auto r = registry_->BatchGet(codes);
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const auto& e : r->enterprises) ToProto(e, resp->add_enterprises());
  for (const auto& c : r->missing_codes) resp->add_missing_codes(c);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::UpdateEnterprise(grpc::ServerContext*,
                                                   const v1::UpdateEnterpriseRequest* req,
                                                   v1::UpdateEnterpriseResponse* resp) {
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

grpc::Status RegistryServiceImpl::ArchiveEnterprise(grpc::ServerContext*,
                                                    const v1::ArchiveEnterpriseRequest* req,
                                                    v1::ArchiveEnterpriseResponse* resp) {
  return iplus::Replayable(replay_, "ArchiveEnterprise", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             auto e = registry_->Archive(req->code(), req->reason(), req->etag());
                             if (!e.ok()) return e.status();
                             ToProto(*e, resp->mutable_enterprise());
                             return absl::OkStatus();
                           });
}

grpc::Status RegistryServiceImpl::ListEnterprises(grpc::ServerContext*,
                                                  const v1::ListEnterprisesRequest* req,
                                                  v1::ListEnterprisesResponse* resp) {
  auto page =
      registry_->List(QueryFromProto(req->scope(), req->name_prefix(), req->include_archived()),
                      req->page_size(), req->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->enterprises) ToProto(e, resp->add_enterprises());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::CountEnterprises(grpc::ServerContext*,
                                                   const v1::CountEnterprisesRequest* req,
                                                   v1::CountEnterprisesResponse* resp) {
  auto r = registry_->Count(QueryFromProto(req->scope(), "", req->include_archived()),
                            static_cast<Dimension>(req->group_by()));
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
  bool client_gone = false;
  absl::Status s = registry_->Export(QueryFromProto(req->scope(), "", req->include_archived()),
                                     req->batch_size(),
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

grpc::Status RegistryServiceImpl::CreateLink(grpc::ServerContext*, const v1::CreateLinkRequest* req,
                                             v1::CreateLinkResponse* resp) {
  return iplus::Replayable(replay_, "CreateLink", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             auto r = registry_->CreateLink(FromProto(req->link()));
                             if (!r.ok()) return r.status();
                             ToProto(r->link, resp->mutable_link());
                             resp->set_created(r->change == LinkChange::kApplied);
                             return absl::OkStatus();
                           });
}

grpc::Status RegistryServiceImpl::ListLinks(grpc::ServerContext*, const v1::ListLinksRequest* req,
                                            v1::ListLinksResponse* resp) {
  auto r = registry_->ListLinks(req->code(), req->page_size(), req->page_token());
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const auto& link : r->first) ToProto(link, resp->add_links());
  resp->set_next_page_token(r->second);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::DeleteLink(grpc::ServerContext*, const v1::DeleteLinkRequest* req,
                                             v1::DeleteLinkResponse* resp) {
  return iplus::Replayable(replay_, "DeleteLink", req->request_id(), *req, resp,
                           [&]() -> absl::Status {
                             Link link;
                             link.from_code = req->from_code();
                             link.to_code = req->to_code();
                             link.type = static_cast<LinkType>(req->type());
                             return registry_->DeleteLink(link);
                           });
}

grpc::Status RegistryServiceImpl::ListEvents(grpc::ServerContext*, const v1::ListEventsRequest* req,
                                             v1::ListEventsResponse* resp) {
  auto page = registry_->ListEvents(req->after_version(), req->page_size());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const auto& e : page->events) ToProto(e, resp->add_events());
  resp->set_registry_version(page->registry_version);
  resp->set_truncated(page->truncated);
  return grpc::Status::OK;
}

}  // namespace iplus::registry
