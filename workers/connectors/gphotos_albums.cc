// Albums and the batchCreate turn of the Google Photos connector
// (gphotos_connector.h).
#include <algorithm>
#include <map>
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

absl::StatusOr<std::string> GooglePhotosConnector::AlbumAtService(const std::string& title) {
  // albums.list with the 2025 scopes lists only the albums this app
  // created, which are all the albums Shoebox puts items into (it can add
  // to no other): a user's own album of the same title is never reused.
  std::string page;
  do {
    std::string url = absl::StrCat(o_.endpoint, "/v1/albums?pageSize=50");
    if (!page.empty()) absl::StrAppend(&url, "&pageToken=", http::PercentEncode(page, false));
    ASSIGN_OR_RETURN(json j, JsonCall("GET", url, nullptr, kReadAppCreated,
                                      absl::StrCat("list the albums of ", Describe())));
    if (j.contains("albums") && j["albums"].is_array()) {
      for (const json& a : j["albums"]) {
        if (a.is_object() && a.value("title", "") == title && !a.value("id", "").empty())
          return a.value("id", "");
      }
    }
    page = j.value("nextPageToken", "");
  } while (!page.empty());
  return std::string();
}

absl::StatusOr<std::string> GooglePhotosConnector::KnownAlbum(const std::string& title, int part) {
  absl::StatusOr<std::string> id = albums_->Lookup(DirKey(title, part));
  if (!absl::IsNotFound(id.status())) return id;
  // Nothing recorded: a lost catalog, or an album deleted at the service
  // and forgotten (then the listing does not hold it either).
  ASSIGN_OR_RETURN(std::string found, AlbumAtService(PartTitle(title, part)));
  if (found.empty()) return found;
  return albums_->RecordFirst(DirKey(title, part), found);
}

absl::StatusOr<Item> GooglePhotosConnector::IntoAlbum(Item it, const std::string& title) {
  if (title.empty()) return it;
  ASSIGN_OR_RETURN(auto album, CurrentAlbum(title));
  // In this album (its current or an earlier, full part): nothing to do.
  // The description says which album the item was put into; an item a user
  // took out by hand is not noticed (that would cost a listing per item).
  for (int part = 1; part <= album.second && !it.meta.album_id.empty(); ++part) {
    ASSIGN_OR_RETURN(std::string id, KnownAlbum(title, part));
    if (id == it.meta.album_id) return it;
  }
  // Another album: the one it was in was deleted at the service and made
  // again (deliver found the item missing from the album's listing), or the
  // item was put without an album before.
  return Revive(std::move(it), title);
}

absl::StatusOr<std::pair<std::string, int>> GooglePhotosConnector::CurrentAlbum(
    const std::string& title) {
  absl::MutexLock albums(&acct_->albums_mu);
  int part = 0;
  {
    absl::MutexLock l(&acct_->mu);
    auto it = acct_->parts.find(title);
    if (it != acct_->parts.end()) part = it->second;
  }
  if (part == 0) {  // the last part the directory knows
    part = 1;
    for (int n = 2; n <= kMaxAlbumParts; ++n) {
      absl::StatusOr<std::string> id = albums_->Lookup(DirKey(title, n));
      if (absl::IsNotFound(id.status())) break;
      if (!id.ok()) return id.status();
      part = n;
    }
  }
  ASSIGN_OR_RETURN(std::string known, KnownAlbum(title, part));
  absl::StatusOr<std::string> id = known;
  if (known.empty()) {
    ASSIGN_OR_RETURN(
        json j,
        JsonCall("POST", absl::StrCat(o_.endpoint, "/v1/albums"),
                 json{{"album", {{"title", PartTitle(title, part)}}}}, kAppendOnly,
                 absl::StrCat("create album \"", PartTitle(title, part), "\" in ", Describe())));
    id = j.value("id", "");
    if (id->empty()) return absl::UnavailableError("albums.create answered without an id");
    RETURN_IF_ERROR(albums_->Record(DirKey(title, part), *id));
  }
  if (!id.ok()) return id.status();
  absl::MutexLock l(&acct_->mu);
  acct_->parts[title] = part;
  return std::make_pair(*id, part);
}

void GooglePhotosConnector::NextPart(const std::string& title, int full_part) {
  absl::MutexLock l(&acct_->mu);
  int& part = acct_->parts[title];
  part = std::max(part, full_part + 1);
}

void GooglePhotosConnector::ForgetAlbum(const std::string& title, int part) {
  (void)albums_->Forget(DirKey(title, part));
}

