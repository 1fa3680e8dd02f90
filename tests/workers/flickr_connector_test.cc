// The Flickr connector: Flickr's documented OAuth signing examples, the
// error-code mapping and the upload body (unit), then the shared
// conformance suite and Flickr's own failure modes against
// tests/fakes/flickr_server.py (each test on a fresh account).
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/http/http_client.h"
#include "common/http/oauth1.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/workers/flickr_test_util.h"
#include "workers/connectors/connector_conformance.h"

namespace shoebox::worker {
namespace {

using testsupport::FlickrFake;

// flickr.com/services/api/auth.oauth.html, "Getting a Request Token": the
// documented request and its signature.
TEST(FlickrSigning, DocumentedRequestTokenExample) {
  const http::OAuth1Credentials c{"653e7a6ecc1d528c516cc8f92cf98611", "a9567d986a7539fe", "", ""};
  http::OAuth1Request req{"GET",
                          "http://www.flickr.com/services/oauth/request_token",
                          {},
                          {{"oauth_callback", "http://www.example.com"}}};
  auto p = http::OAuth1SignWith(req, c, "95613465", 1305586162);
  ASSERT_TRUE(p.ok()) << p.status();
  http::QueryParams unsigned_params;
  std::string sig;
  for (const auto& [k, v] : *p) {
    if (k == "oauth_signature")
      sig = v;
    else
      unsigned_params.emplace_back(k, v);
  }
  auto base = http::OAuth1BaseString("GET", req.url, unsigned_params);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(*base,
            "GET&http%3A%2F%2Fwww.flickr.com%2Fservices%2Foauth%2Frequest_token&oauth_callback%"
            "3Dhttp%253A%252F%252Fwww.example.com%26oauth_consumer_key%"
            "3D653e7a6ecc1d528c516cc8f92cf98611%26oauth_nonce%3D95613465%26oauth_signature_"
            "method%3DHMAC-SHA1%26oauth_timestamp%3D1305586162%26oauth_version%3D1.0");
  EXPECT_EQ(sig, "7w18YS2bONDPL/zgyzP5XTr5af4=");
}

// The same page, "Exchanging the Request Token for an Access Token".
TEST(FlickrSigning, DocumentedAccessTokenExample) {
  const http::OAuth1Credentials c{"653e7a6ecc1d528c516cc8f92cf98611", "a9567d986a7539fe",
                                  "72157626737672178-022bbd2f4c2f3432", "fccb68c4e6103197"};
  http::OAuth1Request req{"GET",
                          "http://www.flickr.com/services/oauth/access_token",
                          {},
                          {{"oauth_verifier", "5d1b96a26b494074"}}};
  auto p = http::OAuth1SignWith(req, c, "37026218", 1305586309);
  ASSERT_TRUE(p.ok()) << p.status();
  std::string sig;
  for (const auto& [k, v] : *p)
    if (k == "oauth_signature") sig = v;
  EXPECT_EQ(sig, "UD9TGXzrvLIb0Ar5ynqvzatM58U=");
}

// upload.api.html: every field is signed, the photo part is not.
TEST(FlickrMultipart, FieldsAreSignedThePhotoIsNot) {
  FlickrOptions o;
  o.upload = "https://up.flickr.com/services";
  o.credentials = {"key", "secret", "tok", "toksecret"};
  const http::QueryParams fields = {{"title", "IMG_1.jpg"},
                                    {"tags", "shoebox:sha256=ab \"Rome 2023\""},
                                    {"is_public", "0"},
                                    {"async", "1"}};
  auto u = BuildFlickrUpload(o, fields, "IMG_1.jpg", "BOUNDARY", "n0nce", 1700000000);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->url, "https://up.flickr.com/services/upload/");
  EXPECT_EQ(u->content_type, "multipart/form-data; boundary=BOUNDARY");
  // The header is the signature over the fields alone...
  auto p = http::OAuth1SignWith(http::OAuth1Request{"POST", u->url, fields, {}}, o.credentials,
                                "n0nce", 1700000000);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(u->authorization, http::OAuth1AuthorizationHeader(*p));
  // ...and not one that includes a photo parameter.
  http::QueryParams with_photo = fields;
  with_photo.emplace_back("photo", "IMG_1.jpg");
  auto q = http::OAuth1SignWith(http::OAuth1Request{"POST", u->url, with_photo, {}}, o.credentials,
                                "n0nce", 1700000000);
  ASSERT_TRUE(q.ok());
  EXPECT_NE(u->authorization, http::OAuth1AuthorizationHeader(*q));
  // The body: one part per field in order, then the photo part's headers.
  EXPECT_TRUE(absl::StartsWith(u->prefix,
                               "--BOUNDARY\r\nContent-Disposition: form-data; name=\"title\"\r\n"))
      << u->prefix;
  EXPECT_TRUE(absl::StrContains(u->prefix, "\r\n\r\nshoebox:sha256=ab \"Rome 2023\"\r\n"));
  EXPECT_TRUE(absl::EndsWith(u->prefix,
                             "--BOUNDARY\r\nContent-Disposition: form-data; name=\"photo\"; "
                             "filename=\"IMG_1.jpg\"\r\nContent-Type: "
                             "application/octet-stream\r\n\r\n"));
  EXPECT_EQ(u->suffix, "\r\n--BOUNDARY--\r\n");
}

TEST(FlickrErrors, CodesMapToRetryClasses) {
  for (int code : {96, 97, 98, 99, 100}) {
    absl::Status s = FlickrErrorStatus(code, "Invalid signature", "stat a.jpg", "pics", false);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << code;
    EXPECT_EQ(ClassifyForRetry(s), RetryClass::kAuth);
    EXPECT_TRUE(absl::StrContains(s.message(), "shoebox dest connect pics")) << s;
  }
  absl::Status limit =
      FlickrErrorStatus(6, "User exceeded upload limit", "upload of a.jpg", "pics", true);
  EXPECT_EQ(limit.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ClassifyForRetry(limit), RetryClass::kPermanent);
  EXPECT_TRUE(absl::StrContains(limit.message(), "1,000")) << limit;
  for (int code : {4, 5, 7, 8}) {
    absl::Status s = FlickrErrorStatus(code, "x", "upload of a.jpg", "pics", true);
    EXPECT_EQ(ClassifyForRetry(s), RetryClass::kPermanent) << code << " " << s;
  }
  EXPECT_EQ(ClassifyForRetry(FlickrErrorStatus(3, "General upload failure", "u", "p", true)),
            RetryClass::kRetryable);
  EXPECT_EQ(ClassifyForRetry(FlickrErrorStatus(105, "Service unavailable", "u", "p", false)),
            RetryClass::kRetryable);
  EXPECT_EQ(FlickrErrorStatus(1, "Photo not found", "u", "p", false).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FlickrSettings, NotConnectedNamesDestConnect) {
  ConnectorEnvironment env;
  env.destination_name = "pics";
  auto c = MakeConnector("flickr", {{"api_key", "k"}}, {{"api_secret", "s"}}, env);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "shoebox dest connect pics")) << c.status();
}

