// In-memory fakes of the narrow store interfaces, for unit tests of the
// domain classes (Catalog, JobQueue, Admin, Verifier) without PostgreSQL.
// They keep the contracts the domain classes rely on (NOT_FOUND /
// FAILED_PRECONDITION cases, lease tokens, missing chunks, completion when
// the last chunk is stored), not the SQL: retention, priorities across
// destinations, deliveries and the waiting reasons are the PostgreSQL tests'
// business (tests/coordinator/).
//
// Thread-safe (one mutex each). Test code may also read and change their
// state through the accessors below.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/chunkstore/chunkstore.h"
#include "coordinator/store/catalog_store.h"
#include "coordinator/store/destination_store.h"
#include "coordinator/store/identity_store.h"
#include "coordinator/store/queue_store.h"
#include "coordinator/store/retention_store.h"
#include "coordinator/store/snapshot_store.h"
#include "coordinator/store/status_store.h"
#include "coordinator/store/verify_store.h"

namespace shoebox::coordinator {

class FakeCatalogStore final : public CatalogStore {
 public:
  absl::StatusOr<int64_t> UpsertDevice(const std::string& name, const std::string& hostname,
                                       const std::string& agent_version,
                                       const std::vector<std::string>& folders) override;
  absl::StatusOr<int64_t> FindDevice(const std::string& name) override;
  absl::Status RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) override;
  absl::StatusOr<std::vector<Folder>> ListFolders(int64_t device_id) override;
  absl::StatusOr<std::vector<DamagedFile>> DamagedFilesOf(int64_t device_id,
                                                          uint32_t limit) override;
  absl::StatusOr<std::vector<DeviceRow>> ListDevices() override;
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
  // Current or all versions of the device, filtered by folder, path (the
  // file or below it) and after_version_id; at_unix_ms is not modelled.
  absl::StatusOr<VersionPage> ListVersions(int64_t device_id, const VersionQuery& q) override;

  // --- test access ---
  // The files DamagedFilesOf returns for a device.
  void SetDamagedFiles(int64_t device_id, std::vector<DamagedFile> files);
  // The last heartbeat of a device (zeroes when none).
  HeartbeatFacts LastHeartbeat(int64_t device_id);
  // Marks a chunk not stored (as verification does when it finds damage).
  void MarkChunkLost(const std::string& id);
  // The version with this ID (version_id 0 when unknown).
  FileVersion Version(int64_t version_id);
  // Calls of ReportFiles so far.
  int report_calls();

 private:
  struct Chunk {
    uint32_t size = 0;
    bool stored = false;
    int64_t refcount = 0;
  };
  struct StoredVersion {
    FileVersion v;
    int64_t device_id = 0;
    int64_t folder_id = 0;
    std::set<std::string> missing;
  };

