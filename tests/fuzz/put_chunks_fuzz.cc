// The PutChunks stream handler's per-message work: each message of the
// stream is parsed as a PutChunkRequest, checked by the coordinator's own
// CheckChunkUpload (ID length, size limit, ID == HMAC of the data under the
// chunk-ID key) and, when accepted, sealed and written to a real
// DirChunkStore (in /dev/shm when there is one), read back and removed.
//
// Input: a sequence of records [flags:1][len:2 LE][len bytes]. flags bit 0
// makes the record an honest upload (its ID is replaced by the HMAC of its
// data, so the accept path is reached); bit 1 sends it twice.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "coordinator/validate.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using shoebox::fuzz::Check;
using shoebox::fuzz::CheckRefusal;
namespace v1 = shoebox::v1;
namespace co = shoebox::coordinator;

constexpr uint32_t kMaxChunk = 8192;

shoebox::Key256 FixedKey(uint8_t seed) {
  shoebox::Key256 k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 31 + seed);
  return k;
}

std::string& Root() {
  static std::string* r = new std::string;
  return *r;
}

struct Env {
  shoebox::Key256 id_key = FixedKey(7);
  shoebox::HmacSha256 id_hmac{shoebox::ByteSpan(id_key.data(), id_key.size())};
  std::unique_ptr<shoebox::ChunkStore> store;
  std::unique_ptr<shoebox::SealedChunkStore> sealed;

  Env() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    Root() = std::string(base) + "/shoebox-fuzz-put-chunks-" + std::to_string(getpid());
    std::filesystem::remove_all(Root());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Root(), ec);
    });
    auto s = shoebox::OpenDirChunkStore(Root());
    if (!s.ok()) abort();
    store = std::move(*s);
    sealed = std::make_unique<shoebox::SealedChunkStore>(store.get(), FixedKey(99));
  }
};

Env& E() {
  static Env* e = new Env();
  return *e;
}

void HandleOne(const v1::PutChunkRequest& req) {
  Env& e = E();
  shoebox::ChunkId id;
  absl::Status st = co::CheckChunkUpload(req, e.id_hmac, kMaxChunk, &id);
  if (!st.ok()) return CheckRefusal(st);
  Check(shoebox::DigestToString(id) == req.id());
  Check(!req.data().empty() && req.data().size() <= kMaxChunk);
  Check(e.id_hmac.Compute(req.data()) == id);
  // What Catalog::PutChunk does next for a chunk not yet stored.
  absl::StatusOr<uint64_t> put = e.sealed->PutPlain(id, shoebox::AsBytes(req.data()));
  Check(put.ok() && *put > 0);
  absl::StatusOr<std::string> back = e.sealed->GetPlain(id);
  Check(back.ok() && *back == req.data());
  absl::StatusOr<uint64_t> stat = e.store->Stat(id);
  Check(stat.ok() && *stat == *put);
  Check(e.store->Delete(id).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t pos = 0;
  while (pos + 3 <= size) {
    const uint8_t flags = data[pos];
    size_t len = data[pos + 1] | (static_cast<size_t>(data[pos + 2]) << 8);
    pos += 3;
    if (len > size - pos) len = size - pos;
    v1::PutChunkRequest req;
    const bool parsed = req.ParseFromArray(data + pos, static_cast<int>(len));
    pos += len;
    if (!parsed) continue;  // gRPC ends the stream on a message it cannot parse
    if (flags & 1) req.set_id(shoebox::DigestToString(E().id_hmac.Compute(req.data())));
    HandleOne(req);
    if (flags & 2) HandleOne(req);
  }
  return 0;
}
