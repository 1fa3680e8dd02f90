#include "common/takeout/takeout.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace shoebox::takeout {

namespace {

constexpr absl::string_view kSupplemental = ".supplemental-metadata";
constexpr absl::string_view kJson = ".json";

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

absl::string_view Dirname(absl::string_view p) {
  size_t s = p.rfind('/');
  return s == absl::string_view::npos ? absl::string_view() : p.substr(0, s);
}

absl::string_view Basename(absl::string_view p) {
  size_t s = p.rfind('/');
  return s == absl::string_view::npos ? p : p.substr(s + 1);
}

// NAME = BASE(n)EXT with n digits: {BASE + EXT, "(n)"}.
std::optional<std::pair<std::string, std::string>> SplitDuplicate(absl::string_view name) {
  size_t dot = name.rfind('.');
  absl::string_view stem = dot == absl::string_view::npos ? name : name.substr(0, dot);
  absl::string_view ext = dot == absl::string_view::npos ? absl::string_view() : name.substr(dot);
  if (stem.size() < 3 || stem.back() != ')') return std::nullopt;
  size_t open = stem.rfind('(');
  if (open == absl::string_view::npos || open + 2 >= stem.size()) return std::nullopt;
  absl::string_view digits = stem.substr(open + 1, stem.size() - open - 2);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::make_pair(absl::StrCat(stem.substr(0, open), ext), std::string(stem.substr(open)));
}

// A sidecar name as {stem, "(n)" or ""} (without ".json").
std::pair<std::string, std::string> SplitSidecar(absl::string_view json_name) {
  absl::string_view s = json_name.substr(0, json_name.size() - kJson.size());
  if (!s.empty() && s.back() == ')') {
    size_t open = s.rfind('(');
    if (open != absl::string_view::npos && open + 2 < s.size()) {
      absl::string_view digits = s.substr(open + 1, s.size() - open - 2);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return {std::string(s.substr(0, open)), std::string(s.substr(open))};
      }
    }
  }
  return {std::string(s), ""};
}

// The stems ({stem, dup}) a media file's sidecar may have, in order.
std::vector<std::pair<std::string, std::string>> SidecarStems(absl::string_view media) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string name(media);
  if (std::optional<std::string> orig = OriginalOfEdited(media)) name = *orig;
  out.emplace_back(absl::StrCat(name, kSupplemental), "");
  out.emplace_back(name, "");
  if (auto dup = SplitDuplicate(name)) {
    out.emplace_back(absl::StrCat(dup->first, kSupplemental), dup->second);
    out.emplace_back(dup->first, dup->second);
  }
  return out;
}

bool TruncatedMatch(const std::pair<std::string, std::string>& sidecar,
                    const std::pair<std::string, std::string>& want) {
  if (sidecar.second != want.second) return false;
  const size_t n = CodePoints(sidecar.first);
  const size_t min =
      kTruncatedStemMin > sidecar.second.size() ? kTruncatedStemMin - sidecar.second.size() : 0;
  if (n < min || n > kTruncatedStemMax) return false;
  return want.first.size() > sidecar.first.size() && absl::StartsWith(want.first, sidecar.first);
}

std::optional<std::string> ExactSidecar(absl::string_view media,
                                        const std::set<std::string>& jsons) {
  for (const auto& [stem, dup] : SidecarStems(media)) {
    std::string want = absl::StrCat(stem, dup, kJson);
    if (jsons.count(want)) return want;
  }
  return std::nullopt;
}

std::optional<std::string> TruncatedSidecar(absl::string_view media,
                                            const std::vector<std::string>& jsons) {
  const auto stems = SidecarStems(media);
  std::optional<std::string> found;
  for (const std::string& j : jsons) {
    const auto parts = SplitSidecar(j);
    for (const auto& want : stems) {
      if (!TruncatedMatch(parts, want)) continue;
      if (found && *found != j) return std::nullopt;  // two truncated sidecars fit: none
      found = j;
    }
  }
  return found;
}

}  // namespace

