#include "workers/connectors/onedrive.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
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
#include "workers/connectors/quickxorhash.h"
#include "workers/connectors/service_names.h"
#include "workers/connectors/service_settings.h"

namespace shoebox::worker {
namespace {

using nlohmann::json;

// Graph's error body {"error": {"code", "message"}} as "code: message".
std::string GraphDetail(const http::Response& r) {
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  const json& e = j["error"];
  std::string code = e.value("code", "");
  std::string msg = e.value("message", "");
  return code.empty() ? msg : absl::StrCat(code, ": ", msg);
}

// THE mapping for this connector: ErrorStatus with Graph's own words, and
// 429 as RESOURCE_EXHAUSTED (throttled) keeping the Retry-After hint.
absl::Status GraphError(const http::Response& r, absl::string_view what) {
  // An OAuth destination is fixed by connecting it again, not by `dest set`.
  absl::Status s = http::ErrorStatus(
      r, what, GraphDetail(r),
      r.status == 401 ? "the service refused the access token; reconnect the destination with "
                        "`shoebox dest connect NAME`"
                      : "");
  if (r.status == 429) {
    absl::Status t = absl::ResourceExhaustedError(
        absl::StrCat(s.message(), "; OneDrive is throttling this account, waiting as it asks"));
    if (std::optional<uint32_t> ms = RetryAfterMs(s)) t = WithRetryAfter(std::move(t), *ms);
    return t;
  }
  return s;
}

constexpr absl::Duration kMaxThrottleWait = absl::Seconds(10);
constexpr int kMaxThrottleWaits = 5;

std::string Rfc3339(int64_t ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ns / 1000000000),
                          absl::UTCTimeZone());
}

int64_t ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return 0;
  return absl::ToUnixNanos(t);
}

std::string Parent(absl::string_view path) {
  size_t s = path.rfind('/');
  return s == absl::string_view::npos ? std::string() : std::string(path.substr(0, s));
}

// The first byte of nextExpectedRanges ("N-" or "N-M"); nullopt when absent.
std::optional<uint64_t> NextExpected(const json& j) {
  if (!j.is_object() || !j.contains("nextExpectedRanges") || !j["nextExpectedRanges"].is_array() ||
      j["nextExpectedRanges"].empty() || !j["nextExpectedRanges"][0].is_string()) {
    return std::nullopt;
  }
  std::string range = j["nextExpectedRanges"][0].get<std::string>();
  uint64_t next = 0;
  if (!absl::SimpleAtoi(range.substr(0, range.find('-')), &next)) return std::nullopt;
  return next;
}

