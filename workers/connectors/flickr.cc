#include "workers/connectors/flickr.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/http_client.h"
#include "common/http/request_gate.h"
#include "common/http/url.h"
#include "common/status.h"
#include "workers/connectors/service_names.h"

namespace shoebox::worker {
namespace {

using json = nlohmann::json;
constexpr char kPathLine[] = "shoebox-path: ";

// Flickr's JSON gives some numbers as strings ("total": "12") and some ids
// as numbers; both read the same here.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  if (it->is_object()) return Str(*it, "_content");
  return "";
}
int64_t Int(const json& j, const char* key) {
  int64_t v = 0;
  return absl::SimpleAtoi(Str(j, key), &v) ? v : 0;
}
int FailCode(const json& j) {
  return Str(j, "stat") == "fail" ? static_cast<int>(std::max<int64_t>(Int(j, "code"), 1)) : 0;
}
std::string PathHash(const std::string& path) {
  return ToHex(DigestToString(Sha256::Of(std::string_view(path))));
}
std::string Basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
// The text between <tag ...> and </tag> of Flickr's upload answer.
std::string XmlElement(const std::string& xml, const std::string& tag) {
  size_t a = xml.find("<" + tag);
  if (a == std::string::npos) return "";
  a = xml.find('>', a);
  size_t b = xml.find("</" + tag + ">", a);
  if (a == std::string::npos || b == std::string::npos) return "";
  return std::string(absl::StripAsciiWhitespace(xml.substr(a + 1, b - a - 1)));
}
std::string XmlAttribute(const std::string& xml, const std::string& element,
                         const std::string& attr) {
  size_t a = xml.find("<" + element);
  if (a == std::string::npos) return "";
  size_t end = xml.find('>', a);
  size_t at = xml.find(attr + "=\"", a);
  if (at == std::string::npos || at > end) return "";
  at += attr.size() + 2;
  return xml.substr(at, xml.find('"', at) - at);
}

// A photo as search/list answers describe it (extras machine_tags,description).
struct Photo {
  std::string id, title, description, sha256;
  uint64_t size = 0;
  std::set<std::string> path_hashes;
  std::vector<std::string> paths;  // description lines backed by a path tag
};

// `tags`: machine tags as "ns:pred=value" strings.
Photo MakePhoto(std::string id, std::string title, std::string description,
                const std::vector<std::string>& tags) {
  Photo ph;
  ph.id = std::move(id);
  ph.title = std::move(title);
  ph.description = std::move(description);
  for (const std::string& tag : tags) {
    std::pair<std::string, std::string> kv = absl::StrSplit(tag, absl::MaxSplits('=', 1));
    if (kv.first == "shoebox:sha256") ph.sha256 = kv.second;
    if (kv.first == "shoebox:path") ph.path_hashes.insert(kv.second);
    if (kv.first == "shoebox:size") (void)absl::SimpleAtoi(kv.second, &ph.size);
  }
  for (absl::string_view line : absl::StrSplit(ph.description, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, kPathLine)) continue;
    std::string path = http::PercentDecode(line);
    if (ph.path_hashes.count(PathHash(path))) ph.paths.push_back(path);
  }
  return ph;
}

// A photo of a search or list answer (extras machine_tags,description).
Photo ParsePhoto(const json& p) {
  return MakePhoto(Str(p, "id"), Str(p, "title"), Str(p, "description"),
                   absl::StrSplit(Str(p, "machine_tags"), ' ', absl::SkipEmpty()));
}

// A photo of flickr.photos.getInfo (tags with their raw text).
Photo ParseInfo(const json& p) {
  std::vector<std::string> tags;
  const json& list = p["tags"]["tag"];
  for (const json& t : list.is_array() ? list : json::array()) tags.push_back(Str(t, "raw"));
  return MakePhoto(Str(p, "id"), Str(p, "title"), Str(p, "description"), tags);
}

