// The Google Photos connector: its rules without a network (GooglePhotosRules.*,
// GooglePhotosSettings.*: the Pacific midnight of the daily budget across
// both DST changes, size limits, error mapping, the description that marks
// Shoebox's items) and, against the local Library API
// (tests/fakes/gphotos_server.py), the shared conformance suite plus scope,
// format, download-redirect and Delete behaviour. Album, resume, token-expiry,
// batchCreate-turn and budget cases: gphotos_album_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/bytes.h"
#include "common/http/http_client.h"
#include "tests/support/gphotos_fake.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/gphotos.h"

namespace shoebox::worker {
namespace {

using gphotos_internal::ApiError;
using gphotos_internal::BudgetUsedStatus;
using gphotos_internal::CheckSizeLimit;
using gphotos_internal::DailyBudget;
using gphotos_internal::ItemError;
using gphotos_internal::ItemMeta;
using gphotos_internal::MakeDescription;
using gphotos_internal::NextPacificMidnight;
using gphotos_internal::ParseDescription;
using gphotos_internal::PathKey;

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

TEST(GooglePhotosRules, PacificMidnightOnOrdinaryDays) {
  // 2026-07-01 10:00 PDT (UTC-7) -> 2026-07-02 00:00 PDT = 07:00 UTC.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 7, 1, 17, 0)), Utc(2026, 7, 2, 7, 0));
  // Exactly at midnight: the next one, a day later.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 7, 1, 7, 0)), Utc(2026, 7, 2, 7, 0));
  // Winter, UTC-8.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 1, 15, 3, 0)), Utc(2026, 1, 15, 8, 0));
}

TEST(GooglePhotosRules, PacificMidnightAcrossSpringForward) {
  // 2026-03-08 02:00 PST becomes 03:00 PDT. Before it (01:30 PST = 09:30 UTC)
  // the next midnight is 2026-03-09 00:00 PDT = 07:00 UTC: a 23-hour day.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 3, 8, 9, 30)), Utc(2026, 3, 9, 7, 0));
  // The evening before: midnight still in PST.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 3, 8, 7, 59)), Utc(2026, 3, 8, 8, 0));
}

TEST(GooglePhotosRules, PacificMidnightAcrossFallBack) {
  // 2026-11-01 02:00 PDT becomes 01:00 PST. At 01:30 PDT (08:30 UTC) the
  // next midnight is 2026-11-02 00:00 PST = 08:00 UTC: a 25-hour day.
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 11, 1, 8, 30)), Utc(2026, 11, 2, 8, 0));
  // The day before: its midnight is still in PDT (07:00 UTC).
  EXPECT_EQ(NextPacificMidnight(Utc(2026, 10, 31, 19, 0)), Utc(2026, 11, 1, 7, 0));
}

TEST(GooglePhotosRules, SizeLimitsByKind) {
  EXPECT_TRUE(CheckSizeLimit("a/photo.jpg", 200000000).ok());
  absl::Status big = CheckSizeLimit("a/photo.jpg", 200000001);
  EXPECT_EQ(big.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(big.message(), "a/photo.jpg")) << big;
  EXPECT_TRUE(absl::StrContains(big.message(), "200 MB")) << big;
  // Videos by extension, in any case.
  EXPECT_TRUE(CheckSizeLimit("v/clip.MP4", 200000001).ok());
  EXPECT_TRUE(CheckSizeLimit("v/clip.mov", 20000000000ull).ok());
  absl::Status huge = CheckSizeLimit("v/clip.mov", 20000000001ull);
  EXPECT_EQ(huge.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(huge.message(), "20 GB")) << huge;
  EXPECT_EQ(CheckSizeLimit("empty.jpg", 0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ClassifyForRetry(big), RetryClass::kPermanent);
  EXPECT_EQ(gphotos_internal::MimeTypeFor("x/IMG_1.HEIC"), "image/heic");
  EXPECT_EQ(gphotos_internal::MimeTypeFor("x/clip.mov"), "video/quicktime");
  EXPECT_EQ(gphotos_internal::MimeTypeFor("x/data.bin"), "application/octet-stream");
}

TEST(GooglePhotosRules, BudgetStatusWaitsUntilPacificMidnight) {
  const absl::Time now = Utc(2026, 3, 8, 9, 30);
  absl::Status s = BudgetUsedStatus(now);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "Google Photos daily request budget used; resumes at 00:00 Pacific");
  ASSERT_TRUE(RetryAfterMs(s).has_value());
  EXPECT_EQ(*RetryAfterMs(s), absl::ToInt64Milliseconds(Utc(2026, 3, 9, 7, 0) - now));
  EXPECT_EQ(ClassifyForRetry(s), RetryClass::kRetryable);  // the job waits, uncounted
}

