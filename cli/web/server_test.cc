// `shoebox web serve` over real HTTPS (cpp-httplib on loopback) against a
// scripted AdminService on a real in-process gRPC server: sessions, CSRF,
// the log-in limit, audit entries and server-sent events (issue 22).
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "cli/web/password.h"
#include "cli/web/server.h"
#include "cli/web/server_test_fixture.h"
#include "common/crypto/pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli::web {
namespace {

using namespace webtest;  // NOLINT
using nlohmann::json;

TEST_F(WebServerTest, NothingAnswersWithoutASession) {
  auto c = Client();
  for (const char* path : {"/api/overview", "/api/session", "/api/events", "/api/nothing"}) {
    auto r = c->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
  }
  for (const char* path : {"/", "/index.html", "/somewhere"}) {
    auto r = c->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 303) << path;
    EXPECT_EQ(r->get_header_value("Location"), "/login") << path;
  }
  auto post = c->Post("/api/logout", "", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  // A forged cookie is no session.
  auto forged = c->Get("/api/overview", {{"Cookie", "__Host-shoebox=" + std::string(64, 'a')}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  // The log-in page and its assets are public; they carry no data.
  auto login = c->Get("/login");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_TRUE(absl::StrContains(login->body, "login-form"));
  EXPECT_TRUE(
      absl::StrContains(login->get_header_value("Content-Security-Policy"), "script-src 'self'"));
  auto js = c->Get("/assets/login.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(c->Get("/assets/nope.js")->status, 404);
}

TEST_F(WebServerTest, LogInOverviewCsrfAndLogOut) {
  auto bad = Login("ana", "not the password");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  auto unknown = Login("nobody", kPassword);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(json::parse(unknown->body)["error"], json::parse(bad->body)["error"]);

  auto ok = Login("ana", kPassword);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  const std::string set_cookie = ok->get_header_value("Set-Cookie");
  EXPECT_EQ(set_cookie.rfind("__Host-shoebox=", 0), 0u) << set_cookie;
  for (const char* attr : {"; HttpOnly", "; Secure", "; SameSite=Strict", "; Path=/"}) {
    EXPECT_TRUE(absl::StrContains(set_cookie, attr)) << set_cookie;
  }
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = json::parse(ok->body)["csrf"];
  auto c = Client();
  auto ov = c->Get("/api/overview", {{"Cookie", cookie}});
  ASSERT_TRUE(ov);
  ASSERT_EQ(ov->status, 200) << ov->body;
  json o = json::parse(ov->body);
  EXPECT_EQ(o["copies"]["one"], 3);
  EXPECT_EQ(o["copies"]["two"], 2);
  EXPECT_EQ(o["devices"][0]["name"], "phone");
  auto page = c->Get("/", {{"Cookie", cookie}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(absl::StrContains(page->body, "copies-chart"));

  // State-changing requests need the session's own CSRF token.
  auto no_token = c->Post("/api/logout", {{"Cookie", cookie}}, "", "application/json");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 403);
  auto wrong = c->Post("/api/logout", {{"Cookie", cookie}, {"X-CSRF-Token", std::string(64, 'f')}},
                       "", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(c->Get("/api/session", {{"Cookie", cookie}})->status, 200) << "still logged in";
  auto out =
      c->Post("/api/logout", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}, "", "application/json");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(c->Get("/api/overview", {{"Cookie", cookie}})->status, 401);

  const std::vector<std::string> audits = fake_.Audits();
  const std::vector<std::string> want = {"WebLoginFailed  ana refused",
                                         "WebLoginFailed  nobody refused",
                                         "WebLogin ana ana allowed", "WebLogout ana ana allowed"};
  EXPECT_EQ(audits, want);
}

TEST_F(WebServerTest, WrongPasswordsAreRateLimited) {
  for (int i = 0; i < 5; ++i) {
    auto r = Login("ana", "wrong password " + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << i;
  }
  // The sixth attempt is refused before any check, even with the right
  // password, and says when to come back.
  auto limited = Login("ana", kPassword);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  int retry = 0;
  EXPECT_TRUE(absl::SimpleAtoi(limited->get_header_value("Retry-After"), &retry));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  // Another account from the same address is limited too.
  EXPECT_EQ(Login("ben", kPassword)->status, 429);
}

TEST_F(WebServerTest, LogInCsrfIsRefused) {
  auto c = Client();
  auto form = c->Post("/api/login", "name=ana&password=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  auto cross = c->Post("/api/login", {{"Origin", "https://evil.example"}},
                       json{{"name", "ana"}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
}

TEST_F(WebServerTest, PasswordChangeEndsOtherSessions) {
  auto [cookie1, csrf1] = LoggedIn();
  auto [cookie2, csrf2] = LoggedIn();
  auto c = Client();
  const std::string new_password = "another-long-password";
  auto r = c->Post("/api/password", {{"Cookie", cookie1}, {"X-CSRF-Token", csrf1}},
                   json{{"current", kPassword}, {"new", new_password}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(c->Get("/api/session", {{"Cookie", cookie2}})->status, 401);
  EXPECT_EQ(Login("ana", kPassword)->status, 401);
  EXPECT_EQ(Login("ana", new_password)->status, 200);
}

TEST_F(WebServerTest, EventsPushTheOverviewWhenTheStatusChanges) {
  auto [cookie, csrf] = LoggedIn();
  std::mutex mu;
  std::string received;
  std::thread reader([&, cookie = cookie] {
    auto c = Client();
    c->set_read_timeout(std::chrono::seconds(20));
    c->Get("/api/events", {{"Cookie", cookie}}, [&](const char* data, size_t n) {
      std::lock_guard<std::mutex> l(mu);
      received.append(data, n);
      // Done after the second overview event.
      size_t first = received.find("event: overview");
      return first == std::string::npos ||
             received.find("event: overview", first + 1) == std::string::npos;
    });
  });
  // Wait for the first event, then change the status.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (received.find("event: overview") != std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fake_.SetCopies(9);
  reader.join();
  std::lock_guard<std::mutex> l(mu);
  const size_t second = received.find("event: overview", received.find("event: overview") + 1);
  ASSERT_NE(second, std::string::npos) << received;
  const size_t data = received.find("data: ", second);
  const size_t end = received.find("\n\n", data);
  json o = json::parse(received.substr(data + 6, end - data - 6));
  EXPECT_EQ(o["copies"]["one"], 7);  // at least 1 (9) minus at least 2 (2)
}

TEST(WebListen, AddressesAndPorts) {
  EXPECT_EQ(*ParseListen("127.0.0.1:8443"), std::make_pair(std::string("127.0.0.1"), 8443));
  EXPECT_EQ(*ParseListen("[::1]:0"), std::make_pair(std::string("::1"), 0));
  EXPECT_FALSE(ParseListen("8443").ok());
  EXPECT_FALSE(ParseListen("host:99999").ok());
  EXPECT_FALSE(ParseListen("[::1]8443").ok());
}

}  // namespace
}  // namespace shoebox::cli::web
