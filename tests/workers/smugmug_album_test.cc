// The SmugMug connector against tests/fakes/smugmug_server.py: the shared
// conformance suite, then the gallery cases: nested folders become folders
// and galleries created once, a re-run uploads nothing, a changed file
// replaces its image, a lost album directory finds the nodes again, a
// deleted gallery is recreated, wrong signatures, throttling, refusals, the
// OAuth 1.0a flow of `dest connect`.
#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/http_client.h"
#include "common/http/oauth1.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/support/smugmug_fake.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/smugmug.h"

namespace shoebox::worker {
namespace {

using json = nlohmann::json;
using testsupport::SmugMugFake;

SmugMugFake& Fake() {
  static std::unique_ptr<SmugMugFake> f =
      testsupport::OrAbort(testsupport::StartSmugMugFake(), "smugmug fake");
  return *f;
}

const json& Tokens() {
  static json* t = [] {
    auto tok = Fake().Tokens();
    if (!tok.ok()) {
      std::fprintf(stderr, "smugmug fake tokens: %s\n", tok.status().ToString().c_str());
      std::abort();
    }
    return new json(*tok);
  }();
  return *t;
}

SmugMugOptions Options(const std::string& folder, std::shared_ptr<AlbumDirectory> dir = nullptr) {
  SmugMugOptions o;
  o.api = o.upload = Fake().url;
  o.folder = folder;
  o.credentials = {Fake().api_key, Fake().api_secret, Tokens()["oauth_token"].get<std::string>(),
                   Tokens()["oauth_token_secret"].get<std::string>()};
  o.destination = "sm";
  o.directory = std::move(dir);
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> Make(const std::string& folder,
                                                std::shared_ptr<AlbumDirectory> dir = nullptr) {
  return MakeSmugMugConnector(Options(folder, std::move(dir)));
}

// The fake's own record of a gallery: FileName -> image.
std::map<std::string, json> GalleryImages(const std::string& path) {
  std::map<std::string, json> out;
  auto tree = Fake().Get("tree");
  EXPECT_TRUE(tree.ok()) << tree.status();
  if (!tree.ok()) return out;
  for (const json& n : *tree) {
    if (n["type"] != "Album" || n["path"] != path) continue;
    for (const json& i : n["images"]) {
      const std::string name = i["FileName"].get<std::string>();
      EXPECT_EQ(out.count(name), 0u) << "two images named " << name;
      out[name] = i;
    }
  }
  return out;
}

// Every node under `prefix`: "Folder Shoebox/Camera", "Album Shoebox/Camera/2023".
std::set<std::string> Nodes(const std::string& prefix) {
  std::set<std::string> out;
  auto tree = Fake().Get("tree");
  EXPECT_TRUE(tree.ok()) << tree.status();
  if (!tree.ok()) return out;
  for (const json& n : *tree) {
    const std::string path = n["path"];
    if (path == prefix || absl::StartsWith(path, prefix + "/"))
      out.insert(absl::StrCat(n["type"].get<std::string>(), " ", path));
  }
  return out;
}

int64_t Counter(const char* name) {
  auto s = Fake().Get("stats");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? (*s)[name].get<int64_t>() : -1;
}

absl::StatusOr<std::string> ReadArchive(const std::string& image_key) {
  http::Client c(http::ClientOptions{});
  auto r = c.Call(http::Request{.url = Fake().url + "/archive/" + image_key}, "read archive");
  if (!r.ok()) return r.status();
  return r->body;
}

ConnectorConformanceParams FakeParams() {
  ConnectorConformanceParams p;
  p.name = "SmugMugFake";
  p.make = [](const std::string& id) { return Make("Shoebox/" + id); };
  p.make_with_bad_credentials =
      [](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    SmugMugOptions o = Options("Shoebox/" + id);
    o.credentials.token_secret = "wrong";
    return MakeSmugMugConnector(std::move(o));
  };
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    std::string d = c->Describe();  // "smugmug:/ROOT at URL"
    const std::string root = d.substr(9, d.find(" at ") - 9);
    const SmugMugLocation loc = SmugMugLocate(root, path);
    auto images = GalleryImages(loc.gallery_path());
    if (!images.count(loc.file)) return absl::NotFoundError("the fake has no " + path);
    return ReadArchive(images[loc.file]["ImageKey"].get<std::string>());
  };
  // Albums are the galleries of the folder tree ("Camera/2023" is the
  // gallery "2023" in the folder "Camera"); a lost album directory walks the
  // node tree to find them.
  p.albums = true;
  p.make_with_albums = [](const std::string& id, std::shared_ptr<AlbumDirectory> albums) {
    return Make("Shoebox/" + id, std::move(albums));
  };
  p.uploads = []() -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(json stats, Fake().Get("stats"));
    return stats["uploads"].get<int64_t>() + stats["replacements"].get<int64_t>();
  };
  p.album_titles = [](const std::string& id) -> absl::StatusOr<std::vector<std::string>> {
    ASSIGN_OR_RETURN(json tree, Fake().Get("tree"));
    const std::string root = "Shoebox/" + id + "/";
    std::vector<std::string> out;
    for (const json& n : tree) {
      const std::string path = n["path"];
      if (n["type"] != "Album" || !absl::StartsWith(path, root)) continue;
      std::string title = path.substr(root.size());
      std::replace(title.begin(), title.end(), '/', ' ');
      out.push_back(title);
    }
    return out;
  };
  p.delete_album = [](const std::string& id, const std::string&,
                      const std::string& folder) -> absl::Status {
    return Fake().Control("delete", {{"path", "Shoebox/" + id + "/" + folder}}).status();
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(SmugMug, ConnectorConformance, ::testing::Values(FakeParams()),
                         [](const auto& info) { return info.param.name; });

struct File {
  std::string path;
  uint64_t size;
  uint64_t seed;
};

absl::StatusOr<RemoteObject> PutFile(Connector* c, const File& f, const std::string& album = "") {
  PatternSource src(f.size, f.seed);
  PutRequest r = PatternRequest(f.path, src);
  r.album = album;
  return c->Put(r, &src, nullptr);
}

const std::vector<File>& Tree() {
  static const std::vector<File> files = {{"Camera/2023/a.jpg", 1000, 1},
                                          {"Camera/2023/b.jpg", 2000, 2},
                                          {"Camera/2024/c.jpg", 3000, 3},
                                          {"Phone/d.heic", 4000, 4},
                                          {"e.jpg", 5000, 5}};
  return files;
}

TEST(SmugMugAlbums, NestedFoldersBecomeFoldersAndGalleriesCreatedOnce) {
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = Make("Nested", dir);
  ASSERT_TRUE(c.ok()) << c.status();
  // Small pages, so every listing is paged.
  ASSERT_TRUE(Fake().Control("config", {{"page_size", 2}}).ok());
  const int64_t nodes0 = Counter("nodes_created");
  for (const File& f : Tree()) {
    auto put = PutFile(c->get(), f);
    ASSERT_TRUE(put.ok()) << f.path << ": " << put.status();
    EXPECT_EQ(put->checksum, "sha256:" + ToHex(PatternSha256(f.size, f.seed))) << f.path;
  }
  EXPECT_EQ(Nodes("Nested"),
            (std::set<std::string>{"Folder Nested", "Album Nested", "Folder Nested/Camera",
                                   "Album Nested/Camera/2023", "Album Nested/Camera/2024",
                                   "Album Nested/Phone"}));
  EXPECT_EQ(Counter("nodes_created") - nodes0, 6);
  auto g2023 = GalleryImages("Nested/Camera/2023");
  EXPECT_EQ(g2023.size(), 2u);
  ASSERT_TRUE(g2023.count("b.jpg"));
  EXPECT_EQ(g2023["b.jpg"]["sha256"], ToHex(PatternSha256(2000, 2)));
  auto top = GalleryImages("Nested");
  ASSERT_TRUE(top.count("e.jpg"));
  // Byte-identical through the archive URL (a redirect the connector follows).
  auto back = ReadArchive(top["e.jpg"]["ImageKey"].get<std::string>());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == PatternSource(5000, 5).Content());
  std::string via_get;
  ASSERT_TRUE((*c)->Get("e.jpg",
                        [&](std::string_view b) {
                          via_get.append(b);
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_TRUE(via_get == *back);
  // Another connector (another job) with the same directory creates nothing.
  auto again = Make("Nested", dir);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(PutFile(again->get(), {"Camera/2023/f.jpg", 600, 6}).ok());
  EXPECT_EQ(Counter("nodes_created") - nodes0, 6);
  EXPECT_TRUE(dir->Lookup("node:Nested/Camera").ok());
  EXPECT_TRUE(dir->Lookup("gallery:Nested/Camera/2023").ok());
  // List walks the tree back to the device's paths.
  auto listed = (*again)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> paths;
  for (const RemoteObject& o : *listed) paths.insert(o.remote_path);
  EXPECT_EQ(paths,
            (std::set<std::string>{"Camera/2023/a.jpg", "Camera/2023/b.jpg", "Camera/2023/f.jpg",
                                   "Camera/2024/c.jpg", "Phone/d.heic", "e.jpg"}));
}

TEST(SmugMugAlbums, ReRunUploadsNothingAndAChangedFileReplacesItsImage) {
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = Make("Rerun", dir);
  ASSERT_TRUE(c.ok());
  for (const File& f : Tree()) ASSERT_TRUE(PutFile(c->get(), f).ok()) << f.path;
  const int64_t uploads = Counter("uploads"), nodes = Counter("nodes_created");
  auto second = Make("Rerun", dir);  // a re-run: new job, same directory
  for (const File& f : Tree()) ASSERT_TRUE(PutFile(second->get(), f).ok()) << f.path;
  EXPECT_EQ(Counter("uploads"), uploads) << "a re-run must upload nothing";
  EXPECT_EQ(Counter("nodes_created"), nodes);

  // A newer version of a.jpg replaces the image (X-Smug-ImageUri).
  const int64_t replaced = Counter("replacements");
  auto put = PutFile(second->get(), {"Camera/2023/a.jpg", 1500, 77});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(Counter("replacements"), replaced + 1);
  EXPECT_EQ(Counter("uploads"), uploads) << "a changed file is replaced, not added";
  auto g = GalleryImages("Rerun/Camera/2023");
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g["a.jpg"]["ArchivedSize"], 1500);
  auto st = (*second)->Stat("Camera/2023/a.jpg");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->checksum, "sha256:" + ToHex(PatternSha256(1500, 77)));
}

TEST(SmugMugAlbums, LostAlbumDirectoryFindsTheNodesAgainAndUploadsNothing) {
  auto c = Make("Lost", MakeInMemoryAlbumDirectory());
  ASSERT_TRUE(c.ok());
  for (const File& f : Tree()) ASSERT_TRUE(PutFile(c->get(), f).ok()) << f.path;
  const int64_t uploads = Counter("uploads"), nodes = Counter("nodes_created"),
                replaced = Counter("replacements");
  auto fresh_dir = MakeInMemoryAlbumDirectory();
  auto fresh = Make("Lost", fresh_dir);
  for (const File& f : Tree()) {
    auto st = (*fresh)->Stat(f.path);
    ASSERT_TRUE(st.ok()) << f.path << ": " << st.status();
    EXPECT_EQ(st->checksum, "sha256:" + ToHex(PatternSha256(f.size, f.seed)));
    ASSERT_TRUE(PutFile(fresh->get(), f).ok()) << f.path;
  }
  EXPECT_EQ(Counter("uploads"), uploads);
  EXPECT_EQ(Counter("nodes_created"), nodes);
  EXPECT_EQ(Counter("replacements"), replaced);
  EXPECT_TRUE(fresh_dir->Lookup("gallery:Lost/Camera/2024").ok());
}

TEST(SmugMugAlbums, DeletedGalleryAndFolderAreForgottenAndRecreated) {
  auto dir = MakeInMemoryAlbumDirectory();
  auto c = Make("Gone", dir);
  ASSERT_TRUE(c.ok());
  for (const File& f : Tree()) ASSERT_TRUE(PutFile(c->get(), f).ok()) << f.path;
  auto old_id = dir->Lookup("gallery:Gone/Camera/2023");
  ASSERT_TRUE(old_id.ok());
  ASSERT_TRUE(Fake().Control("delete", {{"path", "Gone/Camera/2023"}}).ok());
  // A new job (its connector remembers the gallery through the directory).
  auto job = Make("Gone", dir);
  EXPECT_EQ((*job)->Stat("Camera/2023/a.jpg").status().code(), absl::StatusCode::kNotFound);
  const int64_t nodes = Counter("nodes_created");
  ASSERT_TRUE(PutFile(job->get(), Tree()[0]).ok());
  EXPECT_EQ(Counter("nodes_created"), nodes + 1);
  auto new_id = dir->Lookup("gallery:Gone/Camera/2023");
  ASSERT_TRUE(new_id.ok());
  EXPECT_NE(*new_id, *old_id);
  EXPECT_EQ(GalleryImages("Gone/Camera/2023").size(), 1u);

  // A whole folder gone: the folder and the gallery come back.
  ASSERT_TRUE(Fake().Control("delete", {{"path", "Gone/Camera"}}).ok());
  auto job2 = Make("Gone", dir);
  ASSERT_TRUE(PutFile(job2->get(), Tree()[2]).ok());
  EXPECT_EQ(Counter("nodes_created"), nodes + 3);
  EXPECT_EQ(GalleryImages("Gone/Camera/2024").size(), 1u);
}

TEST(SmugMugAlbums, AlbumTitlesAreListedAndATemplateRulePlacesByTitle) {
  // The folder rule: the title names the folder tree's gallery.
  auto c = Make("Titles");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(PutFile(c->get(), {"Camera/2023/a.jpg", 100, 30}, "Camera 2023").ok());
  ASSERT_TRUE(PutFile(c->get(), {"Camera/2023/b.jpg", 100, 31}, "Camera 2023").ok());
  auto listed = (*c)->ListAlbum("Camera 2023");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].remote_path, "Camera/2023/a.jpg");
  EXPECT_EQ((*c)->ListAlbum("No such album").status().code(), absl::StatusCode::kNotFound);

