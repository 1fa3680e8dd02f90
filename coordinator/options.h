// Coordinator configuration: the TOML file (docs/coordinator.md lists every
// key) parsed into one plain struct that main.cc, tests and the harness fill.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  // Calls per second each authenticated caller may make (token bucket,
  // bursts of twice this); over it, RESOURCE_EXHAUSTED. 0: no limit.
  uint32_t calls_per_second = 2000;
  // Enroll attempts per second from one peer address (bursts of 10).
  uint32_t enroll_per_second = 1;
  // Streaming calls (PutChunks, ReadChunks) one caller may have open at
  // once; the next is RESOURCE_EXHAUSTED. 0: no limit. (issue 17)
  uint32_t max_streams_per_caller = 16;
  // A PutChunks stream that receives no message for this long is ended.
  // 0: never.
  uint32_t stream_idle_timeout_s = 120;
};

// TLS (the default; off only with insecure_dev). See docs/security.md.
struct TlsOptions {
  // Directory of the CA, server and admin certificates and keys; default:
  // "tls" beside key_file. Created 0700; keys 0600.
  std::string dir;
  // Operator-provided CA (both or neither): used to sign client
  // certificates instead of the one created in `dir`.
  std::string ca_cert_file;
  std::string ca_key_file;
  // Operator-provided server certificate chain and key (both or neither).
  std::string cert_file;
  std::string key_file;
  // Extra DNS names / IP addresses for the server certificate created here
  // (it always holds "shoebox-coordinator", "localhost" and 127.0.0.1).
  std::vector<std::string> names;
  // Lifetime of client certificates issued at enrollment, days.
  uint32_t client_cert_days = 3650;
  // Lifetime of the local admin certificate (admin.crt), days. It is made
  // again at start when missing, revoked, or within a tenth of its lifetime
  // of expiring (docs/security.md).
  uint32_t admin_cert_days = 3650;
};

// Scheduled verification (issue 7, docs/verify.md).
struct VerifyOptions {
  // A scheduled run this often, seconds (0: only `shoebox verify`).
  uint32_t interval_s = 86400;
  // Per run: share of stored chunks scrubbed (oldest-checked first), so
  // 5% a day covers every chunk in 20 days.
  double scrub_percent = 5.0;
  // Per run: share of delivered copies checked at their destination.
  double remote_percent = 5.0;
  // Per run: files test-restored to `scratch_dir` and compared by SHA-256.
  uint32_t test_restore = 3;
  // Scratch directory for test restores ("": the system temp directory).
  std::string scratch_dir;
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
  TlsOptions tls;
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
  // Audit log retention (docs/security.md): entries older than this many
  // days, and the oldest beyond max rows, are deleted hourly. 0: keep.
  uint32_t audit_retention_days = 90;
  uint32_t audit_max_rows = 1000000;
  std::string log_level = "info";
  bool log_json = false;
  Limits limits;
  VerifyOptions verify;
  // Scheduled prune (docs/retention.md): this often, seconds (0: only
  // `shoebox prune`). Unreferenced chunks are deleted only after
  // prune_grace_s since their last reference went.
  uint32_t prune_interval_s = 86400;
  uint32_t prune_grace_s = 3600;
  // Catalog snapshots (docs/recovery.md): one this often, seconds (0: only
  // `shoebox snapshot`); the newest snapshot_keep are kept in the chunk store.
  uint32_t snapshot_interval_s = 86400;
  // Transfers (issue 21): each active transfer's source is listed again this
  // often (docs/transfers.md); 0: only on add and resume.
  uint32_t transfer_list_interval_s = 900;
  uint32_t snapshot_keep = 14;
  // Keys in the file the coordinator does not know, one warning each naming
  // file, line, key and the known keys (Config::UnknownKeyWarnings); logged
  // at start.
  std::vector<std::string> warnings;
};

// Reads a [coordinator] / [database] / [limits] TOML document; unknown types
// and missing required keys are INVALID_ARGUMENT naming file and key.
absl::StatusOr<CoordinatorOptions> OptionsFromConfig(const Config& config);

// True when every address `listen` (host:port) resolves to is loopback
// (IsLoopbackTarget, common/loopback.h; not a match on the spelling).
bool IsLoopbackListen(const std::string& listen);

}  // namespace shoebox::coordinator
