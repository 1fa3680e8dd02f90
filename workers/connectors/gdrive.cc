#include "workers/connectors/gdrive.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/http/http_client.h"
#include "common/http/request_gate.h"
#include "common/http/url.h"
#include "common/status.h"
#include "workers/connectors/service_names.h"
#include "workers/connectors/service_settings.h"

namespace shoebox::worker {
namespace gdrive_internal {

std::string QueryString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace gdrive_internal

namespace {

using gdrive_internal::QueryString;
using nlohmann::json;

constexpr char kFolderMime[] = "application/vnd.google-apps.folder";
constexpr char kFileFields[] = "id,name,mimeType,size,md5Checksum,modifiedTime";
constexpr absl::Duration kMaxThrottleWait = absl::Seconds(10);
constexpr int kMaxThrottleWaits = 5;

// Incremental MD5 (OpenSSL EVP); copyable so a chunk can be rolled back.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  Md5(const Md5& o) : ctx_(EVP_MD_CTX_new()) { EVP_MD_CTX_copy_ex(ctx_, o.ctx_); }
  Md5& operator=(const Md5& o) {
    if (this != &o) EVP_MD_CTX_copy_ex(ctx_, o.ctx_);
    return *this;
  }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  void Update(std::string_view d) { EVP_DigestUpdate(ctx_, d.data(), d.size()); }
  std::string Hex() const {
    Md5 copy(*this);
    unsigned char out[16];
    unsigned int n = 0;
    EVP_DigestFinal_ex(copy.ctx_, out, &n);
    return ToHex(std::string_view(reinterpret_cast<const char*>(out), n));
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Drive's error body: {"error": {"errors": [{"reason"}], "message"}}.
std::string Reason(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  const json& e = j["error"];
  if (e.contains("errors") && e["errors"].is_array() && !e["errors"].empty() &&
      e["errors"][0].is_object()) {
    return e["errors"][0].value("reason", "");
  }
  return "";
}

std::string Detail(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  std::string reason = Reason(r);
  std::string msg = j["error"].value("message", "");
  return reason.empty() ? msg : absl::StrCat(reason, ": ", msg);
}

bool IsRateLimit(const http::Response& r) {
  if (r.status == 429) return true;
  if (r.status != 403) return false;
  std::string reason = Reason(r);
  return reason == "rateLimitExceeded" || reason == "userRateLimitExceeded";
}

absl::Status DriveError(const http::Response& r, absl::string_view what) {
  // An OAuth destination is fixed by connecting it again, not by `dest set`.
  absl::Status s = http::ErrorStatus(
      r, what, Detail(r),
      r.status == 401 ? "the service refused the access token; reconnect the destination with "
                        "`shoebox dest connect NAME`"
                      : "");
  if (IsRateLimit(r)) {
    absl::Status t = absl::ResourceExhaustedError(
        absl::StrCat(s.message(), "; Google Drive is throttling this account, waiting as it asks"));
    // Drive often gives no Retry-After for 403s: back off a second at least.
    return WithRetryAfter(std::move(t), RetryAfterMs(s).value_or(1000));
  }
  if (r.status == 403 && Reason(r) == "storageQuotaExceeded") {
    return absl::FailedPreconditionError(
        absl::StrCat(s.message(), "; the Google account is full: free space or buy storage"));
  }
  return s;
}

std::string Rfc3339Ms(int64_t ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(ns - ns % 1000000),
                          absl::UTCTimeZone());
}

int64_t ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return 0;
  return absl::ToUnixNanos(t);
}

// Hashes what the HTTP client reads from the source.
class HashingSource : public ByteSource {
 public:
  HashingSource(ByteSource* in, Md5* h) : in_(in), h_(h) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    ASSIGN_OR_RETURN(size_t n, in_->Read(buf, max));
    h_->Update(std::string_view(reinterpret_cast<const char*>(buf), n));
    return n;
  }
  absl::Status Seek(uint64_t) override {
    return absl::UnavailableError("an upload chunk cannot be rewound; will retry");
  }
  uint64_t size() const override { return in_->size(); }

