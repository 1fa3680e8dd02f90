#include "common/memory.h"

#include <malloc.h>

namespace shoebox {

void TuneAllocatorForChunks() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  // Few arenas: each one keeps its free heap, and the daemons run dozens of
  // threads (gRPC, ingest pool, hashing) whose buffers would otherwise be
  // spread over up to 8 per core.
  mallopt(M_ARENA_MAX, 4);
}

}  // namespace shoebox
