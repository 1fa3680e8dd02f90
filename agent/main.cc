// shoebox-agent: run | status | pause | resume. Parses flags and config and
// wires the Agent; nothing else.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "CLI/CLI.hpp"
#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/control.h"
#include "agent/progress.h"
#include "common/enroll_command.h"
#include "common/locks.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/signals.h"
#include "common/tls_client.h"
#include "shoebox/v1/agent.grpc.pb.h"

namespace {

std::string DefaultConfigPath() {
  const char* x = std::getenv("XDG_CONFIG_HOME");
  const char* h = std::getenv("HOME");
  std::string base = (x && *x == '/') ? x : std::string(h ? h : "") + "/.config";
  return base + "/shoebox/agent.toml";
}

// The state directory: from the config when it loads, else the default.
std::string StateDirFor(const std::string& config_path, const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  auto cfg = shoebox::agent::LoadAgentConfig(config_path);
  if (cfg.ok()) return cfg->state_dir;
  return shoebox::agent::DefaultStateDir();
}

// `shoebox-agent enroll` (common/enroll_command.h): the flags, then the
// config's coordinator, identity directory and device name.
shoebox::EnrollCommand EnrollCommandFor(const std::string& config_path,
                                        const shoebox::EnrollFlags& flags) {
  shoebox::EnrollCommand cmd = shoebox::EnrollCommandFromFlags("shoebox-agent", "device", flags);
  auto cfg = shoebox::agent::LoadAgentConfig(config_path);
  if (cfg.ok()) {
    cmd.config = shoebox::EnrollDefaults{cfg->coordinator_address, cfg->tls_dir, cfg->device_name};
  } else {
    cmd.config = cfg.status();
  }
  cmd.fallback_tls_dir = shoebox::agent::DefaultStateDir() + "/tls";
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  shoebox::TuneAllocatorForChunks();
  shoebox::DisableMutexDeadlockDetection();
  CLI::App app{
      "shoebox-agent: backs up the photos and videos of this device to a Shoebox coordinator"};
  app.require_subcommand(1);
  std::string config_path = DefaultConfigPath();
  std::string state_dir;
  app.add_option("-c,--config", config_path, "agent config file (TOML)");

  auto* run = app.add_subcommand("run", "watch the folders and back up changes (until stopped)");
  bool once = false, accept = false, no_progress = false;
  std::string log_level;
  run->add_flag("--once", once,
                "scan, upload everything, wait until the coordinator has it all, then exit");
  run->add_flag(
      "--accept-folder-changes", accept,
      "accept a folder root on a new device or an empty root as real (deletions are reported)");
  run->add_flag("--no-progress", no_progress, "no live progress line even on a terminal");
  run->add_option("--log-level", log_level,
                  "trace, debug, info, warn, error (overrides agent.log_level)");

  auto* status =
      app.add_subcommand("status", "show files and bytes pending, rate and ETA of the agent");
  bool json = false;
  status->add_flag("--json", json, "print the status as JSON");
  status->add_option("--state-dir", state_dir, "state directory (default: from the config)");
  auto* pause = app.add_subcommand("pause", "pause reading and uploading");
  pause->add_option("--state-dir", state_dir, "state directory (default: from the config)");
  auto* resume = app.add_subcommand("resume", "resume reading and uploading");
  resume->add_option("--state-dir", state_dir, "state directory (default: from the config)");
  shoebox::EnrollFlags enroll;
  shoebox::AddEnrollSubcommand(
      app, {"device", "coordinator.address of the config", "from the config"}, &enroll);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is 0; every usage error is 2 (CLI11's own codes are 105, 106, ...).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*status) {
    auto s = shoebox::agent::ReadStatusFile(StateDirFor(config_path, state_dir));
    if (!s.ok()) {
      std::cerr << "shoebox-agent status: " << s.status().message() << "\n";
      return 1;
    }
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (json) {
      std::cout << s->ToJson();
    } else {
      std::cout << s->ToText(now);
    }
    return 0;
  }
  if (*enroll.command) {
    return shoebox::RunEnrollment(
        EnrollCommandFor(config_path, enroll),
        shoebox::MakeEnrollCall<shoebox::v1::EnrollRequest, shoebox::v1::EnrollResponse>(
            [](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
               const shoebox::v1::EnrollRequest& req, shoebox::v1::EnrollResponse* resp) {
              return shoebox::v1::AgentService::NewStub(ch)->Enroll(ctx, req, resp);
            }));
  }
  if (*pause || *resume) {
    std::string dir = StateDirFor(config_path, state_dir);
    bool want_pause = static_cast<bool>(*pause);
    absl::Status st = shoebox::agent::WriteControl(dir, want_pause);
    if (!st.ok()) {
      std::cerr << "shoebox-agent: " << st.message() << "\n";
      return 1;
    }
    std::cout << (want_pause ? "paused" : "resumed") << " (state directory " << dir << ")\n";
    return 0;
  }

  auto cfg = shoebox::agent::LoadAgentConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << "shoebox-agent: " << cfg.status().message() << "\n";
    return 2;
  }
  shoebox::InitLogging("shoebox-agent", log_level.empty() ? cfg->log_level : log_level,
                       cfg->log_json);
  for (const std::string& w : cfg->warnings) spdlog::warn("{}", w);
  shoebox::agent::Agent::Options opts;
  opts.once = once;
  opts.accept_folder_changes = accept;
  opts.progress_line = !no_progress && ::isatty(STDERR_FILENO);
  // Before the agent's threads start; until it exists a signal ends the
  // process as it always did (common/signals.h).
  auto stop_watch =
      std::make_unique<shoebox::StopSignalWatch>(shoebox::EarlyStopSignal::kEndProcess);
  auto agent = shoebox::agent::Agent::Create(*cfg, opts);
  if (!agent.ok()) {
    spdlog::error("{}", std::string(agent.status().message()));
    return 1;
  }
  stop_watch->Arm([&](int) { (*agent)->Stop(); });
  absl::Status s = (*agent)->Run();
  stop_watch.reset();
  if (!s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  const auto& st = (*agent)->stats();
  if (once) {
    spdlog::info(
        "backup complete: {} files ({} bytes) acknowledged, {} deletions, {} chunks ({} bytes) "
        "uploaded",
        st.files_acked.load(), st.bytes_acked.load(), st.deletes_acked.load(),
        st.chunks_uploaded.load(), st.chunk_bytes_uploaded.load());
    if ((*agent)->unreadable_files() > 0) {
      spdlog::warn("{} files could not be read (see the log above)", (*agent)->unreadable_files());
      return 3;
    }
  }
  return 0;
}
