// The Google Drive connector against the local Drive server
// (tests/fakes/gdrive_server.py): the shared conformance suite plus what is
// Drive's own: resumable sessions continued after a restart without re-sending
// a chunk, no duplicate names, folders created once, throttling (429 and
// 403 userRateLimitExceeded), token refresh on 401, name mapping, settings.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "tests/support/drive_fakes.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/gdrive.h"
#include "workers/connectors/service_names.h"

namespace shoebox::worker {
namespace {

using testsupport::DriveFake;

DriveFake& Fake() {
  // Small pages so that files.list follows nextPageToken.
  static std::unique_ptr<DriveFake> fake =
      testsupport::OrAbort(testsupport::StartGoogleDriveFake({.page_size = 3}), "gdrive fake");
  return *fake;
}

std::string Token() {
  auto t = Fake().AccessToken();
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : "";
}

constexpr uint64_t kUnit = kGoogleDriveChunkUnit;

absl::StatusOr<std::unique_ptr<Connector>> Make(const std::string& folder,
                                                std::shared_ptr<http::TokenSource> tokens = {},
                                                uint64_t chunk_units = 4) {
  if (!tokens) tokens = std::make_shared<http::StaticTokenSource>(Token());
  GoogleDriveOptions o;
  o.endpoint = Fake().endpoint;
  o.folder = "tests/" + folder;
  o.timeout_s = 30;
  o.chunk_bytes = kUnit * chunk_units;
  return MakeGoogleDriveConnector(o, std::move(tokens));
}

// Reads a file back through Drive directly (files.get alt=media), by its ID.
absl::StatusOr<std::string> IndependentRead(const std::string& file_id) {
  http::Client c(http::ClientOptions{});
  auto r = c.Call(
      http::Request{.url = absl::StrCat(Fake().endpoint, "/drive/v3/files/", file_id, "?alt=media"),
                    .headers = {{"Authorization", "Bearer " + Token()}}},
      "independent read");
  if (!r.ok()) return r.status();
  return r->body;
}

ConnectorConformanceParams Params() {
  ConnectorConformanceParams p;
  p.name = "GoogleDriveFake";
  // 2 MiB chunks: the 5 MiB + 1 file takes three, the 200 MiB one a hundred.
  p.make = [](const std::string& id) { return Make(id, nullptr, 8); };
  p.make_with_bad_credentials = [](const std::string& id) {
    return Make(id, std::make_shared<http::StaticTokenSource>("ya29.not-a-valid-token"));
  };
  p.independent_read = [](Connector* c, const std::string& remote) -> absl::StatusOr<std::string> {
    auto st = c->Stat(remote);  // the ID only; the bytes come from Drive itself
    if (!st.ok()) return st.status();
    return IndependentRead(st->ref);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(GoogleDrive, ConnectorConformance, ::testing::Values(Params()),
                         ConformanceName);

std::string TestFolder() {
  const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(ti->test_suite_name(), "-", ti->name(), "-", getpid());
}

std::vector<nlohmann::json> SessionsNamed(const std::string& name) {
  auto all = Fake().Control("sessions");
  EXPECT_TRUE(all.ok()) << all.status();
  std::vector<nlohmann::json> out;
  if (!all.ok()) return out;
  for (auto& [id, s] : all->items()) {
    if (s.value("name", "") == name) out.push_back(s);
  }
  return out;
}

TEST(GoogleDrive, InterruptedUploadResumesFromSavedStateWithoutResendingAChunk) {
  const std::string folder = TestFolder();
  const uint64_t size = 6 * 4 * kUnit + 777;  // 7 chunks of 1 MiB
  PatternSource failing(size, 7, /*fail_at=*/3 * 4 * kUnit + 5000);
  PutRequest req = PatternRequest("videos/resume-me.mov", failing);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  {
    auto c = Make(folder);
    ASSERT_TRUE(c.ok()) << c.status();
    auto put = (*c)->Put(req, &failing, nullptr);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
    ASSERT_FALSE(saved.empty());
    EXPECT_EQ((*c)->Stat(req.remote_path).status().code(), absl::StatusCode::kNotFound);
  }
  auto c = Make(folder);  // a restarted worker
  ASSERT_TRUE(c.ok());
  PatternSource good(size, 7);
  req.resume_state = saved;
  auto put = (*c)->Put(req, &good, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(saved.empty());
  auto sessions = SessionsNamed("resume-me.mov");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), size) << sessions[0].dump();
  std::set<uint64_t> starts;
  for (const auto& ch : sessions[0]["chunks"]) {
    EXPECT_TRUE(starts.insert(ch[0].get<uint64_t>()).second) << "chunk sent twice: " << ch;
  }
  auto back = IndependentRead(put->ref);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == good.Content());
  auto listed = (*c)->List("videos");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
}

TEST(GoogleDrive, ConnectionDroppedMidChunkResumesAtTheServersRange) {
  const std::string folder = TestFolder();
  const uint64_t size = 4 * 4 * kUnit;
  PatternSource src(size, 8);
  PutRequest req = PatternRequest("drop/clip.mp4", src);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  auto c = Make(folder);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("drop").ok());
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "upload"},
                                     {"action", "drop"},
                                     {"after_bytes", 100000},
                                     {"skip", 3}})  // start, chunks 1-2, then cut chunk 3
                  .ok());
  auto put = (*c)->Put(req, &src, nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  PatternSource again(size, 8);
  req.resume_state = saved;
  auto retry = (*c)->Put(req, &again, nullptr);
  ASSERT_TRUE(retry.ok()) << retry.status();
  auto sessions = SessionsNamed("clip.mp4");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), size);
  EXPECT_EQ(sessions[0]["chunks"].size(), 4u) << sessions[0].dump();
}

