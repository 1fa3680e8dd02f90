// Coordinator configuration: the TOML file (docs/coordinator.md lists every
// key) parsed into one plain struct that main.cc, tests and the harness fill.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace shoebox::coordinator {

struct Limits {
  // Largest number of files accepted in one ReportFiles call.
  uint32_t max_report_batch = 10000;
  // Largest chunk plaintext accepted by PutChunks.
  uint32_t max_chunk_size = 16 * 1024 * 1024;
  // Lease granted to workers, ms.
  uint32_t lease_ms = 60000;
  // Attempts before a job is dead-lettered.
  uint32_t max_attempts = 8;
  // Retry backoff: base * 2^(attempt-1), capped at max, with jitter.
  uint32_t backoff_base_ms = 2000;
  uint32_t backoff_max_ms = 15 * 60 * 1000;
  // A destination failing authentication gets one probe job this often.
  uint32_t auth_probe_interval_ms = 5 * 60 * 1000;
  // Largest number of jobs one LeaseJobs call hands out.
  uint32_t max_lease_batch = 256;
  // Longest LeaseJobs wait for work, ms.
  uint32_t max_lease_wait_ms = 10000;
  // A worker not seen for this long no longer counts as serving.
  uint32_t worker_stale_ms = 120000;
};

struct CoordinatorOptions {
  // gRPC listen address, host:port (port 0: pick a free one).
  std::string listen = "127.0.0.1:7443";
  // PostgreSQL connection string (URL or key=value form).
  std::string database_url;
  // Chunk store location: a directory path (or file:// URL).
  std::string chunk_store;
  // Master key file (created 0600 if missing and create_key is set).
  std::string key_file;
  bool create_key = true;
  // Prometheus exposer address ("" disables), e.g. "127.0.0.1:9464".
  std::string metrics_listen;
  // Plain-text gRPC with identity from metadata; loopback listen only.
  bool insecure_dev = false;
  // PostgreSQL connections in the pool.
  uint32_t db_pool_size = 8;
  // Give up starting when the database stays down this long (0: never).
  uint32_t db_connect_timeout_ms = 0;
  // How long one call keeps retrying while the database is unreachable.
  uint32_t db_unavailable_retry_ms = 20000;
  // Housekeeping period (expired leases, due retries, metrics), ms.
  uint32_t housekeeping_ms = 500;
  // gRPC sync server threads (upper bound).
  uint32_t max_threads = 64;
  std::string log_level = "info";
  bool log_json = false;
  Limits limits;
};

// Reads a [coordinator] / [database] / [limits] TOML document; unknown types
// and missing required keys are INVALID_ARGUMENT naming file and key.
absl::StatusOr<CoordinatorOptions> OptionsFromConfig(const Config& config);

// True when `listen` (host:port) names a loopback address.
bool IsLoopbackListen(const std::string& listen);

}  // namespace shoebox::coordinator
