// Flickr as a destination (kind "flickr", issue 20; docs/destinations.md,
// "Flickr"), on the one http::Client with OAuth 1.0a HMAC-SHA1
// (common/http/oauth1.h). Pages followed: flickr.com/services/api/
// auth.oauth.html, upload.api.html, upload.async.html, the REST and JSON
// response formats, and the method pages named below.
//
// Flickr has no paths, so every photo carries machine tags that say what it
// is (lower-case hex):
//   shoebox:sha256=<content SHA-256>   found by flickr.photos.search before
//                                      any upload: the same content is never
//                                      uploaded twice, from any path, by any
//                                      Shoebox, even after a lost catalog;
//   shoebox:path=<SHA-256 of the remote path>   Stat/Delete by path;
//   shoebox:size=<bytes>               Stat's size (Flickr reports none).
// The description lists the remote paths the photo stands for, one per line
// ("shoebox-path: <percent-encoded path>"); List names a photo by those
// lines whose hash is among its path tags (a line a user edited is ignored).
// The title is the file name through FlickrNameRules() (service_names.h).
//
// - Put: search by content; when found, the path is added to that photo
//   (flickr.photos.addTags + setMeta). Otherwise POST multipart/form-data to
//   {upload_endpoint}/upload/ with async=1 (every field signed, the `photo`
//   part not, streamed from the ByteSource), then
//   flickr.photos.upload.checkTickets until complete=1 (complete=2: a
//   permanent error on that file). A photo that held the path before with
//   other content is detached from it afterwards (deleted when it stands for
//   nothing else), so a failed replacement keeps the old one.
// - Albums (PutRequest::album) are photosets: photosets.create needs a
//   primary photo, so a set is created with the first photo put into it and
//   photosets.addPhoto adds the rest ("already in set", code 3, is
//   success). Set ids are remembered in ConnectorEnvironment::albums; with
//   none recorded the sets of the account are searched by title first (a
//   lost album directory creates no second set); a set deleted at Flickr
//   (code 1) is forgotten and created again.
// - Errors: stat="fail" codes 96/97/98/99/100 (signature, token, key) are
//   UNAUTHENTICATED naming the destination and `shoebox dest connect NAME`;
//   upload codes 4-8 (empty, format, limits, size) are FAILED_PRECONDITION
//   on that file; 429 is RESOURCE_EXHAUSTED with the Retry-After hint (the
//   shared request gate holds every connector of the key); 5xx and codes
//   105/106 are UNAVAILABLE.
// - Flickr's search index lags behind uploads: what this worker process
//   put recently is also looked up by id (flickr.photos.getInfo), so a Stat
//   right after a Put, or the same content from another job, finds it.
// - Budget: 3,600 calls per hour per API key, so one gate per key
//   (RequestGate::Shared) at `max_requests_per_s` (default 1).
// The error mapping, the upload request and the settings factory live in
// flickr_api.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/oauth1.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct FlickrOptions {
  std::string api = "https://api.flickr.com/services";    // REST: {api}/rest/
  std::string upload = "https://up.flickr.com/services";  // {upload}/upload/
  http::OAuth1Credentials credentials;                    // api key/secret, token/secret
  bool is_public = false, is_friend = false, is_family = false;
  absl::Duration timeout = absl::Seconds(60);
  // How long an upload ticket may stay incomplete before the Put gives up
  // (UNAVAILABLE: the job is retried and finds the photo by its tag).
  absl::Duration ticket_timeout = absl::Minutes(10);
  std::string destination;  // for messages
  // Request starts per second for this API key (0: only Retry-After).
  int max_requests_per_s = 1;
  // Results per page of search/list calls (Flickr: at most 500).
  int page_size = 500;
};

absl::StatusOr<std::unique_ptr<Connector>> MakeFlickrConnector(
    FlickrOptions options, std::shared_ptr<AlbumDirectory> albums = nullptr);

// The factory registered as "flickr" (settings per common/destination_kinds.cc).
absl::StatusOr<std::unique_ptr<Connector>> MakeFlickrConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env);

// A Flickr failure (stat="fail" code + message, of the REST API or the
// upload endpoint) as a status: see the header comment. `what` names the
// call and object, `destination` the destination for the reconnect hint.
absl::Status FlickrErrorStatus(int code, const std::string& message, const std::string& what,
                               const std::string& destination, bool upload);

// Flickr as a transfer source (issue 21 slice 3, flickr_source.cc;
// docs/transfers.md). Pages followed: flickr.people.getPhotos.html (extras
// date_upload, date_taken, last_update, original_format; min_upload_date;
// paged), flickr.photosets.getList.html and flickr.photosets.getPhotos.html
// (the sets and their photos, in their order), flickr.photos.getSizes.html
// (the "Original" size).
//   - Every photo of the account is an item named FlickrSourcePath (its id
//     first, so GetItem finds it without a search), mtime = its upload time,
//     etag "flickr-lastupdate:N", capture time = datetaken (read as UTC;
//     none when datetakenunknown), albums = the titles of its photosets.
//   - The cursor is the newest upload time seen ("upload:SECONDS"). With
//     one, getPhotos is asked for min_upload_date = it (inclusive: the photos
//     of that second come again and compare unchanged), and the listing is
//     the new photos plus every photo in a set (so a membership change of an
//     older photo is seen); full = false.
struct FlickrSourceApi {
  // A signed GET of a REST method; stat="fail" answers are statuses.
  std::function<absl::StatusOr<nlohmann::json>(
      const std::string& method, const http::QueryParams& params, const std::string& what)>
      call;
  std::function<absl::Status(const std::string& url,
                             const std::function<absl::Status(std::string_view)>& sink,
                             const std::string& what)>
      download;
  int page_size = 500;
  std::string describe;
};
absl::StatusOr<SourceListing> FlickrListSource(const FlickrSourceApi& api,
                                               const std::string& cursor);
absl::Status FlickrGetSourceItem(const FlickrSourceApi& api, const std::string& path,
                                 const std::function<absl::Status(std::string_view)>& sink);
// GETs a static photo URL into `sink` with `client`, following redirects
// (the http client follows none).
absl::Status FlickrDownload(http::Client& client, std::string url,
                            const std::function<absl::Status(std::string_view)>& sink,
                            const std::string& what);
// "<id>_<title>.<format>" ("<id>.<format>" for an empty title); '/', '\\'
// and control characters of the title become '_', a trailing ".<format>" of
// the title is dropped, and it is cut to 100 bytes (at a UTF-8 boundary).
std::string FlickrSourcePath(const std::string& id, const std::string& title,
                             const std::string& format);

// The parts of a signed upload request: the multipart body around the
// photo's bytes, and the Authorization header signed over every field but
// `photo` (upload.api.html).
struct FlickrUploadRequest {
  std::string url;
  std::string content_type;   // multipart/form-data; boundary=...
  std::string authorization;  // OAuth ...
  std::string prefix;         // the fields and the photo part's headers
  std::string suffix;         // after the photo's bytes
  http::QueryParams fields;   // what was signed besides the oauth_* parameters
};
absl::StatusOr<FlickrUploadRequest> BuildFlickrUpload(const FlickrOptions& o,
                                                      const http::QueryParams& fields,
                                                      const std::string& filename,
                                                      const std::string& boundary,
                                                      const std::string& nonce, int64_t timestamp);

}  // namespace shoebox::worker
