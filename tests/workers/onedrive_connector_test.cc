// The OneDrive connector against the local Graph server
// (tests/fakes/onedrive_server.py): the shared conformance suite plus what is
// OneDrive's own: upload sessions resumed after a restart without re-sending
// a fragment, throttling, token refresh on 401, name mapping, folders created
// once, settings.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/mutex.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/http/http_client.h"
#include "common/http/url.h"
#include "tests/support/drive_fakes.h"
#include "workers/connectors/connector_conformance.h"
#include "workers/connectors/onedrive.h"
#include "workers/connectors/service_names.h"

namespace shoebox::worker {
namespace {

using testsupport::DriveFake;

DriveFake& Fake() {
  // Small pages so that List follows @odata.nextLink.
  static std::unique_ptr<DriveFake> fake =
      testsupport::OrAbort(testsupport::StartOneDriveFake({.page_size = 3}), "onedrive fake");
  return *fake;
}

std::string Token() {
  auto t = Fake().AccessToken();
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : "";
}

OneDriveOptions Options(const std::string& folder, int fragment_units = 3) {
  OneDriveOptions o;
  o.endpoint = Fake().endpoint;
  o.folder = "tests/" + folder;
  o.timeout_s = 30;
  o.fragment_bytes = kOneDriveFragmentUnit * static_cast<uint64_t>(fragment_units);
  return o;
}

absl::StatusOr<std::unique_ptr<Connector>> Make(const std::string& folder,
                                                std::shared_ptr<http::TokenSource> tokens = {},
                                                int fragment_units = 3) {
  if (!tokens) tokens = std::make_shared<http::StaticTokenSource>(Token());
  return MakeOneDriveConnector(Options(folder, fragment_units), std::move(tokens));
}

// Reads a file back through Graph directly (GET .../content, follow the 302).
absl::StatusOr<std::string> IndependentRead(const std::string& folder, const std::string& path) {
  http::Client c(http::ClientOptions{});
  std::string url = absl::StrCat(
      Fake().endpoint, "/me/drive/root:/",
      http::EncodePath(EncodeServicePath("tests/" + folder + "/" + path, OneDriveNameRules())),
      ":/content");
  http::Request r{.url = url, .headers = {{"Authorization", "Bearer " + Token()}}};
  auto first = c.Send(r);
  if (!first.ok()) return first.status();
  if (first->status != 302) return http::ErrorStatus(*first, "independent read");
  auto body = c.Call(http::Request{.url = first->Header("location")}, "independent download");
  if (!body.ok()) return body.status();
  return body->body;
}

// The folder behind each connector the suite made (for the independent read).
absl::Mutex folders_mu;
std::map<const Connector*, std::string>& Folders() {
  static auto* m = new std::map<const Connector*, std::string>();
  return *m;
}

ConnectorConformanceParams Params() {
  ConnectorConformanceParams p;
  p.name = "OneDriveFake";
  // 5 MiB fragments: the 5 MiB + 1 file takes two, the 200 MiB one forty.
  p.make = [](const std::string& id) -> absl::StatusOr<std::unique_ptr<Connector>> {
    auto c = Make(id, nullptr, 16);
    if (c.ok()) {
      absl::MutexLock l(&folders_mu);
      Folders()[c->get()] = id;
    }
    return c;
  };
  p.make_with_bad_credentials = [](const std::string& id) {
    return Make(id, std::make_shared<http::StaticTokenSource>("EwB-not-a-valid-token"));
  };
  p.independent_read = [](Connector* c, const std::string& remote) {
    std::string folder;
    {
      absl::MutexLock l(&folders_mu);
      folder = Folders()[c];
    }
    return IndependentRead(folder, remote);
  };
  return p;
}

INSTANTIATE_TEST_SUITE_P(OneDrive, ConnectorConformance, ::testing::Values(Params()),
                         ConformanceName);

std::string TestFolder() {
  const auto* ti = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat(ti->test_suite_name(), "-", ti->name(), "-", getpid());
}

// Upload sessions of the fake whose path ends with `suffix`.
std::vector<nlohmann::json> SessionsFor(const std::string& suffix) {
  auto all = Fake().Control("sessions");
  EXPECT_TRUE(all.ok()) << all.status();
  std::vector<nlohmann::json> out;
  if (!all.ok()) return out;
  for (auto& [id, s] : all->items()) {
    std::string p = s.value("path", "");
    if (p.size() >= suffix.size() &&
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(s);
  }
  return out;
}

TEST(OneDrive, InterruptedUploadResumesFromSavedStateWithoutResendingAFragment) {
  const std::string folder = TestFolder();
  const uint64_t size = 5 * kOneDriveFragmentUnit * 3 + 12345;  // 6 fragments
  PatternSource failing(size, 7, /*fail_at=*/3 * kOneDriveFragmentUnit * 3 + 1000);
  PutRequest req = PatternRequest("videos/big.mov", failing);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  {
    auto c = Make(folder);
    ASSERT_TRUE(c.ok()) << c.status();
    auto put = (*c)->Put(req, &failing, nullptr);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(ClassifyForRetry(put.status()), RetryClass::kRetryable) << put.status();
    ASSERT_FALSE(saved.empty()) << "the upload URL must have been saved";
    EXPECT_EQ((*c)->Stat(req.remote_path).status().code(), absl::StatusCode::kNotFound)
        << "nothing is visible before the last fragment";
  }
  // A new worker process: a new connector, the saved state.
  auto c = Make(folder);
  ASSERT_TRUE(c.ok()) << c.status();
  PatternSource good(size, 7);
  req.resume_state = saved;
  std::vector<uint64_t> progressed;
  auto put = (*c)->Put(req, &good, [&](const Progress& p) { progressed.push_back(p.bytes_sent); });
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(saved.empty()) << "the state is cleared once the file is committed";
  ASSERT_FALSE(good.seeks().empty());
  EXPECT_EQ(good.seeks().back(), 3 * kOneDriveFragmentUnit * 3) << "continued after fragment 3";
  auto sessions = SessionsFor("videos/big.mov");
  ASSERT_EQ(sessions.size(), 1u) << "one upload session for the whole file";
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), size) << sessions[0].dump();
  std::set<uint64_t> starts;
  for (const auto& f : sessions[0]["fragments"]) {
    EXPECT_TRUE(starts.insert(f[0].get<uint64_t>()).second)
        << "fragment at " << f[0] << " was sent twice: " << sessions[0].dump();
  }
  auto back = IndependentRead(folder, req.remote_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == good.Content()) << "the resumed file differs";
  EXPECT_EQ(put->checksum, (*c)->Stat(req.remote_path)->checksum);
}

TEST(OneDrive, A200MiBUploadCutAt120MiBResumesWithoutResendingAnything) {
  const std::string folder = TestFolder();
  const uint64_t size = 200u << 20;
  PatternSource failing(size, 12, /*fail_at=*/120u << 20);
  PutRequest req = PatternRequest("videos/long.mov", failing);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  {
    auto c = Make(folder, nullptr, 32);  // 10 MiB fragments
    ASSERT_TRUE(c.ok());
    ASSERT_FALSE((*c)->Put(req, &failing, nullptr).ok());
  }
  auto c = Make(folder, nullptr, 32);
  ASSERT_TRUE(c.ok());
  PatternSource good(size, 12);
  req.resume_state = saved;
  auto put = (*c)->Put(req, &good, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(good.bytes_read(), size - (120u << 20)) << "only the missing 80 MiB were read";
  auto sessions = SessionsFor("videos/long.mov");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), size);
  EXPECT_EQ(sessions[0]["fragments"].size(), 20u) << "each 10 MiB fragment exactly once";
  Sha256 h;
  uint64_t n = 0;
  ASSERT_TRUE((*c)->Get(req.remote_path,
                        [&](std::string_view d) {
                          h.Update(d);
                          n += d.size();
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(n, size);
  EXPECT_EQ(ToHex(DigestToString(h.Final())), ToHex(req.sha256));
}

TEST(OneDrive, ConnectionDroppedMidFragmentResumesAtTheServersNextExpectedRange) {
  const std::string folder = TestFolder();
  const uint64_t size = 4 * kOneDriveFragmentUnit * 3;
  PatternSource src(size, 8);
  PutRequest req = PatternRequest("drop/clip.mp4", src);
  std::string saved;
  req.save_resume_state = [&](const std::string& s) { saved = s; };
  // The third fragment is cut after 100000 bytes.
  ASSERT_TRUE(
      Fake()
          .Control("fault",
                   {{"target", "upload"}, {"action", "drop"}, {"after_bytes", 100000}, {"skip", 2}})
          .ok());
  auto c = Make(folder);
  ASSERT_TRUE(c.ok());
  auto put = (*c)->Put(req, &src, nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable) << put.status();
  PatternSource again(size, 8);
  req.resume_state = saved;
  auto retry = (*c)->Put(req, &again, nullptr);
  ASSERT_TRUE(retry.ok()) << retry.status();
  auto sessions = SessionsFor("drop/clip.mp4");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["bytes_accepted"].get<uint64_t>(), size);
  EXPECT_EQ(sessions[0]["fragments"].size(), 4u) << sessions[0].dump();
  EXPECT_EQ(again.bytes_read(), size - 2 * kOneDriveFragmentUnit * 3);
}

TEST(OneDrive, AFragmentKeptOnlyInPartContinuesAtNextExpectedRanges) {
  const std::string folder = TestFolder();
  PatternSource src(4 * 3 * kOneDriveFragmentUnit + 99, 13);
  PutRequest req = PatternRequest("partial.mov", src);
  ASSERT_TRUE(
      Fake().Control("fault", {{"target", "upload"}, {"action", "keep_less"}, {"skip", 1}}).ok());
  auto c = Make(folder);
  ASSERT_TRUE(c.ok());
  auto put = (*c)->Put(req, &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto back = IndependentRead(folder, req.remote_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == src.Content());
  auto sessions = SessionsFor("/partial.mov");
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]["fragments"][1][1].get<uint64_t>() + 1, 4 * kOneDriveFragmentUnit)
      << sessions[0].dump();
}

TEST(OneDrive, ExpiredSessionInSavedStateStartsOver) {
  const std::string folder = TestFolder();
  PatternSource src(kOneDriveFragmentUnit * 4, 9);
  PutRequest req = PatternRequest("expired.jpg", src);
  nlohmann::json state = {{"v", 1},
                          {"kind", "onedrive"},
                          {"url", Fake().base + "/up/no-such-session"},
                          {"path", req.remote_path},
                          {"size", req.size},
                          {"sha256", ToHex(req.sha256)},
                          {"hashed", 0},
                          {"qxh", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}};
  req.resume_state = state.dump();
  auto c = Make(folder);
  ASSERT_TRUE(c.ok());
  auto put = (*c)->Put(req, &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto back = IndependentRead(folder, req.remote_path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == src.Content());
}

TEST(OneDrive, ShortThrottlesAreWaitedOutAndNoRequestComesBeforeRetryAfter) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("t").ok());
  auto before = Fake().Control("stats");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(Fake().Control("throttle", {{"budget", 2}, {"window_s", 1}}).ok());
  absl::Cleanup unthrottle = [] { (void)Fake().Control("throttle", {{"budget", 0}}); };
  for (int i = 0; i < 4; ++i) {
    PatternSource src(kOneDriveFragmentUnit * 3 + 10, 100 + i);  // two fragments
    auto put = (*c)->Put(PatternRequest(absl::StrCat("t/", i, ".jpg"), src), &src, nullptr);
    ASSERT_TRUE(put.ok()) << put.status();
  }
  auto after = Fake().Control("stats");
  ASSERT_TRUE(after.ok());
  EXPECT_GT((*after)["throttled"].get<int>(), (*before)["throttled"].get<int>())
      << "the budget must have been hit";
  EXPECT_EQ((*after)["early"].get<int>(), (*before)["early"].get<int>())
      << "no request may come before the announced Retry-After";
}

