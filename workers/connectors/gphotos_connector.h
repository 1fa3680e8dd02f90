// The Google Photos connector's parts (gphotos.h): one class whose members
// live in gphotos.cc (requests, the item index, Put/Stat/List/Get/Delete),
// gphotos_albums.cc (albums and the batchCreate turn) and gphotos_upload.cc
// (the resumable upload protocol). Internal: include gphotos.h elsewhere.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/http/http_client.h"
#include "common/http/request_gate.h"
#include "common/http/token_source.h"
#include "nlohmann/json.hpp"
#include "workers/connectors/gphotos.h"

namespace shoebox::worker::gphotos_internal {

using nlohmann::json;

// The scopes each call needs (developers.google.com/photos/overview/authorization).
inline constexpr char kAppendOnly[] = "photoslibrary.appendonly";
inline constexpr char kReadAppCreated[] = "photoslibrary.readonly.appcreateddata";
inline constexpr char kEditAppCreated[] = "photoslibrary.edit.appcreateddata";

// The index is listed again on a miss when it is older than a minute per
// page it took (at least five minutes): reloading then costs at most 1,440
// requests a day whatever the library's size (a page holds 100 items).
inline constexpr absl::Duration kIndexTtl = absl::Minutes(5);
inline constexpr absl::Duration kIndexTtlPerPage = absl::Minutes(1);
// Upload tokens are valid for a day; one older than this is not tried.
inline constexpr absl::Duration kTokenLife = absl::Hours(23);
inline constexpr int kMaxRedirects = 5;
inline constexpr int kChunkRetries = 2;
inline constexpr int kMaxAlbumParts = 10000;

struct Item {
  std::string id;
  ItemMeta meta;
  std::string file_name;
  absl::Time seen = absl::InfinitePast();  // when this process last learnt of it
};

// One media item waiting for its batchCreate call.
struct Pending {
  std::string token, file_name, description, album_id;
  bool done = false;
  absl::Status call_status{};  // the call's own failure (no per-item result)
  std::string call_message{};  // Google's message for a refused call
  json result{};               // its newMediaItemResults[] entry
};

// What the connectors of one account in this process share.
struct Account {
  absl::Mutex load_mu;  // one listing at a time
  absl::Mutex mu;
  bool loaded ABSL_GUARDED_BY(mu) = false;
  absl::Time loaded_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  int64_t loaded_pages ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, std::vector<Item>> by_key ABSL_GUARDED_BY(mu);
  // The newest resume state per request (path, size, SHA-256), for a retry
  // in this process whose PutRequest still carries the older one.
  std::map<std::string, std::string> resume ABSL_GUARDED_BY(mu);
  std::map<std::string, int> parts ABSL_GUARDED_BY(mu);  // album title -> current part
  std::shared_ptr<AlbumDirectory> own_albums = MakeInMemoryAlbumDirectory();
  absl::Mutex albums_mu;  // held while looking up / creating albums
  absl::Mutex batch_mu;   // the batchCreate turn
  std::deque<Pending*> queue ABSL_GUARDED_BY(batch_mu);
  bool busy ABSL_GUARDED_BY(batch_mu) = false;
};

// The shared state of `key` in this process ("" = a new one).
std::shared_ptr<Account> AccountFor(const std::string& key);

struct TurnWait {
  Pending* p;
  bool* busy;
};
inline bool TurnReady(TurnWait* w) { return w->p->done || !*w->busy; }

// Google's error message of a refused call ("" when none).
std::string GoogleMessage(const http::Response& r);
// The service refused to add to an album that holds its maximum.
bool IsAlbumFull(absl::string_view message);
std::string BaseName(const std::string& path);
// The album directory key of part `part` of `title` ("Title", "Title#2").
std::string DirKey(const std::string& title, int part);
// Its title at the service ("Title", "Title (2)").
std::string PartTitle(const std::string& title, int part);
Item FromJson(const json& j, const ItemMeta& meta, absl::Time now);

class GooglePhotosConnector final : public Connector {
 public:
  GooglePhotosConnector(GooglePhotosOptions o, std::shared_ptr<http::TokenSource> tokens)
      : o_(std::move(o)),
        tokens_(std::move(tokens)),
        client_(http::ClientOptions{
            .connect_timeout = absl::Seconds(o_.timeout_s),
            .stall_timeout = absl::Seconds(o_.timeout_s),
            .unreachable_hint = "is Google Photos (or the configured endpoint) reachable?",
            .gate = http::RequestGate::Shared(o_.account_key)}),
        acct_(AccountFor(o_.account_key)),
        budget_(DailyBudget::Shared(o_.budget_key, o_.daily_request_budget)),
        albums_(o_.albums ? o_.albums : acct_->own_albums) {
    if (o_.max_requests_per_s > 0) client_.options().gate->SetRate(o_.max_requests_per_s);
  }

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>& progress) override;
  absl::StatusOr<RemoteObject> Stat(const std::string& remote_path) override;
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string& prefix) override;
  absl::Status Get(const std::string& remote_path,
                   const std::function<absl::Status(std::string_view)>& sink) override;
  absl::Status Delete(const std::string& remote_path) override;
  // Google Photos has no folders: albums come from PutRequest::album.
  absl::Status EnsureFolder(const std::string&) override { return absl::OkStatus(); }
  std::string Describe() const override {
    return absl::StrCat("gphotos library",
                        o_.destination_name.empty() ? "" : " of " + o_.destination_name, " at ",
                        o_.endpoint);
  }
  absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) override;
  // As a transfer source (issue 21 slice 3, gphotos_albums.cc): the items
  // Shoebox created (List("")), each with the titles of the app-created
  // albums it is in (albums.list, then mediaItems:search by albumId). Full
  // listings; originals through Get (baseUrl + "=d").
  absl::StatusOr<SourceListing> ListChanges(const std::string& cursor) override;

 private:
  absl::Time Now() const { return o_.now ? o_.now() : absl::Now(); }
  std::string Where(std::string_view remote) const {
    return absl::StrCat(PrintablePath(remote), " at ", Describe());
  }
  // One counted, authorised request; a 401 invalidates the token and is
  // sent again once (unless the body is a stream); a 429 is the budget's.
  absl::StatusOr<http::Response> Api(const http::Request& req) const;
  absl::StatusOr<json> JsonCall(const std::string& method, const std::string& url, const json& body,
                                const char* scope, const std::string& what) const;
  // The index of app-created items.
  absl::Status Load();
  absl::StatusOr<std::vector<Item>> Lookup(const std::string& key);
  void Remember(const Item& item);
  void Drop(const std::string& key, const std::string& id);
  absl::StatusOr<json> GetItemJson(const std::string& id) const;
  // The active item of a path, confirmed by mediaItems.get.
  absl::StatusOr<std::pair<Item, json>> Find(const std::string& remote_path);
  RemoteObject ToRemote(const Item& it, const std::string& path) const;
  // Bytes -> upload token.
  absl::StatusOr<std::string> Upload(const PutRequest& req, ByteSource* src,
                                     const std::function<void(const Progress&)>& progress,
                                     json* state);
  absl::StatusOr<std::optional<uint64_t>> QuerySession(const std::string& url) const;
  json LoadState(const PutRequest& req);
  void SaveState(const PutRequest& req, const json& state);
  // Albums.
  absl::StatusOr<std::pair<std::string, int>> CurrentAlbum(const std::string& title);
  // The id of an app-created album titled `title` at the service ("" none).
  absl::StatusOr<std::string> AlbumAtService(const std::string& title);
  // Part `part` of album `title`: the directory's id, else one found at the
  // service (recorded); "" when neither has it.
  absl::StatusOr<std::string> KnownAlbum(const std::string& title, int part);
  // `it` (already at the service) put into album `title` unless it is in it.
  absl::StatusOr<Item> IntoAlbum(Item it, const std::string& title);
  void NextPart(const std::string& title, int full_part);
  void ForgetAlbum(const std::string& title, int part);
  // batchCreate, one call at a time per account.
  void Commit(Pending* p);
  void SendBatch(const std::vector<Pending*>& batch);
  absl::Status Retire(Item it);
  absl::StatusOr<Item> Revive(Item it, const std::string& album_title);
  absl::Status SetDescription(Item* it, const ItemMeta& meta);

  const GooglePhotosOptions o_;
  const std::shared_ptr<http::TokenSource> tokens_;
  const http::Client client_;
  const std::shared_ptr<Account> acct_;
  const std::shared_ptr<DailyBudget> budget_;
  const std::shared_ptr<AlbumDirectory> albums_;
};

}  // namespace shoebox::worker::gphotos_internal
