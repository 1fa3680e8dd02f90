// The Google Photos connector's rules that need no network (gphotos.h,
// gphotos_internal): limits, the daily budget and its Pacific midnight,
// error mapping, and the description that marks items Shoebox created.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "workers/connectors/gphotos.h"

namespace shoebox::worker::gphotos_internal {
namespace {

using nlohmann::json;

std::string Extension(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  return absl::AsciiStrToLower(absl::string_view(name.data() + dot + 1, name.size() - dot - 1));
}

// https://developers.google.com/photos/library/guides/upload-media, "Accepted
// file types and sizes".
const std::map<std::string, std::string>& VideoTypes() {
  static const auto* m = new std::map<std::string, std::string>{
      {"3gp", "video/3gpp"},      {"3g2", "video/3gpp2"}, {"asf", "video/x-ms-asf"},
      {"avi", "video/x-msvideo"}, {"divx", "video/divx"}, {"m2t", "video/mp2t"},
      {"m2ts", "video/mp2t"},     {"m4v", "video/x-m4v"}, {"mkv", "video/x-matroska"},
      {"mmv", "video/mmv"},       {"mod", "video/mpeg"},  {"mov", "video/quicktime"},
      {"mp4", "video/mp4"},       {"mpg", "video/mpeg"},  {"mpeg", "video/mpeg"},
      {"mts", "video/mp2t"},      {"tod", "video/mpeg"},  {"wmv", "video/x-ms-wmv"},
  };
  return *m;
}

const std::map<std::string, std::string>& PhotoTypes() {
  static const auto* m = new std::map<std::string, std::string>{
      {"avif", "image/avif"},       {"bmp", "image/bmp"},         {"gif", "image/gif"},
      {"heic", "image/heic"},       {"heif", "image/heif"},       {"ico", "image/x-icon"},
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},       {"png", "image/png"},
      {"tif", "image/tiff"},        {"tiff", "image/tiff"},       {"webp", "image/webp"},
      {"dng", "image/x-adobe-dng"}, {"cr2", "image/x-canon-cr2"}, {"nef", "image/x-nikon-nef"},
      {"arw", "image/x-sony-arw"},
  };
  return *m;
}

absl::TimeZone Pacific() {
  static const absl::TimeZone* tz = [] {
    auto* z = new absl::TimeZone();
    // The TZ database (/usr/share/zoneinfo, Debian tzdata); without it, a
    // fixed UTC-8 is at most an hour off during daylight saving time.
    if (!absl::LoadTimeZone("America/Los_Angeles", z)) *z = absl::FixedTimeZone(-8 * 3600);
    return z;
  }();
  return *tz;
}

// Google's error body: {"error": {"code", "message", "status"}}.
std::pair<std::string, std::string> StatusAndMessage(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return {"", ""};
  const json& e = j["error"];
  std::string status =
      e.contains("status") && e["status"].is_string() ? e["status"].get<std::string>() : "";
  std::string message =
      e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  return {status, message};
}

}  // namespace

absl::Time NextPacificMidnight(absl::Time now) {
  const absl::TimeZone tz = Pacific();
  const absl::CivilDay today = absl::ToCivilDay(now, tz);
  // Midnight exists every day in Los Angeles (the clocks change at 02:00).
  return absl::FromCivil(today + 1, tz);
}

bool IsVideoName(std::string_view remote_path) {
  return VideoTypes().count(Extension(remote_path)) > 0;
}

std::string MimeTypeFor(std::string_view remote_path) {
  const std::string ext = Extension(remote_path);
  if (auto it = VideoTypes().find(ext); it != VideoTypes().end()) return it->second;
  if (auto it = PhotoTypes().find(ext); it != PhotoTypes().end()) return it->second;
  return "application/octet-stream";
}

