// A small S3 client over libcurl with our own SigV4 signer: single and
// multipart uploads streamed from a ByteSource, HEAD, GET (streamed), DELETE,
// ListObjectsV2 with pagination. Used by the S3 connector and the S3 chunk
// store backend.
//
// Errors (every message names the bucket/key and the endpoint):
//   5xx, 429, SlowDown, timeouts, connection failures → UNAVAILABLE, with the
//     server's Retry-After (seconds) as payload "shoebox.retry_after_ms";
//   403 SignatureDoesNotMatch / InvalidAccessKeyId / expired token → UNAUTHENTICATED;
//   403 AccessDenied → PERMISSION_DENIED;
//   NoSuchBucket → FAILED_PRECONDITION naming the bucket;
//   404 / NoSuchKey → NOT_FOUND;
//   EntityTooLarge, QuotaExceeded, other 4xx → FAILED_PRECONDITION;
//   BadDigest / XAmzContentSHA256Mismatch → DATA_LOSS.
// Thread-safe: each calling thread uses its own curl handle (connections are
// kept alive per thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "workers/connector.h"
#include "workers/connectors/s3_sigv4.h"

namespace shoebox::worker::s3 {

struct S3Config {
  // "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com", ... Empty:
  // AWS, "https://s3.<region>.amazonaws.com".
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path style (http://host/bucket/key) or virtual-host style
  // (http://bucket.host/key).
  bool path_style = true;
  SigV4Credentials credentials;
  // Sign the payload's SHA-256 (servers then verify the body) or send
  // UNSIGNED-PAYLOAD.
  bool sign_payload = true;
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
  int parallel_parts = 4;
  bool verify_tls = true;
  std::string ca_file;  // empty: system CAs
  int connect_timeout_ms = 10000;
  // A transfer slower than 1 byte/s for this long is a timeout (UNAVAILABLE).
  int stall_timeout_s = 60;
  // Extra name resolution ("host:port:address", as curl --resolve), e.g. for
  // virtual-host style against a server on loopback.
  std::vector<std::string> resolve;
};

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes
  // x-amz-meta-* headers, names lower-case without the prefix.
  std::map<std::string, std::string> metadata;
};

using S3Metadata = std::map<std::string, std::string>;

class S3Client {
 public:
  static absl::StatusOr<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();

  absl::StatusOr<S3ObjectInfo> Head(const std::string& key);
  // Small object from memory (chunk store blobs).
  absl::Status PutBytes(const std::string& key, std::string_view body, const S3Metadata& meta);
  // Streams `size` bytes from `src` (from its current position 0). Multipart
  // above multipart_threshold with parallel parts; on any failure the
  // multipart upload is aborted and nothing appears under `key`.
  // `sha256_hex`: the payload's SHA-256 if the caller knows it (saves a pass);
  // otherwise the client hashes the source first when sign_payload is set.
  absl::Status PutStream(const std::string& key, ByteSource* src, uint64_t size,
                         const std::string& sha256_hex, const S3Metadata& meta,
                         const std::function<void(uint64_t)>& progress);
  absl::Status Get(const std::string& key,
                   const std::function<absl::Status(std::string_view)>& sink);
  absl::StatusOr<std::string> GetBytes(const std::string& key);
  // Deleting a missing key is not an error.
  absl::Status Delete(const std::string& key);
  // Every object whose key starts with `prefix`, in key order, paginated.
  absl::Status List(const std::string& prefix,
                    const std::function<absl::Status(const S3ObjectInfo&)>& fn);

  std::string Describe() const;
  const S3Config& config() const { return config_; }

  struct Request;
  struct Response;

 private:
  explicit S3Client(S3Config config);
  absl::StatusOr<Response> Perform(const Request& r);
  absl::StatusOr<Response> PerformWithRetry(const Request& r);
  absl::Status MapError(const Response& resp, const std::string& method, const std::string& key) const;
  absl::Status PutMultipart(const std::string& key, ByteSource* src, uint64_t size,
                            const S3Metadata& meta, const std::function<void(uint64_t)>& progress);
  std::string ObjectName(const std::string& key) const;

  const S3Config config_;
  std::string scheme_, host_, base_path_;
  int port_ = 0;
};

// XML helpers (exposed for tests): first inner text of <tag>, unescaped;
// every <tag>...</tag> block.
std::string XmlText(absl::string_view xml, absl::string_view tag);
std::vector<absl::string_view> XmlBlocks(absl::string_view xml, absl::string_view tag);
std::string XmlUnescape(absl::string_view s);
std::string XmlEscape(absl::string_view s);

}  // namespace shoebox::worker::s3
