#include "workers/connectors/rclone.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/status.h"
#include "workers/connectors/webdav.h"
#include "workers/connectors/http_util.h"

namespace shoebox::worker {
namespace {

using webdav_internal::EncodePath;
using webdav_internal::EncodeSegment;
using json = nlohmann::json;

constexpr char kTempPrefix[] = ".shoebox-tmp-";

struct Options {
  std::string url;  // ends with '/'
  std::string remote;
  std::string user;
  std::string password;
  std::string ca_file;
  bool hashes = true;
  long timeout_s = 120;
};

struct HttpResult {
  long code = 0;
  std::string body;
};

struct Transfer {
  ByteSource* src = nullptr;
  uint64_t len = 0;
  uint64_t sent = 0;
  uint64_t reported = 0;
  absl::Status src_status;
  const std::function<void(const Progress&)>* progress = nullptr;
  const std::function<absl::Status(std::string_view)>* sink = nullptr;
  absl::Status sink_status;
  CURL* curl = nullptr;
  HttpResult* result = nullptr;
};

size_t PartRead(char* buf, size_t size, size_t nitems, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  if (t->sent >= t->len) return 0;
  size_t max = static_cast<size_t>(std::min<uint64_t>(size * nitems, t->len - t->sent));
  auto n = t->src->Read(reinterpret_cast<uint8_t*>(buf), max);
  if (!n.ok()) {
    t->src_status = n.status();
    return CURL_READFUNC_ABORT;
  }
  if (*n == 0) {
    t->src_status = absl::DataLossError(absl::StrCat("the file's bytes ended after ", t->sent, " of ", t->len));
    return CURL_READFUNC_ABORT;
  }
  t->sent += *n;
  if (t->progress != nullptr && *t->progress && (t->sent - t->reported >= (1u << 20) || t->sent == t->len)) {
    t->reported = t->sent;
    (*t->progress)(Progress{t->sent});
  }
  return *n;
}

int PartSeek(void* arg, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(arg);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  if (!t->src->Seek(static_cast<uint64_t>(offset)).ok()) return CURL_SEEKFUNC_FAIL;
  t->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t BodyWrite(char* ptr, size_t size, size_t nmemb, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->sink != nullptr && code == 200) {
    absl::Status s = (*t->sink)(std::string_view(ptr, n));
    if (!s.ok()) {
      t->sink_status = s;
      return 0;
    }
    return n;
  }
  if (t->result->body.size() < (16u << 20)) t->result->body.append(ptr, n);
  return n;
}

std::string PickHash(const json& hashes) {
  if (!hashes.is_object()) return "";
  for (const char* algo : {"sha256", "sha1", "md5"}) {
    auto it = hashes.find(algo);
    if (it != hashes.end() && it->is_string() && !it->get<std::string>().empty()) {
      return absl::StrCat(algo, ":", absl::AsciiStrToLower(it->get<std::string>()));
    }
  }
  return "";
}

int64_t ParseModTime(const json& item) {
  auto it = item.find("ModTime");
  if (it == item.end() || !it->is_string()) return 0;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, it->get<std::string>(), &t, &err)) return 0;
  return absl::ToUnixNanos(t);
}

