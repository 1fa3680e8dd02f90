// The status summary (shoebox status). Implemented by the PostgreSQL store
// (pg_status.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class StatusStore {
 public:
  virtual ~StatusStore() = default;

  // Devices, destinations and deliveries per state; workers seen within
  // `worker_stale_ms` count as serving.
  virtual absl::StatusOr<StatusSummary> GetStatus(uint32_t worker_stale_ms) = 0;
};

}  // namespace shoebox::coordinator