 private:
  ByteSource* in_;
  Md5* h_;
};

// Reads [from, to) of `src` into `h` (local reads, nothing is sent).
absl::Status HashRange(ByteSource* src, uint64_t from, uint64_t to, Md5* h) {
  RETURN_IF_ERROR(src->Seek(from));
  std::string buf(1 << 20, '\0');
  while (from < to) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - from));
    ASSIGN_OR_RETURN(size_t n, src->Read(reinterpret_cast<uint8_t*>(buf.data()), want));
    if (n == 0) return absl::UnavailableError("the source ended early while resuming");
    h->Update(std::string_view(buf.data(), n));
    from += n;
  }
  return absl::OkStatus();
}

// The next byte a 308 answer asks for ("Range: bytes=0-N" -> N+1; none -> 0).
uint64_t NextFromRange(const http::Response& r) {
  std::string range = r.Header("range");
  size_t dash = range.rfind('-');
  uint64_t last = 0;
  if (dash == std::string::npos || !absl::SimpleAtoi(range.substr(dash + 1), &last)) return 0;
  return last + 1;
}

// The folder mutex of an account; a new one for "".
std::shared_ptr<absl::Mutex> AccountFoldersMutex(const std::string& account_key) {
  if (account_key.empty()) return std::make_shared<absl::Mutex>();
  static absl::Mutex mu(absl::kConstInit);
  static auto* by_key = new std::map<std::string, std::shared_ptr<absl::Mutex>>();
  absl::MutexLock l(&mu);
  std::shared_ptr<absl::Mutex>& m = (*by_key)[account_key];
  if (m == nullptr) m = std::make_shared<absl::Mutex>();
  return m;
}

