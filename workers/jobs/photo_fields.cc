#include "workers/jobs/photo_fields.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/destination_kinds.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "workers/album_rule.h"

namespace shoebox::worker {

bool KindHasAlbums(const std::string& kind) {
  const KindSpec* spec = FindDestinationKind(kind);
  return spec != nullptr && spec->albums;
}

absl::StatusOr<PhotoFields> PhotoFieldsFor(const v1::Job& job, PlacementInput in, bool exif_read,
                                           ChunkFetcher* chunks, bool with_capture_date) {
  const v1::Destination& d = job.destination();
  nlohmann::json settings = nlohmann::json::object();
  if (!d.settings_json().empty()) {
    settings = nlohmann::json::parse(d.settings_json(), nullptr, /*allow_exceptions=*/false);
    if (settings.is_discarded() || !settings.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("destination '", d.name(),
                       "': settings are not a JSON object; fix them with `shoebox dest`"));
    }
  }
  ASSIGN_OR_RETURN(PhotoSettings ps, ReadPhotoSettings(settings, d.name()));
  const v1::FileVersion& f = job.file();
  if (!exif_read && (with_capture_date || ps.rule.NeedsDate()) && f.chunks_size() > 0) {
    // The EXIF date, read the way ResolveRemotePath reads it for {year}.
    ChunkId first;
    DigestFromString(f.chunks(0).id(), &first);
    ASSIGN_OR_RETURN(std::string head, chunks->GetPlain(first));
    in.exif_date = ExifCaptureDate(head);
  }
  PhotoFields out;
  if (ps.rule.mode() == AlbumRule::Mode::kFolder && job.albums_size() > 0) {
    // Issue 21: a version with albums of its own (a Takeout album, ...) goes
    // into them; the first (sorted) is the one the item is put into.
    out.album = job.albums(0);
    out.other_albums.assign(job.albums().begin() + 1, job.albums().end());
  } else {
    out.album = ps.rule.AlbumFor(in);
  }
  if (with_capture_date) out.capture_date = CaptureDateTime(in);
  if (ps.keywords) out.keywords = FolderKeywords(in);
  return out;
}

bool ListingHolds(const std::vector<RemoteObject>& listing, const std::string& path,
                  const RemoteObject& stat, const std::string& sha256) {
  const std::string want = "sha256:" + ToHex(sha256);
  for (const RemoteObject& o : listing) {
    if (o.remote_path == path) return true;
    if (!o.ref.empty() && o.ref == stat.ref) return true;
    if (o.size == stat.size && o.checksum == want) return true;
  }
  return false;
}

}  // namespace shoebox::worker
