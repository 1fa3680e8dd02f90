#include "workers/connectors/webdav.h"

#include <expat.h>

#include <algorithm>
#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/destination_kinds.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "common/http/xml_text.h"
#include "common/status.h"

namespace shoebox::worker {
namespace webdav_internal {

std::string PickChecksum(absl::string_view oc_checksums) {
  std::string best;
  int best_rank = 0;
  for (absl::string_view item :
       absl::StrSplit(oc_checksums, absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty())) {
    size_t colon = item.find(':');
    if (colon == absl::string_view::npos || colon + 1 == item.size()) continue;
    std::string algo = absl::AsciiStrToLower(item.substr(0, colon));
    int rank = algo == "sha256" ? 3 : algo == "sha1" ? 2 : algo == "md5" ? 1 : 0;
    if (rank > best_rank) {
      best_rank = rank;
      best = absl::StrCat(algo, ":", absl::AsciiStrToLower(item.substr(colon + 1)));
    }
  }
  return best;
}

namespace {

struct ParseState {
  std::vector<DavEntry> entries;
  bool in_response = false;
  std::string text;
  DavEntry cur;
};

constexpr absl::string_view kOc = "http://owncloud.org/ns ";

void XMLCALL OnStart(void* ud, const XML_Char* name, const XML_Char** /*atts*/) {
  auto* st = static_cast<ParseState*>(ud);
  absl::string_view n(name);
  st->text.clear();
  if (n == "DAV: response") {
    st->in_response = true;
    st->cur = DavEntry{};
  } else if (n == "DAV: collection" && st->in_response) {
    st->cur.collection = true;
  }
}

void XMLCALL OnEnd(void* ud, const XML_Char* name) {
  auto* st = static_cast<ParseState*>(ud);
  absl::string_view n(name);
  if (!st->in_response) return;
  std::string value(absl::StripAsciiWhitespace(st->text));
  if (n == "DAV: response") {
    st->entries.push_back(std::move(st->cur));
    st->in_response = false;
  } else if (n == "DAV: href") {
    if (st->cur.href.empty()) st->cur.href = value;
  } else if (n == "DAV: getcontentlength") {
    uint64_t v = 0;
    if (!value.empty() && absl::SimpleAtoi(value, &v)) {
      st->cur.length = v;
      st->cur.has_length = true;
    }
  } else if (n == "DAV: getlastmodified") {
    if (!value.empty()) {
      if (std::optional<absl::Time> t = http::ParseHttpDate(value))
        st->cur.mtime_ns = absl::ToUnixNanos(*t);
    }
  } else if (n == "DAV: getetag") {
    if (!value.empty()) st->cur.etag = value;
  } else if (absl::StartsWith(n, kOc) && n.substr(kOc.size()) == "checksum") {
    std::string c = PickChecksum(value);
    if (!c.empty()) st->cur.checksum = c;
  } else if (n == absl::StrCat(kShoeboxNs, " sha256")) {
    st->cur.recorded_sha256 = absl::AsciiStrToLower(value);
  } else if (n == absl::StrCat(kShoeboxNs, " etag")) {
    st->cur.recorded_etag = value;
  }
  st->text.clear();
}

void XMLCALL OnText(void* ud, const XML_Char* s, int len) {
  static_cast<ParseState*>(ud)->text.append(s, static_cast<size_t>(len));
}

}  // namespace

absl::StatusOr<std::vector<DavEntry>> ParseMultistatus(absl::string_view xml) {
  ParseState st;
  XML_Parser p = XML_ParserCreateNS(nullptr, ' ');
  if (p == nullptr) return absl::ResourceExhaustedError("cannot create an XML parser");
  XML_SetUserData(p, &st);
  XML_SetElementHandler(p, OnStart, OnEnd);
  XML_SetCharacterDataHandler(p, OnText);
  bool ok = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(p));
  XML_ParserFree(p);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("WebDAV server sent a PROPFIND answer that is not valid XML (", err,
                     "); is the URL a WebDAV endpoint? First bytes: ", xml.substr(0, 200)));
  }
  return std::move(st.entries);
}

