// What the cloud-service connectors (Dropbox, OneDrive, Google Drive) read
// from a destination's settings the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/destination_kinds.h"
#include "common/http/token_source.h"
#include "nlohmann/json.hpp"
#include "workers/connector.h"

namespace shoebox::worker {

// The access tokens of a destination on an OAuth 2.0 service: an
// OAuthTokenSource on the destination's refresh token, shared by every
// connector of that destination in this process (one per job) so jobs side
// by side make one refresh and use one rotated refresh token. A rotated
// token is stored back through the coordinator by a job of the destination
// that is still running (ConnectorEnvironment::store_credentials).
// UNAUTHENTICATED when the destination has no refresh token yet.

// `in` reads the kind's settings `client_id`, `auth_endpoint` and secrets
// `client_secret`, `refresh_token` (common/destination_kinds.cc);
// `credentials` is the whole opened credentials object, stored again with
// the new refresh token in place when the service rotates it.
absl::StatusOr<std::shared_ptr<http::TokenSource>> MakeServiceTokenSource(
    const char* kind, const SettingsReader& in, const nlohmann::json& credentials,
    const ConnectorEnvironment& env);

// The factory of a cloud-drive kind: the token source and account key of
// the destination, `make` builds the connector with them, and transient
// failures (a dropped connection, a 5xx) are retried around it (throttling
// goes back to the coordinator with its Retry-After).
using ServiceConnectorMaker = std::function<absl::StatusOr<std::unique_ptr<Connector>>(
    const std::string& account_key, std::shared_ptr<http::TokenSource> tokens)>;
absl::StatusOr<std::unique_ptr<Connector>> MakeServiceConnector(const char* kind,
                                                                const nlohmann::json& settings,
                                                                const nlohmann::json& credentials,
                                                                const ConnectorEnvironment& env,
                                                                const ServiceConnectorMaker& make);

// Names one account of a service in this process: the destination, its
// endpoint and client. Connectors with the same key share per-account state
// (request gate, folder creation).
std::string ServiceAccountKey(const char* kind, const SettingsReader& in,
                              const ConnectorEnvironment& env);

// The `folder` setting as a path inside the account: without leading or
// trailing '/', no empty, "." or ".." component. INVALID_ARGUMENT naming the
// kind otherwise, and when it is empty unless `root_allowed`.
absl::StatusOr<std::string> ServiceFolderSetting(const char* kind, const SettingsReader& in,
                                                 bool root_allowed);

}  // namespace shoebox::worker
