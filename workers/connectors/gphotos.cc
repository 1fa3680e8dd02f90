#include "workers/connectors/gphotos.h"
#include "workers/connectors/gphotos_connector.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/destination_kinds.h"
#include "common/http/request_gate.h"
#include "common/http/url.h"
#include "common/status.h"
#include "workers/connectors/service_names.h"
#include "workers/connectors/service_settings.h"

namespace shoebox::worker {
namespace gphotos_internal {

std::shared_ptr<Account> AccountFor(const std::string& key) {
  if (key.empty()) return std::make_shared<Account>();
  static absl::Mutex mu(absl::kConstInit);
  static auto* by_key = new std::map<std::string, std::shared_ptr<Account>>();
  absl::MutexLock l(&mu);
  std::shared_ptr<Account>& a = (*by_key)[key];
  if (a == nullptr) a = std::make_shared<Account>();
  return a;
}

std::string GoogleMessage(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
  const json& m = j["error"]["message"];
  return m.is_string() ? m.get<std::string>() : "";
}

bool IsAlbumFull(absl::string_view message) {
  const std::string m = absl::AsciiStrToLower(message);
  return absl::StrContains(m, "album") &&
         (absl::StrContains(m, "limit") || absl::StrContains(m, "full"));
}

std::string BaseName(const std::string& path) {
  size_t s = path.rfind('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

std::string DirKey(const std::string& title, int part) {
  return part <= 1 ? title : absl::StrCat(title, "#", part);
}

std::string PartTitle(const std::string& title, int part) {
  std::string t = EncodeServiceName(title, GooglePhotosNameRules());
  return part <= 1 ? t : absl::StrCat(t, " (", part, ")");
}

Item FromJson(const json& j, const ItemMeta& meta, absl::Time now) {
  Item it;
  it.id = j.value("id", "");
  it.meta = meta;
  it.file_name = j.value("filename", "");
  it.seen = now;
  return it;
}

absl::StatusOr<http::Response> GooglePhotosConnector::Api(const http::Request& req) const {
  for (int attempt = 0;; ++attempt) {
    RETURN_IF_ERROR(budget_->Take(Now()));
    ASSIGN_OR_RETURN(std::string token, tokens_->AccessToken());
    http::Request r = req;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    ASSIGN_OR_RETURN(http::Response resp, client_.Send(r));
    if (resp.status == 401 && attempt == 0) {
      tokens_->Invalidate(token);
      if (req.body_source == nullptr) continue;
    }
    if (resp.status == 429) {
      if (resp.Header("retry-after").empty()) budget_->Exhaust(Now());
      return ApiError(resp, absl::StrCat(Describe()), "", Now());
    }
    return resp;
  }
}

absl::StatusOr<json> GooglePhotosConnector::JsonCall(const std::string& method,
                                                     const std::string& url, const json& body,
                                                     const char* scope,
                                                     const std::string& what) const {
  const std::string b = body.is_null() ? "" : body.dump();
  http::Request r{.method = method, .url = url, .body = b};
  if (!body.is_null()) r.headers = {{"Content-Type", "application/json"}};
  ASSIGN_OR_RETURN(http::Response resp, Api(r));
  if (resp.status != 200) return ApiError(resp, what, scope, Now());
  json j = json::parse(resp.body.empty() ? std::string("{}") : resp.body, nullptr, false);
  if (!j.is_object()) {
    return absl::UnavailableError(absl::StrCat(what, ": the answer of ", url, " is not JSON"));
  }
  return j;
}

absl::Status GooglePhotosConnector::Load() {
  const absl::Time start = Now();
  absl::MutexLock load(&acct_->load_mu);
  {
    absl::MutexLock l(&acct_->mu);
    if (acct_->loaded && acct_->loaded_at >= start) return absl::OkStatus();  // just done
  }
  std::map<std::string, std::vector<Item>> fresh;
  std::string page;
  int64_t pages = 0;
  do {
    std::string url = absl::StrCat(o_.endpoint, "/v1/mediaItems?pageSize=100");
    if (!page.empty()) absl::StrAppend(&url, "&pageToken=", http::PercentEncode(page, false));
    ASSIGN_OR_RETURN(json j,
                     JsonCall("GET", url, nullptr, kReadAppCreated,
                              absl::StrCat("list the items Shoebox created in ", Describe())));
    if (j.contains("mediaItems") && j["mediaItems"].is_array()) {
      for (const json& m : j["mediaItems"]) {
        if (!m.is_object()) continue;
        std::optional<ItemMeta> meta = ParseDescription(m.value("description", ""));
        if (!meta) continue;
        fresh[meta->key].push_back(FromJson(m, *meta, start));
      }
    }
    page = j.value("nextPageToken", "");
    ++pages;
  } while (!page.empty());
  absl::MutexLock l(&acct_->mu);
  // Keep what this process learnt while the listing ran.
  for (auto& [key, items] : acct_->by_key) {
    for (const Item& it : items) {
      if (it.seen < start) continue;
      std::vector<Item>& f = fresh[key];
      auto same = std::find_if(f.begin(), f.end(), [&](const Item& x) { return x.id == it.id; });
      if (same == f.end()) {
        f.push_back(it);
      } else {
        *same = it;
      }
    }
  }
  acct_->by_key = std::move(fresh);
  acct_->loaded = true;
  acct_->loaded_at = Now();
  acct_->loaded_pages = pages;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Item>> GooglePhotosConnector::Lookup(const std::string& key) {
  {
    absl::MutexLock l(&acct_->mu);
    if (acct_->loaded) {
      auto it = acct_->by_key.find(key);
      if (it != acct_->by_key.end() && !it->second.empty()) return it->second;
      const absl::Duration ttl = std::max(kIndexTtl, kIndexTtlPerPage * acct_->loaded_pages);
      if (Now() - acct_->loaded_at < ttl) return std::vector<Item>{};
    }
  }
  RETURN_IF_ERROR(Load());
  absl::MutexLock l(&acct_->mu);
  auto it = acct_->by_key.find(key);
  return it == acct_->by_key.end() ? std::vector<Item>{} : it->second;
}

void GooglePhotosConnector::Remember(const Item& item) {
  absl::MutexLock l(&acct_->mu);
  std::vector<Item>& v = acct_->by_key[item.meta.key];
  auto same = std::find_if(v.begin(), v.end(), [&](const Item& x) { return x.id == item.id; });
  if (same == v.end()) {
    v.push_back(item);
  } else {
    *same = item;
  }
}

void GooglePhotosConnector::Drop(const std::string& key, const std::string& id) {
  absl::MutexLock l(&acct_->mu);
  auto it = acct_->by_key.find(key);
  if (it == acct_->by_key.end()) return;
  std::vector<Item>& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const Item& x) { return x.id == id; }), v.end());
}

absl::StatusOr<json> GooglePhotosConnector::GetItemJson(const std::string& id) const {
  return JsonCall("GET", absl::StrCat(o_.endpoint, "/v1/mediaItems/", http::EncodePathSegment(id)),
                  nullptr, kReadAppCreated,
                  absl::StrCat("get media item ", id, " of ", Describe()));
}

absl::StatusOr<std::pair<Item, json>> GooglePhotosConnector::Find(const std::string& remote_path) {
  const std::string key = PathKey(remote_path);
  ASSIGN_OR_RETURN(std::vector<Item> items, Lookup(key));
  // The newest active one (a crash between creating a new version and
  // retiring the old can leave two; the next Put retires the older).
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (it->meta.retired) continue;
    absl::StatusOr<json> j = GetItemJson(it->id);
    if (absl::IsNotFound(j.status())) {
      Drop(key, it->id);
      continue;
    }
    if (!j.ok()) return j.status();
    std::optional<ItemMeta> meta = ParseDescription(j->value("description", ""));
    if (!meta || meta->key != key) {
      Drop(key, it->id);
      continue;
    }
    Item fresh = FromJson(*j, *meta, Now());
    Remember(fresh);
    if (meta->retired) continue;
    return std::make_pair(fresh, *j);
  }
  return absl::NotFoundError(absl::StrCat(Where(remote_path), ": not found"));
}

RemoteObject GooglePhotosConnector::ToRemote(const Item& it, const std::string& path) const {
  RemoteObject o;
  o.remote_path = path;
  o.size = it.meta.size;
  o.checksum = "sha256:" + it.meta.sha256_hex;
  o.ref = it.id;
  return o;
}

absl::StatusOr<RemoteObject> GooglePhotosConnector::Stat(const std::string& remote_path) {
  ASSIGN_OR_RETURN(auto found, Find(remote_path));
  return ToRemote(found.first, remote_path);
}

absl::StatusOr<std::vector<RemoteObject>> GooglePhotosConnector::List(const std::string& prefix) {
  std::string start(absl::StripSuffix(absl::StripPrefix(prefix, "/"), "/"));
  {
    absl::MutexLock l(&acct_->mu);
    acct_->loaded_at = absl::InfinitePast();  // a listing is always fresh
  }
  RETURN_IF_ERROR(Load());
  std::vector<RemoteObject> out;
  absl::MutexLock l(&acct_->mu);
  for (const auto& [key, items] : acct_->by_key) {
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      if (it->meta.retired || it->meta.path.empty()) continue;
      const std::string& p = it->meta.path;
      if (!start.empty() && p != start && !absl::StartsWith(p, start + "/")) break;
      out.push_back(ToRemote(*it, p));
      break;  // one per path: the newest active
    }
  }
  std::sort(out.begin(), out.end(), [](const RemoteObject& a, const RemoteObject& b) {
    return a.remote_path < b.remote_path;
  });
  return out;
}

