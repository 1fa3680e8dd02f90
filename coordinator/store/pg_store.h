// Store-internal (coordinator/store/ only): PgStore, the PostgreSQL
// implementation of Store, and the row decoders its files share. Its methods
// live in one file per area:
//   pg_store.cc         Open, Ping, prepared statements, RunInTransaction
//   pg_migrate.cc       the migration runner (statements: migrations.cc)
//   pg_devices.cc       devices, folders, heartbeats, damaged files of a device
//   pg_catalog.cc       chunks, versions (ListVersions)
//   pg_report_files.cc  ReportFiles, step by step
//   pg_import.cc        albums and capture dates of versions (issue 21)
//   pg_destinations.cc  destinations and bindings
//   pg_queue.cc         workers, leases, renew/complete/fail, the sweep
//   pg_jobs_admin.cc    admin job listings and actions, job counts
//   pg_status.cc        the status summary (and destination facts for ListJobs)
//   pg_identity.cc      enrollment tokens and certificates
//   pg_audit.cc         the audit log
// Connection pool, retries and error mapping: pg_pool.h. Parameter
// encodings: pg_codec.h. The chunk-list column: chunk_list_format.h.
#pragma once

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "coordinator/queue_policy.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/pg_pool.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator::pg {

// Columns of a file version with its device, folder and path, and the joins
// that produce them; VersionFromRow decodes them.
inline constexpr char kVersionCols[] =
    "v.id, d.name, fo.root, f.path, v.size, v.mtime_ns, v.sha256, v.chunk_list, "
    "epoch_ms(v.created_at), epoch_ms(v.deleted_at), v.state, v.mode, v.chunks_dropped";
inline constexpr char kVersionJoins[] =
    "file_versions v JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id "
    "JOIN devices d ON d.id = fo.device_id";
// DATA_LOSS naming the version when its chunk list is damaged.
absl::Status VersionFromRow(const pqxx::row& r, int off, FileVersion* v);

inline constexpr char kDestinationCols[] =
    "id, name, kind, settings::text, sealed_credentials, layout, max_concurrency, "
    "epoch_ms(paused_at)";
void DestinationFromRow(const pqxx::row& r, Destination* d);

// Creates one delivery per destination bound to each version's folder (or
// the whole device). Versions must be complete.
//
// Races with BindFolder: a binding committed while a version completes must
// give that version exactly one delivery. Both sides lock the device row
// first (here FOR KEY SHARE, which heartbeats' last_seen updates do not
// block; BindFolder FOR UPDATE), so whichever commits second runs its INSERT
// after the other's commit and, in READ COMMITTED, sees its rows.
uint64_t CreateDeliveries(Tx& tx, const std::vector<int64_t>& version_ids);

// pg_import.cc (issue 21): the albums (added, never removed) and capture
// dates of items[i] for version out[i].version_id, for items that carry
// them and were recorded (code OK, a version). Runs inside ReportFiles'
// transaction, before its deliveries are created, so a worker never sees a
// version without its albums.
void RecordImportFacts(Tx& tx, const std::vector<ReportItem>& items,
                       const std::vector<ReportOutcome>& out);
// The albums (sorted) and capture dates of `version_ids` (leases).
struct VersionFacts {
  std::vector<std::string> albums;
  int64_t capture_ns = 0;
};
std::map<int64_t, VersionFacts> LoadImportFacts(Tx& tx, const std::vector<int64_t>& version_ids);

// What the status and job listings say about a destination.
struct DestFacts {
  std::string name, kind, auth_error;
  uint32_t max_concurrency = 0;
  int64_t auth_failed_ms = 0, last_verified_ms = 0, paused_ms = 0;
  bool removed = false;  // retired by RemoveDestination: history only
  uint32_t running = 0, serving = 0;
};
std::map<int64_t, DestFacts> LoadDestFacts(Tx& tx, uint32_t worker_stale_ms);
WaitFacts MakeWaitFacts(JobState state, uint32_t attempts, std::string last_error, int64_t next_ms,
                        const DestFacts& d);

