#include "workers/connectors/rclone.h"

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
#include "common/destination_kinds.h"
#include "common/http/error_body.h"
#include "common/http/form_body.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "common/status.h"

namespace shoebox::worker {
namespace {

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
  explicit RcloneConnector(Options o)
      : o_(std::move(o)),
        client_(http::ClientOptions{.connect_timeout = absl::Seconds(o_.timeout_s),
                                    .stall_timeout = absl::Seconds(o_.timeout_s),
                                    .user = o_.user,
                                    .password = o_.password,
                                    .ca_file = o_.ca_file,
                                    .unreachable_hint = "is `rclone rcd` running and reachable?"}) {
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
    return absl::StrCat("rclone ", o_.remote, " via ", o_.url);
  }

 private:
  // POSTs an rc command; returns its JSON answer or the mapped error.
  absl::StatusOr<json> Rc(const std::string& command, const json& params,
                          absl::string_view what) const;
  // Runs an rc command as a job (_async) and waits for it to finish.
  absl::StatusOr<json> RcJob(const std::string& command, json params, absl::string_view what) const;
  absl::Status RcError(const http::Response& r, absl::string_view what) const;
  RemoteObject FromItem(const json& item) const;

  const Options o_;
  const http::Client client_;
};

absl::Status RcloneConnector::RcError(const http::Response& r, absl::string_view what) const {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_string()) {
    // Not an rc error answer (a proxy, the rc server's own auth): the HTTP
    // status says it all.
    return http::ErrorStatus(r, absl::StrCat(what, " on ", Describe()));
  }
  // A remote's own error page can arrive inside the text: keep it short.
  const std::string err = http::SummarizeErrorBody("", j["error"].get<std::string>(), 300);
  long http_code = r.status;
  if (j.contains("status") && j["status"].is_number_integer()) http_code = j["status"].get<long>();
  std::string msg = absl::StrCat(what, " on ", Describe(), ": ", err, " (HTTP ", http_code, ")");
  std::string lower = absl::AsciiStrToLower(err);
  if (absl::StrContains(lower, "didn't find section in config file")) {
    return absl::FailedPreconditionError(absl::StrCat(
        msg, "; the remote is not configured in the rcd's rclone.conf: run `rclone config` there"));
  }
  if (absl::StrContains(lower, "401") || absl::StrContains(lower, "unauthorized") ||
      absl::StrContains(lower, "invalid_grant") || absl::StrContains(lower, "token expired")) {
    return absl::UnauthenticatedError(
        absl::StrCat(msg,
                     "; the remote refused rclone's credentials: run `rclone config reconnect` for "
                     "it on the rcd host"));
  }
  if (absl::StrContains(lower, "403") || absl::StrContains(lower, "forbidden") ||
      absl::StrContains(lower, "permission denied")) {
    return absl::PermissionDeniedError(
        absl::StrCat(msg, "; check the account's permissions on the remote"));
  }
  if (absl::StrContains(lower, "429") || absl::StrContains(lower, "too many requests") ||
      absl::StrContains(lower, "ratelimit")) {
    return absl::ResourceExhaustedError(absl::StrCat(msg, "; rate limited by the remote"));
  }
  if (absl::StrContains(lower, "quota") || absl::StrContains(lower, "insufficient storage") ||
      absl::StrContains(lower, "no space left")) {
    return absl::FailedPreconditionError(
        absl::StrCat(msg, "; the remote is full: free space or raise the quota"));
  }
  if (http_code == 404 || absl::StrContains(lower, "not found")) return absl::NotFoundError(msg);
  if (http_code >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

absl::StatusOr<json> RcloneConnector::Rc(const std::string& command, const json& params,
                                         absl::string_view what) const {
  const std::string body = params.dump();
  http::Request req;
  req.method = "POST";
  req.url = o_.url + command;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = body;
  ASSIGN_OR_RETURN(http::Response r, client_.Send(req));
  if (r.status != 200) return RcError(r, what);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::UnavailableError(
        absl::StrCat(what, " on ", Describe(), ": rclone answered with non-JSON: ",
                     http::SummarizeErrorBody(r.Header("content-type"), r.body)));
  }
  return j;
}

absl::StatusOr<json> RcloneConnector::RcJob(const std::string& command, json params,
                                            absl::string_view what) const {
  params["_async"] = true;
  ASSIGN_OR_RETURN(json started, Rc(command, params, what));
  if (!started.contains("jobid") || !started["jobid"].is_number_integer()) {
    return absl::UnavailableError(
        absl::StrCat(what, " on ", Describe(), ": rclone returned no job id"));
  }
  json poll = {{"jobid", started["jobid"]}};
  auto delay = std::chrono::milliseconds(20);
  while (true) {
    ASSIGN_OR_RETURN(json st, Rc("job/status", poll, what));
    if (st.value("finished", false)) {
      if (st.value("success", false)) return st.contains("output") ? st["output"] : json::object();
      std::string err = st.contains("error") && st["error"].is_string()
                            ? st["error"].get<std::string>()
                            : "failed";
      http::Response failed;
      failed.status = 500;
      failed.body = json{{"error", err}}.dump();
      return RcError(failed, what);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(1000));
  }
}

RemoteObject RcloneConnector::FromItem(const json& item) const {
  RemoteObject o;
  if (item.contains("Path") && item["Path"].is_string())
    o.remote_path = item["Path"].get<std::string>();
  if (item.contains("Size") && item["Size"].is_number_integer() &&
      item["Size"].get<int64_t>() >= 0) {
    o.size = item["Size"].get<uint64_t>();
  }
  o.mtime_ns = ParseModTime(item);
  if (item.contains("Hashes")) o.checksum = PickHash(item["Hashes"]);
  o.ref = absl::StrCat(o_.remote, o_.remote.empty() || absl::EndsWith(o_.remote, ":") ? "" : "/",
                       o.remote_path);
  return o;
}

absl::Status RcloneConnector::EnsureFolder(const std::string& folder) {
  std::string f(absl::StripSuffix(absl::StripPrefix(folder, "/"), "/"));
  if (f.empty()) return absl::OkStatus();
  return Rc("operations/mkdir", {{"fs", o_.remote}, {"remote", f}},
            absl::StrCat("mkdir ", PrintablePath(f)))
      .status();
}

absl::StatusOr<RemoteObject> RcloneConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  if (src->size() != req.size) {
    return absl::InvalidArgumentError(absl::StrCat("put ", PrintablePath(req.remote_path),
                                                   ": source has ", src->size(),
                                                   " bytes but the request says ", req.size));
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
  http::FormFileBody form("file", tmp_name, "application/octet-stream", src, req.size);
  http::Request up;
  up.method = "POST";
  up.url = absl::StrCat(o_.url, "operations/uploadfile?",
                        http::QueryString({{"fs", o_.remote}, {"remote", folder}}));
  up.headers = {{"Content-Type", form.content_type()}};
  up.body_source = &form;
  up.body_length = form.size();
  up.body_source_rewinds = true;
  if (progress) up.on_sent = [&](uint64_t n) { progress(Progress{form.FileBytesIn(n)}); };
  auto cleanup = [&] {
    (void)Rc("operations/deletefile", {{"fs", o_.remote}, {"remote", tmp_path}},
             "delete temporary file");
  };
  auto r = client_.Send(up);
  if (!r.ok()) {
    cleanup();
    return r.status();
  }
  if (r->status != 200) {
    cleanup();
    return RcError(*r, what);
  }
  // IgnoreTimes: rclone skips a move onto an "equal" file, and on a remote
  // that keeps neither hash nor mtime (webdav, ftp) "equal" means the same
  // size, so a changed photo of the same size would silently stay old.
  auto moved = RcJob("operations/movefile",
                     {{"srcFs", o_.remote},
                      {"srcRemote", tmp_path},
                      {"dstFs", o_.remote},
                      {"dstRemote", req.remote_path},
                      {"_config", {{"IgnoreTimes", true}}}},
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
    return absl::UnavailableError(absl::StrCat("after uploading ", PrintablePath(req.remote_path),
                                               " to ", Describe(), " rclone reports ", obj.size,
                                               " bytes instead of ", req.size, "; will retry"));
  }
  return obj;
}

absl::StatusOr<RemoteObject> RcloneConnector::Stat(const std::string& remote_path) {
  json params = {{"fs", o_.remote}, {"remote", remote_path}};
  if (o_.hashes) params["opt"] = {{"showHash", true}, {"hashTypes", {"sha256", "sha1", "md5"}}};
  ASSIGN_OR_RETURN(
      json j, Rc("operations/stat", params, absl::StrCat("stat ", PrintablePath(remote_path))));
  if (!j.contains("item") || !j["item"].is_object()) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " not found on ", Describe()));
  }
  const json& item = j["item"];
  if (item.value("IsDir", false)) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " on ", Describe(), " is a folder"));
  }
  RemoteObject o = FromItem(item);
  o.remote_path = remote_path;
  return o;
}