class GoogleDriveConnector final : public Connector {
 public:
  GoogleDriveConnector(GoogleDriveOptions o, std::shared_ptr<http::TokenSource> tokens)
      : o_(std::move(o)),
        tokens_(std::move(tokens)),
        client_(http::ClientOptions{
            .connect_timeout = absl::Seconds(o_.timeout_s),
            .stall_timeout = absl::Seconds(o_.timeout_s),
            .unreachable_hint = "is Google Drive (or the configured endpoint) reachable?",
            .gate = http::RequestGate::Shared(o_.account_key)}),
        account_folders_mu_(AccountFoldersMutex(o_.account_key)) {
    for (absl::string_view p : absl::StrSplit(o_.folder, '/', absl::SkipEmpty())) {
      root_.push_back(
          EncodeServiceName(std::string_view(p.data(), p.size()), GoogleDriveNameRules()));
    }
    if (o_.max_requests_per_s > 0) client_.options().gate->SetRate(o_.max_requests_per_s);
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override {
    return FolderId(folder, /*create=*/true).status();
  }
  std::string Describe() const override {
    return absl::StrCat("gdrive /", o_.folder, " at ", o_.endpoint);
  }

 private:
  std::string Where(std::string_view remote) const {
    return absl::StrCat(PrintablePath(remote), " at ", Describe());
  }
  absl::StatusOr<http::Response> Api(http::Request req) const;
  absl::StatusOr<http::Response> SendHonouringThrottle(const http::Request& req) const;
  // files.list of everything matching `q` (all pages).
  absl::StatusOr<std::vector<json>> ListQuery(const std::string& q, absl::string_view what) const;
  // The ID of a folder path under the root (""), creating missing folders
  // when `create`; NOT_FOUND otherwise.
  absl::StatusOr<std::string> FolderId(const std::string& folder, bool create);
  // The files named like the last component of `remote` in its folder, newest
  // first; NOT_FOUND when the folder is missing.
  absl::StatusOr<std::vector<json>> Files(const std::string& remote);
  RemoteObject FromFile(const std::string& remote, const json& f) const {
    RemoteObject o;
    o.remote_path = remote;
    uint64_t size = 0;
    if (absl::SimpleAtoi(f.value("size", "0"), &size)) o.size = size;
    o.mtime_ns = ParseRfc3339(f.value("modifiedTime", ""));
    std::string md5 = f.value("md5Checksum", "");
    if (!md5.empty()) o.checksum = "md5:" + md5;
    o.ref = f.value("id", "");
    return o;
  }
  absl::StatusOr<json> SendChunks(const PutRequest& req, const std::string& url, uint64_t offset,
                                  Md5* md5, ByteSource* src,
                                  const std::function<void(const Progress&)>& progress);
  // The next byte of a saved session, or nullopt (start over).
  absl::StatusOr<std::optional<uint64_t>> Resume(const PutRequest& req, std::string* url);

  const GoogleDriveOptions o_;
  const std::shared_ptr<http::TokenSource> tokens_;
  const http::Client client_;
  std::vector<std::string> root_;  // encoded names
  // Drive lets two folders of one name share a parent. Connectors are
  // opened per job, so two jobs of one destination could each miss a folder
  // and create it: they look up and create folders under one mutex per
  // account in this process (account_key), then under their own.
  std::shared_ptr<absl::Mutex> account_folders_mu_;
  absl::Mutex folders_mu_;  // held while looking up / creating folders
  absl::flat_hash_map<std::string, std::string> folder_ids_ ABSL_GUARDED_BY(folders_mu_);
};

absl::StatusOr<http::Response> GoogleDriveConnector::SendHonouringThrottle(
    const http::Request& req) const {
  absl::Duration backoff = absl::Seconds(1);
  for (int waits = 0;; ++waits) {
    ASSIGN_OR_RETURN(http::Response r, client_.Send(req));
    bool throttled = IsRateLimit(r) || r.status == 503;
    if (!throttled || waits >= kMaxThrottleWaits || req.body_source != nullptr) return r;
    std::optional<absl::Duration> after = http::ParseRetryAfter(r.Header("retry-after"));
    absl::Duration wait = after.value_or(backoff);
    if (wait > kMaxThrottleWait) return r;  // the job waits instead
    absl::SleepFor(wait);
    backoff *= 2;
  }
}

absl::StatusOr<http::Response> GoogleDriveConnector::Api(http::Request req) const {
  const size_t auth_at = req.headers.size();
  std::optional<http::Response> refused;  // the 401 that invalidated the first token
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::string> token = tokens_->AccessToken();
    if (!token.ok()) {
      // A token that cannot be renewed after a 401: the service's answer (with
      // the hint to reconnect) says more than the token source's.
      if (refused.has_value() && absl::IsUnauthenticated(token.status())) return *refused;
      return Annotate(token.status(), absl::StrCat("Google Drive access token for ", Describe()));
    }
    req.headers.resize(auth_at);
    req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", *token));
    ASSIGN_OR_RETURN(http::Response r, SendHonouringThrottle(req));
    if (r.status != 401 || attempt > 0) return r;
    tokens_->Invalidate(*token);
    refused = r;
    if (req.body_source != nullptr) return r;  // its body is spent: the caller sends it again
  }
}

absl::StatusOr<std::vector<json>> GoogleDriveConnector::ListQuery(const std::string& q,
                                                                  absl::string_view what) const {
  std::vector<json> out;
  std::string page;
  do {
    http::QueryParams params = {{"q", q},
                                {"fields", absl::StrCat("nextPageToken,files(", kFileFields, ")")},
                                {"pageSize", "1000"},
                                {"spaces", "drive"}};
    if (!page.empty()) params.emplace_back("pageToken", page);
    http::Request req{.url =
                          absl::StrCat(o_.endpoint, "/drive/v3/files?", http::QueryString(params))};
    ASSIGN_OR_RETURN(http::Response r, Api(req));
    if (r.status != 200) return DriveError(r, absl::StrCat(what, " at ", Describe()));
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
      return absl::InternalError(
          absl::StrCat(what, " at ", Describe(), ": files.list answer has no \"files\" array"));
    }
    for (json& f : j["files"]) out.push_back(std::move(f));
    page = j.value("nextPageToken", "");
  } while (!page.empty());
  return out;
}

