#include "common/http/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox::http {
namespace {

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    size_t n = std::min(max, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  absl::Status Seek(uint64_t offset) override {
    if (offset > data_.size()) {
      return absl::OutOfRangeError(
          absl::StrCat("seek to ", offset, " past the end of a ", data_.size(), "-byte source"));
    }
    pos_ = offset;
    return absl::OkStatus();
  }
  uint64_t size() const override { return data_.size(); }

 private:
  const std::string data_;
  size_t pos_ = 0;
};

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (pos_ >= size_) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, size_ - pos_));
    for (;;) {
      ssize_t n = ::pread(fd_, buf, want, static_cast<off_t>(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoToStatus(errno, absl::StrCat("read ", PrintablePath(path_)));
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("file ", PrintablePath(path_),
                                                " shrank while being read; it will be retried"));
      }
      pos_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }
  absl::Status Seek(uint64_t offset) override {
    if (offset > size_)
      return absl::OutOfRangeError("seek past the end of " + PrintablePath(path_));
    pos_ = offset;
    return absl::OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  const int fd_;
  const uint64_t size_;
  const std::string path_;
  uint64_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> MakeStringSource(std::string data) {
  return std::make_unique<StringSource>(std::move(data));
}

absl::StatusOr<std::unique_ptr<ByteSource>> MakeFileSource(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open " + PrintablePath(path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoToStatus(e, "stat " + PrintablePath(path));
  }
  return std::make_unique<FileSource>(fd, static_cast<uint64_t>(st.st_size), path);
}

absl::Status ReadExactly(ByteSource* src, uint64_t n, std::string* out, const std::string& what) {
  out->resize(n);
  uint64_t got = 0;
  while (got < n) {
    ASSIGN_OR_RETURN(size_t k, src->Read(reinterpret_cast<uint8_t*>(out->data()) + got, n - got));
    if (k == 0) {
      return absl::DataLossError(
          absl::StrCat("the source of ", what, " ended after ", got, " of ", n, " bytes"));
    }
    got += k;
  }
  return absl::OkStatus();
}

}  // namespace shoebox::http
