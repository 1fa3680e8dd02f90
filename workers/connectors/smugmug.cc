#include "workers/connectors/smugmug.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/http/request_gate.h"
#include "common/status.h"
#include "workers/connectors/retrying_connector.h"
#include "workers/connectors/service_names.h"
#include "workers/connectors/service_settings.h"

namespace shoebox::worker {
namespace {

using json = nlohmann::json;
constexpr char kStale[] = "shoebox.smugmug.stale";
constexpr int kPageCount = 100;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string UriOf(const json& j, const char* name) {
  if (!j.is_object() || !j.contains("Uris")) return "";
  const json& u = j["Uris"];
  if (!u.is_object() || !u.contains(name)) return "";
  return u[name].is_string() ? u[name].get<std::string>() : Str(u[name], "Uri");
}

std::string Dirname(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

std::string Basename(const std::string& p) {
  const size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() ? b : absl::StrCat(a, "/", b);
}

struct Image {
  std::string file_name;  // as stored (encoded)
  uint64_t size = 0;
  std::string md5;  // hex
  std::string keywords;
  std::string archived_uri;
  std::string image_uri;        // /api/v2/image/KEY-0
  std::string album_image_uri;  // /api/v2/album/A/image/KEY-0
};

Image ImageFrom(const json& j) {
  Image i;
  i.file_name = Str(j, "FileName");
  if (j.contains("ArchivedSize") && j["ArchivedSize"].is_number_unsigned())
    i.size = j["ArchivedSize"].get<uint64_t>();
  i.md5 = Str(j, "ArchivedMD5");
  i.keywords = Str(j, "Keywords");
  i.archived_uri = Str(j, "ArchivedUri");
  i.image_uri = UriOf(j, "Image");
  i.album_image_uri = Str(j, "Uri");
  return i;
}

// The checksum Stat reports: the SHA-256 Shoebox recorded in the keywords
// while the recorded MD5 is still the image's, else SmugMug's own MD5.
RemoteObject ToRemote(const std::string& path, const Image& i) {
  RemoteObject o;
  o.remote_path = path;
  o.size = i.size;
  o.ref = i.album_image_uri;
  std::string sha, md5;
  for (absl::string_view k : absl::StrSplit(i.keywords, ';')) {
    k = absl::StripAsciiWhitespace(k);
    if (absl::ConsumePrefix(&k, "shoebox:sha256=")) sha = std::string(k);
    if (absl::ConsumePrefix(&k, "shoebox:md5=")) md5 = std::string(k);
  }
  if (!sha.empty() && !i.md5.empty() && md5 == i.md5) {
    o.checksum = "sha256:" + sha;
  } else if (!i.md5.empty()) {
    o.checksum = "md5:" + i.md5;
  }
  return o;
}

const absl::Status& StatusOf(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

// The key of an album URI ("/api/v2/album/KEY" -> "KEY"); "" when it is not one.
std::string AlbumKeyOf(std::string uri) {
  constexpr absl::string_view kPrefix = "/api/v2/album/";
  if (!absl::StartsWith(uri, kPrefix)) return "";
  return uri.substr(kPrefix.size());
}

absl::Status Stale(const std::string& what) {
  absl::Status s = absl::AbortedError(what);
  s.SetPayload(kStale, absl::Cord("1"));
  return s;
}

bool IsStale(const absl::Status& s) { return s.GetPayload(kStale).has_value(); }

class SmugMugConnector final : public Connector {
 public:
  explicit SmugMugConnector(SmugMugOptions o)
      : o_(std::move(o)),
        client_(http::ClientOptions{
            .connect_timeout = o_.timeout,
            .stall_timeout = o_.timeout,
            .unreachable_hint = "is SmugMug (or the configured endpoint) reachable?",
            .gate = http::RequestGate::Shared(o_.account_key)}),
        dir_(o_.directory != nullptr ? o_.directory : MakeInMemoryAlbumDirectory()),
        template_(o_.albums != "folder" && o_.albums != "none") {
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
  absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) override;
  // As a transfer source (smugmug_support.cc): the tree under `folder`.
  absl::StatusOr<SourceListing> ListChanges(const std::string&) override {
    ASSIGN_OR_RETURN(std::vector<RemoteObject> all, List(""));
    return SmugMugSourceListing(std::move(all), o_.folder);
  }
  std::string Describe() const override {
    return absl::StrCat("smugmug:/", o_.folder, " at ", o_.api);
  }

 private:
  // A signed exchange; 2xx and 404 come back, anything else through
  // SmugMugError.
  // `also`: one more code that comes back to the caller (409).
  absl::StatusOr<http::Response> Send(http::Request r, const std::string& what, int also = 0);
  absl::StatusOr<http::Response> Api(const std::string& method, const std::string& path,
                                     const std::string& what, const json* body = nullptr,
                                     int also = 0);
  // Every item of a paged listing; nullopt on 404.
  absl::StatusOr<std::optional<std::vector<json>>> Pages(const std::string& first,
                                                         const char* locator,
                                                         const std::string& what);

  std::optional<std::string> Remembered(const std::string& key);
  void Remember(const std::string& key, const std::string& id);
  void Forget(const std::string& key);

  absl::StatusOr<std::string> RootNode();
  absl::StatusOr<std::vector<json>> Children(const std::string& id, const std::string& path);
  absl::StatusOr<json> CreateChild(const std::string& parent_id, const std::string& parent_path,
                                   const char* type, const std::string& name,
                                   std::vector<json> kids);
  // Folder node id / gallery AlbumKey of a path under the user's root;
  // nullopt when absent and !create.
  absl::StatusOr<std::optional<std::string>> FolderNode(const std::string& path, bool create);
  absl::StatusOr<std::optional<std::string>> Gallery(const std::string& path, bool create);
  absl::StatusOr<std::vector<Image>> Images(const std::string& album_key,
                                            const std::string& gallery_path);
  void DropImages(const std::string& album_key) {
    absl::MutexLock l(&mu_);
    images_.erase(album_key);
  }

  // Where `remote_path` is (a remembered "file:" link first, in template mode).
  SmugMugLocation Where(const std::string& remote_path) {
    if (template_) {
      if (std::optional<std::string> g = Remembered("file:" + remote_path)) {
        SmugMugLocation loc = SmugMugLocate(o_.folder, remote_path);
        loc.parent = Dirname(*g);
        loc.gallery = Basename(*g);
        return loc;
      }
    }
    return SmugMugLocate(o_.folder, remote_path);
  }
  // The image at `loc`; NOT_FOUND when there is none.
  absl::StatusOr<Image> Find(const SmugMugLocation& loc, const std::string& remote_path);
  absl::StatusOr<RemoteObject> PutOnce(const PutRequest& req, ByteSource* src,
                                       const SmugMugLocation& loc, const SmugMugDigest& d,
                                       const std::function<void(const Progress&)>& progress);
  // The device path of a gallery path ("Shoebox/Camera/2023" -> "Camera/2023").
  std::string RelativeOf(const std::string& gallery_path) const {
    if (gallery_path == o_.folder) return "";
    std::string rel = gallery_path;
    if (absl::StartsWith(rel, o_.folder + "/")) rel.erase(0, o_.folder.size() + 1);
    return DecodeServicePath(rel);
  }
  absl::Status Walk(const std::string& id, const std::string& path, const std::string& rel,
                    std::vector<RemoteObject>* out);
  // The gallery path under folder node `id` (at `path`) whose device path,
  // '/' read as ' ', is `title`; "" when none.
  absl::StatusOr<std::string> GalleryTitled(const std::string& id, const std::string& path,
                                            const std::string& title);

  template <typename Fn>
  auto Fresh(Fn fn) -> decltype(fn()) {
    for (int i = 0;; ++i) {
      auto r = fn();
      const absl::Status& s = StatusOf(r);
      if (s.ok() || !IsStale(s)) return r;
      if (i >= 8) {
        return absl::UnavailableError(
            absl::StrCat("smugmug: nodes keep disappearing while in use: ", s.message()));
      }
    }
  }

  const SmugMugOptions o_;
  http::Client client_;
  const std::shared_ptr<AlbumDirectory> dir_;
  const bool template_;
  absl::Mutex mu_;
  std::string root_node_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> ids_ ABSL_GUARDED_BY(mu_);  // directory cache
  std::map<std::string, std::vector<Image>> images_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<http::Response> SmugMugConnector::Send(http::Request r, const std::string& what,
                                                      int also) {
  http::Response resp;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(http::Request signed_request, SmugMugSign(r, o_.credentials));
    if (attempt > 0 && r.body_source != nullptr) RETURN_IF_ERROR(r.body_source->Rewind());
    ASSIGN_OR_RETURN(resp, client_.Send(signed_request));
    // curl sends a request again by itself when a kept-alive connection
    // turns out dead (a dropped upload on a reused connection): the same
    // signature twice, which SmugMug refuses as a reused nonce. A 401 is
    // therefore tried once more with a fresh signature before it counts.
    if (resp.status != 401) break;
  }
  if (resp.ok() || resp.status == 404 || (also != 0 && resp.status == also)) return resp;
  return SmugMugError(resp, what, o_.destination);
}

absl::StatusOr<http::Response> SmugMugConnector::Api(const std::string& method,
                                                     const std::string& path,
                                                     const std::string& what, const json* body,
                                                     int also) {
  std::string text;
  http::Request r{.method = method, .url = o_.api + path};
  r.headers = {{"Accept", "application/json"}};
  if (body != nullptr) {
    text = body->dump(-1, ' ', false, json::error_handler_t::replace);
    r.body = text;
    r.headers.push_back({"Content-Type", "application/json"});
  }
  return Send(std::move(r), what, also);
}

absl::StatusOr<std::optional<std::vector<json>>> SmugMugConnector::Pages(const std::string& first,
                                                                         const char* locator,
                                                                         const std::string& what) {
  std::vector<json> out;
  std::string next = first;
  for (int pages = 0; !next.empty(); ++pages) {
    if (pages > 100000) return absl::UnavailableError("smugmug: " + what + ": endless paging");
    ASSIGN_OR_RETURN(http::Response r, Api("GET", next, what));
    if (r.status == 404) return std::optional<std::vector<json>>();
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("Response") || !j["Response"].is_object()) {
      return absl::UnavailableError(
          absl::StrCat("smugmug: ", what, ": the answer is not a SmugMug listing"));
    }
    const json& resp = j["Response"];
    if (resp.contains(locator) && resp[locator].is_array()) {
      for (const json& e : resp[locator]) out.push_back(e);
    }
    next.clear();
    if (resp.contains("Pages") && resp["Pages"].is_object()) next = Str(resp["Pages"], "NextPage");
  }
  return std::optional<std::vector<json>>(std::move(out));
}

std::optional<std::string> SmugMugConnector::Remembered(const std::string& key) {
  {
    absl::MutexLock l(&mu_);
    auto it = ids_.find(key);
    if (it != ids_.end()) return it->second;
  }
  absl::StatusOr<std::string> id = dir_->Lookup(key);
  if (!id.ok()) return std::nullopt;
  absl::MutexLock l(&mu_);
  ids_[key] = *id;
  return *id;
}

void SmugMugConnector::Remember(const std::string& key, const std::string& id) {
  if (key.size() > 1024 || id.size() > 1024) return;  // the directory's limit
  {
    absl::MutexLock l(&mu_);
    auto it = ids_.find(key);
    if (it != ids_.end() && it->second == id) return;
    ids_[key] = id;
  }
  (void)dir_->Record(key, id);  // a failure costs a lookup next time, nothing else
}

void SmugMugConnector::Forget(const std::string& key) {
  {
    absl::MutexLock l(&mu_);
    ids_.erase(key);
  }
  (void)dir_->Forget(key);
}

absl::StatusOr<std::string> SmugMugConnector::RootNode() {
  {
    absl::MutexLock l(&mu_);
    if (!root_node_.empty()) return root_node_;
  }
  ASSIGN_OR_RETURN(http::Response r, Api("GET", "/api/v2!authuser", "find the account"));
  json j = json::parse(r.body, nullptr, false);
  std::string node;
  if (r.ok() && j.is_object() && j.contains("Response") && j["Response"].is_object())
    node = UriOf(j["Response"].value("User", json::object()), "Node");
  if (!absl::StartsWith(node, "/api/v2/node/") || node.size() == 13) {
    return absl::UnavailableError(absl::StrCat(
        "smugmug: GET ", o_.api, "/api/v2!authuser gave no root node (HTTP ", r.status, ")"));
  }
  node.erase(0, 13);  // "/api/v2/node/"
  absl::MutexLock l(&mu_);
  root_node_ = node;
  return node;
}

absl::StatusOr<std::vector<json>> SmugMugConnector::Children(const std::string& id,
                                                             const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::vector<json>> kids,
                   Pages(absl::StrCat("/api/v2/node/", id, "!children?start=1&count=", kPageCount),
                         "Node", absl::StrCat("list folder /", path)));
  if (!kids.has_value()) {
    if (path.empty()) return absl::UnavailableError("smugmug: the account's root node answers 404");
    Forget("node:" + path);
    return Stale(absl::StrCat("folder /", path, " is gone"));
  }
  return std::move(*kids);
}

absl::StatusOr<json> SmugMugConnector::CreateChild(const std::string& parent_id,
                                                   const std::string& parent_path, const char* type,
                                                   const std::string& name,
                                                   std::vector<json> kids) {
  const std::string what = absl::StrCat("create ", type, " /", Join(parent_path, name));
  for (int n = 1; n <= 50; ++n) {
    const std::string url_name = SmugMugUrlName(name, n);
    const bool taken = std::any_of(kids.begin(), kids.end(), [&](const json& k) {
      return absl::EqualsIgnoreCase(Str(k, "UrlName"), url_name);
    });
    if (taken) continue;
    json body = {{"Type", type}, {"Name", name}, {"UrlName", url_name}, {"Privacy", "Private"}};
    ASSIGN_OR_RETURN(http::Response r,
                     Api("POST", absl::StrCat("/api/v2/node/", parent_id, "!children"), what, &body,
                         /*also=*/409));
    if (r.status == 409) {
      // A sibling took the UrlName meanwhile (another worker may have made
      // this very node): look again.
      ASSIGN_OR_RETURN(kids, Children(parent_id, parent_path));
      for (const json& k : kids)
        if (Str(k, "Type") == type && Str(k, "Name") == name) return k;
      continue;
    }
    if (r.status == 404) {
      if (parent_path.empty())
        return absl::UnavailableError("smugmug: the account's root node answers 404");
      Forget("node:" + parent_path);
      return Stale(absl::StrCat("folder /", parent_path, " is gone"));
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("Response") && j["Response"].is_object() &&
        j["Response"].contains("Node"))
      return j["Response"]["Node"];
    return absl::UnavailableError(absl::StrCat("smugmug: ", what, ": the answer has no Node"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("smugmug: ", what, ": 50 UrlNames like ", SmugMugUrlName(name),
                   " are taken in /", parent_path, "; rename or remove some of them at SmugMug"));
}

absl::StatusOr<std::optional<std::string>> SmugMugConnector::FolderNode(const std::string& path,
                                                                        bool create) {
  if (path.empty()) {
    ASSIGN_OR_RETURN(std::string root, RootNode());
    return std::optional<std::string>(root);
  }
  const std::string key = "node:" + path;
  if (std::optional<std::string> id = Remembered(key)) return id;
  ASSIGN_OR_RETURN(std::optional<std::string> parent, FolderNode(Dirname(path), create));
  if (!parent) return parent;
  const std::string name = Basename(path);
  ASSIGN_OR_RETURN(std::vector<json> kids, Children(*parent, Dirname(path)));
  for (const json& k : kids) {
    if (Str(k, "Type") == "Folder" && Str(k, "Name") == name) {
      Remember(key, Str(k, "NodeID"));
      return std::optional<std::string>(Str(k, "NodeID"));
    }
  }
  if (!create) return std::optional<std::string>();
  ASSIGN_OR_RETURN(json node, CreateChild(*parent, Dirname(path), "Folder", name, std::move(kids)));
  const std::string id = Str(node, "NodeID");
  if (id.empty()) return absl::UnavailableError("smugmug: a created folder has no NodeID");
  Remember(key, id);
  return std::optional<std::string>(id);
}

absl::StatusOr<std::optional<std::string>> SmugMugConnector::Gallery(const std::string& path,
                                                                     bool create) {
  const std::string key = "gallery:" + path;
  if (std::optional<std::string> ak = Remembered(key)) return ak;
  ASSIGN_OR_RETURN(std::optional<std::string> parent, FolderNode(Dirname(path), create));
  if (!parent) return parent;
  const std::string name = Basename(path);
  auto album_key = [](const json& node) { return AlbumKeyOf(UriOf(node, "Album")); };
  ASSIGN_OR_RETURN(std::vector<json> kids, Children(*parent, Dirname(path)));
  for (const json& k : kids) {
    if (Str(k, "Type") == "Album" && Str(k, "Name") == name && !album_key(k).empty()) {
      Remember(key, album_key(k));
      return std::optional<std::string>(album_key(k));
    }
  }
  if (!create) return std::optional<std::string>();
  ASSIGN_OR_RETURN(json node, CreateChild(*parent, Dirname(path), "Album", name, std::move(kids)));
  const std::string ak = album_key(node);
  if (ak.empty()) return absl::UnavailableError("smugmug: a created gallery has no Album");
  Remember(key, ak);
  return std::optional<std::string>(ak);
}

absl::StatusOr<std::vector<Image>> SmugMugConnector::Images(const std::string& album_key,
                                                            const std::string& gallery_path) {
  {
    absl::MutexLock l(&mu_);
    auto it = images_.find(album_key);
    if (it != images_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(
      std::optional<std::vector<json>> items,
      Pages(absl::StrCat("/api/v2/album/", album_key, "!images?start=1&count=", kPageCount),
            "AlbumImage", absl::StrCat("list gallery /", gallery_path)));
  if (!items.has_value()) {
    Forget("gallery:" + gallery_path);
    return Stale(absl::StrCat("gallery /", gallery_path, " is gone"));
  }
  std::vector<Image> out;
  for (const json& j : *items) out.push_back(ImageFrom(j));
  absl::MutexLock l(&mu_);
  images_[album_key] = out;
  return out;
}

absl::StatusOr<Image> SmugMugConnector::Find(const SmugMugLocation& loc,
                                             const std::string& remote_path) {
  ASSIGN_OR_RETURN(std::optional<std::string> ak, Gallery(loc.gallery_path(), false));
  if (!ak) {
    return absl::NotFoundError(absl::StrCat("smugmug: ", remote_path, ": no gallery /",
                                            loc.gallery_path(), " in ", Describe()));
  }
  ASSIGN_OR_RETURN(std::vector<Image> images, Images(*ak, loc.gallery_path()));
  for (Image& i : images)
    if (i.file_name == loc.file) return std::move(i);
  return absl::NotFoundError(absl::StrCat("smugmug: no image ", loc.file, " in gallery /",
                                          loc.gallery_path(), " of ", Describe()));
}

absl::StatusOr<RemoteObject> SmugMugConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  // Content-MD5 precedes the body: a first pass for the digest, the bytes
  // in a second.
  ASSIGN_OR_RETURN(SmugMugDigest d, SmugMugMd5(src));
  if (d.size != req.size) {
    return absl::DataLossError(absl::StrCat("smugmug: ", req.remote_path, ": the source gave ",
                                            d.size, " bytes, the file has ", req.size));
  }
  const bool by_album = template_ && !req.album.empty();
  const SmugMugLocation loc =
      SmugMugLocate(o_.folder, req.remote_path, by_album ? req.album : std::string());
  ASSIGN_OR_RETURN(RemoteObject o, Fresh([&] { return PutOnce(req, src, loc, d, progress); }));
  if (by_album) Remember("file:" + req.remote_path, loc.gallery_path());
  if (!req.album.empty()) Remember("album:" + req.album, loc.gallery_path());
  return o;
}

absl::StatusOr<RemoteObject> SmugMugConnector::PutOnce(
    const PutRequest& req, ByteSource* src, const SmugMugLocation& loc, const SmugMugDigest& d,
    const std::function<void(const Progress&)>& progress) {
  const std::string gpath = loc.gallery_path();
  ASSIGN_OR_RETURN(std::optional<std::string> ak, Gallery(gpath, true));
  ASSIGN_OR_RETURN(std::vector<Image> images, Images(*ak, gpath));
  std::optional<Image> existing;
  for (const Image& i : images)
    if (i.file_name == loc.file) existing = i;
  if (existing && existing->md5 == d.md5_hex && existing->size == req.size) {
    if (progress) progress(Progress{req.size});
    return ToRemote(req.remote_path, *existing);  // these bytes are there: nothing to send
  }

  std::vector<std::string> keywords;
  if (o_.keywords) {
    for (std::string k : req.keywords) {
      std::replace(k.begin(), k.end(), ';', ',');
      for (char& c : k)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      if (!k.empty()) keywords.push_back(k);
    }
  }
  if (req.sha256.size() == 32) keywords.push_back("shoebox:sha256=" + ToHex(req.sha256));
  keywords.push_back("shoebox:md5=" + d.md5_hex);
  std::string title = DecodeServiceName(loc.file);
  if (const size_t dot = title.rfind('.'); dot != std::string::npos && dot > 0) title.resize(dot);
  title = EncodeServiceName(title, SmugMugNameRules());  // no control characters in a header

  RETURN_IF_ERROR(src->Rewind());
  http::Request r{.method = "POST", .url = o_.upload + "/"};
  r.headers = {{"Accept", "application/json"},
               {"Content-MD5", d.md5_base64},
               {"X-Smug-AlbumUri", "/api/v2/album/" + *ak},
               {"X-Smug-ResponseType", "JSON"},
               {"X-Smug-Version", "v2"},
               {"X-Smug-FileName", loc.file},
               {"X-Smug-Title", title},
               {"X-Smug-Keywords", absl::StrJoin(keywords, "; ")},
               {"Content-Type", "application/octet-stream"},
               {"Expect", ""}};
  if (existing) r.headers.push_back({"X-Smug-ImageUri", existing->image_uri});
  r.body_source = src;
  r.body_length = req.size;
  r.body_source_rewinds = true;
  if (progress) r.on_sent = [&](uint64_t n) { progress(Progress{n}); };
  const std::string what = absl::StrCat("upload ", req.remote_path, " to gallery /", gpath);
  ASSIGN_OR_RETURN(http::Response resp, Send(std::move(r), what));
  DropImages(*ak);
  if (resp.status == 404) {
    // The gallery (or the image to replace) went away since it was listed.
    Forget("gallery:" + gpath);
    return Stale(absl::StrCat("gallery /", gpath, " is gone"));
  }
  json j = json::parse(resp.body, nullptr, false);
  const std::string aiu =
      j.is_object() ? Str(j.value("Image", json::object()), "AlbumImageUri") : std::string();
  if (Str(j, "stat") != "ok" || aiu.empty()) {
    return absl::UnavailableError(absl::StrCat("smugmug: ", what, ": the answer is not a ",
                                               "successful upload: ", resp.body.substr(0, 200)));
  }
  ASSIGN_OR_RETURN(http::Response got, Api("GET", aiu, "read back " + req.remote_path));
  json g = json::parse(got.body, nullptr, false);
  if (got.status == 404 || !g.is_object() || !g.contains("Response") ||
      !g["Response"].contains("AlbumImage")) {
    return absl::UnavailableError(
        absl::StrCat("smugmug: ", req.remote_path, ": the uploaded image cannot be read back"));
  }
  const Image img = ImageFrom(g["Response"]["AlbumImage"]);
  if (img.md5 != d.md5_hex || img.size != req.size) {
    return absl::UnavailableError(absl::StrCat(
        "smugmug: ", req.remote_path, ": SmugMug reports MD5 ", img.md5, " and ", img.size,
        " bytes, the file has ", d.md5_hex, " and ", req.size, "; the upload will be retried"));
  }
  if (progress) progress(Progress{req.size});
  return ToRemote(req.remote_path, img);
}

absl::StatusOr<RemoteObject> SmugMugConnector::Stat(const std::string& remote_path) {
  return Fresh([&]() -> absl::StatusOr<RemoteObject> {
    ASSIGN_OR_RETURN(Image i, Find(Where(remote_path), remote_path));
    return ToRemote(remote_path, i);
  });
}

absl::Status SmugMugConnector::Get(const std::string& remote_path,
                                   const std::function<absl::Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(Image img, Fresh([&] { return Find(Where(remote_path), remote_path); }));
  std::string url = img.archived_uri;
  if (absl::StartsWith(url, "/")) url = o_.api + url;
  for (int hops = 0; hops <= 5; ++hops) {
    uint64_t got = 0;
    http::Request r{.method = "GET", .url = url};
    r.sink = [&](std::string_view b) {
      got += b.size();
      return sink(b);
    };
    ASSIGN_OR_RETURN(http::Response resp, client_.Send(r));
    if (resp.status >= 300 && resp.status < 400 && !resp.Header("location").empty()) {
      // The http client never follows redirects; the ArchivedUri does
      // redirect (a CDN), so follow it here, a few hops at most.
      std::string loc = resp.Header("location");
      if (absl::StartsWith(loc, "/")) {
        absl::StatusOr<http::UrlParts> u = http::ParseHttpUrl(url);
        if (!u.ok()) return u.status();
        loc = u->Origin() + loc;
      }
      url = loc;
      continue;
    }
    if (!resp.ok()) return SmugMugError(resp, "download " + remote_path, o_.destination);
    if (got != img.size) {
      return absl::UnavailableError(absl::StrCat("smugmug: download of ", remote_path,
                                                 " ended after ", got, " of ", img.size, " bytes"));
    }
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("smugmug: download of ", remote_path, ": more than 5 redirects"));
}

absl::Status SmugMugConnector::Delete(const std::string& remote_path) {
  return Fresh([&]() -> absl::Status {
    const SmugMugLocation loc = Where(remote_path);
    absl::StatusOr<Image> img = Find(loc, remote_path);
    if (absl::IsNotFound(img.status())) return absl::OkStatus();
    if (!img.ok()) return img.status();
    RETURN_IF_ERROR(Api("DELETE", img->album_image_uri, "delete " + remote_path).status());
    std::optional<std::string> ak = Remembered("gallery:" + loc.gallery_path());
    if (ak) DropImages(*ak);
    if (template_) Forget("file:" + remote_path);
    return absl::OkStatus();
  });
}

absl::Status SmugMugConnector::EnsureFolder(const std::string& folder) {
  // A template album rule decides the gallery per file: Put creates it.
  if (template_ || folder.empty()) return absl::OkStatus();
  const SmugMugLocation loc = SmugMugLocate(o_.folder, folder + "/x");
  return Fresh([&]() -> absl::Status { return Gallery(loc.gallery_path(), true).status(); });
}

absl::Status SmugMugConnector::Walk(const std::string& id, const std::string& path,
                                    const std::string& rel, std::vector<RemoteObject>* out) {
  ASSIGN_OR_RETURN(std::vector<json> kids, Children(id, path));
  for (const json& k : kids) {
    const std::string name = Str(k, "Name");
    const std::string child = Join(path, name);
    const std::string child_rel = Join(rel, DecodeServiceName(name));
    if (Str(k, "Type") == "Folder") {
      Remember("node:" + child, Str(k, "NodeID"));
      RETURN_IF_ERROR(Walk(Str(k, "NodeID"), child, child_rel, out));
    } else if (Str(k, "Type") == "Album") {
      const std::string ak = AlbumKeyOf(UriOf(k, "Album"));
      if (ak.empty()) continue;
      Remember("gallery:" + child, ak);
      ASSIGN_OR_RETURN(std::vector<Image> images, Images(ak, child));
      for (const Image& i : images)
        out->push_back(ToRemote(Join(child_rel, DecodeServiceName(i.file_name)), i));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RemoteObject>> SmugMugConnector::List(const std::string& prefix) {
  return Fresh([&]() -> absl::StatusOr<std::vector<RemoteObject>> {
    std::vector<RemoteObject> out;
    const std::string full =
        prefix.empty()
            ? o_.folder
            : absl::StrCat(o_.folder, "/", EncodeServicePath(prefix, SmugMugNameRules()));
    ASSIGN_OR_RETURN(std::optional<std::string> ak, Gallery(full, false));
    if (ak) {
      ASSIGN_OR_RETURN(std::vector<Image> images, Images(*ak, full));
      for (const Image& i : images)
        out.push_back(ToRemote(Join(prefix, DecodeServiceName(i.file_name)), i));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> folder, FolderNode(full, false));
    if (folder) RETURN_IF_ERROR(Walk(*folder, full, prefix, &out));
    std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
      return a.remote_path < b.remote_path;
    });
    return out;
  });
}

absl::StatusOr<std::string> SmugMugConnector::GalleryTitled(const std::string& id,
                                                            const std::string& path,
                                                            const std::string& title) {
  ASSIGN_OR_RETURN(std::vector<json> kids, Children(id, path));
  for (const json& k : kids) {
    const std::string child = Join(path, Str(k, "Name"));
    std::string as_title = RelativeOf(child);  // the folder rule: '/' read as ' '
    std::replace(as_title.begin(), as_title.end(), '/', ' ');
    if (Str(k, "Type") == "Album" && as_title == title) return child;
    if (Str(k, "Type") == "Folder" && absl::StartsWith(title, as_title + " ")) {
      ASSIGN_OR_RETURN(std::string found, GalleryTitled(Str(k, "NodeID"), child, title));
      if (!found.empty()) return found;
    }
  }
  return std::string();
}

absl::StatusOr<std::vector<RemoteObject>> SmugMugConnector::ListAlbum(const std::string& album) {
  return Fresh([&]() -> absl::StatusOr<std::vector<RemoteObject>> {
    std::optional<std::string> known = Remembered("album:" + album);
    if (!known && !template_) {
      // Nothing remembered (a lost catalog): the folder rule's gallery of
      // this title, found in the node tree.
      ASSIGN_OR_RETURN(std::optional<std::string> root, FolderNode(o_.folder, false));
      if (root) {
        ASSIGN_OR_RETURN(std::string found, GalleryTitled(*root, o_.folder, album));
        if (!found.empty()) {
          Remember("album:" + album, found);
          known = found;
        }
      }
    }
    std::string gpath =
        known.value_or(o_.folder + "/" + EncodeServiceName(album, SmugMugNameRules()));
    ASSIGN_OR_RETURN(std::optional<std::string> ak, Gallery(gpath, false));
    if (!ak) {
      return absl::NotFoundError(absl::StrCat("smugmug: no gallery for album \"", album, "\" (/",
                                              gpath, ") in ", Describe()));
    }
    ASSIGN_OR_RETURN(std::vector<Image> images, Images(*ak, gpath));
    const std::string rel = RelativeOf(gpath);
    std::vector<RemoteObject> out;
    for (const Image& i : images)
      out.push_back(ToRemote(Join(rel, DecodeServiceName(i.file_name)), i));
    return out;
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connector>> MakeSmugMugConnector(SmugMugOptions o) {
  o.folder = std::string(absl::StripSuffix(absl::StripPrefix(o.folder, "/"), "/"));
  if (o.folder.empty()) {
    return absl::InvalidArgumentError(
        "smugmug destination: setting 'folder' must name a folder (e.g. \"Shoebox\"); galleries "
        "are not created at the top of the account; fix it with `shoebox dest set`");
  }
  o.folder = EncodeServicePath(o.folder, SmugMugNameRules());
  o.api = std::string(absl::StripSuffix(o.api, "/"));
  o.upload = std::string(absl::StripSuffix(o.upload, "/"));
  return std::unique_ptr<Connector>(new SmugMugConnector(std::move(o)));
}

absl::StatusOr<std::unique_ptr<Connector>> MakeSmugMugConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  // Keys, types and defaults: common/destination_kinds.cc.
  const SettingsReader in("smugmug", settings, credentials);
  SmugMugOptions o;
  o.destination = env.destination_name;
  o.directory = env.albums;
  ASSIGN_OR_RETURN(o.api, in.String("endpoint"));
  ASSIGN_OR_RETURN(o.upload, in.String("upload_endpoint"));
  ASSIGN_OR_RETURN(o.folder, ServiceFolderSetting("smugmug", in, /*root_allowed=*/false));
  ASSIGN_OR_RETURN(o.albums, in.String("albums"));
  ASSIGN_OR_RETURN(o.keywords, in.Bool("keywords"));
  ASSIGN_OR_RETURN(int64_t timeout_s, in.Int("timeout_s"));
  o.timeout = absl::Seconds(timeout_s);
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  ASSIGN_OR_RETURN(o.credentials.consumer_key, in.String("api_key"));
  ASSIGN_OR_RETURN(o.credentials.consumer_secret, in.String("api_secret", /*secret=*/true));
  ASSIGN_OR_RETURN(o.credentials.token, in.String("oauth_token", /*secret=*/true));
  ASSIGN_OR_RETURN(o.credentials.token_secret, in.String("oauth_token_secret", /*secret=*/true));
  const std::string name = env.destination_name.empty() ? "NAME" : env.destination_name;
  if (o.credentials.consumer_secret.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("smugmug destination '", env.destination_name,
                     "' has no api_secret: set the secret of your API key with `shoebox dest set ",
                     name, " --secret api_secret=-`"));
  }
  if (o.credentials.token.empty() || o.credentials.token_secret.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "smugmug destination '", env.destination_name,
        "' is not connected to an account yet: run `shoebox dest connect ", name, "`"));
  }
  o.account_key = absl::StrCat("smugmug\n", env.destination_name, "\n", o.api, "\n",
                               o.credentials.consumer_key, "\n", o.credentials.token);
  ASSIGN_OR_RETURN(std::unique_ptr<Connector> c, MakeSmugMugConnector(std::move(o)));
  return std::unique_ptr<Connector>(
      std::make_unique<RetryingConnector>(std::move(c), RetryOptions{}));
}

SHOEBOX_REGISTER_CONNECTOR("smugmug", MakeSmugMugConnectorFromSettings);

}  // namespace shoebox::worker