absl::Status GooglePhotosConnector::Get(const std::string& remote_path,
                                        const std::function<absl::Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(auto found, Find(remote_path));
  const json& j = found.second;
  const std::string base = j.value("baseUrl", "");
  if (base.empty()) {
    return absl::UnavailableError(
        absl::StrCat("download ", Where(remote_path), ": mediaItems.get gave no baseUrl"));
  }
  // Photos download with "=d" (original bytes and metadata but location),
  // videos with "=dv". Base URLs need no token; their bytes are not counted
  // in the Library API budget. Redirects are followed here, by hand.
  const bool video = absl::StartsWith(j.value("mimeType", ""), "video/") ||
                     (j.contains("mediaMetadata") && j["mediaMetadata"].is_object() &&
                      j["mediaMetadata"].contains("video"));
  std::string url = base + (video ? "=dv" : "=d");
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    ASSIGN_OR_RETURN(http::Response r, client_.Send(http::Request{.url = url, .sink = sink}));
    if (r.ok()) return absl::OkStatus();
    const std::string location = r.Header("location");
    if (r.status >= 300 && r.status < 400 && !location.empty()) {
      url = location;
      continue;
    }
    return http::ErrorStatus(r, absl::StrCat("download ", Where(remote_path)));
  }
  return absl::UnavailableError(
      absl::StrCat("download ", Where(remote_path), ": more than ", kMaxRedirects, " redirects"));
}

