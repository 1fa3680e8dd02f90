// The master key and the keys derived from it.
//
// Key file format: 64 lowercase hex characters (the 256-bit master key) and a
// newline. Created with mode 0600 on first use; refused (PERMISSION_DENIED)
// when the file is readable or writable by group or others. Key bytes never
// appear in any log line or error message.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox {

using Key256 = std::array<uint8_t, 32>;

struct DerivedKeys {
  Key256 data_key;      // AES-256-GCM key for chunk blobs (coordinator, workers).
  Key256 chunk_id_key;  // HMAC key for chunk IDs (also given to agents).
  Key256 chunker_key;   // Gear-table seed for FastCDC (also given to agents).
  Key256 catalog_key;   // seals catalog snapshots.
};

// HKDF-SHA256(master, salt="shoebox-v1", info=<purpose>) for each key.
// info strings: "shoebox data key", "shoebox chunk id key",
// "shoebox chunker key", "shoebox catalog key".
DerivedKeys DeriveKeys(const Key256& master);

// Generic HKDF-SHA256 with the given info (salt "shoebox-v1").
Key256 HkdfSha256(const uint8_t* ikm, size_t ikm_len, std::string_view info);

// Loads the master key from `path`, creating it (0600, random) if it does not
// exist and `create` is true. Errors name the path and say what to do.
absl::StatusOr<Key256> LoadOrCreateMasterKey(const std::string& path, bool create);

// Writes `bytes` to `path` atomically with mode 0600 (temp + fsync + rename).
absl::Status WriteSecretFile(const std::string& path, std::string_view bytes);
// Reads a secret file, refusing (PERMISSION_DENIED) one readable by others.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace shoebox