absl::Status CheckSizeLimit(const std::string& remote_path, uint64_t size) {
  if (size == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(PrintablePath(remote_path),
                     " is empty (0 bytes): Google Photos stores only photos and videos; the file "
                     "is not delivered to this destination"));
  }
  const bool video = IsVideoName(remote_path);
  const uint64_t limit = video ? kGooglePhotosMaxVideoBytes : kGooglePhotosMaxPhotoBytes;
  if (size > limit) {
    return absl::FailedPreconditionError(
        absl::StrCat(PrintablePath(remote_path), " is ", size, " bytes; Google Photos takes ",
                     video ? "videos up to 20 GB" : "photos up to 200 MB", " (", limit,
                     " bytes): the file is not delivered to this destination"));
  }
  return absl::OkStatus();
}

absl::Status BudgetUsedStatus(absl::Time now, std::string_view detail) {
  const absl::Duration wait = NextPacificMidnight(now) - now;
  absl::Status s = absl::ResourceExhaustedError(
      detail.empty()
          ? std::string("Google Photos daily request budget used; resumes at 00:00 Pacific")
          : absl::StrCat("Google Photos daily request budget used; resumes at 00:00 Pacific (",
                         absl::string_view(detail.data(), detail.size()), ")"));
  const int64_t ms = std::max<int64_t>(1000, absl::ToInt64Milliseconds(wait));
  return WithRetryAfter(std::move(s), static_cast<uint32_t>(ms));
}

absl::Status ApiError(const http::Response& r, std::string_view what, std::string_view scope,
                      absl::Time now) {
  auto [status, message] = StatusAndMessage(r);
  const std::string detail = status.empty() ? message : absl::StrCat(status, ": ", message);
  const absl::string_view w(what.data(), what.size());
  if (r.status == 429) {
    // Per-minute throttling names its wait; the daily quota does not (it
    // resets at midnight Pacific).
    if (std::optional<absl::Duration> ra = http::ParseRetryAfter(r.Header("retry-after"))) {
      absl::Status s = absl::ResourceExhaustedError(
          absl::StrCat(w, ": HTTP 429 (", detail,
                       "); Google Photos is throttling this project, waiting as it asks"));
      return WithRetryAfter(std::move(s), static_cast<uint32_t>(std::max<int64_t>(
                                              1000, absl::ToInt64Milliseconds(*ra))));
    }
    return BudgetUsedStatus(now, absl::StrCat(w, ": HTTP 429 ", detail));
  }
  if (r.status == 401) {
    return http::ErrorStatus(
        r, w, detail,
        "Google refused the access token; reconnect with `shoebox dest connect NAME`");
  }
  if (r.status == 403 && (status == "PERMISSION_DENIED" || status.empty()) &&
      absl::StrContains(absl::AsciiStrToLower(message), "scope")) {
    return absl::UnauthenticatedError(absl::StrCat(
        w, ": HTTP 403 (", detail, "); the account did not grant the scope ",
        scope.empty() ? std::string("this call needs")
                      : absl::StrCat("https://www.googleapis.com/auth/", std::string(scope)),
        ": reconnect with `shoebox dest connect NAME` and allow every permission asked"));
  }
  if (r.status == 400) {
    return absl::FailedPreconditionError(
        absl::StrCat(w, ": ", r.method, " ", r.url, ": HTTP 400 (", detail, ")"));
  }
  return http::ErrorStatus(r, w, detail);
}

absl::Status ItemError(int code, const std::string& message, const std::string& remote_path) {
  const std::string head = absl::StrCat("Google Photos refused ", PrintablePath(remote_path),
                                        " (code ", code, ": ", message, ")");
  switch (code) {
    case 3:  // INVALID_ARGUMENT: an unsupported or damaged file
    case 9:  // FAILED_PRECONDITION
      return absl::FailedPreconditionError(
          absl::StrCat(head,
                       "; the service does not take this file (an unsupported format or a "
                       "damaged file); it is not delivered to this destination"));
    case 8:  // RESOURCE_EXHAUSTED on an item: the account's storage
      return absl::FailedPreconditionError(
          absl::StrCat(head,
                       "; the Google account's storage is full: free space or buy "
                       "storage, then retry the job"));
    case 4:
    case 13:
    case 14:
      return absl::UnavailableError(absl::StrCat(head, "; will retry"));
    default:
      return absl::FailedPreconditionError(head);
  }
}

