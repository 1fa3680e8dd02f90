#include "cli/client.h"

#include <cstdlib>
#include <filesystem>

#include "common/config.h"

namespace shoebox::cli {

namespace {
std::string g_state_dir;

std::string CandidatePath() {
  if (const char* p = std::getenv("SHOEBOX_CLI_CONFIG"); p && *p) return p;
  if (const char* s = std::getenv("SHOEBOX_STATE"); s && *s) return std::string(s) + "/cli.toml";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.local/state/shoebox/cli.toml";
  return "";
}
}  // namespace

std::string ClientStateDir() { return g_state_dir; }

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
  g_state_dir = std::filesystem::path(path).parent_path().string();
  return o;
}

AdminClient::AdminClient(const ClientOptions& o) : opts_(o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // TLS credentials arrive with enrollment (issue 6); until then the CLI
  // speaks plain text only in --insecure-dev mode, which the coordinator
  // accepts on loopback only.
  channel_ = grpc::CreateCustomChannel(o.coordinator, grpc::InsecureChannelCredentials(), args);
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