TEST(GoogleDrive, AChunkPersistedOnlyInPartContinuesAtTheRangeWithARightMd5) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("").ok());
  PatternSource src(3 * 4 * kUnit + 5, 14);
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "upload"}, {"action", "keep_less"}, {"skip", 2}})
                  .ok());  // the session start, chunk 1, then chunk 2 kept in part
  auto put = (*c)->Put(PatternRequest("partial.bin", src), &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto back = IndependentRead(put->ref);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == src.Content());
  auto sessions = SessionsNamed("partial.bin");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["chunks"][1][1].get<uint64_t>() + 1, 5 * kUnit) << sessions[0].dump();
}

TEST(GoogleDrive, RePutReplacesContentInPlaceAndNeverMakesADuplicate) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  PatternSource a(3000, 500);
  auto first = (*c)->Put(PatternRequest("r/x.jpg", a), &a, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  PatternSource b(4000, 501);
  auto second = (*c)->Put(PatternRequest("r/x.jpg", b), &b, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->ref, second->ref) << "the same Drive file gets the new content";
  auto listed = (*c)->List("r");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, 4000u);
  EXPECT_EQ((*listed)[0].checksum, second->checksum);
}

TEST(GoogleDrive, FoldersAreCreatedOnceAndRemembered) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  auto before = Fake().Control("stats");
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 3; ++i) {
    PatternSource src(10, 400 + i);
    ASSERT_TRUE(
        (*c)->Put(PatternRequest(absl::StrCat("2024/07/Holiday/", i, ".jpg"), src), &src, nullptr)
            .ok());
  }
  ASSERT_TRUE((*c)->EnsureFolder("2024/07/Holiday").ok());
  auto after = Fake().Control("stats");
  ASSERT_TRUE(after.ok());
  // <folder>, 2024, 07, Holiday (and "tests" unless an earlier test made it).
  int made = (*after)["folder_creates"].get<int>() - (*before)["folder_creates"].get<int>();
  EXPECT_GE(made, 4);
  EXPECT_LE(made, 5);
}

TEST(GoogleDrive, ShortThrottlesAreWaitedOutAndNoRequestComesBeforeRetryAfter) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("t").ok());
  auto before = Fake().Control("stats");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(Fake().Control("throttle", {{"budget", 3}, {"window_s", 1}}).ok());
  absl::Cleanup unthrottle = [] { (void)Fake().Control("throttle", {{"budget", 0}}); };
  for (int i = 0; i < 3; ++i) {
    PatternSource src(4 * kUnit + 10, 100 + i);  // two chunks
    auto put = (*c)->Put(PatternRequest(absl::StrCat("t/", i, ".jpg"), src), &src, nullptr);
    ASSERT_TRUE(put.ok()) << put.status();
  }
  auto after = Fake().Control("stats");
  ASSERT_TRUE(after.ok());
  EXPECT_GT((*after)["throttled"].get<int>(), (*before)["throttled"].get<int>());
  EXPECT_EQ((*after)["early"].get<int>(), (*before)["early"].get<int>());
}

