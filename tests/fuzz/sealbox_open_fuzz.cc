// Sealed boxes: arbitrary bytes never open (DATA_LOSS), never crash.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/crypto/sealbox.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const shoebox::SealKeyPair kp = shoebox::GenerateSealKeyPair();
  std::string_view box(reinterpret_cast<const char*>(data), size);
  auto opened = shoebox::OpenSealedBox(kp, box, "dest");
  if (opened.ok()) abort();  // forging a box without the key must not happen
  if (opened.status().code() != absl::StatusCode::kDataLoss) abort();
  auto sealed = shoebox::SealToPublicKey(kp.public_key, shoebox::AsBytes(box), "dest");
  if (!sealed.ok()) abort();
  auto back = shoebox::OpenSealedBox(kp, *sealed, "dest");
  if (!back.ok() || *back != box) abort();
  if (shoebox::OpenSealedBox(kp, *sealed, "other").ok()) abort();
  return 0;
}