std::string EffectiveChecksum(const DavEntry& e) {
  if (e.recorded_sha256.size() == 64 && !e.etag.empty() && e.recorded_etag == e.etag) {
    return absl::StrCat("sha256:", e.recorded_sha256);
  }
  return e.checksum;
}

}  // namespace webdav_internal

namespace {

using http::EncodePath;
using http::PercentDecode;
using http::XmlEscape;
using webdav_internal::DavEntry;

constexpr absl::string_view kTempPrefix = ".shoebox-tmp-";

struct Options {
  std::string url;           // as configured, without trailing '/'
  std::string base_decoded;  // its path, decoded: "" or "/a/b"
  std::string user;
  std::string password;
  bool nextcloud = false;
  uint64_t chunk_size = 16ull << 20;
  std::string uploads_url;  // no trailing '/'
  std::string ca_file;
  long timeout_s = 60;
};

class WebDavConnector final : public Connector {
 public:
  explicit WebDavConnector(Options o)
      : o_(std::move(o)),
        client_(http::ClientOptions{
            .connect_timeout = absl::Seconds(o_.timeout_s),
            .stall_timeout = absl::Seconds(o_.timeout_s),
            .user = o_.user,
            .password = o_.password,
            .ca_file = o_.ca_file,
            .unreachable_hint = "is the WebDAV server running and reachable?"}) {}

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  // Records the SHA-256 again with the file's current ETag (a verify read
  // the file and found this content: Apache's ETag of a file younger than a
  // second is weak, W/"...", and becomes strong later, so the ETag recorded
  // at upload no longer matches although the file is the same).
  absl::StatusOr<RemoteObject> RecordChecksum(const std::string& remote_path,
                                              const std::string& sha256) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  absl::Status EnsureFolder(const std::string& folder) override;
  std::string Describe() const override {
    return absl::StrCat(o_.nextcloud ? "nextcloud " : "webdav ", o_.url,
                        o_.user.empty() ? "" : absl::StrCat(" as ", o_.user));
  }

 private:
  std::string UrlFor(absl::string_view path) const {
    if (path.empty()) return o_.url + "/";
    return absl::StrCat(o_.url, "/", EncodePath(path));
  }
  absl::StatusOr<http::Response> Perform(const http::Request& req) const {
    return client_.Send(req);
  }
  // PROPFIND Depth 0 of a file; NOT_FOUND when absent or a folder.
  absl::StatusOr<DavEntry> StatEntry(const std::string& remote_path);
  // Records the file's SHA-256 and current ETag as dead properties (see the
  // header); updates `entry` when the server took them. Best effort.
  void RecordChecksumProps(const std::string& remote_path, const std::string& sha256_hex,
                           DavEntry* entry);
  // Maps a non-success HTTP status to a status naming `what` (e.g.
  // "PUT Photos/a.jpg").
  // A 403 goes through OnePathRefused.
  absl::Status HttpError(const http::Response& r, absl::string_view what) const {
    absl::Status s = http::ErrorStatus(r, absl::StrCat(what, " at ", Describe()));
    return r.status == 403 ? OnePathRefused(std::move(s)) : s;
  }
  // A 403 on one path (a folder the server's rules deny) is not a refusal
  // of the credentials (401, or a 403 on the destination folder itself, as
  // for a suspended account): ask for the destination folder (PROPFIND
  // Depth 0). It answers → PERMISSION_DENIED (that file fails with its
  // reason, the destination goes on); refused too → UNAUTHENTICATED (the
  // coordinator holds the destination); no answer → UNAVAILABLE.
  absl::Status OnePathRefused(absl::Status refused) const;
  absl::StatusOr<std::vector<DavEntry>> Propfind(const std::string& path, bool collection,
                                                 int depth, bool* not_found);
  // Relative path (decoded) of an href, or nullopt when it is outside the root.
  std::optional<std::string> RelativePath(const std::string& href) const;
  absl::Status PutSimple(const std::string& tmp_url, const PutRequest& req, ByteSource* src,
                         const std::function<void(const Progress&)>& progress);
  absl::Status PutNextcloudChunked(const std::string& final_url, const PutRequest& req,
                                   ByteSource* src,
                                   const std::function<void(const Progress&)>& progress);
  absl::Status Move(const std::string& from_url, const std::string& to_url, absl::string_view what,
                    const http::Headers& extra_headers = {});
  void ForgetFolders() {
    absl::MutexLock l(&mu_);
    known_folders_.clear();
  }