class RcloneConnector final : public Connector {
 public:
  explicit RcloneConnector(Options o) : o_(std::move(o)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override;
  std::string Describe() const override { return absl::StrCat("rclone ", o_.remote, " via ", o_.url); }

 private:
  // One HTTP exchange. With `upload`, a multipart form with one file part
  // named `filename`; with `sink`, a GET whose 200 body streams there;
  // otherwise a POST of `json_body`.
  absl::StatusOr<HttpResult> Http(const std::string& url, const std::string* json_body, Transfer* upload,
                                  const std::string& filename,
                                  const std::function<absl::Status(std::string_view)>* sink) const;
  // POSTs an rc command; returns its JSON answer or the mapped error.
  absl::StatusOr<json> Rc(const std::string& command, const json& params, absl::string_view what) const;
  // Runs an rc command as a job (_async) and waits for it to finish.
  absl::StatusOr<json> RcJob(const std::string& command, json params, absl::string_view what) const;
  absl::Status RcError(long http_code, const std::string& body, absl::string_view what) const;
  RemoteObject FromItem(const json& item) const;

  const Options o_;
};

absl::StatusOr<HttpResult> RcloneConnector::Http(const std::string& url, const std::string* json_body,
                                                 Transfer* upload, const std::string& filename,
                                                 const std::function<absl::Status(std::string_view)>* sink) const {
  HttpResult result;
  CURL* c = curl_easy_init();
  if (c == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  Transfer local;
  Transfer* t = upload != nullptr ? upload : &local;
  t->curl = c;
  t->result = &result;
  t->sink = sink;
  curl_slist* hdrs = nullptr;
  curl_mime* mime = nullptr;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  SetCommonCurlOptions(c, static_cast<long>(o_.timeout_s), o_.user, o_.password, o_.ca_file);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, BodyWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  if (upload != nullptr) {
    mime = curl_mime_init(c);
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, filename.c_str());
    curl_mime_type(part, "application/octet-stream");
    curl_mime_data_cb(part, static_cast<curl_off_t>(upload->len), PartRead, PartSeek, nullptr, upload);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  } else if (json_body != nullptr) {
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body->size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.code);
  curl_easy_cleanup(c);
  if (mime != nullptr) curl_mime_free(mime);
  curl_slist_free_all(hdrs);
  if (!t->src_status.ok()) return t->src_status;
  if (!t->sink_status.ok()) return t->sink_status;
  if (rc != CURLE_OK) {
    std::string msg = absl::StrCat("rclone rc ", url, ": ", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      return absl::FailedPreconditionError(absl::StrCat(msg, "; set \"ca_file\" to trust the rc server's certificate"));
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return absl::InvalidArgumentError(absl::StrCat(msg, "; check the destination's \"url\""));
    }
    return absl::UnavailableError(absl::StrCat(msg, "; is `rclone rcd` running and reachable?"));
  }
  return result;
}

absl::Status RcloneConnector::RcError(long http_code, const std::string& body, absl::string_view what) const {
  std::string err;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) {
    err = j["error"].get<std::string>();
    if (j.contains("status") && j["status"].is_number_integer()) http_code = j["status"].get<long>();
  } else {
    err = std::string(absl::StripAsciiWhitespace(body.substr(0, 300)));
  }
  std::string msg = absl::StrCat(what, " on ", Describe(), ": ", err, " (HTTP ", http_code, ")");
  std::string lower = absl::AsciiStrToLower(err);
  if (http_code == 401 && j.is_discarded()) {
    return absl::UnauthenticatedError(absl::StrCat(
        msg, "; the rclone rc server refused the user name or password: update the destination's credentials"));
  }
  if (absl::StrContains(lower, "didn't find section in config file")) {
    return absl::FailedPreconditionError(
        absl::StrCat(msg, "; the remote is not configured in the rcd's rclone.conf: run `rclone config` there"));
  }
  if (absl::StrContains(lower, "401") || absl::StrContains(lower, "unauthorized") ||
      absl::StrContains(lower, "invalid_grant") || absl::StrContains(lower, "token expired")) {
    return absl::UnauthenticatedError(absl::StrCat(
        msg, "; the remote refused rclone's credentials: run `rclone config reconnect` for it on the rcd host"));
  }
  if (absl::StrContains(lower, "403") || absl::StrContains(lower, "forbidden") ||
      absl::StrContains(lower, "permission denied")) {
    return absl::PermissionDeniedError(absl::StrCat(msg, "; check the account's permissions on the remote"));
  }
  if (absl::StrContains(lower, "429") || absl::StrContains(lower, "too many requests") ||
      absl::StrContains(lower, "ratelimit")) {
    return absl::ResourceExhaustedError(absl::StrCat(msg, "; rate limited by the remote"));
  }
  if (absl::StrContains(lower, "quota") || absl::StrContains(lower, "insufficient storage") ||
      absl::StrContains(lower, "no space left")) {
    return absl::FailedPreconditionError(absl::StrCat(msg, "; the remote is full: free space or raise the quota"));
  }
  if (http_code == 404 || absl::StrContains(lower, "not found")) return absl::NotFoundError(msg);
  if (http_code >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

absl::StatusOr<json> RcloneConnector::Rc(const std::string& command, const json& params,
                                          absl::string_view what) const {
  std::string body = params.dump();
  ASSIGN_OR_RETURN(HttpResult r, Http(o_.url + command, &body, nullptr, "", nullptr));
  if (r.code != 200) return RcError(r.code, r.body, what);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(absl::StrCat(what, " on ", Describe(), ": rclone answered with non-JSON: ",
                                               r.body.substr(0, 200)));
  }
  return j;
}

absl::StatusOr<json> RcloneConnector::RcJob(const std::string& command, json params, absl::string_view what) const {
  params["_async"] = true;
  ASSIGN_OR_RETURN(json started, Rc(command, params, what));
  if (!started.contains("jobid") || !started["jobid"].is_number_integer()) {
    return absl::UnavailableError(absl::StrCat(what, " on ", Describe(), ": rclone returned no job id"));
  }
  json poll = {{"jobid", started["jobid"]}};
  auto delay = std::chrono::milliseconds(20);
  while (true) {
    ASSIGN_OR_RETURN(json st, Rc("job/status", poll, what));
    if (st.value("finished", false)) {
      if (st.value("success", false)) return st.contains("output") ? st["output"] : json::object();
      std::string err = st.contains("error") && st["error"].is_string() ? st["error"].get<std::string>() : "failed";
      return RcError(500, json{{"error", err}}.dump(), what);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(1000));
  }
}

RemoteObject RcloneConnector::FromItem(const json& item) const {
  RemoteObject o;
  if (item.contains("Path") && item["Path"].is_string()) o.remote_path = item["Path"].get<std::string>();
  if (item.contains("Size") && item["Size"].is_number_integer() && item["Size"].get<int64_t>() >= 0) {
    o.size = item["Size"].get<uint64_t>();
  }
  o.mtime_ns = ParseModTime(item);
  if (item.contains("Hashes")) o.checksum = PickHash(item["Hashes"]);
  o.ref = absl::StrCat(o_.remote, o_.remote.empty() || absl::EndsWith(o_.remote, ":") ? "" : "/", o.remote_path);
  return o;
}

absl::Status RcloneConnector::EnsureFolder(const std::string& folder) {
  std::string f(absl::StripSuffix(absl::StripPrefix(folder, "/"), "/"));
  if (f.empty()) return absl::OkStatus();
  return Rc("operations/mkdir", {{"fs", o_.remote}, {"remote", f}}, absl::StrCat("mkdir ", PrintablePath(f))).status();
}

absl::StatusOr<RemoteObject> RcloneConnector::Put(const PutRequest& req, ByteSource* src,
                                                  const std::function<void(const Progress&)>& progress) {
  if (src->size() != req.size) {
    return absl::InvalidArgumentError(absl::StrCat("put ", PrintablePath(req.remote_path), ": source has ",
                                                   src->size(), " bytes but the request says ", req.size));
  }
  absl::string_view path = req.remote_path;
  size_t slash = path.rfind('/');
  std::string folder(slash == absl::string_view::npos ? "" : path.substr(0, slash));
  // A fresh temporary name per attempt: an aborted upload may still be
  // winding down on the server (rclone removes its partial file
  // asynchronously) and must not touch the retry's file.
  uint8_t rnd[8];
  SecureRandom(rnd, sizeof(rnd));
  std::string tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
  std::string tmp_path = folder.empty() ? tmp_name : absl::StrCat(folder, "/", tmp_name);
  const std::string what = absl::StrCat("upload ", PrintablePath(req.remote_path));

  RETURN_IF_ERROR(src->Rewind());
  Transfer t;
  t.src = src;
  t.len = req.size;
  t.progress = &progress;
  std::string url = absl::StrCat(o_.url, "operations/uploadfile?fs=", EncodeSegment(o_.remote),
                                 "&remote=", EncodeSegment(folder));
  auto cleanup = [&] {
    (void)Rc("operations/deletefile", {{"fs", o_.remote}, {"remote", tmp_path}}, "delete temporary file");
  };
  auto r = Http(url, nullptr, &t, tmp_name, nullptr);
  if (!r.ok()) {
    cleanup();
    return r.status();
  }
  if (r->code != 200) {
    cleanup();
    return RcError(r->code, r->body, what);
  }
  auto moved = RcJob("operations/movefile",
                     {{"srcFs", o_.remote}, {"srcRemote", tmp_path}, {"dstFs", o_.remote}, {"dstRemote", req.remote_path}},
                     what);
  if (!moved.ok()) {
    cleanup();
    if (moved.status().code() == absl::StatusCode::kNotFound) {
      // Our temporary file vanished between upload and move: retry.
      return absl::UnavailableError(absl::StrCat(moved.status().message(), "; will retry"));
    }
    return moved.status();
  }
  ASSIGN_OR_RETURN(RemoteObject obj, Stat(req.remote_path));
  if (obj.size != req.size) {
    return absl::UnavailableError(absl::StrCat("after uploading ", PrintablePath(req.remote_path), " to ",
                                               Describe(), " rclone reports ", obj.size, " bytes instead of ",
                                               req.size, "; will retry"));
  }
  return obj;
}

absl::StatusOr<RemoteObject> RcloneConnector::Stat(const std::string& remote_path) {
  json params = {{"fs", o_.remote}, {"remote", remote_path}};
  if (o_.hashes) params["opt"] = {{"showHash", true}, {"hashTypes", {"sha256", "sha1", "md5"}}};
  ASSIGN_OR_RETURN(json j, Rc("operations/stat", params, absl::StrCat("stat ", PrintablePath(remote_path))));
  if (!j.contains("item") || !j["item"].is_object()) {
    return absl::NotFoundError(absl::StrCat(PrintablePath(remote_path), " not found on ", Describe()));
  }
  const json& item = j["item"];
  if (item.value("IsDir", false)) {
    return absl::NotFoundError(absl::StrCat(PrintablePath(remote_path), " on ", Describe(), " is a folder"));
  }
  RemoteObject o = FromItem(item);
  o.remote_path = remote_path;
  return o;
}

absl::StatusOr<std::vector<RemoteObject>> RcloneConnector::List(const std::string& prefix) {
  std::string p(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"));
  auto j = Rc("operations/list", {{"fs", o_.remote}, {"remote", p}, {"opt", {{"recurse", true}, {"filesOnly", true}}}},
              absl::StrCat("list ", PrintablePath(p)));
  if (!j.ok()) {
    if (j.status().code() == absl::StatusCode::kNotFound) return std::vector<RemoteObject>{};
    return j.status();
  }
  std::vector<RemoteObject> out;
  if (j->contains("list") && (*j)["list"].is_array()) {
    for (const json& item : (*j)["list"]) {
      if (!item.is_object() || item.value("IsDir", false)) continue;
      std::string name = item.contains("Name") && item["Name"].is_string() ? item["Name"].get<std::string>() : "";
      if (absl::StartsWith(name, kTempPrefix)) continue;
      out.push_back(FromItem(item));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RemoteObject& a, const RemoteObject& b) { return a.remote_path < b.remote_path; });
  return out;
}

absl::Status RcloneConnector::Get(const std::string& remote_path,
                                  const std::function<absl::Status(std::string_view)>& sink) {
  std::string url = absl::StrCat(o_.url, EncodeSegment(absl::StrCat("[", o_.remote, "]")), "/", EncodePath(remote_path));
  ASSIGN_OR_RETURN(HttpResult r, Http(url, nullptr, nullptr, "", &sink));
  if (r.code == 200) return absl::OkStatus();
  std::string what = absl::StrCat("download ", PrintablePath(remote_path));
  json j = json::parse(r.body, nullptr, false);
  if (r.code == 404 && j.is_discarded()) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " from ", Describe(), ": the rc server does not serve objects; start `rclone rcd` with --rc-serve"));
  }
  return RcError(r.code, r.body, what);
}

