// rclone bridge: reaches any remote rclone supports (Dropbox, OneDrive, Google
// Drive, Box, pCloud, B2, ...) by driving a running `rclone rcd` through its
// remote-control HTTP API (tested with Debian's rclone 1.60).
//
// Settings (JSON, not secret):
//   "url"        the rc address, e.g. "http://127.0.0.1:5572/" (required)
//   "remote"     the rclone fs that is the destination root, e.g.
//                "dropbox:Photos" or a local path (required); remotes are
//                configured in the rcd's own rclone.conf
//   "hashes"     ask for checksums in Stat (default true; costs a read of the
//                file on backends that compute them, such as local)
//   "timeout_s"  connect / stall timeout per request (default 120)
//   "ca_file"    PEM bundle to trust for an https rc address
// Credentials (JSON, sealed): "user", "password" of the rc server
// (--rc-user / --rc-pass).
//
// Put streams the bytes as a multipart form to operations/uploadfile under a
// temporary name ".shoebox-tmp-<random hex>" in the target folder, then
// operations/movefile renames it to the final name (run as an rc job and
// polled, so a backend that moves by copying cannot time the call out).
// Stat and List use operations/stat and operations/list (recursive, files
// only; temporary names are hidden); Delete uses operations/deletefile;
// EnsureFolder uses operations/mkdir. Get streams the object through the rc
// server's object serving, so rcd must run with --rc-serve (without it Get is
// FAILED_PRECONDITION saying so). rclone 1.60's rc API cannot set a file's
// modification time: remote mtimes are the upload time.
//
// Thread-safe.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

absl::StatusOr<std::unique_ptr<Connector>> MakeRcloneConnector(const nlohmann::json& settings,
                                                               const nlohmann::json& credentials);

}  // namespace shoebox::worker
