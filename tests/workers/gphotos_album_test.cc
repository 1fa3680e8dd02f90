// Google Photos albums, resumption and limits against the local Library API
// (tests/fakes/gphotos_server.py, 20 ms latency, albums limited to 3 items so
// that a second part is reached): folders become albums with the right items,
// album parts, a re-run uploads nothing, a worker restart between chunks
// re-sends nothing, an expired upload token is uploaded again, batchCreate
// never runs twice at once for one account, the daily budget, and the 200 MB
// photo limit checked before any byte goes out.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/http/http_client.h"
#include "tests/support/gphotos_fake.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/gphotos.h"

namespace shoebox::worker {
namespace {

using nlohmann::json;

// PatternSource comes from the conformance library; the suite itself runs in
// gphotos_connector_test.cc.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConnectorConformance);

constexpr int kAlbumLimit = 3;

testsupport::GooglePhotosFake& Fake() {
  static std::unique_ptr<testsupport::GooglePhotosFake> fake = testsupport::OrAbort(
      testsupport::StartGooglePhotosFake({.latency_ms = 20, .album_limit = kAlbumLimit}),
      "gphotos fake");
  return *fake;
}

std::string TestUser() {
  const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(ti->name(), "-", getpid());
}

struct Opened {
  std::unique_ptr<Connector> conn;
  std::shared_ptr<AlbumDirectory> albums;
};

// A connector for `user`, as a worker process `process` would open it (its
// own in-process index and batchCreate turn), on the album directory given
// (the catalog's) or a new one.
Opened Open(const std::string& user, const std::string& process,
            std::shared_ptr<AlbumDirectory> albums = nullptr, int64_t budget = 0) {
  auto token = Fake().AccessToken(user);
  EXPECT_TRUE(token.ok()) << token.status();
  GooglePhotosOptions o;
  o.endpoint = Fake().endpoint;
  o.upload_endpoint = Fake().upload_endpoint;
  o.timeout_s = 30;
  o.chunk_bytes = 1u << 20;
  o.account_key = absl::StrCat(user, "/", process);
  o.budget_key = o.account_key;
  o.daily_request_budget = budget;
  o.albums = albums ? albums : MakeInMemoryAlbumDirectory();
  auto c = MakeGooglePhotosConnector(
      o, std::make_shared<http::StaticTokenSource>(token.ok() ? *token : ""));
  EXPECT_TRUE(c.ok()) << c.status();
  return Opened{c.ok() ? std::move(*c) : nullptr, o.albums};
}

absl::StatusOr<RemoteObject> PutPattern(Connector* c, const std::string& path, uint64_t size,
                                        uint64_t seed, const std::string& album) {
  PatternSource src(size, seed);
  PutRequest r = PatternRequest(path, src);
  r.album = album;
  return c->Put(r, &src, nullptr);
}

int64_t Stat(const std::string& name) {
  auto s = Fake().Control("stats");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->value(name, int64_t{0}) : -1;
}

// Album title -> the file names in it, from the server's own listing.
std::map<std::string, std::multiset<std::string>> Albums(const std::string& user) {
  auto lib = Fake().Library(user);
  EXPECT_TRUE(lib.ok()) << lib.status();
  std::map<std::string, std::string> names;
  for (const json& it : (*lib)["items"]) names[it["id"]] = it["filename"];
  std::map<std::string, std::multiset<std::string>> out;
  for (const json& a : (*lib)["albums"]) {
    auto& set = out[a["title"]];
    for (const json& id : a["items"]) set.insert(names[id.get<std::string>()]);
  }
  return out;
}

TEST(GooglePhotosAlbums, TwoFoldersBecomeTwoAlbumsWithTheirItems) {
  const std::string user = TestUser();
  Opened w = Open(user, "w1");
  ASSERT_TRUE(PutPattern(w.conn.get(), "Camera/2023/a.jpg", 1000, 1, "Camera 2023").ok());
  ASSERT_TRUE(PutPattern(w.conn.get(), "Camera/2023/b.jpg", 1001, 2, "Camera 2023").ok());
  ASSERT_TRUE(PutPattern(w.conn.get(), "Trips/Rome/c.jpg", 1002, 3, "Trips Rome").ok());
  auto albums = Albums(user);
  EXPECT_EQ(albums, (std::map<std::string, std::multiset<std::string>>{
                        {"Camera 2023", {"a.jpg", "b.jpg"}}, {"Trips Rome", {"c.jpg"}}}));
  auto listed = w.conn->ListAlbum("Camera 2023");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> paths;
  for (const auto& o : *listed) paths.insert(o.remote_path);
  EXPECT_EQ(paths, (std::set<std::string>{"Camera/2023/a.jpg", "Camera/2023/b.jpg"}));
  EXPECT_EQ(w.conn->ListAlbum("No such album").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Stat("concurrent_batch_create"), 0);
}

TEST(GooglePhotosAlbums, AFullAlbumContinuesInPartTwo) {
  const std::string user = TestUser();
  Opened w = Open(user, "w1");
  for (int i = 0; i < kAlbumLimit + 2; ++i) {
    auto put = PutPattern(w.conn.get(), absl::StrCat("Big/p", i, ".jpg"), 500 + i, 10 + i, "Big");
    ASSERT_TRUE(put.ok()) << put.status();
  }
  auto albums = Albums(user);
  ASSERT_EQ(albums.size(), 2u);
  EXPECT_EQ(albums["Big"].size(), static_cast<size_t>(kAlbumLimit));
  EXPECT_EQ(albums["Big (2)"].size(), 2u);
  EXPECT_TRUE(w.albums->Lookup("Big").ok());
  EXPECT_TRUE(w.albums->Lookup("Big#2").ok()) << "part 2 is remembered as Big#2";
  auto listed = w.conn->ListAlbum("Big");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), static_cast<size_t>(kAlbumLimit + 2)) << "both parts are listed";
}