void GooglePhotosConnector::Commit(Pending* p) {
  Account& a = *acct_;
  a.batch_mu.Lock();
  a.queue.push_back(p);
  while (!p->done) {
    if (!a.busy) {
      a.busy = true;
      // The oldest waiting item and others of its album, at most 50.
      std::vector<Pending*> batch;
      const std::string album = a.queue.front()->album_id;
      for (auto it = a.queue.begin();
           it != a.queue.end() && batch.size() < kGooglePhotosBatchMax;) {
        if ((*it)->album_id == album) {
          batch.push_back(*it);
          it = a.queue.erase(it);
        } else {
          ++it;
        }
      }
      a.batch_mu.Unlock();
      SendBatch(batch);
      a.batch_mu.Lock();
      for (Pending* b : batch) b->done = true;
      a.busy = false;
    } else {
      TurnWait w{p, &a.busy};
      a.batch_mu.Await(absl::Condition(&TurnReady, &w));
    }
  }
  a.batch_mu.Unlock();
}

void GooglePhotosConnector::SendBatch(const std::vector<Pending*>& batch) {
  json body = {{"newMediaItems", json::array()}};
  if (!batch.front()->album_id.empty()) body["albumId"] = batch.front()->album_id;
  for (const Pending* p : batch) {
    body["newMediaItems"].push_back(
        {{"description", p->description},
         {"simpleMediaItem", {{"uploadToken", p->token}, {"fileName", p->file_name}}}});
  }
  const std::string b = body.dump();
  absl::StatusOr<http::Response> r =
      Api(http::Request{.method = "POST",
                        .url = absl::StrCat(o_.endpoint, "/v1/mediaItems:batchCreate"),
                        .headers = {{"Content-Type", "application/json"}},
                        .body = b});
  if (r.ok() && r->status != 200 && r->status != 207) {
    const absl::Status s =
        ApiError(*r, absl::StrCat("create ", batch.size(), " media item(s) in ", Describe()),
                 kAppendOnly, Now());
    const std::string m = GoogleMessage(*r);
    if (batch.size() > 1 && IsAlbumFull(m)) {
      // The album has room for fewer than the batch: one by one, so that
      // it fills up and only the rest go on to the next part.
      for (Pending* p : batch) SendBatch({p});
      return;
    }
    for (Pending* p : batch) {
      p->call_status = r->status == 404 ? absl::NotFoundError(s.message()) : s;
      p->call_message = m;
    }
    return;
  }
  json j = r.ok() ? json::parse(r->body, nullptr, false) : json();
  if (!r.ok() || !j.is_object() || !j.contains("newMediaItemResults") ||
      !j["newMediaItemResults"].is_array()) {
    absl::Status s =
        r.ok() ? absl::UnavailableError("batchCreate answered without results") : r.status();
    for (Pending* p : batch) p->call_status = s;
    return;
  }
  const json& results = j["newMediaItemResults"];
  for (size_t i = 0; i < batch.size(); ++i) {
    Pending* p = batch[i];
    for (const json& e : results) {
      if (e.is_object() && e.value("uploadToken", "") == p->token) p->result = e;
    }
    if (p->result.is_null() && i < results.size()) p->result = results[i];
    if (p->result.is_null()) p->call_status = absl::UnavailableError("no result for the item");
  }
}

absl::StatusOr<Item> GooglePhotosConnector::Revive(Item it, const std::string& album_title) {
  ItemMeta meta = it.meta;
  meta.retired = false;
  meta.album_id.clear();
  for (int attempt = 0; !album_title.empty() && attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto album, CurrentAlbum(album_title));
    absl::StatusOr<json> r =
        JsonCall("POST",
                 absl::StrCat(o_.endpoint, "/v1/albums/", http::EncodePathSegment(album.first),
                              ":batchAddMediaItems"),
                 json{{"mediaItemIds", {it.id}}}, kAppendOnly,
                 absl::StrCat("add media item ", it.id, " to album \"", album_title, "\""));
    if (r.ok()) {
      meta.album_id = album.first;
      break;
    }
    if (absl::IsNotFound(r.status())) {
      ForgetAlbum(album_title, album.second);
    } else if (IsAlbumFull(r.status().message())) {
      NextPart(album_title, album.second);
    } else {
      return r.status();
    }
  }
  if (meta.retired == it.meta.retired && meta.album_id == it.meta.album_id) return it;
  RETURN_IF_ERROR(SetDescription(&it, meta));
  return it;
}

