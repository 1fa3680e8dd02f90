// Where a file version lands at a destination: the layout template, the
// album, EXIF capture dates, and collision-free names.
//
// Layout tokens (docs/destinations.md):
//   {device}  device name               {folder} basename of the watched root
//   {path}    path relative to the root  {name}   file name    {stem} {ext}
//   {dir}     directory of {path} ("" at the root)
//   {year} {month} {day}  capture date: EXIF DateTimeOriginal when the file
//             has one (read with exiv2), else the mtime, in UTC
//   {album}   the album (see AlbumFor)
// Default layout: "{device}/{folder}/{path}" (mirror the device tree).
// Empty components collapse ("a//b" → "a/b"); the result is a valid relative
// path (common/paths.h) or INVALID_ARGUMENT naming the layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace shoebox::worker {

inline constexpr char kDefaultLayout[] = "{device}/{folder}/{path}";

struct CaptureDate {
  int year = 0, month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;  // 0 when the EXIF value has no time
};

struct PlacementInput {
  std::string device;
  std::string folder;  // absolute root on the device (raw bytes)
  std::string path;    // relative path under it (raw bytes)
  int64_t mtime_ns = 0;
  std::optional<CaptureDate> exif_date;
};

absl::StatusOr<std::string> ExpandLayout(const std::string& layout, const PlacementInput& in);

// True when the layout needs a capture date (so the worker reads EXIF).
bool LayoutNeedsDate(const std::string& layout);
// True when the layout maps each device file to its own name ({path} with
// {device} and {folder}): a different content under the name is a newer
// version of the same file and replaces it. Otherwise two different files
// can meet under one name and must not overwrite each other.
bool LayoutIsOneToOne(const std::string& layout);

// Album per folder: the last directory of {path}, or the basename of the
// watched root for files at its top.
std::string AlbumFor(const PlacementInput& in);

// The capture date and time as photo services take it (issue 20,
// PutRequest::capture_date): "YYYY-MM-DD HH:MM:SS" from the EXIF date when
// the input has one, else from the mtime, in UTC.
std::string CaptureDateTime(const PlacementInput& in);

// A capture date a source states (issue 21: a Takeout sidecar's
// photoTakenTime, Job.capture_unix_ns), in UTC. It takes the place of the
// EXIF date (PlacementInput::exif_date): the source's date wins.
CaptureDate CaptureDateOfUnixNs(int64_t unix_ns);

// The n-th candidate name for a collision, n >= 2: "a/IMG_1.jpg" →
// "a/IMG_1 (2).jpg"; n == 1 returns the path unchanged.
std::string CollisionCandidate(const std::string& remote_path, int n);

// EXIF DateTimeOriginal (or DateTimeDigitized / Image DateTime) from the
// first bytes of an image; nullopt when absent, unparsable, or exiv2 is not
// built in.
std::optional<CaptureDate> ExifCaptureDate(std::string_view head);

}  // namespace shoebox::worker
