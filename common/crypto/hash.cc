#include "common/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace shoebox {

namespace {

// OpenSSL failures here mean a broken library or out of memory; there is no
// sensible way to continue, and returning wrong digests would be worse.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "shoebox: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

const EVP_MD* Sha256Md() {
  // Fetched once: implicit fetches per call cost a lock and a lookup.
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Die("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

EVP_MAC* HmacAlgo() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) Die("EVP_MAC_fetch(HMAC)");
    return m;
  }();
  return mac;
}

}  // namespace

bool DigestFromString(std::string_view s, Digest* out) {
  if (s.size() != out->size()) return false;
  std::memcpy(out->data(), s.data(), out->size());
  return true;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) {
    Die("EVP_DigestInit_ex(SHA256)");
  }
}

Sha256::~Sha256() = default;

void Sha256::Update(ByteSpan data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) Die("EVP_DigestUpdate");
}

Digest Sha256::Final() {
  Digest d;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, d.data(), &len) != 1 || len != d.size()) {
    Die("EVP_DigestFinal_ex");
  }
  if (EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) Die("EVP_DigestInit_ex");
  return d;
}

Digest Sha256::Of(ByteSpan data) {
  Digest d;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, Sha256Md(), nullptr) != 1 ||
      len != d.size()) {
    Die("EVP_Digest(SHA256)");
  }
  return d;
}

// The keyed context is prepared once (ipad/opad blocks already hashed). Each
// thread keeps a few working contexts, keyed by the instance's serial number
// (never reused, unlike addresses); a call re-initialises the working context
// with EVP_MAC_init(NULL key), which is about twice as cheap as duplicating
// the template. A working context of a destroyed instance stays cached (with
// its key state) until evicted or until the thread exits.
struct HmacSha256::Impl {
  EVP_MAC_CTX* keyed = nullptr;
  uint64_t serial = 0;
  ~Impl() { EVP_MAC_CTX_free(keyed); }
};

namespace {

std::atomic<uint64_t> g_hmac_serial{0};

struct HmacCtxCache {
  struct Entry {
    uint64_t serial = 0;  // 0 = empty
    EVP_MAC_CTX* ctx = nullptr;
  };
  std::array<Entry, 4> entries;
  size_t next = 0;
  // Entries are reset, not just freed: an HmacSha256 with static storage
  // duration is destroyed after the main thread's thread_locals, and its
  // Drop() must then find nothing to free.
  ~HmacCtxCache() {
    for (Entry& e : entries) {
      EVP_MAC_CTX_free(e.ctx);
      e = Entry{};
    }
  }
  EVP_MAC_CTX* Get(uint64_t serial, const EVP_MAC_CTX* keyed) {
    for (Entry& e : entries) {
      if (e.serial == serial) {
        if (EVP_MAC_init(e.ctx, nullptr, 0, nullptr) != 1) Die("EVP_MAC_init(reuse)");
        return e.ctx;
      }
    }
    Entry& slot = entries[next];
    next = (next + 1) % entries.size();
    EVP_MAC_CTX_free(slot.ctx);
    slot.ctx = EVP_MAC_CTX_dup(keyed);
    if (slot.ctx == nullptr) Die("EVP_MAC_CTX_dup");
    slot.serial = serial;
    return slot.ctx;
  }
  void Drop(uint64_t serial) {
    for (Entry& e : entries) {
      if (e.serial == serial) {
        EVP_MAC_CTX_free(e.ctx);
        e = Entry{};
      }
    }
  }
};

thread_local HmacCtxCache t_hmac_cache;

}  // namespace

HmacSha256::HmacSha256(ByteSpan key) : impl_(std::make_unique<Impl>()) {
  impl_->serial = g_hmac_serial.fetch_add(1, std::memory_order_relaxed) + 1;
  impl_->keyed = EVP_MAC_CTX_new(HmacAlgo());
  if (impl_->keyed == nullptr) Die("EVP_MAC_CTX_new");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(impl_->keyed, key.data(), key.size(), params) != 1) Die("EVP_MAC_init");
}

HmacSha256::~HmacSha256() { t_hmac_cache.Drop(impl_->serial); }

Digest HmacSha256::Compute(ByteSpan data) const {
  EVP_MAC_CTX* ctx = t_hmac_cache.Get(impl_->serial, impl_->keyed);
  Digest d;
  size_t len = 0;
  if ((!data.empty() && EVP_MAC_update(ctx, data.data(), data.size()) != 1) ||
      EVP_MAC_final(ctx, d.data(), &len, d.size()) != 1 || len != d.size()) {
    Die("EVP_MAC_update/final");
  }
  return d;
}

HmacSha256Stream::HmacSha256Stream(const HmacSha256& mac)
    : mac_(mac), ctx_(EVP_MAC_CTX_dup(mac.impl_->keyed)) {
  if (ctx_ == nullptr) Die("EVP_MAC_CTX_dup");
}

HmacSha256Stream::~HmacSha256Stream() { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx_)); }

void HmacSha256Stream::Update(ByteSpan data) {
  if (data.empty()) return;
  if (EVP_MAC_update(static_cast<EVP_MAC_CTX*>(ctx_), data.data(), data.size()) != 1) {
    Die("EVP_MAC_update");
  }
}

Digest HmacSha256Stream::Final() {
  Digest d;
  size_t len = 0;
  auto* ctx = static_cast<EVP_MAC_CTX*>(ctx_);
  if (EVP_MAC_final(ctx, d.data(), &len, d.size()) != 1 || len != d.size()) Die("EVP_MAC_final");
  EVP_MAC_CTX_free(ctx);
  ctx_ = EVP_MAC_CTX_dup(mac_.impl_->keyed);
  if (ctx_ == nullptr) Die("EVP_MAC_CTX_dup");
  return d;
}

void SecureRandom(uint8_t* out, size_t n) {
  if (n == 0) return;
  if (RAND_bytes(out, static_cast<int>(n)) != 1) Die("RAND_bytes");
}

}  // namespace shoebox