  const Options o_;
  const http::Client client_;
  std::atomic<bool> dead_props_refused_{false};
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> known_folders_ ABSL_GUARDED_BY(mu_);
};

absl::Status WebDavConnector::OnePathRefused(absl::Status refused) const {
  http::Request probe;
  probe.method = "PROPFIND";
  probe.url = UrlFor("");
  probe.headers = {{"Depth", "0"}};
  absl::StatusOr<http::Response> r = client_.Send(probe);
  if (!r.ok()) {
    return absl::UnavailableError(
        absl::StrCat(refused.message(),
                     "; could not tell whether the credentials or only this path are refused: ",
                     r.status().message(), "; will retry"));
  }
  if (r->status == 401 || r->status == 403) {
    return absl::UnauthenticatedError(absl::StrCat(refused.message(),
                                                   "; the destination folder is refused too (HTTP ",
                                                   r->status, "): the account itself is refused"));
  }
  if (r->status == 207) {
    return absl::PermissionDeniedError(absl::StrCat(
        refused.message(),
        "; the destination folder answers these credentials, so only this path is "
        "refused: check the server's rules for it (this file fails, the others go on)"));
  }
  return refused;
}

std::optional<std::string> WebDavConnector::RelativePath(const std::string& href) const {
  absl::string_view h = href;
  size_t scheme = h.find("://");
  if (scheme != absl::string_view::npos) {
    size_t slash = h.find('/', scheme + 3);
    h = slash == absl::string_view::npos ? absl::string_view("/") : h.substr(slash);
  }
  std::string path = PercentDecode(h);
  absl::string_view p = path;
  if (!absl::ConsumePrefix(&p, o_.base_decoded)) return std::nullopt;
  if (!p.empty() && p.front() != '/') return std::nullopt;
  p = absl::StripPrefix(p, "/");
  p = absl::StripSuffix(p, "/");
  return std::string(p);
}

absl::StatusOr<std::vector<DavEntry>> WebDavConnector::Propfind(const std::string& path,
                                                                bool collection, int depth,
                                                                bool* not_found) {
  http::Request req;
  req.method = "PROPFIND";
  req.url = UrlFor(path);
  if (collection && req.url.back() != '/') req.url.push_back('/');
  req.headers = {{"Depth", absl::StrCat(depth)},
                 {"Content-Type", "application/xml; charset=utf-8"}};
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:sb=\"" +
      std::string(webdav_internal::kShoeboxNs) +
      "\"><d:prop>"
      "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><sb:sha256/><sb:etag/"
      ">" +
      std::string(o_.nextcloud ? "<oc:checksums/>" : "") + "</d:prop></d:propfind>";
  req.body = body;
  ASSIGN_OR_RETURN(http::Response r, Perform(req));
  *not_found = false;
  if (r.status == 404) {
    *not_found = true;
    return std::vector<DavEntry>{};
  }
  if (r.status != 207) {
    if (r.status >= 200 && r.status < 300) {
      return absl::FailedPreconditionError(
          absl::StrCat("PROPFIND ", PrintablePath(path), " at ", Describe(), ": HTTP ", r.status,
                       " instead of 207 Multi-Status; is the URL a WebDAV "
                       "collection?"));
    }
    return HttpError(r, absl::StrCat("PROPFIND ", PrintablePath(path)));
  }
  return webdav_internal::ParseMultistatus(r.body);
}

absl::Status WebDavConnector::EnsureFolder(const std::string& folder) {
  absl::string_view f = absl::StripSuffix(absl::StripPrefix(folder, "/"), "/");
  if (f.empty()) return absl::OkStatus();
  std::vector<absl::string_view> parts = absl::StrSplit(f, '/');
  std::string prefix;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) prefix.push_back('/');
    prefix.append(parts[i].data(), parts[i].size());
    {
      absl::MutexLock l(&mu_);
      if (known_folders_.contains(prefix)) continue;
    }
    http::Request req;
    req.method = "MKCOL";
    req.url = UrlFor(prefix) + "/";
    ASSIGN_OR_RETURN(http::Response r, Perform(req));
    // 201 created; 405 (Apache, Nextcloud) or 301 means it exists already.
    if (r.status == 201 || r.status == 405 || r.status == 301) {
      absl::MutexLock l(&mu_);
      known_folders_.insert(prefix);
      continue;
    }
    if (r.status == 409 && i == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("the destination folder ", o_.url,
                       " does not exist on the WebDAV server (MKCOL ", PrintablePath(prefix),
                       " gave HTTP 409); create it or correct the destination's \"url\""));
    }
    if (r.status == 409) {
      // A parent we believed existed is gone (deleted behind our back).
      ForgetFolders();
      return absl::UnavailableError(absl::StrCat("MKCOL ", PrintablePath(prefix), " at ",
                                                 Describe(),
                                                 ": HTTP 409, a parent folder disappeared; retry"));
    }
    return HttpError(r, absl::StrCat("MKCOL ", PrintablePath(prefix)));
  }
  return absl::OkStatus();
}

