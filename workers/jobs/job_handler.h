// The job handler interface: the worker's runner (workers/worker.h) leases a
// job, renews its lease and reports the outcome; a JobHandler does the job's
// work. One handler class per job kind, each in its own file under
// workers/jobs/, registered in workers/jobs/registry.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/chunk_source.h"
#include "workers/connector.h"

namespace shoebox::worker {

// How a transfer listing is sent (WorkerService.ReportListing, issue 21
// slice 3): `cursor_only` asks for the cursor saved at the last run and
// sends nothing; `next_cursor` is saved with the listing; `changes_only`
// says the items are only what changed since the saved cursor.
struct ListingReport {
  bool cursor_only = false;
  std::string next_cursor{};
  bool changes_only = false;
};

// What the runner lends every job. Set up once and shared by the job threads
// (everything in it is thread-safe); it outlives every JobContext.
struct JobEnvironment {
  std::string worker_name;         // for logs
  ChunkFetcher* chunks = nullptr;  // verified plaintext chunks; borrowed
  // Opens a job's destination (workers/destination.h).
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const v1::Destination&)>
      open_destination;
  // The same with the connector's link back to the worker for this job
  // (workers/connector.h, ConnectorEnvironment); used instead when set.
  std::function<absl::StatusOr<std::unique_ptr<Connector>>(const v1::Destination&,
                                                           const ConnectorEnvironment&)>
      open_destination_with_env;
  // Issue 19, both through the coordinator under the job's lease (may be
  // empty): the destination's credentials sealed again
  // (WorkerService.UpdateDestinationCredentials), and the connector's
  // resume state (WorkerService.SaveResumeState).
  std::function<absl::Status(const v1::Job& job, const nlohmann::json& credentials)>
      store_credentials;
  std::function<absl::Status(const v1::Job& job, const std::string& state)> save_resume_state;
  // Issue 20: the album directory of a job's destination
  // (workers/remote_album_directory.h: the coordinator's catalog under the
  // job's lease); may be empty (a process-local directory is used then).
  std::function<std::shared_ptr<AlbumDirectory>(const v1::Job& job)> album_directory;
  // Hands one repaired chunk of `job` to the coordinator (WorkerService.RepairChunk).
  std::function<absl::Status(const v1::Job& job, const std::string& id, std::string data)>
      repair_chunk;
  // Wraps each upload's source (tests break uploads with it); may be empty.
  std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)> wrap_source;
  // Counts the bytes uploads read (metrics); may be null.
  std::atomic<uint64_t>* bytes_uploaded = nullptr;
  // Transfers (issue 21, workers/jobs/fetch.h), under the job's lease (may
  // be empty: the worker then runs no transfer jobs): the source's listing
  // (WorkerService.ReportListing), and one fetched item, its header and
  // then its bytes read from `src` (WorkerService.IngestItem).
  std::function<absl::StatusOr<v1::ReportListingResponse>(
      const v1::Job& job, const std::vector<RemoteObject>& items, const ListingReport& report)>
      report_listing;
  std::function<absl::StatusOr<v1::IngestItemResponse>(
      const v1::Job& job, const v1::IngestItemHeader& header, ByteSource* src)>
      ingest_item;
};

// One job's run: its destination, the chunks, cancellation and progress.
// Used by the job's thread only.
class JobContext {
 public:
  // `env`, `job` and `cancelled` are borrowed and outlive the context. The
  // runner sets `cancelled` when an admin cancels the job, the job loses its
  // lease, or the worker's shutdown grace period is over.
  JobContext(const JobEnvironment& env, const v1::Job& job, const std::atomic<bool>* cancelled);
  ~JobContext();
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  const std::string& worker_name() const { return env_.worker_name; }
  ChunkFetcher* chunks() const { return env_.chunks; }
  bool cancelled() const { return cancelled_->load(); }

  // The job's destination connector, opened at the first call and owned by
  // the context. Errors name the destination (workers/destination.h).
  absl::StatusOr<Connector*> Destination();

  // The source to hand a connector's Put: fails its reads with CANCELLED
  // once the job is cancelled (the upload stops at the next buffer) and
  // counts the bytes read. Marks the job as having uploaded.
  std::unique_ptr<ByteSource> UploadSource(std::unique_ptr<ByteSource> src);
  // True once UploadSource was called (bytes went to the destination).
  bool uploaded() const { return uploaded_; }

  // The resume state saved during an earlier attempt of this job ("" when
  // none), and a saver for PutRequest::save_resume_state (null when the
  // worker keeps none). A failed save is logged, not fatal: the upload goes
  // on, only a later resume may have to start over.
  const std::string& resume_state() const { return job_.resume_state(); }
  std::function<void(const std::string&)> ResumeStateSaver();

  // The album directory of the job's destination, made at the first call
  // and handed to its connector too (ConnectorEnvironment::albums): from
  // JobEnvironment::album_directory, else a process-local one.
  std::shared_ptr<AlbumDirectory> Albums();

  // Sends the plaintext of chunk `id` (32 raw bytes) to the coordinator,
  // which checks it against its ID before storing it.
  absl::Status RepairChunk(const std::string& id, std::string data);

  // Transfers (issue 21): JobEnvironment::report_listing / ingest_item for
  // this job; FAILED_PRECONDITION when the worker has none.
  absl::StatusOr<v1::ReportListingResponse> ReportListing(const std::vector<RemoteObject>& items,
                                                          const ListingReport& report = {});
  absl::StatusOr<v1::IngestItemResponse> IngestItem(v1::IngestItemHeader header, ByteSource* src);

 private:
  const JobEnvironment& env_;
  const v1::Job& job_;
  const std::atomic<bool>* const cancelled_;
  std::unique_ptr<Connector> destination_;
  std::shared_ptr<AlbumDirectory> albums_;
  bool uploaded_ = false;
};

class JobHandler {
 public:
  virtual ~JobHandler() = default;
  // Does the work of `job` and returns what to report with CompleteJob (the
  // runner fills in job ID and lease token). An error is reported with
  // FailJob, its code deciding about a retry (ClassifyForRetry,
  // workers/connector.h). Called from several job threads at once: a handler
  // keeps no per-job state outside `ctx`.
  virtual absl::StatusOr<v1::CompleteJobRequest> Run(const v1::Job& job, JobContext& ctx) = 0;
};

}  // namespace shoebox::worker
