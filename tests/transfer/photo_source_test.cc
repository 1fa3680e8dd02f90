// Photo services as transfer sources (issue 21, slice 3; docs/transfers.md),
// connector by connector against the local servers: what Flickr's and
// SmugMug's ListChanges report (paths, albums, capture times, the cursor)
// and that GetItem reads the originals.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "common/http/token_source.h"
#include "tests/support/data_gen.h"
#include "tests/support/flickr_fake.h"
#include "tests/support/gphotos_fake.h"
#include "tests/support/smugmug_fake.h"
#include "workers/connectors/flickr.h"
#include "workers/connectors/gphotos.h"
#include "workers/connectors/smugmug.h"

namespace shoebox::worker {
namespace {

using nlohmann::json;

std::string Read(Connector& c, const std::string& path, absl::Status* st) {
  std::string out;
  *st = c.GetItem(path, [&](std::string_view b) {
    out.append(b);
    return absl::OkStatus();
  });
  return out;
}

TEST(FlickrSourcePath, IdFirstTitleCleanedAndCut) {
  EXPECT_EQ(FlickrSourcePath("42", "IMG_1", "jpg"), "42_IMG_1.jpg");
  EXPECT_EQ(FlickrSourcePath("42", "IMG_1.JPG", "jpg"), "42_IMG_1.jpg");
  EXPECT_EQ(FlickrSourcePath("42", "", "png"), "42.png");
  EXPECT_EQ(FlickrSourcePath("42", " a/b\\c\n ", "mov"), "42_a_b_c_.mov");
  const std::string cut = FlickrSourcePath("1", std::string(99, 'x') + "\xc3\xa9" + "yy", "jpg");
  EXPECT_EQ(cut, "1_" + std::string(99, 'x') + ".jpg");  // not inside the 2-byte é
}

class FlickrSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = testsupport::StartFlickrFake();
    ASSERT_TRUE(f.ok()) << f.status();
    fake_ = std::move(*f);
    auto a = fake_->NewAccount("src");
    ASSERT_TRUE(a.ok()) << a.status();
    account_ = *a;
    FlickrOptions o;
    o.api = o.upload = fake_->services();
    o.credentials = {fake_->api_key, fake_->api_secret, account_.oauth_token,
                     account_.oauth_token_secret};
    o.destination = "fl";
    o.max_requests_per_s = 0;
    o.page_size = 2;  // several pages of every listing
    auto c = MakeFlickrConnector(std::move(o));
    ASSERT_TRUE(c.ok()) << c.status();
    c_ = std::move(*c);
  }
  void Seed(const json& photos) {
    ASSERT_TRUE(fake_->Control("seed", {{"user_id", account_.user_id}, {"photos", photos}}).ok());
  }
  static json Photo(const std::string& title, const std::string& content, int64_t uploaded,
                    std::vector<std::string> sets, const std::string& taken = "") {
    json p = {{"title", title},
              {"content_b64", absl::Base64Escape(content)},
              {"uploaded", uploaded},
              {"sets", sets}};
    if (!taken.empty()) p["taken"] = taken;
    return p;
  }
  std::map<std::string, RemoteObject> ByTitle(const std::vector<RemoteObject>& items) {
    std::map<std::string, RemoteObject> out;
    for (const RemoteObject& o : items) {
      const size_t us = o.remote_path.find('_');
      out[o.remote_path.substr(us + 1, o.remote_path.size() - us - 5)] = o;
    }
    return out;
  }

  std::unique_ptr<testsupport::FlickrFake> fake_;
  testsupport::FlickrAccount account_;
  std::unique_ptr<Connector> c_;
};

