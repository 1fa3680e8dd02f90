#include "agent/index_format.h"

#include <array>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace shoebox::agent {
namespace {

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0x82F63B78u ^ (c >> 1)) : (c >> 1);
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU8(std::string* s, uint8_t v) { s->push_back(static_cast<char>(v)); }
void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Reader {
 public:
  explicit Reader(std::string_view v) : v_(v) {}
  bool U8(uint8_t* out) {
    if (pos_ + 1 > v_.size()) return false;
    *out = static_cast<uint8_t>(v_[pos_++]);
    return true;
  }
  bool U32(uint32_t* out) {
    if (pos_ + 4 > v_.size()) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i)
      r |= static_cast<uint32_t>(static_cast<uint8_t>(v_[pos_ + i])) << (8 * i);
    pos_ += 4;
    *out = r;
    return true;
  }
  bool U64(uint64_t* out) {
    if (pos_ + 8 > v_.size()) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i)
      r |= static_cast<uint64_t>(static_cast<uint8_t>(v_[pos_ + i])) << (8 * i);
    pos_ += 8;
    *out = r;
    return true;
  }
  bool I64(int64_t* out) {
    uint64_t u;
    if (!U64(&u)) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (pos_ + n > v_.size()) return false;
    std::memcpy(out, v_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == v_.size(); }

 private:
  std::string_view v_;
  size_t pos_ = 0;
};

void PutStat(std::string* s, const FileStat& st) {
  PutU64(s, st.size);
  PutU64(s, static_cast<uint64_t>(st.mtime_ns));
  PutU64(s, static_cast<uint64_t>(st.ctime_ns));
  PutU64(s, st.inode);
  PutU64(s, st.dev);
  PutU32(s, st.mode);
}
bool GetStat(Reader* r, FileStat* st) {
  return r->U64(&st->size) && r->I64(&st->mtime_ns) && r->I64(&st->ctime_ns) &&
         r->U64(&st->inode) && r->U64(&st->dev) && r->U32(&st->mode);
}
void PutChunks(std::string* s, const std::vector<ChunkEntry>& chunks) {
  PutU32(s, static_cast<uint32_t>(chunks.size()));
  for (const ChunkEntry& c : chunks) {
    s->append(reinterpret_cast<const char*>(c.id.data()), c.id.size());
    PutU32(s, c.size);
  }
}
bool GetChunks(Reader* r, std::vector<ChunkEntry>* chunks, size_t remaining_hint) {
  uint32_t n;
  if (!r->U32(&n)) return false;
  if (static_cast<size_t>(n) * 36 > remaining_hint) return false;  // corrupt count
  chunks->resize(n);
  for (ChunkEntry& c : *chunks) {
    if (!r->Bytes(c.id.data(), c.id.size()) || !r->U32(&c.size)) return false;
  }
  return true;
}

void Seal(std::string* s) { PutU32(s, Crc32c(*s)); }