// What this process put recently, by account and path or content: Flickr's
// search index lags behind uploads, so a Stat right after a Put, or the
// same content put by another job a moment later, looks the photo up by id
// (flickr.photos.getInfo, immediate) when the search does not find it yet.
// At most kRecent entries, the oldest dropped first.
class RecentPhotos {
 public:
  static RecentPhotos& Get() {
    static RecentPhotos* r = new RecentPhotos();
    return *r;
  }
  std::string Find(const std::string& key) {
    absl::MutexLock l(&mu_);
    auto it = ids_.find(key);
    return it == ids_.end() ? "" : it->second;
  }
  void Remember(const std::string& key, const std::string& id) {
    absl::MutexLock l(&mu_);
    if (ids_.insert_or_assign(key, id).second) order_.push_back(key);
    while (order_.size() > kRecent) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }
  void Forget(const std::string& key) {
    absl::MutexLock l(&mu_);
    ids_.erase(key);
  }

 private:
  static constexpr size_t kRecent = 20000;
  absl::Mutex mu_;
  std::map<std::string, std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

RemoteObject ToObject(const Photo& p, const std::string& path) {
  RemoteObject o;
  o.remote_path = path;
  o.size = p.size;
  if (!p.sha256.empty()) o.checksum = "sha256:" + p.sha256;
  o.ref = p.id;
  return o;
}

// The multipart body: prefix, the photo's bytes read from the ByteSource
// as curl asks for them (never whole in memory), suffix.
class MultipartSource final : public ByteSource {
 public:
  MultipartSource(const std::string& prefix, ByteSource* photo, uint64_t photo_size,
                  const std::string& suffix)
      : prefix_(prefix), photo_(photo), photo_size_(photo_size), suffix_(suffix) {}
  absl::StatusOr<size_t> Read(uint8_t* buf, size_t max) override {
    const uint64_t a = prefix_.size(), b = a + photo_size_;
    if (pos_ < a) {
      size_t n = std::min<size_t>(max, static_cast<size_t>(a - pos_));
      std::copy_n(prefix_.data() + pos_, n, buf);
      pos_ += n;
      return n;
    }
    if (pos_ < b) {
      ASSIGN_OR_RETURN(size_t n,
                       photo_->Read(buf, static_cast<size_t>(std::min<uint64_t>(max, b - pos_))));
      if (n == 0) return absl::DataLossError("the file's source ended before its announced size");
      pos_ += n;
      return n;
    }
    size_t n = std::min<size_t>(max, static_cast<size_t>(size() - pos_));
    std::copy_n(suffix_.data() + (pos_ - b), n, buf);
    pos_ += n;
    return n;
  }
  absl::Status Seek(uint64_t offset) override {
    if (offset > size()) return absl::OutOfRangeError("seek past the end of the upload body");
    const uint64_t a = prefix_.size();
    RETURN_IF_ERROR(photo_->Seek(std::min(offset < a ? 0 : offset - a, photo_size_)));
    pos_ = offset;
    return absl::OkStatus();
  }
  uint64_t size() const override { return prefix_.size() + photo_size_ + suffix_.size(); }

 private:
  const std::string& prefix_;
  ByteSource* const photo_;
  const uint64_t photo_size_;
  const std::string& suffix_;
  uint64_t pos_ = 0;
};

absl::Mutex& AlbumMutex() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}

class FlickrConnector final : public Connector {
 public:
  FlickrConnector(FlickrOptions o, std::shared_ptr<AlbumDirectory> albums)
      : o_(std::move(o)),
        client_(http::ClientOptions{
            .connect_timeout = o_.timeout,
            .stall_timeout = o_.timeout,
            .unreachable_hint = "is Flickr (or the configured endpoint) reachable?",
            // 3,600 calls per hour per API key: one gate per key.
            .gate = http::RequestGate::Shared(
                absl::StrCat("flickr\n", o_.api, "\n", o_.credentials.consumer_key))}),
        download_(http::ClientOptions{.connect_timeout = o_.timeout, .stall_timeout = o_.timeout}),
        albums_(albums ? std::move(albums) : MakeInMemoryAlbumDirectory()) {
    if (o_.max_requests_per_s > 0) client_.options().gate->SetRate(o_.max_requests_per_s);
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  // Flickr has no folders: albums come from PutRequest::album (the
  // destination's album rule), and paths live in machine tags. Nothing to do.
  absl::Status EnsureFolder(const std::string&) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) override;
  // As a transfer source: flickr_source.cc.
  absl::StatusOr<SourceListing> ListChanges(const std::string& cursor) override {
    return FlickrListSource(SourceApi(), cursor);
  }
  absl::Status GetItem(const std::string& path,
                       const std::function<absl::Status(std::string_view)>& sink) override {
    return FlickrGetSourceItem(SourceApi(), path, sink);
  }
  std::string Describe() const override {
    return absl::StrCat("flickr:", o_.destination.empty() ? "?" : o_.destination, " at ", o_.api);
  }

