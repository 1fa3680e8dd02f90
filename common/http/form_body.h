// A multipart/form-data request body with one file part, streamed from a
// ByteSource (RFC 7578): what an HTML form upload sends, and what the rclone
// rc API's operations/uploadfile takes.
#pragma once

#include <cstdint>
#include <string>

#include "common/http/byte_source.h"

namespace shoebox::http {

class FormFileBody final : public ByteSource {
 public:
  // The part is named `field` with file name `filename` ('"', CR and LF are
  // percent-encoded as browsers do) and type `mime`; its bytes are the first
  // `file_size` bytes of `file` (borrowed; read from offset 0).
  FormFileBody(const std::string& field, const std::string& filename, const std::string& mime,
               ByteSource* file, uint64_t file_size);

  // The value of the request's Content-Type header.
  std::string content_type() const;
  // How many of the whole body's first `body_bytes` bytes are file bytes.
  uint64_t FileBytesIn(uint64_t body_bytes) const;

  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override;
  absl::Status Seek(uint64_t offset) override;
  uint64_t size() const override { return head_.size() + file_size_ + tail_.size(); }

 private:
  const std::string boundary_;
  const std::string head_;
  const std::string tail_;
  ByteSource* const file_;
  const uint64_t file_size_;
  uint64_t pos_ = 0;
};

}  // namespace shoebox::http