TEST(GooglePhotosAlbums, ARerunUploadsNothing) {
  const std::string user = TestUser();
  auto catalog = MakeInMemoryAlbumDirectory();
  {
    Opened w = Open(user, "first", catalog);
    ASSERT_TRUE(PutPattern(w.conn.get(), "A/x.jpg", 2000, 20, "A").ok());
    ASSERT_TRUE(PutPattern(w.conn.get(), "B/y.jpg", 2001, 21, "B").ok());
  }
  const int64_t uploads = Stat("uploads_started"), creates = Stat("batch_create_items");
  const int64_t albums_made = Stat("albums_created");
  // Another worker process, a lost in-process index: the descriptions say
  // what is there already.
  Opened again = Open(user, "second", catalog);
  auto x = PutPattern(again.conn.get(), "A/x.jpg", 2000, 20, "A");
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_TRUE(PutPattern(again.conn.get(), "B/y.jpg", 2001, 21, "B").ok());
  EXPECT_EQ(Stat("uploads_started"), uploads);
  EXPECT_EQ(Stat("batch_create_items"), creates);
  EXPECT_EQ(Stat("albums_created"), albums_made);
  auto lib = Fake().Library(user);
  EXPECT_EQ((*lib)["items"].size(), 2u);
}

TEST(GooglePhotosAlbums, ADeletedAlbumIsMadeAgain) {
  const std::string user = TestUser();
  Opened w = Open(user, "w1");
  ASSERT_TRUE(PutPattern(w.conn.get(), "G/a.jpg", 300, 30, "Gone").ok());
  auto id = w.albums->Lookup("Gone");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(Fake().Control("delete_album", {{"user", user}, {"id", *id}}).ok());
  ASSERT_TRUE(PutPattern(w.conn.get(), "G/b.jpg", 301, 31, "Gone").ok());
  auto again = w.albums->Lookup("Gone");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *id);
  EXPECT_EQ(Albums(user)["Gone"], (std::multiset<std::string>{"b.jpg"}));
}

TEST(GooglePhotosResume, AWorkerRestartBetweenChunksResendsNothing) {
  const std::string user = TestUser();
  const uint64_t size = (5u << 20) + 777;  // six chunks of 1 MiB
  PatternSource failing(size, 40, /*fail_at=*/(3u << 20) + 5000);
  PutRequest req = PatternRequest("videos/resume-me.mov", failing);
  req.album = "Videos";
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  {
    Opened w = Open(user, "killed");
    auto put = w.conn->Put(req, &failing, nullptr);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
    ASSERT_FALSE(saved.empty());
  }
  Opened w = Open(user, "restarted");  // a new process: only the saved state
  PatternSource good(size, 40);
  req.resume_state = saved;
  auto put = w.conn->Put(req, &good, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(saved.empty()) << "the state is cleared once the item exists";
  EXPECT_EQ(good.seeks().front(), 3u << 20) << "continued where the service stood";
  auto sessions = Fake().Control("sessions");
  ASSERT_TRUE(sessions.ok());
  int found = 0;
  for (auto& [id, s] : sessions->items()) {
    if (s.value("user", "") != user) continue;
    ++found;
    EXPECT_EQ(s["received"].get<uint64_t>(), size);
    std::set<uint64_t> starts;
    for (const auto& ch : s["chunks"]) {
      EXPECT_TRUE(starts.insert(ch[0].get<uint64_t>()).second) << "chunk sent twice: " << ch;
    }
  }
  EXPECT_EQ(found, 1) << "one upload session: nothing started over";
  auto back = Fake().Blob(put->ref);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == good.Content());
}

