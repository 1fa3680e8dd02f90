#include "workers/album_rule.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/destination_kinds.h"

namespace shoebox::worker {
namespace {

// The last component of the watched root ("root" for "/").
std::string RootName(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  const size_t s = p.rfind('/');
  std::string b(s == std::string_view::npos ? p : p.substr(s + 1));
  return b.empty() || b == "/" ? "root" : b;
}

std::string DirOf(const std::string& path) {
  const size_t s = path.rfind('/');
  return s == std::string::npos ? "" : path.substr(0, s);
}

// '/' as ' ' (a run of them one), trimmed of ASCII white space.
std::string Title(const std::string& expanded) {
  std::vector<absl::string_view> parts = absl::StrSplit(expanded, '/', absl::SkipEmpty());
  std::string joined = absl::StrJoin(parts, " ");
  return std::string(absl::StripAsciiWhitespace(joined));
}

}  // namespace

absl::StatusOr<AlbumRule> AlbumRule::Parse(const std::string& text) {
  if (text == "folder") return AlbumRule(Mode::kFolder, text);
  if (text == "none") return AlbumRule(Mode::kNone, text);
  absl::Status st = CheckAlbumRule(text);
  if (!st.ok()) return st;
  return AlbumRule(Mode::kTemplate, text);
}

bool AlbumRule::NeedsDate() const {
  return mode_ == Mode::kTemplate &&
         (text_.find("{year}") != std::string::npos || text_.find("{month}") != std::string::npos);
}

std::string AlbumRule::AlbumFor(const PlacementInput& in) const {
  switch (mode_) {
    case Mode::kNone:
      return "";
    case Mode::kFolder: {
      const std::string dir = DirOf(in.path);
      return dir.empty() ? Title(RootName(in.folder)) : Title(dir);
    }
    case Mode::kTemplate:
      break;
  }
  // "YYYY-MM-DD HH:MM:SS": the same date the layout's {year} and {month} use.
  const std::string when = CaptureDateTime(in);
  std::string out;
  for (size_t i = 0; i < text_.size();) {
    if (text_[i] != '{') {
      out.push_back(text_[i++]);
      continue;
    }
    const size_t close = text_.find('}', i);  // Parse checked it is there
    const std::string token = text_.substr(i + 1, close - i - 1);
    i = close + 1;
    if (token == "folder") {
      out += RootName(in.folder);
    } else if (token == "dir") {
      out += DirOf(in.path);
    } else if (token == "year") {
      out += when.substr(0, 4);
    } else if (token == "month") {
      out += when.substr(5, 2);
    } else if (token == "device") {
      out += in.device;
    }
  }
  return Title(out);
}

std::vector<std::string> FolderKeywords(const PlacementInput& in) {
  const std::string dir = DirOf(in.path);
  if (dir.empty()) return {RootName(in.folder)};
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
    if (std::find(out.begin(), out.end(), part) == out.end()) out.emplace_back(part);
  }
  return out;
}

absl::StatusOr<PhotoSettings> ReadPhotoSettings(const nlohmann::json& settings,
                                                const std::string& destination) {
  PhotoSettings out;
  if (!settings.is_object()) return out;
  if (auto it = settings.find("albums"); it != settings.end() && !it->is_null()) {
    if (!it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "destination '", destination, "': albums: must be a string, not ", it->dump(),
          "; fix it with `shoebox dest set ", destination, " --set albums=folder`"));
    }
    absl::StatusOr<AlbumRule> rule = AlbumRule::Parse(it->get<std::string>());
    if (!rule.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("destination '", destination, "': albums: ", rule.status().message(),
                       "; fix it with `shoebox dest set ", destination, " --set albums=...`"));
    }
    out.rule = *std::move(rule);
  }
  if (auto it = settings.find("keywords"); it != settings.end() && !it->is_null()) {
    if (it->is_boolean()) {
      out.keywords = it->get<bool>();
    } else if (it->is_string()) {
      // As stored by CLIs before the settings table (SettingsReader is as lenient).
      const std::string v = absl::AsciiStrToLower(it->get<std::string>());
      if (v == "true" || v == "yes" || v == "on" || v == "1") {
        out.keywords = true;
      } else if (v == "false" || v == "no" || v == "off" || v == "0") {
        out.keywords = false;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "destination '", destination, "': keywords: must be true or false, not ", it->dump()));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "destination '", destination, "': keywords: must be true or false, not ", it->dump()));
    }
  }
  return out;
}

}  // namespace shoebox::worker