  // A template: one gallery per title directly under the root folder.
  SmugMugOptions o = Options("Templ");
  o.albums = "{year}";
  auto t = MakeSmugMugConnector(std::move(o));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->EnsureFolder("Camera/2023").ok());
  ASSERT_TRUE(PutFile(t->get(), {"Camera/2023/a.jpg", 100, 40}, "2023").ok());
  EXPECT_EQ(Nodes("Templ"), (std::set<std::string>{"Folder Templ", "Album Templ/2023"}));
  auto st = (*t)->Stat("Camera/2023/a.jpg");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, 100u);
  auto in_album = (*t)->ListAlbum("2023");
  ASSERT_TRUE(in_album.ok()) << in_album.status();
  ASSERT_EQ(in_album->size(), 1u);
}

// `keywords = true`: the folder names go up in X-Smug-Keywords beside the
// two shoebox: keywords (';'-separated, a ';' in a name written ','); off
// (the default), only the shoebox: ones.
TEST(SmugMugAlbums, KeywordsAreTheFolderNamesWhenAsked) {
  SmugMugOptions o = Options("Keywords");
  o.keywords = true;
  auto c = MakeSmugMugConnector(std::move(o));
  ASSERT_TRUE(c.ok()) << c.status();
  PatternSource src(300, 50);
  PutRequest r = PatternRequest("Trips/Rome 2023/a.jpg", src);
  r.keywords = {"Trips", "Rome 2023", "x;y"};
  ASSERT_TRUE((*c)->Put(r, &src, nullptr).ok());
  auto with = GalleryImages("Keywords/Trips/Rome 2023");
  ASSERT_TRUE(with.count("a.jpg"));
  const std::string kw = with["a.jpg"]["Keywords"];
  EXPECT_TRUE(absl::StartsWith(kw, "Trips; Rome 2023; x,y; shoebox:sha256=")) << kw;
  auto plain = Make("NoKeywords");
  ASSERT_TRUE(plain.ok());
  PatternSource src2(300, 51);
  PutRequest r2 = PatternRequest("Trips/b.jpg", src2);
  r2.keywords = {"Trips"};
  ASSERT_TRUE((*plain)->Put(r2, &src2, nullptr).ok());
  const std::string kw2 = GalleryImages("NoKeywords/Trips")["b.jpg"]["Keywords"];
  EXPECT_TRUE(absl::StartsWith(kw2, "shoebox:sha256=")) << kw2;
}

