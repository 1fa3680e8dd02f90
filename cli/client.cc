#include "cli/client.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "common/bytes.h"
#include "common/config.h"
#include "common/status.h"
#include "common/tls_client.h"

namespace shoebox::cli {

namespace {
std::string g_state_dir;
constexpr char kRootQuickstartCli[] = "/var/lib/shoebox-quickstart/cli.toml";

std::string CandidatePath() {
  if (const char* p = std::getenv("SHOEBOX_CLI_CONFIG"); p && *p) return p;
  if (const char* s = std::getenv("SHOEBOX_STATE"); s && *s) return std::string(s) + "/cli.toml";
  std::error_code ec;
  if (const char* h = std::getenv("HOME"); h && *h) {
    std::string home = std::string(h) + "/.local/state/shoebox/cli.toml";
    if (std::filesystem::exists(home, ec)) return home;
  }
  // The quickstart run as root keeps its state outside /root, which the
  // postgres user cannot enter (deploy/quickstart.sh, docs/deploy.md).
  if (::geteuid() == 0 && std::filesystem::exists(kRootQuickstartCli, ec)) {
    return kRootQuickstartCli;
  }
  // Written by `shoebox setup` on a server installed from the packages.
  return "/etc/shoebox/cli.toml";
}
}  // namespace

std::string ClientStateDir() { return g_state_dir; }

std::string HumanBytes(uint64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = b;
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

int FailStatus(const absl::Status& s) {
  // Never an empty message (issue 18): the code name at least; the text may
  // quote a name someone else chose.
  std::fprintf(stderr, "shoebox: %s: %s\n", absl::StatusCodeToString(s.code()).c_str(),
               PrintablePath(StatusText(s)).c_str());
  return 1;
}

int FailRpc(const grpc::Status& s, const std::string& what) {
  std::string hint;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    hint =
        " (is the coordinator running? start it with deploy/quickstart.sh or check --coordinator)";
  // The message may carry text a device or worker chose (a path, an error).
  std::fprintf(stderr, "shoebox: %s failed: %s%s\n", what.c_str(),
               PrintablePath(RpcErrorText(s, "coordinator", what)).c_str(), hint.c_str());
  return 1;
}

absl::StatusOr<ClientOptions> LoadClientOptions() {
  ClientOptions o;
  std::string path = CandidatePath();
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return o;
  auto cfg = Config::LoadFile(path);
  if (!cfg.ok()) return cfg.status();
  auto coord = cfg->GetString("coordinator", o.coordinator);
  if (!coord.ok()) return coord.status();
  o.coordinator = *coord;
  auto dev = cfg->GetBool("insecure_dev", o.insecure_dev);
  if (!dev.ok()) return dev.status();
  o.insecure_dev = *dev;
  auto tls_dir = cfg->GetString("tls_dir", "");
  if (!tls_dir.ok()) return tls_dir.status();
  if (!tls_dir->empty()) {
    o.ca_file = *tls_dir + "/ca.crt";
    o.cert_file = *tls_dir + "/admin.crt";
    o.key_file = *tls_dir + "/admin.key";
  }
  for (auto [key, field] : {std::pair{"ca_file", &o.ca_file}, std::pair{"cert_file", &o.cert_file},
                            std::pair{"key_file", &o.key_file}}) {
    auto v = cfg->GetString(key, *field);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  g_state_dir = std::filesystem::path(path).parent_path().string();
  return o;
}

AdminClient::AdminClient(const ClientOptions& o) : opts_(o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  if (!o.insecure_dev && o.cert_file.empty()) {
    status_ = absl::FailedPreconditionError(
        "no admin identity: set tls_dir in cli.toml (SHOEBOX_CLI_CONFIG, "
        "~/.local/state/shoebox/cli.toml or /etc/shoebox/cli.toml) to the coordinator's TLS "
        "directory, or use "
        "--insecure-dev "
        "with a loopback --insecure-dev coordinator");
    channel_ = grpc::CreateCustomChannel(o.coordinator, grpc::InsecureChannelCredentials(), args);
  } else {
    auto ch =
        MakeShoeboxChannel(o.coordinator, o.insecure_dev, {o.ca_file, o.cert_file, o.key_file},
                           "the admin identity lives in the coordinator's TLS directory "
                           "(tls_dir in cli.toml)",
                           args);
    if (ch.ok()) {
      channel_ = *ch;
    } else {
      status_ = ch.status();
      channel_ = grpc::CreateCustomChannel(o.coordinator, grpc::InsecureChannelCredentials(), args);
    }
  }
  stub_ = v1::AdminService::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> AdminClient::Context(std::chrono::milliseconds d) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (d.count() == 0) d = opts_.deadline;
  ctx->set_deadline(std::chrono::system_clock::now() + d);
  if (opts_.insecure_dev) ctx->AddMetadata("x-shoebox-admin", "cli");
  return ctx;
}

}  // namespace shoebox::cli