absl::Status WebDavConnector::Move(const std::string& from_url, const std::string& to_url,
                                   absl::string_view what, const http::Headers& extra_headers) {
  http::Request req;
  req.method = "MOVE";
  req.url = from_url;
  req.headers = {{"Destination", to_url}, {"Overwrite", "T"}};
  for (const auto& h : extra_headers) req.headers.push_back(h);
  ASSIGN_OR_RETURN(http::Response r, Perform(req));
  if (r.status == 201 || r.status == 204 || r.status == 200) return absl::OkStatus();
  return HttpError(r, absl::StrCat("MOVE ", what));
}

absl::Status WebDavConnector::PutSimple(const std::string& tmp_url, const PutRequest& req,
                                        ByteSource* src,
                                        const std::function<void(const Progress&)>& progress) {
  http::Request hr;
  hr.method = "PUT";
  hr.url = tmp_url;
  hr.headers = {{"Content-Type", "application/octet-stream"}};
  if (o_.nextcloud && req.mtime_ns > 0)
    hr.headers.emplace_back("X-OC-Mtime", absl::StrCat(req.mtime_ns / 1000000000));
  hr.body_source = src;
  hr.body_length = src->size();
  if (progress) hr.on_sent = [&](uint64_t n) { progress(Progress{n}); };
  RETURN_IF_ERROR(src->Rewind());
  ASSIGN_OR_RETURN(http::Response r, Perform(hr));
  if (r.status == 201 || r.status == 204 || r.status == 200) return absl::OkStatus();
  if (r.status == 409 || r.status == 404) {
    ForgetFolders();  // the folder vanished; the caller's retry re-creates it
    return absl::UnavailableError(absl::StrCat("PUT ", PrintablePath(req.remote_path), " at ",
                                               Describe(), ": HTTP ", r.status,
                                               ", the target folder is missing; retry"));
  }
  return HttpError(r, absl::StrCat("PUT ", PrintablePath(req.remote_path)));
}