  std::vector<int64_t> CompleteWaitingFor(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, DeviceRow> devices_ ABSL_GUARDED_BY(mu_);        // by name
  std::map<int64_t, std::vector<Folder>> folders_ ABSL_GUARDED_BY(mu_);  // by device
  std::map<int64_t, HeartbeatFacts> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::vector<DamagedFile>> damaged_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Chunk> chunks_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, std::string>> device_chunks_ ABSL_GUARDED_BY(mu_);
  // (folder, path) → current version ID.
  std::map<std::pair<int64_t, std::string>, int64_t> files_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, StoredVersion> versions_ ABSL_GUARDED_BY(mu_);
  int report_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class FakeQueueStore final : public QueueStore {
 public:
  absl::StatusOr<int64_t> RegisterWorker(const WorkerRegistration& reg) override;
  absl::StatusOr<int64_t> FindWorker(const std::string& name) override;
  absl::StatusOr<WorkerScope> GetWorkerScope(const std::string& name) override;
  absl::Status SetWorkerScope(const std::string& name, const WorkerScope& scope) override;
  // Queued jobs by priority (highest first), then ID; at most max_jobs
  // (kinds and scopes are not modelled).
  absl::StatusOr<std::vector<LeasedJob>> LeaseJobs(const LeaseParams& p) override;
  absl::StatusOr<LeaseRenewal> RenewLease(int64_t job_id, const std::string& token,
                                          uint32_t lease_ms, int64_t worker_id) override;
  absl::Status CheckChunksLeased(int64_t worker_id, const std::vector<std::string>& ids) override;
  absl::Status CompleteJob(const JobCompletion& c) override;
  absl::Status SaveResumeState(int64_t job_id, const std::string& token, int64_t worker_id,
                               const std::string& state) override;
  absl::Status UpdateLeasedDestinationCredentials(int64_t job_id, const std::string& token,
                                                  int64_t worker_id, int64_t destination_id,
                                                  const std::string& sealed) override;
  // Retry waits base_ms (or retry_after_ms); no jitter.
  absl::StatusOr<FailOutcome> FailJob(const FailParams& p) override;
  // Leases past the fake clock's now go back (or die); waits that are over
  // are queued again.
  absl::StatusOr<SweepResult> Sweep(uint32_t max_attempts) override;
  absl::StatusOr<std::vector<JobRow>> ListJobs(const JobFilter& f,
                                               uint32_t worker_stale_ms) override;
  absl::StatusOr<uint64_t> CancelJobs(const JobSelection& sel) override;
  absl::StatusOr<uint64_t> RetryJobs(const JobSelection& sel) override;
  absl::StatusOr<uint64_t> SetJobPriority(const JobSelection& sel, int32_t priority) override;
  absl::StatusOr<std::vector<uint64_t>> JobCountsByState() override;

  // --- test access ---
  // Queues a job (job_id assigned when 0); returns its ID.
  int64_t AddJob(LeasedJob job, int32_t priority = 0);
  struct JobView {
    JobState state = JobState::kUnspecified;
    uint32_t attempts = 0;
    std::string last_error;
    std::string lease_token;
    int32_t priority = 0;
    JobCompletion completion;  // the last CompleteJob
  };
  JobView Job(int64_t job_id);
  // The fake clock (Unix ms) used for lease deadlines and retries.
  void SetNowMs(int64_t now_ms);
  // The selections the admin calls passed (CancelJobs, RetryJobs, SetJobPriority).
  std::vector<JobSelection> selections();
  // Sealed credentials stored by UpdateLeasedDestinationCredentials, by
  // destination ID.
  std::map<int64_t, std::string> updated_credentials();

 private:
  struct QueuedJob {
    LeasedJob job;
    int64_t owner = 0;  // the worker that leased it last
    JobState state = JobState::kQueued;
    int32_t priority = 0;
    std::string last_error;
    int64_t next_attempt_ms = 0;
    JobCompletion completion;
  };
  static bool Selected(const JobSelection& sel, int64_t id, const QueuedJob& j);

  absl::Mutex mu_;
  int64_t now_ms_ ABSL_GUARDED_BY(mu_) = 1'000'000;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, int64_t> workers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WorkerScope> scopes_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, QueuedJob> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<JobSelection> selections_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::string> updated_credentials_ ABSL_GUARDED_BY(mu_);
};

class FakeDestinationStore final : public DestinationStore {
 public:
  absl::StatusOr<Destination> CreateDestination(const NewDestination& d) override;
  absl::StatusOr<std::vector<Destination>> ListDestinations() override;
  // NOT_FOUND for an unknown destination; returns backfill ? backfill_jobs : 0.
  absl::StatusOr<uint64_t> BindFolder(const std::string& device, const std::string& folder,
                                      const std::string& destination, bool backfill) override;
  // fake_destination_store.cc: the day-two calls. Jobs are not modelled:
  // RemoveDestination refuses while set_leased_jobs() says some run,
  // renames the destination "NAME~ID" when it was ever bound (else purges
  // it); checks stay queued until FinishCheck.
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

  struct Binding {
    std::string device, folder, destination;
    bool backfill = false;
  };
  std::vector<Binding> bindings();
  void set_backfill_jobs(uint64_t n);
  void set_leased_jobs(uint64_t n);
  // Ends check `job_id`: DONE with `text` as detail, or DEAD with it as error.
  void FinishCheck(int64_t job_id, bool ok, const std::string& text);
  // The remote_ref the last queued check carries ("write" or "read").
  std::string last_check_mode();

 private:
  absl::StatusOr<Destination*> Live(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, Destination> destinations_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> removed_ ABSL_GUARDED_BY(mu_);
  std::vector<Binding> bindings_ ABSL_GUARDED_BY(mu_);
  std::vector<DestinationCheckRow> checks_ ABSL_GUARDED_BY(mu_);
  std::string last_check_mode_ ABSL_GUARDED_BY(mu_);
  uint64_t backfill_jobs_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t leased_jobs_ ABSL_GUARDED_BY(mu_) = 0;
};

class FakeIdentityStore final : public IdentityStore {
 public:
  absl::Status Audit(const AuditEntry& e) override;
  absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) override;
  absl::StatusOr<int64_t> InsertAudit(const AuditEntry& e) override;
  absl::Status AddAuditCount(int64_t id, uint64_t n) override;
  absl::StatusOr<uint64_t> PruneAudit(uint32_t keep_days, uint64_t max_rows) override;
  absl::Status CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                 const std::string& worker, int64_t expires_unix_ms) override;
  // Expiry is checked against the fake clock (SetNowMs).
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

  void SetNowMs(int64_t now_ms);

 private:
  struct Token {
    std::string device, worker, used_by;
    int64_t expires_ms = 0;
    bool used = false;
  };
  absl::Mutex mu_;
  int64_t now_ms_ ABSL_GUARDED_BY(mu_) = 1'000'000;
  std::vector<AuditEntry> audit_ ABSL_GUARDED_BY(mu_);  // oldest first
  std::map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, CertificateRow> certs_ ABSL_GUARDED_BY(mu_);  // by serial
};

class FakeStatusStore final : public StatusStore {
 public:
  absl::StatusOr<StatusSummary> GetStatus(uint32_t worker_stale_ms) override;
  void set_summary(StatusSummary s);
  uint32_t last_worker_stale_ms();