 private:
  std::string Dest() const { return o_.destination.empty() ? "NAME" : o_.destination; }
  // One REST call (GET for reads, POST for writes), signed. Transport and
  // HTTP failures are statuses; a stat="fail" answer comes back as JSON.
  absl::StatusOr<json> Call(const std::string& method, http::QueryParams params, bool write,
                            const std::string& what);
  absl::Status Check(const json& j, const std::string& what) const {
    if (int code = FailCode(j))
      return FlickrErrorStatus(code, Str(j, "message"), what, Dest(), false);
    return absl::OkStatus();
  }
  absl::Status HttpStatus(const http::Response& r, const std::string& what) const;
  FlickrSourceApi SourceApi() {
    return FlickrSourceApi{
        [this](const std::string& method, const http::QueryParams& params,
               const std::string& what) -> absl::StatusOr<json> {
          ASSIGN_OR_RETURN(json j, Call(method, params, false, what));
          if (int code = FailCode(j); code != 0) {
            return FlickrErrorStatus(code, Str(j, "message"), what, Dest(), false);
          }
          return j;
        },
        [this](const std::string& url, const std::function<absl::Status(std::string_view)>& sink,
               const std::string& what) { return FlickrDownload(download_, url, sink, what); },
        o_.page_size, Describe()};
  }
  // Every photo of the account carrying `machine_tag` (paged).
  absl::StatusOr<std::vector<Photo>> Search(const std::string& machine_tag);
  // The photos standing for `path` / holding `sha` (hex): the search, else
  // what this process put recently (RecentPhotos), checked with getInfo.
  absl::StatusOr<std::vector<Photo>> AtPath(const std::string& path);
  absl::StatusOr<std::vector<Photo>> WithContent(const std::string& sha);
  // flickr.photos.getInfo; nullopt when the photo is gone.
  absl::StatusOr<std::optional<Photo>> Info(const std::string& id);
  std::string PathKey(const std::string& path) const {
    return absl::StrCat(o_.api, "\n", o_.credentials.token, "\npath\n", path);
  }
  std::string ContentKey(const std::string& sha) const {
    return absl::StrCat(o_.api, "\n", o_.credentials.token, "\nsha256\n", sha);
  }
  absl::StatusOr<std::string> Upload(const PutRequest& req, ByteSource* src,
                                     const std::function<void(const Progress&)>& progress);
  absl::StatusOr<std::string> WaitTicket(const std::string& ticket, const std::string& what);
  absl::Status AttachPath(const Photo& p, const std::string& path);
  absl::Status DetachPath(const Photo& p, const std::string& path);
  absl::Status AddToAlbum(const std::string& album, const std::string& photo_id);
  // The set titled `title` among the account's sets; "" when none.
  absl::StatusOr<std::string> FindSet(const std::string& title);

  const FlickrOptions o_;
  http::Client client_;
  http::Client download_;  // static photo URLs: not API calls, not budgeted
  std::shared_ptr<AlbumDirectory> albums_;
  absl::Mutex mu_;
  // Upload tickets of this process by content (a retried Put waits for the
  // ticket it has instead of uploading again).
  std::map<std::string, std::string> tickets_ ABSL_GUARDED_BY(mu_);
};

absl::Status FlickrConnector::HttpStatus(const http::Response& r, const std::string& what) const {
  if (r.ok()) return absl::OkStatus();
  if (r.status == 429) {
    absl::Status s = http::ErrorStatus(r, "flickr: " + what, "",
                                       "Flickr's hourly request budget of this API key is spent; "
                                       "waiting as it asks");
    absl::Status out = absl::ResourceExhaustedError(s.message());
    if (auto ms = RetryAfterMs(s)) return WithRetryAfter(out, *ms);
    return out;
  }
  return http::ErrorStatus(r, "flickr: " + what);
}

