#include "common/destination_kinds.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"

namespace shoebox {

namespace {

using json = nlohmann::json;
using T = SettingType;

constexpr bool kReq = true, kOpt = false, kSecret = true, kPlain = false;

// Settings that several kinds share, written once.
// clang-format off
SettingSpec Timeout(const char* default_s) {
  return {"timeout_s", T::kInt, default_s, kOpt, kPlain, "connect and stall timeout, seconds",
          1, 3600};
}
constexpr char kBudgetHelp[] =
    "requests per second this account may start, from the service's published budget "
    "(0: none; 429 + Retry-After is always honoured)";
SettingSpec RequestRate(const char* default_rate, const char* help = kBudgetHelp) {
  return {"max_requests_per_s", T::kInt, default_rate, kOpt, kPlain, help, 0, 100000};
}
SettingSpec OAuthClientId() {
  return {"client_id", T::kString, "", kReq, kPlain,
          "OAuth client ID (app key) you registered (docs/destinations.md)"};
}
SettingSpec OAuthClientSecret(const char* help) {
  return {"client_secret", T::kString, "", kOpt, kSecret, help};
}
SettingSpec OAuthRefreshToken() {
  return {"refresh_token", T::kString, "", kOpt, kSecret,
          "set by `shoebox dest connect NAME` (or a blob of `shoebox authorize`)"};
}
SettingSpec GoogleAuthEndpoint() {
  return {"auth_endpoint", T::kUrl, "", kOpt, kPlain,
          "OAuth base replacing https://accounts.google.com and https://oauth2.googleapis.com "
          "(tests)"};
}
SettingSpec AlbumRule(const char* help) {
  return {"albums", T::kString, "\"folder\"", kOpt, kPlain, help};
}
// clang-format on
constexpr char kAlbumRuleHelp[] =
    "album rule: folder (Camera/2023 becomes album \"Camera 2023\"), none, or a template "
    "of {folder} {dir} {year} {month} {device}";

std::vector<KindSpec> MakeKinds() {
  return {
      {"local",
       "a folder on the worker host: local disk or a NAS mount",
       {
           {"root", T::kAbsolutePath, "", kReq, kPlain,
            "absolute folder; created (with parents) if missing"},
           {"fsync", T::kBool, "true", kOpt, kPlain,
            "fsync file and folder before a job completes (false: faster, less durable)"},
       },
       {}},
      {"s3",
       "an S3-compatible bucket: AWS, Backblaze B2, Wasabi, R2, MinIO, Garage, Ceph RGW",
       {
           {"bucket", T::kString, "", kReq, kPlain, "bucket name; it must exist"},
           {"endpoint", T::kUrl, "", kOpt, kPlain,
            "e.g. https://s3.eu-central-003.backblazeb2.com (default: AWS for the region)"},
           {"region", T::kString, "\"us-east-1\"", kOpt, kPlain, "signing region (R2: auto)"},
           {"prefix", T::kString, "\"\"", kOpt, kPlain, "key prefix, e.g. photos/"},
           {"style", T::kChoice, "\"path\"", kOpt, kPlain,
            "path: endpoint/bucket/key; virtual: bucket.endpoint/key", 0, 0, "path|virtual"},
           {"sign_payload", T::kBool, "true", kOpt, kPlain,
            "sign the body's SHA-256 (false: UNSIGNED-PAYLOAD)"},
           {"multipart_threshold_mib", T::kInt, "64", kOpt, kPlain,
            "files at least this big use multipart upload", 1, 1 << 20},
           {"part_size_mib", T::kInt, "16", kOpt, kPlain, "multipart part size", 5, 5120},
           {"parallel_parts", T::kInt, "4", kOpt, kPlain, "parts uploaded at once", 1, 64},
           {"verify_tls", T::kBool, "true", kOpt, kPlain, "check the server's certificate"},
           {"ca_file", T::kAbsolutePath, "", kOpt, kPlain,
            "extra CA bundle (PEM) on the worker host"},
           {"resolve", T::kStringList, "", kOpt, kPlain,
            "host:port:address entries as curl --resolve (comma-separated)"},
           {"access_key_id", T::kString, "", kReq, kSecret, "access key ID"},
           {"secret_access_key", T::kString, "", kReq, kSecret, "secret access key"},
           {"session_token", T::kString, "", kOpt, kSecret, "STS session token"},
       },
       {}},
      {"webdav",
       "a WebDAV folder, e.g. Nextcloud, ownCloud, Apache mod_dav",
       {
           {"url", T::kUrl, "", kReq, kPlain, "the destination folder's URL; it must exist"},
           {"nextcloud", T::kBool, "false", kOpt, kPlain,
            "Nextcloud/ownCloud: keep mtimes, read checksums, chunked upload v2"},
           {"chunk_size_mib", T::kInt, "16", kOpt, kPlain, "Nextcloud chunk size", 5, 1024},
           {"uploads_url", T::kUrl, "", kOpt, kPlain,
            "Nextcloud uploads collection (default: derived from url)"},
           {"ca_file", T::kAbsolutePath, "", kOpt, kPlain,
            "PEM bundle to trust (self-signed servers) on the worker host"},
           Timeout("60"),
           {"user", T::kString, "", kOpt, kSecret, "Basic auth user"},
           {"password", T::kString, "", kOpt, kSecret,
            "Basic auth password (a Nextcloud app password works)"},
       },
       {}},
      {"sftp",
       "an SFTP server (OpenSSH)",
       {
           {"host", T::kString, "", kReq, kPlain, "server name or address"},
           {"port", T::kInt, "22", kOpt, kPlain, "SSH port", 1, 65535},
           {"user", T::kString, "", kOpt, kPlain, "login name (or as a secret)"},
           {"path", T::kString, "", kOpt, kPlain,
            "destination folder: absolute, or relative to the login directory"},
           {"known_hosts", T::kAbsolutePath, "", kOpt, kPlain,
            "known_hosts file on the worker host holding the server's key"},
           {"host_key", T::kString, "", kOpt, kPlain,
            "the server's key line(s) as printed by ssh-keyscan -p PORT HOST"},
           {"timeout_s", T::kInt, "30", kOpt, kPlain, "connect timeout, seconds", 1, 3600},
           {"private_key", T::kString, "", kOpt, kSecret,
            "OpenSSH or PEM private key text (use --secret-file)"},
           {"passphrase", T::kString, "", kOpt, kSecret, "passphrase of the private key"},
           {"password", T::kString, "", kOpt, kSecret, "password login"},
           {"user", T::kString, "", kOpt, kSecret, "login name (overrides the setting)"},
       },
       {{"known_hosts", "host_key"}}},
      {"rclone",
       "a remote of a running `rclone rcd` (Dropbox, OneDrive, Drive, Box, B2, ...)",
       {
           {"url", T::kUrl, "", kReq, kPlain, "rc address, e.g. http://127.0.0.1:5572/"},
           {"remote", T::kString, "", kReq, kPlain,
            "rclone fs that is the destination root, e.g. dropbox:Photos"},
           {"hashes", T::kBool, "true", kOpt, kPlain, "ask for checksums in Stat"},
           Timeout("120"),
           {"ca_file", T::kAbsolutePath, "", kOpt, kPlain,
            "PEM bundle for an https rc address, on the worker host"},
           {"user", T::kString, "", kOpt, kSecret, "--rc-user of the rcd"},
           {"password", T::kString, "", kOpt, kSecret, "--rc-pass of the rcd"},
       },
       {}},
      {"dropbox",
       "a Dropbox account over API v2 (connect with `shoebox dest connect NAME`)",
       {
           OAuthClientId(),
           {"folder", T::kString, "\"Shoebox\"", kOpt, kPlain,
            "folder in the account (an app-folder app: inside its app folder)"},
           {"chunk_size_mib", T::kInt, "16", kOpt, kPlain,
            "upload session request, MiB (a multiple of 4, at most 148)", 4, 148},
           {"endpoint", T::kUrl, "", kOpt, kPlain,
            "API base replacing https://api.dropboxapi.com and https://content.dropboxapi.com "
            "(tests)"},
           {"auth_endpoint", T::kUrl, "", kOpt, kPlain,
            "OAuth base replacing https://www.dropbox.com and https://api.dropboxapi.com (tests)"},
           Timeout("60"),
           RequestRate("0"),
           OAuthClientSecret("app secret (optional: PKCE works without it)"),
           OAuthRefreshToken(),
       },
       {}},
      {"onedrive",
       "a OneDrive (personal or business) drive over Microsoft Graph (`shoebox dest connect NAME`)",
       {
           OAuthClientId(),
           {"folder", T::kString, "\"Shoebox\"", kOpt, kPlain, "folder in the drive"},
           {"drive_id", T::kString, "", kOpt, kPlain,
            "a drive other than the account's own (SharePoint/business), by Graph drive ID"},
           {"chunk_size_mib", T::kInt, "10", kOpt, kPlain,
            "upload fragment, MiB (rounded down to a multiple of 320 KiB)", 1, 59},
           {"endpoint", T::kUrl, "", kOpt, kPlain,
            "Graph base replacing https://graph.microsoft.com/v1.0 (tests)"},
           {"auth_endpoint", T::kUrl, "", kOpt, kPlain,
            "OAuth base replacing https://login.microsoftonline.com (tests)"},
           Timeout("60"),
           RequestRate("0"),
           OAuthClientSecret("client secret (empty for a public client)"),
           OAuthRefreshToken(),
       },
       {}},
      {"gdrive",
       "a Google Drive over API v3 (`shoebox dest connect NAME`)",
       {
           OAuthClientId(),
           {"folder", T::kString, "\"Shoebox\"", kOpt, kPlain, "folder in My Drive"},
           {"chunk_size_mib", T::kInt, "8", kOpt, kPlain, "resumable upload chunk, MiB", 1, 1024},
           {"endpoint", T::kUrl, "", kOpt, kPlain,
            "API base replacing https://www.googleapis.com (tests)"},
           GoogleAuthEndpoint(),
           Timeout("60"),
           RequestRate("0"),
           OAuthClientSecret("client secret (Google requires it, also for desktop clients)"),
           OAuthRefreshToken(),
       },
       {}},
      {"flickr",
       "a Flickr account: photos and videos, private by default, folders as albums "
       "(connect with `shoebox dest connect NAME`)",
       {
           {"api_key", T::kString, "", kReq, kPlain,
            "API key of the app you registered at flickr.com/services/apps/create "
            "(docs/destinations.md)"},
           {"endpoint", T::kUrl, "\"https://api.flickr.com/services\"", kOpt, kPlain,
            "REST API base ({endpoint}/rest/)"},
           {"upload_endpoint", T::kUrl, "\"https://up.flickr.com/services\"", kOpt, kPlain,
            "upload base ({upload_endpoint}/upload/)"},
           {"auth_endpoint", T::kUrl, "\"https://www.flickr.com/services\"", kOpt, kPlain,
            "OAuth 1.0a base ({auth_endpoint}/oauth/request_token, authorize, access_token)"},
           {"is_public", T::kBool, "false", kOpt, kPlain, "photos visible to everyone"},
           {"is_friend", T::kBool, "false", kOpt, kPlain, "photos visible to your friends"},
           {"is_family", T::kBool, "false", kOpt, kPlain, "photos visible to your family"},
           AlbumRule(kAlbumRuleHelp),
           {"keywords", T::kBool, "false", kOpt, kPlain, "folder names as tags"},
           Timeout("60"),
           RequestRate("1",
                       "requests per second this API key may start (Flickr allows 3,600 per "
                       "hour; 0: no limit, 429 + Retry-After is always honoured)"),
           {"api_secret", T::kString, "", kOpt, kSecret,
            "the API key's secret (`shoebox dest connect NAME` asks for it)"},
           {"oauth_token", T::kString, "", kOpt, kSecret, "set by `shoebox dest connect NAME`"},
           {"oauth_token_secret", T::kString, "", kOpt, kSecret,
            "set by `shoebox dest connect NAME`"},
       },
       {},
       /*albums=*/true},
      {"smugmug",
       "SmugMug galleries over API v2, OAuth 1.0a (`shoebox dest connect NAME`)",
       {
           {"api_key", T::kString, "", kReq, kPlain,
            "API key you applied for at SmugMug (docs/destinations.md)"},
           {"folder", T::kString, "\"Shoebox\"", kOpt, kPlain,
            "folder (node path) under the account's root that holds the galleries"},
           AlbumRule("album rule: folder (Camera/2023 becomes gallery \"Camera 2023\"), none, or a "
                     "template of {folder} {dir} {year} {month} {device}"),
           {"keywords", T::kBool, "false", kOpt, kPlain,
            "send the folder names as keywords of each photo"},
           {"endpoint", T::kUrl, "\"https://api.smugmug.com\"", kOpt, kPlain,
            "API base (tests: a local server)"},
           {"upload_endpoint", T::kUrl, "\"https://upload.smugmug.com\"", kOpt, kPlain,
            "upload base (tests: a local server)"},
           {"auth_endpoint", T::kUrl, "\"https://api.smugmug.com\"", kOpt, kPlain,
            "base of /services/oauth/1.0a/getRequestToken, authorize, getAccessToken (tests)"},
           Timeout("60"),
           RequestRate("0"),
           {"api_secret", T::kString, "", kOpt, kSecret, "API key secret (OAuth consumer secret)"},
           {"oauth_token", T::kString, "", kOpt, kSecret,
            "access token, set by `shoebox dest connect NAME`"},
           {"oauth_token_secret", T::kString, "", kOpt, kSecret,
            "access token secret, set by `shoebox dest connect NAME`"},
       },
       {},
       /*albums=*/true},
      {"gphotos",
       "a Google Photos library over the Library API, one album per folder (`shoebox dest "
       "connect NAME`)",
       {
           OAuthClientId(),
           AlbumRule(kAlbumRuleHelp),
           {"daily_request_budget", T::kInt, "10000", kOpt, kPlain,
            "Library API requests per day for the project, counted per worker process; reset at "
            "00:00 Pacific",
            1, 100000000},
           {"chunk_size_mib", T::kInt, "8", kOpt, kPlain, "resumable upload chunk, MiB", 1, 1024},
           {"endpoint", T::kUrl, "", kOpt, kPlain,
            "API base replacing https://photoslibrary.googleapis.com (tests)"},
           {"upload_endpoint", T::kUrl, "", kOpt, kPlain,
            "upload URL replacing https://photoslibrary.googleapis.com/v1/uploads (tests; "
            "default: endpoint + /v1/uploads)"},
           GoogleAuthEndpoint(),
           Timeout("60"),
           RequestRate("0",
                       "requests per second this account may start (0: none; 429 + Retry-After "
                       "is always honoured)"),
           OAuthClientSecret("client secret (Google requires it, also for desktop clients)"),
           OAuthRefreshToken(),
       },
       {},
       /*albums=*/true},
  };
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string KeyList(const KindSpec& k, bool secret) {
  std::vector<std::string> names;
  for (const SettingSpec& s : k.keys)
    if (s.secret == secret) names.push_back(s.key);
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::Status UnknownKey(const KindSpec& k, std::string_view key, bool secret) {
  const char* what = secret ? "secret" : "setting";
  if (FindSetting(k, key, !secret) != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(key), ": is a ", secret ? "plain setting" : "secret", " of kind ", k.kind,
        ", not a ", what,
        secret ? "; pass it with --set" : "; pass it with --secret (it is sealed to the workers)"));
  }
  std::string best;
  size_t best_d = 3;
  for (const SettingSpec& s : k.keys) {
    if (s.secret != secret) continue;
    const size_t d = EditDistance(key, s.key);
    if (d < best_d) {
      best_d = d;
      best = s.key;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(key), ": kind ", k.kind, " has no such ", what,
                   best.empty() ? "" : absl::StrCat(" (did you mean '", best, "'?)"), "; its ",
                   what, "s are: ", KeyList(k, secret), " (`shoebox dest kinds ", k.kind, "`)"));
}

absl::Status BadValue(const std::string& kind, const SettingSpec& s, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(s.key, ": ", why, " (", kind, " ",
                                                 s.secret ? "secret" : "setting", " '", s.key,
                                                 "': ", SettingTypeName(s.type, s.choices), ")"));
}

std::optional<bool> ParseBoolText(std::string text) {
  text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return std::nullopt;
}

}  // namespace

