#include "common/locks.h"

#include "absl/synchronization/mutex.h"

namespace shoebox {

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace shoebox