absl::Status GooglePhotosConnector::SetDescription(Item* it, const ItemMeta& meta) {
  ASSIGN_OR_RETURN(
      json j, JsonCall("PATCH",
                       absl::StrCat(o_.endpoint, "/v1/mediaItems/", http::EncodePathSegment(it->id),
                                    "?updateMask=description"),
                       json{{"description", MakeDescription(meta)}}, kEditAppCreated,
                       absl::StrCat("update the description of media item ", it->id)));
  (void)j;
  it->meta = meta;
  it->seen = Now();
  Remember(*it);
  return absl::OkStatus();
}

absl::Status GooglePhotosConnector::Retire(Item it) {
  if (!it.meta.album_id.empty()) {
    absl::StatusOr<json> r =
        JsonCall("POST",
                 absl::StrCat(o_.endpoint, "/v1/albums/", http::EncodePathSegment(it.meta.album_id),
                              ":batchRemoveMediaItems"),
                 json{{"mediaItemIds", {it.id}}}, kEditAppCreated,
                 absl::StrCat("remove media item ", it.id, " from its album"));
    // The album is gone or no longer holds it: nothing to remove.
    if (!r.ok() && !absl::IsNotFound(r.status()) && !absl::IsFailedPrecondition(r.status())) {
      return r.status();
    }
  }
  ItemMeta meta = it.meta;
  meta.retired = true;
  absl::Status s = SetDescription(&it, meta);
  if (absl::IsNotFound(s)) {
    Drop(it.meta.key, it.id);
    return absl::OkStatus();
  }
  return s;
}