TEST(GooglePhotosRules, DailyBudgetCountsAndResetsAtMidnight) {
  DailyBudget b(2);
  const absl::Time t = Utc(2026, 7, 1, 17, 0);
  EXPECT_TRUE(b.Take(t).ok());
  EXPECT_TRUE(b.Take(t).ok());
  absl::Status spent = b.Take(t + absl::Minutes(1));
  EXPECT_EQ(spent.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StartsWith(spent.message(), "Google Photos daily request budget used"));
  EXPECT_TRUE(b.Take(Utc(2026, 7, 2, 7, 0)).ok()) << "a new Pacific day";
  b.Exhaust(Utc(2026, 7, 2, 8, 0));
  EXPECT_FALSE(b.Take(Utc(2026, 7, 2, 9, 0)).ok()) << "a 429 of the service spends the day";
}

http::Response Answer(int status, const std::string& body, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = body;
  r.headers = std::move(headers);
  r.method = "POST";
  r.url = "https://photoslibrary.googleapis.com/v1/mediaItems:batchCreate";
  return r;
}

std::string GoogleBody(int code, const std::string& status, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}, {"status", status}}}}
      .dump();
}

TEST(GooglePhotosRules, ErrorMapping) {
  const absl::Time now = Utc(2026, 7, 1, 17, 0);
  absl::Status s = ApiError(Answer(401, GoogleBody(401, "UNAUTHENTICATED", "bad token")), "create",
                            "photoslibrary.appendonly", now);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "shoebox dest connect")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "bad token")) << s;

  s = ApiError(Answer(403, GoogleBody(403, "PERMISSION_DENIED",
                                      "Request had insufficient authentication scopes.")),
               "list", "photoslibrary.readonly.appcreateddata", now);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(
      s.message(), "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata"))
      << s;

  s = ApiError(Answer(403, GoogleBody(403, "PERMISSION_DENIED",
                                      "No permission to add media "
                                      "items to this album.")),
               "add", "photoslibrary.appendonly", now);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;

  s = ApiError(Answer(400, GoogleBody(400, "INVALID_ARGUMENT", "Invalid media item")), "create", "",
               now);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), "INVALID_ARGUMENT: Invalid media item")) << s;

  s = ApiError(Answer(503, GoogleBody(503, "UNAVAILABLE", "backend")), "create", "", now);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);

  s = ApiError(Answer(429, GoogleBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded")), "create", "",
               now);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StartsWith(s.message(),
                               "Google Photos daily request budget used; resumes at 00:00 Pacific"))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "Quota exceeded")) << s;
  EXPECT_EQ(*RetryAfterMs(s), absl::ToInt64Milliseconds(Utc(2026, 7, 2, 7, 0) - now));

  s = ApiError(
      Answer(429, GoogleBody(429, "RESOURCE_EXHAUSTED", "slow down"), {{"retry-after", "30"}}),
      "create", "", now);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*RetryAfterMs(s), 30000u);
}

TEST(GooglePhotosRules, ItemStatusMapping) {
  absl::Status s = ItemError(3, "Failed: unsupported", "docs/notes.txt");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), "docs/notes.txt")) << s;
  EXPECT_EQ(ItemError(8, "quota", "a.jpg").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ItemError(14, "later", "a.jpg").code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(gphotos_internal::IsUploadTokenRefusal(3, "The upload token has expired"));
  EXPECT_TRUE(gphotos_internal::IsUploadTokenRefusal(5, "Not found"));
  EXPECT_FALSE(gphotos_internal::IsUploadTokenRefusal(3, "unsupported file type"));
}

TEST(GooglePhotosRules, DescriptionRoundTrips) {
  ItemMeta m{.key = PathKey("Camera/2023/IMG 1.jpg"),
             .sha256_hex = std::string(64, 'a'),
             .size = 1234,
             .album_id = "AbC-12_x",
             .path = "Camera/2023/IMG 1.jpg"};
  const std::string d = MakeDescription(m);
  EXPECT_TRUE(absl::StartsWith(d, "shoebox:" + m.key + " sha256:")) << d;
  auto back = ParseDescription(d);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->key, m.key);
  EXPECT_EQ(back->sha256_hex, m.sha256_hex);
  EXPECT_EQ(back->size, 1234u);
  EXPECT_EQ(back->album_id, "AbC-12_x");
  EXPECT_EQ(back->path, "Camera/2023/IMG 1.jpg");
  EXPECT_FALSE(back->retired);
  m.retired = true;
  EXPECT_TRUE(ParseDescription(MakeDescription(m))->retired);
  EXPECT_FALSE(ParseDescription("Holiday in Rome").has_value());
  EXPECT_FALSE(ParseDescription("shoebox:short sha256:x size:1").has_value());
  m.path = std::string(990, 'p');  // does not fit in 1,000 characters
  const std::string longd = MakeDescription(m);
  EXPECT_LE(longd.size(), 1000u);
  EXPECT_EQ(ParseDescription(longd)->path, "");
}

