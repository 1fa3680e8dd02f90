// Restore around damaged chunks (issue 7; docs/verify.md): after a restore
// pass, the failures caused by chunks that are missing or corrupt in the
// chunk store are named with the chunk and the destinations holding the
// file; when repairs from those destinations are queued (a worker fetches
// the file and re-stores the chunk), waits for them and restores the
// affected files again.
#pragma once

#include <cstdio>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/client.h"
#include "cli/restore.h"

namespace shoebox::cli {

// `first` is the report of RestoreVersions(versions, ...); returns the
// merged report. Prints what it does to `out`. wait_s = 0: name the
// affected files only.
absl::StatusOr<RestoreReport> RestoreAfterRepair(AdminClient& client,
                                                 const std::vector<v1::FileVersion>& versions,
                                                 RestoreReport first, ChunkFetcher* fetcher,
                                                 const RestoreOptions& o, int wait_s,
                                                 std::FILE* out);

}  // namespace shoebox::cli