TEST(SmugMugAlbums, WrongSignatureOrReusedNonceIsUnauthenticated) {
  SmugMugOptions o = Options("Auth");
  o.credentials.consumer_secret = "not-the-secret";
  auto c = MakeSmugMugConnector(std::move(o));
  ASSERT_TRUE(c.ok());
  const int64_t bad = Counter("bad_signatures");
  auto put = PutFile(c->get(), {"x/a.jpg", 10, 1});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnauthenticated) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "shoebox dest connect sm")) << put.status();
  EXPECT_GT(Counter("bad_signatures"), bad);

  // The same nonce and timestamp twice: the second is refused.
  const http::OAuth1Credentials creds{Fake().api_key, Fake().api_secret,
                                      Tokens()["oauth_token"].get<std::string>(),
                                      Tokens()["oauth_token_secret"].get<std::string>()};
  http::Client client(http::ClientOptions{});
  http::Request r{.method = "GET", .url = Fake().url + "/api/v2!authuser"};
  r.headers = {{"Accept", "application/json"}};
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto once = SmugMugSign(r, creds, "nonce-used-twice", now);
  ASSERT_TRUE(once.ok());
  auto first = client.Send(*once);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, 200) << first->body;
  auto second = client.Send(*once);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 401) << second->body;
  // OAuth parameters in the query are refused even when signed right.
  http::Request q{.method = "GET",
                  .url = Fake().url + "/api/v2!authuser?oauth_consumer_key=" + Fake().api_key};
  q.headers = {{"Accept", "application/json"}};
  auto in_query = SmugMugSign(q, creds);
  ASSERT_TRUE(in_query.ok());
  auto refused = client.Send(*in_query);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401) << refused->body;
}