 private:
  absl::Mutex mu_;
  StatusSummary summary_ ABSL_GUARDED_BY(mu_);
  uint32_t last_worker_stale_ms_ ABSL_GUARDED_BY(mu_) = 0;
};

// Verification state in memory: the chunks a scrub reads, the damage
// recorded, the runs. OpenDamage reports each open damage without files or
// copies (repair_queued false); OpenDamageAmong names the IDs with an open
// damage.
class FakeVerifyStore final : public VerifyStore {
 public:
  absl::StatusOr<uint64_t> CountStoredChunks() override;
  absl::StatusOr<std::vector<ScrubItem>> NextScrubBatch(uint32_t limit) override;
  absl::Status MarkScrubbed(const std::vector<std::string>& ids) override;
  absl::Status RecordDamage(const std::string& id, const std::string& error) override;
  absl::Status MarkRepaired(const std::string& id, const std::string& by) override;
  absl::StatusOr<std::vector<DamagedChunk>> OpenDamage(bool queue_repairs,
                                                       uint64_t* repairs_queued) override;
  absl::StatusOr<uint64_t> QueueRemoteChecks(const std::string& destination,
                                             double percent) override;
  absl::StatusOr<std::vector<FileVersion>> SampleCurrentVersions(uint32_t n) override;
  absl::StatusOr<int64_t> StartRun(const std::string& trigger, double scrub_percent) override;
  absl::StatusOr<int64_t> ClaimScheduledRun(uint64_t interval_ms, double scrub_percent) override;
  absl::Status FinishRun(int64_t run_id, const VerifyRunResult& r,
                         const std::string& error) override;
  absl::StatusOr<std::set<std::string>> OpenDamageAmong(
      const std::vector<std::string>& chunk_ids) override;
  // OK when (job, token) was allowed with AllowRepair, else FAILED_PRECONDITION.
  absl::Status CheckRepairLease(int64_t job_id, const std::string& token,
                                const std::string& chunk_id, const std::string& worker) override;
  // damaged_chunks: the number of open damages; the rest 0.
  absl::StatusOr<CopySummary> GetCopySummary() override;