bool IsUploadTokenRefusal(int code, std::string_view message) {
  const std::string m = absl::AsciiStrToLower(absl::string_view(message.data(), message.size()));
  return code == 5 || absl::StrContains(m, "upload token");
}

std::string PathKey(std::string_view remote_path) {
  return ToHex(DigestToString(Sha256::Of(remote_path)));
}

std::string MakeDescription(const ItemMeta& m) {
  std::string d = absl::StrCat(m.retired ? "shoebox-retired:" : "shoebox:", m.key,
                               " sha256:", m.sha256_hex, " size:", m.size);
  if (!m.album_id.empty()) absl::StrAppend(&d, " album:", m.album_id);
  // Descriptions hold at most 1,000 characters (manage-media guide).
  const std::string path = absl::StrCat(" path:", m.path);
  if (!m.path.empty() && d.size() + path.size() <= 1000) d += path;
  return d;
}

std::optional<ItemMeta> ParseDescription(std::string_view description) {
  ItemMeta m;
  std::string_view rest = description;
  if (absl::StartsWith(absl::string_view(rest.data(), rest.size()), "shoebox:")) {
    rest.remove_prefix(8);
  } else if (absl::StartsWith(absl::string_view(rest.data(), rest.size()), "shoebox-retired:")) {
    rest.remove_prefix(16);
    m.retired = true;
  } else {
    return std::nullopt;
  }
  size_t sp = rest.find(' ');
  m.key = std::string(rest.substr(0, sp));
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  while (!rest.empty()) {
    if (absl::StartsWith(absl::string_view(rest.data(), rest.size()), "path:")) {
      m.path = std::string(rest.substr(5));
      break;
    }
    sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    size_t colon = tok.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = tok.substr(0, colon), value = tok.substr(colon + 1);
    if (name == "sha256") {
      m.sha256_hex = std::string(value);
    } else if (name == "size") {
      if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &m.size))
        return std::nullopt;
    } else if (name == "album") {
      m.album_id = std::string(value);
    }
  }
  if (m.key.size() != 64 || m.sha256_hex.size() != 64) return std::nullopt;
  return m;
}

std::shared_ptr<DailyBudget> DailyBudget::Shared(const std::string& key, int64_t limit) {
  if (key.empty()) return std::make_shared<DailyBudget>(limit);
  static absl::Mutex mu(absl::kConstInit);
  static auto* by_key = new std::map<std::string, std::shared_ptr<DailyBudget>>();
  absl::MutexLock l(&mu);
  std::shared_ptr<DailyBudget>& b = (*by_key)[key];
  if (b == nullptr) {
    b = std::make_shared<DailyBudget>(limit);
  } else {
    b->set_limit(limit);
  }
  return b;
}

void DailyBudget::Roll(absl::Time now) {
  if (now >= resets_at_) {
    used_ = 0;
    resets_at_ = NextPacificMidnight(now);
  }
}

absl::Status DailyBudget::Take(absl::Time now) {
  absl::MutexLock l(&mu_);
  Roll(now);
  if (limit_ > 0 && used_ >= limit_) {
    return BudgetUsedStatus(now, absl::StrCat(used_, " of ", limit_, " requests today"));
  }
  ++used_;
  return absl::OkStatus();
}

void DailyBudget::Exhaust(absl::Time now) {
  absl::MutexLock l(&mu_);
  Roll(now);
  if (limit_ > 0) used_ = std::max(used_, limit_);
}

int64_t DailyBudget::used() const {
  absl::MutexLock l(&mu_);
  return used_;
}

void DailyBudget::set_limit(int64_t limit) {
  absl::MutexLock l(&mu_);
  limit_ = limit;
}

}  // namespace shoebox::worker::gphotos_internal