TEST(SmugMugAlbums, ThrottlingIsHonouredAndEveryFileArrives) {
  ASSERT_TRUE(Fake().Control("config", {{"budget", 4}, {"window", 1}}).ok());
  json settings = {{"api_key", Fake().api_key},
                   {"endpoint", Fake().url},
                   {"upload_endpoint", Fake().url},
                   {"auth_endpoint", Fake().url},
                   {"folder", "Throttle"}};
  json secrets = {{"api_secret", Fake().api_secret},
                  {"oauth_token", Tokens()["oauth_token"].get<std::string>()},
                  {"oauth_token_secret", Tokens()["oauth_token_secret"].get<std::string>()}};
  ConnectorEnvironment env;
  env.destination_name = "throttled";
  auto c = MakeConnector("smugmug", settings, secrets, env);
  ASSERT_TRUE(c.ok()) << c.status();
  const int64_t throttled = Counter("throttled"), early = Counter("throttled_early");
  int exhausted = 0;
  for (uint64_t i = 0; i < 8; ++i) {
    // A 429 comes back as RESOURCE_EXHAUSTED with the Retry-After hint (the
    // job goes back to the queue with it); the account's request gate holds
    // every request of this process until then, so the next attempt, sent
    // at once here, waits at the gate instead of reaching the service early.
    absl::StatusOr<RemoteObject> put;
    for (int attempt = 0; attempt < 6; ++attempt) {
      put = PutFile(c->get(), {absl::StrCat("burst/p", i, ".jpg"), 100 + i, 100 + i});
      if (put.ok() || put.status().code() != absl::StatusCode::kResourceExhausted) break;
      ++exhausted;
      EXPECT_TRUE(RetryAfterMs(put.status()).has_value()) << put.status();
      EXPECT_TRUE(absl::StrContains(put.status().message(), "x-ratelimit-limit: 4"))
          << put.status();
    }
    ASSERT_TRUE(put.ok()) << i << ": " << put.status();
  }
  EXPECT_GT(exhausted, 0);
  ASSERT_TRUE(Fake().Control("config", {{"budget", 0}}).ok());
  EXPECT_GT(Counter("throttled"), throttled) << "the budget was meant to be exceeded";
  EXPECT_EQ(Counter("throttled_early"), early)
      << "a request was sent before the Retry-After the service named";
  EXPECT_EQ(GalleryImages("Throttle/burst").size(), 8u);
}