TEST_F(FlickrSourceTest, ListsEveryPhotoWithItsSetsCaptureTimeAndACursor) {
  const std::string a = testsupport::PseudoRandomBytes(5000, 1);
  const std::string b = testsupport::PseudoRandomBytes(7000, 2);
  ASSERT_NO_FATAL_FAILURE(Seed(json::array({
      Photo("a", a, 1600000000, {"Sea", "Trip"}, "2019-07-01 10:00:00"),
      Photo("b", b, 1600000001, {"Trip"}),
      Photo("c", a, 1600000002, {}),  // a byte-identical copy of a, in no set
      Photo("d", "dd", 1600000003, {"Sea"}, "2020-01-02 03:04:05"),
      Photo("e", "ee", 1600000004, {"Hills"}),
  })));
  absl::StatusOr<SourceListing> l = c_->ListChanges("");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->full);
  EXPECT_EQ(l->next_cursor, "upload:1600000004");
  std::map<std::string, RemoteObject> by = ByTitle(l->items);
  ASSERT_EQ(by.size(), 5u);
  EXPECT_EQ(by["a"].albums, std::vector<std::string>({"Sea", "Trip"}));  // the sets' order
  EXPECT_EQ(by["b"].albums, std::vector<std::string>({"Trip"}));
  EXPECT_TRUE(by["c"].albums.empty());
  EXPECT_EQ(by["a"].capture_ns, 1561975200ll * 1000000000);
  EXPECT_EQ(by["d"].capture_ns, 1577934245ll * 1000000000);
  EXPECT_EQ(by["b"].capture_ns, 0) << "datetakenunknown is no capture time";
  EXPECT_EQ(by["b"].mtime_ns, 1600000001ll * 1000000000);
  EXPECT_EQ(by["b"].checksum, "flickr-lastupdate:1600000001");
  EXPECT_EQ(by["a"].remote_path, by["a"].ref + "_a.jpg");

  absl::Status st;
  EXPECT_EQ(Read(*c_, by["a"].remote_path, &st), a);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(*c_, by["c"].remote_path, &st), a);
  EXPECT_EQ(Read(*c_, by["b"].remote_path, &st), b);
  auto stats = fake_->Get("stats");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["downloads"], 3);

  // Two new photos: the cursor's run lists them and the photos in sets,
  // marked as changes only; nothing older outside every set.
  ASSERT_NO_FATAL_FAILURE(
      Seed(json::array({Photo("f", "ff", 1600000010, {}), Photo("g", "gg", 1600000011, {"Sea"})})));
  absl::StatusOr<SourceListing> next = c_->ListChanges(l->next_cursor);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->full);
  EXPECT_EQ(next->next_cursor, "upload:1600000011");
  std::map<std::string, RemoteObject> changed = ByTitle(next->items);
  EXPECT_EQ(changed.count("c"), 0u);
  EXPECT_EQ(changed.count("f"), 1u);
  EXPECT_EQ(changed["g"].albums, std::vector<std::string>({"Sea"}));
  EXPECT_EQ(changed["a"].albums, std::vector<std::string>({"Sea", "Trip"}));
  EXPECT_EQ(changed["e"].albums, std::vector<std::string>({"Hills"}));
  EXPECT_EQ(changed["a"].remote_path, by["a"].remote_path);
  EXPECT_EQ(changed["a"].mtime_ns, by["a"].mtime_ns);

  // Bad input names the object.
  absl::StatusOr<SourceListing> bad = c_->ListChanges("page:3");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("\"page:3\""), std::string::npos) << bad.status();
  Read(*c_, "holiday/x.jpg", &st);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  Read(*c_, "999999_gone.jpg", &st);
  EXPECT_TRUE(absl::IsNotFound(st)) << st;
}

