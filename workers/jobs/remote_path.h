// THE remote path of a job's file version at its destination. Deliver
// (workers/jobs/deliver.h) uploads there and verify (workers/jobs/verify.h)
// checks there; both call ResolveRemotePath, so they cannot drift apart.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/chunk_source.h"
#include "workers/connector.h"
#include "workers/placement.h"

namespace shoebox::worker {

// How many names ResolveRemotePath tries: "a.jpg", "a (2).jpg", ...
inline constexpr int kMaxCollisionCandidates = 1000;

struct RemotePath {
  enum class Slot {
    kFree,         // nothing there: deliver uploads to `path`; verify finds no copy
    kSameContent,  // this content is there: nothing to upload; verify found the copy
    kOwnName,      // one-to-one layout, other content: deliver replaces it
                   // (a newer version of the file); verify finds no copy
    kNoneFree,     // every candidate holds another file; `path` is empty
  };
  Slot slot = Slot::kNoneFree;
  std::string path;       // the chosen candidate
  RemoteObject existing;  // what Stat reported there (kSameContent, kOwnName)
  std::string base;       // the layout expanded: the first candidate
  PlacementInput input;   // the layout's inputs (AlbumFor takes them)
};

// Expands `layout` (empty: kDefaultLayout) for `f`, reading the first chunk
// through `chunks` for the EXIF capture date when the layout needs a date,
// and walks the collision candidates (CollisionCandidate, up to
// kMaxCollisionCandidates) with Stat at `conn`, stopping at the first that is
// free, holds this content (same size and SHA-256, or - without a usable
// checksum - same size and mtime second), or, in a one-to-one layout
// (LayoutIsOneToOne), is the file's own name. Errors: the chunk read, the
// layout (INVALID_ARGUMENT), or a Stat other than NOT_FOUND (annotated with
// the candidate and the destination).
//
// Names a destination kind cannot store (issue 18, docs/destinations.md,
// "Names that are not UTF-8"): S3 keys are UTF-8 by definition and rclone's
// remote-control API takes names in JSON, so for kinds "s3" and "rclone" each
// byte of an invalid UTF-8 sequence in the expanded name becomes "%XX"
// (RemoteName); such a mapped name is never treated as the file's own name
// (a different file there is kept, the next candidate is used).
//
// `content_check`, when given, replaces the size + mtime quick check for a
// candidate of the file's size whose Stat reports no SHA-256: it decides
// whether the object holds the file's content (verify reads it and hashes
// it, workers/jobs/verify.h); its error ends the walk.
using ContentCheck =
    std::function<absl::StatusOr<bool>(const std::string& path, const RemoteObject& stat)>;
// `capture_ns` (Job.capture_unix_ns; 0: none): the source's capture date,
// used for {year}/{month}/{day} instead of the file's EXIF date.
absl::StatusOr<RemotePath> ResolveRemotePath(const v1::FileVersion& f, const std::string& layout,
                                             Connector* conn, ChunkFetcher* chunks,
                                             const std::string& kind = "",
                                             const ContentCheck& content_check = nullptr,
                                             int64_t capture_ns = 0);

// The name a destination of `kind` stores for the expanded layout `path`:
// `path` itself, except for "s3" and "rclone" when it is not valid UTF-8.
std::string RemoteName(const std::string& kind, const std::string& path);

}  // namespace shoebox::worker
