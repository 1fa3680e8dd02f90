#include "workers/jobs/job_handler.h"

#include "absl/status/status.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace shoebox::worker {
namespace {

// Fails reads once `flag` is set, so a cancelled or abandoned job stops
// uploading at the next buffer.
class CancellableSource final : public ByteSource {
 public:
  CancellableSource(std::unique_ptr<ByteSource> inner, const std::atomic<bool>* flag,
                    std::atomic<uint64_t>* counter)
      : inner_(std::move(inner)), flag_(flag), counter_(counter) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    if (flag_->load()) {
      return absl::CancelledError(
          "the job was cancelled, lost its lease, or the worker is shutting down");
    }
    absl::StatusOr<size_t> n = inner_->Read(buf, max);
    if (n.ok() && counter_ != nullptr) *counter_ += *n;
    return n;
  }
  absl::Status Seek(uint64_t offset) override { return inner_->Seek(offset); }
  uint64_t size() const override { return inner_->size(); }

 private:
  const std::unique_ptr<ByteSource> inner_;
  const std::atomic<bool>* const flag_;
  std::atomic<uint64_t>* const counter_;
};

}  // namespace

JobContext::JobContext(const JobEnvironment& env, const v1::Job& job,
                       const std::atomic<bool>* cancelled)
    : env_(env), job_(job), cancelled_(cancelled) {}

JobContext::~JobContext() = default;

absl::StatusOr<Connector*> JobContext::Destination() {
  if (destination_ == nullptr) {
    if (env_.open_destination_with_env) {
      ConnectorEnvironment cenv;
      if (env_.store_credentials) {
        cenv.store_credentials = [this](const nlohmann::json& creds) {
          return env_.store_credentials(job_, creds);
        };
      }
      cenv.albums = Albums();
      ASSIGN_OR_RETURN(destination_, env_.open_destination_with_env(job_.destination(), cenv));
      return destination_.get();
    }
    if (!env_.open_destination) {
      return absl::FailedPreconditionError(
          "this worker opens no destinations (no connector opener)");
    }
    ASSIGN_OR_RETURN(destination_, env_.open_destination(job_.destination()));
  }
  return destination_.get();
}

std::function<void(const std::string&)> JobContext::ResumeStateSaver() {
  if (!env_.save_resume_state) return nullptr;
  return [this](const std::string& state) {
    absl::Status st = env_.save_resume_state(job_, state);
    if (!st.ok()) {
      spdlog::warn("worker={} job={}: could not save the upload's resume state: {}",
                   env_.worker_name, job_.job_id(), st.ToString());
    }
  };
}

std::unique_ptr<ByteSource> JobContext::UploadSource(std::unique_ptr<ByteSource> src) {
  if (env_.wrap_source) src = env_.wrap_source(std::move(src));
  uploaded_ = true;
  return std::make_unique<CancellableSource>(std::move(src), cancelled_, env_.bytes_uploaded);
}

std::shared_ptr<AlbumDirectory> JobContext::Albums() {
  if (albums_ == nullptr) {
    if (env_.album_directory) albums_ = env_.album_directory(job_);
    if (albums_ == nullptr) albums_ = MakeInMemoryAlbumDirectory();
  }
  return albums_;
}

absl::Status JobContext::RepairChunk(const std::string& id, std::string data) {
  if (!env_.repair_chunk)
    return absl::FailedPreconditionError("this worker cannot send repaired chunks");
  return env_.repair_chunk(job_, id, std::move(data));
}

absl::StatusOr<v1::ReportListingResponse> JobContext::ReportListing(
    const std::vector<RemoteObject>& items, const ListingReport& report) {
  if (!env_.report_listing)
    return absl::FailedPreconditionError("this worker cannot report transfer listings");
  return env_.report_listing(job_, items, report);
}

absl::StatusOr<v1::IngestItemResponse> JobContext::IngestItem(v1::IngestItemHeader header,
                                                              ByteSource* src) {
  if (!env_.ingest_item)
    return absl::FailedPreconditionError("this worker cannot send fetched items");
  header.set_job_id(job_.job_id());
  header.set_lease_token(job_.lease_token());
  return env_.ingest_item(job_, header, src);
}

}  // namespace shoebox::worker
