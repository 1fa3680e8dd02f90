// Catalog snapshot copies to destinations (docs/recovery.md): the job rows.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

// Destination kinds that are plain file stores and receive snapshot copies.
inline constexpr const char* kSnapshotCopyKinds[] = {"local", "s3", "webdav", "sftp"};

// Queues one JOB_KIND_SNAPSHOT job per plain-file destination for the
// snapshot `name` (remote_ref "<name>#keep=<keep>"), and cancels the
// snapshot jobs still waiting for older snapshots (the newer one replaces
// them). Returns the number of jobs queued.
absl::StatusOr<uint64_t> QueueSnapshotCopies(Store* store, const std::string& name, uint32_t keep);

}  // namespace shoebox::coordinator
