#include "workers/jobs/deliver.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status.h"
#include "workers/chunk_source.h"
#include "workers/jobs/file_chunks.h"
#include "workers/jobs/remote_path.h"
#include "workers/placement.h"

namespace shoebox::worker {
namespace {

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

}  // namespace

absl::StatusOr<v1::CompleteJobRequest> DeliverHandler::Run(const v1::Job& job, JobContext& ctx) {
  ASSIGN_OR_RETURN(Connector * conn, ctx.Destination());
  const v1::FileVersion& f = job.file();
  RETURN_IF_ERROR(CheckChunkList(f));
  const std::string& layout = job.destination().layout();

  // The name: the first candidate that is free, or holds this content
  // already (then there is nothing to upload), or - for a one-to-one layout
  // - the file's own name (a newer version replaces the older one).
  ASSIGN_OR_RETURN(RemotePath where,
                   ResolveRemotePath(f, layout, conn, ctx.chunks(), job.destination().kind(),
                                     nullptr, job.capture_unix_ns()));
  // Photo services: album, capture date, keywords (issue 20).
  std::optional<PhotoFields> photo;
  if (has_albums_(job.destination().kind())) {
    ASSIGN_OR_RETURN(
        photo, PhotoFieldsFor(job, where.input,
                              LayoutNeedsDate(layout) || job.capture_unix_ns() != 0, ctx.chunks()));
  }
  switch (where.slot) {
    case RemotePath::Slot::kSameContent: {
      if (photo && !photo->album.empty()) {
        absl::StatusOr<std::vector<RemoteObject>> listing = conn->ListAlbum(photo->album);
        if (!listing.ok() && !absl::IsNotFound(listing.status())) {
          return Annotate(listing.status(), absl::StrCat("list album ", PrintablePath(photo->album),
                                                         " at ", conn->Describe()));
        }
        if (!listing.ok() || !ListingHolds(*listing, where.path, where.existing, f.sha256())) {
          // The item is there but not in its album (gone, or taken out):
          // put it again; the connector finds what it has and re-creates
          // the album.
          break;
        }
      }
      v1::CompleteJobRequest done;
      done.set_remote_ref(where.existing.ref);
      done.set_remote_size(where.existing.size);
      done.set_remote_checksum(where.existing.checksum);
      return done;
    }
    case RemotePath::Slot::kNoneFree:
      return absl::FailedPreconditionError(
          absl::StrCat(kMaxCollisionCandidates, " files named like ", PrintablePath(where.base),
                       " exist at ", conn->Describe()));
    case RemotePath::Slot::kFree:
    case RemotePath::Slot::kOwnName:
      break;
  }
  const std::string& target = where.path;

  std::string dir = Dirname(target);
  if (!dir.empty()) RETURN_IF_ERROR(conn->EnsureFolder(dir));
  PutRequest req;
  req.remote_path = target;
  req.size = f.size();
  req.mtime_ns = f.mtime_ns();
  req.sha256 = f.sha256();
  if (photo) {
    req.album = photo->album;
    req.capture_date = photo->capture_date;
    req.keywords = photo->keywords;
  } else if (absl::StrContains(layout, "{album}")) {
    req.album = AlbumFor(where.input);
  }
  // A resumable upload (Dropbox session, ...) continues where an earlier
  // attempt of this job stopped; the connector checks the state still fits.
  req.resume_state = ctx.resume_state();
  req.save_resume_state = ctx.ResumeStateSaver();
  std::unique_ptr<ByteSource> src = ctx.UploadSource(
      std::make_unique<ChunkSource>(ctx.chunks(), ChunkSpans(f), f.size(), f.sha256()));
  ASSIGN_OR_RETURN(RemoteObject put, conn->Put(req, src.get(), nullptr));

  // Check what the destination now reports. A server that acknowledged the
  // upload but does not show it yet (an eventually consistent S3-compatible
  // store; s3rver under load, whose PUT answers before its file is created)
  // is retried like a size mismatch, never taken for a lost object.
  absl::StatusOr<RemoteObject> stat = conn->Stat(target);
  if (absl::IsNotFound(stat.status())) {
    return absl::UnavailableError(absl::StrCat(
        conn->Describe(), " acknowledged the upload of ", PrintablePath(target),
        " but does not show it yet (", stat.status().message(), "); the delivery will be retried"));
  }
  ASSIGN_OR_RETURN(RemoteObject after, std::move(stat));
  if (after.size != f.size() || (absl::StartsWith(after.checksum, "sha256:") &&
                                 after.checksum != "sha256:" + ToHex(f.sha256()))) {
    return absl::UnavailableError(absl::StrCat(
        conn->Describe(), " reports ", PrintablePath(target), " as ", after.size, " bytes ",
        after.checksum, " after the upload of ", f.size(), " bytes; the delivery will be retried"));
  }
  v1::CompleteJobRequest done;
  done.set_remote_ref(after.ref.empty() ? put.ref : after.ref);
  done.set_remote_size(after.size);
  done.set_remote_checksum(after.checksum);
  return done;
}

}  // namespace shoebox::worker
