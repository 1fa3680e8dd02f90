// Destinations and bindings (which device or folder goes where).
// Implemented by the PostgreSQL store (pg_destinations.cc) and by test fakes.
//
// Thread-safe: any thread may call any method.
#pragma once

#include <cstdint>
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
};

}  // namespace shoebox::coordinator