absl::StatusOr<json> FlickrConnector::Call(const std::string& method, http::QueryParams params,
                                           bool write, const std::string& what) {
  params.insert(params.begin(), {"method", method});
  params.push_back({"format", "json"});
  params.push_back({"nojsoncallback", "1"});
  const std::string base = o_.api + "/rest/";
  http::OAuth1Request oreq{write ? "POST" : "GET",
                           write ? base : base + "?" + http::QueryString(params),
                           write ? params : http::QueryParams{},
                           {}};
  ASSIGN_OR_RETURN(http::QueryParams oauth, http::OAuth1Sign(oreq, o_.credentials));
  const std::string body = write ? http::QueryString(params) : "";
  http::Request r{.method = oreq.method, .url = oreq.url, .body = body};
  if (write) r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  r.headers.push_back({"Authorization", http::OAuth1AuthorizationHeader(oauth)});
  ASSIGN_OR_RETURN(http::Response resp, client_.Send(r));
  RETURN_IF_ERROR(HttpStatus(resp, what));
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) {
    return absl::UnavailableError(absl::StrCat("flickr: ", what, ": ", method,
                                               " answered no JSON: ", resp.body.substr(0, 120)));
  }
  return j;
}

absl::StatusOr<std::vector<Photo>> FlickrConnector::Search(const std::string& machine_tag) {
  std::vector<Photo> out;
  for (int64_t page = 1;; ++page) {
    const std::string what = "search " + machine_tag;
    ASSIGN_OR_RETURN(json j, Call("flickr.photos.search",
                                  {{"user_id", "me"},
                                   {"machine_tags", machine_tag},
                                   {"extras", "machine_tags,description,original_format"},
                                   {"per_page", absl::StrCat(o_.page_size)},
                                   {"page", absl::StrCat(page)}},
                                  false, what));
    RETURN_IF_ERROR(Check(j, what));
    const json& photos = j["photos"];
    if (photos.contains("photo"))
      for (const json& p : photos["photo"]) out.push_back(ParsePhoto(p));
    if (page >= Int(photos, "pages")) break;
  }
  return out;
}

absl::StatusOr<std::optional<Photo>> FlickrConnector::Info(const std::string& id) {
  const std::string what = "look up photo " + id;
  ASSIGN_OR_RETURN(json j, Call("flickr.photos.getInfo", {{"photo_id", id}}, false, what));
  if (FailCode(j) == 1) return std::nullopt;
  RETURN_IF_ERROR(Check(j, what));
  return ParseInfo(j["photo"]);
}

absl::StatusOr<std::vector<Photo>> FlickrConnector::AtPath(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<Photo> found, Search("shoebox:path=" + PathHash(path)));
  if (!found.empty()) return found;
  const std::string id = RecentPhotos::Get().Find(PathKey(path));
  if (id.empty()) return found;
  ASSIGN_OR_RETURN(std::optional<Photo> p, Info(id));
  if (p && p->path_hashes.count(PathHash(path))) {
    found.push_back(*p);
  } else {
    RecentPhotos::Get().Forget(PathKey(path));
  }
  return found;
}

absl::StatusOr<std::vector<Photo>> FlickrConnector::WithContent(const std::string& sha) {
  ASSIGN_OR_RETURN(std::vector<Photo> found, Search("shoebox:sha256=" + sha));
  if (!found.empty()) return found;
  const std::string id = RecentPhotos::Get().Find(ContentKey(sha));
  if (id.empty()) return found;
  ASSIGN_OR_RETURN(std::optional<Photo> p, Info(id));
  if (p && p->sha256 == sha) {
    found.push_back(*p);
  } else {
    RecentPhotos::Get().Forget(ContentKey(sha));
  }
  return found;
}