std::string SettingTypeName(SettingType t, const char* choices) {
  switch (t) {
    case T::kString:
      return "string";
    case T::kAbsolutePath:
      return "absolute path";
    case T::kUrl:
      return "http(s) URL";
    case T::kInt:
      return "integer";
    case T::kBool:
      return "true or false";
    case T::kChoice: {
      std::vector<std::string> parts = absl::StrSplit(choices, '|');
      return absl::StrCat("one of ", absl::StrJoin(parts, ", "));
    }
    case T::kStringList:
      return "list of strings (comma-separated)";
  }
  return "?";
}

const std::vector<KindSpec>& DestinationKinds() {
  static const std::vector<KindSpec>* kinds = new std::vector<KindSpec>(MakeKinds());
  return *kinds;
}

const KindSpec* FindDestinationKind(std::string_view kind) {
  for (const KindSpec& k : DestinationKinds())
    if (kind == k.kind) return &k;
  return nullptr;
}

const SettingSpec* FindSetting(const KindSpec& kind, std::string_view key, bool secret) {
  for (const SettingSpec& s : kind.keys)
    if (s.secret == secret && key == s.key) return &s;
  return nullptr;
}

std::string DestinationKindNames() {
  std::vector<std::string> names;
  for (const KindSpec& k : DestinationKinds()) names.push_back(k.kind);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<const KindSpec*> LookUpDestinationKind(std::string_view kind) {
  if (const KindSpec* k = FindDestinationKind(kind)) return k;
  return absl::InvalidArgumentError(
      absl::StrCat("kind: '", std::string(kind), "' is not a destination kind; the kinds are: ",
                   DestinationKindNames(), " (`shoebox dest kinds`)"));
}

absl::StatusOr<json> ConvertSettingText(const std::string& kind, const SettingSpec& s,
                                        const std::string& text) {
  switch (s.type) {
    case T::kInt: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v))
        return BadValue(kind, s, absl::StrCat("'", text, "' is not an integer"));
      json j = v;
      absl::Status st = CheckSettingValue(kind, s, j, false);
      if (!st.ok()) return st;
      return j;
    }
    case T::kBool: {
      std::optional<bool> b = ParseBoolText(text);
      if (!b) return BadValue(kind, s, absl::StrCat("'", text, "' is not true or false"));
      return json(*b);
    }
    case T::kStringList: {
      json arr = json::array();
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), "[")) {
        arr = json::parse(text, nullptr, false);
        if (arr.is_discarded()) return BadValue(kind, s, "not a JSON array");
      } else {
        for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace()))
          arr.push_back(std::string(absl::StripAsciiWhitespace(part)));
      }
      absl::Status st = CheckSettingValue(kind, s, arr, false);
      if (!st.ok()) return st;
      return arr;
    }
    default: {
      json j = text;
      absl::Status st = CheckSettingValue(kind, s, j, false);
      if (!st.ok()) return st;
      return j;
    }
  }
}

