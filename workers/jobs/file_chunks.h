// A file version's chunk list as the jobs read it.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/chunk_source.h"

namespace shoebox::worker {

// INVALID_ARGUMENT naming the version when a chunk ID is not 32 bytes, the
// chunk sizes do not add up to the file size, or the SHA-256 is missing.
absl::Status CheckChunkList(const v1::FileVersion& f);

// The chunks of `f` in file order, for a ChunkSource.
std::vector<ChunkSpan> ChunkSpans(const v1::FileVersion& f);

}  // namespace shoebox::worker