TEST(OneDrive, LongThrottleIsResourceExhaustedWithTheHintAndUnavailableIsRetryable) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      Fake()
          .Control("fault",
                   {{"target", "api"}, {"action", "status"}, {"status", 429}, {"retry_after", 120}})
          .ok());
  auto st = (*c)->Stat("x.jpg");
  ASSERT_EQ(st.status().code(), absl::StatusCode::kResourceExhausted) << st.status();
  EXPECT_EQ(RetryAfterMs(st.status()).value_or(0), 120000u) << st.status();
  EXPECT_NE(st.status().message().find("activityLimitReached"), std::string::npos);
  EXPECT_EQ(ClassifyForRetry(st.status()), RetryClass::kRetryable);
  // The account's gate is held: nothing more is sent before the time named.
  auto before = Fake().Control("stats");
  ASSERT_TRUE(before.ok());
  st = (*c)->Stat("x.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kResourceExhausted) << st.status();
  EXPECT_LE(RetryAfterMs(st.status()).value_or(0), 120000u) << st.status();
  EXPECT_GT(RetryAfterMs(st.status()).value_or(0), 60000u) << st.status();
  auto after = Fake().Control("stats");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["requests"], (*before)["requests"]) << "a request went out while held";
  // Another account (a connector with a gate of its own) is not held.
  c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(
      Fake().Control("fault", {{"target", "api"}, {"action", "status"}, {"status", 503}}).ok());
  st = (*c)->Stat("x.jpg");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnavailable) << st.status();
  EXPECT_EQ((*c)->Stat("x.jpg").status().code(), absl::StatusCode::kNotFound);
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

