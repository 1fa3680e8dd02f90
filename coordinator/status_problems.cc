#include "coordinator/status_problems.h"

#include "absl/strings/str_cat.h"

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
