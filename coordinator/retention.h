// Retention policies and pruning (issue 7; docs/retention.md) as a plain
// class: the admin RPCs SetRetention / GetRetention / Prune and the
// scheduled prune.
//
// A prune runs three steps, each in batches of short transactions:
//  1. pass-through folders: versions every bound destination has are marked
//     chunks_dropped and stop counting as references of their chunks;
//  2. policies: expired versions are removed (with their jobs), their chunk
//     references dropped;
//  3. chunk collection: chunks without references whose grace period is
//     over are marked not stored (committed), then, under their row locks,
//     their blobs are deleted from the chunk store and their rows removed.
//
// Thread-safe. One prune at a time per process (a second call waits);
// prunes of several coordinators may overlap safely.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/chunkstore/chunkstore.h"
#include "coordinator/store/identity_store.h"
#include "coordinator/store/retention_store.h"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::coordinator {

class Retention {
 public:
  // Borrows `store` (the rows), `audit` (SetRetention and real prunes are
  // audited) and `chunks` (the blobs collected); all must outlive this
  // object.
  Retention(RetentionStore* store, IdentityStore* audit, ChunkStore* chunks, uint32_t grace_s);
  ~Retention();  // stops the schedule (a running prune stops between batches)

  absl::StatusOr<shoebox::v1::RetentionPolicies> Get(const shoebox::v1::GetRetentionRequest& req);
  // Audited with the admin's name.
  absl::StatusOr<shoebox::v1::RetentionPolicies> Set(const std::string& admin,
                                                     const shoebox::v1::SetRetentionRequest& req);
  // `actor`: the admin, or "schedule". A real prune is audited.
  absl::StatusOr<shoebox::v1::PruneResponse> Prune(const std::string& actor,
                                                   const shoebox::v1::PruneRequest& req);
  // Starts the schedule thread (interval_s > 0): a prune when the last
  // scheduled one (by any coordinator) is older than the interval.
  void StartSchedule(uint32_t interval_s);

 private:
  absl::Status CollectChunks(shoebox::v1::PruneResponse* out);
  bool Stopping();
  void ScheduleLoop(uint32_t interval_s);

  RetentionStore* const rstore_;
  IdentityStore* const audit_;
  ChunkStore* const chunks_;
  const uint32_t grace_s_;

  std::mutex run_mu_;  // one prune at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread schedule_;
};

}  // namespace shoebox::coordinator
