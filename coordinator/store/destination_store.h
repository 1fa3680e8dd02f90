// Destinations and bindings (which device or folder goes where).
// Implemented by the PostgreSQL store (pg_destinations.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/model.h"

namespace shoebox::coordinator {

class DestinationStore {
 public:
  virtual ~DestinationStore() = default;

  // ALREADY_EXISTS for a taken name.
  virtual absl::StatusOr<Destination> CreateDestination(const NewDestination& d) = 0;
  // By ID.
  virtual absl::StatusOr<std::vector<Destination>> ListDestinations() = 0;
  // `folder` empty: the whole device. With `backfill`, queues a delivery of
  // every current, complete version bound; returns how many. NOT_FOUND
  // naming an unknown device, folder or destination.
  virtual absl::StatusOr<uint64_t> BindFolder(const std::string& device, const std::string& folder,
                                              const std::string& destination, bool backfill) = 0;

  // --- day two (issue 16) ---------------------------------------------------
  // Locks the destination, lets `change` edit settings_json,
  // sealed_credentials, layout and max_concurrency of a copy (an error from
  // it aborts the update), and stores the result. A change of settings or
  // credentials lifts an authentication pause (the jobs are tried again).
  // `dead_jobs`: jobs of the destination that are dead. NOT_FOUND naming an
  // unknown destination.
  virtual absl::StatusOr<Destination> UpdateDestination(
      const std::string& name, const std::function<absl::Status(Destination&)>& change,
      uint64_t* dead_jobs) = 0;
  // Cancels its queued and waiting jobs (and, with `force`, leased ones;
  // without it FAILED_PRECONDITION while a job is leased), deletes its
  // bindings, and retires it: the row stays (renamed "NAME~ID", so the name
  // is free again) for the history of its deliveries, and nothing of it is
  // leased again. A destination nothing refers to but connection checks is
  // deleted outright (`purged`).
  virtual absl::StatusOr<DestinationRemoval> RemoveDestination(const std::string& name,
                                                               bool force) = 0;
  // Paused: no job of it is leased (new deliveries still queue).
  virtual absl::StatusOr<Destination> SetDestinationPaused(const std::string& name,
                                                           bool paused) = 0;
  // Queues a connection check (highest priority); `write_probe` is passed
  // to the worker in the job's remote_ref ("write" or "read").
  // FAILED_PRECONDITION when the destination is paused.
  virtual absl::StatusOr<DestinationCheckRow> EnqueueCheck(const std::string& name,
                                                           bool write_probe,
                                                           uint32_t worker_stale_ms) = 0;
  // A check job of `name` (job_id 0: its latest). NOT_FOUND when none.
  virtual absl::StatusOr<DestinationCheckRow> GetCheck(const std::string& name, int64_t job_id,
                                                       uint32_t worker_stale_ms) = 0;
  // Empty filters match all. By device, folder, destination.
  virtual absl::StatusOr<std::vector<BindingRow>> ListBindings(const std::string& device,
                                                               const std::string& destination) = 0;
  // Deletes the binding (NOT_FOUND naming it when there is none) and cancels
  // queued and waiting deliveries of the files it covered that no other
  // binding sends to the destination; returns how many.
  virtual absl::StatusOr<uint64_t> UnbindFolder(const std::string& device,
                                                const std::string& folder,
                                                const std::string& destination) = 0;
};

}  // namespace shoebox::coordinator
