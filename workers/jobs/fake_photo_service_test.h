// Test only: an in-memory photo service with albums and a connector for it
// that behaves as the issue-20 connectors are asked to (workers/connector.h,
// workers/album_directory.h): Put records the request, stores the item and
// puts it into its album, looked up in the album directory and created
// (then RecordFirst, using the winner's id) when missing or gone at the
// service; ListAlbum answers NOT_FOUND for an album gone at the service.
// Used by the job tests (workers/jobs/album_jobs_test.cc) and the
// coordinator's album tests (tests/coordinator/albums_test.cc).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "workers/connector.h"

namespace shoebox::worker::testing {

// The service's state, shared by every connector opened on it. Tests read
// and change it directly (delete an album, take an item out).
struct FakePhotoService {
  absl::Mutex mu;
  std::map<std::string, std::string> items;                  // path -> bytes
  std::map<std::string, std::string> album_titles;           // album id -> title
  std::map<std::string, std::set<std::string>> album_items;  // album id -> paths
  std::vector<PutRequest> puts;                              // every Put's request
  int albums_created = 0;
  int records = 0;  // RecordFirst calls made by connectors
  int list_album_calls = 0;
  int next_id = 1;

  // The ids of the albums titled `title` (normally one).
  std::vector<std::string> AlbumsTitled(const std::string& title) {
    absl::MutexLock l(&mu);
    std::vector<std::string> out;
    for (const auto& [id, t] : album_titles) {
      if (t == title) out.push_back(id);
    }
    return out;
  }
  void DeleteAlbum(const std::string& id) {
    absl::MutexLock l(&mu);
    album_titles.erase(id);
    album_items.erase(id);
  }
};

class FakePhotoConnector final : public Connector {
 public:
  FakePhotoConnector(FakePhotoService* service, std::shared_ptr<AlbumDirectory> albums)
      : service_(service),
        albums_(albums != nullptr ? std::move(albums) : MakeInMemoryAlbumDirectory()) {}

  absl::StatusOr<RemoteObject> Put(const PutRequest& req, ByteSource* src,
                                   const std::function<void(const Progress&)>&) override {
    std::string data;
    uint8_t buf[65536];
    for (;;) {
      absl::StatusOr<size_t> n = src->Read(buf, sizeof(buf));
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      data.append(reinterpret_cast<const char*>(buf), *n);
    }
    {
      absl::MutexLock l(&service_->mu);
      service_->puts.push_back(req);
      service_->items[req.remote_path] = data;
    }
    if (!req.album.empty()) {
      absl::StatusOr<std::string> id = AlbumId(req.album);
      if (!id.ok()) return id.status();
      absl::MutexLock l(&service_->mu);
      service_->album_items[*id].insert(req.remote_path);
    }
    return Stat(req.remote_path);
  }
  absl::StatusOr<RemoteObject> Stat(const std::string& path) override {
    absl::MutexLock l(&service_->mu);
    auto it = service_->items.find(path);
    if (it == service_->items.end()) return absl::NotFoundError(absl::StrCat("no item ", path));
    return Object(path, it->second);
  }
  absl::StatusOr<std::vector<RemoteObject>> List(const std::string&) override {
    absl::MutexLock l(&service_->mu);
    std::vector<RemoteObject> out;
    for (const auto& [p, d] : service_->items) out.push_back(Object(p, d));
    return out;
  }
  absl::Status Get(const std::string& path,
                   const std::function<absl::Status(std::string_view)>& sink) override {
    std::string data;
    {
      absl::MutexLock l(&service_->mu);
      auto it = service_->items.find(path);
      if (it == service_->items.end()) return absl::NotFoundError(absl::StrCat("no item ", path));
      data = it->second;
    }
    return sink(data);
  }
  absl::Status Delete(const std::string& path) override {
    absl::MutexLock l(&service_->mu);
    service_->items.erase(path);
    return absl::OkStatus();
  }
  absl::Status EnsureFolder(const std::string&) override { return absl::OkStatus(); }
  std::string Describe() const override { return "fake photo service"; }
  absl::StatusOr<std::vector<RemoteObject>> ListAlbum(const std::string& album) override {
    absl::StatusOr<std::string> id = albums_->Lookup(album);
    absl::MutexLock l(&service_->mu);
    ++service_->list_album_calls;
    if (!id.ok()) return id.status();  // NOT_FOUND: never made
    if (service_->album_titles.count(*id) == 0) {
      return absl::NotFoundError(absl::StrCat("album ", album, " (", *id, ") is gone"));
    }
    std::vector<RemoteObject> out;
    for (const std::string& p : service_->album_items[*id]) {
      auto it = service_->items.find(p);
      if (it != service_->items.end()) out.push_back(Object(p, it->second));
    }
    return out;
  }

 private:
  static RemoteObject Object(const std::string& path, const std::string& data) {
    RemoteObject o;
    o.remote_path = path;
    o.size = data.size();
    o.checksum = "sha256:" + ToHex(DigestToString(Sha256::Of(data)));
    o.ref = "item:" + path;
    return o;
  }

  // The album's id: recorded and still at the service, else created (and
  // recorded; another worker's id wins).
  absl::StatusOr<std::string> AlbumId(const std::string& title) {
    absl::StatusOr<std::string> id = albums_->Lookup(title);
    if (id.ok()) {
      absl::MutexLock l(&service_->mu);
      if (service_->album_titles.count(*id) > 0) return *id;
    } else if (!absl::IsNotFound(id.status())) {
      return id.status();
    }
    if (id.ok()) {
      absl::Status st = albums_->Forget(title);  // gone at the service
      if (!st.ok()) return st;
      id = albums_->Lookup(title);  // another worker may have made it again
      if (id.ok()) {
        absl::MutexLock l(&service_->mu);
        if (service_->album_titles.count(*id) > 0) return *id;
      }
    }
    std::string made;
    {
      absl::MutexLock l(&service_->mu);
      made = absl::StrCat("album-", service_->next_id++);
      service_->album_titles[made] = title;
      ++service_->albums_created;
      ++service_->records;
    }
    absl::StatusOr<std::string> kept = albums_->RecordFirst(title, made);
    if (!kept.ok()) return kept.status();
    if (*kept != made) {
      service_->DeleteAlbum(made);  // another worker's album won
    }
    return *kept;
  }

  FakePhotoService* const service_;
  const std::shared_ptr<AlbumDirectory> albums_;
};

}  // namespace shoebox::worker::testing
