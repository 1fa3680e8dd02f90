// OAuth 2.0 helpers against a loopback token endpoint (loopback_http_server.h).
#include "common/http/oauth.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/loopback_http_server.h"
#include "common/http/url.h"
#include "common/retry.h"
#include "gtest/gtest.h"

namespace shoebox::http {
namespace {

using testing::LoopbackServer;
using testing::Reply;
using testing::Seen;

std::string Json(int code, const std::string& body, const std::string& extra = "") {
  return Reply(code, body, absl::StrCat("Content-Type: application/json\r\n", extra));
}

// The form parameter `key` of a request body.
std::string Form(const Seen& s, const std::string& key) {
  for (absl::string_view kv : absl::StrSplit(s.body, '&')) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first == key) return PercentDecode(p.second);
  }
  return "";
}

TEST(Pkce, Rfc7636AppendixBVector) {
  EXPECT_EQ(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, VerifierIsLongUnreservedAndRandom) {
  Pkce a = MakePkce(), b = MakePkce();
  EXPECT_EQ(a.verifier.size(), 64u);
  EXPECT_EQ(a.verifier.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"),
            std::string::npos);
  EXPECT_NE(a.verifier, b.verifier);
  EXPECT_EQ(a.challenge, PkceChallenge(a.verifier));
  EXPECT_NE(RandomState(), RandomState());
}

TEST(Base64Url, NoPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(OAuthProfile, EndpointsOverridableKeepingPaths) {
  auto p = LookUpOAuthProfile("onedrive");
  ASSERT_TRUE(p.ok());
  OAuthProfile local = WithAuthEndpoint(*p, "http://127.0.0.1:8080/");
  EXPECT_EQ(local.token_url, "http://127.0.0.1:8080/common/oauth2/v2.0/token");
  EXPECT_EQ(local.device_url, "http://127.0.0.1:8080/common/oauth2/v2.0/devicecode");
  EXPECT_EQ(WithAuthEndpoint(*p, "").token_url, p->token_url);
  auto none = LookUpOAuthProfile("s3");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(none.status().message(), "dropbox, onedrive, gdrive"));
}

TEST(OAuthProfile, AuthorizationUrlCarriesPkceStateAndOfflineAccess) {
  auto p = LookUpOAuthProfile("dropbox");
  ASSERT_TRUE(p.ok());
  std::string url = AuthorizationUrl(*p, "app key", "http://127.0.0.1:5000/", "st", "ch");
  EXPECT_TRUE(absl::StartsWith(url, "https://www.dropbox.com/oauth2/authorize?response_type=code"));
  EXPECT_TRUE(absl::StrContains(url, "client_id=app%20key"));
  EXPECT_TRUE(absl::StrContains(url, "redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2F"));
  EXPECT_TRUE(absl::StrContains(url, "state=st&code_challenge=ch&code_challenge_method=S256"));
  EXPECT_TRUE(absl::StrContains(url, "token_access_type=offline"));
}

TEST(OAuth, ExchangeCodeSendsVerifierAndClient) {
  LoopbackServer srv([](const Seen& s) {
    if (Form(s, "grant_type") != "authorization_code" || Form(s, "code") != "C1" ||
        Form(s, "code_verifier") != "V" || Form(s, "client_id") != "id" ||
        Form(s, "client_secret") != "sec" || Form(s, "redirect_uri") != "http://x/")
      return Json(400, R"({"error":"invalid_request"})");
    return Json(200, R"({"access_token":"A","refresh_token":"R","expires_in":14400})");
  });
  Client http(ClientOptions{});
  auto t = ExchangeCode(http, {srv.url("/token"), "id", "sec"}, "C1", "http://x/", "V");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->access_token, "A");
  EXPECT_EQ(t->refresh_token, "R");
  EXPECT_EQ(t->expires_in, absl::Seconds(14400));
  auto bad = ExchangeCode(http, {srv.url("/token"), "id", "sec"}, "C2", "http://x/", "V");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "invalid_request")) << bad.status();
}

TEST(OAuthTokenSource, CachesAndRefreshesBeforeExpiry) {
  std::atomic<int> n{0};
  LoopbackServer srv([&](const Seen& s) {
    EXPECT_EQ(Form(s, "grant_type"), "refresh_token");
    EXPECT_EQ(Form(s, "refresh_token"), "R");
    EXPECT_EQ(Form(s, "client_secret"), "");  // public client: no secret sent
    return Json(200, absl::StrCat(R"({"access_token":"A)", ++n, R"(","expires_in":3600})"));
  });
  absl::Time now = absl::FromUnixSeconds(1000000);
  OAuthTokenSource ts({.client = {srv.url("/token"), "id", ""},
                       .refresh_token = "R",
                       .destination = "photos",
                       .now = [&] { return now; }});
  EXPECT_EQ(*ts.AccessToken(), "A1");
  EXPECT_EQ(*ts.AccessToken(), "A1");
  now += absl::Minutes(58);  // two minutes left: still cached
  EXPECT_EQ(*ts.AccessToken(), "A1");
  now += absl::Seconds(61);  // less than a minute left: refreshed
  EXPECT_EQ(*ts.AccessToken(), "A2");
  ts.Invalidate("A1");  // a stale token does not discard the new one
  EXPECT_EQ(*ts.AccessToken(), "A2");
  ts.Invalidate("A2");
  EXPECT_EQ(*ts.AccessToken(), "A3");
  EXPECT_EQ(ts.refreshes(), 3);
}

