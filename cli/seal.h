// Credential sealing for `shoebox dest add` and the pool key pair.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace shoebox::cli {

// Seals `plaintext` for destination `destination` (the sealed-box context)
// to the worker pool public key named by `pool_public_key` in cli.toml (or
// $SHOEBOX_POOL_PUBLIC_KEY). FAILED_PRECONDITION with what to do when no key
// is configured.
absl::StatusOr<std::string> SealCredentialsFor(const std::string& destination,
                                               const std::string& plaintext);

// Creates (or reuses) the key pair file at `private_path` and writes the
// public key as hex to `public_path`.

absl::Status CreatePoolKeyPair(const std::string& private_path, const std::string& public_path);

}  // namespace shoebox::cli