absl::StatusOr<RemoteObject> FlickrConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  const std::string& path = req.remote_path;
  if (req.size == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("flickr: ", path,
                     " is empty; Flickr takes no empty files (upload error 4), so it is "
                     "not delivered to ",
                     Describe()));
  }
  if (req.sha256.size() != 32)
    return absl::InvalidArgumentError("flickr: Put needs the file's SHA-256 (its machine tag)");
  const std::string sha = ToHex(req.sha256);
  ASSIGN_OR_RETURN(std::vector<Photo> before, AtPath(path));
  // The same content anywhere in the account (this path, another path,
  // another Shoebox, a run before a lost catalog): never uploaded again.
  ASSIGN_OR_RETURN(std::vector<Photo> same, WithContent(sha));
  std::string id;
  if (same.empty()) {
    std::string ticket;
    {
      absl::MutexLock l(&mu_);
      if (auto it = tickets_.find(sha); it != tickets_.end()) ticket = it->second;
    }
    if (ticket.empty() && !req.resume_state.empty()) {
      json st = json::parse(req.resume_state, nullptr, false);
      if (Str(st, "sha256") == sha) ticket = Str(st, "ticket");
    }
    if (!ticket.empty()) {
      absl::StatusOr<std::string> done = WaitTicket(ticket, "upload of " + path);
      if (done.ok()) {
        // That upload may have been made for another path with this content.
        ASSIGN_OR_RETURN(std::optional<Photo> p, Info(*done));
        if (p) {
          id = *done;
          if (!p->path_hashes.count(PathHash(path))) RETURN_IF_ERROR(AttachPath(*p, path));
        }
      }
    }
    if (id.empty()) {
      ASSIGN_OR_RETURN(ticket, Upload(req, src, progress));
      {
        absl::MutexLock l(&mu_);
        tickets_[sha] = ticket;
      }
      if (req.save_resume_state)
        req.save_resume_state(json{{"sha256", sha}, {"ticket", ticket}}.dump());
      ASSIGN_OR_RETURN(id, WaitTicket(ticket, "upload of " + path));
    }
    absl::MutexLock l(&mu_);
    tickets_.erase(sha);
  } else {
    const Photo& have = same.front();
    id = have.id;
    if (!have.path_hashes.count(PathHash(path))) RETURN_IF_ERROR(AttachPath(have, path));
  }
  if (progress) progress(Progress{req.size});
  // The path now stands for this content only.
  for (const Photo& old : before)
    if (old.id != id) RETURN_IF_ERROR(DetachPath(old, path));
  RecentPhotos::Get().Remember(PathKey(path), id);
  RecentPhotos::Get().Remember(ContentKey(sha), id);
  if (!req.album.empty()) RETURN_IF_ERROR(AddToAlbum(req.album, id));
  RemoteObject o;
  o.remote_path = path;
  o.size = req.size;
  o.checksum = "sha256:" + sha;
  o.ref = id;
  return o;
}

absl::StatusOr<std::string> FlickrConnector::Upload(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  const std::string& path = req.remote_path;
  std::vector<std::string> tags = {"shoebox:sha256=" + ToHex(req.sha256),
                                   "shoebox:path=" + PathHash(path),
                                   absl::StrCat("shoebox:size=", req.size)};
  for (std::string k : req.keywords) {
    k.erase(std::remove(k.begin(), k.end(), '"'), k.end());
    if (!k.empty()) tags.push_back(absl::StrCat("\"", k, "\""));
  }
  http::QueryParams fields = {
      {"title", EncodeServiceName(Basename(path), FlickrNameRules())},
      {"description", kPathLine + http::PercentEncode(path, true)},
      {"tags", absl::StrJoin(tags, " ")},
      {"is_public", o_.is_public ? "1" : "0"},
      {"is_friend", o_.is_friend ? "1" : "0"},
      {"is_family", o_.is_family ? "1" : "0"},
      {"hidden", o_.is_public ? "1" : "2"},
      {"async", "1"},
  };
  ASSIGN_OR_RETURN(FlickrUploadRequest u,
                   BuildFlickrUpload(o_, fields, Basename(path), "shoebox-" + http::OAuth1Nonce(),
                                     http::OAuth1Nonce(), absl::ToUnixSeconds(absl::Now())));
  MultipartSource body(u.prefix, src, req.size, u.suffix);
  http::Request r{.method = "POST", .url = u.url};
  r.headers = {
      {"Content-Type", u.content_type}, {"Authorization", u.authorization}, {"Expect", ""}};
  r.body_source = &body;
  r.body_length = body.size();
  const uint64_t head = u.prefix.size();
  if (progress) {
    r.on_sent = [&](uint64_t n) {
      progress(Progress{std::min<uint64_t>(n > head ? n - head : 0, req.size)});
    };
  }
  const std::string what = "upload of " + path;
  ASSIGN_OR_RETURN(http::Response resp, client_.Send(r));
  RETURN_IF_ERROR(HttpStatus(resp, what));
  if (XmlAttribute(resp.body, "rsp", "stat") != "ok") {
    int code = 0;
    (void)absl::SimpleAtoi(XmlAttribute(resp.body, "err", "code"), &code);
    if (code == 0) {
      return absl::UnavailableError(
          absl::StrCat("flickr: ", what, ": unexpected answer: ", resp.body.substr(0, 200)));
    }
    return FlickrErrorStatus(code, XmlAttribute(resp.body, "err", "msg"), what, Dest(), true);
  }
  std::string ticket = XmlElement(resp.body, "ticketid");
  if (ticket.empty()) {
    return absl::UnavailableError(
        absl::StrCat("flickr: ", what, ": the upload answered no ticket (async=1)"));
  }
  return ticket;
}