// Adds [from, to) of `src` to `h` (read locally, nothing is sent).
absl::Status HashFromSource(ByteSource* src, uint64_t from, uint64_t to, QuickXorHash* h) {
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

class OneDriveConnector final : public Connector {
 public:
  OneDriveConnector(OneDriveOptions o, std::shared_ptr<http::TokenSource> tokens)
      : o_(std::move(o)),
        tokens_(std::move(tokens)),
        client_(http::ClientOptions{
            .connect_timeout = absl::Seconds(o_.timeout_s),
            .stall_timeout = absl::Seconds(o_.timeout_s),
            .unreachable_hint = "is Microsoft Graph (or the configured endpoint) reachable?",
            .gate = http::RequestGate::Shared(o_.account_key)}) {
    drive_ = o_.drive_id.empty()
                 ? absl::StrCat(o_.endpoint, "/me/drive")
                 : absl::StrCat(o_.endpoint, "/drives/", http::EncodePathSegment(o_.drive_id));
    root_ = EncodeServicePath(o_.folder, OneDriveNameRules());
    if (o_.max_requests_per_s > 0) client_.options().gate->SetRate(o_.max_requests_per_s);
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override;
  std::string Describe() const override {
    return absl::StrCat("onedrive ", o_.drive_id.empty() ? "" : o_.drive_id + " ", "/", o_.folder,
                        " at ", o_.endpoint);
  }

 private:
  // The service path (encoded names, unescaped) of a remote path.
  std::string ServicePath(std::string_view remote) const {
    if (!remote.empty() && remote.front() == '/') remote.remove_prefix(1);
    std::string enc = EncodeServicePath(remote, OneDriveNameRules());
    return enc.empty() ? root_ : absl::StrCat(root_, "/", enc);
  }
  // ".../root:/Shoebox/a/b.jpg:" + suffix.
  std::string ItemUrl(std::string_view remote, absl::string_view suffix = "") const {
    return absl::StrCat(drive_, "/root:/", http::EncodePath(ServicePath(remote)), ":", suffix);
  }
  std::string Where(std::string_view remote) const {
    return absl::StrCat(PrintablePath(remote), " at ", Describe());
  }
  // One authenticated Graph request: 401 invalidates the token and retries
  // once. Returns the response, whatever its code.
  absl::StatusOr<http::Response> Api(http::Request req) const;
  // Send; a 429/503 whose Retry-After is at most kMaxThrottleWait is waited
  // out and the request sent again (kMaxThrottleWaits times), so a short
  // throttle does not cost a whole upload; a longer one is returned.
  absl::StatusOr<http::Response> SendHonouringThrottle(const http::Request& req) const;
  // GET item; NOT_FOUND when absent. `raw` receives the JSON.
  absl::StatusOr<json> GetItem(const std::string& remote, absl::string_view what);
  RemoteObject FromItem(const std::string& remote, const json& item) const;
  absl::StatusOr<RemoteObject> PutEmpty(const PutRequest& req, const std::string& conflict,
                                        const std::string& etag);
  absl::StatusOr<json> SendFragments(const PutRequest& req, const std::string& url, uint64_t offset,
                                     QuickXorHash* qxh, ByteSource* src,
                                     const std::function<void(const Progress&)>& progress);
  void SaveState(const PutRequest& req, const std::string& url, const QuickXorHash& h) const;
  // The offset to continue a saved session at, with `qxh` restored up to it;
  // nullopt when the state does not fit the request or the session is gone.
  absl::StatusOr<std::optional<uint64_t>> Resume(const PutRequest& req, std::string* url,
                                                 QuickXorHash* qxh, ByteSource* src);
  void CancelSession(const std::string& url) const {
    http::Request d{.method = "DELETE", .url = url};
    (void)client_.Send(d);
  }

  const OneDriveOptions o_;
  const std::shared_ptr<http::TokenSource> tokens_;
  const http::Client client_;
  std::string drive_;
  std::string root_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_folders_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<http::Response> OneDriveConnector::Api(http::Request req) const {
  const size_t auth_at = req.headers.size();
  std::optional<http::Response> refused;  // the 401 that invalidated the first token
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::string> token = tokens_->AccessToken();
    if (!token.ok()) {
      // A token that cannot be renewed after a 401: the service's answer (with
      // the hint to reconnect) says more than the token source's.
      if (refused.has_value() && absl::IsUnauthenticated(token.status())) return *refused;
      return Annotate(token.status(), absl::StrCat("OneDrive access token for ", Describe()));
    }
    req.headers.resize(auth_at);
    req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", *token));
    if (attempt > 0 && req.body_source != nullptr) {
      RETURN_IF_ERROR(req.body_source->Seek(0));
    }
    ASSIGN_OR_RETURN(http::Response r, SendHonouringThrottle(req));
    if (r.status != 401 || attempt > 0) return r;
    tokens_->Invalidate(*token);
    refused = r;
  }
}

absl::StatusOr<http::Response> OneDriveConnector::SendHonouringThrottle(
    const http::Request& req) const {
  for (int waits = 0;; ++waits) {
    ASSIGN_OR_RETURN(http::Response r, client_.Send(req));
    if ((r.status != 429 && r.status != 503) || waits >= kMaxThrottleWaits) return r;
    std::optional<absl::Duration> after = http::ParseRetryAfter(r.Header("retry-after"));
    if (!after.has_value() || *after > kMaxThrottleWait) return r;  // the job waits instead
    if (req.body_source != nullptr) {
      // A fragment: its bytes were read already; the caller resumes it.
      return r;
    }
    absl::SleepFor(*after);
  }
}

absl::StatusOr<json> OneDriveConnector::GetItem(const std::string& remote, absl::string_view what) {
  http::Request req{.url = ItemUrl(remote)};
  if (absl::StripSuffix(remote, "/").empty())
    req.url = absl::StrCat(drive_, "/root:/", http::EncodePath(root_), ":");
  ASSIGN_OR_RETURN(http::Response r, Api(req));
  if (r.status == 404) return absl::NotFoundError(absl::StrCat(Where(remote), ": not found"));
  if (r.status != 200) return GraphError(r, absl::StrCat(what, " ", Where(remote)));
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object()) {
    return absl::InternalError(absl::StrCat(
        what, " ", Where(remote), ": the answer is not a JSON driveItem: ", r.body.substr(0, 200)));
  }
  return j;
}

RemoteObject OneDriveConnector::FromItem(const std::string& remote, const json& item) const {
  RemoteObject o;
  o.remote_path = remote;
  o.size = item.value("size", uint64_t{0});
  if (item.contains("fileSystemInfo") && item["fileSystemInfo"].is_object()) {
    o.mtime_ns = ParseRfc3339(item["fileSystemInfo"].value("lastModifiedDateTime", ""));
  }
  if (item.contains("file") && item["file"].contains("hashes")) {
    std::string b64 = item["file"]["hashes"].value("quickXorHash", "");
    std::string raw;
    if (!b64.empty() && absl::Base64Unescape(b64, &raw)) o.checksum = "quickxor:" + ToHex(raw);
  }
  o.ref = item.value("id", "");
  return o;
}

absl::StatusOr<RemoteObject> OneDriveConnector::Stat(const std::string& remote_path) {
  ASSIGN_OR_RETURN(json item, GetItem(remote_path, "stat"));
  if (item.contains("folder")) {
    return absl::NotFoundError(absl::StrCat(Where(remote_path), " is a folder, not a file"));
  }
  return FromItem(remote_path, item);
}

absl::StatusOr<std::vector<RemoteObject>> OneDriveConnector::List(const std::string& prefix) {
  std::vector<RemoteObject> out;
  std::string start(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"));
  // (remote folder path, URL of its first children page)
  std::vector<std::pair<std::string, std::string>> todo = {
      {start, start.empty() ? absl::StrCat(drive_, "/root:/", http::EncodePath(root_), ":/children")
                            : ItemUrl(start, "/children")}};
  while (!todo.empty()) {
    auto [folder, url] = std::move(todo.back());
    todo.pop_back();
    while (!url.empty()) {
      ASSIGN_OR_RETURN(http::Response r, Api(http::Request{.url = url}));
      if (r.status == 404) break;  // a missing folder holds no objects
      if (r.status != 200) return GraphError(r, absl::StrCat("list ", Where(folder)));
      json j = json::parse(r.body, nullptr, false);
      if (!j.is_object() || !j.contains("value") || !j["value"].is_array()) {
        return absl::InternalError(
            absl::StrCat("list ", Where(folder), ": the answer has no \"value\" array"));
      }
      for (const json& item : j["value"]) {
        std::string name = DecodeServiceName(item.value("name", ""));
        std::string path = folder.empty() ? name : absl::StrCat(folder, "/", name);
        if (item.contains("folder")) {
          todo.emplace_back(
              path, absl::StrCat(drive_, "/items/", http::EncodePathSegment(item.value("id", "")),
                                 "/children"));
        } else {
          out.push_back(FromItem(path, item));
        }
      }
      url = j.value("@odata.nextLink", "");
    }
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status OneDriveConnector::Get(const std::string& remote_path,
                                    const std::function<absl::Status(std::string_view)>& sink) {
  http::Request req{.url = ItemUrl(remote_path, "/content"), .sink = sink};
  ASSIGN_OR_RETURN(http::Response r, Api(req));
  if (r.status == 200) return absl::OkStatus();
  if (r.status != 302 && r.status != 301 && r.status != 307) {
    return GraphError(r, absl::StrCat("download ", Where(remote_path)));
  }
  // The download URL is pre-authenticated and may be on another host: no
  // bearer token goes there.
  std::string location = r.Header("location");
  if (location.empty()) {
    return absl::UnavailableError(
        absl::StrCat("download ", Where(remote_path), ": HTTP ", r.status, " without Location"));
  }
  ASSIGN_OR_RETURN(http::Response d,
                   SendHonouringThrottle(http::Request{.url = location, .sink = sink}));
  if (d.status == 200) return absl::OkStatus();
  return GraphError(d, absl::StrCat("download ", Where(remote_path), " from its download URL"));
}

absl::Status OneDriveConnector::Delete(const std::string& remote_path) {
  ASSIGN_OR_RETURN(http::Response r,
                   Api(http::Request{.method = "DELETE", .url = ItemUrl(remote_path)}));
  if (r.status == 204 || r.status == 200 || r.status == 404) return absl::OkStatus();
  return GraphError(r, absl::StrCat("delete ", Where(remote_path)));
}

absl::Status OneDriveConnector::EnsureFolder(const std::string& folder) {
  std::string f(absl::StripSuffix(absl::StripPrefix(folder, "/"), "/"));
  // The root folder's own components come first.
  std::vector<std::string> parts = absl::StrSplit(root_, '/', absl::SkipEmpty());
  for (absl::string_view p : absl::StrSplit(f, '/', absl::SkipEmpty())) {
    parts.push_back(EncodeServiceName(std::string_view(p.data(), p.size()), OneDriveNameRules()));
  }
  std::string parent;  // service path, encoded names
  for (const std::string& name : parts) {
    std::string path = parent.empty() ? name : absl::StrCat(parent, "/", name);
    bool known;
    {
      absl::MutexLock l(&mu_);
      known = known_folders_.contains(path);
    }
    if (!known) {
      json body = {{"name", name},
                   {"folder", json::object()},
                   {"@microsoft.graph.conflictBehavior", "fail"}};
      std::string text = body.dump();
      http::Request req{
          .method = "POST",
          .url = parent.empty()
                     ? absl::StrCat(drive_, "/root/children")
                     : absl::StrCat(drive_, "/root:/", http::EncodePath(parent), ":/children"),
          .headers = {{"Content-Type", "application/json"}},
          .body = text};
      ASSIGN_OR_RETURN(http::Response r, Api(req));
      if (r.status != 201 && r.status != 200 && r.status != 409) {
        return GraphError(r, absl::StrCat("create folder ", PrintablePath(DecodeServicePath(path)),
                                          " at ", Describe()));
      }
      absl::MutexLock l(&mu_);
      known_folders_.insert(path);
    }
    parent = path;
  }
  return absl::OkStatus();
}

void OneDriveConnector::SaveState(const PutRequest& req, const std::string& url,
                                  const QuickXorHash& h) const {
  if (!req.save_resume_state) return;
  json s = {{"v", 1},
            {"kind", "onedrive"},
            {"url", url},
            {"path", req.remote_path},
            {"size", req.size},
            {"sha256", ToHex(req.sha256)},
            {"hashed", h.length()},
            {"qxh", absl::Base64Escape(h.SaveState())}};
  req.save_resume_state(s.dump());
}

absl::StatusOr<std::optional<uint64_t>> OneDriveConnector::Resume(const PutRequest& req,
                                                                  std::string* url,
                                                                  QuickXorHash* qxh,
                                                                  ByteSource* src) {
  if (req.resume_state.empty()) return std::nullopt;
  json s = json::parse(req.resume_state, nullptr, false);
  if (!s.is_object() || s.value("kind", "") != "onedrive" ||
      s.value("path", "") != req.remote_path || s.value("size", uint64_t{0}) != req.size ||
      s.value("sha256", "") != ToHex(req.sha256)) {
    return std::nullopt;  // another file's state: start over
  }
  *url = s.value("url", "");
  std::string raw;
  if (url->empty() || !absl::Base64Unescape(s.value("qxh", ""), &raw) || !qxh->RestoreState(raw)) {
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(http::Response r, SendHonouringThrottle(http::Request{.url = *url}));
  if (r.status == 404) return std::nullopt;  // expired or finished: start over
  if (r.status != 200)
    return GraphError(r, absl::StrCat("resume upload of ", Where(req.remote_path)));
  std::optional<uint64_t> expected = NextExpected(json::parse(r.body, nullptr, false));
  if (!expected.has_value()) return std::nullopt;
  const uint64_t next = *expected;
  if (next < qxh->length() || next > req.size) return std::nullopt;
  // The service may have taken a fragment the saved state does not cover yet:
  // hash those bytes from the source (read locally, not sent again).
  RETURN_IF_ERROR(HashFromSource(src, qxh->length(), next, qxh));
  RETURN_IF_ERROR(src->Seek(next));
  return next;
}

// Hashes what the HTTP client reads from the source.
class HashingSource : public ByteSource {
 public:
  HashingSource(ByteSource* in, QuickXorHash* h) : in_(in), h_(h) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    ASSIGN_OR_RETURN(size_t n, in_->Read(buf, max));
    h_->Update(std::string_view(reinterpret_cast<const char*>(buf), n));
    return n;
  }
  absl::Status Seek(uint64_t) override {
    return absl::UnavailableError("an upload fragment cannot be rewound; will retry");
  }
  uint64_t size() const override { return in_->size(); }

 private:
  ByteSource* in_;
  QuickXorHash* h_;
};

absl::StatusOr<json> OneDriveConnector::SendFragments(
    const PutRequest& req, const std::string& url, uint64_t offset, QuickXorHash* qxh,
    ByteSource* src, const std::function<void(const Progress&)>& progress) {
  int throttle_waits = 0;
  while (true) {
    const uint64_t len = std::min<uint64_t>(o_.fragment_bytes, req.size - offset);
    const QuickXorHash before = *qxh;
    HashingSource hs(src, qxh);
    http::Request put{.method = "PUT",
                      .url = url,
                      .headers = {{"Content-Range", absl::StrCat("bytes ", offset, "-",
                                                                 offset + len - 1, "/", req.size)},
                                  {"Content-Type", "application/octet-stream"},
                                  {"Expect", ""}},
                      .body_source = &hs,
                      .body_length = len};
    if (progress) {
      put.on_sent = [&progress, offset](uint64_t n) { progress(Progress{offset + n}); };
    }
    absl::StatusOr<http::Response> r = client_.Send(put);
    if (r.ok() && (r->status == 429 || r->status == 503) && throttle_waits < kMaxThrottleWaits) {
      std::optional<absl::Duration> after = http::ParseRetryAfter(r->Header("retry-after"));
      if (after.has_value() && *after <= kMaxThrottleWait) {
        ++throttle_waits;
        *qxh = before;
        absl::SleepFor(*after);
        RETURN_IF_ERROR(src->Seek(offset));
        continue;
      }
    }
    if (!r.ok() || (r->status != 202 && r->status != 200 && r->status != 201)) {
      *qxh = before;
      if (!r.ok()) {
        return Annotate(r.status(),
                        absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
      }
      if (r->status == 404) {
        if (req.save_resume_state) req.save_resume_state("");
        return absl::UnavailableError(absl::StrCat(
            "upload ", Where(req.remote_path),
            ": the upload session expired or was cancelled; the next attempt starts over"));
      }
      if (r->status == 409 || r->status == 412) {
        return absl::UnavailableError(
            absl::StrCat(GraphError(*r, absl::StrCat("commit ", Where(req.remote_path))).message(),
                         "; the name changed during the upload, the retry checks it again"));
      }
      return GraphError(*r, absl::StrCat("upload ", Where(req.remote_path), " at byte ", offset));
    }
    json j = json::parse(r->body, nullptr, false);
    if (r->status != 202) {
      if (!j.is_object()) {
        return absl::UnavailableError(
            absl::StrCat("upload ", Where(req.remote_path), ": the commit answer is not JSON"));
      }
      return j;
    }
    std::optional<uint64_t> next = NextExpected(j);
    if (next.has_value() && *next != offset + len) {
      // The service kept a different amount than was sent: go on from where
      // it is, hashing only the bytes it has.
      *qxh = before;
      if (*next < offset || *next > req.size) {
        return absl::UnavailableError(absl::StrCat("upload ", Where(req.remote_path),
                                                   ": OneDrive now expects byte ", *next,
                                                   "; the next attempt resumes from there"));
      }
      RETURN_IF_ERROR(HashFromSource(src, offset, *next, qxh));
      RETURN_IF_ERROR(src->Seek(*next));
      offset = *next;
    } else {
      offset += len;
    }
    if (offset >= req.size) {
      return absl::UnavailableError(
          absl::StrCat("upload ", Where(req.remote_path),
                       ": OneDrive still expects bytes after the last fragment; will retry"));
    }
    SaveState(req, url, *qxh);
  }
}

absl::StatusOr<RemoteObject> OneDriveConnector::PutEmpty(const PutRequest& req,
                                                         const std::string& conflict,
                                                         const std::string& etag) {
  http::Request put{.method = "PUT",
                    .url = ItemUrl(req.remote_path, absl::StrCat("/content?@microsoft.graph."
                                                                 "conflictBehavior=",
                                                                 conflict)),
                    .headers = {{"Content-Type", "application/octet-stream"}},
                    .body = ""};
  if (!etag.empty()) put.headers.emplace_back("If-Match", etag);
  ASSIGN_OR_RETURN(http::Response r, Api(put));
  if (r.status == 409 || r.status == 412) {
    return absl::UnavailableError(
        absl::StrCat(GraphError(r, absl::StrCat("upload ", Where(req.remote_path))).message(),
                     "; the name changed meanwhile, the retry checks it again"));
  }
  if (r.status != 200 && r.status != 201) {
    return GraphError(r, absl::StrCat("upload ", Where(req.remote_path)));
  }
  json body = {{"fileSystemInfo", {{"lastModifiedDateTime", Rfc3339(req.mtime_ns)}}}};
  std::string text = body.dump();
  ASSIGN_OR_RETURN(http::Response p,
                   Api(http::Request{.method = "PATCH",
                                     .url = ItemUrl(req.remote_path),
                                     .headers = {{"Content-Type", "application/json"}},
                                     .body = text}));
  if (p.status != 200)
    return GraphError(p, absl::StrCat("set the mtime of ", Where(req.remote_path)));
  json j = json::parse(p.body, nullptr, false);
  if (!j.is_object()) return absl::UnavailableError("PATCH answer is not JSON");
  return FromItem(req.remote_path, j);
}

absl::StatusOr<RemoteObject> OneDriveConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  RETURN_IF_ERROR(EnsureFolder(Parent(req.remote_path)));
  QuickXorHash qxh;
  std::string url;
  ASSIGN_OR_RETURN(std::optional<uint64_t> offset, Resume(req, &url, &qxh, src));
  if (!offset.has_value()) {
    qxh = QuickXorHash();
    // What is under the name now decides the conflict behaviour (see the header).
    std::string conflict = "fail", etag;
    absl::StatusOr<json> existing = GetItem(req.remote_path, "check");
    if (existing.ok()) {
      if (existing->contains("folder")) {
        return absl::FailedPreconditionError(
            absl::StrCat(Where(req.remote_path), " is a folder; a file cannot replace it"));
      }
      conflict = "replace";
      etag = existing->value("eTag", "");
    } else if (!absl::IsNotFound(existing.status())) {
      return existing.status();
    }
    if (req.size == 0) return PutEmpty(req, conflict, etag);
    json item = {{"@microsoft.graph.conflictBehavior", conflict},
                 {"fileSize", req.size},
                 {"fileSystemInfo", {{"lastModifiedDateTime", Rfc3339(req.mtime_ns)}}}};
    std::string text = json{{"item", item}}.dump();
    http::Request create{.method = "POST",
                         .url = ItemUrl(req.remote_path, "/createUploadSession"),
                         .headers = {{"Content-Type", "application/json"}},
                         .body = text};
    if (!etag.empty()) create.headers.emplace_back("If-Match", etag);
    ASSIGN_OR_RETURN(http::Response r, Api(create));
    if (r.status == 409 || r.status == 412) {
      return absl::UnavailableError(absl::StrCat(
          GraphError(r, absl::StrCat("start upload of ", Where(req.remote_path))).message(),
          "; the name changed meanwhile, the retry checks it again"));
    }
    if (r.status != 200) {
      return GraphError(r, absl::StrCat("start upload of ", Where(req.remote_path)));
    }
    json j = json::parse(r.body, nullptr, false);
    url = j.is_object() ? j.value("uploadUrl", "") : "";
    if (url.empty()) {
      return absl::UnavailableError(
          absl::StrCat("start upload of ", Where(req.remote_path), ": no uploadUrl in the answer"));
    }
    RETURN_IF_ERROR(src->Seek(0));
    offset = 0;
    SaveState(req, url, qxh);
  }
  absl::StatusOr<json> item = SendFragments(req, url, *offset, &qxh, src, progress);
  if (!item.ok()) {
    if (!req.save_resume_state) CancelSession(url);
    return item.status();
  }
  if (req.save_resume_state) req.save_resume_state("");
  RemoteObject obj = FromItem(req.remote_path, *item);
  const std::string want = "quickxor:" + ToHex(qxh.Digest());
  if (obj.size != req.size || (!obj.checksum.empty() && obj.checksum != want)) {
    // Never leave a damaged copy that a later Stat would take for the file.
    std::string etag = item->value("eTag", "");
    http::Request del{.method = "DELETE", .url = ItemUrl(req.remote_path)};
    if (!etag.empty()) del.headers.emplace_back("If-Match", etag);
    (void)Api(del);
    return absl::UnavailableError(absl::StrCat(
        "upload ", Where(req.remote_path), ": OneDrive stored ", obj.size, " bytes with ",
        obj.checksum.empty() ? "no hash" : obj.checksum, ", expected ", req.size, " bytes with ",
        want, "; the damaged copy was deleted and the file will be sent again"));
  }
  if (obj.checksum.empty()) obj.checksum = want;
  return obj;
}

}  // namespace

absl::StatusOr<OneDriveOptions> OneDriveOptionsFromSettings(const nlohmann::json& settings) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("onedrive", settings, nlohmann::json::object());
  OneDriveOptions o;
  ASSIGN_OR_RETURN(std::string endpoint, in.String("endpoint"));
  endpoint = std::string(absl::StripSuffix(endpoint, "/"));
  if (!endpoint.empty()) o.endpoint = endpoint;
  ASSIGN_OR_RETURN(o.folder, ServiceFolderSetting("onedrive", in, /*root_allowed=*/false));
  ASSIGN_OR_RETURN(o.drive_id, in.String("drive_id"));
  ASSIGN_OR_RETURN(o.timeout_s, in.Int("timeout_s"));
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  ASSIGN_OR_RETURN(int64_t mib, in.Int("chunk_size_mib"));
  o.fragment_bytes =
      (static_cast<uint64_t>(mib) << 20) / kOneDriveFragmentUnit * kOneDriveFragmentUnit;
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeOneDriveConnector(
    const OneDriveOptions& o, std::shared_ptr<http::TokenSource> tokens) {
  if (tokens == nullptr) {
    return absl::InvalidArgumentError(
        "onedrive destination: no access token source; connect the destination with `shoebox "
        "dest connect NAME`");
  }
  if (o.fragment_bytes == 0 || o.fragment_bytes % kOneDriveFragmentUnit != 0 ||
      o.fragment_bytes >= (60u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("onedrive destination: the fragment size ", o.fragment_bytes,
                     " must be a multiple of 320 KiB (327680 bytes) below 60 MiB"));
  }
  return std::unique_ptr<Connector>(new OneDriveConnector(o, std::move(tokens)));
}

namespace {

absl::StatusOr<std::unique_ptr<Connector>> MakeOneDriveConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  ASSIGN_OR_RETURN(OneDriveOptions o, OneDriveOptionsFromSettings(settings));
  return MakeServiceConnector(
      "onedrive", settings, credentials, env,
      [&](const std::string& account_key, std::shared_ptr<http::TokenSource> tokens) {
        o.account_key = account_key;
        return MakeOneDriveConnector(o, std::move(tokens));
      });
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("onedrive", MakeOneDriveConnectorFromSettings);

}  // namespace shoebox::worker