TEST(SmugMugSource, TheGalleryTreeGivesTheAlbums) {
  auto fake = testsupport::StartSmugMugFake();
  ASSERT_TRUE(fake.ok()) << fake.status();
  auto tok = (*fake)->Tokens();
  ASSERT_TRUE(tok.ok()) << tok.status();
  SmugMugOptions o;
  o.api = o.upload = (*fake)->url;
  o.folder = "Photos/Src";
  o.credentials = {(*fake)->api_key, (*fake)->api_secret, (*tok)["oauth_token"].get<std::string>(),
                   (*tok)["oauth_token_secret"].get<std::string>()};
  o.destination = "sm";
  auto c = MakeSmugMugConnector(std::move(o));
  ASSERT_TRUE(c.ok()) << c.status();
  std::map<std::string, std::string> content = {
      {"Camera/2023/a.jpg", testsupport::PseudoRandomBytes(3000, 5)},
      {"Trip/b.jpg", testsupport::PseudoRandomBytes(4000, 6)},
      {"c.jpg", testsupport::PseudoRandomBytes(2000, 7)}};
  for (const auto& [path, bytes] : content) {
    PutRequest r;
    r.remote_path = path;
    r.size = bytes.size();
    auto src = MakeStringSource(bytes);
    ASSERT_TRUE((*c)->Put(r, src.get(), nullptr).ok()) << path;
  }
  absl::StatusOr<SourceListing> l = (*c)->ListChanges("");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->full);
  EXPECT_EQ(l->next_cursor, "");
  std::map<std::string, std::vector<std::string>> albums;
  for (const RemoteObject& i : l->items) albums[i.remote_path] = i.albums;
  EXPECT_EQ(
      albums,
      (std::map<std::string, std::vector<std::string>>{
          {"Camera/2023/a.jpg", {"Camera 2023"}}, {"Trip/b.jpg", {"Trip"}}, {"c.jpg", {"Src"}}}));
  for (const auto& [path, bytes] : content) {
    absl::Status st;
    EXPECT_EQ(Read(**c, path, &st), bytes) << path;
    EXPECT_TRUE(st.ok()) << st;
  }
}

TEST(GooglePhotosSource, TheItemsShoeboxCreatedWithTheirAlbums) {
  auto fake = testsupport::StartGooglePhotosFake({.latency_ms = 0});
  ASSERT_TRUE(fake.ok()) << fake.status();
  auto token = (*fake)->AccessToken("src");
  ASSERT_TRUE(token.ok()) << token.status();
  GooglePhotosOptions o;
  o.endpoint = (*fake)->endpoint;
  o.upload_endpoint = (*fake)->upload_endpoint;
  o.timeout_s = 30;
  o.account_key = "src-source-test";
  o.budget_key = o.account_key;
  auto c = MakeGooglePhotosConnector(o, std::make_shared<http::StaticTokenSource>(*token));
  ASSERT_TRUE(c.ok()) << c.status();
  struct Spec {
    std::string path, album, bytes;
  };
  const std::vector<Spec> specs = {{"a.jpg", "Trip", testsupport::PseudoRandomBytes(3000, 11)},
                                   {"b.jpg", "Trip", testsupport::PseudoRandomBytes(3100, 12)},
                                   {"c.jpg", "Sea", testsupport::PseudoRandomBytes(3200, 13)},
                                   {"d.jpg", "", testsupport::PseudoRandomBytes(3300, 14)}};
  for (const Spec& sp : specs) {
    PutRequest r;
    r.remote_path = sp.path;
    r.size = sp.bytes.size();
    r.album = sp.album;
    r.sha256 = DigestToString(Sha256::Of(std::string_view(sp.bytes)));
    auto src = MakeStringSource(sp.bytes);
    auto put = (*c)->Put(r, src.get(), nullptr);
    ASSERT_TRUE(put.ok()) << sp.path << ": " << put.status();
  }
  // An item of the user's own (not created by this app) is never listed.
  ASSERT_TRUE((*fake)->Control("seed_user_item", {{"user", "src"}}).ok());
  absl::StatusOr<SourceListing> l = (*c)->ListChanges("");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->full);
  std::map<std::string, std::vector<std::string>> albums;
  for (const RemoteObject& i : l->items) albums[i.remote_path] = i.albums;
  EXPECT_EQ(albums,
            (std::map<std::string, std::vector<std::string>>{
                {"a.jpg", {"Trip"}}, {"b.jpg", {"Trip"}}, {"c.jpg", {"Sea"}}, {"d.jpg", {}}}));
  for (const Spec& sp : specs) {
    absl::Status st;
    EXPECT_TRUE(Read(**c, sp.path, &st) == sp.bytes) << sp.path;
    EXPECT_TRUE(st.ok()) << st;
  }
}

}  // namespace
}  // namespace shoebox::worker
