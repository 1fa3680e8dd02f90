// Small file-system helpers shared by the stores and connectors that write
// durably (temp file + fsync + rename + directory fsync).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace shoebox {

// The mode bits a backup records and a restore applies: read, write and
// execute for owner, group and others. Never setuid, setgid or sticky: a
// compromised device must not make an admin's (root) restore write a
// setuid-root file (issue 17). Applied at report (agent), at ingest
// (coordinator) and at restore (CLI).
inline constexpr uint32_t kPermissionBits = 0777;

// fsyncs the directory `dir` so a rename or create inside it is durable.
// Errors name the directory (ErrnoToStatus codes: ENOSPC → RESOURCE_EXHAUSTED, ...).
absl::Status FsyncDirectory(const std::string& dir);

// write(2)s all of `bytes` to `fd`, retrying short writes and EINTR. Errors
// name `path` (ENOSPC → RESOURCE_EXHAUSTED, ...).
absl::Status WriteAllTo(int fd, std::string_view bytes, const std::string& path);

// Writes all of `bytes` to `fd`, a new empty file, bypassing the page cache
// where the file system allows it (copied into a per-thread AlignedBytes and
// written as WriteNewFileDirect(fd, buf, n) below does: O_DIRECT through
// 4 KiB-aligned blocks, the file padded to a block and truncated back), with
// plain writes otherwise. For data written once and fsynced: on VMs whose
// memory is backed lazily by the host, filling fresh page-cache pages costs
// far more than the write itself (docs/performance.md).
absl::Status WriteNewFileDirect(int fd, std::string_view bytes, const std::string& path);

// A growable byte buffer aligned to 4 KiB whose capacity is whole 4 KiB
// blocks, so what is built in it can be written with O_DIRECT in place
// (WriteNewFileDirect below) instead of being copied to an aligned buffer.
class AlignedBytes {
 public:
  AlignedBytes() = default;
  ~AlignedBytes();
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  // Room for at least `n` bytes plus the padding to the next 4 KiB block;
  // the contents are not kept when it grows. nullptr when out of memory.
  uint8_t* Reserve(size_t n);
  uint8_t* data() { return data_; }
  size_t capacity() const { return cap_; }

 private:
  uint8_t* data_ = nullptr;
  size_t cap_ = 0;
};

// WriteNewFileDirect for the first `n` bytes of `buf` (filled after a
// Reserve(n) or larger): written where they are, the last block padded with
// zeros in buf's spare capacity, the file truncated back to `n`.
absl::Status WriteNewFileDirect(int fd, AlignedBytes& buf, size_t n, const std::string& path);

// Reads the whole of `fd` (`size` bytes by fstat) into `out`, bypassing the
// page cache where the file system allows it (see WriteNewFileDirect).
// Returns fewer bytes if the file is shorter; errors name `path`.
absl::Status ReadWholeFileDirect(int fd, size_t size, const std::string& path, std::string* out);
// The same into `out` without a copy; `*got` is the number of bytes read.
absl::Status ReadWholeFileDirect(int fd, size_t size, const std::string& path, AlignedBytes* out,
                                 size_t* got);

// Streams bytes into `fd`, a new empty file, like WriteNewFileDirect: whole
// aligned blocks with O_DIRECT, the last one padded and the file truncated
// back on Finish; plain writes when `direct` is false, or where the file
// system is not a local disk one (ext4, XFS, Btrfs) or refuses O_DIRECT.
// Write/Finish return 0 or an errno value, for callers that map errno to
// their own messages.
class DirectFileWriter {
 public:
  explicit DirectFileWriter(int fd, bool direct = true);
  ~DirectFileWriter();
  DirectFileWriter(const DirectFileWriter&) = delete;
  DirectFileWriter& operator=(const DirectFileWriter&) = delete;
  int Write(const uint8_t* data, size_t n);
  int Finish();

 private:
  int Flush(size_t len);  // writes buf_[0, len) at off_
  int fd_;
  bool direct_;
  uint8_t* buf_ = nullptr;
  size_t have_ = 0;
  uint64_t off_ = 0;    // file offset of buf_[0]
  uint64_t total_ = 0;  // bytes accepted
};

// Best effort: asks the kernel to drop the clean cached pages of `fd`. Called
// after an fsync on what Shoebox writes once and does not read back soon
// (chunks, delivered files, restored files) and after reading a chunk, so a
// backup of a large library neither pushes the machine's working set out of
// the page cache nor pays for growing it (see docs/performance.md: on this
// project's VMs, filling fresh page-cache pages cost ~2.4 CPU-seconds per GB).
void DropCachedPages(int fd);

}  // namespace shoebox
