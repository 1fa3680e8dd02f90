#include "common/memory.h"

#include <malloc.h>

namespace shoebox {

void TuneAllocatorForChunks() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

}  // namespace shoebox
