// `shoebox web serve`: the HTTPS dashboard (docs/web.md). One process, an
// AdminService client like every other command: everything it shows comes
// through the coordinator's authorised calls, with the admin identity of
// cli.toml. Log-in against the web accounts the coordinator stores
// (Argon2id checked here), sessions in memory, a CSRF token per session on
// every state-changing request, failed log-ins limited per account and per
// client address, and every log-in, log-out and change written to the
// coordinator's audit log (RecordWebAudit).
//
// Routes: GET /login (page), GET /login/code (the TOTP step), GET /
// (Overview; redirects to /login without a session), GET /assets/NAME,
// POST /api/login, POST /api/login/code, POST /api/logout,
// GET /api/session, GET /api/overview, GET /api/events (server-sent
// events), POST /api/password, and the pages of pages.h. Without a session
// every /api/ route but the log-in answers 401; a POST without the
// session's X-CSRF-Token 403.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "shoebox/v1/admin.grpc.pb.h"

namespace shoebox::cli::web {

struct WebOptions {
  // ADDR:PORT ("[::1]:8443" for IPv6); port 0 picks a free one.
  std::string listen = "127.0.0.1:8443";
  // PEM certificate chain and key of the HTTPS server.
  std::string cert_file, key_file;
  absl::Duration session_idle = absl::Minutes(30);
  absl::Duration session_max = absl::Hours(12);
  absl::Duration poll_interval = absl::Seconds(2);
  int login_max_failures = 5;
  absl::Duration login_window = absl::Minutes(1);
  // Open /api/events streams at once (each holds a server thread).
  int max_event_streams = 32;
  // The coordinator's HOST:PORT as agents reach it (the "enroll a device"
  // command names it).
  std::string coordinator_address;
  // Between the password and the TOTP code of a two-step log-in.
  absl::Duration second_step_timeout = absl::Minutes(5);
};

// How the server reaches the coordinator: the AdminService stub (not
// owned) and a context with the deadline and identity for each call.
struct CoordinatorLink {
  shoebox::v1::AdminService::StubInterface* stub = nullptr;
  std::function<std::unique_ptr<grpc::ClientContext>()> context;
};

// "HOST:PORT" → {host, port}; INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen);

class WebServer {
 public:
  // Loads the certificate, binds the address and starts serving on a
  // thread of its own. Errors name the file or address and what to do.
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(const WebOptions& options,
                                                          CoordinatorLink link);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // The bound port (the one picked when listen asked for 0).
  int port() const;
  // "https://HOST:PORT/".
  std::string url() const;
  // Blocks until Stop() was called (from another thread, e.g. the signal
  // watch's) and the last request finished. One thread may wait.
  void Wait();
  // Stops accepting, ends the live-update streams; returns at once.
  void Stop();

  class Impl;

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoebox::cli::web
