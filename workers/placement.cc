#include "workers/placement.h"

#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/paths.h"

#ifdef SHOEBOX_HAVE_EXIV2
#include <exiv2/exiv2.hpp>
#endif

namespace shoebox::worker {
namespace {

std::string Basename(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t s = p.rfind('/');
  std::string b(s == std::string_view::npos ? p : p.substr(s + 1));
  return b.empty() || b == "/" ? "root" : b;
}

// A value going into one path component may not contain '/'.
std::string Component(std::string v) {
  for (char& c : v) {
    if (c == '/') c = '_';
  }
  return v;
}

CaptureDate DateOf(const PlacementInput& in) {
  if (in.exif_date) return *in.exif_date;
  std::time_t t = static_cast<std::time_t>(in.mtime_ns / 1000000000);
  std::tm tm;
  gmtime_r(&t, &tm);
  return CaptureDate{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour,        tm.tm_min,     tm.tm_sec};
}

}  // namespace

CaptureDate CaptureDateOfUnixNs(int64_t unix_ns) {
  PlacementInput in;
  in.mtime_ns = unix_ns;
  return DateOf(in);
}

bool LayoutNeedsDate(const std::string& layout) {
  return absl::StrContains(layout, "{year}") || absl::StrContains(layout, "{month}") ||
         absl::StrContains(layout, "{day}");
}

bool LayoutIsOneToOne(const std::string& layout) {
  return absl::StrContains(layout, "{path}") && absl::StrContains(layout, "{device}") &&
         absl::StrContains(layout, "{folder}");
}

std::string AlbumFor(const PlacementInput& in) {
  size_t s = in.path.rfind('/');
  if (s == std::string::npos) return Basename(in.folder);
  return Basename(std::string_view(in.path).substr(0, s));
}

absl::StatusOr<std::string> ExpandLayout(const std::string& layout_in, const PlacementInput& in) {
  const std::string layout = layout_in.empty() ? kDefaultLayout : layout_in;
  absl::Status pv = ValidateRelativePath(in.path, "file path");
  if (!pv.ok()) return pv;
  std::string name = Basename(in.path);
  std::string dir;
  if (size_t s = in.path.rfind('/'); s != std::string::npos) dir = in.path.substr(0, s);
  std::string stem = name, ext;
  if (size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0) {
    stem = name.substr(0, dot);
    ext = name.substr(dot + 1);
  }
  std::string out;
  for (size_t i = 0; i < layout.size();) {
    if (layout[i] != '{') {
      out.push_back(layout[i++]);
      continue;
    }
    size_t close = layout.find('}', i);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("layout '", layout, "': unclosed '{'"));
    }
    std::string tok = layout.substr(i + 1, close - i - 1);
    i = close + 1;
    if (tok == "device")
      out += Component(in.device);
    else if (tok == "folder")
      out += Component(Basename(in.folder));
    else if (tok == "path")
      out += in.path;
    else if (tok == "dir")
      out += dir;
    else if (tok == "name")
      out += name;
    else if (tok == "stem")
      out += stem;
    else if (tok == "ext")
      out += ext;
    else if (tok == "album")
      out += Component(AlbumFor(in));
    else if (tok == "year")
      out += absl::StrFormat("%04d", DateOf(in).year);
    else if (tok == "month")
      out += absl::StrFormat("%02d", DateOf(in).month);
    else if (tok == "day")
      out += absl::StrFormat("%02d", DateOf(in).day);
    else {
      return absl::InvalidArgumentError(absl::StrCat("layout '", layout, "': unknown token {", tok,
                                                     "}; use {device} {folder} {path} {dir} {name} "
                                                     "{stem} {ext} {album} {year} {month} {day}"));
    }
  }
  std::vector<std::string> parts = absl::StrSplit(out, '/', absl::SkipEmpty());
  std::string result = absl::StrJoin(parts, "/");
  absl::Status v = ValidateRelativePath(result, "placed path");
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("layout '", layout, "' gives an invalid path: ", v.message()));
  }
  return result;
}

std::string CaptureDateTime(const PlacementInput& in) {
  const CaptureDate d = DateOf(in);
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d", d.year, d.month, d.day, d.hour, d.minute,
                         d.second);
}

std::string CollisionCandidate(const std::string& remote_path, int n) {
  if (n <= 1) return remote_path;
  size_t slash = remote_path.rfind('/');
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  size_t dot = remote_path.rfind('.');
  if (dot == std::string::npos || dot <= name_start) return absl::StrCat(remote_path, " (", n, ")");
  return absl::StrCat(remote_path.substr(0, dot), " (", n, ")", remote_path.substr(dot));
}

std::optional<CaptureDate> ExifCaptureDate(std::string_view head) {
#ifdef SHOEBOX_HAVE_EXIV2
  if (head.size() < 12) return std::nullopt;
  try {
    auto image = Exiv2::ImageFactory::open(reinterpret_cast<const Exiv2::byte*>(head.data()),
                                           static_cast<long>(head.size()));
    if (image.get() == nullptr) return std::nullopt;
    image->readMetadata();
    const Exiv2::ExifData& exif = image->exifData();
    for (const char* key :
         {"Exif.Photo.DateTimeOriginal", "Exif.Photo.DateTimeDigitized", "Exif.Image.DateTime"}) {
      auto it = exif.findKey(Exiv2::ExifKey(key));
      if (it == exif.end()) continue;
      std::string v = it->toString();  // "YYYY:MM:DD HH:MM:SS"
      CaptureDate d;
      if (std::sscanf(v.c_str(), "%d:%d:%d", &d.year, &d.month, &d.day) == 3 && d.year >= 1800 &&
          d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31) {
        // The time when it is there and sane ("YYYY:MM:DD HH:MM:SS").
        CaptureDate t = d;
        if (std::sscanf(v.c_str(), "%*d:%*d:%*d %d:%d:%d", &t.hour, &t.minute, &t.second) == 3 &&
            t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 &&
            t.second <= 59) {
          return t;
        }
        return d;
      }
    }
  } catch (...) {
    // exiv2 throws on truncated or unknown data: no date, fall back to mtime.
  }
  return std::nullopt;
#else
  (void)head;
  return std::nullopt;
#endif
}

}  // namespace shoebox::worker
