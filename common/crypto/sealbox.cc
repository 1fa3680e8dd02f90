#include "common/crypto/sealbox.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "common/status.h"

namespace shoebox {

namespace {

constexpr std::string_view kFileTag = "shoebox-sealbox-v1";
constexpr char kInfo[] = "shoebox sealed box v1";
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

absl::StatusOr<SealPublicKey> PublicOf(const Key256& priv) {
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()));
  if (!k) return OpenSslError("X25519 private key");
  SealPublicKey pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return OpenSslError("X25519 public key");
  }
  return pub;
}

// X25519(priv, peer) then HKDF-SHA256 into an AES-256 key.
absl::StatusOr<Key256> Agree(const Key256& priv, const SealPublicKey& peer,
                             const SealPublicKey& eph_pub, const SealPublicKey& recipient_pub) {
  PkeyPtr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv.data(), priv.size()));
  PkeyPtr theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!mine || !theirs) return OpenSslError("X25519 key import");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  uint8_t shared[32];
  size_t len = sizeof(shared);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared, &len) != 1 || len != sizeof(shared)) {
    // OpenSSL refuses low-order points (all-zero shared secret) here.
    OpenSslError("X25519").IgnoreError();
    return absl::InvalidArgumentError("X25519 key agreement failed: the public key is invalid");
  }
  uint8_t salt[64];
  std::memcpy(salt, eph_pub.data(), 32);
  std::memcpy(salt + 32, recipient_pub.data(), 32);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* kctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  char digest[] = "SHA256";
  char info[] = "shoebox sealed box v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared, sizeof(shared)),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof(salt)),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(kInfo) - 1),
      OSSL_PARAM_construct_end(),
  };
  Key256 key;
  bool ok = kctx != nullptr && EVP_KDF_derive(kctx, key.data(), key.size(), params) == 1;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  OPENSSL_cleanse(shared, sizeof(shared));
  if (!ok) return OpenSslError("HKDF for sealed box");
  return key;
}

std::string Aad(const uint8_t* eph_pub, const SealPublicKey& recipient, std::string_view context) {
  std::string aad;
  aad.reserve(1 + 64 + context.size());
  aad.push_back(static_cast<char>(kSealBoxVersion));
  aad.append(reinterpret_cast<const char*>(eph_pub), 32);
  aad.append(reinterpret_cast<const char*>(recipient.data()), 32);
  aad.append(context);
  return aad;
}

absl::Status BoxError(std::string_view context, std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "sealed box for '", PrintablePath(context), "': ", AbslView(why),
      "; it was sealed to another key or for something else, or it is damaged. Seal the "
      "secret again with the current public key"));
}

}  // namespace

SealKeyPair GenerateSealKeyPair() {
  SealKeyPair kp;
  while (true) {
    SecureRandom(kp.private_key.data(), kp.private_key.size());
    absl::StatusOr<SealPublicKey> pub = PublicOf(kp.private_key);
    if (pub.ok()) {
      kp.public_key = *pub;
      return kp;
    }
  }
}

std::string SealPublicKeyToHex(const SealPublicKey& pk) {
  return ToHex(ByteSpan(pk.data(), pk.size()));
}

absl::StatusOr<SealPublicKey> SealPublicKeyFromHex(std::string_view hex) {
  absl::StatusOr<std::string> raw = FromHex(hex);
  if (!raw.ok() || raw->size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", PrintablePath(hex.substr(0, 80)),
                     "' is not a sealing public key: expected 64 hex characters"));
  }
  SealPublicKey pk;
  std::memcpy(pk.data(), raw->data(), pk.size());
  return pk;
}

absl::Status SaveSealKeyPair(const std::string& path, const SealKeyPair& kp) {
  std::string text = absl::StrCat(
      AbslView(kFileTag), " ", ToHex(ByteSpan(kp.private_key.data(), kp.private_key.size())), "\n");
  absl::Status st = WriteSecretFile(path, text);
  OPENSSL_cleanse(text.data(), text.size());
  return st;
}

