// shoebox-worker: parses flags and the config file, wires the chunk store,
// keys, credentials opener and coordinator channel, and runs the worker until
// SIGTERM/SIGINT (then hands back or finishes its jobs and exits 0).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "CLI/CLI.hpp"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "common/enroll_command.h"
#include "common/locks.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/s3/s3_chunkstore.h"
#include "common/signals.h"
#include "common/tls_client.h"
#include "shoebox/v1/worker.grpc.pb.h"
#include "workers/chunk_source.h"
#include "workers/coordinator_client.h"
#include "workers/worker.h"

namespace {

// `shoebox-worker enroll` (common/enroll_command.h): the flags, then the
// config's coordinator and identity directory.
shoebox::EnrollCommand EnrollCommandFor(const std::string& config_path,
                                        const shoebox::EnrollFlags& flags) {
  shoebox::EnrollCommand cmd = shoebox::EnrollCommandFromFlags("shoebox-worker", "worker", flags);
  auto options = shoebox::worker::LoadWorkerConfig(config_path);
  if (options.ok()) {
    cmd.config = shoebox::EnrollDefaults{options->coordinator, options->tls_dir, std::nullopt};
  } else {
    cmd.config = options.status();
  }
  cmd.fallback_tls_dir = "/etc/shoebox/worker/tls";
  return cmd;
}

// A nice value orders threads only within their scheduling group. With the
// kernel's autogroup (Debian's default: one group per session), a worker
// started in a session of its own (deploy/lib.sh's setsid, systemd) shares
// the CPU with the agent's and the coordinator's sessions as an equal, its
// nice notwithstanding: measured, nice 19 left it the same 2.4 CPU-seconds
// of the ingest window as nice 0. So a session leader lowers its session's
// priority too. A worker run inside a terminal's session leaves the session
// alone (it would slow the shell and everything started from it).
void LowerSessionPriority(int nice) {
  if (::getsid(0) != ::getpid()) {
    spdlog::info(
        "worker is not the leader of its session: nice {} orders it only within the session", nice);
    return;
  }
  std::ofstream f("/proc/self/autogroup");
  if (!f) return;  // kernel without autogroup: nice already applies machine-wide
  f << nice << std::flush;
  if (!f) spdlog::warn("cannot lower the worker session's CPU priority to nice {}", nice);
}

}  // namespace

int main(int argc, char** argv) {
  shoebox::TuneAllocatorForChunks();
  shoebox::DisableMutexDeadlockDetection();
  CLI::App app{"shoebox-worker: delivers files from the chunk store to destinations"};
  std::string config_path = "/etc/shoebox/worker.toml";
  std::string log_level = "info";
  bool log_json = false;
  app.add_option("-c,--config", config_path, "worker config file (TOML)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_flag("--log-json", log_json, "one JSON object per log line");
  shoebox::EnrollFlags enroll;
  shoebox::AddEnrollSubcommand(
      app, {"worker", "worker.coordinator of the config", "worker.tls_dir"}, &enroll);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is 0; every usage error is 2 (CLI11's own codes are 105, 106, ...).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*enroll.command) {
    return shoebox::RunEnrollment(
        EnrollCommandFor(config_path, enroll),
        shoebox::MakeEnrollCall<shoebox::v1::WorkerEnrollRequest,
                                shoebox::v1::WorkerEnrollResponse>(
            [](const std::shared_ptr<grpc::Channel>& ch, grpc::ClientContext* ctx,
               const shoebox::v1::WorkerEnrollRequest& req,
               shoebox::v1::WorkerEnrollResponse* resp) {
              return shoebox::v1::WorkerService::NewStub(ch)->Enroll(ctx, req, resp);
            }));
  }
  shoebox::InitLogging("shoebox-worker", log_level, log_json);

  // SIGTERM/SIGINT are blocked in every thread from here on and taken by one
  // (common/signals.h) once the worker exists; one that comes earlier waits
  // and stops it then.
  shoebox::BlockStopSignals();

  auto fail = [](const absl::Status& s) {
    std::cerr << "shoebox-worker: " << s.message() << "\n";
    return 1;
  };
  shoebox::s3::RegisterS3ChunkStore();
  auto options = shoebox::worker::LoadWorkerConfig(config_path);
  if (!options.ok()) return fail(options.status());
  for (const std::string& w : options->warnings) spdlog::warn("{}", w);
  // Before any thread starts: on Linux a nice value is per thread and
  // inherited by the threads it creates.
  if (options->nice > 0 && ::setpriority(PRIO_PROCESS, 0, options->nice) != 0) {
    spdlog::warn("cannot lower the worker's CPU priority to nice {}: {}", options->nice,
                 strerror(errno));
  }
  if (options->nice > 0) LowerSessionPriority(options->nice);
  auto master = shoebox::LoadOrCreateMasterKey(options->master_key_file, /*create=*/false);
  if (!master.ok()) return fail(master.status());
  const shoebox::DerivedKeys keys = shoebox::DeriveKeys(*master);

  auto channel = shoebox::worker::MakeCoordinatorChannel(*options);
  if (!channel.ok()) return fail(channel.status());

  std::unique_ptr<shoebox::ChunkStore> store;
  std::unique_ptr<shoebox::SealedChunkStore> sealed;
  std::unique_ptr<shoebox::worker::ChunkFetcher> fetcher;
  if (options->chunk_store == "via-coordinator") {
    fetcher = shoebox::worker::MakeCoordinatorFetcher(
        *channel, options->name, options->insecure_dev, keys.data_key, options->rpc_deadline);
  } else {
    auto s = shoebox::OpenChunkStore(options->chunk_store);
    if (!s.ok()) return fail(s.status());
    store = std::move(*s);
    sealed = std::make_unique<shoebox::SealedChunkStore>(store.get(), keys.data_key);
    fetcher = shoebox::worker::MakeStoreFetcher(sealed.get());
  }

  shoebox::worker::CredentialOpener opener;
  struct stat st;
  if (::stat(options->pool_key_file.c_str(), &st) == 0) {
    auto o = shoebox::worker::MakeSealBoxOpener(options->pool_key_file);
    if (!o.ok()) return fail(o.status());
    opener = std::move(*o);
  } else {
    spdlog::warn(
        "no pool key at {}: destinations with sealed credentials will fail until it exists",
        options->pool_key_file);
  }

  auto worker = shoebox::worker::Worker::Create(*options, *channel, fetcher.get(), opener);
  if (!worker.ok()) return fail(worker.status());
  // Started after setpriority: a thread inherits its creator's nice value.
  auto stop_watch = std::make_unique<shoebox::StopSignalWatch>(shoebox::EarlyStopSignal::kDefer);
  stop_watch->Arm([&](int sig) {
    spdlog::info("signal {}: stopping (no new jobs; finishing or handing back current ones)", sig);
    (*worker)->Stop();
  });
  absl::Status run = (*worker)->Run();
  stop_watch.reset();
  if (!run.ok()) return fail(run);
  return 0;
}