// ---- against the local Flickr -------------------------------------------------

// The account each conformance test made (its "root"), by test id.
absl::Mutex accounts_mu;
std::map<std::string, testsupport::FlickrAccount>& Accounts() {
  static auto* m = new std::map<std::string, testsupport::FlickrAccount>();
  return *m;
}

absl::StatusOr<testsupport::FlickrAccount> AccountOf(const std::string& id) {
  absl::MutexLock l(&accounts_mu);
  auto it = Accounts().find(id);
  if (it == Accounts().end()) return absl::NotFoundError("no Flickr account for test " + id);
  return it->second;
}

ConnectorConformanceParams FakeParams() {
  ConnectorConformanceParams p;
  p.name = "FlickrFake";
  p.make = [](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    testsupport::FlickrAccount a;
    auto c = NewFlickrConnector(Flickr(), id, nullptr, &a);
    if (!c.ok()) return c.status();
    absl::MutexLock l(&accounts_mu);
    Accounts()[id] = a;
    return c;
  };
  // Albums are photosets; a lost album directory finds the photos by their
  // machine tags (flickr.photos.search) and the sets by title
  // (flickr.photosets.getList).
  p.albums = true;
  p.make_with_albums =
      [](const std::string& id,
         std::shared_ptr<AlbumDirectory> albums) -> absl::StatusOr<std::unique_ptr<Connector>> {
    ASSIGN_OR_RETURN(testsupport::FlickrAccount a, AccountOf(id));
    return MakeFlickrConnector(FlickrTestOptions(Flickr(), a), std::move(albums));
  };
  p.uploads = []() -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(nlohmann::json stats, Flickr().Get("stats"));
    return stats["uploads"].get<int64_t>();
  };
  p.album_titles = [](const std::string& id) -> absl::StatusOr<std::vector<std::string>> {
    ASSIGN_OR_RETURN(testsupport::FlickrAccount a, AccountOf(id));
    ASSIGN_OR_RETURN(nlohmann::json sets, Flickr().Get("sets"));
    std::vector<std::string> out;
    for (const auto& s : sets)
      if (s["owner"] == a.user_id) out.push_back(s["title"].get<std::string>());
    return out;
  };
  p.delete_album = [](const std::string& id, const std::string& album,
                      const std::string&) -> absl::Status {
    ASSIGN_OR_RETURN(testsupport::FlickrAccount a, AccountOf(id));
    ASSIGN_OR_RETURN(nlohmann::json sets, Flickr().Get("sets"));
    for (const auto& s : sets)
      if (s["owner"] == a.user_id && s["title"] == album)
        return Flickr().Control("delete_set", {{"id", s["id"]}});
    return absl::NotFoundError("the local Flickr has no set \"" + album + "\" of " + a.user_id);
  };
  p.make_with_bad_credentials =
      [](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto a = Flickr().NewAccount(id);
    if (!a.ok()) return a.status();
    FlickrOptions o = FlickrTestOptions(Flickr(), *a);
    o.credentials.token_secret = "not-the-secret";  // every signature is wrong
    return MakeFlickrConnector(std::move(o));
  };
  p.independent_read = [](Connector* c, const std::string& path) -> absl::StatusOr<std::string> {
    auto st = c->Stat(path);
    if (!st.ok()) return st.status();
    return Flickr().Download(st->ref);
  };
  return p;
}

