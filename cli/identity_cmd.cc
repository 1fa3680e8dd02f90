#include "cli/identity_cmd.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace shoebox::cli {

struct IdentityCommands {
  CLI::App* token = nullptr;
  CLI::App* certs = nullptr;
  CLI::App* revoke = nullptr;
  std::string device, worker, ttl = "24h";
};

namespace {
std::string When(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}
}  // namespace

absl::StatusOr<uint32_t> ParseTtl(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("--ttl: empty; use e.g. 24h, 90m, 2d");
  uint64_t mult = 1;
  std::string num = text;
  switch (text.back()) {
    case 's': mult = 1; num.pop_back(); break;
    case 'm': mult = 60; num.pop_back(); break;
    case 'h': mult = 3600; num.pop_back(); break;
    case 'd': mult = 86400; num.pop_back(); break;
    default: break;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(num, &n) || n == 0 || n * mult > 30ull * 86400) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ttl '", text, "': use a duration like 24h, 90m or 2d (at most 30d)"));
  }
  return static_cast<uint32_t>(n * mult);
}

std::shared_ptr<IdentityCommands> AddIdentityCommands(CLI::App& app) {
  auto ic = std::make_shared<IdentityCommands>();
  ic->token = app.add_subcommand(
      "enroll-token", "print a one-time token that enrolls a device (shoebox-agent enroll) or a worker");
  auto* who = ic->token->add_option_group("identity", "exactly one of");
  who->add_option("--device", ic->device, "device name to enroll");
  who->add_option("--worker", ic->worker, "worker name to enroll");
  who->require_option(1);
  ic->token->add_option("--ttl", ic->ttl, "how long the token stays valid (default 24h, at most 30d)");
  ic->certs = app.add_subcommand("certs", "list enrolled identities (client certificates)");
  ic->revoke = app.add_subcommand("revoke", "revoke a device's or worker's certificates (refused on their next call)");
  auto* rwho = ic->revoke->add_option_group("identity", "exactly one of");
  rwho->add_option("--device", ic->device, "device name");
  rwho->add_option("--worker", ic->worker, "worker name");
  rwho->require_option(1);
  return ic;
}

int RunIdentityCommands(IdentityCommands& ic, AdminClient& client) {
  if (ic.token->parsed()) {
    auto ttl = ParseTtl(ic.ttl);
    if (!ttl.ok()) {
      std::fprintf(stderr, "shoebox: %s\n", std::string(ttl.status().message()).c_str());
      return 2;
    }
    v1::CreateEnrollTokenRequest req;
    req.set_device(ic.device);
    req.set_worker(ic.worker);
    req.set_ttl_seconds(*ttl);
    v1::CreateEnrollTokenResponse resp;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->CreateEnrollToken(ctx.get(), req, &resp);
    if (!s.ok()) return FailRpc(s, "creating an enroll token");
    const bool device = !ic.device.empty();
    // The token goes to stdout alone on its line (scripts take it from
    // there); the explanation to stderr.
    std::printf("%s\n", resp.token().c_str());
    std::fprintf(stderr,
                 "one-time token for %s '%s', valid until %s. On that machine run:\n"
                 "  %s enroll --coordinator %s --token <the token above>\n",
                 device ? "device" : "worker", device ? ic.device.c_str() : ic.worker.c_str(),
                 When(resp.expires_unix_ms()).c_str(), device ? "shoebox-agent" : "shoebox-worker",
                 client.options().coordinator.c_str());
    return 0;
  }
  if (ic.certs->parsed()) {
    v1::ListCertificatesResponse resp;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListCertificates(ctx.get(), v1::ListCertificatesRequest(), &resp);
    if (!s.ok()) return FailRpc(s, "listing certificates");
    std::printf("%-7s %-24s %-20s %-20s %s\n", "ROLE", "NAME", "ISSUED", "EXPIRES", "STATE");
    for (const auto& c : resp.certificates()) {
      std::printf("%-7s %-24s %-20s %-20s %s\n", c.role().c_str(), c.name().c_str(),
                  When(c.issued_unix_ms()).c_str(), When(c.expires_unix_ms()).c_str(),
                  c.revoked_unix_ms() ? absl::StrCat("revoked ", When(c.revoked_unix_ms())).c_str() : "valid");
    }
    return 0;
  }
  if (ic.revoke->parsed()) {
    v1::RevokeRequest req;
    req.set_device(ic.device);
    req.set_worker(ic.worker);
    v1::RevokeResponse resp;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->Revoke(ctx.get(), req, &resp);
    if (!s.ok()) return FailRpc(s, "revoking");
    std::printf("%s '%s': %llu certificate(s) revoked; its next call is refused\n",
                ic.device.empty() ? "worker" : "device", ic.device.empty() ? ic.worker.c_str() : ic.device.c_str(),
                static_cast<unsigned long long>(resp.revoked()));
    return 0;
  }
  return -1;
}

}  // namespace shoebox::cli
