#include "workers/connectors/dropbox.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/http/http_client.h"
#include "common/http/oauth.h"
#include "common/http/request_gate.h"
#include "common/status.h"
#include "workers/connectors/service_names.h"
#include "workers/connectors/service_settings.h"

namespace shoebox::worker {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxRequestBytes = 150'000'000;  // Dropbox: 150 MB per upload request

// JSON for the Dropbox-API-Arg header: non-ASCII as \uXXXX.
std::string HeaderJson(const json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The error_summary of a Dropbox error body ("path/not_found/.."), or the
// body itself when it is not JSON (400 answers are plain text).
std::string Summary(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  std::string s = Str(j, "error_summary");
  if (!s.empty()) return s;
  std::string body = r.body.substr(0, 300);
  for (char& c : body)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return body;
}

// correct_offset anywhere in an incorrect_offset error.
std::optional<uint64_t> CorrectOffset(const json& j) {
  if (j.is_object()) {
    auto it = j.find("correct_offset");
    if (it != j.end() && it->is_number_unsigned()) return it->get<uint64_t>();
    for (const auto& [k, v] : j.items())
      if (auto o = CorrectOffset(v)) return o;
  }
  return std::nullopt;
}

std::string Rfc3339(int64_t mtime_ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixNanos(mtime_ns), absl::UTCTimeZone());
}

int64_t ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", s, absl::UTCTimeZone(), &t, &err)) return 0;
  return absl::ToUnixNanos(t);
}

// Reads [.., +len) of `src` at its position, adding every byte to `hasher`.
class HashingSlice final : public ByteSource {
 public:
  HashingSlice(ByteSource* src, uint64_t len, DropboxContentHasher* hasher)
      : src_(src), len_(len), hasher_(hasher) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(max, len_ - done_));
    if (want == 0) return 0;
    ASSIGN_OR_RETURN(size_t n, src_->Read(buf, want));
    if (n == 0) return absl::DataLossError("the file's source ended before its announced size");
    hasher_->Update(buf, n);
    done_ += n;
    return n;
  }
  absl::Status Seek(uint64_t) override {
    return absl::UnimplementedError("a Dropbox upload body is not re-read");
  }
  uint64_t size() const override { return len_; }

 private:
  ByteSource* const src_;
  const uint64_t len_;
  DropboxContentHasher* const hasher_;
  uint64_t done_ = 0;
};

struct SessionState {
  std::string session_id;
  uint64_t offset = 0;
  std::vector<Digest> blocks;
};

class DropboxConnector final : public Connector {
 public:
  DropboxConnector(DropboxOptions o, std::shared_ptr<http::TokenSource> tokens)
      : o_(std::move(o)),
        client_(http::ClientOptions{
            .connect_timeout = o_.timeout,
            .stall_timeout = o_.timeout,
            .unreachable_hint = "is Dropbox (or the configured endpoint) reachable?",
            .gate = http::RequestGate::Shared(o_.account_key)}),
        tokens_(std::move(tokens)) {
    std::string f(absl::StripSuffix(absl::StripPrefix(o_.folder, "/"), "/"));
    root_ = f.empty() ? "" : "/" + EncodeServicePath(f, DropboxNameRules());
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
    return absl::StrCat("dropbox:", root_.empty() ? "/" : root_, " at ", o_.api);
  }

 private:
  std::string Full(const std::string& remote) const {
    if (remote.empty()) return root_;
    return absl::StrCat(root_, "/", EncodeServicePath(remote, DropboxNameRules()));
  }
  std::string Relative(const std::string& path_display) const {
    std::string p = path_display;
    if (!root_.empty() && p.size() > root_.size() &&
        absl::EqualsIgnoreCase(p.substr(0, root_.size()), root_))
      p.erase(0, root_.size());
    if (!p.empty() && p[0] == '/') p.erase(0, 1);
    return DecodeServicePath(p);
  }
  RemoteObject FromMetadata(const json& m) const {
    RemoteObject o;
    o.remote_path = Relative(Str(m, "path_display"));
    o.size = m.value("size", uint64_t{0});
    o.mtime_ns = ParseRfc3339(Str(m, "client_modified"));
    const std::string hash = Str(m, "content_hash");
    if (!hash.empty()) o.checksum = "dropbox:" + hash;
    o.ref = Str(m, "path_display");
    return o;
  }