// EmptyFileRoundTrips is left out: Flickr refuses empty files (upload
// error 4); EmptyFileIsAPermanentError below pins what happens instead.
INSTANTIATE_TEST_SUITE_P(Flickr, ConnectorConformance, ::testing::Values(FakeParams()),
                         [](const auto& info) { return info.param.name; });

std::string Sha(uint64_t size, uint64_t seed) { return PatternSha256(size, seed); }

PutRequest Req(const std::string& path, uint64_t size, uint64_t seed) {
  PutRequest r;
  r.remote_path = path;
  r.size = size;
  r.sha256 = Sha(size, seed);
  r.mtime_ns = 1700000000000000000;
  return r;
}

absl::StatusOr<RemoteObject> PutPattern(Connector* c, const PutRequest& r, uint64_t seed) {
  auto src = MakePatternSource(r.size, seed);
  return c->Put(r, src.get(), nullptr);
}

nlohmann::json PhotosOf(FlickrFake& f, const std::string& user) {
  nlohmann::json out = nlohmann::json::array();
  auto all = f.Get("photos");
  if (!all.ok()) return out;
  for (const auto& p : *all)
    if (p["owner"] == user) out.push_back(p);
  return out;
}

TEST(Flickr, EmptyFileIsAPermanentError) {
  auto c = NewFlickrConnector(Flickr(), "empty");
  ASSERT_TRUE(c.ok()) << c.status();
  auto put = PutPattern(c->get(), Req("empty.jpg", 0, 1), 1);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kPermanent) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "empty.jpg")) << put.status();
}