absl::Status GooglePhotosConnector::Delete(const std::string& remote_path) {
  ASSIGN_OR_RETURN(std::vector<Item> items, Lookup(PathKey(remote_path)));
  for (const Item& it : items) {
    if (!it.meta.retired) RETURN_IF_ERROR(Retire(it));
  }
  return absl::OkStatus();
}

absl::StatusOr<RemoteObject> GooglePhotosConnector::Put(
    const PutRequest& req, ByteSource* src, const std::function<void(const Progress&)>& progress) {
  // Limits first: nothing is sent for a file the service would refuse.
  RETURN_IF_ERROR(gphotos_internal::CheckSizeLimit(req.remote_path, req.size));
  const std::string key = PathKey(req.remote_path);
  const std::string sha = ToHex(req.sha256);
  json state = LoadState(req);
  auto done = [&](const Item& it) -> absl::StatusOr<RemoteObject> {
    SaveState(req, json::object());
    if (progress) progress(Progress{req.size});
    return ToRemote(it, req.remote_path);
  };

  // An earlier attempt created the item and stopped before it was recorded.
  if (const std::string id = state.value("item", ""); !id.empty()) {
    absl::StatusOr<json> j = GetItemJson(id);
    if (j.ok()) {
      std::optional<ItemMeta> meta = ParseDescription(j->value("description", ""));
      if (meta && !meta->retired && meta->key == key && meta->sha256_hex == sha) {
        Remember(FromJson(*j, *meta, Now()));
      }
    } else if (!absl::IsNotFound(j.status())) {
      return j.status();
    }
  }
  ASSIGN_OR_RETURN(std::vector<Item> items, Lookup(key));
  auto same = [&](const Item& it) { return it.meta.sha256_hex == sha && it.meta.size == req.size; };
  auto retire_others = [&](const std::string& keep) -> absl::Status {
    for (const Item& it : items) {
      if (it.id != keep && !it.meta.retired) RETURN_IF_ERROR(Retire(it));
    }
    return absl::OkStatus();
  };
  // Already there: nothing is uploaded again; it goes into its album.
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (!it->meta.retired && same(*it)) {
      RETURN_IF_ERROR(retire_others(it->id));
      ASSIGN_OR_RETURN(Item placed, IntoAlbum(*it, req.album));
      return done(placed);
    }
  }
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    if (it->meta.retired && same(*it)) {
      ASSIGN_OR_RETURN(Item revived, Revive(*it, req.album));
      RETURN_IF_ERROR(retire_others(revived.id));
      return done(revived);
    }
  }

  bool uploaded_again = false;
  int album_retries = 0;
  while (true) {
    std::string token = state.value("token", "");
    const int64_t token_at = state.value("token_at", int64_t{0});
    if (token.empty() || absl::FromUnixSeconds(token_at) + kTokenLife < Now()) {
      ASSIGN_OR_RETURN(token, Upload(req, src, progress, &state));
      state = json{{"token", token}, {"token_at", absl::ToUnixSeconds(Now())}};
      SaveState(req, state);
    }
    std::pair<std::string, int> album{"", 0};
    if (!req.album.empty()) {
      ASSIGN_OR_RETURN(album, CurrentAlbum(req.album));
    }
    ItemMeta meta{.key = key,
                  .sha256_hex = sha,
                  .size = req.size,
                  .album_id = album.first,
                  .path = req.remote_path};
    Pending p{.token = token,
              .file_name = EncodeServiceName(BaseName(req.remote_path), GooglePhotosNameRules()),
              .description = MakeDescription(meta),
              .album_id = album.first};
    Commit(&p);
    std::string problem = p.call_message;
    int code = 0;
    if (p.call_status.ok()) {
      const json& st = p.result.contains("status") ? p.result["status"] : json::object();
      code = st.is_object() ? st.value("code", 0) : 0;
      problem = st.is_object() ? st.value("message", "") : "";
      const json& m = p.result.contains("mediaItem") ? p.result["mediaItem"] : json();
      if (code == 0 && m.is_object() && !m.value("id", "").empty()) {
        Item created = FromJson(m, meta, Now());
        Remember(created);
        state = json{{"item", created.id}};
        SaveState(req, state);
        RETURN_IF_ERROR(retire_others(created.id));
        return done(created);
      }
    }
    if (!album.first.empty() && album_retries < 3) {
      if (IsAlbumFull(problem)) {
        ++album_retries;
        NextPart(req.album, album.second);
        continue;
      }
      if (absl::IsNotFound(p.call_status) ||
          (absl::StrContains(absl::AsciiStrToLower(problem), "album") &&
           absl::StrContains(absl::AsciiStrToLower(problem), "not found"))) {
        ++album_retries;  // deleted at the service: make it again
        ForgetAlbum(req.album, album.second);
        continue;
      }
    }
    if (!p.call_status.ok()) return p.call_status;
    if (gphotos_internal::IsUploadTokenRefusal(code, problem) && !uploaded_again) {
      uploaded_again = true;  // expired or already used: send the bytes again
      state = json::object();
      SaveState(req, state);
      RETURN_IF_ERROR(src->Seek(0));
      continue;
    }
    return ItemError(code, problem, req.remote_path);
  }
}

}  // namespace gphotos_internal

