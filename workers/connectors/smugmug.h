// SmugMug over API v2 (https://api.smugmug.com/api/v2/doc), on the one
// http::Client, signed with OAuth 1.0a HMAC-SHA1 in the Authorization header
// only (common/http/oauth1.h). docs/destinations.md, "SmugMug".
//
// Placement (the device's tree becomes SmugMug's):
//   - `folder` ("Shoebox") is a Folder node path under the user's root node.
//   - A remote path "Camera/2023/img.jpg" puts img.jpg into the gallery
//     (Album node) "2023" inside the Folder node "Camera" inside "Shoebox":
//     every directory but the last is a Folder, the last one a gallery. A
//     directory that holds files AND sub-directories ("2024/07/c.jpg" and
//     "2024/07/Holiday/a.jpg") is both: a gallery "07" and a folder "07",
//     siblings with the same Name and different UrlNames. Files at the top
//     go into the gallery named like the root folder, next to it.
//   - With an album rule template (setting `albums` other than "folder" or
//     "none") and PutRequest::album set, the image goes into one gallery of
//     that title directly under `folder`; the path -> gallery link is then
//     remembered ("file:PATH") since the path alone no longer says it.
//   - Names pass through EncodeServiceName(SmugMugNameRules()) (Name and
//     FileName), decoded back by List. UrlName: SmugMugUrlName.
//   - Nodes are created once and remembered in ConnectorEnvironment::albums
//     ("node:Shoebox/Camera" -> NodeID, "gallery:Shoebox/Camera/2023" ->
//     AlbumKey, "album:<title>" -> gallery path); a remembered node the
//     service answers 404 for is forgotten and found or created again.
//     ListAlbum of a title nothing remembers (a lost catalog, folder rule)
//     walks the tree for the gallery whose path, '/' read as ' ', is it.
// Uploads: the MD5 is computed on a first pass over the source (Content-MD5
// must precede the body), then the bytes are streamed in a second. An image
// of that FileName with the same ArchivedMD5 and size is not sent again; one
// with other content is replaced in place (X-Smug-ImageUri). The SHA-256 of
// the file is kept as the keywords "shoebox:sha256=<hex>" and
// "shoebox:md5=<hex>": Stat reports "sha256:<hex>" while the recorded MD5 is
// still the image's ArchivedMD5, and "md5:<ArchivedMD5>" otherwise.
// Errors: 401 UNAUTHENTICATED (reconnect); 429 RESOURCE_EXHAUSTED with the
// Retry-After hint and the X-RateLimit-* values (the request gate holds the
// account); 413/415 (too large, a type SmugMug does not take)
// FAILED_PRECONDITION for that file; 5xx UNAVAILABLE; the JSON error's
// Code and Message quoted.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/oauth1.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct SmugMugOptions {
  std::string api = "https://api.smugmug.com";
  std::string upload = "https://upload.smugmug.com";
  std::string folder = "Shoebox";  // Folder node path under the user's root; not empty
  http::OAuth1Credentials credentials{};
  // The album rule: "folder" (default), "none", or a template; only whether
  // it is a template matters here (the worker expands it into
  // PutRequest::album).
  std::string albums = "folder";
  bool keywords = false;  // send PutRequest::keywords as X-Smug-Keywords
  absl::Duration timeout = absl::Seconds(60);
  std::string destination{};  // for messages
  // One account's connectors in this process share a request gate
  // (common/http/request_gate.h); "" = a gate of its own.
  std::string account_key{};
  int max_requests_per_s = 0;
  std::shared_ptr<AlbumDirectory> directory{};  // null: MakeInMemoryAlbumDirectory()
};

absl::StatusOr<std::unique_ptr<Connector>> MakeSmugMugConnector(SmugMugOptions options);

// SmugMug as a transfer source (issue 21 slice 3; docs/transfers.md): the
// images of the tree under `folder` (List(""): every gallery below it, the
// folder/gallery tree as paths), each in one album: its gallery's path under
// `folder` with '/' read as ' ' ("Camera/2023/img.jpg" -> "Camera 2023", the
// folder rule's title), and an image of the gallery at the top ("img.jpg",
// the gallery named like the folder) in the album of the folder's last name.
// Full listings (SmugMug has no change cursor here); originals through
// Get (the image's ArchivedUri).
SourceListing SmugMugSourceListing(std::vector<RemoteObject> items, const std::string& folder);

// The factory registered as "smugmug": settings and secrets per
// common/destination_kinds.cc, wrapped in a RetryingConnector.
absl::StatusOr<std::unique_ptr<Connector>> MakeSmugMugConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env);

// ---- Pieces with unit tests (smugmug_unit_test.cc) ----

// A UrlName for display name `name`: runs of characters outside
// [A-Za-z0-9] become one '-', no leading or trailing '-', the first letter
// upper-cased; a name that does not then start with a letter gets "N-" in
// front ("2023" -> "N-2023"), an empty one is "N"; at most 60 characters.
// `n` > 1 appends "-n" (the n-th candidate when a sibling has the name).
std::string SmugMugUrlName(std::string_view name, int n = 1);

// Where a remote path lands: `parent` is the Folder node path (encoded
// names, '/'-separated, under the user's root; "" is the root node itself),
// `gallery` the gallery's Name inside it, `file` the FileName.
struct SmugMugLocation {
  std::string parent;
  std::string gallery;
  std::string file;
  std::string gallery_path() const { return parent.empty() ? gallery : parent + "/" + gallery; }
};
// `root` is the `folder` setting ("Shoebox", "Photos/Shoebox"); `album`
// non-empty: the gallery of that title under root (album rule template).
SmugMugLocation SmugMugLocate(const std::string& root, const std::string& remote_path,
                              const std::string& album = "");

// A request with its OAuth 1.0a Authorization header (the only place the
// protocol parameters go); `nonce`/`timestamp` empty/0: fresh ones.
absl::StatusOr<http::Request> SmugMugSign(http::Request r, const http::OAuth1Credentials& creds,
                                          const std::string& nonce = "", int64_t timestamp = 0);

// base64 of the MD5 of everything `src` yields from offset 0, and its
// length; the source's own error when reading fails.
struct SmugMugDigest {
  std::string md5_base64;
  std::string md5_hex;
  uint64_t size = 0;
};
absl::StatusOr<SmugMugDigest> SmugMugMd5(ByteSource* src);

// THE mapping of a SmugMug answer that is not 2xx to a status (see the top
// of this file). `what` names the operation and object.
absl::Status SmugMugError(const http::Response& r, const std::string& what,
                          const std::string& destination);

}  // namespace shoebox::worker