TEST(OAuthTokenSource, OneRefreshAtATime) {
  std::atomic<int> n{0};
  LoopbackServer srv([&](const Seen&) {
    absl::SleepFor(absl::Milliseconds(200));
    return Json(200, absl::StrCat(R"({"access_token":"A)", ++n, R"(","expires_in":3600})"));
  });
  OAuthTokenSource ts({.client = {srv.url("/token"), "id", "s"}, .refresh_token = "R"});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&] {
      auto t = ts.AccessToken();
      if (t.ok() && *t == "A1") ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(n.load(), 1);
}

TEST(OAuthTokenSource, RotatedRefreshTokenIsSavedBeforeUse) {
  std::vector<std::string> refresh_seen;
  std::mutex mu;
  int n = 0;
  LoopbackServer srv([&](const Seen& s) {
    std::lock_guard<std::mutex> l(mu);
    refresh_seen.push_back(Form(s, "refresh_token"));
    ++n;
    return Json(200, absl::StrCat(R"({"access_token":"A)", n, R"(","refresh_token":"R)", n,
                                  R"(","expires_in":3600})"));
  });
  std::vector<std::string> saved;
  bool fail_save = true;
  OAuthTokenSource ts({.client = {srv.url("/token"), "id", ""},
                       .refresh_token = "R0",
                       .on_rotated = [&](const std::string& r) -> absl::Status {
                         saved.push_back(r);
                         if (fail_save) return absl::UnavailableError("coordinator down");
                         return absl::OkStatus();
                       }});
  // The save fails: no access token is handed out, the new refresh token is kept.
  auto t = ts.AccessToken();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ts.refresh_token(), "R1");
  fail_save = false;
  // The next call saves R1 again and then uses the token it already has.
  EXPECT_EQ(*ts.AccessToken(), "A1");
  EXPECT_EQ(saved, (std::vector<std::string>{"R1", "R1"}));
  ts.Invalidate("A1");
  EXPECT_EQ(*ts.AccessToken(), "A2");
  EXPECT_EQ(saved.back(), "R2");
  EXPECT_EQ(refresh_seen, (std::vector<std::string>{"R0", "R1"}));  // the rotated one is used
}

TEST(OAuthTokenSource, InvalidGrantSaysToReconnect) {
  LoopbackServer srv([](const Seen&) {
    return Json(400, R"({"error":"invalid_grant","error_description":"refresh token is revoked"})");
  });
  OAuthTokenSource ts(
      {.client = {srv.url("/token"), "id", ""}, .refresh_token = "R", .destination = "photos"});
  auto t = ts.AccessToken();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(
      t.status().message(),
      "the service refused the refresh token: reconnect with `shoebox dest connect photos`"))
      << t.status();
}

TEST(OAuthTokenSource, ThrottlingCarriesRetryAfter) {
  int code = 429;
  LoopbackServer srv([&](const Seen&) {
    return Json(code, R"({"error":"too_many_requests"})", "Retry-After: 7\r\n");
  });
  OAuthTokenSource ts({.client = {srv.url("/token"), "id", ""}, .refresh_token = "R"});
  auto t = ts.AccessToken();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted) << t.status();
  EXPECT_EQ(RetryAfterMs(t.status()), 7000u);
  code = 503;
  t = ts.AccessToken();
  EXPECT_EQ(t.status().code(), absl::StatusCode::kUnavailable) << t.status();
  EXPECT_EQ(RetryAfterMs(t.status()), 7000u);
}

TEST(DeviceFlow, PollsHonouringSlowDown) {
  std::atomic<int> polls{0};
  LoopbackServer srv([&](const Seen& s) {
    if (s.target == "/device") {
      EXPECT_EQ(Form(s, "scope"), "Files.ReadWrite offline_access");
      return Json(200, R"({"device_code":"D","user_code":"ABCD-EFGH",)"
                       R"("verification_uri":"https://microsoft.com/devicelogin",)"
                       R"("interval":5,"expires_in":900})");
    }
    EXPECT_EQ(Form(s, "grant_type"), "urn:ietf:params:oauth:grant-type:device_code");
    EXPECT_EQ(Form(s, "device_code"), "D");
    switch (++polls) {
      case 1:
        return Json(400, R"({"error":"authorization_pending"})");
      case 2:
        return Json(400, R"({"error":"slow_down"})");
      case 3:
        return Json(400, R"({"error":"authorization_pending"})");
      default:
        return Json(200, R"({"access_token":"A","refresh_token":"R","expires_in":3600})");
    }
  });
  Client http(ClientOptions{});
  auto d = StartDeviceAuthorization(http, srv.url("/device"), "id",
                                    {"Files.ReadWrite", "offline_access"});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->user_code, "ABCD-EFGH");
  std::vector<absl::Duration> slept;
  auto t = PollDeviceToken(http, {srv.url("/token"), "id", ""}, *d,
                           [&](absl::Duration s) { slept.push_back(s); });
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->refresh_token, "R");
  EXPECT_EQ(slept, (std::vector<absl::Duration>{absl::Seconds(5), absl::Seconds(5),
                                                absl::Seconds(10), absl::Seconds(10)}));
}

TEST(DeviceFlow, ExpiredAndDenied) {
  std::string error = "expired_token";
  LoopbackServer srv(
      [&](const Seen&) { return Json(400, absl::StrCat(R"({"error":")", error, R"("})")); });
  Client http(ClientOptions{});
  DeviceAuthorization d{.device_code = "D", .user_code = "U", .verification_uri = "v"};
  auto noop = [](absl::Duration) {};
  auto t = PollDeviceToken(http, {srv.url("/token"), "id", ""}, d, noop);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kDeadlineExceeded);
  error = "access_denied";
  t = PollDeviceToken(http, {srv.url("/token"), "id", ""}, d, noop);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace shoebox::http