TEST(GoogleDrive, RateLimitErrorsAreResourceExhaustedWithAHint) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("").ok());
  ASSERT_TRUE(
      Fake()
          .Control("fault",
                   {{"target", "api"}, {"action", "status"}, {"status", 429}, {"retry_after", 90}})
          .ok());
  auto st = (*c)->Stat("x.jpg");
  ASSERT_EQ(st.status().code(), absl::StatusCode::kResourceExhausted) << st.status();
  EXPECT_EQ(RetryAfterMs(st.status()).value_or(0), 90000u);
  // This account's gate is held now (nothing is sent before the time named);
  // the rest of the test uses a connector with a gate of its own.
  EXPECT_EQ((*c)->Stat("x.jpg").status().code(), absl::StatusCode::kResourceExhausted);
  c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  // 403 userRateLimitExceeded without Retry-After: backed off in the
  // connector (1 s, 2 s, ...) and then succeeds.
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "api"},
                                     {"action", "status"},
                                     {"status", 403},
                                     {"reason", "userRateLimitExceeded"},
                                     {"count", 2}})
                  .ok());
  absl::Time t0 = absl::Now();
  EXPECT_EQ((*c)->Stat("x.jpg").status().code(), absl::StatusCode::kNotFound);
  EXPECT_GE(absl::Now() - t0, absl::Seconds(3)) << "1 s then 2 s of backoff";
  // 403 for another reason is a permission problem with this object, not
  // throttling: that file fails, the destination goes on (issue 18).
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "api"},
                                     {"action", "status"},
                                     {"status", 403},
                                     {"reason", "insufficientFilePermissions"}})
                  .ok());
  EXPECT_EQ(ClassifyForRetry((*c)->Stat("x.jpg").status()), RetryClass::kRefused);
}

class RefreshingSource : public http::TokenSource {
 public:
  absl::StatusOr<std::string> AccessToken() override {
    if (current_.empty()) current_ = Token();
    return current_;
  }
  void Invalidate(std::string_view t) override {
    if (t == current_) {
      current_.clear();
      ++invalidated_;
    }
  }
  int invalidated_ = 0;

 private:
  std::string current_;
};

TEST(GoogleDrive, ARefusedTokenIsUnauthenticatedAndSaysToReconnect) {
  auto c = Make(TestFolder(), std::make_shared<http::StaticTokenSource>("bad-token"));
  ASSERT_TRUE(c.ok());
  auto st = (*c)->Stat("x.jpg");
  ASSERT_EQ(st.status().code(), absl::StatusCode::kUnauthenticated) << st.status();
  EXPECT_NE(st.status().message().find("shoebox dest connect"), std::string::npos) << st.status();
}

TEST(GoogleDrive, ExpiredAccessTokenIsInvalidatedAndTheRequestRetriedOnce) {
  auto tokens = std::make_shared<RefreshingSource>();
  auto c = Make(TestFolder(), tokens);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("").ok());
  ASSERT_TRUE(Fake().Control("expire_tokens", nlohmann::json::object()).ok());
  PatternSource src(2000, 11);
  auto put = (*c)->Put(PatternRequest("a.jpg", src), &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(tokens->invalidated_, 1);
}

TEST(GoogleDrive, ATokenRefusedMidUploadIsRenewedAndTheChunkSentAgain) {
  auto tokens = std::make_shared<RefreshingSource>();
  auto c = Make(TestFolder(), tokens);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("").ok());
  ASSERT_TRUE(Fake()
                  .Control("fault", {{"target", "upload"},
                                     {"action", "status"},
                                     {"status", 401},
                                     {"reason", "authError"},
                                     {"skip", 2}})  // the session start, chunk 1, then chunk 2
                  .ok());
  PatternSource src(3 * 4 * kUnit, 15);
  auto put = (*c)->Put(PatternRequest("mid.mov", src), &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(tokens->invalidated_, 1);
  auto sessions = SessionsNamed("mid.mov");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), src.size());
  auto back = IndependentRead(put->ref);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == src.Content());
}

