// WebDAV / Nextcloud connector over libcurl.
//
// Settings (JSON, not secret):
//   "url"            collection URL that is the destination root, e.g.
//                    "https://cloud.example.com/remote.php/dav/files/alice/Photos"
//                    (required; http or https).
//   "nextcloud"      true: files larger than one chunk go through Nextcloud's
//                    chunked upload v2 (default false).
//   "chunk_size_mib" Nextcloud chunk size, 5..1024 (default 16).
//   "uploads_url"    Nextcloud uploads collection; default derived from "url"
//                    (".../remote.php/dav/files/<user>/..." →
//                    ".../remote.php/dav/uploads/<user>").
//   "ca_file"        PEM bundle to trust instead of the system store.
//   "timeout_s"      connect / stall timeout per request (default 60).
// Credentials (JSON, sealed): "user", "password" (Basic auth; a Nextcloud
// app password works). Both empty or absent: no authentication.
//
// Put uploads to a temporary name ".shoebox-tmp-<hex>" in the target folder
// (derived from the path and the content's SHA-256, so a retry overwrites an
// aborted attempt's leftover) and MOVEs it to the final name (Overwrite: T),
// so a partial file is never visible under the final name. Plain WebDAV reports no checksum and
// keeps no client mtime, so after the MOVE Put records the file's SHA-256 and its current ETag as
// dead properties (PROPPATCH, namespace urn:shoebox:webdav); Stat reports "sha256:<hex>" only while
// the ETag is unchanged. Servers that refuse dead properties (rclone serve webdav) simply report no
// checksum. With "nextcloud": true, X-OC-Mtime keeps the file's mtime. Missing folders are created
// with MKCOL once and remembered. List walks the tree with PROPFIND Depth: 1 (servers often refuse
// Depth: infinity) and never returns temporary names.
//
// HTTP goes through the common client (common/http/http_client.h: kept-alive
// connections, status mapping with Retry-After) and paths through
// common/http/url.h (each segment percent-encoded, '/' kept).
//
// Thread-safe: calls may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

absl::StatusOr<std::unique_ptr<Connector>> MakeWebDavConnector(const nlohmann::json& settings,
                                                               const nlohmann::json& credentials);

namespace webdav_internal {

// One <response> of a PROPFIND multistatus.
struct DavEntry {
  std::string href;  // as sent by the server (undecoded)
  bool collection = false;
  bool has_length = false;
  uint64_t length = 0;
  int64_t mtime_ns = 0;  // from getlastmodified, 0 when absent
  std::string etag;
  std::string checksum;  // "sha256:..", "sha1:..", "md5:.." from oc:checksums
  // Shoebox's own dead properties (namespace kShoeboxNs): the SHA-256 (hex)
  // recorded at upload and the getetag the file had then.
  std::string recorded_sha256;
  std::string recorded_etag;
};

// XML namespace of the dead properties Shoebox writes with PROPPATCH.
inline constexpr char kShoeboxNs[] = "urn:shoebox:webdav";

// The checksum to report for an entry: the recorded SHA-256 when the file
// still has the ETag it had when it was recorded (so a file replaced by
// another client is not vouched for), else the server's own checksum.
std::string EffectiveChecksum(const DavEntry& e);
// Parses a 207 multistatus body. INTERNAL when it is not well-formed XML.
absl::StatusOr<std::vector<DavEntry>> ParseMultistatus(absl::string_view xml);

// Picks the strongest checksum from Nextcloud's "SHA1:ab MD5:cd ADLER32:ef"
// list as "sha1:ab" (sha256 > sha1 > md5); empty when none is usable.
std::string PickChecksum(absl::string_view oc_checksums);

}  // namespace webdav_internal
}  // namespace shoebox::worker
