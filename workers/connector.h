// The destination connector interface. One implementation per destination
// kind (local, s3, webdav, sftp, rclone, ...); every one passes the shared
// conformance suite in workers/connectors/connector_conformance.h.
//
// Error codes carry the retry decision (see ClassifyForRetry):
//   UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED(429)  → retryable
//   UNAUTHENTICATED: the service refuses the CREDENTIALS         → auth failure: the
//     (wrong key or password, 401, a refused bucket-level call)     destination is held
//   PERMISSION_DENIED: the service refuses ONE object or path    → that job fails with
//     (403 on one key, a directory the account may not write)      its reason; the
//                                                                   destination goes on
//   FAILED_PRECONDITION (quota exceeded, file too large)        → permanent
// A connector that cannot tell the two refusals apart from the answer alone
// (S3's 403 to a HEAD has no body) asks a bucket- or root-level question
// before it picks the code (docs/destinations.md, "Refusals").
// A Retry-After hint travels in the status payload "shoebox.retry_after_ms"
// (common/retry.h). Retries inside a worker are a wrapper, RetryingConnector
// (workers/connectors/retrying_connector.h), not code in each connector.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/http/byte_source.h"
#include "common/retry.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "workers/album_directory.h"

namespace shoebox::worker {

// Pull-style source of the file's bytes (common/http/byte_source.h), so
// whole videos are never held in memory; MakeStringSource (tests, small
// files) and MakeFileSource come from there too.
using ::shoebox::http::ByteSource;
using ::shoebox::http::MakeFileSource;
using ::shoebox::http::MakeStringSource;

struct PutRequest {
  // Remote path relative to the destination root, '/'-separated, already
  // validated (no "..", no leading '/'). Folders in it are created as needed.
  std::string remote_path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  // Whole-file SHA-256 (32 raw bytes); connectors that can store or compare a
  // checksum use it.
  std::string sha256;
  // Album/set title for photo services (empty: none), after the
  // destination's album rule ("Camera/2023" -> "Camera 2023"); connectors
  // with albums put the item into it, creating it once (ConnectorEnvironment
  // ::albums remembers it).
  std::string album;
  // Photo services: the capture date "YYYY-MM-DD HH:MM:SS" (EXIF
  // DateTimeOriginal, else the mtime, UTC; "" unknown) and keywords (folder
  // names, when the destination's `keywords` setting asks for them).
  std::string capture_date{};
  std::vector<std::string> keywords{};
  // Resumable uploads across worker restarts (Dropbox upload sessions,
  // OneDrive upload URLs, Google Drive resumable URIs): what this connector
  // saved for this job during an earlier attempt (empty: none), and how to
  // save it now (null when the caller keeps no state). The state is opaque to
  // everything but the connector, which checks it still fits the request
  // (path, size, SHA-256) before resuming and starts over otherwise.
  std::string resume_state{};
  std::function<void(const std::string&)> save_resume_state{};
};

struct RemoteObject {
  std::string remote_path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // 0 when unknown
  // "algo:hex" when the service reports a checksum ("md5:...", "sha256:..."),
  // empty when it does not.
  std::string checksum;
  // Connector-specific reference to put in the catalog (key, URL, ID).
  std::string ref;
  // Transfer sources that are photo services (issue 21, slice 3): the titles
  // of the albums the item is in (a Flickr photo in two photosets: two), and
  // its capture time (0 unknown). Empty for storage kinds.
  std::vector<std::string> albums{};
  int64_t capture_ns = 0;
};

// A transfer source's listing (Connector::ListChanges).
struct SourceListing {
  std::vector<RemoteObject> items;
  // The cursor to give the next ListChanges ("" none: the next one lists
  // everything again).
  std::string next_cursor;
  // False: `items` are only what is new or changed since the cursor given
  // (the coordinator keeps the rest of its saved listing).
  bool full = true;
};

struct Progress {
  uint64_t bytes_sent = 0;
};

class Connector {
 public:
  virtual ~Connector() = default;
  // Uploads the whole file so that it becomes visible under its final name
  // only when complete (temp name + rename, multipart completion, ...).
  // Overwrites an existing object of the same name.
  virtual absl::StatusOr<RemoteObject> Put(
      const PutRequest& req, ByteSource* src,
      const std::function<void(const Progress&)>& progress) = 0;
  // NOT_FOUND when absent.
  virtual absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) = 0;
  // Every object under `prefix` (a folder path, "" for the root), recursively.
  virtual absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) = 0;
  // Streams the object's bytes to `sink` (returns false from sink to stop).
  virtual absl::Status Get(const std::string& remote_path,
                           const std::function<absl::Status(std::string_view)>& sink) = 0;
  // Deleting a missing object is not an error.
  virtual absl::Status Delete(const std::string& remote_path) = 0;
  // Creates the folder / album (and parents) if missing; idempotent.
  virtual absl::Status EnsureFolder(const std::string& folder) = 0;
  // "s3://bucket/prefix at http://127.0.0.1:9000" — no secrets.
  virtual std::string Describe() const = 0;
  // The caller read the object at `remote_path` and found that its content
  // has SHA-256 `sha256` (32 raw bytes) (a verify, docs/verify.md):
  // connectors that keep a checksum of their own next to an object record it
  // again, bound to the object as it is now (WebDAV: its current ETag; local:
  // its current mtime), so that a later Stat reports "sha256:" without a
  // read. Returns what Stat reports afterwards. The default (connectors
  // whose Stat already reports a checksum the service keeps, or that can
  // keep none) is Stat.
  virtual absl::StatusOr<RemoteObject> RecordChecksum(const std::string& remote_path,
                                                      const std::string& sha256) {
    (void)sha256;
    return Stat(remote_path);
  }
  // Photo services (kinds whose DestinationKind has albums, see
  // common/destination_kinds.h): the objects in album `album` (a title as
  // PutRequest::album gives it), as the service lists them, in its order.
  // NOT_FOUND when the service has no such album. Kinds without albums keep
  // this default, FAILED_PRECONDITION naming the destination: nothing calls
  // it for them (the conformance suite and verify ask only album kinds).
  virtual absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(), " has no albums; cannot list album \"", album, "\""));
  }
  // Transfer sources (issue 21, docs/transfers.md): the items to read. A
  // source with a change cursor of its own (Flickr: the upload time) lists
  // only what is new since `cursor` (the next_cursor of the last listing,
  // saved by the coordinator with it; "" at the first run) and says so with
  // full = false. The default lists everything (List("")): the coordinator
  // compares it with the listing of the last run.
  virtual absl::StatusOr<SourceListing> ListChanges(const std::string& cursor) {
    (void)cursor;
    SourceListing out;
    absl::StatusOr<std::vector<RemoteObject>> all = List("");
    if (!all.ok()) return all.status();
    out.items = std::move(*all);
    return out;
  }
  // Reads an item that ListChanges named (its remote_path). Sources whose
  // items are no paths of their own (photo services) override it; the
  // default is Get.
  virtual absl::Status GetItem(const std::string& remote_path,
                               const std::function<absl::Status(std::string_view)>& sink) {
    return Get(remote_path, sink);
  }
};