TEST(OneDrive, ARefusedTokenIsUnauthenticatedAndSaysToReconnect) {
  auto c = Make(TestFolder(), std::make_shared<http::StaticTokenSource>("bad-token"));
  ASSERT_TRUE(c.ok());
  auto st = (*c)->Stat("x.jpg");
  ASSERT_EQ(st.status().code(), absl::StatusCode::kUnauthenticated) << st.status();
  EXPECT_NE(st.status().message().find("shoebox dest connect"), std::string::npos) << st.status();
}

TEST(OneDrive, ExpiredAccessTokenIsInvalidatedAndTheRequestRetriedOnce) {
  auto tokens = std::make_shared<RefreshingSource>();
  auto c = Make(TestFolder(), tokens);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(tokens->AccessToken().ok());
  ASSERT_TRUE(Fake().Control("expire_tokens", nlohmann::json::object()).ok());
  PatternSource src(2000, 11);
  auto put = (*c)->Put(PatternRequest("a.jpg", src), &src, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(tokens->invalidated_, 1);
}

TEST(OneDrive, AwkwardNamesAreMappedReversiblyAndStoredEncoded) {
  const std::string folder = TestFolder();
  auto c = Make(folder);
  ASSERT_TRUE(c.ok());
  const std::vector<std::string> names = {
      "a:b*c?.jpg",          "CON.jpg",
      "trailing dot.",       " leading space.jpg",
      "latin1 caf\xE9.jpg",  "emoji \xF0\x9F\x93\xB7.jpg",
      "caf\xC3\xA9 nfc.jpg", "cafe\xCC\x81 nfc.jpg",
      "desktop.ini",         "~lock.jpg",
  };
  uint64_t seed = 200;
  std::set<std::string> want;
  for (const std::string& n : names) {
    PatternSource src(500 + seed, seed);
    auto put = (*c)->Put(PatternRequest("names/" + n, src), &src, nullptr);
    ASSERT_TRUE(put.ok()) << PrintablePath(n) << ": " << put.status();
    auto back = IndependentRead(folder, "names/" + n);
    ASSERT_TRUE(back.ok()) << PrintablePath(n) << ": " << back.status();
    EXPECT_TRUE(*back == src.Content()) << PrintablePath(n);
    want.insert("names/" + n);
    ++seed;
  }
  // A 255-byte name is shortened (kept in the catalog); Stat/Get find it.
  const std::string long_name = std::string(250, 'x') + ":.jpg";  // 255 bytes, encoded longer
  PatternSource lsrc(300, 300);
  ASSERT_TRUE((*c)->Put(PatternRequest("names/" + long_name, lsrc), &lsrc, nullptr).ok());
  auto lst = (*c)->Stat("names/" + long_name);
  ASSERT_TRUE(lst.ok()) << lst.status();
  EXPECT_EQ(lst->size, 300u);
  auto listed = (*c)->List("names");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::set<std::string> got;
  for (const auto& o : *listed) got.insert(o.remote_path);
  EXPECT_EQ(got.size(), names.size() + 1);
  for (const std::string& w : want) EXPECT_TRUE(got.count(w)) << "missing " << PrintablePath(w);
}

TEST(OneDrive, FoldersAreCreatedOnceAndRemembered) {
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
  auto after = Fake().Control("stats");
  ASSERT_TRUE(after.ok());
  // tests, <folder>, 2024, 07, Holiday: each asked for once.
  EXPECT_EQ((*after)["folder_creates"].get<int>() - (*before)["folder_creates"].get<int>(), 5);
}

TEST(OneDrive, ReplacingKeepsOneItemAndAConcurrentCreationIsNotOverwritten) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  PatternSource a(3000, 500);
  ASSERT_TRUE((*c)->Put(PatternRequest("r/x.jpg", a), &a, nullptr).ok());
  PatternSource b(4000, 501);
  auto put = (*c)->Put(PatternRequest("r/x.jpg", b), &b, nullptr);
  ASSERT_TRUE(put.ok()) << put.status();
  auto listed = (*c)->List("r");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, 4000u);
}

