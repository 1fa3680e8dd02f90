// Flickr's answers as statuses, the signed upload request, and the
// factory registered as "flickr" (settings per common/destination_kinds.cc).
// The connector itself: flickr.cc.
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/destination_kinds.h"
#include "common/status.h"
#include "workers/connectors/flickr.h"
#include "workers/connectors/retrying_connector.h"

namespace shoebox::worker {

absl::Status FlickrErrorStatus(int code, const std::string& message, const std::string& what,
                               const std::string& destination, bool upload) {
  const std::string said = absl::StrCat("code ", code, ": ", message);
  switch (code) {
    case 96:   // Invalid signature
    case 97:   // Missing signature
    case 98:   // Login failed / Invalid auth token
    case 99:   // User not logged in / Insufficient permissions
    case 100:  // Invalid API Key
      return absl::UnauthenticatedError(
          absl::StrCat("flickr: ", what, ": Flickr refused the credentials (", said,
                       "); reconnect with `shoebox dest connect ",
                       destination.empty() ? "NAME" : destination, "`"));
    case 105:  // Service currently unavailable
    case 106:  // Write operation failed (temporary)
      return absl::UnavailableError(absl::StrCat("flickr: ", what, ": ", said, "; retried"));
    default:
      break;
  }
  if (upload) {
    const char* advice = nullptr;
    switch (code) {
      case 2:  // No photo specified
      case 3:  // General upload failure
        return absl::UnavailableError(absl::StrCat("flickr: ", what, ": ", said, "; retried"));
      case 4:
        advice = "the file is empty; Flickr takes no empty files";
        break;
      case 5:
        advice = "Flickr does not take this file type (photos and videos only)";
        break;
      case 6:
        advice =
            "the account reached its upload limit (a free account holds 1,000 photos and "
            "videos; delete some or upgrade to Flickr Pro)";
        break;
      case 7:
        advice = "the account reached its video upload limit (upgrade to Flickr Pro)";
        break;
      case 8:
        advice = "the file is larger than Flickr takes (200 MB photos, 1 GB videos)";
        break;
      default:
        break;
    }
    if (advice != nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("flickr: ", what, ": refused by Flickr (",
                                                        said, "): ", advice,
                                                        "; this file is not retried"));
    }
  }
  return absl::FailedPreconditionError(absl::StrCat("flickr: ", what, ": Flickr answered ", said));
}

absl::StatusOr<FlickrUploadRequest> BuildFlickrUpload(const FlickrOptions& o,
                                                      const http::QueryParams& fields,
                                                      const std::string& filename,
                                                      const std::string& boundary,
                                                      const std::string& nonce, int64_t timestamp) {
  FlickrUploadRequest u;
  u.url = o.upload + "/upload/";
  u.fields = fields;
  // Every field is signed; the photo part is not (upload.api.html).
  ASSIGN_OR_RETURN(http::QueryParams oauth,
                   http::OAuth1SignWith(http::OAuth1Request{"POST", u.url, fields, {}},
                                        o.credentials, nonce, timestamp));
  u.authorization = http::OAuth1AuthorizationHeader(oauth);
  u.content_type = "multipart/form-data; boundary=" + boundary;
  for (const auto& [k, v] : fields) {
    absl::StrAppend(&u.prefix, "--", boundary, "\r\nContent-Disposition: form-data; name=\"", k,
                    "\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", v, "\r\n");
  }
  std::string safe = filename;  // a header value: no quotes, CR or LF
  for (char& c : safe)
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') c = '_';
  absl::StrAppend(&u.prefix, "--", boundary,
                  "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"", safe,
                  "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
  u.suffix = absl::StrCat("\r\n--", boundary, "--\r\n");
  return u;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeFlickrConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  // Keys, types and defaults: common/destination_kinds.cc.
  const SettingsReader in("flickr", settings, credentials);
  FlickrOptions o;
  o.destination = env.destination_name;
  ASSIGN_OR_RETURN(std::string api, in.String("endpoint"));
  o.api = std::string(absl::StripSuffix(api, "/"));
  ASSIGN_OR_RETURN(std::string up, in.String("upload_endpoint"));
  o.upload = std::string(absl::StripSuffix(up, "/"));
  ASSIGN_OR_RETURN(o.is_public, in.Bool("is_public"));
  ASSIGN_OR_RETURN(o.is_friend, in.Bool("is_friend"));
  ASSIGN_OR_RETURN(o.is_family, in.Bool("is_family"));
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  o.timeout = absl::Seconds(timeout_s);
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  ASSIGN_OR_RETURN(o.credentials.consumer_key, in.String("api_key"));
  ASSIGN_OR_RETURN(o.credentials.consumer_secret, in.String("api_secret", true));
  ASSIGN_OR_RETURN(o.credentials.token, in.String("oauth_token", true));
  ASSIGN_OR_RETURN(o.credentials.token_secret, in.String("oauth_token_secret", true));
  const std::string name = env.destination_name.empty() ? "NAME" : env.destination_name;
  if (o.credentials.token.empty() || o.credentials.token_secret.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "flickr destination ", name, " is not connected yet; run `shoebox dest connect ", name,
        "` (it asks Flickr for an access token)"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Connector> c, MakeFlickrConnector(std::move(o), env.albums));
  // Transient failures (a dropped connection, a 5xx) are retried; a retried
  // Put finds an upload that arrived by its content tag or ticket.
  return std::unique_ptr<Connector>(
      std::make_unique<RetryingConnector>(std::move(c), RetryOptions{}));
}

SHOEBOX_REGISTER_CONNECTOR("flickr", MakeFlickrConnectorFromSettings);

}  // namespace shoebox::worker