  // --- test access ---
  // A stored chunk the scrub will read (scrubbed longest ago first: in
  // insertion order, then after MarkScrubbed at the back).
  void AddStoredChunk(const std::string& id, uint32_t size);
  void AllowRepair(int64_t job_id, const std::string& token);
  // A version SampleCurrentVersions returns (test restores rebuild it).
  void AddSample(const FileVersion& v);
  std::map<std::string, std::string> open_damage();  // id → error
  std::set<std::string> repaired();
  std::vector<std::string> scrubbed();  // every MarkScrubbed ID, in order
  struct Run {
    std::string trigger;
    bool finished = false;
    std::string error;
    VerifyRunResult result;
  };
  std::map<int64_t, Run> runs();

 private:
  absl::Mutex mu_;
  std::vector<ScrubItem> scrub_queue_ ABSL_GUARDED_BY(mu_);  // next first
  std::map<std::string, std::string> damage_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> repaired_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> scrubbed_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, std::string>> repair_leases_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, Run> runs_ ABSL_GUARDED_BY(mu_);
  int64_t next_run_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<FileVersion> samples_ ABSL_GUARDED_BY(mu_);
};

// Chunk blobs in memory (a ChunkStore for Catalog and Verifier tests).
class FakeChunkStore final : public ChunkStore {
 public:
  absl::Status Put(const ChunkId& id, std::string_view blob) override;
  absl::StatusOr<std::string> Get(const ChunkId& id) override;
  absl::StatusOr<bool> Has(const ChunkId& id) override;
  absl::Status Delete(const ChunkId& id) override;
  absl::StatusOr<uint64_t> Stat(const ChunkId& id) override;
  absl::Status List(const std::function<absl::Status(const ChunkId&)>& fn) override;
  std::string Describe() const override { return "memory"; }
  absl::Status PutNamed(const std::string& name, std::string_view bytes) override;
  absl::StatusOr<std::string> GetNamed(const std::string& name) override;
  absl::Status DeleteNamed(const std::string& name) override;
  absl::Status ListNamed(
      const std::string& prefix,
      const std::function<absl::Status(const std::string& name, uint64_t size)>& fn) override;

  // Replaces a stored blob's bytes (to make it corrupt).
  void Overwrite(const ChunkId& id, std::string blob);
  // From now on Delete fails with UNAVAILABLE (and deletes nothing).
  void FailDeletes(bool fail);
  size_t size();

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> blobs_ ABSL_GUARDED_BY(mu_);  // by DigestToString(id)
  std::map<std::string, std::string> named_ ABSL_GUARDED_BY(mu_);
  bool fail_deletes_ ABSL_GUARDED_BY(mu_) = false;
};

// Retention rows in memory: folders and their policies, files, versions
// with their chunk lists, jobs (leased or not), chunks with reference counts
// and a clock the test sets. The methods follow the contracts of
// retention_store.h the way PgRetentionStore does (a dry run changes
// nothing); no locking subtleties, one mutex.
class FakeRetentionStore final : public RetentionStore {
 public:
  absl::StatusOr<std::vector<FolderPolicy>> ListPolicies(const std::string& device,
                                                         const std::string& folder) override;
  absl::StatusOr<std::vector<FolderPolicy>> UpdatePolicies(
      const std::string& device, const std::string& folder, bool reset,
      const std::function<absl::Status(RetentionPolicy*)>& update) override;
  absl::StatusOr<std::map<int64_t, RetentionPolicy>> AllPolicies() override;
  absl::StatusOr<PruneBatch> ReleasePassThrough(int64_t after_version_id, uint32_t limit,
                                                bool dry_run) override;
  absl::StatusOr<PruneBatch> PruneVersions(int64_t after_file_id, uint32_t limit,
                                           const RetentionDecider& decide, bool dry_run,
                                           const std::vector<int64_t>& skip_decrement) override;
  absl::StatusOr<std::vector<std::string>> MarkCollectable(const std::string& after, uint32_t limit,
                                                           uint32_t grace_s) override;
  absl::StatusOr<std::vector<DeletedChunk>> DeleteCollectable(
      const std::vector<std::string>& ids,
      const std::function<std::vector<std::string>(const std::vector<std::string>&)>& delete_blobs)
      override;
  absl::StatusOr<uint64_t> CountInGrace(uint32_t grace_s) override;
  absl::StatusOr<ChunkForecast> CollectableNow(uint32_t grace_s) override;
  absl::StatusOr<ChunkForecast> WouldUnreference(
      const std::map<std::string, int64_t>& refs) override;
  absl::StatusOr<bool> ClaimScheduledRun(const std::string& name, uint32_t interval_s) override;

