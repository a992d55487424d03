#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/collectable.h"

struct mg_context;

namespace iplus::metrics {

// A small HTTP server (civetweb) exposing registered collectables to Prometheus:
//   GET /metrics  200, text format 0.0.4 (see TextSerializer), Content-Type
//                 "text/plain; version=0.0.4; charset=utf-8"
//   GET /healthz  200 "ok"
//   other paths   404; other methods on the two paths above 405.
// HEAD is answered like GET without a body.
//
// Collectables are held by weak_ptr: the exposer never keeps a registry alive, and one
// that has been destroyed is skipped (and forgotten) at the next scrape.
//
// Thread-safety: RegisterCollectable()/RemoveCollectable() may be called concurrently
// with each other and with scrapes. The destructor stops the server and waits for
// in-flight requests; it must not race with other calls on the same object.
class Exposer {
 public:
  // Starts serving on `bind_address`: "host:port" with an IPv4 host ("127.0.0.1:0",
  // "0.0.0.0:9464"), or ":port" / "port" for all interfaces. Port 0 picks a free port;
  // see port(). Returns INVALID_ARGUMENT for a malformed address and UNAVAILABLE when
  // the server cannot start (for instance the port is in use).
  static absl::StatusOr<std::unique_ptr<Exposer>> Create(const std::string& bind_address);

  Exposer(const Exposer&) = delete;
  Exposer& operator=(const Exposer&) = delete;
  ~Exposer();

  // Adds `collectable` to what /metrics serves. Registering the same object twice has
  // no further effect.
  void RegisterCollectable(const std::weak_ptr<Collectable>& collectable);
  void RemoveCollectable(const std::weak_ptr<Collectable>& collectable);

  // The TCP port actually bound (the chosen one when the address asked for port 0).
  int port() const { return port_; }

  // The /metrics body as it would be served now.
  std::string Scrape() const;

  // What GET /readyz answers: 200 "ready" while `ready` returns true, 503 otherwise
  // (200 when unset). For probes that cannot speak gRPC over TLS. Thread-safe.
  void SetReadiness(std::function<bool()> ready);
  bool Ready() const;

 private:
  Exposer() = default;

  mg_context* context_ = nullptr;
  int port_ = 0;
  std::uint32_t wake_address_ = 0;  // IPv4, network byte order; see the destructor
  mutable std::mutex mu_;
  mutable std::vector<std::weak_ptr<Collectable>> collectables_;  // guarded by mu_
  std::function<bool()> ready_;                                   // guarded by mu_
};

}  // namespace iplus::metrics
