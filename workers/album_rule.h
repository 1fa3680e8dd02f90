// The album rule of a photo-service destination (issue 20,
// docs/destinations.md "Albums"): which album a file version goes into, and
// the keywords sent with it. The rule is the destination's plain setting
// `albums`, checked by the coordinator at `dest add`/`dest set`
// (common/destination_kinds.h, CheckAlbumRule):
//
//   "folder" (default)  the folder path under the watched root, '/' as ' ':
//                       Camera/2023/IMG_1.jpg -> "Camera 2023"; a file at
//                       the top of the root -> the root's basename
//   "none"              no album
//   a template          of {folder} {dir} {year} {month} {device}, with the
//                       layout tokens' meanings (workers/placement.h)
//
// The expansion's '/' become ' ' (a run of them one), and it is trimmed of
// ASCII white space; an empty result is "no album". Titles keep the
// device's bytes (non-UTF-8, emoji, any length): mapping a title to what a
// service takes (service_names.h, length limits) is the connector's
// business.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "workers/placement.h"

namespace shoebox::worker {

inline constexpr char kDefaultAlbumRule[] = "folder";

class AlbumRule {
 public:
  enum class Mode { kFolder, kNone, kTemplate };

  // INVALID_ARGUMENT (from CheckAlbumRule) for an unknown token or an
  // unclosed '{'.
  static absl::StatusOr<AlbumRule> Parse(const std::string& text);

  Mode mode() const { return mode_; }
  // True when the album depends on the capture date ({year}, {month}): the
  // caller reads the EXIF date into PlacementInput::exif_date first.
  bool NeedsDate() const;
  // The album title for `in`; "" for no album.
  std::string AlbumFor(const PlacementInput& in) const;

 private:
  AlbumRule(Mode mode, std::string text) : mode_(mode), text_(std::move(text)) {}
  Mode mode_;
  std::string text_;
};

// The names of the folders of the file's path under the watched root, each
// once, in path order ("Camera/2023/IMG_1.jpg" -> {"Camera", "2023"}); for a
// file at the top of the root, the root's basename. What a destination
// with `keywords = true` sends as keywords.
std::vector<std::string> FolderKeywords(const PlacementInput& in);

// A destination's album settings, read from its settings JSON object with
// their declared defaults (`albums` "folder", `keywords` false). A value of
// the wrong type or a rule that does not parse is INVALID_ARGUMENT naming
// `destination` (the coordinator refuses such values; this catches values
// stored before it did).
struct PhotoSettings {
  AlbumRule rule = *AlbumRule::Parse(kDefaultAlbumRule);
  bool keywords = false;
};
absl::StatusOr<PhotoSettings> ReadPhotoSettings(const nlohmann::json& settings,
                                                const std::string& destination);

}  // namespace shoebox::worker
