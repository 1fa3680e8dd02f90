// A small S3 client over the common HTTP client (common/http) with our own
// SigV4 signer: single and multipart uploads streamed from a ByteSource,
// HEAD, GET (streamed), DELETE, ListObjectsV2 with pagination. Used by the S3
// connector (workers/connectors/s3_connector) and the S3 chunk store
// backend (common/s3/s3_chunkstore).
//
// Errors (every message names the bucket/key and the endpoint):
//   5xx, 429, SlowDown, timeouts, connection failures → UNAVAILABLE, with the
//     server's Retry-After as the common/retry.h hint;
//   403 SignatureDoesNotMatch / InvalidAccessKeyId / expired token, 401 → UNAUTHENTICATED;
//   403 AccessDenied → PERMISSION_DENIED;
//   NoSuchBucket → FAILED_PRECONDITION naming the bucket;
//   404 / NoSuchKey → NOT_FOUND;
//   EntityTooLarge, QuotaExceeded, other 4xx → FAILED_PRECONDITION;
//   BadDigest / XAmzContentSHA256Mismatch → DATA_LOSS.
//
// Retries: a call that is one request (Head, PutBytes, a single PutStream,
// Get, GetBytes, Delete, the first page of List) is not retried here: wrap
// the caller in a retrying wrapper (RetryingChunkStore, RetryingConnector).
// The requests a wrapper cannot replay alone, the parts, start, completion
// and abort of a multipart upload and the later pages of a List, are retried
// here through common/retry.h with retry_policy().
//
// Thread-safe; connections are kept alive and reused.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/byte_source.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "common/retry.h"
#include "common/s3/sigv4.h"

namespace shoebox::s3 {

using http::ByteSource;

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

// How S3 requests are retried (here and by the wrappers around S3 users):
// three attempts, waits of up to 0.4 s and 1.6 s; a Retry-After longer than
// that goes back to the caller.
BackoffPolicy S3RetryPolicy();

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
  // `progress` gets the bytes read since its previous call.
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
  const BackoffPolicy& retry_policy() const { return retry_policy_; }

 private:
  // One S3 request before signing.
  struct Call {
    std::string method = "GET";
    std::string key;  // ignored when bucket_level
    bool bucket_level = false;
    http::QueryParams query;
    http::Headers headers;
    // Body: from memory, or `src_len` bytes of `src` (current position).
    std::string_view body;
    ByteSource* src = nullptr;
    uint64_t src_len = 0;
    std::string payload_hash;  // empty: SHA-256 of `body` (or UNSIGNED-PAYLOAD)
    std::function<absl::Status(std::string_view)> sink;
    std::function<void(uint64_t)> on_sent;
  };

  S3Client(S3Config config, http::UrlParts endpoint);
  // Signs and sends; any HTTP answer is OK.
  absl::StatusOr<http::Response> Send(const Call& c) const;
  // Send, with non-2xx answers mapped by MapError (`op` names the operation).
  absl::StatusOr<http::Response> SendOk(const Call& c, const std::string& op) const;
  // SendOk, retried through common/retry.h (replayable requests only).
  absl::StatusOr<http::Response> SendOkRetrying(const Call& c, const std::string& op) const;
  absl::Status MapError(const http::Response& resp, const std::string& op,
                        const std::string& key) const;
  absl::Status PutMultipart(const std::string& key, ByteSource* src, uint64_t size,
                            const S3Metadata& meta, const std::function<void(uint64_t)>& progress);
  std::string ObjectName(const std::string& key) const;

  const S3Config config_;
  const http::UrlParts endpoint_;
  const BackoffPolicy retry_policy_;
  const std::unique_ptr<http::Client> http_;
};

}  // namespace shoebox::s3