absl::StatusOr<std::vector<RemoteObject>> RcloneConnector::List(const std::string& prefix) {
  std::string p(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"));
  auto j = Rc("operations/list",
              {{"fs", o_.remote}, {"remote", p}, {"opt", {{"recurse", true}, {"filesOnly", true}}}},
              absl::StrCat("list ", PrintablePath(p)));
  if (!j.ok()) {
    if (j.status().code() == absl::StatusCode::kNotFound) return std::vector<RemoteObject>{};
    return j.status();
  }
  std::vector<RemoteObject> out;
  if (j->contains("list") && (*j)["list"].is_array()) {
    for (const json& item : (*j)["list"]) {
      if (!item.is_object() || item.value("IsDir", false)) continue;
      std::string name =
          item.contains("Name") && item["Name"].is_string() ? item["Name"].get<std::string>() : "";
      if (absl::StartsWith(name, kTempPrefix)) continue;
      out.push_back(FromItem(item));
    }
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status RcloneConnector::Get(const std::string& remote_path,
                                  const std::function<absl::Status(std::string_view)>& sink) {
  http::Request req;
  req.url = absl::StrCat(o_.url, http::EncodePathSegment(absl::StrCat("[", o_.remote, "]")), "/",
                         http::EncodePath(remote_path));
  req.sink = sink;
  ASSIGN_OR_RETURN(http::Response r, client_.Send(req));
  if (r.status == 200) return absl::OkStatus();
  std::string what = absl::StrCat("download ", PrintablePath(remote_path));
  json j = json::parse(r.body, nullptr, false);
  if (r.status == 404 && j.is_discarded()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " from ", Describe(),
                     ": the rc server does not serve objects; start `rclone rcd` with --rc-serve"));
  }
  return RcError(r, what);
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
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("rclone", settings, credentials);
  Options o;
  ASSIGN_OR_RETURN(o.url, in.String("url"));
  if (!(absl::StartsWith(o.url, "http://") || absl::StartsWith(o.url, "https://"))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rclone destination: settings \"url\" must be the rc server's http(s) address, e.g. "
        "http://127.0.0.1:5572/, got \"",
        o.url, "\""));
  }
  if (!absl::EndsWith(o.url, "/")) o.url.push_back('/');
  ASSIGN_OR_RETURN(o.remote, in.String("remote"));
  ASSIGN_OR_RETURN(o.ca_file, in.String("ca_file"));
  ASSIGN_OR_RETURN(o.hashes, in.Bool("hashes"));
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  o.timeout_s = static_cast<long>(timeout_s);
  ASSIGN_OR_RETURN(o.user, in.String("user", /*secret=*/true));
  ASSIGN_OR_RETURN(o.password, in.String("password", /*secret=*/true));
  return std::unique_ptr<Connector>(new RcloneConnector(std::move(o)));
}

}  // namespace shoebox::worker
