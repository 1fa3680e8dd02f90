// Issue 20, what a delivery to a photo service carries besides its bytes
// (docs/destinations.md, "Albums"): the album from the destination's album
// rule (workers/album_rule.h), the capture date, and the folder names as
// keywords when the destination's `keywords` setting asks for them; and
// whether an item is in its album (deliver and verify).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "shoebox/v1/worker.pb.h"
#include "workers/chunk_source.h"
#include "workers/connector.h"
#include "workers/placement.h"

namespace shoebox::worker {

// Whether deliveries of a destination kind go into albums. The default,
// KindHasAlbums, is the kinds table's KindSpec::albums
// (common/destination_kinds.h); job tests pass their own.
using AlbumKindCheck = std::function<bool(const std::string& kind)>;
bool KindHasAlbums(const std::string& kind);

struct PhotoFields {
  std::string album;  // "" no album
  // The version's further albums (Job.albums after the first, rule
  // "folder"). Not yet put into: the connectors take one album per put
  // (docs/destinations.md, "Albums of a version").
  std::vector<std::string> other_albums;
  std::string capture_date;
  std::vector<std::string> keywords;
};

// The fields of `job`'s file version (a destination with albums). `in` are
// the layout's inputs (RemotePath::input); `exif_read` says whether its
// exif_date was already read (the layout needed the date). Otherwise the
// file's first chunk is read through `chunks` for it when the album rule
// needs the date or `with_capture_date` (deliver; verify needs only the
// album, so a damaged first chunk does not stop its repair). Errors: the
// destination's settings (INVALID_ARGUMENT naming it), the chunk read.
absl::StatusOr<PhotoFields> PhotoFieldsFor(const v1::Job& job, PlacementInput in, bool exif_read,
                                           ChunkFetcher* chunks, bool with_capture_date = true);

// True when `listing` (Connector::ListAlbum's answer) holds the item at
// `path`: an object of that path, of the reference `stat` reported, or with
// the file's size and SHA-256 (32 raw bytes `sha256`).
bool ListingHolds(const std::vector<RemoteObject>& listing, const std::string& path,
                  const RemoteObject& stat, const std::string& sha256);

}  // namespace shoebox::worker