TEST(SmugMugAlbums, RefusedFormatOrSizeIsAPermanentErrorOnThatFile) {
  auto c = Make("Refused");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Fake().Control("config", {{"strict_types", true}}).ok());
  auto txt = PutFile(c->get(), {"docs/notes.txt", 100, 1});
  auto jpg = PutFile(c->get(), {"docs/photo.jpg", 100, 2});
  ASSERT_TRUE(Fake().Control("config", {{"strict_types", false}, {"max_bytes", 500}}).ok());
  auto big = PutFile(c->get(), {"docs/big.jpg", 1000, 3});
  ASSERT_TRUE(Fake().Control("config", {{"max_bytes", 0}}).ok());
  ASSERT_FALSE(txt.ok());
  EXPECT_EQ(txt.status().code(), absl::StatusCode::kFailedPrecondition) << txt.status();
  EXPECT_EQ(ClassifyForRetry(txt.status()), RetryClass::kPermanent);
  EXPECT_TRUE(absl::StrContains(txt.status().message(), "notes.txt")) << txt.status();
  EXPECT_TRUE(absl::StrContains(txt.status().message(), "Unsupported file type")) << txt.status();
  EXPECT_TRUE(jpg.ok()) << jpg.status();
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kFailedPrecondition) << big.status();
  EXPECT_TRUE(absl::StrContains(big.status().message(), "larger than")) << big.status();
}