  // One exchange with auth: 401 expired_access_token → invalidate and once
  // more; other 401 → UNAUTHENTICATED; 429 → RESOURCE_EXHAUSTED with the
  // hint; 2xx and 409 come back for the caller; the rest → ErrorStatus.
  absl::StatusOr<http::Response> Exchange(
      const std::function<absl::StatusOr<http::Request>()>& make, const std::string& what);
  absl::StatusOr<http::Response> Rpc(const std::string& endpoint, const json& arg,
                                     const std::string& what);
  // Uploads [offset, offset+len) of `src` to a content endpoint.
  absl::StatusOr<http::Response> Upload(const std::string& endpoint, const json& arg,
                                        ByteSource* src, DropboxContentHasher* hasher,
                                        uint64_t offset, uint64_t len, const std::string& what);
  // Brings `hasher` to exactly `offset` bytes of `src` (re-reading at most
  // the unfinished block when it is behind or was ahead).
  absl::Status SyncHasher(ByteSource* src, DropboxContentHasher* hasher, uint64_t offset);
  absl::StatusOr<RemoteObject> Finished(const http::Response& r, const DropboxContentHasher& h,
                                        const std::string& full, const PutRequest& req);
  absl::StatusOr<RemoteObject> PutSession(const PutRequest& req, ByteSource* src,
                                          const json& commit,
                                          const std::function<void(const Progress&)>& progress);
  std::optional<SessionState> LoadState(const PutRequest& req, const std::string& full);
  void SaveState(const PutRequest& req, const std::string& full, const SessionState& s);
  absl::Status Conflict(const http::Response& r, const std::string& full) const {
    return absl::AlreadyExistsError(absl::StrCat(
        "dropbox: ", full, " was created or changed by someone else during the upload (",
        Summary(r), "); it is not overwritten, the delivery will pick another name"));
  }

  const DropboxOptions o_;
  http::Client client_;
  std::shared_ptr<http::TokenSource> tokens_;
  std::string root_;
  absl::Mutex mu_;
  // The newest state of each path's session in this process (newer than
  // PutRequest::resume_state when a retry follows in the same attempt).
  std::map<std::string, std::string> states_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> folders_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<http::Response> DropboxConnector::Exchange(
    const std::function<absl::StatusOr<http::Request>()>& make, const std::string& what) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::string token, tokens_->AccessToken());
    ASSIGN_OR_RETURN(http::Request r, make());
    r.headers.push_back({"Authorization", "Bearer " + token});
    ASSIGN_OR_RETURN(http::Response resp, client_.Send(r));
    if (resp.status == 401) {
      const std::string summary = Summary(resp);
      if (attempt == 0 && absl::StrContains(summary, "expired_access_token")) {
        tokens_->Invalidate(token);
        continue;
      }
      return absl::UnauthenticatedError(
          absl::StrCat("dropbox: ", what, ": the access token was refused (", summary,
                       "); reconnect with `shoebox dest connect ",
                       o_.destination.empty() ? "NAME" : o_.destination, "`"));
    }
    if (resp.status == 429) {
      absl::Status s = http::ErrorStatus(resp, absl::StrCat("dropbox: ", what), Summary(resp),
                                         "Dropbox throttles this app; waiting as it asks");
      absl::Status out = absl::ResourceExhaustedError(s.message());
      if (auto ms = RetryAfterMs(s)) return WithRetryAfter(out, *ms);
      return out;
    }
    if (resp.ok() || resp.status == 409) return resp;
    return http::ErrorStatus(resp, absl::StrCat("dropbox: ", what), Summary(resp));
  }
}

absl::StatusOr<http::Response> DropboxConnector::Rpc(const std::string& endpoint, const json& arg,
                                                     const std::string& what) {
  const std::string body = arg.dump(-1, ' ', false, json::error_handler_t::replace);
  return Exchange(
      [&]() -> absl::StatusOr<http::Request> {
        http::Request r{.method = "POST", .url = o_.api + endpoint, .body = body};
        r.headers = {{"Content-Type", "application/json"}};
        return r;
      },
      what);
}