// Statements run once per stored chunk (thousands per backup) or per job,
// prepared on each pooled connection so PostgreSQL parses them once and
// (after five runs, when no worse) stops planning them.
void PrepareCatalogStatements(pqxx::connection& c);
void PrepareQueueStatements(pqxx::connection& c);

class PgStore final : public Store {
 public:
  explicit PgStore(const StoreOptions& o);

  // Waits for the database (PgPool::Connect).
  absl::Status Connect() { return pool_.Connect(); }
  // Applies pending migrations in one transaction under an advisory lock;
  // FAILED_PRECONDITION for a schema newer than SchemaVersion().
  absl::Status Migrate();

  absl::Status Ping() override;
  absl::StatusOr<std::vector<int>> AppliedMigrations() override;

  // pg_devices.cc
  absl::StatusOr<int64_t> UpsertDevice(const std::string& name, const std::string& hostname,
                                       const std::string& agent_version,
                                       const std::vector<std::string>& folders) override;
  absl::StatusOr<int64_t> FindDevice(const std::string& name) override;
  absl::Status RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) override;
  absl::StatusOr<std::vector<Folder>> ListFolders(int64_t device_id) override;
  absl::StatusOr<std::vector<DamagedFile>> DamagedFilesOf(int64_t device_id,
                                                          uint32_t limit) override;
  absl::StatusOr<std::vector<DeviceRow>> ListDevices() override;

  // pg_catalog.cc, pg_report_files.cc
  absl::StatusOr<std::vector<ReportOutcome>> ReportFiles(
      int64_t device_id, const std::vector<ReportItem>& items) override;
  absl::StatusOr<ChunkStatus> GetChunk(const std::string& id) override;
  absl::StatusOr<std::vector<int64_t>> MarkChunkStored(const std::string& id, uint32_t size,
                                                       uint64_t stored_size,
                                                       int64_t device_id) override;
  absl::StatusOr<std::vector<int64_t>> RecordChunkOwner(const std::string& id,
                                                        int64_t device_id) override;
  absl::StatusOr<std::vector<bool>> DeviceMayRead(int64_t device_id,
                                                  const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<bool>> ChunksStored(const std::vector<std::string>& ids) override;
  absl::StatusOr<VersionPage> ListVersions(int64_t device_id, const VersionQuery& q) override;

  // pg_destinations.cc
  absl::StatusOr<Destination> CreateDestination(const NewDestination& req) override;
  absl::StatusOr<std::vector<Destination>> ListDestinations() override;
  absl::StatusOr<uint64_t> BindFolder(const std::string& device, const std::string& folder,
                                      const std::string& destination, bool backfill) override;
  absl::StatusOr<Destination> UpdateDestination(
      const std::string& name, const std::function<absl::Status(Destination&)>& change,
      uint64_t* dead_jobs) override;
  absl::StatusOr<DestinationRemoval> RemoveDestination(const std::string& name,
                                                       bool force) override;
  absl::StatusOr<Destination> SetDestinationPaused(const std::string& name, bool paused) override;
  absl::StatusOr<DestinationCheckRow> EnqueueCheck(const std::string& name, bool write_probe,
                                                   uint32_t worker_stale_ms) override;
  absl::StatusOr<DestinationCheckRow> GetCheck(const std::string& name, int64_t job_id,
                                               uint32_t worker_stale_ms) override;
  absl::StatusOr<std::vector<BindingRow>> ListBindings(const std::string& device,
                                                       const std::string& destination) override;
  absl::StatusOr<uint64_t> UnbindFolder(const std::string& device, const std::string& folder,
                                        const std::string& destination) override;

  // pg_queue.cc
  absl::StatusOr<int64_t> RegisterWorker(const WorkerRegistration& reg) override;
  absl::StatusOr<int64_t> FindWorker(const std::string& name) override;
  absl::StatusOr<WorkerScope> GetWorkerScope(const std::string& name) override;
  absl::Status SetWorkerScope(const std::string& name, const WorkerScope& scope) override;
  absl::StatusOr<std::vector<LeasedJob>> LeaseJobs(const LeaseParams& p) override;
  absl::StatusOr<LeaseRenewal> RenewLease(int64_t job_id, const std::string& token,
                                          uint32_t lease_ms, int64_t worker_id) override;
  absl::Status CheckChunksLeased(int64_t worker_id, const std::vector<std::string>& ids) override;
  absl::Status CompleteJob(const JobCompletion& req) override;
  absl::StatusOr<std::vector<absl::Status>> CompleteJobs(
      const std::vector<JobCompletion>& batch) override;
  absl::Status SaveResumeState(int64_t job_id, const std::string& token, int64_t worker_id,
                               const std::string& state) override;
  absl::Status UpdateLeasedDestinationCredentials(int64_t job_id, const std::string& token,
                                                  int64_t worker_id, int64_t destination_id,
                                                  const std::string& sealed) override;
  absl::StatusOr<FailOutcome> FailJob(const FailParams& p) override;
  absl::StatusOr<SweepResult> Sweep(uint32_t max_attempts) override;
  absl::StatusOr<std::vector<JobRow>> ListJobs(const JobFilter& req,
                                               uint32_t worker_stale_ms) override;
  absl::StatusOr<uint64_t> CancelJobs(const JobSelection& sel) override;
  absl::StatusOr<uint64_t> RetryJobs(const JobSelection& sel) override;
  absl::StatusOr<uint64_t> SetJobPriority(const JobSelection& sel, int32_t priority) override;
  absl::StatusOr<std::vector<uint64_t>> JobCountsByState() override;

  // pg_status.cc
  absl::StatusOr<StatusSummary> GetStatus(uint32_t worker_stale_ms) override;

  // pg_audit.cc
  absl::Status Audit(const AuditEntry& e) override;
  absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) override;
  absl::StatusOr<int64_t> InsertAudit(const AuditEntry& e) override;
  absl::Status AddAuditCount(int64_t id, uint64_t n) override;
  absl::StatusOr<uint64_t> PruneAudit(uint32_t keep_days, uint64_t max_rows) override;

  // pg_identity.cc
  absl::Status CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                 const std::string& worker, int64_t expires_unix_ms) override;
  absl::StatusOr<std::string> ConsumeEnrollToken(const std::string& token_sha256,
                                                 const std::string& role,
                                                 const std::string& used_by,
                                                 const IssueForName& issue) override;
  absl::Status RecordCertificate(const CertificateRow& c) override;
  absl::StatusOr<CertificateRow> GetCertificate(const std::string& serial) override;
  absl::StatusOr<CertificateRow> RevokeCertificate(const std::string& serial) override;
  absl::StatusOr<uint64_t> RevokeIdentity(const std::string& role,
                                          const std::string& name) override;
  absl::StatusOr<std::vector<CertificateRow>> ListCertificates() override;

  absl::Status RunInTransaction(
      const char* what, const std::function<absl::Status(pqxx::transaction_base&)>& fn) override;

 private:
  absl::Status Run(const char* what, TxMode mode, const PgPool::TxFn& fn, bool idempotent = true) {
    return pool_.Run(what, mode, fn, idempotent);
  }
  // NOT_FOUND when the selector names a destination that does not exist.
  absl::Status CheckSelectorDestination(const JobSelection& sel);
  // Leases up to `limit` queued jobs of `dests` to the worker, with their
  // destinations and file versions filled in.
  absl::StatusOr<std::vector<LeasedJob>> LeaseFrom(Tx& tx, const LeaseParams& p,
                                                   const std::vector<int64_t>& dests,
                                                   uint32_t limit);

  PgPool pool_;
};

}  // namespace shoebox::coordinator::pg
