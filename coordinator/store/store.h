// The coordinator's PostgreSQL store: the ONLY code that talks to libpqxx.
//
// Every method runs in its own transaction on a pooled connection and returns
// a status; libpqxx exceptions never leave store.cc. Error mapping:
// serialization failure / deadlock → ABORTED (retried here), lost connection
// → UNAVAILABLE (the connection is re-opened and the transaction retried
// while `unavailable_retry_ms` lasts; a COMMIT whose outcome is unknown is
// not retried and surfaces as UNAVAILABLE), unique violation →
// ALREADY_EXISTS, anything else → INTERNAL naming the operation.
//
// Thread-safe: any thread may call any method; calls block while the pool is
// exhausted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/agent.pb.h"
#include "shoebox/v1/common.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace pqxx {
class transaction_base;
}

namespace shoebox::coordinator {

struct StoreOptions {
  std::string url;
  uint32_t pool_size = 8;
  // Opening retries until the database answers; 0 waits forever.
  uint32_t connect_timeout_ms = 0;
  uint32_t unavailable_retry_ms = 20000;
};

// Schema version this binary knows (the highest migration).
int SchemaVersion();

struct Folder {
  int64_t id = 0;
  std::string root;
};

struct ChunkRefRow {
  std::string id;  // 32 bytes
  uint32_t size = 0;
};

// One validated file report (catalog.cc validated it).
struct ReportItem {
  int64_t folder_id = 0;
  std::string path;
  bool deleted = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;
  uint32_t mode = 0;
  std::vector<ChunkRefRow> chunks;
};

struct ReportOutcome {
  int64_t version_id = 0;  // 0 for a delete of an unknown file
  shoebox::v1::VersionState state = shoebox::v1::VERSION_STATE_UNSPECIFIED;
  std::vector<std::string> missing;  // chunk IDs not yet stored
};

struct ChunkStatus {
  bool known = false;   // some report references it
  bool stored = false;  // its blob is in the chunk store
  uint32_t size = 0;
};

struct CertificateRow {
  std::string serial;
  std::string role;  // "device", "worker", "admin"
  std::string name;
  std::string fingerprint;
  int64_t issued_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  int64_t revoked_unix_ms = 0;  // 0: not revoked
};

struct WorkerRegistration {
  std::string name;
  std::vector<std::string> kinds;
  std::vector<std::string> destinations;
  uint32_t max_concurrency = 0;
  std::string version;
};

struct LeaseParams {
  int64_t worker_id = 0;
  uint32_t max_jobs = 1;
  uint32_t lease_ms = 60000;
  uint32_t auth_probe_interval_ms = 300000;
  uint32_t worker_stale_ms = 120000;
};

struct FailParams {
  int64_t job_id = 0;
  std::string lease_token;
  bool retryable = true;
  std::string error;
  uint32_t retry_after_ms = 0;
  bool auth_failure = false;
  // The job never reached the worker (it hung up as the lease was taken):
  // straight back to the queue, the attempt not counted.
  bool not_started = false;
  uint32_t max_attempts = 8;
  uint32_t backoff_base_ms = 2000;
  uint32_t backoff_max_ms = 900000;
};

struct SweepResult {
  uint64_t requeued = 0;     // expired leases back in the queue
  uint64_t dead = 0;         // expired leases on their last attempt
  uint64_t retry_due = 0;    // backoff over, queued again
};

struct AuditEntry {
  std::string actor_kind;  // "device", "worker", "admin", "anonymous"
  std::string actor;
  std::string action;  // RPC method
  std::string target;
  bool allowed = true;
  std::string detail;
};

class Store {
 public:
  // Connects (retrying with a log line while the database is down), applies
  // pending migrations, refuses (FAILED_PRECONDITION) a schema newer than
  // SchemaVersion().
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  virtual ~Store() = default;

  virtual absl::Status Ping() = 0;
  // Versions recorded in schema_migrations, ascending.
  virtual absl::StatusOr<std::vector<int>> AppliedMigrations() = 0;

  // --- devices and folders -------------------------------------------------
  // Creates the device on first call; records hostname, last_seen and folders.
  virtual absl::StatusOr<int64_t> UpsertDevice(const std::string& name,
                                               const std::string& hostname,
                                               const std::string& agent_version,
                                               const std::vector<std::string>& folders) = 0;
  // NOT_FOUND when the device never said Hello.
  virtual absl::StatusOr<int64_t> FindDevice(const std::string& name) = 0;
  virtual absl::Status RecordHeartbeat(int64_t device_id,
                                       const shoebox::v1::HeartbeatRequest& hb) = 0;
  virtual absl::StatusOr<std::vector<Folder>> ListFolders(int64_t device_id) = 0;
  // Current versions of this device's files that hold a damaged chunk (open
  // chunk_damage), at most `limit`: folder root, path, size, mtime, sha256.
  virtual absl::StatusOr<std::vector<shoebox::v1::FileReport>> DamagedFilesOf(int64_t device_id,
                                                                             uint32_t limit) = 0;

