// Which device is about to upload which missing chunk, so that two devices
// backing up the same photo at the same time do not both send it.
//
// ReportFiles hands each missing chunk to the first device that needs it (a
// claim). Another device reporting a file with that chunk while the claim is
// live is not asked for it: its version stays pending and completes when the
// claimant's upload lands (the agent re-reports such a file until it is
// complete, see docs/agent.md). A claim lasts `ttl` from when it was made, or
// from the claimant's last stored chunk while it keeps uploading, but never
// longer than `max_age`; after that, or when the chunk is stored or refused,
// the next device to report it claims it. Claims are per coordinator process
// (replicas may each hand out a chunk once: at worst a duplicate upload,
// which the store takes idempotently).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shoebox::coordinator {

// Every `now` is on one clock; the coordinator passes the monotonic one
// (SteadyAbslNow, common/steady_wait.h): ttl and max_age are intervals that a
// step of the wall clock must not stretch or cut.
class UploadClaims {
 public:
  struct Options {
    absl::Duration ttl = absl::Seconds(60);
    absl::Duration max_age = absl::Minutes(15);
    // Beyond this many live claims new chunks are not claimed (every device
    // is then asked for them): bounds memory at ~100 bytes per claim.
    size_t max_claims = 1 << 20;
  };
  UploadClaims() : UploadClaims(Options{}) {}
  explicit UploadClaims(Options opts) : opts_(opts) {}

  // For each chunk ID: true if `device` should upload it (it now holds the
  // claim, or already did), false if another device holds a live claim.
  // `sizes` (optional, one per ID): the chunk sizes the device reported,
  // kept with the claim for ClaimedBy.
  std::vector<bool> Claim(int64_t device, const std::vector<std::string>& ids, absl::Time now,
                          const std::vector<uint32_t>* sizes = nullptr);
  // True when `device` holds a live claim on the chunk with a known size
  // (set in *size): the chunk was missing and referenced when the claim was
  // made, so its upload needs no database lookup.
  bool ClaimedBy(int64_t device, const std::string& id, absl::Time now, uint32_t* size) const;
  // The chunk was stored (by `device`): its claim ends, and the device's
  // other claims stay live for another ttl.
  void Stored(int64_t device, const std::string& id, absl::Time now);
  // An upload of the chunk was refused: the next reporter may claim it.
  void Release(const std::string& id);

  size_t size() const;

 private:
  struct Entry {
    int64_t device;
    absl::Time claimed;
    uint32_t size = 0;  // 0: not known
  };
  bool Live(const Entry& e, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SweepLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options opts_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> claims_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, absl::Time> progress_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace shoebox::coordinator