absl::StatusOr<std::string> GoogleDriveConnector::FolderId(const std::string& folder, bool create) {
  std::vector<std::string> parts = root_;
  std::string f(absl::StripSuffix(absl::StripPrefix(folder, "/"), "/"));
  for (absl::string_view p : absl::StrSplit(f, '/', absl::SkipEmpty())) {
    parts.push_back(
        EncodeServiceName(std::string_view(p.data(), p.size()), GoogleDriveNameRules()));
  }
  absl::MutexLock account(account_folders_mu_.get());
  absl::MutexLock l(&folders_mu_);
  std::string id = "root";
  std::string path;
  for (const std::string& name : parts) {
    path = path.empty() ? name : absl::StrCat(path, "/", name);
    if (auto it = folder_ids_.find(path); it != folder_ids_.end()) {
      id = it->second;
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<json> found,
                     ListQuery(absl::StrCat("name = ", QueryString(name), " and ", QueryString(id),
                                            " in parents and mimeType = '", kFolderMime,
                                            "' and trashed = false"),
                               absl::StrCat("look up folder ", PrintablePath(path))));
    if (!found.empty()) {
      // Twins made by another client: the oldest ID sorts first, take it.
      std::sort(found.begin(), found.end(),
                [](const json& a, const json& b) { return a.value("id", "") < b.value("id", ""); });
      id = found[0].value("id", "");
    } else if (!create) {
      return absl::NotFoundError(absl::StrCat("folder ", PrintablePath(DecodeServicePath(path)),
                                              " not found at ", Describe()));
    } else {
      std::string body = json{{"name", name}, {"mimeType", kFolderMime}, {"parents", {id}}}.dump();
      ASSIGN_OR_RETURN(
          http::Response r,
          Api(http::Request{.method = "POST",
                            .url = absl::StrCat(o_.endpoint, "/drive/v3/files?fields=id"),
                            .headers = {{"Content-Type", "application/json"}},
                            .body = body}));
      if (r.status != 200) {
        return DriveError(r, absl::StrCat("create folder ", PrintablePath(DecodeServicePath(path)),
                                          " at ", Describe()));
      }
      json j = json::parse(r.body, nullptr, false);
      id = j.is_object() ? j.value("id", "") : "";
      if (id.empty()) return absl::InternalError("files.create answered without an id");
    }
    folder_ids_[path] = id;
  }
  return id;
}

absl::StatusOr<std::vector<json>> GoogleDriveConnector::Files(const std::string& remote) {
  std::string folder, name = remote;
  if (size_t s = remote.rfind('/'); s != std::string::npos) {
    folder = remote.substr(0, s);
    name = remote.substr(s + 1);
  }
  ASSIGN_OR_RETURN(std::string parent, FolderId(folder, /*create=*/false));
  ASSIGN_OR_RETURN(
      std::vector<json> found,
      ListQuery(
          absl::StrCat("name = ", QueryString(EncodeServiceName(name, GoogleDriveNameRules())),
                       " and ", QueryString(parent), " in parents and mimeType != '", kFolderMime,
                       "' and trashed = false"),
          absl::StrCat("look up ", PrintablePath(remote))));
  std::sort(found.begin(), found.end(), [](const json& a, const json& b) {
    return a.value("modifiedTime", "") > b.value("modifiedTime", "");
  });
  return found;
}

absl::StatusOr<RemoteObject> GoogleDriveConnector::Stat(const std::string& remote_path) {
  absl::StatusOr<std::vector<json>> found = Files(remote_path);
  if (absl::IsNotFound(found.status()) || (found.ok() && found->empty())) {
    return absl::NotFoundError(absl::StrCat(Where(remote_path), ": not found"));
  }
  if (!found.ok()) return found.status();
  return FromFile(remote_path, (*found)[0]);
}

