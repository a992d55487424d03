#include "common/metrics/exposer.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/text_serializer.h"

namespace iplus::metrics {
namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// civetweb keeps process-wide state that mg_init_library() sets up; initialise it once
// and keep it for the life of the process, since other exposers may start later.
void InitCivetweb() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

struct ListenAddress {
  std::string listening_ports;  // civetweb's syntax: "host:port" or "port"
  in_addr wake_address;         // where a local client reaches the listener
};

// "host:port", ":port" or "port".
absl::StatusOr<ListenAddress> ParseBindAddress(const std::string& bind_address) {
  std::string host;
  std::string port = bind_address;
  const size_t colon = bind_address.rfind(':');
  if (colon != std::string::npos) {
    host = bind_address.substr(0, colon);
    port = bind_address.substr(colon + 1);
  }
  int port_number = 0;
  if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics bind address \"", bind_address, "\": bad port"));
  }
  ListenAddress address;
  address.wake_address.s_addr = htonl(INADDR_LOOPBACK);
  if (host.empty()) {
    address.listening_ports = port;
    return address;
  }
  in_addr ipv4;
  if (inet_pton(AF_INET, host.c_str(), &ipv4) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics bind address \"", bind_address, "\": host must be an IPv4 address"));
  }
  if (ipv4.s_addr != htonl(INADDR_ANY)) address.wake_address = ipv4;
  address.listening_ports = absl::StrCat(host, ":", port);
  return address;
}

// Opens and at once closes a TCP connection; failures do not matter.
void Poke(in_addr address, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  target.sin_addr = address;
  (void)connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target));
  close(fd);
}

int Respond(mg_connection* connection, int status, const char* content_type,
            const std::string& body, bool with_body, const char* allow = nullptr) {
  mg_response_header_start(connection, status);
  mg_response_header_add(connection, "Content-Type", content_type, -1);
  const std::string length = absl::StrCat(body.size());
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  mg_response_header_add(connection, "Cache-Control", "no-store", -1);
  if (allow != nullptr) mg_response_header_add(connection, "Allow", allow, -1);
  mg_response_header_send(connection);
  if (with_body && !body.empty()) mg_write(connection, body.data(), body.size());
  return status;
}

// civetweb's begin_request callback: every request is answered here, so civetweb never
// serves files or its own pages. Returns the HTTP status, which civetweb records as
// "handled".
int HandleRequest(mg_connection* connection) {
  const mg_request_info* request = mg_get_request_info(connection);
  const auto* exposer = static_cast<const Exposer*>(request->user_data);
  const char* path = request->local_uri != nullptr ? request->local_uri : "";
  const char* method = request->request_method != nullptr ? request->request_method : "";
  const bool is_get = std::strcmp(method, "GET") == 0;
  const bool is_head = std::strcmp(method, "HEAD") == 0;

  const bool metrics = std::strcmp(path, "/metrics") == 0;
  const bool healthz = std::strcmp(path, "/healthz") == 0;
  const bool readyz = std::strcmp(path, "/readyz") == 0;
  if (!metrics && !healthz && !readyz) {
    return Respond(connection, 404, "text/plain; charset=utf-8", "not found\n", !is_head);
  }
  if (!is_get && !is_head) {
    return Respond(connection, 405, "text/plain; charset=utf-8", "method not allowed\n", true,
                   "GET, HEAD");
  }
  if (healthz) return Respond(connection, 200, "text/plain; charset=utf-8", "ok", is_get);
  if (readyz) {
    return exposer->Ready()
               ? Respond(connection, 200, "text/plain; charset=utf-8", "ready", is_get)
               : Respond(connection, 503, "text/plain; charset=utf-8", "not ready", is_get);
  }
  return Respond(connection, 200, kMetricsContentType, exposer->Scrape(), is_get);
}

int SilenceLog(const mg_connection*, const char*) { return 1; }

bool SameObject(const std::weak_ptr<Collectable>& a, const std::weak_ptr<Collectable>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Exposer>> Exposer::Create(const std::string& bind_address) {
  absl::StatusOr<ListenAddress> address = ParseBindAddress(bind_address);
  if (!address.ok()) return address.status();
  InitCivetweb();

  // Not make_unique: the constructor is private.
  std::unique_ptr<Exposer> exposer(new Exposer());
  exposer->wake_address_ = address->wake_address.s_addr;
  // Keep-alive off: Prometheus opens one connection per scrape anyway, and a closed
  // connection frees its worker thread at once.
  const char* options[] = {"listening_ports",
                           address->listening_ports.c_str(),
                           "num_threads",
                           "4",
                           "request_timeout_ms",
                           "10000",
                           "enable_keep_alive",
                           "no",
                           nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.begin_request = &HandleRequest;
  // Start-up errors come back through mg_error_data; later ones concern single requests
  // and would otherwise be printed on stderr, outside the service's JSON logs.
  callbacks.log_message = &SilenceLog;
  mg_init_data init;
  init.callbacks = &callbacks;
  init.user_data = exposer.get();
  init.configuration_options = options;
  unsigned error_code = 0;
  char error_text[256] = "";
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);

  exposer->context_ = mg_start2(&init, &error);
  if (exposer->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("metrics server on \"", bind_address, "\" failed to start: ", error_text));
  }
  mg_server_port bound[4];
  const int count = mg_get_server_ports(exposer->context_, 4, bound);
  if (count < 1 || bound[0].port <= 0) {
    return absl::InternalError(
        absl::StrCat("metrics server on \"", bind_address, "\" reports no listening port"));
  }
  exposer->port_ = bound[0].port;
  return exposer;
}

Exposer::~Exposer() {
  if (context_ == nullptr) return;
  // civetweb's listening thread checks for mg_stop() only when its poll() returns, which
  // on an idle port takes up to two seconds. Connecting to the port while mg_stop() waits
  // wakes it, so shutdown takes milliseconds.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    in_addr address;
    address.s_addr = wake_address_;
    while (!stopped.load()) {
      Poke(address, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // Blocks until civetweb's threads are gone, so no request can still see `this`.
  mg_stop(context_);
  stopped.store(true);
  waker.join();
}

void Exposer::RegisterCollectable(const std::weak_ptr<Collectable>& collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& existing : collectables_) {
    if (SameObject(existing, collectable)) return;
  }
  collectables_.push_back(collectable);
}

void Exposer::RemoveCollectable(const std::weak_ptr<Collectable>& collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.erase(std::remove_if(collectables_.begin(), collectables_.end(),
                                     [&](const std::weak_ptr<Collectable>& existing) {
                                       return SameObject(existing, collectable);
                                     }),
                      collectables_.end());
}

std::string Exposer::Scrape() const {
  std::vector<std::shared_ptr<Collectable>> alive;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectables_.erase(
        std::remove_if(collectables_.begin(), collectables_.end(),
                       [](const std::weak_ptr<Collectable>& c) { return c.expired(); }),
        collectables_.end());
    for (const auto& collectable : collectables_) {
      if (auto locked = collectable.lock()) alive.push_back(std::move(locked));
    }
  }
  // Collect outside the lock: collectors may be slow, and registration must not wait.
  std::vector<MetricFamily> families;
  for (const auto& collectable : alive) {
    for (MetricFamily& family : collectable->Collect()) families.push_back(std::move(family));
  }
  return TextSerializer().Serialize(families);
}

void Exposer::SetReadiness(std::function<bool()> ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = std::move(ready);
}

bool Exposer::Ready() const {
  std::function<bool()> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready = ready_;
  }
  return !ready || ready();
}

}  // namespace iplus::metrics