// What a connector may ask of the worker that runs it, for the one job it
// was opened for (every member may be empty: tests, `shoebox` tools).
struct ConnectorEnvironment {
  // The destination's name, for messages ("reconnect with `shoebox dest
  // connect NAME`"); OpenDestination fills it in.
  std::string destination_name{};
  // Stores the destination's whole credentials object again: the worker
  // seals it to the pool key and sends it with
  // WorkerService.UpdateDestinationCredentials, which the coordinator allows
  // only while the worker holds the lease of a job of this destination.
  // OAuth services that rotate refresh tokens (Microsoft) call it with the
  // new refresh_token in place before using the new access token
  // (common/http/oauth.h, OAuthTokenSourceOptions::on_rotated).
  std::function<absl::Status(const nlohmann::json& credentials)> store_credentials{};
  // Photo services: albums and folder nodes the destination already has
  // (workers/album_directory.h). Null: the connector uses a process-local
  // MakeInMemoryAlbumDirectory().
  std::shared_ptr<AlbumDirectory> albums{};
};

// Builds a connector from a destination's kind, non-secret settings and
// opened credentials (JSON object; empty object when none).
absl::StatusOr<std::unique_ptr<Connector>> MakeConnector(const std::string& kind,
                                                         const nlohmann::json& settings,
                                                         const nlohmann::json& credentials,
                                                         const ConnectorEnvironment& env = {});

// Registry of connector kinds. MakeConnector looks the kind up here; an
// unknown kind is INVALID_ARGUMENT naming the kinds that exist. Connector
// source files register themselves at static-initialisation time:
//   SHOEBOX_REGISTER_CONNECTOR("s3", MakeS3Connector);
// (shoebox_worker_lib is an OBJECT library so no registration is dropped.)
using ConnectorFactory = std::function<absl::StatusOr<std::unique_ptr<Connector>>(
    const nlohmann::json& settings, const nlohmann::json& credentials)>;
bool RegisterConnectorKind(const std::string& kind, ConnectorFactory factory);
// A factory that also takes the ConnectorEnvironment (OAuth connectors:
// rotated refresh tokens). Same macro; the overload is chosen by arity.
using ConnectorFactoryWithEnv = std::function<absl::StatusOr<std::unique_ptr<Connector>>(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env)>;
bool RegisterConnectorKind(const std::string& kind, ConnectorFactoryWithEnv factory);
// Sorted kinds that MakeConnector accepts (what RegisterWorker announces).
std::vector<std::string> RegisteredConnectorKinds();
#define SHOEBOX_REGISTER_CONNECTOR(kind, factory)                                             \
  [[maybe_unused]] static const bool SHOEBOX_CONCAT(kShoeboxConnectorRegistered_, __LINE__) = \
      ::shoebox::worker::RegisterConnectorKind(kind, factory)

// The Retry-After hint (common/retry.h): payload kRetryAfterPayload,
// WithRetryAfter(status, ms) attaches it, RetryAfterMs(status) reads it.
using ::shoebox::kRetryAfterPayload;
using ::shoebox::RetryAfterMs;
using ::shoebox::WithRetryAfter;

// kAuth: the credentials are refused (UNAUTHENTICATED); the coordinator holds
// the destination until they change. kRefused: one object is refused
// (PERMISSION_DENIED); that job fails for good with its reason, the
// destination's other jobs go on. kPermanent: retrying cannot help.
enum class RetryClass { kRetryable, kPermanent, kAuth, kRefused };
RetryClass ClassifyForRetry(const absl::Status& s);

}  // namespace shoebox::worker
