#include "coordinator/status_problems.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shoebox::coordinator {

namespace {

StatusProblem DeviceProblem(const char* kind, const std::string& device, std::string message) {
  return StatusProblem{kind, device, "", std::move(message)};
}

StatusProblem DestProblem(const char* kind, const std::string& dest, std::string message) {
  return StatusProblem{kind, "", dest, std::move(message)};
}

}  // namespace

std::vector<StatusProblem> StatusProblems(const StatusSummary& s) {
  return StatusProblems(s, s.now_unix_ms > 0 ? s.now_unix_ms : absl::ToUnixMillis(absl::Now()));
}

std::vector<StatusProblem> StatusProblems(const StatusSummary& s, int64_t now_unix_ms) {
  std::vector<StatusProblem> out;
  for (const DeviceStatus& d : s.devices) {
    if (d.revoked) {
      out.push_back(DeviceProblem(
          "device_revoked", d.name,
          absl::StrCat("device '", d.name,
                       "' is revoked: its agent is refused and backs up nothing; to let it back "
                       "in: shoebox enroll-token --device ",
                       d.name, " (then shoebox-agent enroll on it)")));
      continue;
    }
    if (d.bindings == 0) {
      out.push_back(DeviceProblem(
          "device_unbound", d.name,
          absl::StrCat("device '", d.name,
                       "' is bound to no destination: its files stay in the chunk store only; "
                       "deliver them with: shoebox bind --device ",
                       d.name, " --dest NAME")));
    }
    const bool has_work = d.agent_files_pending > 0 || d.files_awaiting_chunks > 0;
    if (has_work && d.last_seen_unix_ms > 0 &&
        now_unix_ms - d.last_seen_unix_ms > kDeviceSilentAfterMs) {
      const int64_t mins = (now_unix_ms - d.last_seen_unix_ms) / 60000;
      std::string work;
      if (d.agent_files_pending > 0)
        absl::StrAppend(&work, d.agent_files_pending, " files pending on the device");
      if (d.files_awaiting_chunks > 0)
        absl::StrAppend(&work, work.empty() ? "" : ", ", d.files_awaiting_chunks,
                        " files waiting for its chunks");
      out.push_back(DeviceProblem(
          "device_silent", d.name,
          absl::StrCat("device '", d.name, "' has not reached the coordinator for ", mins, " min (",
                       work,
                       "): nothing new from it is backed up; on that device check shoebox-agent "
                       "status (its last error) and restart the agent if it says offline")));
    }
    for (const std::string& f : d.folder_problems) {
      out.push_back(DeviceProblem(
          "folder_unavailable", d.name,
          absl::StrCat("device '", d.name, "': watched folder ", f,
                       "; nothing in it is backed up until it is back (mount it, or fix "
                       "[[folder]] path in the agent's config)")));
    }
  }
  for (const DestinationStatus& d : s.destinations) {
    if (!d.health.empty()) {
      out.push_back(DestProblem(
          "destination_auth_failed", d.name,
          absl::StrCat("destination '", d.name, "': ", d.health,
                       "; its deliveries are held: correct its credentials, then shoebox retry "
                       "--dest ",
                       d.name)));
    }
    if (d.workers_serving == 0) {
      out.push_back(DestProblem(
          "destination_no_worker", d.name,
          absl::StrCat("destination '", d.name, "': no worker serves it (kind ", d.kind,
                       "); its deliveries wait: start a worker whose kinds include ", d.kind)));
    }
    if (d.deliveries.dead_files > 0) {
      out.push_back(DestProblem(
          "destination_dead", d.name,
          absl::StrCat("destination '", d.name, "': ", d.deliveries.dead_files,
                       d.deliveries.dead_files == 1 ? " delivery" : " deliveries",
                       " gave up, last error: ",
                       d.last_dead_error.empty() ? "(none recorded)" : d.last_dead_error,
                       "; see shoebox jobs --dest ", d.name,
                       " --state dead, then shoebox retry --dest ", d.name, " --state dead")));
    }
  }
  return out;
}

}  // namespace shoebox::coordinator
