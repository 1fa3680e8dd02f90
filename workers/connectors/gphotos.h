// Google Photos connector over the Library API with the scopes that exist
// since 31 March 2025 (docs/destinations.md, "Google Photos"):
// photoslibrary.appendonly (upload, create albums, batchCreate),
// photoslibrary.readonly.appcreateddata (list/get/search what this app
// created) and photoslibrary.edit.appcreateddata (descriptions, album
// membership of what this app created).
//
// Settings (JSON, not secret), read by GooglePhotosOptionsFromSettings:
//   "endpoint"             API base (default https://photoslibrary.googleapis.com)
//   "upload_endpoint"      upload URL (default .../v1/uploads)
//   "daily_request_budget" requests per day for the project, counted in this
//                          worker process and reset at 00:00 America/Los_Angeles
//   "timeout_s", "chunk_size_mib", "max_requests_per_s" as the cloud drives.
// The bearer token comes from a TokenSource (common/http/token_source.h).
//
// Google Photos has no paths and cannot delete or replace media items. So:
//   - every item Shoebox creates carries a description
//       shoebox:<hex SHA-256 of remote_path> sha256:<hex> size:<n>
//       [album:<album id>] path:<remote_path>
//     (at most 1,000 characters; the path is left out when it does not fit)
//     and Stat, List and Put find items by it (mediaItems.list of the
//     app-created items, kept as a per-account index in this process,
//     reloaded when a lookup misses and it is older than a minute per page
//     of 100 items, at least five minutes);
//     Stat confirms with mediaItems.get on the id found;
//   - Put of content already there (same path key, SHA-256 and size) uploads
//     nothing; new content for a path creates a new item and RETIRES the old
//     one: its description becomes "shoebox-retired:..." and it leaves its
//     album (albums:batchRemoveMediaItems); it stays in the library. Delete
//     retires the same way (the API cannot delete media items). A Put of
//     retired content revives the item instead of uploading it again;
//   - bytes go up with the resumable protocol (start / upload / upload,
//     finalize / query) in chunks that are multiples of the granularity the
//     service answers; the session URL and later the upload token are saved
//     with save_resume_state, so a restarted worker queries the session and
//     continues from X-Goog-Upload-Size-Received, or uses the token (refused
//     by batchCreate once it expired: the bytes are uploaded again);
//   - items are created with mediaItems:batchCreate, at most 50 per call and
//     ONE call at a time per account in this process (concurrent Puts of one
//     account are committed together by whichever of them holds the turn),
//     with albumId when PutRequest::album names an album;
//   - albums are created by Shoebox (POST /v1/albums) once, remembered in
//     the AlbumDirectory (key: the title; "Title#2" for the second part,
//     titled "Title (2)", once the service refuses more items for the first:
//     20,000); an album gone at the service is forgotten and created again.
// Limits checked before any byte is sent: photos <= 200 MB, videos <= 20 GB
// (by extension), empty files (FAILED_PRECONDITION naming the file); the
// daily budget (RESOURCE_EXHAUSTED "Google Photos daily request budget used;
// resumes at 00:00 Pacific" with the Retry-After until then, which the worker
// reports as throttled: the job waits, uncounted). A 429 of the service is the
// same.
// Errors: 401 -> Invalidate and one retry, then UNAUTHENTICATED; 403 for a
// missing scope -> UNAUTHENTICATED naming it; 400 on an item -> FAILED_
// PRECONDITION on that file; 5xx -> UNAVAILABLE; Google's error body quoted.
//
// Thread-safe: calls may run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/token_source.h"
#include "nlohmann/json.hpp"
#include "workers/album_directory.h"
#include "workers/connector.h"

