#include "common/http/form_body.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"

namespace shoebox::http {
namespace {

std::string NewBoundary() {
  uint8_t rnd[16];
  SecureRandom(rnd, sizeof(rnd));
  return absl::StrCat("shoebox-", ToHex(ByteSpan(rnd, sizeof(rnd))));
}

std::string QuoteName(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"')
      out += "%22";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace

FormFileBody::FormFileBody(const std::string& field, const std::string& filename,
                           const std::string& mime, ByteSource* file, uint64_t file_size)
    : boundary_(NewBoundary()),
      head_(absl::StrCat("--", boundary_, "\r\nContent-Disposition: form-data; name=\"",
                         QuoteName(field), "\"; filename=\"", QuoteName(filename),
                         "\"\r\nContent-Type: ", mime, "\r\n\r\n")),
      tail_(absl::StrCat("\r\n--", boundary_, "--\r\n")),
      file_(file),
      file_size_(file_size) {}

std::string FormFileBody::content_type() const {
  return absl::StrCat("multipart/form-data; boundary=", boundary_);
}

uint64_t FormFileBody::FileBytesIn(uint64_t body_bytes) const {
  if (body_bytes <= head_.size()) return 0;
  return std::min<uint64_t>(body_bytes - head_.size(), file_size_);
}

absl::StatusOr<size_t> FormFileBody::Read(uint8_t* buf, size_t max) {
  const uint64_t file_end = head_.size() + file_size_;
  if (pos_ < head_.size()) {
    size_t n = std::min<size_t>(max, head_.size() - pos_);
    std::memcpy(buf, head_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  if (pos_ < file_end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, file_end - pos_));
    ASSIGN_OR_RETURN(size_t n, file_->Read(buf, want));
    pos_ += n;
    return n;  // 0 here is the file ending early: the client reports it
  }
  const uint64_t in_tail = pos_ - file_end;
  if (in_tail >= tail_.size()) return size_t{0};
  size_t n = std::min<size_t>(max, tail_.size() - in_tail);
  std::memcpy(buf, tail_.data() + in_tail, n);
  pos_ += n;
  return n;
}

absl::Status FormFileBody::Seek(uint64_t offset) {
  if (offset > size())
    return absl::OutOfRangeError(absl::StrCat("seek to ", offset, " past the end of a form body"));
  const uint64_t in_file =
      std::min<uint64_t>(file_size_, offset > head_.size() ? offset - head_.size() : 0);
  RETURN_IF_ERROR(file_->Seek(in_file));
  pos_ = offset;
  return absl::OkStatus();
}

}  // namespace shoebox::http