absl::Status WebDavConnector::PutNextcloudChunked(
    const std::string& final_url, const PutRequest& req, ByteSource* src,
    const std::function<void(const Progress&)>& progress) {
  // Nextcloud chunked upload v2: MKCOL uploads/<user>/<id>, PUT numbered
  // chunks, MOVE <id>/.file to the destination (assembled atomically).
  uint8_t rnd[12];
  SecureRandom(rnd, sizeof(rnd));
  std::string dir = absl::StrCat(o_.uploads_url, "/shoebox-", ToHex(ByteSpan(rnd, sizeof(rnd))));
  const std::pair<std::string, std::string> dest = {"Destination", final_url};
  const std::pair<std::string, std::string> total = {"OC-Total-Length", absl::StrCat(req.size)};
  {
    http::Request mk;
    mk.method = "MKCOL";
    mk.url = dir + "/";
    mk.headers = {dest};
    ASSIGN_OR_RETURN(http::Response r, Perform(mk));
    if (r.status != 201)
      return HttpError(r, absl::StrCat("MKCOL upload folder for ", PrintablePath(req.remote_path)));
  }
  auto cleanup = [&] {
    http::Request del;
    del.method = "DELETE";
    del.url = dir + "/";
    (void)Perform(del);
  };
  RETURN_IF_ERROR(src->Rewind());
  uint64_t offset = 0;
  int index = 1;
  while (offset < req.size) {
    uint64_t len = std::min<uint64_t>(o_.chunk_size, req.size - offset);
    http::Request put;
    put.method = "PUT";
    put.url = absl::StrCat(dir, "/", index);
    put.headers = {dest, total, {"Content-Type", "application/octet-stream"}};
    put.body_source = src;
    put.body_length = len;
    if (progress) put.on_sent = [&, base = offset](uint64_t n) { progress(Progress{base + n}); };
    auto r = Perform(put);
    if (!r.ok()) {
      cleanup();
      return r.status();
    }
    if (r->status != 201 && r->status != 204) {
      cleanup();
      return HttpError(*r,
                       absl::StrCat("PUT chunk ", index, " of ", PrintablePath(req.remote_path)));
    }
    offset += len;
    ++index;
  }
  http::Headers extra = {total};
  if (req.mtime_ns > 0) extra.emplace_back("X-OC-Mtime", absl::StrCat(req.mtime_ns / 1000000000));
  absl::Status s = Move(dir + "/.file", final_url, PrintablePath(req.remote_path), extra);
  if (!s.ok()) cleanup();
  return s;
}

absl::StatusOr<RemoteObject> WebDavConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  if (src->size() != req.size) {
    return absl::InvalidArgumentError(absl::StrCat("put ", PrintablePath(req.remote_path),
                                                   ": source has ", src->size(),
                                                   " bytes but the request says ", req.size));
  }
  absl::string_view path = req.remote_path;
  size_t slash = path.rfind('/');
  std::string folder(slash == absl::string_view::npos ? "" : path.substr(0, slash));
  RETURN_IF_ERROR(EnsureFolder(folder));
  const std::string final_url = UrlFor(req.remote_path);
  if (o_.nextcloud && req.size > o_.chunk_size) {
    RETURN_IF_ERROR(PutNextcloudChunked(final_url, req, src, progress));
  } else {
    // The temporary name is derived from the path and the content: a retry
    // overwrites the leftover of an aborted attempt (some servers keep a
    // partial PUT), and an aborted attempt still winding down on the server
    // can only write the same bytes at the same offsets.
    // Without a SHA-256 the content is unknown: a random name.
    std::string tmp_name;
    if (req.sha256.size() == 32) {
      Digest d = Sha256::Of(
          absl::StrCat(req.remote_path, absl::string_view("\0", 1), req.sha256, ":", req.size));
      tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(d.data(), 8)));
    } else {
      uint8_t rnd[8];
      SecureRandom(rnd, sizeof(rnd));
      tmp_name = absl::StrCat(kTempPrefix, ToHex(ByteSpan(rnd, sizeof(rnd))));
    }
    std::string tmp_path = folder.empty() ? tmp_name : absl::StrCat(folder, "/", tmp_name);
    std::string tmp_url = UrlFor(tmp_path);
    absl::Status s = PutSimple(tmp_url, req, src, progress);
    if (s.ok()) s = Move(tmp_url, final_url, PrintablePath(req.remote_path));
    if (!s.ok()) {
      http::Request del;
      del.method = "DELETE";
      del.url = tmp_url;
      (void)Perform(del);  // best effort; leftovers are hidden from List
      if (s.code() == absl::StatusCode::kNotFound) {
        // Our temporary file vanished between PUT and MOVE (an aborted
        // attempt's cleanup on the server): retry.
        return absl::UnavailableError(absl::StrCat(s.message(), "; will retry"));
      }
      return s;
    }
  }
  ASSIGN_OR_RETURN(DavEntry e, StatEntry(req.remote_path));
  if (e.length != req.size) {
    return absl::UnavailableError(absl::StrCat("after uploading ", PrintablePath(req.remote_path),
                                               " to ", Describe(), " the server reports ", e.length,
                                               " bytes instead of ", req.size, "; retry"));
  }
  RecordChecksumProps(req.remote_path, ToHex(req.sha256), &e);
  RemoteObject obj;
  obj.remote_path = req.remote_path;
  obj.size = e.length;
  obj.mtime_ns = e.mtime_ns;
  obj.checksum = webdav_internal::EffectiveChecksum(e);
  obj.ref = final_url;
  return obj;
}