absl::Status RcloneConnector::Delete(const std::string& remote_path) {
  auto r = Rc("operations/deletefile", {{"fs", o_.remote}, {"remote", remote_path}},
              absl::StrCat("delete ", PrintablePath(remote_path)));
  if (r.ok() || r.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return r.status();
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("rclone", MakeRcloneConnector);

absl::StatusOr<std::unique_ptr<Connector>> MakeRcloneConnector(const nlohmann::json& settings,
                                                               const nlohmann::json& credentials) {
  auto str = [](const nlohmann::json& j, const char* key) -> std::string {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
    return j[key].get<std::string>();
  };
  Options o;
  o.url = str(settings, "url");
  if (!(absl::StartsWith(o.url, "http://") || absl::StartsWith(o.url, "https://"))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rclone destination: settings \"url\" must be the rc server's http(s) address, e.g. "
        "http://127.0.0.1:5572/, got \"",
        o.url, "\""));
  }
  if (!absl::EndsWith(o.url, "/")) o.url.push_back('/');
  o.remote = str(settings, "remote");
  if (o.remote.empty()) {
    return absl::InvalidArgumentError(
        "rclone destination: settings \"remote\" is required (an rclone fs such as \"dropbox:Photos\")");
  }
  o.ca_file = str(settings, "ca_file");
  if (settings.is_object()) {
    if (settings.contains("hashes") && settings["hashes"].is_boolean()) o.hashes = settings["hashes"].get<bool>();
    if (settings.contains("timeout_s") && settings["timeout_s"].is_number_integer()) {
      o.timeout_s = std::max<long>(1, settings["timeout_s"].get<long>());
    }
  }
  o.user = str(credentials, "user");
  o.password = str(credentials, "password");
  return std::unique_ptr<Connector>(new RcloneConnector(std::move(o)));
}

}  // namespace shoebox::worker