absl::Status DropboxConnector::SyncHasher(ByteSource* src, DropboxContentHasher* h,
                                          uint64_t offset) {
  if (h->position() == offset) return absl::OkStatus();
  const size_t keep = static_cast<size_t>(
      std::min<uint64_t>(offset / DropboxContentHasher::kBlock, h->blocks().size()));
  h->TruncateToBlocks(keep);
  uint64_t at = keep * DropboxContentHasher::kBlock;
  RETURN_IF_ERROR(src->Seek(at));
  std::string buf(1u << 20, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(buf.data());
  while (at < offset) {
    ASSIGN_OR_RETURN(size_t n, src->Read(p, std::min<uint64_t>(buf.size(), offset - at)));
    if (n == 0) return absl::DataLossError("the file's source ended before its announced size");
    h->Update(p, n);
    at += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<http::Response> DropboxConnector::Upload(const std::string& endpoint,
                                                        const json& arg, ByteSource* src,
                                                        DropboxContentHasher* h, uint64_t offset,
                                                        uint64_t len, const std::string& what) {
  const std::string header = HeaderJson(arg);
  std::unique_ptr<HashingSlice> slice;
  return Exchange(
      [&]() -> absl::StatusOr<http::Request> {
        RETURN_IF_ERROR(SyncHasher(src, h, offset));
        if (len > 0) RETURN_IF_ERROR(src->Seek(offset));
        slice = std::make_unique<HashingSlice>(src, len, h);
        http::Request r{.method = "POST", .url = o_.content + endpoint};
        r.headers = {{"Content-Type", "application/octet-stream"},
                     {"Dropbox-API-Arg", header},
                     {"Expect", ""}};
        if (len > 0) {
          r.body_source = slice.get();
          r.body_length = len;
        }
        return r;
      },
      what);
}

std::optional<SessionState> DropboxConnector::LoadState(const PutRequest& req,
                                                        const std::string& full) {
  std::string text;
  {
    absl::MutexLock l(&mu_);
    auto it = states_.find(full);
    if (it != states_.end()) text = it->second;
  }
  if (text.empty()) text = req.resume_state;
  if (text.empty()) return std::nullopt;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1 || Str(j, "path") != full ||
      j.value("size", uint64_t{0}) != req.size || Str(j, "sha256") != ToHex(req.sha256) ||
      Str(j, "session_id").empty()) {
    return std::nullopt;  // another file, or another version of it: start over
  }
  SessionState s;
  s.session_id = Str(j, "session_id");
  s.offset = j.value("offset", uint64_t{0});
  if (s.offset > req.size) return std::nullopt;
  for (const json& b : j.value("blocks", json::array())) {
    absl::StatusOr<std::string> raw = FromHex(b.is_string() ? b.get<std::string>() : "");
    Digest d;
    if (!raw.ok() || !DigestFromString(*raw, &d)) return std::nullopt;
    s.blocks.push_back(d);
  }
  return s;
}

void DropboxConnector::SaveState(const PutRequest& req, const std::string& full,
                                 const SessionState& s) {
  json blocks = json::array();
  for (const Digest& d : s.blocks) blocks.push_back(ToHex(ByteSpan(d.data(), d.size())));
  const std::string text =
      json{{"v", 1},           {"session_id", s.session_id},  {"offset", s.offset}, {"path", full},
           {"size", req.size}, {"sha256", ToHex(req.sha256)}, {"blocks", blocks}}
          .dump(-1, ' ', true, json::error_handler_t::replace);
  {
    absl::MutexLock l(&mu_);
    states_[full] = text;
  }
  if (req.save_resume_state) req.save_resume_state(text);
}

absl::StatusOr<RemoteObject> DropboxConnector::Finished(const http::Response& r,
                                                        const DropboxContentHasher& h,
                                                        const std::string& full,
                                                        const PutRequest& req) {
  json m = json::parse(r.body, nullptr, false);
  if (!m.is_object()) {
    return absl::UnavailableError(
        absl::StrCat("dropbox: upload of ", full, ": the answer is not file metadata"));
  }
  const std::string mine = h.Hex();
  const std::string theirs = Str(m, "content_hash");
  if (theirs != mine || m.value("size", uint64_t{0}) != req.size) {
    (void)Delete(req.remote_path);  // never leave a wrong copy under the name
    return absl::UnavailableError(absl::StrCat(
        "dropbox: upload of ", full, ": Dropbox reports content_hash ", theirs, " and ",
        m.value("size", uint64_t{0}), " bytes, the file has ", mine, " and ", req.size,
        " bytes; the damaged copy was deleted and the upload will be retried"));
  }
  {
    absl::MutexLock l(&mu_);
    states_.erase(full);
  }
  RemoteObject o = FromMetadata(m);
  o.remote_path = req.remote_path;
  return o;
}

absl::StatusOr<RemoteObject> DropboxConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  const std::string full = Full(req.remote_path);
  // The revision there now, if any: replacing it is what the Connector
  // contract asks; anything else that appears meanwhile is a conflict.
  json mode = "add";
  ASSIGN_OR_RETURN(http::Response st, Rpc("/2/files/get_metadata", {{"path", full}}, "stat"));
  if (st.ok()) {
    json m = json::parse(st.body, nullptr, false);
    if (Str(m, ".tag") == "folder") {
      return absl::AlreadyExistsError(
          absl::StrCat("dropbox: ", full, " is a folder; a file cannot take its name"));
    }
    mode = {{".tag", "update"}, {"update", Str(m, "rev")}};
  } else if (!absl::StrContains(Summary(st), "not_found")) {
    return absl::FailedPreconditionError(absl::StrCat("dropbox: stat ", full, ": ", Summary(st)));
  }
  json commit = {{"path", full},
                 {"mode", mode},
                 {"autorename", false},
                 {"mute", true},
                 {"strict_conflict", true}};
  if (req.mtime_ns > 0) commit["client_modified"] = Rfc3339(req.mtime_ns);

  if (req.size > o_.chunk_size) return PutSession(req, src, commit, progress);
  DropboxContentHasher h;
  ASSIGN_OR_RETURN(http::Response r,
                   Upload("/2/files/upload", commit, src, &h, 0, req.size, "upload " + full));
  if (r.status == 409) return Conflict(r, full);
  if (progress) progress(Progress{req.size});
  return Finished(r, h, full, req);
}

absl::StatusOr<RemoteObject> DropboxConnector::PutSession(
    const PutRequest& req, ByteSource* src, const json& commit,
    const std::function<void(const Progress&)>& progress) {
  const std::string full = Full(req.remote_path);
  DropboxContentHasher h;
  SessionState s;
  // Resuming: first a 0-byte append at the saved offset, so a stale state
  // costs one empty request (answered with the correct_offset), never a
  // chunk the server already has.
  bool probe = false;
  if (std::optional<SessionState> saved = LoadState(req, full)) {
    s = std::move(*saved);
    h.SetBlocks(s.blocks);
    probe = true;
  }
  int restarts = 0;
  uint64_t steps = 0;
  const uint64_t max_steps = 2 * (req.size / o_.chunk_size) + 16;
  while (true) {
    if (++steps > max_steps) {
      return absl::UnavailableError(absl::StrCat("dropbox: upload session of ", full,
                                                 " makes no progress (offset ", s.offset, ")"));
    }
    if (s.session_id.empty()) {
      s = SessionState{};
      const uint64_t len = std::min(o_.chunk_size, req.size);
      ASSIGN_OR_RETURN(http::Response r, Upload("/2/files/upload_session/start", {{"close", false}},
                                                src, &h, 0, len, "start upload of " + full));
      if (r.status == 409) return Conflict(r, full);
      json j = json::parse(r.body, nullptr, false);
      s.session_id = Str(j, "session_id");
      if (s.session_id.empty()) {
        return absl::UnavailableError(
            absl::StrCat("dropbox: upload_session/start for ", full, " returned no session_id"));
      }
      s.offset = len;
    } else {
      const uint64_t remaining = req.size - s.offset;
      const bool last = !probe && remaining <= o_.chunk_size;
      const uint64_t len = probe ? 0 : last ? remaining : o_.chunk_size;
      probe = false;
      json cursor = {{"session_id", s.session_id}, {"offset", s.offset}};
      http::Response r;
      if (last) {
        ASSIGN_OR_RETURN(
            r, Upload("/2/files/upload_session/finish", {{"cursor", cursor}, {"commit", commit}},
                      src, &h, s.offset, len, "finish upload of " + full));
        if (r.ok()) {
          if (progress) progress(Progress{req.size});
          return Finished(r, h, full, req);
        }
      } else {
        ASSIGN_OR_RETURN(
            r, Upload("/2/files/upload_session/append_v2", {{"cursor", cursor}, {"close", false}},
                      src, &h, s.offset, len, "append to upload of " + full));
      }
      if (r.status == 409) {
        const std::string summary = Summary(r);
        json err = json::parse(r.body, nullptr, false);
        if (absl::StrContains(summary, "incorrect_offset")) {
          std::optional<uint64_t> correct = CorrectOffset(err);
          if (!correct || *correct > req.size) {
            return absl::UnavailableError(absl::StrCat("dropbox: ", full,
                                                       ": incorrect_offset without a usable "
                                                       "correct_offset (",
                                                       summary, ")"));
          }
          s.offset = *correct;  // the server's offset wins
        } else if (absl::StrContains(summary, "path/conflict") ||
                   absl::StrContains(summary, "conflict")) {
          return Conflict(r, full);
        } else if (++restarts <= 1) {
          // not_found, closed, too_large...: the session is gone; start over.
          s.session_id.clear();
          s.offset = 0;
          h.TruncateToBlocks(0);
          continue;
        } else {
          return absl::UnavailableError(absl::StrCat("dropbox: upload of ", full, ": ", summary));
        }
      } else {
        s.offset += len;
      }
    }
    s.blocks.assign(
        h.blocks().begin(),
        h.blocks().begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(
                                 s.offset / DropboxContentHasher::kBlock, h.blocks().size())));
    SaveState(req, full, s);
    if (progress) progress(Progress{s.offset});
  }
}