absl::StatusOr<RemoteObject> WebDavConnector::Stat(const std::string& remote_path) {
  ASSIGN_OR_RETURN(DavEntry e, StatEntry(remote_path));
  RemoteObject o;
  o.remote_path = remote_path;
  o.size = e.length;
  o.mtime_ns = e.mtime_ns;
  o.checksum = webdav_internal::EffectiveChecksum(e);
  o.ref = UrlFor(remote_path);
  return o;
}

absl::StatusOr<RemoteObject> WebDavConnector::RecordChecksum(const std::string& remote_path,
                                                             const std::string& sha256) {
  ASSIGN_OR_RETURN(DavEntry e, StatEntry(remote_path));
  if (sha256.size() == 32) RecordChecksumProps(remote_path, ToHex(sha256), &e);
  RemoteObject o;
  o.remote_path = remote_path;
  o.size = e.length;
  o.mtime_ns = e.mtime_ns;
  o.checksum = webdav_internal::EffectiveChecksum(e);
  o.ref = UrlFor(remote_path);
  return o;
}

absl::StatusOr<DavEntry> WebDavConnector::StatEntry(const std::string& remote_path) {
  bool not_found = false;
  ASSIGN_OR_RETURN(std::vector<DavEntry> entries, Propfind(remote_path, false, 0, &not_found));
  if (not_found || entries.empty()) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " not found at ", Describe()));
  }
  const DavEntry& e = entries.front();
  if (e.collection) {
    return absl::NotFoundError(
        absl::StrCat(PrintablePath(remote_path), " at ", Describe(), " is a folder, not a file"));
  }
  return e;
}

void WebDavConnector::RecordChecksumProps(const std::string& remote_path,
                                          const std::string& sha256_hex, DavEntry* entry) {
  if (dead_props_refused_.load() || sha256_hex.size() != 64 || entry->etag.empty()) return;
  http::Request req;
  req.method = "PROPPATCH";
  req.url = UrlFor(remote_path);
  req.headers = {{"Content-Type", "application/xml; charset=utf-8"}};
  const std::string body = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:propertyupdate xmlns:d=\"DAV:\" xmlns:sb=\"",
      webdav_internal::kShoeboxNs, "\"><d:set><d:prop><sb:sha256>", sha256_hex,
      "</sb:sha256><sb:etag>", XmlEscape(entry->etag),
      "</sb:etag></d:prop></d:set></d:propertyupdate>");
  req.body = body;
  auto r = Perform(req);
  if (!r.ok()) return;  // the upload itself succeeded; the checksum is a bonus
  if (r->status == 207 && absl::StrContains(r->body, " 200 ")) {
    entry->recorded_sha256 = sha256_hex;
    entry->recorded_etag = entry->etag;
  } else if (r->status == 207 || r->status == 403 || r->status == 405 || r->status == 501) {
    dead_props_refused_.store(true);  // e.g. rclone serve webdav: do not ask again
  }
}

