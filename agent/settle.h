// When a new or changed file counts as settled (safe to read).
#pragma once

#include <algorithm>
#include <cstdint>

#include "agent/index_format.h"

namespace shoebox::agent {

// The wall-clock time (ns) from which `st` counts as settled: unchanged for
// `settle_ns` since its last modification (max of mtime and ctime, which
// the kernel sets on every write and metadata change), or — for file systems
// whose clock differs from ours — since the agent first saw exactly this
// stat at `seen_ns`. The file must still have the same stat at that time.
inline int64_t SettleDueNs(const FileStat& st, int64_t seen_ns, int64_t settle_ns) {
  int64_t changed = std::max(st.mtime_ns, st.ctime_ns);
  return std::min(changed + settle_ns, seen_ns + settle_ns);
}

}  // namespace shoebox::agent
