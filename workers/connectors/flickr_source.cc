// Flickr as a transfer source (issue 21 slice 3): see flickr.h
// (FlickrSourceApi) and docs/transfers.md. Pages followed:
//   https://www.flickr.com/services/api/flickr.people.getPhotos.html
//   https://www.flickr.com/services/api/flickr.photosets.getList.html
//   https://www.flickr.com/services/api/flickr.photosets.getPhotos.html
//   https://www.flickr.com/services/api/flickr.photos.getSizes.html
#include <algorithm>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/http/url.h"
#include "common/status.h"
#include "workers/connectors/flickr.h"

namespace shoebox::worker {

namespace {

using json = nlohmann::json;

constexpr char kExtras[] = "date_upload,date_taken,last_update,original_format";
constexpr char kCursorPrefix[] = "upload:";

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (it->is_object() && it->contains("_content")) return Str(*it, "_content");
  return "";
}
int64_t Int(const json& j, const char* key) {
  int64_t v = 0;
  return absl::SimpleAtoi(Str(j, key), &v) ? v : 0;
}

// datetaken "YYYY-MM-DD HH:MM:SS" (Flickr keeps no zone; read as UTC).
int64_t TakenNs(const json& p) {
  if (Int(p, "datetakenunknown") != 0) return 0;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", Str(p, "datetaken"), absl::UTCTimeZone(), &t, &err)) {
    return 0;
  }
  return absl::ToUnixNanos(t);
}

RemoteObject ToItem(const json& p) {
  RemoteObject o;
  const std::string format = Str(p, "originalformat").empty() ? "jpg" : Str(p, "originalformat");
  o.ref = Str(p, "id");
  o.remote_path = FlickrSourcePath(o.ref, Str(p, "title"), format);
  o.mtime_ns = Int(p, "dateupload") * 1000000000;
  if (!Str(p, "lastupdate").empty()) o.checksum = "flickr-lastupdate:" + Str(p, "lastupdate");
  o.capture_ns = TakenNs(p);
  return o;
}

// Calls `method` page by page; `each` gets every element of answer[outer][inner].
absl::Status Paged(const FlickrSourceApi& api, const std::string& method,
                   const http::QueryParams& params, const char* outer, const char* inner,
                   const std::string& what, const std::function<void(const json&)>& each) {
  for (int64_t page = 1;; ++page) {
    http::QueryParams q = params;
    q.push_back({"per_page", absl::StrCat(api.page_size)});
    q.push_back({"page", absl::StrCat(page)});
    ASSIGN_OR_RETURN(json j, api.call(method, q, what));
    const json& o = j.contains(outer) ? j[outer] : json::object();
    if (o.contains(inner) && o[inner].is_array()) {
      for (const json& x : o[inner]) each(x);
    }
    if (page >= Int(o, "pages")) return absl::OkStatus();
  }
}

}  // namespace

std::string FlickrSourcePath(const std::string& id, const std::string& title,
                             const std::string& format) {
  std::string name = title;
  const std::string ext = "." + format;
  if (name.size() > ext.size() &&
      absl::EqualsIgnoreCase(name.substr(name.size() - ext.size()), ext)) {
    name.resize(name.size() - ext.size());
  }
  for (char& c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) c = '_';
  }
  name = std::string(absl::StripAsciiWhitespace(name));
  if (name.size() > 100) {
    size_t cut = 100;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name.resize(cut);
  }
  return name.empty() ? absl::StrCat(id, ext) : absl::StrCat(id, "_", name, ext);
}