  // --- test access ---
  int64_t AddFolder(const std::string& device, const std::string& root);
  void SetPolicy(int64_t folder_id, const RetentionPolicy& p);
  // A complete (or pending) version of folder/path created at
  // `created_unix_ms`, now the file's current version. Each chunk gains a
  // reference (created stored, `chunk_size` bytes). Returns its ID.
  int64_t AddVersion(int64_t folder_id, const std::string& path, int64_t created_unix_ms,
                     const std::vector<std::string>& chunks, bool complete = true,
                     uint32_t chunk_size = 100);
  // The file's current version (`version_id`) was reported deleted.
  void MarkDeleted(int64_t version_id, int64_t deleted_unix_ms);
  // A delivery job of the version; `leased`: a worker holds it now.
  void AddJob(int64_t version_id, bool leased);
  // Every bound destination has the version (pass-through may release it).
  void MarkDeliveredEverywhere(int64_t version_id);
  void SetNow(int64_t unix_ms);

  bool HasVersion(int64_t version_id);
  int64_t CurrentVersion(int64_t folder_id, const std::string& path);  // 0: none
  bool HasChunk(const std::string& id);
  int64_t Refcount(const std::string& id);  // -1: no such chunk
  size_t JobCount();
  // Mutating calls in order: "release", "prune", "mark", "delete".
  std::vector<std::string> calls();

 private:
  struct Version {
    int64_t file_id = 0;
    int64_t created_unix_ms = 0;
    bool complete = true;
    int64_t deleted_unix_ms = 0;
    uint64_t size = 0;
    std::vector<std::string> chunks;
    bool chunks_dropped = false;
    bool delivered_everywhere = false;
  };
  struct File {
    int64_t folder_id = 0;
    std::string path;
    int64_t current_version_id = 0;
  };
  struct Chunk {
    int64_t refcount = 0;
    int64_t unreferenced_unix_ms = -1;  // -1: not set
    bool stored = true;
    uint64_t size = 0;
    uint64_t stored_size = 0;
  };
  struct Job {
    int64_t version_id = 0;
    bool leased = false;
  };
  struct State {
    std::map<int64_t, FolderPolicy> folders;  // by folder_id; is_default: no policy row
    std::map<int64_t, File> files;
    std::map<int64_t, Version> versions;
    std::map<std::string, Chunk> chunks;
    std::map<int64_t, Job> jobs;
    std::map<std::string, int64_t> runs;  // name → last run (unix ms)
  };
  // Drops references; returns how many chunks reached 0.
  uint64_t DropRefs(State& st, const std::map<std::string, int64_t>& refs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  State st_ ABSL_GUARDED_BY(mu_);
  int64_t now_ms_ ABSL_GUARDED_BY(mu_) = 1'000'000'000'000;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

// Snapshot copy requests in memory.
class FakeSnapshotStore final : public SnapshotStore {
 public:
  // Records the request; returns 2 (two destinations) or the error set.
  absl::StatusOr<uint64_t> QueueSnapshotCopies(const std::string& name, uint32_t keep) override;

  void set_error(absl::Status st);
  std::vector<std::pair<std::string, uint32_t>> requests();  // (name, keep), in order

 private:
  absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, uint32_t>> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shoebox::coordinator