TEST(Flickr, PhotosArePrivateAndTaggedByContentAndPath) {
  testsupport::FlickrAccount a;
  auto c = NewFlickrConnector(Flickr(), "private", nullptr, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  PutRequest r = Req("2024/trip/IMG_1.jpg", 5000, 3);
  // Keywords (folder names, `keywords = true`) go up as tags beside the
  // machine tags; one with a space is quoted, so it stays one tag.
  r.keywords = {"2024", "trip", "Rome 2023", "say \"cheese\""};
  ASSERT_TRUE(PutPattern(c->get(), r, 3).ok());
  nlohmann::json photos = PhotosOf(Flickr(), a.user_id);
  ASSERT_EQ(photos.size(), 1u);
  const auto& p = photos[0];
  EXPECT_EQ(p["is_public"], 0);
  EXPECT_EQ(p["is_friend"], 0);
  EXPECT_EQ(p["is_family"], 0);
  EXPECT_EQ(p["title"], "IMG_1.jpg");
  std::set<std::string> tags(p["tags"].begin(), p["tags"].end());
  EXPECT_TRUE(tags.count("shoebox:sha256=" + ToHex(r.sha256))) << p.dump();
  EXPECT_TRUE(tags.count("shoebox:size=5000")) << p.dump();
  EXPECT_TRUE(tags.count("trip")) << p.dump();
  EXPECT_TRUE(tags.count("2024")) << p.dump();
  EXPECT_TRUE(tags.count("rome 2023")) << p.dump();
  EXPECT_FALSE(tags.count("rome")) << "a keyword with a space was split: " << p.dump();
  EXPECT_TRUE(tags.count("say cheese")) << "quotes inside a keyword are dropped: " << p.dump();
  EXPECT_EQ(tags.size(), 7u) << "3 machine tags and 4 keywords: " << p.dump();
}

TEST(Flickr, FailedTicketIsAPermanentErrorOnThatFile) {
  auto c = NewFlickrConnector(Flickr(), "ticket");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Flickr().Control("fault", {{"method", "upload"}, {"ticket_failed", true}}).ok());
  auto put = PutPattern(c->get(), Req("bad.mov", 3000, 5), 5);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kPermanent) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "could not process")) << put.status();
}

TEST(Flickr, ServerErrorsAndDroppedUploadsAreRetryable) {
  auto c = NewFlickrConnector(Flickr(), "faults");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Flickr().Control("fault", {{"method", "upload"}, {"status", 503}}).ok());
  auto put = PutPattern(c->get(), Req("a.jpg", 3000, 6), 6);
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
  ASSERT_TRUE(Flickr().Control("fault", {{"method", "upload"}, {"drop_after", 100000}}).ok());
  put = PutPattern(c->get(), Req("a.jpg", 400000, 6), 6);
  EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
  EXPECT_EQ((*c)->Stat("a.jpg").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(
      Flickr().Control("fault", {{"method", "flickr.photos.search"}, {"status", 500}}).ok());
  auto st = (*c)->Stat("a.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnavailable) << st.status();
  ASSERT_TRUE(PutPattern(c->get(), Req("a.jpg", 400000, 6), 6).ok());
}

// A free account holds 1,000 items; the fake's limit is 2.
TEST(Flickr, FreeAccountLimitIsAClearPermanentError) {
  static std::unique_ptr<FlickrFake> limited_fake =
      StartedFlickr({"--max-items", "2", "--ticket-delay", "0"});
  FlickrFake& limited = *limited_fake;
  auto c = NewFlickrConnector(limited, "free");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutPattern(c->get(), Req("1.jpg", 100, 1), 1).ok());
  ASSERT_TRUE(PutPattern(c->get(), Req("2.jpg", 100, 2), 2).ok());
  auto put = PutPattern(c->get(), Req("3.jpg", 100, 3), 3);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kFailedPrecondition) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "upload limit")) << put.status();
  EXPECT_TRUE(absl::StrContains(put.status().message(), "3.jpg")) << put.status();
  // The same content again is still found (nothing is uploaded for it).
  EXPECT_TRUE(PutPattern(c->get(), Req("copy of 1.jpg", 100, 1), 1).ok());
}