absl::StatusOr<SourceListing> GooglePhotosConnector::ListChanges(const std::string&) {
  SourceListing out;
  ASSIGN_OR_RETURN(out.items, List(""));
  // Media item id -> the titles of the albums it is in, in albums.list's
  // order (a part "Title (2)" of a full album keeps its title at the
  // service).
  std::map<std::string, std::vector<std::string>> albums_of;
  std::string page;
  do {
    std::string url = absl::StrCat(o_.endpoint, "/v1/albums?pageSize=50");
    if (!page.empty()) absl::StrAppend(&url, "&pageToken=", http::PercentEncode(page, false));
    ASSIGN_OR_RETURN(json j, JsonCall("GET", url, nullptr, kReadAppCreated,
                                      absl::StrCat("list the albums of ", Describe())));
    for (const json& a :
         j.contains("albums") && j["albums"].is_array() ? j["albums"] : json::array()) {
      const std::string id = a.is_object() ? a.value("id", "") : "";
      const std::string title = a.is_object() ? a.value("title", "") : "";
      if (id.empty() || title.empty()) continue;
      std::string items_page;
      do {
        json body = {{"albumId", id}, {"pageSize", 100}};
        if (!items_page.empty()) body["pageToken"] = items_page;
        absl::StatusOr<json> s =
            JsonCall("POST", absl::StrCat(o_.endpoint, "/v1/mediaItems:search"), body,
                     kReadAppCreated, absl::StrCat("list album \"", title, "\" of ", Describe()));
        if (absl::IsNotFound(s.status())) break;  // deleted since albums.list
        if (!s.ok()) return s.status();
        for (const json& m : s->contains("mediaItems") && (*s)["mediaItems"].is_array()
                                 ? (*s)["mediaItems"]
                                 : json::array()) {
          std::vector<std::string>& t = albums_of[m.value("id", "")];
          if (std::find(t.begin(), t.end(), title) == t.end()) t.push_back(title);
        }
        items_page = s->value("nextPageToken", "");
      } while (!items_page.empty());
    }
    page = j.value("nextPageToken", "");
  } while (!page.empty());
  for (RemoteObject& o : out.items) {
    if (auto it = albums_of.find(o.ref); it != albums_of.end()) o.albums = it->second;
  }
  return out;
}

absl::StatusOr<std::vector<RemoteObject>> GooglePhotosConnector::ListAlbum(
    const std::string& album) {
  std::vector<std::string> ids;
  bool lost = false;  // part 1 was found at the service: so are the others
  for (int part = 1; part <= kMaxAlbumParts; ++part) {
    absl::StatusOr<std::string> id = albums_->Lookup(DirKey(album, part));
    if (absl::IsNotFound(id.status()) && (part == 1 || lost)) {
      ASSIGN_OR_RETURN(id, KnownAlbum(album, part));
      if (id->empty()) break;
      lost = true;
    }
    if (absl::IsNotFound(id.status())) break;
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  if (ids.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no album \"", album, "\" made by Shoebox at ", Describe()));
  }
  std::vector<RemoteObject> out;
  for (size_t part = 0; part < ids.size(); ++part) {
    std::string page;
    do {
      json body = {{"albumId", ids[part]}, {"pageSize", 100}};
      if (!page.empty()) body["pageToken"] = page;
      absl::StatusOr<json> j =
          JsonCall("POST", absl::StrCat(o_.endpoint, "/v1/mediaItems:search"), body,
                   kReadAppCreated, absl::StrCat("list album \"", album, "\" of ", Describe()));
      if (absl::IsNotFound(j.status())) {
        ForgetAlbum(album, static_cast<int>(part) + 1);  // deleted at the service
        return absl::NotFoundError(absl::StrCat("album \"", album, "\" was deleted at ", Describe(),
                                                "; the next delivery makes it again"));
      }
      if (!j.ok()) return j.status();
      if (j->contains("mediaItems") && (*j)["mediaItems"].is_array()) {
        for (const json& m : (*j)["mediaItems"]) {
          std::optional<ItemMeta> meta = ParseDescription(m.value("description", ""));
          if (!meta || meta->retired) continue;
          Item it = FromJson(m, *meta, Now());
          out.push_back(ToRemote(it, meta->path.empty() ? it.file_name : meta->path));
        }
      }
      page = j->value("nextPageToken", "");
    } while (!page.empty());
  }
  return out;
}

}  // namespace shoebox::worker::gphotos_internal