absl::StatusOr<GooglePhotosOptions> GooglePhotosOptionsFromSettings(
    const nlohmann::json& settings) {
  // Keys, types, ranges and defaults: common/destination_kinds.cc.
  const SettingsReader in("gphotos", settings, nlohmann::json::object());
  GooglePhotosOptions o;
  ASSIGN_OR_RETURN(std::string endpoint, in.String("endpoint"));
  endpoint = std::string(absl::StripSuffix(endpoint, "/"));
  if (!endpoint.empty()) o.endpoint = endpoint;
  ASSIGN_OR_RETURN(std::string upload, in.String("upload_endpoint"));
  if (!upload.empty()) {
    o.upload_endpoint = upload;
  } else if (!endpoint.empty()) {
    o.upload_endpoint = endpoint + "/v1/uploads";
  }
  ASSIGN_OR_RETURN(o.timeout_s, in.Int("timeout_s"));
  ASSIGN_OR_RETURN(int64_t per_s, in.Int("max_requests_per_s"));
  o.max_requests_per_s = static_cast<int>(per_s);
  ASSIGN_OR_RETURN(int64_t mib, in.Int("chunk_size_mib"));
  o.chunk_bytes = static_cast<uint64_t>(mib) << 20;
  ASSIGN_OR_RETURN(o.daily_request_budget, in.Int("daily_request_budget"));
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> MakeGooglePhotosConnector(
    const GooglePhotosOptions& o, std::shared_ptr<http::TokenSource> tokens) {
  if (tokens == nullptr) {
    return absl::InvalidArgumentError(
        "gphotos destination: no access token source; connect the destination with `shoebox "
        "dest connect NAME`");
  }
  if (o.chunk_bytes == 0) {
    return absl::InvalidArgumentError("gphotos destination: the chunk size must not be 0");
  }
  return std::unique_ptr<Connector>(
      new gphotos_internal::GooglePhotosConnector(o, std::move(tokens)));
}

namespace {

absl::StatusOr<std::unique_ptr<Connector>> MakeGooglePhotosConnectorFromSettings(
    const nlohmann::json& settings, const nlohmann::json& credentials,
    const ConnectorEnvironment& env) {
  ASSIGN_OR_RETURN(GooglePhotosOptions o, GooglePhotosOptionsFromSettings(settings));
  o.albums = env.albums;
  o.destination_name = env.destination_name;
  // The budget is the project's: one per OAuth client and service.
  const SettingsReader in("gphotos", settings, credentials);
  o.budget_key = absl::StrCat("gphotos\n", o.endpoint, "\n", in.String("client_id").value_or(""));
  return MakeServiceConnector(
      "gphotos", settings, credentials, env,
      [&](const std::string& account_key, std::shared_ptr<http::TokenSource> tokens) {
        o.account_key = account_key;
        return MakeGooglePhotosConnector(o, std::move(tokens));
      });
}

}  // namespace

SHOEBOX_REGISTER_CONNECTOR("gphotos", MakeGooglePhotosConnectorFromSettings);

}  // namespace shoebox::worker