absl::Status CheckSettingValue(const std::string& kind, const SettingSpec& s, const json& value,
                               bool lenient) {
  switch (s.type) {
    case T::kInt: {
      int64_t v = 0;
      if (value.is_number_integer()) {
        v = value.get<int64_t>();
      } else if (!(lenient && value.is_string() &&
                   absl::SimpleAtoi(value.get<std::string>(), &v))) {
        return BadValue(kind, s, absl::StrCat("must be an integer, not ", value.dump()));
      }
      if (v < s.min || v > s.max)
        return BadValue(kind, s, absl::StrCat("must be ", s.min, "..", s.max, ", not ", v));
      return absl::OkStatus();
    }
    case T::kBool:
      if (value.is_boolean()) return absl::OkStatus();
      if (lenient && value.is_string() && ParseBoolText(value.get<std::string>()))
        return absl::OkStatus();
      return BadValue(kind, s, absl::StrCat("must be true or false, not ", value.dump()));
    case T::kStringList:
      if (lenient && value.is_string()) return absl::OkStatus();
      if (!value.is_array()) return BadValue(kind, s, "must be a list of strings");
      for (const json& e : value)
        if (!e.is_string()) return BadValue(kind, s, "must be a list of strings");
      return absl::OkStatus();
    default:
      break;
  }
  if (!value.is_string())
    return BadValue(kind, s, absl::StrCat("must be a string, not ", value.dump()));
  const std::string v = value.get<std::string>();
  if (s.type == T::kAbsolutePath && !v.empty() && v[0] != '/')
    return BadValue(kind, s, absl::StrCat("'", v, "' is not an absolute path"));
  if (s.type == T::kUrl && !v.empty() &&
      !(absl::StartsWith(v, "http://") || absl::StartsWith(v, "https://")))
    return BadValue(kind, s, absl::StrCat("'", v, "' does not start with http:// or https://"));
  if (s.type == T::kChoice) {
    for (absl::string_view c : absl::StrSplit(s.choices, '|'))
      if (c == v) return absl::OkStatus();
    return BadValue(kind, s, absl::StrCat("'", v, "' is not allowed"));
  }
  if (s.required && v.empty()) return BadValue(kind, s, "is required and must not be empty");
  // Issue 20: the album rule of photo services, whichever kind declares it.
  if (std::string_view(s.key) == "albums" && !s.secret) {
    absl::Status rule = CheckAlbumRule(v);
    if (!rule.ok()) return BadValue(kind, s, std::string(rule.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckAlbumRule(std::string_view rule) {
  if (rule == "folder" || rule == "none") return absl::OkStatus();
  const std::string allowed = absl::StrCat(
      "use \"folder\", \"none\" or a template of ",
      absl::StrJoin(kAlbumRuleTokens, " ",
                    [](std::string* out, const char* t) { absl::StrAppend(out, "{", t, "}"); }));
  for (size_t i = 0; i < rule.size(); ++i) {
    if (rule[i] != '{') continue;
    const size_t close = rule.find('}', i);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("album rule \"", PrintablePath(rule), "\": unclosed '{'; ", allowed));
    }
    const std::string_view token = rule.substr(i + 1, close - i - 1);
    bool known = false;
    for (const char* t : kAlbumRuleTokens) known |= token == t;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("album rule \"", PrintablePath(rule),
                                                     "\": unknown token {", std::string(token),
                                                     "}; ", allowed));
    }
    i = close;
  }
  return absl::OkStatus();
}

