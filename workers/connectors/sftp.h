// SFTP connector over libssh.
//
// Settings (JSON, not secret):
//   "host"         server name or address (required)
//   "port"         default 22
//   "user"         login name (may instead be in the credentials)
//   "path"         remote folder that is the destination root, absolute or
//                  relative to the login directory (default: login directory)
//   "known_hosts"  path of an OpenSSH known_hosts file on the worker host that
//                  holds the server's key, or
//   "host_key"     the server's public key line(s) ("ssh-ed25519 AAAA..."),
//                  as printed by `ssh-keyscan` (one of the two is required:
//                  the host key is always checked)
//   "timeout_s"    connect timeout (default 30)
// Credentials (JSON, sealed): "private_key" (OpenSSH/PEM text, optional
// "passphrase") and/or "password"; optional "user".
//
// Put writes a temporary file ".shoebox-tmp-<hex>" next to the target (the
// name is derived from the target path and the content's SHA-256), sets its
// mtime and renames it over the target with posix-rename@openssh.com (atomic
// replace). A retry after an interruption finds that temporary file and, when
// its tail matches the source, continues after the bytes already there
// instead of starting over. Folders are created once and remembered. An
// unknown or changed host key is FAILED_PRECONDITION naming the host and
// what to do; refused credentials are UNAUTHENTICATED.
//
// Thread-safe: calls are serialised on one SSH connection, which is opened on
// first use and re-opened after it breaks.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

absl::StatusOr<std::unique_ptr<Connector>> MakeSftpConnector(const nlohmann::json& settings,
                                                             const nlohmann::json& credentials);

}  // namespace shoebox::worker
