#include "common/chunkstore/chunkstore.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox {

namespace {

struct Registry {
  absl::Mutex mu;
  std::map<std::string, ChunkStoreFactory> factories ABSL_GUARDED_BY(mu);
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: used from static init
  return *r;
}

}  // namespace

void RegisterChunkStoreScheme(const std::string& scheme, ChunkStoreFactory f) {
  Registry& r = GetRegistry();
  absl::MutexLock lock(&r.mu);
  r.factories[scheme] = std::move(f);
}

absl::StatusOr<std::unique_ptr<ChunkStore>> OpenChunkStore(const std::string& location) {
  if (absl::StartsWith(location, "/")) return OpenDirChunkStore(location);
  if (absl::StartsWith(location, "file://")) {
    std::string path = location.substr(7);
    if (!absl::StartsWith(path, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("chunk store location '", PrintablePath(location),
                       "' must be file:///absolute/path (three slashes)"));
    }
    return OpenDirChunkStore(path);
  }
  size_t colon = location.find("://");
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk store location '", PrintablePath(location),
        "' is neither an absolute path nor a URL like file:///path or s3://bucket/prefix"));
  }
  std::string scheme = location.substr(0, colon);
  ChunkStoreFactory factory;
  {
    Registry& r = GetRegistry();
    absl::MutexLock lock(&r.mu);
    auto it = r.factories.find(scheme);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    return absl::UnimplementedError(absl::StrCat(
        "chunk store scheme '", PrintablePath(scheme), "' (in '", PrintablePath(location),
        "') is not available in this program; use a directory path, or a binary built with that "
        "backend"));
  }
  return factory(location);
}

namespace {
absl::Status NoNamedObjects(const ChunkStore& s) {
  return absl::UnimplementedError(
      absl::StrCat("chunk store ", s.Describe(),
                   " does not keep named objects (catalog snapshots); use a "
                   "directory or S3 chunk store"));
}
}  // namespace

absl::Status ChunkStore::PutNamed(const std::string&, std::string_view) {
  return NoNamedObjects(*this);
}
absl::StatusOr<std::string> ChunkStore::GetNamed(const std::string&) {
  return NoNamedObjects(*this);
}
absl::Status ChunkStore::DeleteNamed(const std::string&) { return NoNamedObjects(*this); }
absl::Status ChunkStore::ListNamed(
    const std::string&, const std::function<absl::Status(const std::string&, uint64_t)>&) {
  return NoNamedObjects(*this);
}

absl::Status ValidateObjectName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("object name '", PrintablePath(name), "' ", AbslView(why),
                     "; use components of A-Z a-z 0-9 . _ - joined by /"));
  };
  if (name.empty() || name.size() > 200) return bad("must be 1 to 200 bytes long");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view comp = name.substr(start, end - start);
    if (comp.empty()) return bad("has an empty component");
    if (comp.front() == '.') return bad("has a component starting with '.'");
    for (char c : comp) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      if (!ok) return bad("contains a character outside A-Z a-z 0-9 . _ -");
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SealedChunkStore::PutPlain(const ChunkId& id, ByteSpan plaintext,
                                                    Compression c) {
  // Sealed straight into an aligned per-thread buffer that the directory
  // backend writes in place: no zero-filled blob string, no copy.
  thread_local AlignedBytes buf;
  ASSIGN_OR_RETURN(size_t n, sealer_.SealTo(id, plaintext, c, &buf));
  RETURN_IF_ERROR(store_->PutAligned(id, buf, n));
  return n;
}

absl::StatusOr<ChunkStore::StagedPut> SealedChunkStore::StagePlain(const ChunkId& id,
                                                                   ByteSpan plaintext,
                                                                   uint64_t* stored_size,
                                                                   Compression c) {
  thread_local AlignedBytes buf;
  ASSIGN_OR_RETURN(size_t n, sealer_.SealTo(id, plaintext, c, &buf));
  ASSIGN_OR_RETURN(ChunkStore::StagedPut staged, store_->StagePutAligned(id, buf, n));
  *stored_size = n;
  return staged;
}

absl::StatusOr<std::string> SealedChunkStore::GetPlain(const ChunkId& id) {
  // Read into an aligned per-thread buffer (O_DIRECT, no copy), opened there.
  thread_local AlignedBytes buf;
  ASSIGN_OR_RETURN(size_t n, store_->GetAligned(id, buf));
  absl::StatusOr<std::string> plain =
      sealer_.Open(id, std::string_view(reinterpret_cast<const char*>(buf.data()), n));
  if (!plain.ok()) return Annotate(plain.status(), store_->Describe());
  return plain;
}

}  // namespace shoebox