absl::StatusOr<SealKeyPair> LoadSealKeyPair(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path));
  std::string_view v = text;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
  SealKeyPair kp;
  bool ok = v.size() == kFileTag.size() + 1 + 64 && v.substr(0, kFileTag.size()) == kFileTag &&
            v[kFileTag.size()] == ' ';
  if (ok) {
    absl::StatusOr<std::string> raw = FromHex(v.substr(kFileTag.size() + 1));
    ok = raw.ok();
    if (ok) {
      std::memcpy(kp.private_key.data(), raw->data(), 32);
      OPENSSL_cleanse(raw->data(), raw->size());
    }
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    return absl::DataLossError(
        absl::StrCat("sealing key file ", PrintablePath(path), " is malformed: expected one line '",
                     AbslView(kFileTag), " <64 hex characters>'; restore it from backup"));
  }
  absl::StatusOr<SealPublicKey> pub = PublicOf(kp.private_key);
  if (!pub.ok())
    return Annotate(pub.status(), absl::StrCat("sealing key file ", PrintablePath(path)));
  kp.public_key = *pub;
  return kp;
}

absl::StatusOr<SealKeyPair> LoadOrCreateSealKeyPair(const std::string& path) {
  absl::StatusOr<SealKeyPair> kp = LoadSealKeyPair(path);
  if (!absl::IsNotFound(kp.status())) return kp;
  SealKeyPair fresh = GenerateSealKeyPair();
  RETURN_IF_ERROR(SaveSealKeyPair(path, fresh));
  return fresh;
}

absl::StatusOr<std::string> SealToPublicKey(const SealPublicKey& recipient, ByteSpan plaintext,
                                            std::string_view context) {
  SealKeyPair eph = GenerateSealKeyPair();
  absl::StatusOr<Key256> key = Agree(eph.private_key, recipient, eph.public_key, recipient);
  OPENSSL_cleanse(eph.private_key.data(), eph.private_key.size());
  if (!key.ok()) return key.status();
  std::string out(kSealBoxOverhead + plaintext.size(), '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  o[0] = kSealBoxVersion;
  std::memcpy(o + 1, eph.public_key.data(), 32);
  SecureRandom(o + 33, kNonce);
  const std::string aad = Aad(o + 1, recipient, context);
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  uint8_t* ct = o + 45;
  bool ok =
      ctx && EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key->data(), o + 33, nullptr) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, ct + plaintext.size()) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!ok) return OpenSslError("seal box (AES-256-GCM)");
  return out;
}

absl::StatusOr<std::string> OpenSealedBox(const SealKeyPair& kp, std::string_view box,
                                          std::string_view context) {
  if (box.size() < kSealBoxOverhead) return BoxError(context, "box is truncated");
  const auto* b = reinterpret_cast<const uint8_t*>(box.data());
  if (b[0] != kSealBoxVersion) {
    return BoxError(context, absl::StrCat("unknown box version ", static_cast<int>(b[0])));
  }
  SealPublicKey eph;
  std::memcpy(eph.data(), b + 1, 32);
  absl::StatusOr<Key256> key = Agree(kp.private_key, eph, eph, kp.public_key);
  if (!key.ok()) return BoxError(context, "the ephemeral key in the box is invalid");
  const std::string aad = Aad(b + 1, kp.public_key, context);
  const size_t ct_len = box.size() - kSealBoxOverhead;
  std::string out(ct_len, '\0');
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  int len = 0, fin = 0;
  const uint8_t* ct = b + 45;
  bool setup =
      ctx && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key->data(), b + 33, nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len, ct,
                        static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag,
                          const_cast<uint8_t*>(ct + ct_len)) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!setup) return OpenSslError("open box (AES-256-GCM)");
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<uint8_t*>(out.data()) + len, &fin) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return BoxError(context, "authentication failed");
  }
  return out;
}

}  // namespace shoebox
