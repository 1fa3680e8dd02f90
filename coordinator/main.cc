// shoebox-coordinator: parses flags and the config file, wires the server.
#include <memory>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/synchronization/notification.h"
#include "common/config.h"
#include "common/locks.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/s3/s3_chunkstore.h"
#include "common/signals.h"
#include "coordinator/options.h"
#include "coordinator/server.h"

int main(int argc, char** argv) {
  shoebox::TuneAllocatorForChunks();
  shoebox::DisableMutexDeadlockDetection();
  CLI::App app{"Shoebox coordinator: catalog, chunk ingest and job queue on PostgreSQL"};
  std::string config_path = "/etc/shoebox/coordinator.toml";
  std::string listen, database_url, log_level;
  bool insecure_dev = false;
  app.add_option("-c,--config", config_path, "TOML config file");
  app.add_option("--listen", listen, "override coordinator.listen (host:port)");
  app.add_option("--database-url", database_url, "override database.url");
  app.add_option("--log-level", log_level, "override coordinator.log_level");
  app.add_flag("--insecure-dev", insecure_dev,
               "plain-text gRPC with identities from metadata; loopback only");
  CLI11_PARSE(app, argc, argv);
  // chunk_store.location may be "s3://..." (common/s3/s3_chunkstore.h).
  shoebox::s3::RegisterS3ChunkStore();

  auto config = shoebox::Config::LoadFile(config_path);
  if (!config.ok()) {
    fprintf(stderr, "shoebox-coordinator: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto options = shoebox::coordinator::OptionsFromConfig(*config);
  if (!options.ok()) {
    fprintf(stderr, "shoebox-coordinator: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
  if (!listen.empty()) options->listen = listen;
  if (!database_url.empty()) options->database_url = database_url;
  if (!log_level.empty()) options->log_level = log_level;
  if (insecure_dev) options->insecure_dev = true;
  shoebox::InitLogging("shoebox-coordinator", options->log_level, options->log_json);
  for (const std::string& w : options->warnings) SPDLOG_WARN("{}", w);
  // SIGINT/SIGTERM: blocked in every thread the server starts, taken by one
  // thread (common/signals.h); so before Start, which starts the threads.
  // Until the server listens a signal ends the process as it always did.
  auto stop_watch =
      std::make_unique<shoebox::StopSignalWatch>(shoebox::EarlyStopSignal::kEndProcess);

  auto server = shoebox::coordinator::CoordinatorServer::Start(*options);
  if (!server.ok()) {
    SPDLOG_CRITICAL("event=start_failed error=\"{}\"", std::string(server.status().message()));
    return 1;
  }
  // Tests and scripts read the bound address from this line on stdout.
  printf("listening on %s\n", (*server)->address().c_str());
  fflush(stdout);
  absl::Notification stop;
  stop_watch->Arm([&stop](int) { stop.Notify(); });
  std::thread waiter([&] { (*server)->Wait(); });
  stop.WaitForNotification();
  SPDLOG_INFO("event=shutdown");
  (*server)->Shutdown();
  waiter.join();
  stop_watch.reset();
  return 0;
}
