// Flickr albums (photosets) and duplicates against tests/fakes/flickr_server.py,
// beyond the album cases of the shared conformance suite (a re-run, a lost
// album directory: flickr_connector_test.cc instantiates it): two folders
// make two sets, each created with a primary photo; the same content from
// another path is not uploaded twice; a set deleted at Flickr is created
// again with the new photo as its primary; wrong credentials are
// UNAUTHENTICATED.
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/workers/flickr_test_util.h"
#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

using testsupport::FlickrAccount;
using testsupport::FlickrFake;

struct Item {
  std::string path, album;
  uint64_t size, seed;
};

const std::vector<Item>& Library() {
  static const std::vector<Item> items = {
      {"Camera/2023/IMG_1.jpg", "Camera 2023", 3000, 101},
      {"Camera/2023/IMG_2.jpg", "Camera 2023", 3100, 102},
      {"Camera/2023/IMG_3.jpg", "Camera 2023", 3200, 103},
      {"Trips/Rome/DSC_9.jpg", "Trips Rome", 4000, 104},
      {"Trips/Rome/clip.mp4", "Trips Rome", 70000, 105},
  };
  return items;
}

absl::Status PutItem(Connector* c, const Item& it) {
  PutRequest r;
  r.remote_path = it.path;
  r.size = it.size;
  r.sha256 = PatternSha256(it.size, it.seed);
  r.album = it.album;
  auto src = MakePatternSource(it.size, it.seed);
  return c->Put(r, src.get(), nullptr).status();
}

absl::Status PutLibrary(Connector* c) {
  for (const Item& it : Library()) RETURN_IF_ERROR(PutItem(c, it));
  return absl::OkStatus();
}

int64_t Uploads(FlickrFake& f) { return (*f.Get("stats"))["uploads"].get<int64_t>(); }

// title -> {primary, photo ids} of the account's sets, as the server has them.
std::map<std::string, std::pair<std::string, std::vector<std::string>>> SetsOf(
    FlickrFake& f, const std::string& user) {
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> out;
  auto sets = f.Get("sets");
  if (!sets.ok()) return out;
  for (const auto& s : *sets) {
    if (s["owner"] != user) continue;
    EXPECT_EQ(out.count(s["title"]), 0u) << "two sets titled " << s["title"];
    out[s["title"]] = {s["primary"], s["photos"].get<std::vector<std::string>>()};
  }
  return out;
}

std::set<std::string> PathsOf(const std::vector<RemoteObject>& objs) {
  std::set<std::string> out;
  for (const auto& o : objs) out.insert(o.remote_path);
  return out;
}

TEST(FlickrAlbums, TwoFoldersMakeTwoSetsWithTheRightPhotos) {
  FlickrAccount a;
  auto albums = MakeInMemoryAlbumDirectory();
  auto c = NewFlickrConnector(Flickr(), "albums", albums, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutLibrary(c->get()).ok());
  auto sets = SetsOf(Flickr(), a.user_id);
  ASSERT_EQ(sets.size(), 2u);
  ASSERT_TRUE(sets.count("Camera 2023") && sets.count("Trips Rome"));
  EXPECT_EQ(sets["Camera 2023"].second.size(), 3u);
  EXPECT_EQ(sets["Trips Rome"].second.size(), 2u);
  // Created with the first photo of the folder as its primary.
  auto first = (*c)->Stat("Camera/2023/IMG_1.jpg");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(sets["Camera 2023"].first, first->ref);
  EXPECT_EQ(sets["Camera 2023"].second.front(), first->ref);
  // The directory remembers the set ids; ListAlbum lists the set.
  auto id = albums->Lookup("Camera 2023");
  ASSERT_TRUE(id.ok()) << id.status();
  auto listed = (*c)->ListAlbum("Trips Rome");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(PathsOf(*listed),
            (std::set<std::string>{"Trips/Rome/DSC_9.jpg", "Trips/Rome/clip.mp4"}));
  EXPECT_EQ((*c)->ListAlbum("No such album").status().code(), absl::StatusCode::kNotFound);
}

TEST(FlickrAlbums, SameContentFromAnotherPathIsNotUploadedTwice) {
  FlickrAccount a;
  auto c = NewFlickrConnector(Flickr(), "samecontent", nullptr, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutLibrary(c->get()).ok());
  const int64_t before = Uploads(Flickr());
  // IMG_1's bytes again, from another device's folder.
  Item copy{"Phone2/Camera/2023/IMG_1 copy.jpg", "Camera 2023", 3000, 101};
  ASSERT_TRUE(PutItem(c->get(), copy).ok());
  EXPECT_EQ(Uploads(Flickr()), before);
  auto st = (*c)->Stat(copy.path);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->ref, (*c)->Stat("Camera/2023/IMG_1.jpg")->ref);
  EXPECT_EQ(SetsOf(Flickr(), a.user_id)["Camera 2023"].second.size(), 3u);
}

TEST(FlickrAlbums, SetDeletedAtTheServiceIsCreatedAgain) {
  FlickrAccount a;
  auto albums = MakeInMemoryAlbumDirectory();
  auto c = NewFlickrConnector(Flickr(), "deleted", albums, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutLibrary(c->get()).ok());
  const std::string old_id = *albums->Lookup("Trips Rome");
  ASSERT_TRUE(Flickr().Control("delete_set", {{"id", old_id}}).ok());
  Item more{"Trips/Rome/DSC_10.jpg", "Trips Rome", 4100, 106};
  ASSERT_TRUE(PutItem(c->get(), more).ok());
  auto id = albums->Lookup("Trips Rome");
  ASSERT_TRUE(id.ok());
  EXPECT_NE(*id, old_id);
  auto sets = SetsOf(Flickr(), a.user_id);
  ASSERT_TRUE(sets.count("Trips Rome"));
  EXPECT_EQ(sets["Trips Rome"].first, (*c)->Stat(more.path)->ref);
  // The photos already there go back into it when delivered again.
  ASSERT_TRUE(PutLibrary(c->get()).ok());
  EXPECT_EQ(SetsOf(Flickr(), a.user_id)["Trips Rome"].second.size(), 3u);
}

TEST(FlickrAlbums, WrongSignatureIsUnauthenticated) {
  FlickrAccount a;
  auto good = NewFlickrConnector(Flickr(), "wrongsig", nullptr, &a);
  ASSERT_TRUE(good.ok());
  FlickrOptions o = FlickrTestOptions(Flickr(), a);
  o.credentials.consumer_secret = "wrong";
  auto c = MakeFlickrConnector(o);
  ASSERT_TRUE(c.ok());
  absl::Status s = PutItem(c->get(), Library()[0]);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "shoebox dest connect pics")) << s;
  EXPECT_GT((*Flickr().Get("stats"))["signature_failures"].get<int>(), 0);
}

}  // namespace
}  // namespace shoebox::worker