// 3,600 calls per hour per key, read strictly: the call past the budget is
// a 429 with Retry-After; the connector reports it as RESOURCE_EXHAUSTED
// with the hint, and the shared gate sends nothing more before that time.
TEST(Flickr, HourlyBudgetIsHonoured) {
  static std::unique_ptr<FlickrFake> budget_fake =
      StartedFlickr({"--budget", "5", "--window", "3"});
  FlickrFake& budget = *budget_fake;
  auto c = NewFlickrConnector(budget, "budget");
  ASSERT_TRUE(c.ok()) << c.status();
  absl::Status throttled = absl::NotFoundError("");
  for (int i = 0; i < 10 && absl::IsNotFound(throttled); ++i)
    throttled = (*c)->Stat("x.jpg").status();
  ASSERT_EQ(throttled.code(), absl::StatusCode::kResourceExhausted) << throttled;
  ASSERT_TRUE(RetryAfterMs(throttled).has_value());
  EXPECT_GT(*RetryAfterMs(throttled), 0u);
  // The next calls wait at the gate until the window has passed.
  for (int i = 0; i < 3; ++i) {
    auto st = (*c)->Stat("x.jpg");
    EXPECT_EQ(st.status().code(), absl::StatusCode::kNotFound) << st.status();
  }
  auto stats = budget.Get("stats");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["throttled"], 1) << stats->dump();
  EXPECT_EQ((*stats)["throttled_after_retry_after"], 0) << stats->dump();
}

// A rate at the budget (max_requests_per_s) is never throttled.
TEST(Flickr, RequestRateKeepsUnderTheBudget) {
  static std::unique_ptr<FlickrFake> budget_fake =
      StartedFlickr({"--budget", "4", "--window", "1"});
  FlickrFake& budget = *budget_fake;
  auto a = budget.NewAccount("rate");
  ASSERT_TRUE(a.ok());
  FlickrOptions o = FlickrTestOptions(budget, *a);
  o.max_requests_per_s = 2;
  auto c = MakeFlickrConnector(o);
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ((*c)->Stat("y.jpg").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*budget.Get("stats"))["throttled"], 0);
}

TEST(Flickr, ReplacedAndDeletedPathsLeaveSharedPhotosAlone) {
  testsupport::FlickrAccount a;
  auto c = NewFlickrConnector(Flickr(), "shared", nullptr, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(PutPattern(c->get(), Req("a/one.jpg", 2000, 40), 40).ok());
  ASSERT_TRUE(PutPattern(c->get(), Req("b/two.jpg", 2000, 40), 40).ok());  // same content
  EXPECT_EQ(PhotosOf(Flickr(), a.user_id).size(), 1u);
  auto listed = (*c)->List("");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].remote_path, "a/one.jpg");
  EXPECT_EQ((*listed)[1].remote_path, "b/two.jpg");
  EXPECT_EQ((*listed)[0].ref, (*listed)[1].ref);
  // Deleting one path keeps the photo for the other.
  ASSERT_TRUE((*c)->Delete("a/one.jpg").ok());
  EXPECT_EQ((*c)->Stat("a/one.jpg").status().code(), absl::StatusCode::kNotFound);
  auto two = (*c)->Stat("b/two.jpg");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(PhotosOf(Flickr(), a.user_id).size(), 1u);
  ASSERT_TRUE((*c)->Delete("b/two.jpg").ok());
  EXPECT_EQ(PhotosOf(Flickr(), a.user_id).size(), 0u);
}