TEST(SmugMugAlbums, DroppedUploadAndServerErrorsAreRetryable) {
  auto c = Make("Faults");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(PutFile(c->get(), {"f/warm.jpg", 10, 1}).ok());  // nodes exist
  ASSERT_TRUE(Fake().Control("fault", {{"endpoint", "upload"}, {"drop_after", 100000}}).ok());
  const int64_t dropped_before = Counter("dropped_uploads");
  // The connection drops 100,000 bytes into the upload. curl may send the
  // request again by itself on a new connection (the connection was
  // reused): the connector then signs it afresh (the first signature's
  // nonce is spent) and the upload succeeds; otherwise the Put fails
  // retryably. Either way nothing is half there, and a retry completes it.
  auto dropped = PutFile(c->get(), {"f/cut.jpg", 300000, 2});
  EXPECT_EQ(Counter("dropped_uploads"), dropped_before + 1);
  if (!dropped.ok()) {
    EXPECT_EQ(ClassifyForRetry(dropped.status()), RetryClass::kRetryable) << dropped.status();
    EXPECT_EQ((*c)->Stat("f/cut.jpg").status().code(), absl::StatusCode::kNotFound);
  }
  ASSERT_TRUE(Fake().Control("fault", {{"endpoint", "upload"}, {"status", 503}}).ok());
  auto unavailable = PutFile(c->get(), {"f/other.jpg", 1000, 3});
  ASSERT_FALSE(unavailable.ok());
  EXPECT_EQ(unavailable.status().code(), absl::StatusCode::kUnavailable) << unavailable.status();
  ASSERT_TRUE(PutFile(c->get(), {"f/other.jpg", 1000, 3}).ok());
  auto retry = PutFile(c->get(), {"f/cut.jpg", 300000, 2});
  ASSERT_TRUE(retry.ok()) << retry.status();
  auto images = GalleryImages("Faults/f");
  EXPECT_EQ(images.size(), 3u);
  ASSERT_TRUE(images.count("cut.jpg"));
  EXPECT_EQ(images["cut.jpg"]["sha256"], ToHex(PatternSha256(300000, 2)));
}

