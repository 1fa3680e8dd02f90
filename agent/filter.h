// Which paths of a watched folder are backed up.
//
// Glob syntax (matching is ASCII case-insensitive, on raw bytes):
//   *      any run of bytes except '/'
//   **     any run of bytes including '/' (whole components when written as
//          "**/" or "/**")
//   ?      one byte except '/'
//   [abc] [a-z] [!abc]  one byte from / not from the set
// A pattern without '/' matches the last path component ("*.jpg" matches
// "a/b/IMG_1.JPG"); a pattern with '/' matches the whole relative path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shoebox::agent {

// True when `pattern` matches `text` (see above; no basename rule here).
bool GlobMatch(std::string_view pattern, std::string_view text);

// The default include list: photos, videos and their sidecars.
const std::vector<std::string>& DefaultIncludeGlobs();

// True for names that are always ignored: temporary files of cameras, editors
// and browsers and OS metadata (".part", ".tmp", "~$*", ".DS_Store",
// "Thumbs.db", "desktop.ini", ".crdownload", "._*" AppleDouble files).
bool IsAlwaysIgnoredName(std::string_view name);

class PathFilter {
 public:
  // `include` empty and `all_files` false means DefaultIncludeGlobs().
  PathFilter(std::vector<std::string> include, std::vector<std::string> exclude, bool all_files);

  // Whether a regular file at `rel` (relative path) is backed up.
  bool IncludeFile(std::string_view rel) const;
  // Whether a directory at `rel` is descended into (false when an exclude
  // pattern matches it).
  bool DescendDir(std::string_view rel) const;

 private:
  static bool Matches(const std::string& pattern, std::string_view rel);
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  bool all_files_;
};

}  // namespace shoebox::agent
