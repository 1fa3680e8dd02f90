// The catalog's store: devices, folders, files, versions and chunk
// references. Implemented by the PostgreSQL store (pg_devices.cc,
// pg_catalog.cc, pg_report_files.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  // Creates the device on first call; records hostname, last_seen and folders.
  virtual absl::StatusOr<int64_t> UpsertDevice(const std::string& name, const std::string& hostname,
                                               const std::string& agent_version,
                                               const std::vector<std::string>& folders) = 0;
  // NOT_FOUND when the device never said Hello.
  virtual absl::StatusOr<int64_t> FindDevice(const std::string& name) = 0;
  virtual absl::Status RecordHeartbeat(int64_t device_id, const HeartbeatFacts& hb) = 0;
  virtual absl::StatusOr<std::vector<Folder>> ListFolders(int64_t device_id) = 0;
  // Current versions of this device's files that hold a damaged chunk (open
  // chunk_damage), at most `limit`, once per file.
  virtual absl::StatusOr<std::vector<DamagedFile>> DamagedFilesOf(int64_t device_id,
                                                                  uint32_t limit) = 0;
  // Every device with its folders, by ID.
  virtual absl::StatusOr<std::vector<DeviceRow>> ListDevices() = 0;

  // One transaction for the whole batch: new versions, chunk references,
  // missing chunk lists, deletes, and deliveries for versions complete at
  // once. Paths in `items` are unique per folder (the caller checks).
  // outcome[i] belongs to items[i].
  virtual absl::StatusOr<std::vector<ReportOutcome>> ReportFiles(
      int64_t device_id, const std::vector<ReportItem>& items) = 0;
  virtual absl::StatusOr<ChunkStatus> GetChunk(const std::string& id) = 0;
  // Marks the chunk stored (its blob is durable), records `device_id` (0:
  // none, a worker's repair) as its owner, and completes every version that
  // waited only for it and whose device owns it, creating their deliveries
  // in the same transaction. Returns the completed version IDs. Idempotent.
  // NOT_FOUND when no reported file references the chunk.
  virtual absl::StatusOr<std::vector<int64_t>> MarkChunkStored(const std::string& id, uint32_t size,
                                                               uint64_t stored_size,
                                                               int64_t device_id) = 0;
  // The device proved it holds the stored chunk (an answered challenge, or
  // an upload of a chunk already stored): records it as an owner and
  // completes the versions it thereby completes, as MarkChunkStored.
  // NOT_FOUND when the chunk is not stored (any more): upload it.
  virtual absl::StatusOr<std::vector<int64_t>> RecordChunkOwner(const std::string& id,
                                                                int64_t device_id) = 0;
  // For each ID: has the device uploaded or proven it (docs/security.md,
  // proof of ownership), and is it stored?
  virtual absl::StatusOr<std::vector<bool>> DeviceMayRead(int64_t device_id,
                                                          const std::vector<std::string>& ids) = 0;
  // For each ID: is its blob stored?
  virtual absl::StatusOr<std::vector<bool>> ChunksStored(const std::vector<std::string>& ids) = 0;
  // device_id must exist. Versions in ID order, with their copies.
  virtual absl::StatusOr<VersionPage> ListVersions(int64_t device_id, const VersionQuery& q) = 0;
};

}  // namespace shoebox::coordinator
