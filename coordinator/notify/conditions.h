// What needs a person right now (docs/notifications.md, "Events"), computed
// from the status summary the admin sees (`shoebox status`), the open
// verify damage, the devices' backup counters and the chunk store's disk.
// Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/notify/model.h"
#include "coordinator/notify/settings.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator::notify {

struct DiskUsage {
  std::string path;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to the coordinator
};

struct ConditionInputs {
  const StatusSummary* status = nullptr;
  uint64_t open_damage = 0;
  // Per device: when its backup counters last changed (Unix ms).
  std::map<std::string, int64_t> last_backup_ms;
  std::optional<DiskUsage> disk;
};

// Kinds: destination_failing, dead_jobs, verify_damage, device_silent,
// device_no_backup, disk_full. Keys are "KIND:OBJECT-NAME".
std::vector<Condition> Conditions(const ConditionInputs& in, const Settings& s, int64_t now_ms);

}  // namespace shoebox::coordinator::notify
