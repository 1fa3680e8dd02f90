#include "common/fsutil.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox {

absl::Status FsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open directory ", PrintablePath(dir)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoToStatus(err, absl::StrCat("fsync directory ", PrintablePath(dir)));
  return absl::OkStatus();
}

absl::Status WriteAllTo(int fd, std::string_view bytes, const std::string& path) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("write ", PrintablePath(path)));
    }
    off += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

namespace {

constexpr size_t kDirectAlign = 4096;

size_t RoundUp(size_t n) { return (n + kDirectAlign - 1) / kDirectAlign * kDirectAlign; }

// Direct I/O only where it is known to behave: local disk file systems.
// (On NFS every O_DIRECT write is a synchronous round trip; FUSE and tmpfs
// may refuse it.)
bool DirectIoSuits(int fd) {
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2/ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
      return true;
    default:
      return false;
  }
}

bool SetDirect(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return false;
  return ::fcntl(fd, F_SETFL, on ? (fl | O_DIRECT) : (fl & ~O_DIRECT)) == 0;
}

// pwrite(2)s all of [p, p + len) at `off`; 0 or an errno value. When the
// first write with O_DIRECT is refused (EINVAL), `*direct` turns false and
// the rest goes through plain writes.
int PwriteAll(int fd, const uint8_t* p, size_t len, uint64_t off, bool* direct) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = ::pwrite(fd, p + done, len - done, static_cast<off_t>(off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && *direct && done == 0) {  // O_DIRECT refused here: plain writes
        *direct = false;
        SetDirect(fd, false);
        continue;
      }
      return errno;
    }
    done += static_cast<size_t>(w);
  }
  return 0;
}

}  // namespace

absl::Status WriteNewFileDirect(int fd, std::string_view bytes, const std::string& path) {
  thread_local AlignedBytes buf;
  if (buf.Reserve(bytes.size()) == nullptr) return WriteAllTo(fd, bytes, path);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  return WriteNewFileDirect(fd, buf, bytes.size(), path);
}

AlignedBytes::~AlignedBytes() { std::free(data_); }

uint8_t* AlignedBytes::Reserve(size_t n) {
  const size_t want = RoundUp(std::max<size_t>(n, 1));
  if (cap_ < want) {
    void* p = nullptr;
    if (::posix_memalign(&p, kDirectAlign, want) != 0) return nullptr;
    std::free(data_);
    data_ = static_cast<uint8_t*>(p);
    cap_ = want;
  }
  return data_;
}

absl::Status WriteNewFileDirect(int fd, AlignedBytes& buf, size_t n, const std::string& path) {
  const size_t padded = RoundUp(n);
  if (n == 0 || buf.capacity() < padded || !DirectIoSuits(fd) || !SetDirect(fd, true)) {
    return WriteAllTo(fd, std::string_view(reinterpret_cast<const char*>(buf.data()), n), path);
  }
  std::memset(buf.data() + n, 0, padded - n);
  bool direct = true;
  int e = PwriteAll(fd, buf.data(), padded, 0, &direct);
  if (direct) SetDirect(fd, false);
  if (e != 0) return ErrnoToStatus(e, absl::StrCat("write ", PrintablePath(path)));
  if (padded != n && ::ftruncate(fd, static_cast<off_t>(n)) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("truncate ", PrintablePath(path)));
  }
  return absl::OkStatus();
}

absl::Status ReadWholeFileDirect(int fd, size_t size, const std::string& path, AlignedBytes* out,
                                 size_t* got) {
  *got = 0;
  uint8_t* buf = out->Reserve(size);
  if (buf == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory reading ", PrintablePath(path)));
  }
  const size_t padded = RoundUp(size);
  auto buffered = [&]() -> absl::Status {
    size_t off = 0;
    while (off < size) {
      ssize_t r = ::pread(fd, buf + off, size - off, static_cast<off_t>(off));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus(errno, absl::StrCat("read ", PrintablePath(path)));
      }
      if (r == 0) break;
      off += static_cast<size_t>(r);
    }
    *got = off;
    return absl::OkStatus();
  };
  if (padded == 0 || !DirectIoSuits(fd) || !SetDirect(fd, true)) return buffered();
  size_t off = 0;
  while (off < padded) {
    ssize_t r = ::pread(fd, buf + off, padded - off, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      SetDirect(fd, false);
      if (e == EINVAL && off == 0) return buffered();
      return ErrnoToStatus(e, absl::StrCat("read ", PrintablePath(path)));
    }
    if (r == 0) break;
    off += static_cast<size_t>(r);
    if (off % kDirectAlign != 0) break;  // end of file
  }
  SetDirect(fd, false);
  *got = std::min(off, size);
  return absl::OkStatus();
}

absl::Status ReadWholeFileDirect(int fd, size_t size, const std::string& path, std::string* out) {
  thread_local AlignedBytes buf;
  size_t got = 0;
  RETURN_IF_ERROR(ReadWholeFileDirect(fd, size, path, &buf, &got));
  out->assign(reinterpret_cast<const char*>(buf.data()), got);
  return absl::OkStatus();
}

namespace {
constexpr size_t kWriterBlock = 1 << 20;
}  // namespace

DirectFileWriter::DirectFileWriter(int fd, bool direct)
    : fd_(fd), direct_(direct && DirectIoSuits(fd)) {
  void* p = nullptr;
  if (::posix_memalign(&p, kDirectAlign, kWriterBlock) != 0) p = nullptr;
  buf_ = static_cast<uint8_t*>(p);
  if (buf_ == nullptr || (direct_ && !SetDirect(fd_, true))) direct_ = false;
}

DirectFileWriter::~DirectFileWriter() {
  if (direct_) SetDirect(fd_, false);
  std::free(buf_);
}

int DirectFileWriter::Flush(size_t len) {
  if (int e = PwriteAll(fd_, buf_, len, off_, &direct_); e != 0) return e;
  off_ += len;
  return 0;
}

int DirectFileWriter::Write(const uint8_t* data, size_t n) {
  if (buf_ == nullptr) return ENOMEM;
  total_ += n;
  while (n > 0) {
    size_t take = std::min(n, kWriterBlock - have_);
    std::memcpy(buf_ + have_, data, take);
    have_ += take;
    data += take;
    n -= take;
    if (have_ == kWriterBlock) {
      if (int e = Flush(have_); e != 0) return e;
      have_ = 0;
    }
  }
  return 0;
}

int DirectFileWriter::Finish() {
  if (buf_ == nullptr) return ENOMEM;
  if (have_ > 0) {
    size_t len = direct_ ? RoundUp(have_) : have_;
    std::memset(buf_ + have_, 0, len - have_);
    if (int e = Flush(len); e != 0) return e;
    have_ = 0;
  }
  if (direct_) SetDirect(fd_, false);
  if (off_ != total_ && ::ftruncate(fd_, static_cast<off_t>(total_)) != 0) return errno;
  return 0;
}

void DropCachedPages(int fd) { (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); }

}  // namespace shoebox