TEST(GooglePhotosResume, AnExpiredUploadTokenIsUploadedAgain) {
  const std::string user = TestUser();
  PatternSource src(4096, 50);
  PutRequest req = PatternRequest("t/token.jpg", src);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  {
    // The bytes arrive, the batchCreate call fails: the token is saved.
    ASSERT_TRUE(Fake()
                    .Control("fault", {{"target", "api"},
                                       {"path", "/v1/mediaItems:batchCreate"},
                                       {"action", "status"},
                                       {"status", 503}})
                    .ok());
    Opened w = Open(user, "first");
    auto put = w.conn->Put(req, &src, nullptr);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
    ASSERT_TRUE(absl::StrContains(saved, "\"token\"")) << saved;
  }
  ASSERT_TRUE(Fake().Control("expire_upload_tokens", json::object()).ok());
  const int64_t uploads = Stat("uploads_started");
  Opened w = Open(user, "second");
  PatternSource again(4096, 50);
  req.resume_state = saved;
  auto put = w.conn->Put(req, &again, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(Stat("uploads_started"), uploads + 1) << "the refused token's bytes went up again";
  auto lib = Fake().Library(user);
  EXPECT_EQ((*lib)["items"].size(), 1u);
  EXPECT_TRUE(*Fake().Blob(put->ref) == again.Content());
}

TEST(GooglePhotosResume, ASavedTokenIsUsedWithoutUploadingAgain) {
  const std::string user = TestUser();
  PatternSource src(3000, 55);
  PutRequest req = PatternRequest("t/keep.jpg", src);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "api"},
                                     {"path", "/v1/mediaItems:batchCreate"},
                                     {"action", "status"},
                                     {"status", 503}})
                  .ok());
  ASSERT_FALSE(Open(user, "first").conn->Put(req, &src, nullptr).ok());
  const int64_t uploads = Stat("uploads_started");
  Opened w = Open(user, "second");
  PatternSource again(3000, 55);
  req.resume_state = saved;
  ASSERT_TRUE(w.conn->Put(req, &again, nullptr).ok());
  EXPECT_EQ(Stat("uploads_started"), uploads);
  EXPECT_EQ(again.bytes_read(), 0u) << "no byte was read again";
}

TEST(GooglePhotosBatch, ConcurrentPutsNeverRunBatchCreateAtOnce) {
  const std::string user = TestUser();
  auto catalog = MakeInMemoryAlbumDirectory();
  const int64_t refused = Stat("concurrent_batch_create");
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // One connector per job, as the worker opens them, on one account.
      Opened w = Open(user, "pool", catalog);
      auto put = PutPattern(w.conn.get(), absl::StrCat("Party/p", i, ".jpg"), 20000 + i, 60 + i,
                            i % 2 ? "Party" : "Party Two");
      results[i] = put.status();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Stat("concurrent_batch_create"), refused) << "two batchCreate calls overlapped";
  auto lib = Fake().Library(user);
  EXPECT_EQ((*lib)["items"].size(), static_cast<size_t>(kThreads));
}

TEST(GooglePhotosLimits, TheDailyBudgetStopsRequestsBeforeSending) {
  const std::string user = TestUser();
  Opened w = Open(user, "budget", nullptr, /*budget=*/4);
  // list, start, one chunk, batchCreate: four requests.
  ASSERT_TRUE(PutPattern(w.conn.get(), "b/one.jpg", 100, 70, "").ok());
  const int64_t requests = Stat("requests");
  auto put = PutPattern(w.conn.get(), "b/two.jpg", 100, 71, "");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kResourceExhausted) << put.status();
  EXPECT_TRUE(absl::StartsWith(put.status().message(),
                               "Google Photos daily request budget used; resumes at 00:00 Pacific"))
      << put.status();
  ASSERT_TRUE(RetryAfterMs(put.status()).has_value());
  const int64_t want =
      absl::ToInt64Milliseconds(gphotos_internal::NextPacificMidnight(absl::Now()) - absl::Now());
  EXPECT_NEAR(static_cast<double>(*RetryAfterMs(put.status())), static_cast<double>(want), 60000);
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable);
  EXPECT_EQ(Stat("requests"), requests) << "nothing was sent once the budget was spent";
}

TEST(GooglePhotosLimits, TheServicesQuotaAnswerIsTheSameWait) {
  const std::string user = TestUser();
  Opened w = Open(user, "quota");
  ASSERT_TRUE(Fake().Control("budget", {{"daily_budget", 1}, {"reset", true}}).ok());
  auto put = PutPattern(w.conn.get(), "q/one.jpg", 100, 80, "");
  ASSERT_TRUE(Fake().Control("budget", {{"daily_budget", 0}, {"reset", true}}).ok());
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kResourceExhausted) << put.status();
  EXPECT_TRUE(absl::StartsWith(put.status().message(), "Google Photos daily request budget used"))
      << put.status();
  EXPECT_GT(RetryAfterMs(put.status()).value_or(0), 0u);
}

TEST(GooglePhotosLimits, APhotoOver200MBIsRefusedBeforeAnyByteIsSent) {
  const std::string user = TestUser();
  Opened w = Open(user, "big");
  const int64_t requests = Stat("requests");
  PatternSource src(200000001, 90);
  PutRequest req;
  req.remote_path = "huge/panorama.jpg";
  req.size = src.size();
  req.sha256 = std::string(32, 'x');  // not read: the limit comes first
  auto put = w.conn->Put(req, &src, nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kFailedPrecondition) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "huge/panorama.jpg")) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "200 MB")) << put.status();
  EXPECT_EQ(src.bytes_read(), 0u);
  EXPECT_EQ(Stat("requests"), requests) << "no request for a file the service would refuse";
}

}  // namespace
}  // namespace shoebox::worker
