// Verification and repair (issue 7; docs/verify.md) as a plain class:
//
//  - scrub: re-read stored chunk blobs from the chunk store, open them
//    (AES-256-GCM, chunk ID as associated data) and check the plaintext
//    against the chunk ID (HMAC). A percentage per run, chunks checked
//    longest ago first, so repeated runs cover everything.
//  - remote check: queue one JOB_KIND_VERIFY job per delivered copy; a
//    worker asks the destination (Connector::Stat) for name, size and,
//    where the service has one, checksum. A missing or wrong copy is
//    delivered again (in the same transaction as the verify job's
//    completion, Store::CompleteJob).
//  - test restore: rebuild a sample of files from the chunk store into a
//    scratch directory and compare their SHA-256 with the catalog.
//  - repair: a damaged chunk is marked not stored and recorded; every
//    destination holding a delivered file that contains it gets a repair
//    job (a verify job whose lease lists the damaged chunks); the worker
//    fetches the whole file, cuts the chunks out and sends them back with
//    WorkerService.RepairChunk, where the ID check proves them right.
//
// Thread-safe. Run() blocks for the whole run (admin RPC or the schedule
// thread).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/catalog.h"
#include "coordinator/options.h"
#include "coordinator/store/verify_store.h"
#include "shoebox/v1/admin.pb.h"
#include "shoebox/v1/worker.pb.h"

namespace shoebox::coordinator {

class Verifier {
 public:
  // Borrows everything; all must outlive the verifier.
  Verifier(VerifyStore* store, SealedChunkStore* chunks, const DerivedKeys& keys, Catalog* catalog,
           const VerifyOptions& options);
  ~Verifier();

  // One run: scrub, test restore, repairs, remote checks (what `req` asks).
  absl::StatusOr<shoebox::v1::VerifyResponse> Run(const std::string& trigger,
                                                  const shoebox::v1::VerifyRequest& req);
  // Starts the schedule thread (options.interval_s > 0): a run when the last
  // scheduled run (by any coordinator) is older than the interval.
  void StartSchedule();

  // Worker side: a repaired chunk cut from a destination copy.
  absl::Status RepairChunk(const std::string& worker, const shoebox::v1::RepairChunkRequest& req);
  // Adds copy counts and damage to a status.
  absl::Status AddToStatus(shoebox::v1::StatusResponse* resp);

  VerifyStore& store() { return *vstore_; }

 private:
  // DATA_LOSS / NOT_FOUND describe the damage; other errors abort the run.
  absl::Status CheckChunk(const ScrubItem& item);
  absl::Status Scrub(double percent, shoebox::v1::VerifyResponse* out);
  absl::Status TestRestore(uint32_t n, shoebox::v1::VerifyResponse* out);
  void ScheduleLoop();

  VerifyStore* const vstore_;
  SealedChunkStore* const chunks_;
  Catalog* const catalog_;
  const VerifyOptions options_;
  const HmacSha256 id_hmac_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread schedule_;
};

}  // namespace shoebox::coordinator
