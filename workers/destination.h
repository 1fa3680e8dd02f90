// Opening a job's destination: its settings (JSON) and sealed credentials
// become a connector of its kind (workers/connector.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "shoebox/v1/worker.pb.h"
#include "workers/connector.h"

namespace shoebox::worker {

// Opens a destination's sealed credentials (bytes from the Destination
// message, its name as context) into a JSON object.
using CredentialOpener = std::function<absl::StatusOr<nlohmann::json>(
    const std::string& sealed, const std::string& destination)>;

// The standard opener: common/crypto/sealbox.h with the pool key pair file.
// The returned opener is thread-safe.
absl::StatusOr<CredentialOpener> MakeSealBoxOpener(const std::string& pool_key_file);

// A connector for `d`. INVALID_ARGUMENT when its settings are not a JSON
// object, FAILED_PRECONDITION when it has sealed credentials and
// `open_credentials` is null; every error names the destination.
// `env.albums` (the job's album directory, issue 20) is passed on to kinds
// whose KindSpec declares albums (photo services) and dropped for others.
absl::StatusOr<std::unique_ptr<Connector>> OpenDestination(const v1::Destination& d,
                                                           const CredentialOpener& open_credentials,
                                                           const ConnectorEnvironment& env = {});

}  // namespace shoebox::worker
