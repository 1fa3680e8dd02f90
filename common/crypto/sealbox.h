// Sealed boxes: anonymous public-key encryption of small secrets (destination
// credentials) to the worker pool's X25519 key. The CLI seals with the public
// key, PostgreSQL stores only the box, a worker opens it with the private key.
//
// Box format (docs/formats.md): version 0x01 ‖ ephemeral X25519 public key
// (32) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16). The AES key is
// HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt = ephemeral_pub ‖
// recipient_pub, info = "shoebox sealed box v1"). Associated data: version ‖
// ephemeral_pub ‖ recipient_pub ‖ `context` (e.g. the destination name), so
// a box moved to another context does not open.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/crypto/keys.h"

namespace shoebox {

using SealPublicKey = std::array<uint8_t, 32>;

struct SealKeyPair {
  SealPublicKey public_key;
  Key256 private_key;  // X25519 scalar; never logged
};

inline constexpr uint8_t kSealBoxVersion = 1;
inline constexpr size_t kSealBoxOverhead = 1 + 32 + 12 + 16;

// A fresh random key pair.
SealKeyPair GenerateSealKeyPair();

// Key pair file: one line "shoebox-sealbox-v1 <64 hex private key>\n", mode
// 0600 (written atomically). Loading refuses a file readable by group/others
// (PERMISSION_DENIED naming the path and the chmod to run).
absl::Status SaveSealKeyPair(const std::string& path, const SealKeyPair& kp);
absl::StatusOr<SealKeyPair> LoadSealKeyPair(const std::string& path);
// Loads the pair at `path`, or generates and saves one when it does not exist.
absl::StatusOr<SealKeyPair> LoadOrCreateSealKeyPair(const std::string& path);

// Public keys travel as 64 lowercase hex characters.
std::string SealPublicKeyToHex(const SealPublicKey& pk);
absl::StatusOr<SealPublicKey> SealPublicKeyFromHex(std::string_view hex);

// Seals `plaintext` to `recipient`. INVALID_ARGUMENT for an invalid public
// key (e.g. a low-order point). Thread-safe.
absl::StatusOr<std::string> SealToPublicKey(const SealPublicKey& recipient, ByteSpan plaintext,
                                            std::string_view context);
// Opens a box. Wrong key, wrong context, any flipped bit or truncation:
// DATA_LOSS "sealed box for <context>: ..." (never wrong bytes). Thread-safe.
absl::StatusOr<std::string> OpenSealedBox(const SealKeyPair& kp, std::string_view box,
                                          std::string_view context);

}  // namespace shoebox