// The three-legged flow `shoebox dest connect` runs (out of band: PIN).
TEST(SmugMugAlbums, OAuthOutOfBandFlowGivesWorkingTokens) {
  http::Client client(http::ClientOptions{});
  const std::string base = Fake().url + "/services/oauth/1.0a/";
  http::OAuth1Credentials consumer{Fake().api_key, Fake().api_secret, "", ""};
  http::OAuth1Request rt{"POST", base + "getRequestToken", {}, {{"oauth_callback", "oob"}}};
  auto p = http::OAuth1Sign(rt, consumer);
  ASSERT_TRUE(p.ok()) << p.status();
  auto r = client.Send(
      http::Request{.method = "POST",
                    .url = rt.url,
                    .headers = {{"Authorization", http::OAuth1AuthorizationHeader(*p)}}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->body;
  std::map<std::string, std::string> got;
  for (auto& [k, v] : http::ParseFormEncoded(r->body)) got[k] = v;
  EXPECT_EQ(got["oauth_callback_confirmed"], "true");
  // The user opens the authorize page and reads the PIN.
  auto page = client.Send(http::Request{
      .url = base + "authorize?Access=Full&Permissions=Modify&oauth_token=" + got["oauth_token"]});
  ASSERT_TRUE(page.ok() && page->status == 200);
  const std::string marker = "<span id=\"verifier\">";
  const size_t at = page->body.find(marker);
  ASSERT_NE(at, std::string::npos) << page->body;
  const std::string pin = page->body.substr(at + marker.size(), 6);
  http::OAuth1Credentials req_creds{Fake().api_key, Fake().api_secret, got["oauth_token"],
                                    got["oauth_token_secret"]};
  http::OAuth1Request at_req{"POST", base + "getAccessToken", {}, {{"oauth_verifier", pin}}};
  auto p2 = http::OAuth1Sign(at_req, req_creds);
  ASSERT_TRUE(p2.ok());
  auto r2 = client.Send(
      http::Request{.method = "POST",
                    .url = at_req.url,
                    .headers = {{"Authorization", http::OAuth1AuthorizationHeader(*p2)}}});
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->status, 200) << r2->body;
  std::map<std::string, std::string> access;
  for (auto& [k, v] : http::ParseFormEncoded(r2->body)) access[k] = v;
  SmugMugOptions o = Options("Connected");
  o.credentials.token = access["oauth_token"];
  o.credentials.token_secret = access["oauth_token_secret"];
  auto c = MakeSmugMugConnector(std::move(o));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(PutFile(c->get(), {"a/b.jpg", 10, 1}).ok());
}

}  // namespace
}  // namespace shoebox::worker
