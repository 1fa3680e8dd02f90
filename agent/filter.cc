#include "agent/filter.h"

#include <cctype>

namespace shoebox::agent {
namespace {

inline unsigned char Fold(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Matches a bracket expression at p[pi] (p[pi] == '['); sets *next to the
// index after ']' and returns whether `c` is in the set. Returns false with
// *next = npos when the bracket is unterminated (then '[' is literal).
bool MatchClass(std::string_view p, size_t pi, unsigned char c, size_t* next) {
  size_t i = pi + 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    first = false;
    unsigned char lo = Fold(static_cast<unsigned char>(p[i]));
    unsigned char hi = lo;
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      hi = Fold(static_cast<unsigned char>(p[i + 2]));
      i += 3;
    } else {
      i += 1;
    }
    if (c >= lo && c <= hi) matched = true;
  }
  if (i >= p.size()) {
    *next = std::string_view::npos;
    return false;
  }
  *next = i + 1;
  return matched != negate;
}

bool MatchFrom(std::string_view p, size_t pi, std::string_view t, size_t ti) {
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '*') {
      bool dbl = pi + 1 < p.size() && p[pi + 1] == '*';
      if (dbl) {
        size_t rest = pi + 2;
        // "**/" also matches zero directories.
        if (rest < p.size() && p[rest] == '/') {
          if (MatchFrom(p, rest + 1, t, ti)) return true;
        }
        for (size_t k = ti; k <= t.size(); ++k) {
          if (MatchFrom(p, rest, t, k)) return true;
        }
        return false;
      }
      for (size_t k = ti; k <= t.size(); ++k) {
        if (MatchFrom(p, pi + 1, t, k)) return true;
        if (k < t.size() && t[k] == '/') break;
      }
      return false;
    }
    if (ti >= t.size()) return false;
    unsigned char tc = Fold(static_cast<unsigned char>(t[ti]));
    if (pc == '?') {
      if (tc == '/') return false;
      ++pi;
      ++ti;
      continue;
    }
    if (pc == '[') {
      size_t next;
      bool in = MatchClass(p, pi, tc, &next);
      if (next != std::string_view::npos) {
        if (!in || tc == '/') return false;
        pi = next;
        ++ti;
        continue;
      }
      // Unterminated: literal '['.
    }
    if (Fold(static_cast<unsigned char>(pc)) != tc) return false;
    ++pi;
    ++ti;
  }
  return ti == t.size();
}

bool EndsWithFold(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (Fold(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) !=
        Fold(static_cast<unsigned char>(suffix[i]))) {
      return false;
    }
  }
  return true;
}

bool EqualsFold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && EndsWithFold(a, b);
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  return MatchFrom(pattern, 0, text, 0);
}

const std::vector<std::string>& DefaultIncludeGlobs() {
  static const std::vector<std::string> kGlobs = {
      // photos
      "*.jpg", "*.jpeg", "*.jpe", "*.heic", "*.heif", "*.hif", "*.png", "*.gif", "*.webp", "*.tif",
      "*.tiff",
      // camera RAW
      "*.dng", "*.cr2", "*.cr3", "*.nef", "*.arw", "*.raf", "*.orf", "*.rw2",
      // videos
      "*.mp4", "*.mov", "*.m4v", "*.avi", "*.mkv", "*.3gp",
      // sidecars
      "*.xmp", "*.aae"};
  return kGlobs;
}

bool IsAlwaysIgnoredName(std::string_view name) {
  if (name.size() >= 2 && name[0] == '~' && name[1] == '$') return true;
  if (name.size() >= 2 && name[0] == '.' && name[1] == '_') return true;  // AppleDouble
  for (std::string_view suffix : {".part", ".tmp", ".crdownload"}) {
    if (EndsWithFold(name, suffix)) return true;
  }
  for (std::string_view exact : {".DS_Store", "Thumbs.db", "desktop.ini"}) {
    if (EqualsFold(name, exact)) return true;
  }
  return false;
}

PathFilter::PathFilter(std::vector<std::string> include, std::vector<std::string> exclude,
                       bool all_files)
    : include_(std::move(include)), exclude_(std::move(exclude)), all_files_(all_files) {
  if (include_.empty() && !all_files_) include_ = DefaultIncludeGlobs();
}

bool PathFilter::Matches(const std::string& pattern, std::string_view rel) {
  if (pattern.find('/') == std::string::npos) {
    size_t slash = rel.rfind('/');
    return GlobMatch(pattern, slash == std::string_view::npos ? rel : rel.substr(slash + 1));
  }
  std::string_view p = pattern;
  if (!p.empty() && p[0] == '/') p.remove_prefix(1);  // "/raw/**" anchors at the root
  return GlobMatch(p, rel);
}

bool PathFilter::IncludeFile(std::string_view rel) const {
  size_t slash = rel.rfind('/');
  std::string_view name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  if (IsAlwaysIgnoredName(name)) return false;
  for (const std::string& e : exclude_) {
    if (Matches(e, rel)) return false;
  }
  if (all_files_) return true;
  for (const std::string& i : include_) {
    if (Matches(i, rel)) return true;
  }
  return false;
}

bool PathFilter::DescendDir(std::string_view rel) const {
  std::string with_slash = std::string(rel) + "/";
  for (const std::string& e : exclude_) {
    if (Matches(e, rel)) return false;
    if (e.find('/') != std::string::npos && Matches(e, with_slash)) return false;  // "raw/**"
  }
  return true;
}

}  // namespace shoebox::agent
