#include "workers/connectors/service_names.h"

#include <algorithm>
#include <cctype>

#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/hex_digit.h"

namespace shoebox::worker {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], 0 when it is not one
// (stray continuation byte, truncated sequence, overlong form, surrogate,
// beyond U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // > U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

void AppendEscaped(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->push_back('%');
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 15]);
}

bool IsEscapeAt(std::string_view s, size_t i) {
  return s[i] == '%' && i + 2 < s.size() && HexDigitValue(s[i + 1]) >= 0 &&
         HexDigitValue(s[i + 2]) >= 0;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsReserved(std::string_view name, const NameRules& rules) {
  std::string_view key = name;
  if (rules.reserved_stem) key = key.substr(0, key.find('.'));
  if (key.empty() && rules.reserved_stem) key = name;  // ".lock"
  for (std::string_view r : rules.reserved) {
    if (EqualsIgnoreCase(key, r) || EqualsIgnoreCase(name, r)) return true;
  }
  for (std::string_view p : rules.reserved_prefixes) {
    if (name.size() >= p.size() && EqualsIgnoreCase(name.substr(0, p.size()), p)) {
      return true;
    }
  }
  return false;
}

// Cuts `encoded` to rules.max_bytes: stem cut at a UTF-8 (and escape)
// boundary, "~" + 8 hex digits of SHA-256(original), the extension kept when
// it is short.
std::string Shorten(std::string encoded, std::string_view original, const NameRules& rules) {
  const std::string tag = "~" + ToHex(DigestToString(Sha256::Of(original))).substr(0, 8);
  std::string ext;
  const size_t dot = encoded.rfind('.');
  if (dot != std::string::npos && dot > 0 && encoded.size() - dot <= 16) {
    ext = encoded.substr(dot);
    encoded.resize(dot);
  }
  const size_t keep =
      rules.max_bytes > tag.size() + ext.size() ? rules.max_bytes - tag.size() - ext.size() : 0;
  size_t cut = 0;
  for (size_t i = 0; i < encoded.size();) {
    size_t n = IsEscapeAt(encoded, i) ? 3 : Utf8SequenceLength(encoded, i);
    if (n == 0) n = 1;
    if (cut + n > keep) break;
    cut += n;
    i += n;
  }
  encoded.resize(cut);
  // A trailing space or dot left by the cut is escaped by the caller's rules
  // only at the end of the name; the tag follows it, so it is harmless.
  return encoded + tag + ext;
}

}  // namespace

// https://help.dropbox.com/organize/file-names ("incompatible characters":
// / \ < > : " | ? * and a period or space at the end); 255 characters.
const NameRules& DropboxNameRules() {
  static const NameRules r{.service = "Dropbox",
                           .forbidden = "/\\<>:\"|?*",
                           .no_trailing_space = true,
                           .no_trailing_dot = true};
  return r;
}

// https://support.microsoft.com/en-us/office/restrictions-and-limitations-in-
// onedrive-and-sharepoint-64883a5d-228e-48f5-b3d2-eb39e07630fa ("Invalid
// file names and file types"): " * : < > ? / \ |, leading and trailing
// spaces, the reserved names, names starting with ~$; rclone's onedrive
// backend also encodes a trailing period and a leading tilde, and the
// stricter reading wins.
const NameRules& OneDriveNameRules() {
  static const NameRules r{
      .service = "OneDrive",
      .forbidden = "\"*:<>?/\\|",
      .no_leading_space = true,
      .no_trailing_space = true,
      .no_trailing_dot = true,
      .reserved = {".lock", "CON",  "PRN",  "AUX",  "NUL",  "COM0", "COM1", "COM2",       "COM3",
                   "COM4",  "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1",       "LPT2",
                   "LPT3",  "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "desktop.ini"},
      .reserved_prefixes = {"~", "_vti_"}};
  return r;
}

// https://developers.google.com/drive/api/guides/manage-uploads: names are
// UTF-8 metadata; '/' is allowed by Drive but is our folder separator.
const NameRules& GoogleDriveNameRules() {
  static const NameRules r{.service = "Google Drive", .forbidden = "/"};
  return r;
}

// https://developers.google.com/photos/library/guides/upload-media: the
// fileName of a media item; 255 bytes is the stricter reading.
const NameRules& GooglePhotosNameRules() {
  static const NameRules r{.service = "Google Photos", .forbidden = "/"};
  return r;
}

// https://www.flickr.com/services/api/upload.api.html: title and filename
// are UTF-8 form fields.
const NameRules& FlickrNameRules() {
  static const NameRules r{.service = "Flickr", .forbidden = "/"};
  return r;
}

// https://api.smugmug.com/api/v2/doc/reference/upload.html: X-Smug-FileName
// is an HTTP header, so no control characters and UTF-8 only.
const NameRules& SmugMugNameRules() {
  static const NameRules r{.service = "SmugMug", .forbidden = "/\\"};
  return r;
}

std::string EncodeServiceName(std::string_view name, const NameRules& rules) {
  std::string out;
  out.reserve(name.size() + 8);
  const bool reserved = IsReserved(name, rules);
  // Where the trailing run of spaces and dots that must be escaped begins.
  size_t tail = name.size();
  while (tail > 0) {
    const char c = name[tail - 1];
    if (!((c == ' ' && rules.no_trailing_space) || (c == '.' && rules.no_trailing_dot))) break;
    --tail;
  }
  for (size_t i = 0; i < name.size();) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const size_t n = Utf8SequenceLength(name, i);
    if (n == 0) {
      AppendEscaped(&out, c);
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(name.substr(i, n));
      i += n;
      continue;
    }
    const bool escape = c < 0x20 || c == 0x7F ||
                        rules.forbidden.find(static_cast<char>(c)) != std::string_view::npos ||
                        IsEscapeAt(name, i) || (i == 0 && reserved) ||
                        (i == 0 && c == ' ' && rules.no_leading_space) || i >= tail;
    if (escape) {
      AppendEscaped(&out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  if (out.size() > rules.max_bytes) return Shorten(std::move(out), name, rules);
  return out;
}

std::string DecodeServiceName(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (IsEscapeAt(encoded, i)) {
      out.push_back(
          static_cast<char>(HexDigitValue(encoded[i + 1]) * 16 + HexDigitValue(encoded[i + 2])));
      i += 2;
    } else {
      out.push_back(encoded[i]);
    }
  }
  return out;
}

namespace {

// Applies `f` to each '/'-separated component of `path`, keeping the '/'.
template <typename F>
std::string MapComponents(std::string_view path, F f) {
  std::string out;
  size_t begin = 0;
  while (true) {
    const size_t slash = path.find('/', begin);
    out += f(path.substr(begin, slash == std::string_view::npos ? slash : slash - begin));
    if (slash == std::string_view::npos) return out;
    out.push_back('/');
    begin = slash + 1;
  }
}

}  // namespace

std::string EncodeServicePath(std::string_view path, const NameRules& rules) {
  return MapComponents(path, [&](std::string_view part) { return EncodeServiceName(part, rules); });
}

std::string DecodeServicePath(std::string_view encoded) {
  return MapComponents(encoded, [](std::string_view part) { return DecodeServiceName(part); });
}

}  // namespace shoebox::worker
