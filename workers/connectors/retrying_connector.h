// A Connector that retries another one: a call that fails with a retryable
// status (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED; common/retry.h) is made
// again with exponential backoff and full jitter, waiting at least as long
// as the server's Retry-After hint. A hint longer than the policy's
// max_delay returns the error at once with the hint attached, so that the
// worker reports it and the coordinator schedules the job (retry_after_ms).
//
// - Put rewinds the source before every attempt; it is retried only when
//   RetryOptions::retry_put is set (connectors whose uploads have their own
//   finer retries, such as S3's multipart parts, leave it off).
// - Get is retried only while no byte has reached the sink.
// - Stat, List, Delete, EnsureFolder and RecordChecksum are idempotent and
//   always retried.
//
// Retry is written here once; a connector factory that wants it wraps its
// connector (MakeS3Connector does). Thread-safe when the wrapped connector is.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/retry.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct RetryOptions {
  BackoffPolicy policy{};
  bool retry_put = true;
};

class RetryingConnector final : public Connector {
 public:
  // `sleep` is injectable for tests.
  RetryingConnector(std::unique_ptr<Connector> inner, RetryOptions options,
                    std::function<void(absl::Duration)> sleep = absl::SleepFor);

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override;
  std::string Describe() const override { return inner_->Describe(); }
  absl::StatusOr<RemoteObject> RecordChecksum(const std::string& remote_path,
                                              const std::string& sha256) override;
  absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) override;
  absl::StatusOr<SourceListing> ListChanges(const std::string& cursor) override;
  absl::Status GetItem(const std::string& remote_path,
                       const std::function<absl::Status(std::string_view)>& sink) override;

  Connector* inner() const { return inner_.get(); }

 private:
  // Get or GetItem: retried only until the first byte reached `sink`.
  absl::Status GetWith(bool item, const std::string& remote_path,
                       const std::function<absl::Status(std::string_view)>& sink);
  template <typename Fn>
  auto Again(Fn&& fn) {
    return Retry(options_.policy, std::forward<Fn>(fn), sleep_);
  }

  const std::unique_ptr<Connector> inner_;
  const RetryOptions options_;
  const std::function<void(absl::Duration)> sleep_;
};

}  // namespace shoebox::worker