  // --- catalog ---------------------------------------------------------------
  // One transaction for the whole batch: new versions, chunk references,
  // missing chunk lists, deletes, and deliveries for versions complete at
  // once. Paths in `items` are unique per folder (the caller checks).
  virtual absl::StatusOr<std::vector<ReportOutcome>> ReportFiles(
      int64_t device_id, const std::vector<ReportItem>& items) = 0;
  virtual absl::StatusOr<ChunkStatus> GetChunk(const std::string& id) = 0;
  // Marks the chunk stored (its blob is durable) and completes every version
  // that waited only for it, creating their deliveries in the same
  // transaction. Returns the completed version IDs. Idempotent.
  virtual absl::StatusOr<std::vector<int64_t>> MarkChunkStored(const std::string& id,
                                                               uint32_t size,
                                                               uint64_t stored_size) = 0;
  // For each ID: is it referenced by a version of the device (and stored)?
  virtual absl::StatusOr<std::vector<bool>> DeviceMayRead(int64_t device_id,
                                                          const std::vector<std::string>& ids) = 0;
  virtual absl::StatusOr<std::vector<bool>> ChunksStored(const std::vector<std::string>& ids) = 0;
  // device_id must exist. See ListVersionsRequest for the semantics.
  virtual absl::StatusOr<shoebox::v1::ListVersionsResponse> ListVersions(
      int64_t device_id, const shoebox::v1::ListVersionsRequest& req) = 0;

  // --- destinations and bindings ------------------------------------------
  virtual absl::StatusOr<shoebox::v1::Destination> CreateDestination(
      const shoebox::v1::CreateDestinationRequest& req) = 0;
  virtual absl::StatusOr<std::vector<shoebox::v1::Destination>> ListDestinations() = 0;
  // `folder` empty: the whole device. Returns jobs created by the backfill.
  virtual absl::StatusOr<uint64_t> BindFolder(const std::string& device,
                                              const std::string& folder,
                                              const std::string& destination,
                                              bool backfill) = 0;
  virtual absl::StatusOr<std::vector<shoebox::v1::Device>> ListDevices() = 0;

  // --- job queue --------------------------------------------------------------
  virtual absl::StatusOr<int64_t> RegisterWorker(const WorkerRegistration& reg) = 0;
  // NOT_FOUND when the worker never registered.
  virtual absl::StatusOr<int64_t> FindWorker(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<shoebox::v1::Job>> LeaseJobs(const LeaseParams& p) = 0;
  virtual absl::StatusOr<shoebox::v1::RenewLeaseResponse> RenewLease(int64_t job_id,
                                                                     const std::string& token,
                                                                     uint32_t lease_ms) = 0;
  virtual absl::Status CompleteJob(const shoebox::v1::CompleteJobRequest& req) = 0;
  virtual absl::StatusOr<shoebox::v1::FailJobResponse> FailJob(const FailParams& p) = 0;
  virtual absl::StatusOr<SweepResult> Sweep(uint32_t max_attempts) = 0;
  virtual absl::StatusOr<std::vector<shoebox::v1::JobInfo>> ListJobs(
      const shoebox::v1::ListJobsRequest& req, uint32_t worker_stale_ms) = 0;
  virtual absl::StatusOr<uint64_t> CancelJobs(const shoebox::v1::JobSelector& sel) = 0;
  virtual absl::StatusOr<uint64_t> RetryJobs(const shoebox::v1::JobSelector& sel) = 0;
  // Jobs not yet finished (queued, leased, waiting) get `priority`.
  virtual absl::StatusOr<uint64_t> SetJobPriority(const shoebox::v1::JobSelector& sel,
                                                  int32_t priority) = 0;
  // Jobs per state (index = JobState value), for metrics.
  virtual absl::StatusOr<std::vector<uint64_t>> JobCountsByState() = 0;

  // --- status, audit, enrollment -------------------------------------------
  virtual absl::StatusOr<shoebox::v1::StatusResponse> GetStatus(uint32_t worker_stale_ms) = 0;
  virtual absl::Status Audit(const AuditEntry& e) = 0;
  virtual absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) = 0;
  virtual absl::Status CreateEnrollToken(const std::string& token_sha256,
                                         const std::string& device, const std::string& worker,
                                         int64_t expires_unix_ms) = 0;
  // Marks the token used by `used_by` (the enrolling peer) and returns the
  // identity it names. NOT_FOUND for an unknown (forged) token,
  // FAILED_PRECONDITION naming when it was used / when it expired,
  // PERMISSION_DENIED when it names the other role ("device"/"worker").
  virtual absl::StatusOr<std::string> ConsumeEnrollToken(const std::string& token_sha256,
                                                         const std::string& role,
                                                         const std::string& used_by) = 0;
  // Records an issued certificate (no-op when the serial is known).
  virtual absl::Status RecordCertificate(const CertificateRow& c) = 0;
  // The certificate with this serial; NOT_FOUND when never recorded.
  virtual absl::StatusOr<CertificateRow> GetCertificate(const std::string& serial) = 0;
  // Revokes every certificate of role/name (and marks a device revoked);
  // returns how many were revoked. NOT_FOUND when none was ever issued.
  virtual absl::StatusOr<uint64_t> RevokeIdentity(const std::string& role,
                                                  const std::string& name) = 0;
  // All recorded certificates, newest first.
  virtual absl::StatusOr<std::vector<CertificateRow>> ListCertificates() = 0;

  // --- extensions -------------------------------------------------------------
  // Runs `fn` in one transaction on a pooled connection with the retries and
  // error mapping described at the top of this file (`fn` may run more than
  // once). For store code in its own file under coordinator/store/ (e.g.
  // verify_store.cc); only code there may use the pqxx type.
  virtual absl::Status RunInTransaction(
      const char* what, const std::function<absl::Status(pqxx::transaction_base&)>& fn) = 0;
};

}  // namespace shoebox::coordinator
