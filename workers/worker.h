// The worker runtime: registers with the coordinator, leases jobs, renews
// leases while working, and runs deliver / verify / scrub jobs through the
// connectors.
//
// Threads: Run() starts `concurrency` job threads; each leases one job at a
// time (long poll), runs it with a lease-renewal thread beside it, and
// reports the outcome. Stop() (from a signal-watching thread) makes the job
// threads stop leasing; current jobs get `shutdown_grace` to finish, after
// which their uploads are cancelled and the jobs are handed back with
// FailJob(retryable, "worker shutting down").
//
// Delivery is idempotent: the remote name is deterministic (layout +
// collision suffix), and a Stat before the upload completes the job without
// uploading when the same content is already there.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "nlohmann/json.hpp"
#include "shoebox/v1/worker.grpc.pb.h"
#include "workers/chunk_source.h"
#include "workers/connector.h"

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
};

// Reads a worker.toml ([worker] table; keys in docs/destinations.md).
absl::StatusOr<WorkerOptions> LoadWorkerConfig(const std::string& path);

// Opens a destination's sealed credentials (bytes from the Destination
// message, its name as context) into a JSON object.
using CredentialOpener =
    std::function<absl::StatusOr<nlohmann::json>(const std::string& sealed, const std::string& destination)>;
// The standard opener: common/crypto/sealbox.h with the pool key pair file.
absl::StatusOr<CredentialOpener> MakeSealBoxOpener(const std::string& pool_key_file);

struct JobOutcome {
  bool completed = false;  // CompleteJob was accepted
  bool uploaded = false;   // bytes went to the destination (false: already there)
  std::string remote_ref;
  absl::Status error;  // when !completed: what was reported with FailJob
};

class Worker {
 public:
  // `chunks` fetches verified plaintext chunks (store or coordinator);
  // borrowed, must outlive the worker. `open_credentials` may be null when
  // no destination has sealed credentials.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options,
                                                        std::shared_ptr<grpc::Channel> channel,
                                                        ChunkFetcher* chunks,
                                                        CredentialOpener open_credentials);
  ~Worker();

  // Registers and runs the job threads until Stop(); then drains and returns.
  absl::Status Run();
  // Asks Run() to stop (thread-safe, returns at once).
  void Stop();

  // One lease + run cycle on the calling thread (tests): leases at most one
  // job, waiting up to `wait`. NOT_FOUND when no job came.
  absl::StatusOr<JobOutcome> RunOnce(absl::Duration wait);
  absl::Status Register();

  // Counters for metrics and tests.
  uint64_t jobs_done() const { return jobs_done_; }
  uint64_t jobs_failed() const { return jobs_failed_; }
  uint64_t bytes_uploaded() const { return bytes_uploaded_; }

  // Wraps each delivery's source (tests use it to break an upload midway).
  void SetSourceWrapperForTest(
      std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)> wrap) {
    wrap_source_ = std::move(wrap);
  }

 private:
  Worker(WorkerOptions options, std::shared_ptr<grpc::Channel> channel, ChunkFetcher* chunks,
         CredentialOpener open_credentials);
  void JobThread();
  JobOutcome Process(const v1::Job& job);
  // The job's work; returns the CompleteJob request on success.
  absl::StatusOr<v1::CompleteJobRequest> Execute(const v1::Job& job, std::atomic<bool>* cancelled,
                                                 bool* uploaded);
  absl::StatusOr<v1::CompleteJobRequest> Deliver(const v1::Job& job, Connector* conn,
                                                 std::atomic<bool>* cancelled, bool* uploaded);
  absl::StatusOr<v1::CompleteJobRequest> Verify(const v1::Job& job, Connector* conn);
  absl::StatusOr<v1::CompleteJobRequest> Scrub(const v1::Job& job);
  absl::StatusOr<std::unique_ptr<Connector>> ConnectorFor(const v1::Destination& d);
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline) const;

  const WorkerOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::WorkerService::Stub> stub_;
  ChunkFetcher* const chunks_;
  const CredentialOpener open_credentials_;
  std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)> wrap_source_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};  // grace period over: cancel uploads
  std::atomic<uint32_t> lease_ms_{30000};
  std::atomic<uint64_t> jobs_done_{0}, jobs_failed_{0}, bytes_uploaded_{0};
  std::atomic<int> active_jobs_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<grpc::ClientContext*> lease_ctxs_;  // guarded by mu_: long polls to cancel on Stop()
};

// A chunk fetcher that reads sealed blobs through WorkerService.ReadChunks
// and opens them with the data key.
std::unique_ptr<ChunkFetcher> MakeCoordinatorFetcher(std::shared_ptr<grpc::Channel> channel,
                                                     const std::string& worker_name, bool insecure_dev,
                                                     const Key256& data_key, absl::Duration deadline);

// Channel to the coordinator from the options (mTLS or dev plain text).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeCoordinatorChannel(const WorkerOptions& options);

}  // namespace shoebox::worker