absl::StatusOr<std::vector<RemoteObject>> GoogleDriveConnector::List(const std::string& prefix) {
  std::string start(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"));
  absl::StatusOr<std::string> top = FolderId(start, /*create=*/false);
  if (absl::IsNotFound(top.status())) return std::vector<RemoteObject>{};
  if (!top.ok()) return top.status();
  std::vector<RemoteObject> out;
  std::vector<std::pair<std::string, std::string>> todo = {{start, *top}};
  while (!todo.empty()) {
    auto [folder, id] = std::move(todo.back());
    todo.pop_back();
    ASSIGN_OR_RETURN(std::vector<json> kids,
                     ListQuery(absl::StrCat(QueryString(id), " in parents and trashed = false"),
                               absl::StrCat("list ", PrintablePath(folder))));
    for (const json& f : kids) {
      std::string name = DecodeServiceName(f.value("name", ""));
      std::string path = folder.empty() ? name : absl::StrCat(folder, "/", name);
      if (f.value("mimeType", "") == kFolderMime) {
        todo.emplace_back(path, f.value("id", ""));
      } else {
        out.push_back(FromFile(path, f));
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status GoogleDriveConnector::Get(const std::string& remote_path,
                                       const std::function<absl::Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(RemoteObject o, Stat(remote_path));
  ASSIGN_OR_RETURN(
      http::Response r,
      Api(http::Request{.url = absl::StrCat(o_.endpoint, "/drive/v3/files/",
                                            http::EncodePathSegment(o.ref), "?alt=media"),
                        .sink = sink}));
  if (r.status == 200) return absl::OkStatus();
  return DriveError(r, absl::StrCat("download ", Where(remote_path)));
}

absl::Status GoogleDriveConnector::Delete(const std::string& remote_path) {
  absl::StatusOr<std::vector<json>> found = Files(remote_path);
  if (absl::IsNotFound(found.status())) return absl::OkStatus();
  if (!found.ok()) return found.status();
  for (const json& f : *found) {  // twins too: nothing of that name stays
    ASSIGN_OR_RETURN(
        http::Response r,
        Api(http::Request{.method = "DELETE",
                          .url = absl::StrCat(o_.endpoint, "/drive/v3/files/",
                                              http::EncodePathSegment(f.value("id", "")))}));
    if (r.status != 204 && r.status != 200 && r.status != 404) {
      return DriveError(r, absl::StrCat("delete ", Where(remote_path)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> GoogleDriveConnector::Resume(const PutRequest& req,
                                                                     std::string* url) {
  if (req.resume_state.empty()) return std::nullopt;
  json s = json::parse(req.resume_state, nullptr, false);
  if (!s.is_object() || s.value("kind", "") != "gdrive" || s.value("path", "") != req.remote_path ||
      s.value("size", uint64_t{0}) != req.size || s.value("sha256", "") != ToHex(req.sha256)) {
    return std::nullopt;
  }
  *url = s.value("url", "");
  if (url->empty()) return std::nullopt;
  ASSIGN_OR_RETURN(
      http::Response r,
      Api(http::Request{.method = "PUT",
                        .url = *url,
                        .headers = {{"Content-Range", absl::StrCat("bytes */", req.size)}},
                        .body = ""}));
  if (r.status == 404 || r.status == 410) return std::nullopt;  // expired: start over
  if (r.status == 200 || r.status == 201) return req.size;      // already complete
  if (r.status != 308)
    return DriveError(r, absl::StrCat("resume upload of ", Where(req.remote_path)));
  uint64_t next = NextFromRange(r);
  if (next > req.size) return std::nullopt;
  return next;
}

absl::StatusOr<json> GoogleDriveConnector::SendChunks(
    const PutRequest& req, const std::string& url, uint64_t offset, Md5* md5, ByteSource* src,
    const std::function<void(const Progress&)>& progress) {
  int throttle_waits = 0;
  bool auth_retried = false;
  while (true) {
    const uint64_t len = std::min<uint64_t>(o_.chunk_bytes, req.size - offset);
    const Md5 before = *md5;
    HashingSource hs(src, md5);
    http::Request put{.method = "PUT", .url = url, .headers = {{"Expect", ""}}};
    if (len == 0) {
      put.headers.emplace_back("Content-Range", absl::StrCat("bytes */", req.size));
      put.body = "";
    } else {
      put.headers.emplace_back(
          "Content-Range", absl::StrCat("bytes ", offset, "-", offset + len - 1, "/", req.size));
      put.body_source = &hs;
      put.body_length = len;
    }
    if (progress) put.on_sent = [&progress, offset](uint64_t n) { progress(Progress{offset + n}); };
    absl::StatusOr<http::Response> r = Api(put);
    if (!r.ok()) {
      *md5 = before;
      return Annotate(r.status(),
                      absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
    }
    if (r->status == 200 || r->status == 201) {
      json j = json::parse(r->body, nullptr, false);
      if (!j.is_object()) return absl::UnavailableError("the upload's last answer is not JSON");
      return j;
    }
    if (r->status == 308) {
      uint64_t next = NextFromRange(*r);
      if (next != offset + len) {
        // The service kept less than was sent: hash only what it has.
        *md5 = before;
        if (next < offset) {
          return absl::UnavailableError(absl::StrCat("upload ", Where(req.remote_path),
                                                     ": the service went back to byte ", next));
        }
        RETURN_IF_ERROR(HashRange(src, offset, next, md5));
        RETURN_IF_ERROR(src->Seek(next));
      }
      offset = next;
      continue;
    }
    *md5 = before;
    if (r->status == 401 && !auth_retried && len > 0) {
      auth_retried = true;  // the token expired during the upload; Api renewed it
      RETURN_IF_ERROR(src->Seek(offset));
      continue;
    }
    if ((IsRateLimit(*r) || r->status == 503) && throttle_waits < kMaxThrottleWaits) {
      std::optional<absl::Duration> after = http::ParseRetryAfter(r->Header("retry-after"));
      absl::Duration wait = after.value_or(absl::Seconds(1 << throttle_waits));
      if (wait <= kMaxThrottleWait) {
        ++throttle_waits;
        absl::SleepFor(wait);
        RETURN_IF_ERROR(src->Seek(offset));
        continue;
      }
    }
    if (r->status == 404 || r->status == 410) {
      if (req.save_resume_state) req.save_resume_state("");
      return absl::UnavailableError(
          absl::StrCat("upload ", Where(req.remote_path),
                       ": the upload session expired; the next attempt starts over"));
    }
    return DriveError(*r, absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
  }
}

absl::StatusOr<RemoteObject> GoogleDriveConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  std::string folder, name = req.remote_path;
  if (size_t s = req.remote_path.rfind('/'); s != std::string::npos) {
    folder = req.remote_path.substr(0, s);
    name = req.remote_path.substr(s + 1);
  }
  ASSIGN_OR_RETURN(std::string parent, FolderId(folder, /*create=*/true));
  std::string url;
  bool created = false;
  ASSIGN_OR_RETURN(std::optional<uint64_t> offset, Resume(req, &url));
  Md5 md5;
  if (offset.has_value()) {
    RETURN_IF_ERROR(HashRange(src, 0, *offset, &md5));
    RETURN_IF_ERROR(src->Seek(*offset));
  } else {
    // Never a duplicate: replace the content of the file of that name, if any.
    ASSIGN_OR_RETURN(std::vector<json> existing, Files(req.remote_path));
    json meta = {{"modifiedTime", Rfc3339Ms(req.mtime_ns)}};
    http::Request start{.method = "POST",
                        .headers = {{"Content-Type", "application/json; charset=UTF-8"},
                                    {"X-Upload-Content-Type", "application/octet-stream"},
                                    {"X-Upload-Content-Length", absl::StrCat(req.size)}}};
    std::string q = absl::StrCat("uploadType=resumable&fields=", kFileFields);
    if (existing.empty()) {
      created = true;
      meta["name"] = EncodeServiceName(name, GoogleDriveNameRules());
      meta["parents"] = {parent};
      start.url = absl::StrCat(o_.endpoint, "/upload/drive/v3/files?", q);
    } else {
      start.method = "PATCH";
      start.url = absl::StrCat(o_.endpoint, "/upload/drive/v3/files/",
                               http::EncodePathSegment(existing[0].value("id", "")), "?", q);
    }
    std::string body = meta.dump();
    start.body = body;
    ASSIGN_OR_RETURN(http::Response r, Api(start));
    if (r.status != 200)
      return DriveError(r, absl::StrCat("start upload of ", Where(req.remote_path)));
    url = r.Header("location");
    if (url.empty()) {
      return absl::UnavailableError(
          absl::StrCat("start upload of ", Where(req.remote_path), ": no session URI (Location)"));
    }
    if (req.save_resume_state) {
      req.save_resume_state(json{
          {"v", 1},
          {"kind", "gdrive"},
          {"url", url},
          {"path", req.remote_path},
          {"size", req.size},
          {"sha256",
           ToHex(req.sha256)}}.dump());
    }
    RETURN_IF_ERROR(src->Seek(0));
    offset = 0;
  }
  ASSIGN_OR_RETURN(json file, SendChunks(req, url, *offset, &md5, src, progress));
  if (req.save_resume_state) req.save_resume_state("");
  RemoteObject obj = FromFile(req.remote_path, file);
  const std::string want = "md5:" + md5.Hex();
  if (obj.size != req.size || obj.checksum != want) {
    if (created) {
      (void)Api(http::Request{
          .method = "DELETE",
          .url = absl::StrCat(o_.endpoint, "/drive/v3/files/", http::EncodePathSegment(obj.ref))});
    }
    return absl::UnavailableError(absl::StrCat(
        "upload ", Where(req.remote_path), ": Google Drive stored ", obj.size, " bytes with ",
        obj.checksum.empty() ? "no checksum" : obj.checksum, ", expected ", req.size,
        " bytes with ", want, "; the file will be sent again"));
  }
  return obj;
}

}  // namespace

absl::StatusOr<GoogleDriveOptions> GoogleDriveOptionsFromSettings(const nlohmann::json& settings) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("gdrive", settings, nlohmann::json::object());
  GoogleDriveOptions o;
  ASSIGN_OR_RETURN(std::string endpoint, in.String("endpoint"));
  endpoint = std::string(absl::StripSuffix(endpoint, "/"));
  if (!endpoint.empty()) o.endpoint = endpoint;
  ASSIGN_OR_RETURN(o.folder, ServiceFolderSetting("gdrive", in, /*root_allowed=*/false));
  ASSIGN_OR_RETURN(o.timeout_s, in.Int("timeout_s"));
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  ASSIGN_OR_RETURN(int64_t mib, in.Int("chunk_size_mib"));
  o.chunk_bytes = static_cast<uint64_t>(mib) << 20;
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeGoogleDriveConnector(
    const GoogleDriveOptions& o, std::shared_ptr<http::TokenSource> tokens) {
  if (tokens == nullptr) {
    return absl::InvalidArgumentError(
        "gdrive destination: no access token source; connect the destination with `shoebox "
        "dest connect NAME`");
  }
  if (o.chunk_bytes == 0 || o.chunk_bytes % kGoogleDriveChunkUnit != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("gdrive destination: the chunk size ", o.chunk_bytes,
                     " must be a multiple of 256 KiB (262144 bytes)"));
  }
  return std::unique_ptr<Connector>(new GoogleDriveConnector(o, std::move(tokens)));
}

namespace {

absl::StatusOr<std::unique_ptr<Connector>> MakeGoogleDriveConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  ASSIGN_OR_RETURN(GoogleDriveOptions o, GoogleDriveOptionsFromSettings(settings));
  return MakeServiceConnector(
      "gdrive", settings, credentials, env,
      [&](const std::string& account_key, std::shared_ptr<http::TokenSource> tokens) {
        o.account_key = account_key;
        return MakeGoogleDriveConnector(o, std::move(tokens));
      });
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("gdrive", MakeGoogleDriveConnectorFromSettings);

}  // namespace shoebox::worker
