// Process-wide lock settings for the binaries.
#pragma once

namespace shoebox {

// Debian's Abseil is built without NDEBUG, so every absl::Mutex (and with it
// every lock inside gRPC, whose grpc_core::Mutex is an absl::Mutex) runs the
// debug-build deadlock detector: each Lock() records lock-order edges in a
// global graph under a global spinlock. Measured on this machine: a nested
// lock pair costs 94 ns with it and 30 ns without; in a first backup the
// agents and coordinator spent ~0.2 CPU-seconds in it (docs/performance.md).
// The binaries switch it off first thing in main(); the unit tests keep it on,
// so a lock-order inversion still aborts a test run.
void DisableMutexDeadlockDetection();

}  // namespace shoebox
