#include "workers/jobs/verify.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "workers/jobs/remote_path.h"
#include "workers/jobs/repair.h"
#include "workers/placement.h"

namespace shoebox::worker {
namespace {

// Reads the object at `path` whole and compares its SHA-256 with the
// catalog's. Stops early (false) once more bytes than the file's arrive.
absl::StatusOr<bool> SameBytes(Connector* conn, const std::string& path, const v1::FileVersion& f,
                               JobContext& ctx) {
  Sha256 h;
  uint64_t total = 0;
  bool longer = false;
  absl::Status st = conn->Get(path, [&](std::string_view data) -> absl::Status {
    if (ctx.cancelled()) return absl::CancelledError("verify cancelled");
    total += data.size();
    if (total > f.size()) {
      longer = true;
      return absl::OutOfRangeError("longer than the catalog's file");
    }
    h.Update(data);
    return absl::OkStatus();
  });
  if (longer) return false;
  if (absl::IsNotFound(st)) return false;  // gone between Stat and Get
  RETURN_IF_ERROR(Annotate(st, absl::StrCat("read ", PrintablePath(path), " at ", conn->Describe(),
                                            " to compare it with the catalog's SHA-256")));
  return total == f.size() && DigestToString(h.Final()) == f.sha256();
}

// How long a listing of an album stands for the verifies that follow.
constexpr absl::Duration kListingTtl = absl::Minutes(1);

}  // namespace

absl::StatusOr<VerifyHandler::AlbumState> VerifyHandler::CheckAlbum(const v1::Job& job,
                                                                    Connector* conn,
                                                                    const std::string& album,
                                                                    const std::string& path,
                                                                    const RemoteObject& stat) {
  const auto key = std::make_pair(job.destination().id(), album);
  const std::string& sha256 = job.file().sha256();
  {
    absl::MutexLock l(&mu_);
    auto it = listings_.find(key);
    if (it != listings_.end() && absl::Now() - it->second.at < kListingTtl &&
        ListingHolds(it->second.items, path, stat, sha256)) {
      return AlbumState::kHolds;
    }
  }
  // Not cached, too old, or without the item: ask the service now.
  absl::StatusOr<std::vector<RemoteObject>> listing = conn->ListAlbum(album);
  if (absl::IsNotFound(listing.status())) {
    absl::MutexLock l(&mu_);
    listings_.erase(key);
    return AlbumState::kGone;
  }
  RETURN_IF_ERROR(Annotate(listing.status(), absl::StrCat("list album ", PrintablePath(album),
                                                          " at ", conn->Describe())));
  const bool holds = ListingHolds(*listing, path, stat, sha256);
  absl::MutexLock l(&mu_);
  if (listings_.size() >= kMaxListings && listings_.count(key) == 0) {
    auto oldest = listings_.begin();
    for (auto it = listings_.begin(); it != listings_.end(); ++it) {
      if (it->second.at < oldest->second.at) oldest = it;
    }
    listings_.erase(oldest);
  }
  listings_[key] = Listing{absl::Now(), *std::move(listing)};
  return holds ? AlbumState::kHolds : AlbumState::kLacks;
}

absl::StatusOr<v1::CompleteJobRequest> VerifyHandler::Run(const v1::Job& job, JobContext& ctx) {
  ASSIGN_OR_RETURN(Connector * conn, ctx.Destination());
  const v1::FileVersion& f = job.file();
  std::set<std::string> read_back;  // candidates whose bytes matched when read
  ContentCheck by_content = [&](const std::string& path,
                                const RemoteObject&) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(bool same, SameBytes(conn, path, f, ctx));
    if (same) read_back.insert(path);
    return same;
  };
  ASSIGN_OR_RETURN(RemotePath where,
                   ResolveRemotePath(f, job.destination().layout(), conn, ctx.chunks(),
                                     job.destination().kind(), by_content, job.capture_unix_ns()));
  v1::CompleteJobRequest done;
  done.set_verified_ok(false);
  switch (where.slot) {
    case RemotePath::Slot::kSameContent:
      break;
    case RemotePath::Slot::kOwnName:
      done.set_remote_ref(absl::StrCat(
          "differs: ", PrintablePath(where.path), " holds ", where.existing.size, " bytes ",
          where.existing.checksum.empty() ? std::string("of other content")
                                          : where.existing.checksum,
          ", the catalog's file ", f.size(), " bytes sha256:", ToHex(f.sha256())));
      return done;
    case RemotePath::Slot::kFree:
    case RemotePath::Slot::kNoneFree:
      done.set_remote_ref(absl::StrCat("missing: no copy of ",
                                       PrintablePath(where.base.empty() ? where.path : where.base),
                                       " with the catalog's content at ", conn->Describe()));
      return done;
  }
  RemoteObject copy = where.existing;
  if (read_back.count(where.path) > 0) {
    // Same content under a reference the destination no longer vouches for
    // (a new ETag, an mtime changed by hand): record it again, so the next
    // verify need not read it, and report the new reference.
    absl::StatusOr<RemoteObject> again = conn->RecordChecksum(where.path, f.sha256());
    if (again.ok()) copy = std::move(*again);
  }
  // Damaged chunks of this file in the chunk store: repair them from this
  // copy.
  RETURN_IF_ERROR(
      RepairFromCopy(job, conn, where.path, [&](const std::string& id, std::string data) {
        return ctx.RepairChunk(id, std::move(data));
      }));
  // Photo services: the item must be in its album too (issue 20).
  if (has_albums_(job.destination().kind())) {
    const std::string& layout = job.destination().layout();
    ASSIGN_OR_RETURN(
        PhotoFields photo,
        PhotoFieldsFor(job, where.input, LayoutNeedsDate(layout) || job.capture_unix_ns() != 0,
                       ctx.chunks(), /*with_capture_date=*/false));
    if (!photo.album.empty()) {
      ASSIGN_OR_RETURN(AlbumState state, CheckAlbum(job, conn, photo.album, where.path, copy));
      if (state == AlbumState::kGone) {
        // Forget it, so the re-delivery creates it again.
        RETURN_IF_ERROR(
            Annotate(ctx.Albums()->Forget(photo.album),
                     absl::StrCat("forget the deleted album ", PrintablePath(photo.album))));
        done.set_remote_ref(absl::StrCat("missing: album ", PrintablePath(photo.album), " of ",
                                         PrintablePath(where.path), " is gone at ",
                                         conn->Describe(), "; it is created again"));
        return done;
      }
      if (state == AlbumState::kLacks) {
        done.set_remote_ref(absl::StrCat("missing: ", PrintablePath(where.path),
                                         " is not in album ", PrintablePath(photo.album), " at ",
                                         conn->Describe()));
        return done;
      }
    }
  }
  done.set_verified_ok(true);
  done.set_remote_ref(copy.ref);
  done.set_remote_size(copy.size);
  done.set_remote_checksum(copy.checksum);
  return done;
}

}  // namespace shoebox::worker