namespace shoebox::worker {

struct GooglePhotosOptions {
  std::string endpoint = "https://photoslibrary.googleapis.com";
  std::string upload_endpoint = "https://photoslibrary.googleapis.com/v1/uploads";
  int64_t timeout_s = 60;
  // Bytes per upload chunk; rounded down to a multiple of the granularity
  // the service answers (at least one granule).
  uint64_t chunk_bytes = 8u << 20;
  // Connectors of one account in this process share the item index, the
  // batchCreate turn, album creation and a request gate; "" = alone.
  std::string account_key{};
  int max_requests_per_s = 0;
  // Requests per day of the project (client), counted per process under
  // budget_key ("" = a budget of this connector's own); 0: unlimited.
  int64_t daily_request_budget = 10000;
  std::string budget_key{};
  // Null: a process-local MakeInMemoryAlbumDirectory().
  std::shared_ptr<AlbumDirectory> albums{};
  std::string destination_name{};     // for messages
  std::function<absl::Time()> now{};  // tests; absl::Now by default
};

inline constexpr uint64_t kGooglePhotosMaxPhotoBytes = 200000000ull;    // 200 MB
inline constexpr uint64_t kGooglePhotosMaxVideoBytes = 20000000000ull;  // 20 GB
inline constexpr size_t kGooglePhotosBatchMax = 50;  // items per batchCreate / batchAdd

// Reads and checks the settings above; INVALID_ARGUMENT names the setting.
absl::StatusOr<GooglePhotosOptions> GooglePhotosOptionsFromSettings(const nlohmann::json& settings);

absl::StatusOr<std::unique_ptr<Connector>> MakeGooglePhotosConnector(
    const GooglePhotosOptions& o, std::shared_ptr<http::TokenSource> tokens);

namespace gphotos_internal {

// The next 00:00 in America/Los_Angeles after `now` (the daily quota's reset).
absl::Time NextPacificMidnight(absl::Time now);

// By extension (case-insensitive): the video types the service takes.
bool IsVideoName(std::string_view remote_path);
// The MIME type for X-Goog-Upload-Content-Type ("application/octet-stream"
// for an unknown extension: the service decides).
std::string MimeTypeFor(std::string_view remote_path);
// FAILED_PRECONDITION naming the file and the limit for a photo over 200 MB,
// a video over 20 GB or an empty file; OK otherwise.
absl::Status CheckSizeLimit(const std::string& remote_path, uint64_t size);

// RESOURCE_EXHAUSTED "Google Photos daily request budget used; resumes at
// 00:00 Pacific" with the Retry-After hint until the next Pacific midnight
// (`detail` appended when not empty).
absl::Status BudgetUsedStatus(absl::Time now, std::string_view detail = "");

// A non-2xx answer of the Library API as a status (Google's {"error":
// {"code","message","status"}} quoted). `scope` is the scope the call
// needs, named when a 403 says the grant lacks it.
absl::Status ApiError(const http::Response& r, std::string_view what, std::string_view scope,
                      absl::Time now);
// The status of one newMediaItemResults[] entry that is not OK (code is a
// google.rpc.Code): 3 INVALID_ARGUMENT and 9 -> FAILED_PRECONDITION naming
// the file; 8 -> FAILED_PRECONDITION (the account's storage is full);
// 14/13/4 -> UNAVAILABLE; others -> FAILED_PRECONDITION.
absl::Status ItemError(int code, const std::string& message, const std::string& remote_path);
// batchCreate refused the upload token (expired, unknown, used): upload again.
bool IsUploadTokenRefusal(int code, std::string_view message);

// What a description says of an item Shoebox created.
struct ItemMeta {
  std::string key;         // hex SHA-256 of the remote path
  std::string sha256_hex;  // content
  uint64_t size = 0;
  std::string album_id{};  // "" when none
  std::string path{};      // "" when it did not fit
  bool retired = false;
};
std::string PathKey(std::string_view remote_path);
std::string MakeDescription(const ItemMeta& m);
// nullopt for a description Shoebox did not write.
std::optional<ItemMeta> ParseDescription(std::string_view description);

// The project's requests of one day in this process.
class DailyBudget {
 public:
  explicit DailyBudget(int64_t limit) : limit_(limit) {}
  // The budget of `key` ("" = a new one); the limit is the latest given.
  static std::shared_ptr<DailyBudget> Shared(const std::string& key, int64_t limit);
  // Counts one request, or BudgetUsedStatus when the day's are spent.
  absl::Status Take(absl::Time now);
  // The service said the quota is spent (429): nothing more today.
  void Exhaust(absl::Time now);
  int64_t used() const;
  void set_limit(int64_t limit);

 private:
  void Roll(absl::Time now);
  mutable absl::Mutex mu_;
  int64_t limit_;
  int64_t used_ = 0;
  absl::Time resets_at_ = absl::InfinitePast();
};

}  // namespace gphotos_internal

}  // namespace shoebox::worker