TEST(GooglePhotosSettings, DefaultsAndEndpoints) {
  auto o = GooglePhotosOptionsFromSettings(nlohmann::json{{"client_id", "c"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->endpoint, "https://photoslibrary.googleapis.com");
  EXPECT_EQ(o->upload_endpoint, "https://photoslibrary.googleapis.com/v1/uploads");
  EXPECT_EQ(o->daily_request_budget, 10000);
  auto local = GooglePhotosOptionsFromSettings(nlohmann::json{
      {"client_id", "c"}, {"endpoint", "http://127.0.0.1:9/"}, {"daily_request_budget", 50}});
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(local->endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(local->upload_endpoint, "http://127.0.0.1:9/v1/uploads");
  EXPECT_EQ(local->daily_request_budget, 50);
  auto bad = GooglePhotosOptionsFromSettings(
      nlohmann::json{{"client_id", "c"}, {"daily_request_budget", "many"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- the fake

testsupport::GooglePhotosFake& Fake() {
  static std::unique_ptr<testsupport::GooglePhotosFake> fake =
      testsupport::OrAbort(testsupport::StartGooglePhotosFake({.latency_ms = 0}), "gphotos fake");
  return *fake;
}

absl::StatusOr<std::unique_ptr<Connector>> Make(const std::string& user,
                                                const std::vector<std::string>& scopes = {},
                                                const std::string& token = "",
                                                std::shared_ptr<AlbumDirectory> albums = nullptr) {
  std::string t = token;
  if (t.empty()) {
    auto got = Fake().AccessToken(user, scopes);
    if (!got.ok()) return got.status();
    t = *got;
  }
  GooglePhotosOptions o;
  o.endpoint = Fake().endpoint;
  o.upload_endpoint = Fake().upload_endpoint;
  o.timeout_s = 30;
  o.chunk_bytes = 1u << 20;  // the 200 MiB file takes 200 chunks
  o.account_key = absl::StrCat(user, "-", t.substr(0, 12));
  o.budget_key = o.account_key;
  o.albums = std::move(albums);
  return MakeGooglePhotosConnector(o, std::make_shared<http::StaticTokenSource>(t));
}

ConnectorConformanceParams Params() {
  ConnectorConformanceParams p;
  p.name = "GooglePhotosFake";
  // Every test is a user of its own: an empty library.
  p.make = [](const std::string& id) { return Make(id); };
  p.make_with_bad_credentials = [](const std::string& id) {
    return Make(id, {}, "ya29.not-a-valid-token");
  };
  p.independent_read = [](Connector* c, const std::string& remote) -> absl::StatusOr<std::string> {
    auto st = c->Stat(remote);  // the id only; the bytes come from the server's store
    if (!st.ok()) return st.status();
    return Fake().Blob(st->ref);
  };
  p.refuses_empty_files_reason =
      "Google Photos stores only photos and videos: an empty file is refused before sending";
  p.resumes = true;  // a retry queries the session and sends only what is missing
  // Albums are created by Shoebox. The 2025 scopes let an app list only the
  // albums and items it created: a lost album directory finds Shoebox's
  // albums by title with albums.list and the items by their descriptions
  // (mediaItems.list); albums a user made in the app stay invisible.
  p.albums = true;
  // A new token: another worker process (its own item index).
  p.make_with_albums = [](const std::string& id, std::shared_ptr<AlbumDirectory> albums) {
    return Make(id, {}, "", std::move(albums));
  };
  p.uploads = []() -> absl::StatusOr<int64_t> {
    auto stats = Fake().Control("stats");
    if (!stats.ok()) return stats.status();
    return stats->value("uploads_started", int64_t{0}) +
           stats->value("batch_create_items", int64_t{0});
  };
  p.album_titles = [](const std::string& id) -> absl::StatusOr<std::vector<std::string>> {
    auto lib = Fake().Library(id);
    if (!lib.ok()) return lib.status();
    std::vector<std::string> out;
    for (const auto& a : (*lib)["albums"]) out.push_back(a["title"].get<std::string>());
    return out;
  };
  p.delete_album = [](const std::string& id, const std::string& album,
                      const std::string&) -> absl::Status {
    auto lib = Fake().Library(id);
    if (!lib.ok()) return lib.status();
    for (const auto& a : (*lib)["albums"]) {
      if (a["title"] == album)
        return Fake().Control("delete_album", {{"user", id}, {"id", a["id"]}}).status();
    }
    return absl::NotFoundError("the local Google Photos has no album \"" + album + "\" of " + id);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(GooglePhotos, ConnectorConformance, ::testing::Values(Params()),
                         ConformanceName);

std::string TestUser() {
  const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(ti->name(), "-", getpid());
}

absl::StatusOr<RemoteObject> PutPattern(Connector* c, const std::string& path, uint64_t size,
                                        uint64_t seed, const std::string& album = "") {
  PatternSource src(size, seed);
  PutRequest r = PatternRequest(path, src);
  r.album = album;
  return c->Put(r, &src, nullptr);
}

TEST(GooglePhotos, MissingScopeIsAnAuthErrorNamingIt) {
  const std::string user = TestUser();
  // appendonly alone may upload but not list what the app created.
  auto c = Make(user, {"https://www.googleapis.com/auth/photoslibrary.appendonly"});
  ASSERT_TRUE(c.ok()) << c.status();
  auto st = (*c)->Stat("a.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnauthenticated) << st.status();
  EXPECT_TRUE(absl::StrContains(st.status().message(), "photoslibrary.readonly.appcreateddata"))
      << st.status();
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kAuth);
}

TEST(GooglePhotos, UnsupportedFormatIsAPermanentErrorOnThatFile) {
  auto c = Make(TestUser());
  ASSERT_TRUE(c.ok()) << c.status();
  auto put = PutPattern(c->get(), "docs/notes.txt", 100, 1);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kFailedPrecondition) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "docs/notes.txt")) << put.status();
  // Other files go on.
  EXPECT_TRUE(PutPattern(c->get(), "docs/photo.jpg", 100, 2).ok());
}

TEST(GooglePhotos, GetFollowsARedirectOfTheBaseUrl) {
  auto c = Make(TestUser());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutPattern(c->get(), "r/photo.jpg", 5000, 3).ok());
  ASSERT_TRUE(Fake().Control("redirect_downloads", {{"on", true}}).ok());
  std::string got;
  absl::Status s = (*c)->Get("r/photo.jpg", [&](std::string_view b) {
    got.append(b);
    return absl::OkStatus();
  });
  ASSERT_TRUE(Fake().Control("redirect_downloads", {{"on", false}}).ok());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(got == PatternSource(5000, 3).Content());
}

TEST(GooglePhotos, DeleteLeavesTheAlbumButTheItemStaysInTheLibrary) {
  const std::string user = TestUser();
  auto c = Make(user);
  ASSERT_TRUE(c.ok()) << c.status();
  auto put = PutPattern(c->get(), "Trip/a.jpg", 700, 4, "Trip");
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_TRUE((*c)->Delete("Trip/a.jpg").ok());
  EXPECT_EQ((*c)->Stat("Trip/a.jpg").status().code(), absl::StatusCode::kNotFound);
  auto lib = Fake().Library(user);
  ASSERT_TRUE(lib.ok()) << lib.status();
  ASSERT_EQ((*lib)["items"].size(), 1u) << "the API cannot delete media items";
  EXPECT_TRUE(absl::StartsWith((*lib)["items"][0].value("description", ""), "shoebox-retired:"));
  ASSERT_EQ((*lib)["albums"].size(), 1u);
  EXPECT_TRUE((*lib)["albums"][0]["items"].empty());
  // Delivered again: the same item comes back, nothing is uploaded.
  auto stats = Fake().Control("stats");
  auto again = PutPattern(c->get(), "Trip/a.jpg", 700, 4, "Trip");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ref, put->ref);
  EXPECT_EQ((*Fake().Control("stats"))["uploads_started"], (*stats)["uploads_started"]);
  lib = Fake().Library(user);
  EXPECT_EQ((*lib)["albums"][0]["items"].size(), 1u);
}

TEST(GooglePhotos, ItemsTheAppDidNotCreateAreNotListed) {
  const std::string user = TestUser();
  ASSERT_TRUE(Fake().Control("seed_user_item", {{"user", user}}).ok());
  auto c = Make(user);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutPattern(c->get(), "x/mine.jpg", 10, 5).ok());
  auto all = (*c)->List("");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].remote_path, "x/mine.jpg");
}

}  // namespace
}  // namespace shoebox::worker