absl::Status ValidateDestinationSettings(const std::string& kind, const json& settings) {
  if (!settings.is_object()) return absl::InvalidArgumentError("settings: must be a JSON object");
  auto k = LookUpDestinationKind(kind);
  if (!k.ok()) return k.status();
  for (const auto& [key, value] : settings.items()) {
    const SettingSpec* s = FindSetting(**k, key, false);
    if (s == nullptr) return UnknownKey(**k, key, false);
    absl::Status st = CheckSettingValue(kind, *s, value, false);
    if (!st.ok()) return st;
  }
  for (const SettingSpec& s : (*k)->keys) {
    if (!s.secret && s.required && !settings.contains(s.key)) {
      return absl::InvalidArgumentError(absl::StrCat(s.key, ": kind ", kind, " requires it (",
                                                     s.help, "); add --set ", s.key, "=..."));
    }
  }
  for (const auto& group : (*k)->one_of) {
    bool any = false;
    for (const std::string& key : group) any |= settings.contains(key);
    if (!any) {
      return absl::InvalidArgumentError(
          absl::StrCat(absl::StrJoin(group, " or "), ": kind ", kind, " requires one of them (",
                       FindSetting(**k, group[0], false)->help, "; or ",
                       FindSetting(**k, group.back(), false)->help, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDestinationSecrets(const std::string& kind, const json& secrets) {
  if (!secrets.is_object()) return absl::InvalidArgumentError("secrets: must be a JSON object");
  auto k = LookUpDestinationKind(kind);
  if (!k.ok()) return k.status();
  for (const auto& [key, value] : secrets.items()) {
    const SettingSpec* s = FindSetting(**k, key, true);
    if (s == nullptr) return UnknownKey(**k, key, true);
    if (!value.is_string() || value.get<std::string>().empty())
      return BadValue(kind, *s, "must be a non-empty string");
  }
  for (const SettingSpec& s : (*k)->keys) {
    if (s.secret && s.required && !secrets.contains(s.key)) {
      return absl::InvalidArgumentError(absl::StrCat(s.key, ": kind ", kind, " requires it (",
                                                     s.help, "); add --secret ", s.key,
                                                     "=- (read from stdin)"));
    }
  }
  return absl::OkStatus();
}

bool KindRequiresSecrets(const KindSpec& kind) {
  for (const SettingSpec& s : kind.keys)
    if (s.secret && s.required) return true;
  return false;
}

SettingsReader::SettingsReader(std::string kind, const json& settings, const json& secrets)
    : kind_(std::move(kind)),
      spec_(FindDestinationKind(kind_)),
      settings_(settings),
      secrets_(secrets) {}

bool SettingsReader::Has(const char* key, bool secret) const {
  const json& obj = secret ? secrets_ : settings_;
  return obj.is_object() && obj.contains(key) && !obj[key].is_null();
}

absl::StatusOr<json> SettingsReader::Value(const char* key, bool secret, SettingType want) const {
  const SettingSpec* s = spec_ == nullptr ? nullptr : FindSetting(*spec_, key, secret);
  const bool string_family = want == T::kString;
  const bool type_ok =
      s != nullptr && (string_family ? (s->type == T::kString || s->type == T::kAbsolutePath ||
                                        s->type == T::kUrl || s->type == T::kChoice)
                                     : s->type == want);
  if (!type_ok) {
    return absl::InternalError(absl::StrCat(
        "destination kind ", kind_, ": the connector reads ", secret ? "secret" : "setting", " '",
        key, "' as it is not declared in common/destination_kinds.cc; this is a bug"));
  }
  if (!Has(key, secret)) {
    if (s->required) {
      return absl::InvalidArgumentError(
          absl::StrCat(kind_, " destination: ", secret ? "secret" : "setting", " '", key,
                       "' is required (", s->help, "); fix it with `shoebox dest set`"));
    }
    if (*s->default_json != '\0') return json::parse(s->default_json);
    switch (want) {
      case T::kInt:
        return json(int64_t{0});
      case T::kBool:
        return json(false);
      case T::kStringList:
        return json::array();
      default:
        return json("");
    }
  }
  const json& v = (secret ? secrets_ : settings_)[key];
  absl::Status st = CheckSettingValue(kind_, *s, v, /*lenient=*/true);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind_, " destination: ", st.message(), "; fix it with `shoebox dest set`"));
  }
  if (v.is_string() && want != T::kString) {
    auto converted = ConvertSettingText(kind_, *s, v.get<std::string>());
    if (!converted.ok()) return converted.status();
    return *converted;
  }
  return v;
}

absl::StatusOr<std::string> SettingsReader::String(const char* key, bool secret) const {
  auto v = Value(key, secret, T::kString);
  if (!v.ok()) return v.status();
  return v->get<std::string>();
}

absl::StatusOr<int64_t> SettingsReader::Int(const char* key) const {
  auto v = Value(key, false, T::kInt);
  if (!v.ok()) return v.status();
  return v->get<int64_t>();
}

absl::StatusOr<bool> SettingsReader::Bool(const char* key) const {
  auto v = Value(key, false, T::kBool);
  if (!v.ok()) return v.status();
  return v->get<bool>();
}

absl::StatusOr<std::vector<std::string>> SettingsReader::List(const char* key) const {
  auto v = Value(key, false, T::kStringList);
  if (!v.ok()) return v.status();
  std::vector<std::string> out;
  for (const json& e : *v) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace shoebox
