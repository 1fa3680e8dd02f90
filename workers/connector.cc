#include "workers/connector.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"

namespace shoebox::worker {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ConnectorFactory> kinds;
};

Registry& GetRegistry() {
  static Registry* r = new Registry();  // never destroyed: used at static init/exit
  return *r;
}

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
  FileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
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
    if (offset > size_) return absl::OutOfRangeError("seek past the end of " + PrintablePath(path_));
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

bool RegisterConnectorKind(const std::string& kind, ConnectorFactory factory) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  r.kinds[kind] = std::move(factory);
  return true;
}

std::vector<std::string> RegisteredConnectorKinds() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> l(r.mu);
  std::vector<std::string> out;
  for (const auto& [k, _] : r.kinds) out.push_back(k);
  return out;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeConnector(const std::string& kind,
                                                          const nlohmann::json& settings,
                                                          const nlohmann::json& credentials) {
  ConnectorFactory f;
  {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> l(r.mu);
    auto it = r.kinds.find(kind);
    if (it != r.kinds.end()) f = it->second;
  }
  if (!f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "destination kind '", kind, "' is not supported by this worker (it supports: ",
        absl::StrJoin(RegisteredConnectorKinds(), ", "), "); run a worker built with it"));
  }
  if (!settings.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("destination settings for kind '", kind, "' must be a JSON object"));
  }
  const nlohmann::json empty = nlohmann::json::object();
  return f(settings, credentials.is_object() ? credentials : empty);
}

absl::Status WithRetryAfter(absl::Status s, uint32_t retry_after_ms) {
  s.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(retry_after_ms)));
  return s;
}

RetryClass ClassifyForRetry(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return RetryClass::kAuth;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
      // Retrying the same delivery cannot change these: bad settings, a
      // quota, a file the service refuses, a chunk missing or corrupt in the
      // chunk store (scrub/repair is the fix, not a retry).
      return RetryClass::kPermanent;
    case absl::StatusCode::kOk:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    default:
      return RetryClass::kRetryable;
  }
}

std::optional<uint32_t> RetryAfterMs(const absl::Status& s) {
  auto p = s.GetPayload(kRetryAfterPayload);
  if (!p.has_value()) return std::nullopt;
  uint32_t v = 0;
  if (!absl::SimpleAtoi(std::string(*p), &v)) return std::nullopt;
  return v;
}

}  // namespace shoebox::worker