absl::StatusOr<std::string> FlickrConnector::WaitTicket(const std::string& ticket,
                                                        const std::string& what) {
  absl::Duration delay = absl::Milliseconds(50);
  const absl::Time deadline = absl::Now() + o_.ticket_timeout;
  while (true) {
    ASSIGN_OR_RETURN(json j,
                     Call("flickr.photos.upload.checkTickets", {{"tickets", ticket}}, false, what));
    RETURN_IF_ERROR(Check(j, what));
    const json& list = j["uploader"]["ticket"];
    for (const json& t : list.is_array() ? list : json::array({list})) {
      if (Str(t, "id") != ticket) continue;
      if (Int(t, "invalid") != 0) {
        return absl::UnavailableError(
            absl::StrCat("flickr: ", what, ": Flickr no longer knows upload ticket ", ticket));
      }
      switch (Int(t, "complete")) {
        case 1:
          return Str(t, "photoid");
        case 2:
          return absl::FailedPreconditionError(absl::StrCat(
              "flickr: ", what, ": Flickr could not process the file (ticket ", ticket,
              " failed): it is not a photo or video Flickr can convert; it is not retried"));
        default:
          break;
      }
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("flickr: ", what, ": upload ticket ", ticket,
                                                 " still incomplete after ",
                                                 absl::FormatDuration(o_.ticket_timeout)));
    }
    absl::SleepFor(delay);
    delay = std::min(delay * 2, absl::Seconds(2));
  }
}

absl::Status FlickrConnector::AttachPath(const Photo& p, const std::string& path) {
  const std::string what = "add " + path + " to photo " + p.id;
  ASSIGN_OR_RETURN(
      json j, Call("flickr.photos.addTags",
                   {{"photo_id", p.id}, {"tags", "shoebox:path=" + PathHash(path)}}, true, what));
  RETURN_IF_ERROR(Check(j, what));
  const std::string desc = absl::StrCat(p.description, p.description.empty() ? "" : "\n", kPathLine,
                                        http::PercentEncode(path, true));
  ASSIGN_OR_RETURN(
      j, Call("flickr.photos.setMeta",
              {{"photo_id", p.id}, {"title", p.title}, {"description", desc}}, true, what));
  return Check(j, what);
}

