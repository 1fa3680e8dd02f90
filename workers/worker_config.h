// The worker's configuration: the [worker] table of worker.toml (keys in
// docs/destinations.md), its defaults and its validation.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace shoebox::worker {

struct WorkerOptions {
  std::string coordinator = "127.0.0.1:7443";  // host:port
  std::string name;                            // worker name (dev mode identity)
  // Plain-text gRPC on loopback with the x-shoebox-worker metadata key
  // (the coordinator must run with --insecure-dev).
  bool insecure_dev = false;
  std::string tls_dir;                       // identity stored by `enroll`
  std::string ca_file, cert_file, key_file;  // mTLS (PEM), default in tls_dir
  std::vector<std::string> kinds;            // empty: every built-in connector kind
  std::vector<std::string> destinations;     // empty: all of those kinds
  int concurrency = 2;
  // CPU priority (nice value, 0..19) the worker runs at. Delivery is
  // background work: on a machine that also runs the coordinator or an
  // agent, ingest from devices goes first and deliveries use what is left.
  int nice = 10;
  // Chunk store location ("/var/lib/shoebox/chunks", "s3://...") or
  // "via-coordinator" (sealed blobs through WorkerService.ReadChunks).
  std::string chunk_store = "via-coordinator";
  std::string master_key_file;  // the data key is derived from it
  std::string pool_key_file;    // X25519 pair that opens sealed credentials
  absl::Duration lease_wait = absl::Seconds(10);
  absl::Duration rpc_deadline = absl::Seconds(30);
  absl::Duration shutdown_grace = absl::Seconds(30);
  // Keys in worker.toml the worker does not know, one warning each naming
  // the file, line, key and the known keys (Config::UnknownKeyWarnings);
  // logged at start.
  std::vector<std::string> warnings;
};

// Reads a worker.toml ([worker] table; keys in docs/destinations.md). An
// empty worker.name becomes the host name. INVALID_ARGUMENT naming the file
// and the key when a value is out of range (concurrency 1..256, nice 0..19)
// or worker.kinds names a connector kind this worker does not have.
absl::StatusOr<WorkerOptions> LoadWorkerConfig(const std::string& path);

}  // namespace shoebox::worker
