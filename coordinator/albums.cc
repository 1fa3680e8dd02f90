#include "coordinator/albums.h"

#include "common/bytes.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/validate.h"

namespace shoebox::coordinator {

absl::StatusOr<AlbumLease> Albums::Lease(const std::string& worker, int64_t job_id,
                                         const std::string& token, int64_t destination_id) {
  ASSIGN_OR_RETURN(int64_t worker_id, queue_->FindWorker(worker));
  return AlbumLease{job_id, token, worker_id, destination_id};
}

absl::StatusOr<shoebox::v1::LookupAlbumResponse> Albums::Lookup(
    const std::string& worker, const shoebox::v1::LookupAlbumRequest& req) {
  RETURN_IF_ERROR(ValidateLookupAlbum(req));
  ASSIGN_OR_RETURN(AlbumLease lease,
                   Lease(worker, req.job_id(), req.lease_token(), req.destination_id()));
  ASSIGN_OR_RETURN(std::optional<std::string> id, albums_->LookupAlbum(lease, req.album_key()));
  shoebox::v1::LookupAlbumResponse resp;
  resp.set_found(id.has_value());
  if (id) resp.set_remote_id(*id);
  return resp;
}

absl::StatusOr<shoebox::v1::RecordAlbumResponse> Albums::Record(
    const std::string& worker, const shoebox::v1::RecordAlbumRequest& req) {
  RETURN_IF_ERROR(ValidateRecordAlbum(req));
  ASSIGN_OR_RETURN(AlbumLease lease,
                   Lease(worker, req.job_id(), req.lease_token(), req.destination_id()));
  ASSIGN_OR_RETURN(RecordedAlbum kept,
                   albums_->RecordAlbum(lease, req.album_key(), req.remote_id()));
  if (kept.recorded) {
    SPDLOG_INFO("event=album_recorded destination={} job={} worker=\"{}\" album=\"{}\"",
                req.destination_id(), req.job_id(), PrintablePath(worker),
                PrintablePath(req.album_key()));
  } else {
    SPDLOG_INFO(
        "event=album_record_lost destination={} job={} worker=\"{}\" album=\"{}\": another "
        "worker recorded it first; the caller uses that album",
        req.destination_id(), req.job_id(), PrintablePath(worker), PrintablePath(req.album_key()));
  }
  shoebox::v1::RecordAlbumResponse resp;
  resp.set_remote_id(kept.remote_id);
  resp.set_recorded(kept.recorded);
  return resp;
}

absl::StatusOr<shoebox::v1::ForgetAlbumResponse> Albums::Forget(
    const std::string& worker, const shoebox::v1::ForgetAlbumRequest& req) {
  RETURN_IF_ERROR(ValidateForgetAlbum(req));
  ASSIGN_OR_RETURN(AlbumLease lease,
                   Lease(worker, req.job_id(), req.lease_token(), req.destination_id()));
  ASSIGN_OR_RETURN(bool forgotten, albums_->ForgetAlbum(lease, req.album_key(), req.remote_id()));
  if (forgotten) {
    SPDLOG_INFO("event=album_forgotten destination={} job={} worker=\"{}\" album=\"{}\"",
                req.destination_id(), req.job_id(), PrintablePath(worker),
                PrintablePath(req.album_key()));
  }
  shoebox::v1::ForgetAlbumResponse resp;
  resp.set_forgotten(forgotten);
  return resp;
}

}  // namespace shoebox::coordinator
