// `shoebox enroll-token`, `shoebox certs` and `shoebox revoke` (docs/cli.md,
// docs/security.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/bytes.h"

namespace shoebox::cli {

namespace {

// Shared by `enroll-token` and `revoke` (one is parsed).
struct IdentityArgs {
  std::string device, worker, serial, ttl = "24h";
  std::vector<std::string> kinds, destinations;  // a worker's scope
};

std::string When(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

int EnrollToken(AdminClient& client, const IdentityArgs& ic) {
  auto ttl = ParseTtl(ic.ttl);
  if (!ttl.ok()) {
    std::fprintf(stderr, "shoebox: %s\n", std::string(ttl.status().message()).c_str());
    return 2;
  }
  v1::CreateEnrollTokenRequest req;
  req.set_device(ic.device);
  req.set_worker(ic.worker);
  req.set_ttl_seconds(*ttl);
  if (!ic.device.empty() && !(ic.kinds.empty() && ic.destinations.empty())) {
    std::fprintf(stderr,
                 "shoebox: --kinds and --destinations scope a worker; drop them for a "
                 "device token\n");
    return 2;
  }
  for (const std::string& k : ic.kinds) req.add_worker_kinds(k);
  for (const std::string& d : ic.destinations) req.add_worker_destinations(d);
  v1::CreateEnrollTokenResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->CreateEnrollToken(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, "creating an enroll token");
  const bool device = !ic.device.empty();
  // The token goes to stdout alone on its line (scripts take it from
  // there); the explanation to stderr.
  std::printf("%s\n", resp.token().c_str());
  std::fprintf(stderr,
               "one-time token for %s '%s', valid until %s. On that machine run\n"
               "  %s enroll --coordinator %s --token -\n"
               "and paste the token (or save it in a file and give --token-file FILE), so it\n"
               "stays out of the shell history and the process list\n",
               device ? "device" : "worker", device ? ic.device.c_str() : ic.worker.c_str(),
               When(resp.expires_unix_ms()).c_str(), device ? "shoebox-agent" : "shoebox-worker",
               client.options().coordinator.c_str());
  return 0;
}

int Certs(AdminClient& client) {
  v1::ListCertificatesResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListCertificates(ctx.get(), v1::ListCertificatesRequest(), &resp);
  if (!s.ok()) return FailRpc(s, "listing certificates");
  std::printf("%-7s %-24s %-20s %-20s %-26s %s\n", "ROLE", "NAME", "ISSUED", "EXPIRES", "STATE",
              "SERIAL");
  for (const auto& c : resp.certificates()) {
    const std::string state =
        c.revoked_unix_ms() ? absl::StrCat("revoked ", When(c.revoked_unix_ms())) : "valid";
    std::printf("%-7s %-24s %-20s %-20s %-26s %s\n", c.role().c_str(),
                PrintablePath(c.name()).c_str(), When(c.issued_unix_ms()).c_str(),
                When(c.expires_unix_ms()).c_str(), state.c_str(), c.serial().c_str());
  }
  return 0;
}

int Revoke(AdminClient& client, const IdentityArgs& ic) {
  v1::RevokeRequest req;
  req.set_device(ic.device);
  req.set_worker(ic.worker);
  req.set_serial(ic.serial);
  v1::RevokeResponse resp;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->Revoke(ctx.get(), req, &resp);
  if (!s.ok()) return FailRpc(s, "revoking");
  if (!ic.serial.empty()) {
    std::printf("certificate %s: %s; a call made with it is refused\n", ic.serial.c_str(),
                resp.revoked() ? "revoked" : "was already revoked");
    return 0;
  }
  std::printf("%s '%s': %llu certificate(s) revoked; its next call is refused\n",
              ic.device.empty() ? "worker" : "device",
              ic.device.empty() ? ic.worker.c_str() : ic.device.c_str(),
              static_cast<unsigned long long>(resp.revoked()));
  return 0;
}

}  // namespace

void RegisterIdentityCommands(CLI::App& app, CliContext& ctx) {
  auto ic = std::make_shared<IdentityArgs>();
  auto* token = app.add_subcommand(
      "enroll-token",
      "print a one-time token that enrolls a device (shoebox-agent enroll) or a worker");
  auto* who = token->add_option_group("identity", "exactly one of");
  who->add_option("--device", ic->device, "device name to enroll");
  who->add_option("--worker", ic->worker, "worker name to enroll");
  who->require_option(1);
  token->add_option("--ttl", ic->ttl, "how long the token stays valid (default 24h, at most 30d)")
      ->check(TtlCheck());
  token
      ->add_option("--kinds", ic->kinds,
                   "worker tokens: destination kinds it may serve, comma-separated (default: any)")
      ->delimiter(',');
  token
      ->add_option("--destinations", ic->destinations,
                   "worker tokens: destination names it may serve (default: any)")
      ->delimiter(',');
  auto* certs = app.add_subcommand("certs", "list enrolled identities (client certificates)");
  auto* revoke = app.add_subcommand(
      "revoke",
      "revoke a device's or worker's certificates, or one certificate by serial (an admin's "
      "too, never the last one); refused on their next call");
  auto* rwho = revoke->add_option_group("identity", "exactly one of");
  rwho->add_option("--device", ic->device, "device name");
  rwho->add_option("--worker", ic->worker, "worker name");
  rwho->add_option("--serial", ic->serial, "one certificate's serial (see shoebox certs)");
  rwho->require_option(1);
  ctx.AddAdminHandler(token,
                      [ic](CliContext&, AdminClient& client) { return EnrollToken(client, *ic); });
  ctx.AddAdminHandler(certs, [](CliContext&, AdminClient& client) { return Certs(client); });
  ctx.AddAdminHandler(revoke,
                      [ic](CliContext&, AdminClient& client) { return Revoke(client, *ic); });
}

}  // namespace shoebox::cli