TEST(GoogleDrive, AwkwardNamesRoundTripAndQuotesAreEscapedInQueries) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  const std::vector<std::string> names = {
      "it's \"quoted\".jpg",
      "back\\slash.jpg",
      "a:b*c?.jpg",
      "CON.jpg",
      "trailing dot.",
      "latin1 caf\xE9.jpg",
      "emoji \xF0\x9F\x93\xB7.jpg",
      "caf\xC3\xA9 twin.jpg",
      "cafe\xCC\x81 twin.jpg",
  };
  uint64_t seed = 200;
  std::set<std::string> want;
  for (const std::string& n : names) {
    PatternSource src(500 + seed, seed);
    auto put = (*c)->Put(PatternRequest("names/" + n, src), &src, nullptr);
    ASSERT_TRUE(put.ok()) << PrintablePath(n) << ": " << put.status();
    auto st = (*c)->Stat("names/" + n);
    ASSERT_TRUE(st.ok()) << PrintablePath(n) << ": " << st.status();
    EXPECT_EQ(st->ref, put->ref) << PrintablePath(n) << " found another file";
    auto back = IndependentRead(put->ref);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == src.Content()) << PrintablePath(n);
    want.insert("names/" + n);
    ++seed;
  }
  const std::string long_name = std::string(300, 'y') + ".jpg";  // shortened to 255 bytes
  PatternSource lsrc(300, 300);
  ASSERT_TRUE((*c)->Put(PatternRequest("names/" + long_name, lsrc), &lsrc, nullptr).ok());
  ASSERT_TRUE((*c)->Stat("names/" + long_name).ok());
  auto listed = (*c)->List("names");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> got;
  for (const auto& o : *listed) got.insert(o.remote_path);
  EXPECT_EQ(got.size(), names.size() + 1);
  for (const std::string& w : want) EXPECT_TRUE(got.count(w)) << "missing " << PrintablePath(w);
}