absl::StatusOr<std::vector<RemoteObject>> WebDavConnector::List(const std::string& prefix) {
  std::vector<RemoteObject> out;
  std::vector<std::string> todo = {
      std::string(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"))};
  while (!todo.empty()) {
    std::string folder = std::move(todo.back());
    todo.pop_back();
    bool not_found = false;
    ASSIGN_OR_RETURN(std::vector<DavEntry> entries, Propfind(folder, true, 1, &not_found));
    if (not_found) continue;  // a missing folder holds no objects
    for (const DavEntry& e : entries) {
      std::optional<std::string> rel = RelativePath(e.href);
      if (!rel.has_value() || *rel == folder) continue;
      absl::string_view name = *rel;
      if (size_t s = name.rfind('/'); s != absl::string_view::npos) name = name.substr(s + 1);
      if (e.collection) {
        todo.push_back(*rel);
        continue;
      }
      if (absl::StartsWith(name, kTempPrefix)) continue;
      RemoteObject o;
      o.remote_path = *rel;
      o.size = e.length;
      o.mtime_ns = e.mtime_ns;
      o.checksum = webdav_internal::EffectiveChecksum(e);
      o.ref = UrlFor(*rel);
      out.push_back(std::move(o));
    }
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status WebDavConnector::Get(const std::string& remote_path,
                                  const std::function<absl::Status(std::string_view)>& sink) {
  http::Request req;
  req.url = UrlFor(remote_path);
  req.sink = sink;
  ASSIGN_OR_RETURN(http::Response r, Perform(req));
  if (r.status == 200) return absl::OkStatus();
  return HttpError(r, absl::StrCat("GET ", PrintablePath(remote_path)));
}

absl::Status WebDavConnector::Delete(const std::string& remote_path) {
  http::Request req;
  req.method = "DELETE";
  req.url = UrlFor(remote_path);
  ASSIGN_OR_RETURN(http::Response r, Perform(req));
  if (r.status == 200 || r.status == 204 || r.status == 404) return absl::OkStatus();
  return HttpError(r, absl::StrCat("DELETE ", PrintablePath(remote_path)));
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("webdav", MakeWebDavConnector);

absl::StatusOr<std::unique_ptr<Connector>> MakeWebDavConnector(const nlohmann::json& settings,
                                                               const nlohmann::json& credentials) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("webdav", settings, credentials);
  Options o;
  ASSIGN_OR_RETURN(std::string url_setting, in.String("url"));
  o.url = std::string(absl::StripSuffix(url_setting, "/"));
  absl::StatusOr<http::UrlParts> url = http::ParseHttpUrl(o.url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webdav destination: settings \"url\" must be an http:// or https:// URL of the target "
        "folder, got \"",
        http::RedactUrl(o.url), "\" (", url.status().message(), ")"));
  }
  o.base_decoded = PercentDecode(url->path);
  ASSIGN_OR_RETURN(o.user, in.String("user", /*secret=*/true));
  ASSIGN_OR_RETURN(o.password, in.String("password", /*secret=*/true));
  ASSIGN_OR_RETURN(o.ca_file, in.String("ca_file"));
  ASSIGN_OR_RETURN(o.nextcloud, in.Bool("nextcloud"));
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  o.timeout_s = static_cast<long>(timeout_s);
  ASSIGN_OR_RETURN(int64_t chunk_mib, in.Int("chunk_size_mib"));
  o.chunk_size = static_cast<uint64_t>(chunk_mib) << 20;
  if (o.nextcloud) {
    ASSIGN_OR_RETURN(std::string uploads, in.String("uploads_url"));
    o.uploads_url = std::string(absl::StripSuffix(uploads, "/"));
    if (o.uploads_url.empty()) {
      size_t files = o.url.find("/remote.php/dav/files/");
      if (files == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("nextcloud destination ", o.url,
                         ": cannot derive the chunked-upload URL; use a URL of the form "
                         "https://HOST/remote.php/dav/files/USER/FOLDER or set \"uploads_url\""));
      }
      absl::string_view rest =
          absl::string_view(o.url).substr(files + strlen("/remote.php/dav/files/"));
      absl::string_view user = rest.substr(0, rest.find('/'));
      o.uploads_url = absl::StrCat(o.url.substr(0, files), "/remote.php/dav/uploads/", user);
    }
  }
  return std::unique_ptr<Connector>(new WebDavConnector(std::move(o)));
}

}  // namespace shoebox::worker
