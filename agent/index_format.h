// On-disk format of the agent's RocksDB state (index and outbox values and
// the keys that address them). One file so that the format has one owner.
//
// Index key:   folder_id (4 bytes, big-endian) ‖ dir ‖ 0x00 ‖ name
//              dir is the '/'-separated path of the parent directory relative
//              to the folder root ("" for the root itself); name is one path
//              component. Neither contains NUL, so the key is unambiguous and
//              the direct children of a directory share the prefix
//              folder_id ‖ dir ‖ 0x00.
// Outbox key:  the same bytes as the index key of the path it describes (one
//              pending change per path: a newer change replaces an older one).
//
// Value layout (both kinds), all integers little-endian:
//   offset 0  1 byte   magic ('I' index entry, 'O' outbox entry)
//   offset 1  1 byte   format version (1)
//   ...       fields, see EncodeIndexEntry / EncodeOutboxEntry
//   last 4    CRC-32C of every preceding byte
// A value that is truncated, has a wrong magic, an unknown version or a bad
// checksum decodes to DATA_LOSS.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/hash.h"

namespace shoebox::agent {

inline constexpr uint8_t kIndexMagic = 'I';
inline constexpr uint8_t kOutboxMagic = 'O';
inline constexpr uint8_t kFormatVersion = 1;

// What stat(2) says about a path; what change detection compares.
struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t dev = 0;
  uint32_t mode = 0;  // full st_mode (type and permission bits)

  // True when content may have changed: size, mtime, ctime or inode differ.
  bool SameContentAs(const FileStat& o) const {
    return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns && inode == o.inode;
  }
};

struct ChunkEntry {
  ChunkId id{};
  uint32_t size = 0;
};

enum class EntryKind : uint8_t { kFile = 1, kDir = 2 };

// Where a file's current content stands with the coordinator.
enum class ReportState : uint8_t {
  kQueued = 1,  // in the outbox, not yet fully acknowledged
  kAcked = 2,   // reported and every chunk stored
};

struct IndexEntry {
  EntryKind kind = EntryKind::kFile;
  FileStat stat;
  ReportState state = ReportState::kQueued;
  Digest sha256{};                 // files only
  std::vector<ChunkEntry> chunks;  // files only, in file order
};

enum class OutboxOp : uint8_t { kUpsert = 1, kDelete = 2 };

struct OutboxEntry {
  // Increases with every change written; an acknowledgement for an older
  // generation never removes a newer pending change of the same path.
  uint64_t generation = 0;
  OutboxOp op = OutboxOp::kUpsert;
  FileStat stat;                   // upserts: what was read
  Digest sha256{};                 // upserts only
  std::vector<ChunkEntry> chunks;  // upserts only
  int64_t queued_unix_ms = 0;
};

std::string EncodeIndexEntry(const IndexEntry& e);
// with_chunks = false skips the chunk list (change detection needs only the
// stat); the checksum is verified either way.
absl::StatusOr<IndexEntry> DecodeIndexEntry(std::string_view v, bool with_chunks = true);
std::string EncodeOutboxEntry(const OutboxEntry& e);
absl::StatusOr<OutboxEntry> DecodeOutboxEntry(std::string_view v);

// Keys.
std::string MakeKey(uint32_t folder_id, std::string_view dir, std::string_view name);
// Prefix of the direct children of `dir`.
std::string ChildrenPrefix(uint32_t folder_id, std::string_view dir);
// Prefix of every key of `folder_id`.
std::string FolderPrefix(uint32_t folder_id);
struct KeyParts {
  uint32_t folder_id = 0;
  std::string dir;
  std::string name;
  // dir/name, or name when dir is empty.
  std::string RelPath() const { return dir.empty() ? name : dir + "/" + name; }
};
absl::StatusOr<KeyParts> ParseKey(std::string_view key);
// Splits a relative path into (dir, name) at the last '/'.
void SplitRelPath(std::string_view rel, std::string* dir, std::string* name);
// Joins dir and name.
std::string JoinRel(std::string_view dir, std::string_view name);

// CRC-32C (Castagnoli), software table implementation.
uint32_t Crc32c(std::string_view data);

}  // namespace shoebox::agent
