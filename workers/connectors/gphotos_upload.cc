// The resumable upload protocol of the Google Photos connector
// (gphotos_connector.h): start / upload / upload, finalize / query.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/bytes.h"
#include "common/http/url.h"
#include "common/status.h"
#include "workers/connectors/gphotos_connector.h"
#include "workers/connectors/service_names.h"

namespace shoebox::worker::gphotos_internal {

json GooglePhotosConnector::LoadState(const PutRequest& req) {
  const std::string k = absl::StrCat(req.remote_path, "\n", req.size, "\n", ToHex(req.sha256));
  std::string raw = req.resume_state;
  {
    absl::MutexLock l(&acct_->mu);
    auto it = acct_->resume.find(k);
    if (it != acct_->resume.end()) raw = it->second;
  }
  json s = json::parse(raw.empty() ? std::string("{}") : raw, nullptr, false);
  if (!s.is_object() || s.value("kind", "") != "gphotos" ||
      s.value("path", "") != req.remote_path || s.value("size", uint64_t{0}) != req.size ||
      s.value("sha256", "") != ToHex(req.sha256)) {
    return json::object();
  }
  return s;
}

void GooglePhotosConnector::SaveState(const PutRequest& req, const json& state) {
  const std::string k = absl::StrCat(req.remote_path, "\n", req.size, "\n", ToHex(req.sha256));
  std::string s;
  if (!state.empty()) {
    json full = state;
    full["v"] = 1;
    full["kind"] = "gphotos";
    full["path"] = req.remote_path;
    full["size"] = req.size;
    full["sha256"] = ToHex(req.sha256);
    s = full.dump();
  }
  {
    absl::MutexLock l(&acct_->mu);
    if (s.empty()) {
      acct_->resume.erase(k);
    } else {
      acct_->resume[k] = s;
    }
  }
  if (req.save_resume_state) req.save_resume_state(s);
}

absl::StatusOr<std::optional<uint64_t>> GooglePhotosConnector::QuerySession(
    const std::string& url) const {
  ASSIGN_OR_RETURN(http::Response r,
                   Api(http::Request{.method = "POST",
                                     .url = url,
                                     .headers = {{"X-Goog-Upload-Command", "query"}},
                                     .body = ""}));
  if (r.status == 404 || r.status == 410) return std::nullopt;
  if (r.status != 200) return ApiError(r, "query an upload session", kAppendOnly, Now());
  if (r.Header("x-goog-upload-status") != "active") return std::nullopt;  // final, cancelled
  uint64_t received = 0;
  if (!absl::SimpleAtoi(r.Header("x-goog-upload-size-received"), &received)) return std::nullopt;
  return received;
}

absl::StatusOr<std::string> GooglePhotosConnector::Upload(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress,
    json* state) {
  std::string url = state->value("url", "");
  uint64_t granularity = state->value("granularity", uint64_t{0});
  uint64_t offset = 0;
  std::optional<uint64_t> kept;
  if (!url.empty() && granularity > 0) {
    ASSIGN_OR_RETURN(kept, QuerySession(url));
  }
  if (kept.has_value() && *kept <= req.size) {
    offset = *kept;
  } else {
    ASSIGN_OR_RETURN(
        http::Response r,
        Api(http::Request{
            .method = "POST",
            .url = o_.upload_endpoint,
            .headers = {{"X-Goog-Upload-Protocol", "resumable"},
                        {"X-Goog-Upload-Command", "start"},
                        {"X-Goog-Upload-Content-Type",
                         gphotos_internal::MimeTypeFor(req.remote_path)},
                        {"X-Goog-Upload-File-Name",
                         EncodeServiceName(BaseName(req.remote_path), GooglePhotosNameRules())},
                        {"X-Goog-Upload-Raw-Size", absl::StrCat(req.size)}},
            .body = ""}));
    if (r.status != 200) {
      return ApiError(r, absl::StrCat("start the upload of ", Where(req.remote_path)), kAppendOnly,
                      Now());
    }
    url = r.Header("x-goog-upload-url");
    if (!absl::SimpleAtoi(r.Header("x-goog-upload-chunk-granularity"), &granularity) ||
        granularity == 0) {
      granularity = 262144;
    }
    if (url.empty()) {
      return absl::UnavailableError(absl::StrCat("start the upload of ", Where(req.remote_path),
                                                 ": no X-Goog-Upload-URL in the answer"));
    }
    *state = json{{"url", url}, {"granularity", granularity}};
    SaveState(req, *state);
  }
  const uint64_t chunk = std::max(granularity, o_.chunk_bytes / granularity * granularity);
  RETURN_IF_ERROR(src->Seek(offset));
  int retries = 0;
  bool auth_retried = false;
  while (true) {
    const uint64_t len = std::min<uint64_t>(chunk, req.size - offset);
    const bool final = offset + len == req.size;
    http::Request put{.method = "POST",
                      .url = url,
                      .headers = {{"X-Goog-Upload-Command", len == 0 ? "finalize"
                                                            : final  ? "upload, finalize"
                                                                     : "upload"},
                                  {"X-Goog-Upload-Offset", absl::StrCat(offset)},
                                  {"Content-Type", "application/octet-stream"},
                                  {"Expect", ""}}};
    if (len == 0) {
      put.body = "";
    } else {
      put.body_source = src;
      put.body_length = len;
    }
    if (progress) put.on_sent = [&progress, offset](uint64_t n) { progress(Progress{offset + n}); };
    absl::StatusOr<http::Response> r = Api(put);
    if (!r.ok() || r->status >= 500) {
      absl::Status failed = r.ok() ? ApiError(*r, "upload", kAppendOnly, Now()) : r.status();
      if (!IsRetryable(failed) || absl::IsResourceExhausted(failed) || ++retries > kChunkRetries) {
        return Annotate(failed,
                        absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
      }
      // Ask the service what it kept and go on from there.
      absl::StatusOr<std::optional<uint64_t>> q = QuerySession(url);
      if (!q.ok() || !q->has_value() || **q > req.size) {
        return Annotate(failed,
                        absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
      }
      offset = **q;
      RETURN_IF_ERROR(src->Seek(offset));
      continue;
    }
    if (r->status == 401 && !auth_retried) {
      auth_retried = true;  // Api invalidated the token; the chunk goes again
      RETURN_IF_ERROR(src->Seek(offset));
      continue;
    }
    if (r->status == 404 || r->status == 410) {
      SaveState(req, json::object());
      *state = json::object();
      return absl::UnavailableError(
          absl::StrCat("upload ", Where(req.remote_path),
                       ": the upload session expired; the next attempt starts over"));
    }
    if (r->status != 200) {
      return ApiError(*r, absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset),
                      kAppendOnly, Now());
    }
    offset += len;
    if (final) {
      std::string token(absl::StripAsciiWhitespace(r->body));
      if (token.empty()) {
        return absl::UnavailableError(absl::StrCat("upload ", Where(req.remote_path),
                                                   ": the finalize answer has no upload token"));
      }
      return token;
    }
  }
}

}  // namespace shoebox::worker::gphotos_internal
