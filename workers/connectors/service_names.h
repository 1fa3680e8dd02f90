// THE rule for names a cloud or photo service cannot store (docs/
// destinations.md, "Names a service cannot store"), shared by every service
// connector (Dropbox, OneDrive, Google Drive, Google Photos, Flickr,
// SmugMug) so that none of them drops or silently merges a name.
//
// A name component is encoded byte by byte; a byte is written as %XX
// (uppercase hex) when
//   - it is part of a sequence that is not valid UTF-8 (Latin-1 names from
//     old Windows or NAS imports),
//   - it is a control character (0x00-0x1F, 0x7F) or a character the
//     service forbids (NameRules::forbidden),
//   - it is '%' followed by two hex digits (so that decoding is exact),
//   - it is a leading or trailing space, or a trailing dot, where the
//     service forbids those,
//   - it is the first character of a reserved name (CON, desktop.ini, ...:
//     NameRules::reserved, compared without case and without extension).
// Every other byte is kept, so ordinary names (including emoji, accents,
// NFC and NFD forms, which stay distinct) are unchanged. DecodeServiceName
// turns every %XX back into its byte: Decode(Encode(n)) == n for every n.
//
// A name whose encoding is longer than NameRules::max_bytes is shortened:
// its stem is cut at a UTF-8 boundary and "~" plus the first 8 hex digits of
// the SHA-256 of the original name is inserted before the extension. Such a
// name cannot be decoded back; the catalog keeps the original (restores
// use it), and two long names differing after the cut stay distinct.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shoebox::worker {

struct NameRules {
  std::string_view service{};    // for messages: "OneDrive"
  std::string_view forbidden{};  // ASCII characters the service refuses in a name
  bool no_leading_space = false;
  bool no_trailing_space = false;
  bool no_trailing_dot = false;
  // Names refused whatever their case, compared with the part before the
  // first '.' when reserved_stem is true ("CON.jpg" is reserved on OneDrive)
  // and with the whole name otherwise.
  std::vector<std::string_view> reserved{};
  bool reserved_stem = true;
  std::vector<std::string_view> reserved_prefixes{};  // "~$"
  size_t max_bytes = 255;                             // per name component, in UTF-8 bytes
};

// Published rules (each function names its source in service_names.cc).
const NameRules& DropboxNameRules();
const NameRules& OneDriveNameRules();
const NameRules& GoogleDriveNameRules();
const NameRules& GooglePhotosNameRules();
const NameRules& FlickrNameRules();
const NameRules& SmugMugNameRules();

// One name component (no '/').
std::string EncodeServiceName(std::string_view name, const NameRules& rules);
std::string DecodeServiceName(std::string_view encoded);
// A '/'-separated path, component by component.
std::string EncodeServicePath(std::string_view path, const NameRules& rules);
std::string DecodeServicePath(std::string_view encoded);

}  // namespace shoebox::worker
