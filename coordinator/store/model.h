// The coordinator's domain types: what the store interfaces
// (catalog_store.h, queue_store.h, destination_store.h, identity_store.h,
// status_store.h, verify_store.h) take and return. Plain structs, no protobuf: the domain
// classes and the service layer translate (coordinator/proto_convert.h).
//
// Enum values are the numbers stored in the database, which are also those
// of the shoebox.v1 enums of the same name (migrations.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/store/chunk_list_format.h"

namespace shoebox::coordinator {

enum class VersionState : int { kUnspecified = 0, kPendingChunks = 1, kComplete = 2 };

enum class JobKind : int {
  kUnspecified = 0,
  kDeliver = 1,
  kVerify = 2,
  kScrub = 3,
  kTransfer = 4,
  kSnapshot = 5,
  kCheck = 6,         // connection check of a destination (issue 16)
  kTransferList = 7,  // list a transfer's source (issue 21; kTransfer fetches one item)
};

enum class JobState : int {
  kUnspecified = 0,
  kQueued = 1,
  kLeased = 2,
  kDone = 3,
  kRetryWait = 4,  // failed, waiting for its next attempt
  kDead = 5,
  kCancelled = 6,
};

// --- devices, folders, files ---------------------------------------------

struct Folder {
  int64_t id = 0;
  std::string root;
};

// One chunk of a file (chunk_list_format.h).
using ChunkRefRow = ChunkRef;

// A watched folder the agent cannot read (HeartbeatRequest.folder_problems).
struct FolderProblem {
  std::string path;  // raw bytes
  std::string reason;
};

struct HeartbeatFacts {
  uint64_t files_pending = 0;
  uint64_t bytes_pending = 0;
  uint64_t upload_rate_bps = 0;
  bool paused = false;
  std::vector<FolderProblem> folder_problems;  // as of this heartbeat
};

// A current file version that holds a damaged chunk: the device is asked to
// report (and so upload) it again.
struct DamagedFile {
  std::string folder;  // root, raw bytes
  std::string path;    // raw bytes
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;
};

struct DeviceRow {
  int64_t id = 0;
  std::string name;
  std::string hostname;
  int64_t last_seen_unix_ms = 0;
  bool revoked = false;
  std::vector<std::string> folders;  // roots, raw bytes
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
  // Server-side imports (issue 21; agents send neither): the version's
  // albums (added to an unchanged version too) and its capture date (0: none).
  std::vector<std::string> albums;
  int64_t capture_ns = 0;
};

struct ReportOutcome {
  int64_t version_id = 0;  // 0 for a delete of an unknown file
  VersionState state = VersionState::kUnspecified;
  std::vector<std::string> missing;  // chunk IDs not yet stored
  // Chunk IDs stored but never uploaded or proven by this device (proof of
  // ownership, docs/security.md): the version waits for a proof of each.
  std::vector<std::string> unproven;
  // Not OK: this file was refused (nothing recorded); `message` names the
  // field relative to the file ("chunks[2].size: ...").
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  // The file's current version already had this size, mtime and SHA-256:
  // no new version was made.
  bool unchanged = false;
};

struct ChunkStatus {
  bool known = false;   // some report references it
  bool stored = false;  // its blob is in the chunk store
  uint32_t size = 0;
};

// Where a version's copy is: a delivery job of the version.
struct VersionCopy {
  std::string destination;
  std::string state;  // "pending", "in-flight", "delivered", "retrying", "dead", "cancelled"
  std::string remote_ref;
  int64_t finished_unix_ms = 0;
};

struct FileVersion {
  int64_t version_id = 0;
  std::string device;
  std::string folder;  // root, raw bytes
  std::string path;    // raw bytes
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;
  std::vector<ChunkRef> chunks;
  int64_t created_unix_ms = 0;
  int64_t deleted_unix_ms = 0;  // 0: not deleted
  VersionState state = VersionState::kUnspecified;
  uint32_t mode = 0;
  bool chunks_dropped = false;      // pass-through: chunks released (retention)
  std::vector<VersionCopy> copies;  // ListVersions only
};

// Which versions ListVersions returns (see ListVersionsRequest).
struct VersionQuery {
  std::string folder;      // empty: all folders
  std::string path;        // empty: all; else the file or the directory below it
  int64_t at_unix_ms = 0;  // 0: now
  bool all_versions = false;
  int64_t after_version_id = 0;
  uint32_t limit = 0;  // 0: 1000; at most 10000
};

struct VersionPage {
  std::vector<FileVersion> versions;
  int64_t next_after_version_id = 0;  // 0: no more
};

// --- destinations ------------------------------------------------------------

struct NewDestination {
  std::string name;
  std::string kind;
  std::string settings_json;  // empty: {}
  std::string sealed_credentials;
  std::string layout;
  uint32_t max_concurrency = 0;
};

struct Destination {
  int64_t id = 0;
  std::string name;
  std::string kind;
  std::string settings_json;
  std::string sealed_credentials;
  std::string layout;
  uint32_t max_concurrency = 0;
  int64_t paused_unix_ms = 0;  // 0: not paused
  // The latest connection check (ListDestinations only; kUnspecified: none).
  JobState last_check_state = JobState::kUnspecified;
  std::string last_check_detail;
  int64_t last_check_unix_ms = 0;
};

// What removing a destination did (DestinationStore::RemoveDestination).
struct DestinationRemoval {
  uint64_t jobs_cancelled = 0;
  uint64_t bindings_removed = 0;
  uint64_t delivered_copies = 0;
  bool purged = false;  // nothing referred to it: the row was deleted
};

// A connection check job (JobKind::kCheck) and its outcome.
struct DestinationCheckRow {
  int64_t job_id = 0;
  std::string destination;
  JobState state = JobState::kUnspecified;
  std::string detail;  // done: what was checked
  std::string error;   // dead: why it failed
  int64_t created_unix_ms = 0;
  int64_t workers_serving = 0;
};

struct BindingRow {
  std::string device;
  std::string folder;  // empty: the whole device
  std::string destination;
  int64_t created_unix_ms = 0;
};

// --- job queue ---------------------------------------------------------------

struct WorkerRegistration {
  std::string name;
  std::vector<std::string> kinds;
  std::vector<std::string> destinations;
  uint32_t max_concurrency = 0;
  std::string version;
};

// What the admin allows a worker to serve (issue 17): destination kinds and
// names; nullopt = any. Recorded by `shoebox enroll-token --worker` and
// `shoebox worker scope`; RegisterWorker's request is intersected with it
// and LeaseJobs checks it again at every lease.
struct WorkerScope {
  std::optional<std::vector<std::string>> kinds;
  std::optional<std::vector<std::string>> destinations;
};

struct LeaseParams {
  int64_t worker_id = 0;
  uint32_t max_jobs = 1;
  uint32_t lease_ms = 60000;
  uint32_t auth_probe_interval_ms = 300000;
  uint32_t worker_stale_ms = 120000;
};

struct LeasedJob {
  int64_t job_id = 0;
  JobKind kind = JobKind::kUnspecified;
  std::string lease_token;
  int64_t lease_deadline_unix_ms = 0;
  uint32_t attempt = 0;
  Destination destination;
  FileVersion file;  // version_id 0: the job has no file (snapshot copies)
  std::string remote_ref;
  // Verify jobs: chunks of `file` recorded damaged that this job repairs
  // (JobQueue fills them from VerifyStore::OpenDamageAmong).
  std::vector<std::string> repair_chunk_ids;
  // The connector's resume state saved during an earlier attempt (issue 19).
  std::string resume_state;
  // The version's albums, sorted, and capture date (0: none) (issue 21).
  std::vector<std::string> albums;
  int64_t capture_ns = 0;
  // Transfer jobs (issue 21): the transfer's name; fetches: the item as
  // listed (remote_ref is its path).
  std::string transfer;
  uint64_t transfer_size = 0;
  int64_t transfer_mtime_ns = 0;
};

struct LeaseRenewal {
  int64_t lease_deadline_unix_ms = 0;
  bool cancelled = false;  // an admin cancelled the job: stop
};

struct JobCompletion {
  int64_t job_id = 0;
  // The caller; it must be the lease's owner (PERMISSION_DENIED otherwise).
  int64_t worker_id = 0;
  std::string lease_token;
  std::string remote_ref;
  uint64_t remote_size = 0;
  std::string remote_checksum;
  bool verified_ok = false;  // verify jobs: the remote copy is right
};

struct FailParams {
  int64_t job_id = 0;
  // The caller; it must be the lease's owner (PERMISSION_DENIED otherwise).
  int64_t worker_id = 0;
  std::string lease_token;
  bool retryable = true;
  std::string error;
  uint32_t retry_after_ms = 0;
  bool auth_failure = false;
  // The job never reached the worker (it hung up as the lease was taken):
  // straight back to the queue, the attempt not counted.
  bool not_started = false;
  // The service throttled (429/503 + Retry-After): waits, uncounted.
  bool throttled = false;
  uint32_t max_attempts = 8;
  uint32_t backoff_base_ms = 2000;
  uint32_t backoff_max_ms = 900000;
};

struct FailOutcome {
  JobState state = JobState::kUnspecified;
  int64_t next_attempt_unix_ms = 0;  // kRetryWait only
};

struct SweepResult {
  uint64_t requeued = 0;   // expired leases back in the queue
  uint64_t dead = 0;       // expired leases on their last attempt
  uint64_t retry_due = 0;  // backoff over, queued again
};

// Jobs an admin lists: empty fields do not filter.
struct JobFilter {
  std::vector<JobState> states;
  std::string destination;
  uint32_t limit = 0;        // 0: 1000; at most 100000
  int64_t after_job_id = 0;  // keyset pagination: only larger IDs
};

// Jobs an admin acts on: empty fields do not filter.
struct JobSelection {
  std::vector<int64_t> job_ids;
  std::string destination;
  std::vector<JobState> states;
};

struct JobRow {
  int64_t job_id = 0;
  JobKind kind = JobKind::kUnspecified;
  JobState state = JobState::kUnspecified;
  std::string destination;
  std::string device;
  std::string path;  // raw bytes; empty for jobs without a file
  uint32_t attempts = 0;
  std::string last_error;
  int64_t next_attempt_unix_ms = 0;
  int64_t created_unix_ms = 0;
  int32_t priority = 0;
  std::string waiting_reason;
};

// --- status ------------------------------------------------------------------

struct DeliveryCounts {
  uint64_t pending_files = 0, pending_bytes = 0;
  uint64_t in_flight_files = 0, in_flight_bytes = 0;
  uint64_t delivered_files = 0, delivered_bytes = 0;
  uint64_t failed_files = 0, failed_bytes = 0;
  uint64_t dead_files = 0, dead_bytes = 0;
};

struct DeviceStatus {
  std::string name;
  int64_t last_seen_unix_ms = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t files_awaiting_chunks = 0;
  DeliveryCounts deliveries;
  uint64_t agent_files_pending = 0;
  uint64_t agent_bytes_pending = 0;
  uint64_t agent_upload_rate_bps = 0;
  bool revoked = false;
  uint64_t bindings = 0;  // whole-device and folder bindings
  // Folders the agent reported it cannot read, printable ("PATH: REASON").
  std::vector<std::string> folder_problems;
};

struct DestinationStatus {
  std::string name;
  std::string kind;
  DeliveryCounts deliveries;
  int64_t oldest_pending_unix_ms = 0;
  std::string oldest_pending_reason;
  std::string health;  // empty: fine
  int64_t workers_serving = 0;
  int64_t last_verified_unix_ms = 0;
  std::string last_dead_error;  // of the most recent dead delivery ("" none)
};

// Something the admin should act on (StatusResponse.problems).
struct StatusProblem {
  std::string kind;
  std::string device;
  std::string destination;
  std::string message;
};

struct StatusSummary {
  std::vector<DeviceStatus> devices;            // by name
  std::vector<DestinationStatus> destinations;  // by ID
  uint64_t chunks_stored = 0;
  uint64_t chunk_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t duplicate_files = 0;
  std::vector<StatusProblem> problems;  // filled by StatusProblems()
  // The database's clock when the summary was read (Unix ms; 0 unknown):
  // last_seen and the other times above are the database's now(), so ages
  // are measured against it, not the coordinator's clock (which may be
  // hours off: issue 18, a clock that jumps).
  int64_t now_unix_ms = 0;
};

// --- verification (verify_store.h) -----------------------------------------

// A stored chunk a scrub reads.
struct ScrubItem {
  std::string id;  // 32 bytes
  uint32_t size = 0;
};

// A version that contains a damaged chunk.
struct AffectedFile {
  int64_t version_id = 0;
  std::string device;
  std::string folder;  // root, raw bytes
  std::string path;    // raw bytes
  // Destinations holding a delivered copy of this version (repair sources).
  std::vector<std::string> destinations;
};

// An open damage: a chunk found missing or corrupt and not repaired yet.
struct DamagedChunk {
  std::string id;  // 32 bytes
  std::string error;
  int64_t found_unix_ms = 0;
  // A destination holds a whole file containing the chunk (a repair job is
  // or can be queued); false: nothing can repair it now.
  bool repair_queued = false;
  std::vector<AffectedFile> files;
};

// What a verify run recorded in verify_runs when it finished.
struct VerifyRunResult {
  uint64_t chunks_scrubbed = 0;
  uint64_t chunks_bad = 0;
  uint64_t remote_checks_queued = 0;
  uint64_t repairs_queued = 0;
  uint64_t test_restored_files = 0;
  uint64_t test_restore_failed = 0;
  uint64_t unrepairable_files = 0;
};

// Copies per current file, open damage and the last clean run (the
// verification part of the admin status).
struct CopySummary {
  uint64_t files_with_1_copy = 0;    // at least 1
  uint64_t files_with_2_copies = 0;  // at least 2
  uint64_t files_with_3_copies = 0;  // at least 3
  uint64_t files_with_no_copy = 0;
  uint64_t damaged_chunks = 0;
  int64_t last_verify_unix_ms = 0;  // 0: never
};

// --- identity ----------------------------------------------------------------

struct CertificateRow {
  std::string serial;
  std::string role;  // "device", "worker", "admin"
  std::string name;
  std::string fingerprint;
  int64_t issued_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  int64_t revoked_unix_ms = 0;  // 0: not revoked
};

struct AuditEntry {
  std::string actor_kind;  // "device", "worker", "admin", "anonymous"
  std::string actor;
  std::string action;  // RPC method
  std::string target;
  bool allowed = true;
  std::string detail;
  // Identical refusals aggregated into this row (Authenticator::AuditRefusal).
  uint64_t count = 1;
};

}  // namespace shoebox::coordinator