TEST(GoogleDriveFakeIdentity, PkceIsCheckedAndRefreshTokensAreNotRotated) {
  http::Client c(http::ClientOptions{});
  const std::string verifier = "another-verifier-long-enough-0123456789-abcdefghijklmnop";
  Digest d = Sha256::Of(verifier);
  std::string challenge =
      absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(d.data()), d.size()));
  auto auth = c.Send(http::Request{
      .url = Fake().base + "/o/oauth2/v2/auth?" +
             http::QueryString({{"client_id", "app.apps.googleusercontent.com"},
                                {"response_type", "code"},
                                {"redirect_uri", "http://127.0.0.1:7/"},
                                {"scope", "https://www.googleapis.com/auth/drive.file"},
                                {"code_challenge", challenge},
                                {"code_challenge_method", "S256"}})});
  ASSERT_TRUE(auth.ok());
  ASSERT_EQ(auth->status, 302);
  std::string loc = auth->Header("location");
  size_t at = loc.find("code=");
  ASSERT_NE(at, std::string::npos);
  std::string code = http::PercentDecode(loc.substr(at + 5, loc.find('&', at) - at - 5));
  auto token = [&](const http::QueryParams& p, int* status) {
    std::string body = http::QueryString(p);
    auto r =
        c.Send(http::Request{.method = "POST",
                             .url = Fake().base + "/token",
                             .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                             .body = body});
    *status = r.ok() ? r->status : 0;
    return r.ok() ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  };
  int status = 0;
  auto tok = token({{"grant_type", "authorization_code"},
                    {"code", code},
                    {"redirect_uri", "http://127.0.0.1:7/"},
                    {"code_verifier", verifier}},
                   &status);
  ASSERT_EQ(status, 200) << tok.dump();
  std::string rt = tok["refresh_token"];
  auto again = token({{"grant_type", "authorization_code"},
                      {"code", code},
                      {"redirect_uri", "http://127.0.0.1:7/"},
                      {"code_verifier", verifier}},
                     &status);
  EXPECT_EQ(status, 400) << "a code is used once";
  for (int i = 0; i < 2; ++i) {
    auto r = token({{"grant_type", "refresh_token"}, {"refresh_token", rt}}, &status);
    EXPECT_EQ(status, 200) << "Google keeps the refresh token valid";
    EXPECT_FALSE(r.contains("refresh_token"));
  }
  ASSERT_TRUE(Fake().Control("revoke", {{"refresh_token", rt}}).ok());
  auto revoked = token({{"grant_type", "refresh_token"}, {"refresh_token", rt}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(revoked["error"], "invalid_grant");
}

TEST(GoogleDriveFake, ChunkRulesAreEnforced) {
  auto conn = Make(TestFolder());
  ASSERT_TRUE(conn.ok());
  http::Client c(http::ClientOptions{});
  std::string meta = R"({"name":"raw.bin"})";
  auto s =
      c.Send(http::Request{.method = "POST",
                           .url = Fake().endpoint + "/upload/drive/v3/files?uploadType=resumable",
                           .headers = {{"Authorization", "Bearer " + Token()},
                                       {"Content-Type", "application/json"},
                                       {"X-Upload-Content-Length", "1000000"}},
                           .body = meta});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->status, 200);
  std::string url = s->Header("location");
  std::string odd(100000, 'x');
  auto r = c.Send(http::Request{.method = "PUT",
                                .url = url,
                                .headers = {{"Content-Range", "bytes 0-99999/1000000"}},
                                .body = odd});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << "a non-final chunk must be a multiple of 256 KiB";
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["errors"][0]["reason"], "badContent");
  std::string unit(kUnit, 'y');
  auto ok = c.Send(http::Request{.method = "PUT",
                                 .url = url,
                                 .headers = {{"Content-Range", "bytes 0-262143/1000000"}},
                                 .body = unit});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 308);
  EXPECT_EQ(ok->Header("range"), "bytes=0-262143");
  auto overlap = c.Send(http::Request{.method = "PUT",
                                      .url = url,
                                      .headers = {{"Content-Range", "bytes 0-262143/1000000"}},
                                      .body = unit});
  ASSERT_TRUE(overlap.ok());
  EXPECT_EQ(overlap->status, 400) << "a chunk must start where the server is";
  auto status = c.Send(http::Request{
      .method = "PUT", .url = url, .headers = {{"Content-Range", "bytes */1000000"}}, .body = ""});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status, 308);
  EXPECT_EQ(status->Header("range"), "bytes=0-262143");
}

TEST(GoogleDriveSettings, DefaultsAndErrors) {
  auto d = GoogleDriveOptionsFromSettings(nlohmann::json::object());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->endpoint, "https://www.googleapis.com");
  EXPECT_EQ(d->folder, "Shoebox");
  EXPECT_EQ(d->chunk_bytes, 8u << 20);
  auto r = GoogleDriveOptionsFromSettings({{"chunk_size_mib", 1}, {"folder", "/A/B/"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->chunk_bytes, 1u << 20);
  EXPECT_EQ(r->folder, "A/B");
  EXPECT_FALSE(GoogleDriveOptionsFromSettings({{"chunk_size_mib", 0}}).ok());
  EXPECT_FALSE(GoogleDriveOptionsFromSettings({{"endpoint", "nope"}}).ok());
  EXPECT_FALSE(GoogleDriveOptionsFromSettings({{"folder", ".."}}).ok());
  EXPECT_FALSE(MakeGoogleDriveConnector(GoogleDriveOptions{}, nullptr).ok());
  GoogleDriveOptions odd;
  odd.chunk_bytes = 1000;
  EXPECT_FALSE(MakeGoogleDriveConnector(odd, std::make_shared<http::StaticTokenSource>("x")).ok());
}

TEST(GoogleDriveSettings, QueryStringsEscapeQuotesAndBackslashes) {
  EXPECT_EQ(gdrive_internal::QueryString("it's a\\b"), "'it\\'s a\\\\b'");
  EXPECT_EQ(gdrive_internal::QueryString(""), "''");
}

}  // namespace
}  // namespace shoebox::worker
