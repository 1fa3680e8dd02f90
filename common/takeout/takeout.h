// Google Takeout (Google Photos) as a source (issue 21, docs/transfers.md):
// which JSON sidecar belongs to which photo, which folders are albums, and
// the plan of items an import sends (one per distinct content, with every
// album it is in). Pure functions over names and JSON text; reading the
// archives is archive_reader.h.
//
// What a Takeout holds (no official specification exists; the rules below
// follow the community's reverse engineering, read the strict way where
// they disagree):
//   Takeout/Google Photos/Photos from 2019/IMG_1.jpg       year folder
//   Takeout/Google Photos/Photos from 2019/IMG_1.jpg.json  its sidecar
//   Takeout/Google Photos/Summer/metadata.json             {"title": "Summer"}
//   Takeout/Google Photos/Summer/IMG_1.jpg                 the same photo again
// Sources: the Google Photos Takeout Helper (github.com/TheLastGimbus/
// GooglePhotosTakeoutHelper, lib/date_extractors/json_extractor.dart: the
// "(1)" bracket swap, names shortened so that the sidecar's name stays at
// most 51 characters, "-edited" removed to find the original's sidecar),
// immich-go's Google Photos reader (github.com/simulot/immich-go,
// adapters/googlePhotos: supplemental-metadata, album folders named by
// metadata.json's title, "Photos from YYYY" as year folders) and junjo
// (github.com/yoshimo2o/junjo, lib/parser_takeout.sh: the newer
// NAME.supplemental-metadata.json, its truncation, and
// NAME.supplemental-metadata(1).json for IMG(1).jpg).
//
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

namespace shoebox::takeout {

// A sidecar's stem (its name without "(n)" and ".json") is taken to be cut
// short by Google when it has this many characters (UTF-8 code points) or
// one less or (with a "(n)") up to its length less: Google keeps a
// sidecar's whole name at most 51 characters (46 + ".json"); names of 47
// are reported too.
inline constexpr size_t kTruncatedStemMax = 47;
inline constexpr size_t kTruncatedStemMin = 46;

// "Photos from 2019": a year folder (not an album).
bool IsYearFolder(absl::string_view folder_name);
// True for a sidecar or album metadata file name (".json", any case).
bool IsJsonName(absl::string_view name);
// "IMG_1-edited.jpg" -> "IMG_1.jpg", "IMG_1-edited(1).jpg" -> "IMG_1(1).jpg";
// nullopt for a name without the suffix.
std::optional<std::string> OriginalOfEdited(absl::string_view name);

// The sidecar of media file `media` among the JSON file names of its folder
// (`jsons`, names only), or nullopt. Exact forms first, in this order:
//   NAME.supplemental-metadata.json, NAME.json,
//   and for NAME = BASE(n).EXT: BASE.EXT.supplemental-metadata(n).json,
//   BASE.EXT(n).json;
// "-edited" variants look for their original's sidecar the same way. Then a
// truncated form: a sidecar whose stem has kTruncatedStemMin..Max
// characters (fewer by the length of "(n)" when it carries one), carries
// the same "(n)" and is a proper prefix of one of the stems above. A
// truncated sidecar several media files of the folder could claim belongs
// to none of them (`claimants`: the other media names of the folder, to
// decide that; empty: not checked).
std::optional<std::string> MatchSidecar(absl::string_view media,
                                        const std::vector<std::string>& jsons,
                                        const std::vector<std::string>& claimants = {});

// photoTakenTime.timestamp (seconds since the epoch, a string or a number)
// of a sidecar; nullopt when absent or not a number.
std::optional<int64_t> PhotoTakenTime(absl::string_view sidecar_json);
// The album title of a folder's metadata.json ("title"); nullopt when the
// JSON does not parse or has no non-empty title.
std::optional<std::string> AlbumTitle(absl::string_view metadata_json);

// One media file found in the archives.
struct Entry {
  int archive = 0;   // index into the files given
  std::string path;  // as in the archive ("Takeout/Google Photos/...")
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256;  // 32 bytes
};

// One item to import: the content of entries[entry] under `path`.
struct Item {
  size_t entry = 0;                 // the copy whose bytes are sent
  std::string path;                 // catalog path: the archive path without "Takeout/"
  std::vector<std::string> albums;  // sorted, unique
  int64_t capture_ns = 0;           // photoTakenTime; 0 when no sidecar says
  int64_t mtime_ns = 0;             // the capture date, else the entry's mtime (whole seconds)
  std::vector<size_t> copies;       // every entry with this content
};

struct Plan {
  std::vector<Item> items;
  // Things the user should know (no sidecar, ambiguous sidecar), one line each.
  std::vector<std::string> notes;
};

// `jsons`: archive path -> text of every .json entry. Entries with the same
// content (size and SHA-256) are one item: the copy in a year folder is the
// one kept (else the first path in byte order); every album folder holding a
// copy adds its title. The capture date is that copy's sidecar's, else the
// first other copy's that has one.
Plan MakePlan(const std::vector<Entry>& entries, const std::map<std::string, std::string>& jsons);

}  // namespace shoebox::takeout