// A Put whose ticket check failed is retried without a second upload: the
// retry waits for the ticket it has (in memory, or in the saved resume
// state on another worker) while the photo is not yet searchable.
TEST(Flickr, RetriedPutWaitsForItsTicketInsteadOfUploadingAgain) {
  testsupport::FlickrAccount a;
  auto c = NewFlickrConnector(Flickr(), "ticketretry", nullptr, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Flickr().Control("config", {{"ticket_delay", 1.5}}).ok());
  ASSERT_TRUE(
      Flickr()
          .Control("fault", {{"method", "flickr.photos.upload.checkTickets"}, {"status", 500}})
          .ok());
  const int64_t before = (*Flickr().Get("stats"))["uploads"].get<int64_t>();
  PutRequest r = Req("slow/video.mp4", 9000, 7);
  std::string saved;
  r.save_resume_state = [&](const std::string& st) { saved = st; };
  auto first = PutPattern(c->get(), r, 7);
  EXPECT_EQ(ClassifyForRetry(first.status()), RetryClass::kRetryable) << first.status();
  ASSERT_TRUE(absl::StrContains(saved, "ticket")) << saved;
  // Another worker (a new connector) with the saved state.
  auto other = MakeFlickrConnector(FlickrTestOptions(Flickr(), a));
  ASSERT_TRUE(other.ok());
  PutRequest again = r;
  again.resume_state = saved;
  auto second = PutPattern(other->get(), again, 7);
  ASSERT_TRUE(Flickr().Control("config", {{"ticket_delay", 0.05}}).ok());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*Flickr().Get("stats"))["uploads"].get<int64_t>(), before + 1);
  EXPECT_EQ(PhotosOf(Flickr(), a.user_id).size(), 1u);
}

// The fake is as strict as Flickr about replays: a nonce is good once.
TEST(Flickr, ServerRefusesAReusedNonce) {
  auto a = Flickr().NewAccount("nonce");
  ASSERT_TRUE(a.ok());
  const std::string url =
      Flickr().services() + "/rest/?method=flickr.test.login&format=json" + "&nojsoncallback=1";
  const http::OAuth1Credentials creds{Flickr().api_key, Flickr().api_secret, a->oauth_token,
                                      a->oauth_token_secret};
  auto p = http::OAuth1SignWith(http::OAuth1Request{"GET", url, {}, {}}, creds, "same-nonce",
                                absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(p.ok());
  http::Client client(http::ClientOptions{});
  http::Request req{.url = url};
  req.headers = {{"Authorization", http::OAuth1AuthorizationHeader(*p)}};
  auto first = client.Send(req);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(absl::StrContains(first->body, "\"stat\": \"ok\"")) << first->body;
  auto replay = client.Send(req);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(absl::StrContains(replay->body, "\"code\": 96")) << replay->body;
}

// Flickr's search index lags behind uploads: a Stat right after the Put,
// and the same content put again from another path a moment later, still
// find the photo (by id, through getInfo), so nothing is uploaded twice.
TEST(Flickr, SearchLagHidesNoFreshUpload) {
  testsupport::FlickrAccount a;
  auto c = NewFlickrConnector(Flickr(), "lag", nullptr, &a);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Flickr().Control("config", {{"search_lag", 60}}).ok());
  const int64_t before = (*Flickr().Get("stats"))["uploads"].get<int64_t>();
  ASSERT_TRUE(PutPattern(c->get(), Req("lag/a.jpg", 5000, 9), 9).ok());
  auto st = (*c)->Stat("lag/a.jpg");
  // Another job's connector in the same worker process.
  auto other = MakeFlickrConnector(FlickrTestOptions(Flickr(), a));
  ASSERT_TRUE(other.ok());
  auto again = PutPattern(other->get(), Req("lag/b.jpg", 5000, 9), 9);
  auto st_b = (*other)->Stat("lag/b.jpg");
  ASSERT_TRUE(Flickr().Control("config", {{"search_lag", 0}}).ok());
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->size, 5000u);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(st_b.ok()) << st_b.status();
  EXPECT_EQ(st_b->ref, st->ref);
  EXPECT_EQ((*Flickr().Get("stats"))["uploads"].get<int64_t>(), before + 1);
}

}  // namespace
}  // namespace shoebox::worker