absl::StatusOr<RemoteObject> DropboxConnector::Stat(const std::string& remote_path) {
  const std::string full = Full(remote_path);
  ASSIGN_OR_RETURN(http::Response r, Rpc("/2/files/get_metadata", {{"path", full}}, "stat"));
  if (r.status == 409) {
    if (absl::StrContains(Summary(r), "not_found"))
      return absl::NotFoundError(absl::StrCat("dropbox: ", full, " does not exist"));
    return absl::FailedPreconditionError(absl::StrCat("dropbox: stat ", full, ": ", Summary(r)));
  }
  json m = json::parse(r.body, nullptr, false);
  if (Str(m, ".tag") != "file")
    return absl::NotFoundError(absl::StrCat("dropbox: ", full, " is a folder, not a file"));
  RemoteObject o = FromMetadata(m);
  o.remote_path = remote_path;
  return o;
}

absl::StatusOr<std::vector<RemoteObject>> DropboxConnector::List(const std::string& prefix) {
  const std::string full = Full(prefix);
  std::vector<RemoteObject> out;
  ASSIGN_OR_RETURN(
      http::Response r,
      Rpc("/2/files/list_folder", {{"path", full}, {"recursive", true}, {"include_deleted", false}},
          "list " + full));
  while (true) {
    if (r.status == 409) {
      if (absl::StrContains(Summary(r), "not_found")) return out;
      return absl::FailedPreconditionError(absl::StrCat("dropbox: list ", full, ": ", Summary(r)));
    }
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("entries"))
      return absl::UnavailableError(absl::StrCat("dropbox: list ", full, ": not a listing"));
    for (const json& e : j["entries"])
      if (Str(e, ".tag") == "file") out.push_back(FromMetadata(e));
    if (!j.value("has_more", false)) break;
    ASSIGN_OR_RETURN(
        r, Rpc("/2/files/list_folder/continue", {{"cursor", Str(j, "cursor")}}, "list " + full));
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status DropboxConnector::Get(const std::string& remote_path,
                                   const std::function<absl::Status(std::string_view)>& sink) {
  const std::string full = Full(remote_path);
  const std::string header = HeaderJson({{"path", full}});
  ASSIGN_OR_RETURN(http::Response r,
                   Exchange(
                       [&]() -> absl::StatusOr<http::Request> {
                         http::Request q{.method = "POST", .url = o_.content + "/2/files/download"};
                         q.headers = {{"Dropbox-API-Arg", header}, {"Content-Type", ""}};
                         q.sink = [&](std::string_view d) { return sink(d); };
                         return q;
                       },
                       "download " + full));
  if (r.status == 409) {
    if (absl::StrContains(Summary(r), "not_found"))
      return absl::NotFoundError(absl::StrCat("dropbox: ", full, " does not exist"));
    return absl::FailedPreconditionError(
        absl::StrCat("dropbox: download ", full, ": ", Summary(r)));
  }
  return absl::OkStatus();
}

absl::Status DropboxConnector::Delete(const std::string& remote_path) {
  const std::string full = Full(remote_path);
  ASSIGN_OR_RETURN(http::Response r, Rpc("/2/files/delete_v2", {{"path", full}}, "delete " + full));
  if (r.status == 409 && !absl::StrContains(Summary(r), "not_found"))
    return absl::FailedPreconditionError(absl::StrCat("dropbox: delete ", full, ": ", Summary(r)));
  return absl::OkStatus();
}

absl::Status DropboxConnector::EnsureFolder(const std::string& folder) {
  const std::string full = Full(folder);
  if (full.empty()) return absl::OkStatus();
  {
    absl::MutexLock l(&mu_);
    if (folders_.count(full)) return absl::OkStatus();  // created once per connector
  }
  ASSIGN_OR_RETURN(http::Response r,
                   Rpc("/2/files/create_folder_v2", {{"path", full}, {"autorename", false}},
                       "create folder " + full));
  if (r.status == 409) {
    const std::string summary = Summary(r);
    if (!absl::StrContains(summary, "conflict/folder"))
      return absl::FailedPreconditionError(absl::StrCat(
          "dropbox: create folder ", full, ": ", summary,
          absl::StrContains(summary, "conflict/file") ? " (a file has that name)" : ""));
  }
  absl::MutexLock l(&mu_);
  folders_.insert(full);
  return absl::OkStatus();
}

}  // namespace