TEST(OneDriveSettings, DefaultsRoundingAndErrors) {
  auto d = OneDriveOptionsFromSettings(nlohmann::json::object());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->endpoint, "https://graph.microsoft.com/v1.0");
  EXPECT_EQ(d->folder, "Shoebox");
  EXPECT_EQ(d->fragment_bytes, 10u << 20);
  auto r = OneDriveOptionsFromSettings(
      {{"chunk_size_mib", 1}, {"folder", "/Photos/Backup/"}, {"drive_id", "b!x"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->fragment_bytes, 3 * kOneDriveFragmentUnit);
  EXPECT_EQ(r->folder, "Photos/Backup");
  EXPECT_EQ(r->drive_id, "b!x");
  EXPECT_EQ(OneDriveOptionsFromSettings({{"chunk_size_mib", 60}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto bad = OneDriveOptionsFromSettings({{"endpoint", "ftp://x"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("endpoint"), std::string::npos);
  EXPECT_FALSE(OneDriveOptionsFromSettings({{"folder", "a/../b"}}).ok());
  EXPECT_FALSE(MakeOneDriveConnector(OneDriveOptions{}, nullptr).ok());
}

}  // namespace
}  // namespace shoebox::worker

namespace shoebox::worker {
namespace {

// The local server's identity endpoints behave as Microsoft's do, so the
// OAuth code (common/http/oauth.*) can be tested against them.
std::string Form(const http::QueryParams& p) { return http::QueryString(p); }

absl::StatusOr<nlohmann::json> TokenCall(const http::QueryParams& p, int* status) {
  http::Client c(http::ClientOptions{});
  std::string body = Form(p);
  auto r = c.Send(http::Request{.method = "POST",
                                .url = Fake().base + "/common/oauth2/v2.0/token",
                                .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                                .body = body});
  if (!r.ok()) return r.status();
  *status = r->status;
  return nlohmann::json::parse(r->body, nullptr, false);
}

TEST(OneDriveFakeIdentity, PkceIsCheckedAndRefreshTokensRotate) {
  http::Client c(http::ClientOptions{});
  const std::string verifier = "a-verifier-that-is-long-enough-0123456789-abcdefghijkl";
  // S256: BASE64URL(SHA-256(verifier)) without padding.
  Digest d = Sha256::Of(verifier);
  std::string challenge =
      absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(d.data()), d.size()));
  auto auth =
      c.Send(http::Request{.url = Fake().base + "/common/oauth2/v2.0/authorize?" +
                                  http::QueryString({{"client_id", "app"},
                                                     {"response_type", "code"},
                                                     {"redirect_uri", "http://127.0.0.1:5/cb"},
                                                     {"scope", "Files.ReadWrite offline_access"},
                                                     {"code_challenge", challenge},
                                                     {"code_challenge_method", "S256"},
                                                     {"state", "s1"}})});
  ASSERT_TRUE(auth.ok()) << auth.status();
  ASSERT_EQ(auth->status, 302);
  std::string loc = auth->Header("location");
  size_t at = loc.find("code=");
  ASSERT_NE(at, std::string::npos) << loc;
  std::string code = loc.substr(at + 5, loc.find('&', at) - at - 5);
  int status = 0;
  auto wrong = TokenCall({{"grant_type", "authorization_code"},
                          {"code", http::PercentDecode(code)},
                          {"redirect_uri", "http://127.0.0.1:5/cb"},
                          {"code_verifier", "not-the-verifier"}},
                         &status);
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(status, 400);
  EXPECT_EQ((*wrong)["error"], "invalid_grant") << "a wrong verifier also spends the code";
  // A fresh code with the right verifier.
  auth = c.Send(http::Request{.url = Fake().base + "/common/oauth2/v2.0/authorize?" +
                                     http::QueryString({{"client_id", "app"},
                                                        {"response_type", "code"},
                                                        {"redirect_uri", "http://127.0.0.1:5/cb"},
                                                        {"code_challenge", challenge},
                                                        {"code_challenge_method", "S256"}})});
  ASSERT_TRUE(auth.ok());
  loc = auth->Header("location");
  at = loc.find("code=");
  code = loc.substr(at + 5, loc.find('&', at) - at - 5);
  auto tok = TokenCall({{"grant_type", "authorization_code"},
                        {"code", http::PercentDecode(code)},
                        {"redirect_uri", "http://127.0.0.1:5/cb"},
                        {"code_verifier", verifier}},
                       &status);
  ASSERT_TRUE(tok.ok());
  ASSERT_EQ(status, 200) << tok->dump();
  std::string rt1 = (*tok)["refresh_token"];
  auto r2 = TokenCall({{"grant_type", "refresh_token"}, {"refresh_token", rt1}}, &status);
  ASSERT_EQ(status, 200);
  std::string rt2 = (*r2)["refresh_token"];
  EXPECT_NE(rt1, rt2) << "Microsoft rotates the refresh token";
  auto again = TokenCall({{"grant_type", "refresh_token"}, {"refresh_token", rt1}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ((*again)["error"], "invalid_grant") << "a used refresh token is refused";
  // The new access token works against Graph.
  auto item = c.Send(http::Request{
      .url = Fake().endpoint + "/me/drive/root",
      .headers = {{"Authorization", "Bearer " + (*r2)["access_token"].get<std::string>()}}});
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, 200);
}

TEST(OneDriveFakeIdentity, DeviceCodeIsPendingUntilApproved) {
  http::Client c(http::ClientOptions{});
  std::string body = Form({{"client_id", "app"}, {"scope", "Files.ReadWrite offline_access"}});
  auto dc = c.Send(http::Request{
      .method = "POST", .url = Fake().base + "/consumers/oauth2/v2.0/devicecode", .body = body});
  ASSERT_TRUE(dc.ok());
  ASSERT_EQ(dc->status, 200);
  auto j = nlohmann::json::parse(dc->body);
  int status = 0;
  auto pending = TokenCall({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                            {"device_code", j["device_code"]}},
                           &status);
  EXPECT_EQ((*pending)["error"], "authorization_pending");
  ASSERT_TRUE(Fake().Control("device/approve", {{"user_code", j["user_code"]}}).ok());
  auto done = TokenCall({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                         {"device_code", j["device_code"]}},
                        &status);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(done->contains("refresh_token"));
}

TEST(OneDriveFake, FragmentRulesAreEnforcedWithGraphErrorBodies) {
  auto c = Make(TestFolder());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->EnsureFolder("").ok());
  http::Client h(http::ClientOptions{});
  std::string create = R"({"item":{"@microsoft.graph.conflictBehavior":"fail"}})";
  auto s = h.Send(http::Request{
      .method = "POST",
      .url =
          Fake().endpoint + "/me/drive/root:/tests/" + TestFolder() + "/f.bin:/createUploadSession",
      .headers = {{"Authorization", "Bearer " + Token()}, {"Content-Type", "application/json"}},
      .body = create});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->status, 200) << s->body;
  std::string url = nlohmann::json::parse(s->body)["uploadUrl"];
  std::string odd(100000, 'x');  // not a multiple of 320 KiB and not the last
  auto r = h.Send(http::Request{.method = "PUT",
                                .url = url,
                                .headers = {{"Content-Range", "bytes 0-99999/1000000"}},
                                .body = odd});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "invalidRequest") << r->body;
  std::string frag(kOneDriveFragmentUnit, 'y');
  auto late = h.Send(
      http::Request{.method = "PUT",
                    .url = url,
                    .headers = {{"Content-Range", absl::StrCat("bytes 327680-655359/1000000")}},
                    .body = frag});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->status, 416) << "out of order";
  auto authed = h.Send(http::Request{
      .method = "PUT",
      .url = url,
      .headers = {{"Content-Range", "bytes 0-327679/1000000"}, {"Authorization", "Bearer x"}},
      .body = frag});
  ASSERT_TRUE(authed.ok());
  EXPECT_EQ(authed->status, 401) << "the uploadUrl is pre-authenticated";
}

// A refresh token the device flow of the local server hands out.
std::string DeviceFlowRefreshToken() {
  http::Client c(http::ClientOptions{});
  auto dc = c.Send(http::Request{
      .method = "POST",
      .url = Fake().base + "/consumers/oauth2/v2.0/devicecode",
      .body = Form({{"client_id", "app"}, {"scope", "Files.ReadWrite offline_access"}})});
  EXPECT_TRUE(dc.ok());
  auto j = nlohmann::json::parse(dc->body);
  EXPECT_TRUE(Fake().Control("device/approve", {{"user_code", j["user_code"]}}).ok());
  int status = 0;
  auto done = TokenCall({{"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                         {"device_code", j["device_code"]}},
                        &status);
  EXPECT_EQ(status, 200);
  return done.ok() ? done->value("refresh_token", "") : "";
}

// Jobs of one destination run side by side, each with a connector built
// from the credentials its lease carried. Microsoft rotates refresh tokens
// and (read strictly, as the local server does) refuses a used one: the jobs
// must share one token source, or the second job's refresh would be refused
// and the destination held as "authentication failed" with a working
// account. A later job whose lease still carries the old token (the new one
// was stored while it was leased) is the same account, not a refusal.
TEST(OneDriveTokens, JobsOfOneDestinationShareRefreshesAndRotatedTokens) {
  const std::string rt = DeviceFlowRefreshToken();
  ASSERT_FALSE(rt.empty());
  nlohmann::json settings = {{"client_id", "app"},
                             {"endpoint", Fake().endpoint},
                             {"auth_endpoint", Fake().base},
                             {"folder", "tests/" + TestFolder()}};
  nlohmann::json creds = {{"refresh_token", rt}};
  absl::Mutex mu;
  std::vector<std::string> stored;
  auto env_of = [&](int job) {
    ConnectorEnvironment env;
    env.destination_name = "shared-tokens";
    env.store_credentials = [&, job](const nlohmann::json& c) {
      absl::MutexLock l(&mu);
      stored.push_back(absl::StrCat(job, ":", c.value("refresh_token", "")));
      return absl::OkStatus();
    };
    return env;
  };
  auto a = MakeConnector("onedrive", settings, creds, env_of(1));
  auto b = MakeConnector("onedrive", settings, creds, env_of(2));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->Stat("none.jpg").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*b)->Stat("none.jpg").status().code(), absl::StatusCode::kNotFound);
  {
    absl::MutexLock l(&mu);
    ASSERT_EQ(stored.size(), 1u) << "one refresh, one rotated token stored";
    EXPECT_NE(stored[0], absl::StrCat("2:", rt));
  }
  // Every access token expires: the next refresh uses the rotated token.
  ASSERT_TRUE(Fake().Control("expire_tokens").ok());
  b->reset();  // job 2 ends; job 1 still holds its lease and stores
  EXPECT_EQ((*a)->Stat("none.jpg").status().code(), absl::StatusCode::kNotFound);
  auto c = MakeConnector("onedrive", settings, creds, env_of(3));  // the old token
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Stat("none.jpg").status().code(), absl::StatusCode::kNotFound);
  absl::MutexLock l(&mu);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[1].substr(0, 2), "1:") << "stored through the job that still runs";
}

}  // namespace
}  // namespace shoebox::worker