absl::StatusOr<SourceListing> FlickrListSource(const FlickrSourceApi& api,
                                               const std::string& cursor) {
  int64_t since = 0;
  if (!cursor.empty()) {
    if (!absl::StartsWith(cursor, kCursorPrefix) ||
        !absl::SimpleAtoi(cursor.substr(sizeof(kCursorPrefix) - 1), &since) || since < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flickr: ", api.describe, ": the saved list cursor \"", cursor,
          "\" is not one this version writes (\"upload:SECONDS\"); add the transfer again"));
    }
  }
  // Items by photo id, in the order first seen.
  std::map<std::string, RemoteObject> items;
  std::vector<std::string> order;
  auto add = [&](const json& p) -> RemoteObject& {
    const std::string id = Str(p, "id");
    auto [it, fresh] = items.try_emplace(id);
    if (fresh) {
      it->second = ToItem(p);
      order.push_back(id);
    }
    return it->second;
  };
  SourceListing out;
  out.full = cursor.empty();
  int64_t newest = since;
  http::QueryParams q{{"user_id", "me"}, {"extras", kExtras}};
  if (since > 0) q.push_back({"min_upload_date", absl::StrCat(since)});
  RETURN_IF_ERROR(Paged(api, "flickr.people.getPhotos", q, "photos", "photo",
                        "list the account's photos", [&](const json& p) {
                          newest = std::max(newest, Int(p, "dateupload"));
                          add(p);
                        }));
  // The sets, in the account's order, and their photos in the set's order.
  std::vector<std::pair<std::string, std::string>> sets;  // id, title
  RETURN_IF_ERROR(Paged(api, "flickr.photosets.getList", {}, "photosets", "photoset",
                        "list the account's photosets",
                        [&](const json& s) { sets.emplace_back(Str(s, "id"), Str(s, "title")); }));
  for (const auto& [set_id, title] : sets) {
    if (title.empty()) continue;  // no album title to give
    RETURN_IF_ERROR(Paged(api, "flickr.photosets.getPhotos",
                          {{"photoset_id", set_id}, {"extras", kExtras}}, "photoset", "photo",
                          absl::StrCat("list photoset \"", title, "\""), [&](const json& p) {
                            // A photo uploaded after the account's listing above is left for
                            // the next run (its cursor is older), so nothing is half-listed.
                            if (since == 0 && !items.contains(Str(p, "id"))) return;
                            if (since > 0 && Int(p, "dateupload") > newest) return;
                            RemoteObject& o = add(p);
                            if (o.albums.empty() || o.albums.back() != title)
                              o.albums.push_back(title);
                          }));
  }
  out.items.reserve(order.size());
  for (const std::string& id : order) out.items.push_back(std::move(items[id]));
  if (newest > 0) out.next_cursor = absl::StrCat(kCursorPrefix, newest);
  return out;
}

absl::Status FlickrGetSourceItem(const FlickrSourceApi& api, const std::string& path,
                                 const std::function<absl::Status(std::string_view)>& sink) {
  size_t n = 0;
  while (n < path.size() && absl::ascii_isdigit(static_cast<unsigned char>(path[n]))) ++n;
  if (n == 0 || n == path.size() || (path[n] != '_' && path[n] != '.')) {
    return absl::InvalidArgumentError(
        absl::StrCat("flickr: \"", path, "\" is no item of ", api.describe,
                     " as a transfer source (\"<photo id>_<title>.<format>\")"));
  }
  const std::string id = path.substr(0, n);
  const std::string what = absl::StrCat("download ", path, " (photo ", id, ")");
  absl::StatusOr<json> j = api.call("flickr.photos.getSizes", {{"photo_id", id}}, what);
  if (!j.ok()) {
    if (absl::IsFailedPrecondition(j.status()) &&
        absl::StrContains(j.status().message(), "code 1:")) {
      return absl::NotFoundError(
          absl::StrCat("flickr: ", path, " (photo ", id, ") is no longer at ", api.describe));
    }
    return j.status();
  }
  std::string url;
  const json& sizes = (*j)["sizes"]["size"];
  for (const json& s : sizes.is_array() ? sizes : json::array()) {
    // Videos: "Video Original" is the uploaded file; photos: "Original".
    if (Str(s, "label") == "Video Original" || (url.empty() && Str(s, "label") == "Original")) {
      url = Str(s, "source");
    }
  }
  if (url.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("flickr: ", what, ": Flickr offers no Original size of photo ", id,
                     " (the account may not allow downloading originals)"));
  }
  return api.download(url, sink, what);
}

absl::Status FlickrDownload(http::Client& client, std::string url,
                            const std::function<absl::Status(std::string_view)>& sink,
                            const std::string& what) {
  // The http client never follows redirects: follow a few explicitly.
  for (int hop = 0; hop < 5; ++hop) {
    http::Request r{.url = url};
    r.sink = [&](std::string_view d) { return sink(d); };
    ASSIGN_OR_RETURN(http::Response resp, client.Send(r));
    if (resp.ok()) return absl::OkStatus();
    std::string next = resp.Header("location");
    if (resp.status < 300 || resp.status >= 400 || next.empty())
      return http::ErrorStatus(resp, "flickr: " + what);
    if (next[0] == '/') {
      ASSIGN_OR_RETURN(http::UrlParts parts, http::ParseHttpUrl(url));
      next = parts.Origin() + next;
    }
    url = next;
  }
  return absl::UnavailableError("flickr: " + what + ": too many redirects");
}

}  // namespace shoebox::worker