void DropboxContentHasher::Update(const uint8_t* data, size_t n) {
  pos_ += n;
  while (n > 0) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, kBlock - partial_.size()));
    partial_.append(reinterpret_cast<const char*>(data), take);
    data += take;
    n -= take;
    if (partial_.size() == kBlock) {
      blocks_.push_back(Sha256::Of(std::string_view(partial_)));
      partial_.clear();
    }
  }
}

void DropboxContentHasher::TruncateToBlocks(size_t blocks) {
  if (blocks < blocks_.size()) blocks_.resize(blocks);
  partial_.clear();
  pos_ = blocks_.size() * kBlock;
}

void DropboxContentHasher::SetBlocks(std::vector<Digest> blocks) {
  blocks_ = std::move(blocks);
  partial_.clear();
  pos_ = blocks_.size() * kBlock;
}

std::string DropboxContentHasher::Hex() const {
  Sha256 outer;
  for (const Digest& d : blocks_) outer.Update(ByteSpan(d.data(), d.size()));
  if (!partial_.empty()) {
    Digest last = Sha256::Of(std::string_view(partial_));
    outer.Update(ByteSpan(last.data(), last.size()));
  }
  Digest d = outer.Final();
  return ToHex(ByteSpan(d.data(), d.size()));
}

std::string DropboxContentHash(std::string_view data) {
  DropboxContentHasher h;
  h.Update(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return h.Hex();
}

absl::StatusOr<std::unique_ptr<Connector>> MakeDropboxConnector(
    DropboxOptions o, std::shared_ptr<http::TokenSource> tokens) {
  if (o.chunk_size == 0 || o.chunk_size % DropboxContentHasher::kBlock != 0 ||
      o.chunk_size > kMaxRequestBytes) {
    return absl::InvalidArgumentError(
        "dropbox: the upload request size must be a multiple of 4 MiB up to 148 MiB");
  }
  if (tokens == nullptr) return absl::InvalidArgumentError("dropbox: no token source");
  return std::unique_ptr<Connector>(new DropboxConnector(std::move(o), std::move(tokens)));
}

absl::StatusOr<std::unique_ptr<Connector>> MakeDropboxConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  // Keys, types and defaults: common/destination_kinds.cc.
  const SettingsReader in("dropbox", settings, credentials);
  DropboxOptions o;
  o.destination = env.destination_name;
  ASSIGN_OR_RETURN(std::string endpoint, in.String("endpoint"));
  endpoint = std::string(absl::StripSuffix(endpoint, "/"));
  if (!endpoint.empty()) o.api = o.content = endpoint;
  ASSIGN_OR_RETURN(o.folder, in.String("folder"));
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  ASSIGN_OR_RETURN(int64_t chunk_mib, in.Int("chunk_size_mib"));
  if (chunk_mib % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dropbox destination: setting 'chunk_size_mib' is ", chunk_mib,
        "; Dropbox takes upload requests in multiples of 4 MiB: use 4, 8, ... 148 with "
        "`shoebox dest set`"));
  }
  o.chunk_size = static_cast<uint64_t>(chunk_mib) << 20;
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  o.timeout = absl::Seconds(timeout_s);
  // A retried Put continues its upload session from the state kept in
  // memory.
  return MakeServiceConnector(
      "dropbox", settings, credentials, env,
      [&](const std::string& account_key, std::shared_ptr<http::TokenSource> tokens) {
        o.account_key = account_key;
        return MakeDropboxConnector(std::move(o), std::move(tokens));
      });
}

SHOEBOX_REGISTER_CONNECTOR("dropbox", MakeDropboxConnectorFromSettings);

}  // namespace shoebox::worker
