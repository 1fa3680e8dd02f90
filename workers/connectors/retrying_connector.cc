#include "workers/connectors/retrying_connector.h"

namespace shoebox::worker {

RetryingConnector::RetryingConnector(std::unique_ptr<Connector> inner, RetryOptions options,
                                     std::function<void(absl::Duration)> sleep)
    : inner_(std::move(inner)), options_(options), sleep_(std::move(sleep)) {}

absl::StatusOr<RemoteObject> RetryingConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  if (!options_.retry_put) return inner_->Put(req, src, progress);
  return Again([&]() -> absl::StatusOr<RemoteObject> {
    RETURN_IF_ERROR(src->Rewind());
    return inner_->Put(req, src, progress);
  });
}

absl::StatusOr<RemoteObject> RetryingConnector::Stat(const std::string& remote_path) {
  return Again([&] { return inner_->Stat(remote_path); });
}

absl::StatusOr<std::vector<RemoteObject>> RetryingConnector::List(const std::string& prefix) {
  return Again([&] { return inner_->List(prefix); });
}

absl::Status RetryingConnector::Get(const std::string& remote_path,
                                    const std::function<absl::Status(std::string_view)>& sink) {
  return GetWith(false, remote_path, sink);
}

absl::Status RetryingConnector::GetItem(const std::string& remote_path,
                                        const std::function<absl::Status(std::string_view)>& sink) {
  return GetWith(true, remote_path, sink);
}

absl::StatusOr<SourceListing> RetryingConnector::ListChanges(const std::string& cursor) {
  return Again([&] { return inner_->ListChanges(cursor); });
}

absl::Status RetryingConnector::GetWith(bool item, const std::string& remote_path,
                                        const std::function<absl::Status(std::string_view)>& sink) {
  bool delivered = false;
  absl::Status after_bytes;  // a failure that a retry would deliver bytes twice for
  absl::Status st = Again([&]() -> absl::Status {
    auto counted = [&](std::string_view bytes) {
      delivered = delivered || !bytes.empty();
      return sink(bytes);
    };
    absl::Status s =
        item ? inner_->GetItem(remote_path, counted) : inner_->Get(remote_path, counted);
    if (delivered && IsRetryable(s)) {
      after_bytes = std::move(s);
      return absl::OkStatus();  // ends the retries
    }
    return s;
  });
  return after_bytes.ok() ? st : after_bytes;
}

absl::Status RetryingConnector::Delete(const std::string& remote_path) {
  return Again([&] { return inner_->Delete(remote_path); });
}

absl::Status RetryingConnector::EnsureFolder(const std::string& folder) {
  return Again([&] { return inner_->EnsureFolder(folder); });
}

absl::StatusOr<RemoteObject> RetryingConnector::RecordChecksum(const std::string& remote_path,
                                                               const std::string& sha256) {
  return Again([&] { return inner_->RecordChecksum(remote_path, sha256); });
}

absl::StatusOr<std::vector<RemoteObject>> RetryingConnector::ListAlbum(const std::string& album) {
  return Again([&] { return inner_->ListAlbum(album); });
}

}  // namespace shoebox::worker
