// Process-wide memory settings for the daemons.
#pragma once

namespace shoebox {

// Every chunk passes through buffers of 1-16 MiB (gRPC messages, protobuf
// strings, sealed blobs) that are allocated and freed per chunk. With glibc's
// defaults such a buffer is a fresh mmap, or heap that free() trims back to
// the kernel, so each chunk faults its pages in again and the kernel zeroes
// them (measured: ~0.3 CPU-seconds per GB in the coordinator and in each
// worker, see docs/performance.md). Keep buffers up to 64 MiB on the heap and
// up to 32 MiB of free heap per arena, in at most 4 arenas. Call once, first thing
// in main().
void TuneAllocatorForChunks();

}  // namespace shoebox