absl::Status FlickrConnector::DetachPath(const Photo& p, const std::string& path) {
  const std::string hash = PathHash(path);
  std::string what = "delete photo " + p.id + " (" + path + ")";
  RecentPhotos::Get().Forget(PathKey(path));
  if (p.path_hashes.size() <= 1) {
    RecentPhotos::Get().Forget(ContentKey(p.sha256));
    ASSIGN_OR_RETURN(json j, Call("flickr.photos.delete", {{"photo_id", p.id}}, true, what));
    if (FailCode(j) == 1) return absl::OkStatus();  // already gone
    return Check(j, what);
  }
  // Other paths share the photo: only this path's tag and line go.
  what = "remove " + path + " from photo " + p.id;
  ASSIGN_OR_RETURN(json info, Call("flickr.photos.getInfo", {{"photo_id", p.id}}, false, what));
  RETURN_IF_ERROR(Check(info, what));
  const json& tags = info["photo"]["tags"]["tag"];
  for (const json& t : tags.is_array() ? tags : json::array()) {
    if (Str(t, "raw") != "shoebox:path=" + hash && Str(t, "_content") != "shoebox:path=" + hash)
      continue;
    ASSIGN_OR_RETURN(json j,
                     Call("flickr.photos.removeTag", {{"tag_id", Str(t, "id")}}, true, what));
    RETURN_IF_ERROR(Check(j, what));
  }
  std::vector<std::string> keep;
  for (absl::string_view line : absl::StrSplit(p.description, '\n', absl::SkipEmpty()))
    if (line != kPathLine + http::PercentEncode(path, true)) keep.emplace_back(line);
  ASSIGN_OR_RETURN(
      json j,
      Call("flickr.photos.setMeta",
           {{"photo_id", p.id}, {"title", p.title}, {"description", absl::StrJoin(keep, "\n")}},
           true, what));
  return Check(j, what);
}

absl::StatusOr<std::string> FlickrConnector::FindSet(const std::string& title) {
  for (int64_t page = 1;; ++page) {
    ASSIGN_OR_RETURN(json j,
                     Call("flickr.photosets.getList",
                          {{"per_page", absl::StrCat(o_.page_size)}, {"page", absl::StrCat(page)}},
                          false, "list albums"));
    RETURN_IF_ERROR(Check(j, "list albums"));
    const json& sets = j["photosets"];
    if (sets.contains("photoset"))
      for (const json& s : sets["photoset"])
        if (Str(s, "title") == title) return Str(s, "id");
    if (page >= Int(sets, "pages")) return std::string();
  }
}

absl::Status FlickrConnector::AddToAlbum(const std::string& album, const std::string& photo_id) {
  const std::string title = EncodeServiceName(album, FlickrNameRules());
  const std::string what = "album \"" + title + "\"";
  // One creation per title in this process; across workers the directory
  // (the catalog) and the title search keep it at one.
  absl::MutexLock l(&AlbumMutex());
  std::string set_id;
  absl::StatusOr<std::string> known = albums_->Lookup(album);
  if (known.ok()) {
    set_id = *known;
  } else if (known.status().code() != absl::StatusCode::kNotFound) {
    return known.status();
  } else {
    ASSIGN_OR_RETURN(set_id, FindSet(title));
    if (!set_id.empty()) RETURN_IF_ERROR(albums_->Record(album, set_id));
  }
  if (!set_id.empty()) {
    ASSIGN_OR_RETURN(
        json j, Call("flickr.photosets.addPhoto", {{"photoset_id", set_id}, {"photo_id", photo_id}},
                     true, "add photo " + photo_id + " to " + what));
    const int code = FailCode(j);
    if (code == 0 || code == 3) return absl::OkStatus();  // 3: already in set
    if (code != 1) return Check(j, "add photo " + photo_id + " to " + what);
    RETURN_IF_ERROR(albums_->Forget(album));  // 1: the set was deleted at Flickr
  }
  // photosets.create: a set has a primary photo from its first moment.
  ASSIGN_OR_RETURN(
      json j, Call("flickr.photosets.create", {{"title", title}, {"primary_photo_id", photo_id}},
                   true, "create " + what));
  RETURN_IF_ERROR(Check(j, "create " + what));
  set_id = Str(j["photoset"], "id");
  if (set_id.empty())
    return absl::UnavailableError("flickr: create " + what + ": no photoset id in the answer");
  return albums_->Record(album, set_id);
}

absl::StatusOr<RemoteObject> FlickrConnector::Stat(const std::string& remote_path) {
  ASSIGN_OR_RETURN(std::vector<Photo> found, AtPath(remote_path));
  if (found.empty())
    return absl::NotFoundError(absl::StrCat("flickr: ", remote_path, " is not at ", Describe()));
  return ToObject(found.front(), remote_path);
}