// Checks magic, version and checksum; returns the body without the checksum.
absl::StatusOr<std::string_view> Unseal(std::string_view v, uint8_t magic,
                                        const std::string& what) {
  if (v.size() < 6)
    return absl::DataLossError(absl::StrCat(what, ": value truncated (", v.size(), " bytes)"));
  std::string_view body = v.substr(0, v.size() - 4);
  Reader tail(v.substr(v.size() - 4));
  uint32_t crc = 0;
  tail.U32(&crc);
  if (Crc32c(body) != crc) return absl::DataLossError(absl::StrCat(what, ": checksum mismatch"));
  if (static_cast<uint8_t>(body[0]) != magic)
    return absl::DataLossError(absl::StrCat(what, ": wrong magic byte"));
  if (static_cast<uint8_t>(body[1]) != kFormatVersion) {
    return absl::DataLossError(
        absl::StrCat(what, ": unknown format version ", static_cast<int>(body[1])));
  }
  return body.substr(2);
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = kCrcTable[(c ^ static_cast<uint8_t>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string EncodeIndexEntry(const IndexEntry& e) {
  std::string s;
  s.reserve(64 + e.chunks.size() * 36);
  PutU8(&s, kIndexMagic);
  PutU8(&s, kFormatVersion);
  PutU8(&s, static_cast<uint8_t>(e.kind));
  PutU8(&s, static_cast<uint8_t>(e.state));
  PutStat(&s, e.stat);
  if (e.kind == EntryKind::kFile) {
    s.append(reinterpret_cast<const char*>(e.sha256.data()), e.sha256.size());
    PutChunks(&s, e.chunks);
  }
  Seal(&s);
  return s;
}

absl::StatusOr<IndexEntry> DecodeIndexEntry(std::string_view v, bool with_chunks) {
  auto body = Unseal(v, kIndexMagic, "agent index entry");
  if (!body.ok()) return body.status();
  Reader r(*body);
  IndexEntry e;
  uint8_t kind = 0, state = 0;
  bool ok = r.U8(&kind) && r.U8(&state) && GetStat(&r, &e.stat);
  if (ok && kind != static_cast<uint8_t>(EntryKind::kFile) &&
      kind != static_cast<uint8_t>(EntryKind::kDir))
    ok = false;
  if (ok && state != static_cast<uint8_t>(ReportState::kQueued) &&
      state != static_cast<uint8_t>(ReportState::kAcked)) {
    ok = false;
  }
  e.kind = static_cast<EntryKind>(kind);
  e.state = static_cast<ReportState>(state);
  if (ok && e.kind == EntryKind::kFile) {
    ok = r.Bytes(e.sha256.data(), e.sha256.size());
    if (ok && !with_chunks) return e;
    ok = ok && GetChunks(&r, &e.chunks, body->size());
  }
  if (!ok || !r.done()) return absl::DataLossError("agent index entry: malformed fields");
  return e;
}

std::string EncodeOutboxEntry(const OutboxEntry& e) {
  std::string s;
  s.reserve(80 + e.chunks.size() * 36);
  PutU8(&s, kOutboxMagic);
  PutU8(&s, kFormatVersion);
  PutU8(&s, static_cast<uint8_t>(e.op));
  PutU64(&s, e.generation);
  PutU64(&s, static_cast<uint64_t>(e.queued_unix_ms));
  PutStat(&s, e.stat);
  if (e.op == OutboxOp::kUpsert) {
    s.append(reinterpret_cast<const char*>(e.sha256.data()), e.sha256.size());
    PutChunks(&s, e.chunks);
  }
  Seal(&s);
  return s;
}

absl::StatusOr<OutboxEntry> DecodeOutboxEntry(std::string_view v) {
  auto body = Unseal(v, kOutboxMagic, "agent outbox entry");
  if (!body.ok()) return body.status();
  Reader r(*body);
  OutboxEntry e;
  uint8_t op = 0;
  bool ok = r.U8(&op) && r.U64(&e.generation) && r.I64(&e.queued_unix_ms) && GetStat(&r, &e.stat);
  if (ok && op != static_cast<uint8_t>(OutboxOp::kUpsert) &&
      op != static_cast<uint8_t>(OutboxOp::kDelete))
    ok = false;
  e.op = static_cast<OutboxOp>(op);
  if (ok && e.op == OutboxOp::kUpsert) {
    ok = r.Bytes(e.sha256.data(), e.sha256.size()) && GetChunks(&r, &e.chunks, body->size());
  }
  if (!ok || !r.done()) return absl::DataLossError("agent outbox entry: malformed fields");
  return e;
}

std::string FolderPrefix(uint32_t folder_id) {
  std::string k(4, '\0');
  k[0] = static_cast<char>((folder_id >> 24) & 0xff);
  k[1] = static_cast<char>((folder_id >> 16) & 0xff);
  k[2] = static_cast<char>((folder_id >> 8) & 0xff);
  k[3] = static_cast<char>(folder_id & 0xff);
  return k;
}

std::string ChildrenPrefix(uint32_t folder_id, std::string_view dir) {
  std::string k = FolderPrefix(folder_id);
  k.append(dir);
  k.push_back('\0');
  return k;
}

std::string MakeKey(uint32_t folder_id, std::string_view dir, std::string_view name) {
  std::string k = ChildrenPrefix(folder_id, dir);
  k.append(name);
  return k;
}

absl::StatusOr<KeyParts> ParseKey(std::string_view key) {
  if (key.size() < 6) return absl::DataLossError("agent state key: too short");
  KeyParts p;
  p.folder_id = (static_cast<uint32_t>(static_cast<uint8_t>(key[0])) << 24) |
                (static_cast<uint32_t>(static_cast<uint8_t>(key[1])) << 16) |
                (static_cast<uint32_t>(static_cast<uint8_t>(key[2])) << 8) |
                static_cast<uint32_t>(static_cast<uint8_t>(key[3]));
  std::string_view rest = key.substr(4);
  size_t nul = rest.find('\0');
  if (nul == std::string_view::npos || nul + 1 >= rest.size()) {
    return absl::DataLossError("agent state key: no directory separator or empty name");
  }
  p.dir = std::string(rest.substr(0, nul));
  p.name = std::string(rest.substr(nul + 1));
  return p;
}

void SplitRelPath(std::string_view rel, std::string* dir, std::string* name) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) {
    dir->clear();
    *name = std::string(rel);
  } else {
    *dir = std::string(rel.substr(0, slash));
    *name = std::string(rel.substr(slash + 1));
  }
}

std::string JoinRel(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string r;
  r.reserve(dir.size() + 1 + name.size());
  r.append(dir);
  r.push_back('/');
  r.append(name);
  return r;
}

}  // namespace shoebox::agent
