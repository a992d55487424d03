#pragma once

// The registry's gRPC adapter: each handler checks the request's shape, converts it to
// domain types, calls the core and converts the result and status back. The server
// bootstrap has authenticated the caller and checked its role before a handler runs; the
// handlers narrow the call to the caller's regions (common/auth/scope.h): enterprises
// by their registered region (for an unknown code, the region in the code), scopes by
// their region prefix.

#include <string>
#include <vector>

#include "common/auth/auth.h"
#include "common/replay/replay_cache.h"
#include "iplus/registry/v1/registry.grpc.pb.h"
#include "services/registry/domain/registry.h"

namespace iplus::registry {

class RegistryServiceImpl final : public v1::RegistryService::Service {
 public:
  // `registry` must outlive the service; `replay` may be null (no request-id replay).
  // The instance's region is the registry's configured region prefix.
  RegistryServiceImpl(Registry* registry, redis::ReplayCache* replay);

  grpc::Status CreateEnterprise(grpc::ServerContext* ctx, const v1::CreateEnterpriseRequest* req,
                                v1::CreateEnterpriseResponse* resp) override;
  grpc::Status BatchCreateEnterprises(grpc::ServerContext* ctx,
                                      const v1::BatchCreateEnterprisesRequest* req,
                                      v1::BatchCreateEnterprisesResponse* resp) override;
  grpc::Status GetEnterprise(grpc::ServerContext* ctx, const v1::GetEnterpriseRequest* req,
                             v1::GetEnterpriseResponse* resp) override;
  grpc::Status BatchGetEnterprises(grpc::ServerContext* ctx,
                                   const v1::BatchGetEnterprisesRequest* req,
                                   v1::BatchGetEnterprisesResponse* resp) override;
  grpc::Status UpdateEnterprise(grpc::ServerContext* ctx, const v1::UpdateEnterpriseRequest* req,
                                v1::UpdateEnterpriseResponse* resp) override;
  grpc::Status ArchiveEnterprise(grpc::ServerContext* ctx, const v1::ArchiveEnterpriseRequest* req,
                                 v1::ArchiveEnterpriseResponse* resp) override;
  grpc::Status ListEnterprises(grpc::ServerContext* ctx, const v1::ListEnterprisesRequest* req,
                               v1::ListEnterprisesResponse* resp) override;
  grpc::Status CountEnterprises(grpc::ServerContext* ctx, const v1::CountEnterprisesRequest* req,
                                v1::CountEnterprisesResponse* resp) override;
  grpc::Status ExportEnterprises(
      grpc::ServerContext* ctx, const v1::ExportEnterprisesRequest* req,
      grpc::ServerWriter<v1::ExportEnterprisesResponse>* writer) override;
  grpc::Status CreateLink(grpc::ServerContext* ctx, const v1::CreateLinkRequest* req,
                          v1::CreateLinkResponse* resp) override;
  grpc::Status ListLinks(grpc::ServerContext* ctx, const v1::ListLinksRequest* req,
                         v1::ListLinksResponse* resp) override;
  grpc::Status DeleteLink(grpc::ServerContext* ctx, const v1::DeleteLinkRequest* req,
                          v1::DeleteLinkResponse* resp) override;
  grpc::Status ListEvents(grpc::ServerContext* ctx, const v1::ListEventsRequest* req,
                          v1::ListEventsResponse* resp) override;

 private:
  // PERMISSION_DENIED unless the caller may touch enterprise `code` (its stored region,
  // or for an unknown code the region in the code). UNAVAILABLE when Redis is.
  absl::Status CheckCode(const auth::Principal& p, const std::string& code);
  // The query with its region prefix narrowed to the caller's regions.
  absl::StatusOr<Query> Scoped(const auth::Principal& p, Query query);

  Registry* registry_;
  redis::ReplayCache* replay_;
};

}  // namespace iplus::registry