absl::StatusOr<std::vector<RemoteObject>> FlickrConnector::List(const std::string& prefix) {
  std::vector<RemoteObject> out;
  for (int64_t page = 1;; ++page) {
    ASSIGN_OR_RETURN(json j, Call("flickr.people.getPhotos",
                                  {{"user_id", "me"},
                                   {"extras", "machine_tags,description,original_format"},
                                   {"per_page", absl::StrCat(o_.page_size)},
                                   {"page", absl::StrCat(page)}},
                                  false, "list " + prefix));
    RETURN_IF_ERROR(Check(j, "list " + prefix));
    const json& photos = j["photos"];
    if (photos.contains("photo")) {
      for (const json& pj : photos["photo"]) {
        Photo p = ParsePhoto(pj);
        for (const std::string& path : p.paths)
          if (prefix.empty() || path == prefix || absl::StartsWith(path, prefix + "/"))
            out.push_back(ToObject(p, path));
      }
    }
    if (page >= Int(photos, "pages")) break;
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::StatusOr<std::vector<RemoteObject>> FlickrConnector::ListAlbum(const std::string& album) {
  const std::string title = EncodeServiceName(album, FlickrNameRules());
  std::string set_id;
  if (absl::StatusOr<std::string> known = albums_->Lookup(album); known.ok()) set_id = *known;
  if (set_id.empty()) {
    // Nothing remembered (a lost catalog): the set of that title, recorded
    // so that the next listing of it costs no search.
    ASSIGN_OR_RETURN(set_id, FindSet(title));
    if (!set_id.empty()) {
      ASSIGN_OR_RETURN(set_id, albums_->RecordFirst(album, set_id));
    }
  }
  if (set_id.empty()) {
    return absl::NotFoundError(
        absl::StrCat("flickr: ", Describe(), " has no album \"", title, "\""));
  }
  std::vector<RemoteObject> out;
  for (int64_t page = 1;; ++page) {
    const std::string what = "list album \"" + title + "\"";
    ASSIGN_OR_RETURN(json j, Call("flickr.photosets.getPhotos",
                                  {{"photoset_id", set_id},
                                   {"extras", "machine_tags,description"},
                                   {"per_page", absl::StrCat(o_.page_size)},
                                   {"page", absl::StrCat(page)}},
                                  false, what));
    if (FailCode(j) == 1) {
      return absl::NotFoundError(absl::StrCat("flickr: album \"", title, "\" (photoset ", set_id,
                                              ") no longer exists at ", Describe()));
    }
    RETURN_IF_ERROR(Check(j, what));
    const json& set = j["photoset"];
    if (set.contains("photo")) {
      for (const json& pj : set["photo"]) {
        Photo p = ParsePhoto(pj);
        out.push_back(ToObject(p, p.paths.empty() ? std::string() : p.paths.front()));
      }
    }
    if (page >= Int(set, "pages")) break;
  }
  return out;
}

absl::Status FlickrConnector::Get(const std::string& remote_path,
                                  const std::function<absl::Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(RemoteObject o, Stat(remote_path));
  const std::string what = "download " + remote_path;
  ASSIGN_OR_RETURN(json j, Call("flickr.photos.getSizes", {{"photo_id", o.ref}}, false, what));
  if (FailCode(j) == 1)
    return absl::NotFoundError(
        absl::StrCat("flickr: ", remote_path, " (photo ", o.ref, ") is no longer at ", Describe()));
  RETURN_IF_ERROR(Check(j, what));
  std::string url;
  const json& sizes = j["sizes"]["size"];
  for (const json& s : sizes.is_array() ? sizes : json::array())
    if (Str(s, "label") == "Original") url = Str(s, "source");
  if (url.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("flickr: ", what, ": Flickr offers no Original size of photo ", o.ref,
                     " (the account may not allow downloading originals)"));
  }
  return FlickrDownload(download_, url, sink, what);
}

absl::Status FlickrConnector::Delete(const std::string& remote_path) {
  ASSIGN_OR_RETURN(std::vector<Photo> found, AtPath(remote_path));
  for (const Photo& p : found) RETURN_IF_ERROR(DetachPath(p, remote_path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connector>> MakeFlickrConnector(
    FlickrOptions options, std::shared_ptr<AlbumDirectory> albums) {
  if (options.credentials.consumer_key.empty())
    return absl::InvalidArgumentError("flickr: no API key (setting api_key)");
  return std::unique_ptr<Connector>(new FlickrConnector(std::move(options), std::move(albums)));
}

}  // namespace shoebox::worker