bool IsYearFolder(absl::string_view folder_name) {
  constexpr absl::string_view kPrefix = "Photos from ";
  if (!absl::StartsWith(folder_name, kPrefix)) return false;
  absl::string_view y = folder_name.substr(kPrefix.size());
  return y.size() == 4 &&
         std::all_of(y.begin(), y.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsJsonName(absl::string_view name) {
  return name.size() > kJson.size() &&
         absl::EqualsIgnoreCase(name.substr(name.size() - kJson.size()), kJson);
}

std::optional<std::string> OriginalOfEdited(absl::string_view name) {
  constexpr absl::string_view kEdited = "-edited";
  size_t dot = name.rfind('.');
  absl::string_view stem = dot == absl::string_view::npos ? name : name.substr(0, dot);
  absl::string_view ext = dot == absl::string_view::npos ? absl::string_view() : name.substr(dot);
  absl::string_view dup;
  if (auto d = SplitDuplicate(absl::StrCat(stem, ".x"))) {  // IMG-edited(1)
    dup = stem.substr(d->first.size() - 2);
    stem = stem.substr(0, d->first.size() - 2);
  }
  if (!absl::EndsWith(stem, kEdited) || stem.size() == kEdited.size()) return std::nullopt;
  return absl::StrCat(stem.substr(0, stem.size() - kEdited.size()), dup, ext);
}

std::optional<std::string> MatchSidecar(absl::string_view media,
                                        const std::vector<std::string>& jsons,
                                        const std::vector<std::string>& claimants) {
  const std::set<std::string> names(jsons.begin(), jsons.end());
  if (auto exact = ExactSidecar(media, names)) return exact;
  std::optional<std::string> t = TruncatedSidecar(media, jsons);
  if (!t) return std::nullopt;
  // Strict: a truncated sidecar another media file (not this one's original
  // or edited variant, which share it) could claim too belongs to none.
  const std::string self = OriginalOfEdited(media).value_or(std::string(media));
  for (const std::string& other : claimants) {
    const std::string other_self = OriginalOfEdited(other).value_or(other);
    if (other_self == self) continue;
    if (ExactSidecar(other, names)) continue;
    if (TruncatedSidecar(other, jsons) == t) return std::nullopt;
  }
  return t;
}

std::optional<int64_t> PhotoTakenTime(absl::string_view sidecar_json) {
  nlohmann::json j = nlohmann::json::parse(sidecar_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto p = j.find("photoTakenTime");
  if (p == j.end() || !p->is_object()) return std::nullopt;
  auto t = p->find("timestamp");
  if (t == p->end()) return std::nullopt;
  if (t->is_number_integer()) return t->get<int64_t>();
  if (!t->is_string()) return std::nullopt;
  const std::string s = t->get<std::string>();
  if (s.empty() || s.size() > 18 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(s);
}

std::optional<std::string> AlbumTitle(absl::string_view metadata_json) {
  nlohmann::json j = nlohmann::json::parse(metadata_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto t = j.find("title");
  if (t == j.end() || !t->is_string()) return std::nullopt;
  std::string title = t->get<std::string>();
  if (absl::StripAsciiWhitespace(title).empty()) return std::nullopt;
  return title;
}

Plan MakePlan(const std::vector<Entry>& entries, const std::map<std::string, std::string>& jsons) {
  Plan plan;
  // Per folder: its JSON names and its media names.
  std::map<std::string, std::vector<std::string>, std::less<>> json_names, media_names;
  for (const auto& [path, text] : jsons) {
    json_names[std::string(Dirname(path))].emplace_back(Basename(path));
  }
  for (const Entry& e : entries) {
    media_names[std::string(Dirname(e.path))].emplace_back(Basename(e.path));
  }
  // Album titles of folders: metadata.json's title, never for year folders.
  auto album_of = [&](absl::string_view dir) -> std::optional<std::string> {
    if (IsYearFolder(Basename(dir))) return std::nullopt;
    auto it = jsons.find(absl::StrCat(dir, "/metadata.json"));
    if (it == jsons.end()) return std::nullopt;
    return AlbumTitle(it->second);
  };
  auto capture_of = [&](const Entry& e) -> std::optional<int64_t> {
    const std::string dir(Dirname(e.path));
    auto names = json_names.find(dir);
    if (names == json_names.end()) return std::nullopt;
    std::optional<std::string> sc = MatchSidecar(Basename(e.path), names->second, media_names[dir]);
    if (!sc) return std::nullopt;
    auto text = jsons.find(dir.empty() ? *sc : absl::StrCat(dir, "/", *sc));
    if (text == jsons.end()) return std::nullopt;
    return PhotoTakenTime(text->second);
  };
  // Group by content.
  std::map<std::pair<std::string, uint64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < entries.size(); ++i) {
    groups[{entries[i].sha256, entries[i].size}].push_back(i);
  }
  std::vector<std::pair<std::string, Item>> ordered;  // by path, for a stable plan
  for (auto& [key, copies] : groups) {
    std::sort(copies.begin(), copies.end(),
              [&](size_t a, size_t b) { return entries[a].path < entries[b].path; });
    size_t keep = copies.front();
    for (size_t c : copies) {
      if (IsYearFolder(Basename(Dirname(entries[c].path)))) {
        keep = c;
        break;
      }
    }
    Item item;
    item.entry = keep;
    item.copies = copies;
    absl::string_view path = entries[keep].path;
    if (absl::StartsWith(path, "Takeout/")) path.remove_prefix(8);
    item.path = std::string(path);
    std::set<std::string> albums;
    for (size_t c : copies) {
      if (auto a = album_of(Dirname(entries[c].path))) albums.insert(*a);
    }
    item.albums.assign(albums.begin(), albums.end());
    std::optional<int64_t> taken = capture_of(entries[keep]);
    for (size_t c : copies) {
      if (taken) break;
      taken = capture_of(entries[c]);
    }
    if (taken) {
      item.capture_ns = *taken * 1000000000;
      item.mtime_ns = item.capture_ns;
    } else {
      item.mtime_ns = entries[keep].mtime_ns / 1000000000 * 1000000000;
      plan.notes.push_back(absl::StrCat(entries[keep].path,
                                        ": no sidecar with photoTakenTime; the date is the "
                                        "archive's file time (the EXIF date at delivery)"));
    }
    ordered.emplace_back(item.path, std::move(item));
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [p, item] : ordered) plan.items.push_back(std::move(item));
  return plan;
}

}  // namespace shoebox::takeout
