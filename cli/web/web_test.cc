// The web dashboard's parts without a network (issue 22, docs/web.md).
#include <string>

#include "cli/web/assets.h"
#include "cli/web/login_limiter.h"
#include "cli/web/overview.h"
#include "cli/web/password.h"
#include "cli/web/sessions.h"
#include "gtest/gtest.h"

namespace shoebox::cli::web {
namespace {

// A clock the tests move.
absl::Time g_now = absl::FromUnixSeconds(1800000000);
absl::Time FakeNow() { return g_now; }

TEST(WebPassword, Argon2idHashVerifiesOnlyItsPassword) {
  auto h = HashPassword("correct horse battery");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(*VerifyPassword(*h, "correct horse battery"));
  EXPECT_FALSE(*VerifyPassword(*h, "correct horse batterY"));
  EXPECT_FALSE(*VerifyPassword(*h, ""));
  // A fresh salt each time: two hashes of one password differ.
  EXPECT_NE(*h, *HashPassword("correct horse battery"));
}

TEST(WebPassword, KnownArgon2idEncodingVerifies) {
  // libargon2's own test vector (src/test.c: Argon2id, t=2, m=2^16 KiB,
  // p=1, password "password", salt "somesalt").
  const std::string encoded =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
      "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  auto ok = VerifyPassword(encoded, "password");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(*ok);
  EXPECT_FALSE(*VerifyPassword(encoded, "passwore"));
}

TEST(WebPassword, ShortPasswordsAndOtherHashesAreRefused) {
  EXPECT_EQ(HashPassword("short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyPassword("$2y$10$bcrypthashhere", "whatever").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyPassword("$argon2id$garbage", "whatever").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebPassword, GeneratedPasswordsAreLongAndUnambiguous) {
  std::string a = GeneratePassword(), b = GeneratePassword();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_of("0O1lI"), std::string::npos) << a;
  EXPECT_TRUE(HashPassword(a).ok());
}

TEST(WebSessions, IdsAndCsrfTokensAreRandom32Bytes) {
  SessionStore store(absl::Minutes(30), absl::Hours(12), 100, FakeNow);
  Session a = store.Create("ana", "admin", {});
  Session b = store.Create("ana", "admin", {});
  EXPECT_EQ(a.id.size(), 64u);
  EXPECT_EQ(a.csrf.size(), 64u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  EXPECT_NE(a.id, a.csrf);
  ASSERT_TRUE(store.Find(a.id).has_value());
  EXPECT_EQ(store.Find(a.id)->account, "ana");
  EXPECT_FALSE(store.Find("not-a-session").has_value());
  EXPECT_FALSE(store.Find(std::string(64, '0')).has_value());
}

TEST(WebSessions, IdleAndAbsoluteExpiry) {
  SessionStore store(absl::Minutes(30), absl::Hours(2), 100, FakeNow);
  Session s = store.Create("ben", "member", {"phone"});
  g_now += absl::Minutes(29);
  ASSERT_TRUE(store.Find(s.id).has_value());  // used: idle time starts again
  g_now += absl::Minutes(29);
  ASSERT_TRUE(store.Find(s.id).has_value());
  g_now += absl::Minutes(31);
  EXPECT_FALSE(store.Find(s.id).has_value()) << "idle for 31 min";
  EXPECT_EQ(store.size(), 0u);

  Session t = store.Create("ben", "member", {});
  for (int i = 0; i < 6; ++i) {  // up to exactly 2 h after log-in
    g_now += absl::Minutes(20);
    ASSERT_TRUE(store.Find(t.id).has_value()) << i;
  }
  g_now += absl::Minutes(20);  // 2 h 20 min after log-in, though never idle
  EXPECT_FALSE(store.Find(t.id).has_value());
}

TEST(WebSessions, LogoutAndPasswordChangeEndSessions) {
  SessionStore store(absl::Minutes(30), absl::Hours(12), 100, FakeNow);
  Session a = store.Create("ana", "admin", {});
  Session a2 = store.Create("ana", "admin", {});
  Session b = store.Create("ben", "member", {});
  EXPECT_TRUE(store.Remove(a.id));
  EXPECT_FALSE(store.Remove(a.id));
  EXPECT_FALSE(store.Find(a.id).has_value());
  EXPECT_EQ(store.RemoveAccount("ana"), 1u);
  EXPECT_FALSE(store.Find(a2.id).has_value());
  EXPECT_TRUE(store.Find(b.id).has_value());
}

TEST(WebSessions, BoundedByLeastRecentlyUsed) {
  SessionStore store(absl::Minutes(30), absl::Hours(12), 3, FakeNow);
  Session s1 = store.Create("a", "admin", {});
  g_now += absl::Seconds(1);
  Session s2 = store.Create("b", "admin", {});
  g_now += absl::Seconds(1);
  Session s3 = store.Create("c", "admin", {});
  g_now += absl::Seconds(1);
  ASSERT_TRUE(store.Find(s1.id).has_value());  // s2 is now the least recent
  g_now += absl::Seconds(1);
  Session s4 = store.Create("d", "admin", {});
  EXPECT_EQ(store.size(), 3u);
  EXPECT_TRUE(store.Find(s1.id).has_value());
  EXPECT_FALSE(store.Find(s2.id).has_value());
  EXPECT_TRUE(store.Find(s4.id).has_value());
}

TEST(WebCsrf, OnlyTheSessionsOwnTokenPasses) {
  SessionStore store(absl::Minutes(30), absl::Hours(12), 100, FakeNow);
  Session a = store.Create("ana", "admin", {});
  Session b = store.Create("ana", "admin", {});
  EXPECT_TRUE(SessionStore::CsrfMatches(a, a.csrf));
  EXPECT_FALSE(SessionStore::CsrfMatches(a, b.csrf));
  EXPECT_FALSE(SessionStore::CsrfMatches(a, ""));
  EXPECT_FALSE(SessionStore::CsrfMatches(a, a.csrf.substr(0, 63)));
  EXPECT_FALSE(SessionStore::CsrfMatches(a, a.csrf + "0"));
  EXPECT_FALSE(SessionStore::CsrfMatches(a, a.id));
}

TEST(WebLoginLimiter, FiveFailuresAMinutePerKey) {
  LoginLimiter lim(5, absl::Minutes(1), 1000, FakeNow);
  const std::vector<std::string> keys = {"account:ana", "address:10.0.0.2"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(lim.RetryAfter(keys), absl::ZeroDuration()) << i;
    lim.RecordFailure(keys);
    g_now += absl::Seconds(2);
  }
  // Five failures at t=0,2,4,6,8 s; now t=10 s: the first leaves at 60 s.
  EXPECT_EQ(lim.RetryAfter(keys), absl::Seconds(50));
  // The same account from another address, and another account from the
  // same address: both limited.
  EXPECT_GT(lim.RetryAfter({"account:ana", "address:10.0.0.3"}), absl::ZeroDuration());
  EXPECT_GT(lim.RetryAfter({"account:ben", "address:10.0.0.2"}), absl::ZeroDuration());
  EXPECT_EQ(lim.RetryAfter({"account:ben", "address:10.0.0.3"}), absl::ZeroDuration());
  g_now += absl::Seconds(50);
  EXPECT_EQ(lim.RetryAfter(keys), absl::ZeroDuration());
  lim.RecordFailure(keys);  // one more: the window holds 5 again (t=2..8 and now)
  EXPECT_EQ(lim.RetryAfter(keys), absl::Seconds(2));
}

TEST(WebLoginLimiter, RetryAfterIsWholeSecondsAndBoundedMemory) {
  LoginLimiter lim(1, absl::Seconds(10), 2, FakeNow);
  lim.RecordFailure({"a"});
  g_now += absl::Milliseconds(9500);
  EXPECT_EQ(lim.RetryAfter({"a"}), absl::Seconds(1));
  lim.RecordFailure({"b"});
  lim.RecordFailure({"c"});
  EXPECT_LE(lim.size(), 2u);
}

TEST(WebAssets, PagesScriptsAndStylesAreEmbedded) {
  for (const char* name : {"index.html", "login.html", "app.js", "login.js", "style.css"}) {
    const Asset* a = FindAsset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_GT(a->body.size(), 100u) << name;
  }
  EXPECT_EQ(FindAsset("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindAsset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(FindAsset("style.css")->content_type, "text/css; charset=utf-8");
  EXPECT_NE(FindAsset("login.html")->body.find("<form id=\"login-form\""), std::string::npos);
  EXPECT_EQ(FindAsset("../server.cc"), nullptr);
  EXPECT_EQ(FindAsset("nothing.js"), nullptr);
  // No inline script: the Content-Security-Policy allows scripts from files only.
  for (const char* page : {"index.html", "login.html"}) {
    std::string_view body = FindAsset(page)->body;
    EXPECT_EQ(body.find("<script>"), std::string::npos) << page;
    EXPECT_EQ(body.find("onclick"), std::string::npos) << page;
  }
  // The page never parses data as HTML.
  EXPECT_EQ(FindAsset("app.js")->body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(FindAsset("login.js")->body.find("innerHTML"), std::string::npos);
}

TEST(WebAssets, SecondSlicePagesHaveNoInlineScriptAndNeverParseHtml) {
  for (const char* page : {"devices.html", "destinations.html", "jobs.html", "activity.html",
                           "login-code.html", "index.html", "deleted.html"}) {
    const Asset* a = FindAsset(page);
    ASSERT_NE(a, nullptr) << page;
    EXPECT_EQ(a->body.find("<script>"), std::string::npos) << page;
    EXPECT_EQ(a->body.find("onclick"), std::string::npos) << page;
    EXPECT_EQ(a->body.find("style="), std::string::npos) << page;
    // Every page carries the navigation bar.
    if (std::string_view(page) != "login-code.html") {
      EXPECT_NE(a->body.find("href=\"/jobs\""), std::string::npos) << page;
      EXPECT_NE(a->body.find("href=\"/deleted\""), std::string::npos) << page;  // issue 22
    }
  }
  for (const char* script : {"common.js", "devices.js", "destinations.js", "jobs.js", "activity.js",
                             "login-code.js", "deleted.js"}) {
    const Asset* a = FindAsset(script);
    ASSERT_NE(a, nullptr) << script;
    for (const char* bad :
         {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
      EXPECT_EQ(a->body.find(bad), std::string::npos) << script << " uses " << bad;
    }
  }
}

shoebox::v1::StatusResponse SampleStatus() {
  shoebox::v1::StatusResponse r;
  r.set_files_with_no_copy(2);
  r.set_files_with_1_copy(10);
  r.set_files_with_2_copies(7);
  r.set_files_with_3_copies(3);
  auto* d = r.add_devices();
  d->set_name("phone");
  d->set_files(10);
  auto* d2 = r.add_devices();
  d2->set_name("laptop");
  auto* dest = r.add_destinations();
  dest->set_name("nas");
  dest->mutable_deliveries()->set_delivered_bytes(12345);
  dest->set_health(std::string("refused \xff\x1b[31m", 12));
  auto* p = r.add_problems();
  p->set_kind("folder_unavailable");
  p->set_message("watched folder /x/<img src=x onerror=alert(1)>");
  return r;
}

TEST(WebOverview, CopiesAreExactCountsPerBucket) {
  nlohmann::json j = OverviewJson(SampleStatus(), ViewScope{true, {}});
  EXPECT_EQ(j["scope"], "admin");
  EXPECT_EQ(j["copies"]["none"], 2);
  EXPECT_EQ(j["copies"]["one"], 3);  // at least 1 (10) minus at least 2 (7)
  EXPECT_EQ(j["copies"]["two"], 4);
  EXPECT_EQ(j["copies"]["three_plus"], 3);
  EXPECT_EQ(j["copies"]["total"], 12);
  EXPECT_EQ(j["destinations"][0]["delivered_bytes"], 12345);
  EXPECT_EQ(j["devices"].size(), 2u);
  // Text stays text: the page sets it with textContent.
  EXPECT_EQ(j["problems"][0]["message"], "watched folder /x/<img src=x onerror=alert(1)>");
  // Control bytes and invalid UTF-8 are escaped, and the JSON always dumps.
  std::string health = j["destinations"][0]["health"];
  EXPECT_EQ(health.find('\x1b'), std::string::npos) << health;
  EXPECT_FALSE(DumpJson(j).empty());
}

TEST(WebOverview, MemberSeesOnlyItsDevicesAndNoLibraryNumbers) {
  nlohmann::json j = OverviewJson(SampleStatus(), ViewScope{false, {"laptop"}});
  EXPECT_EQ(j["scope"], "member");
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["name"], "laptop");
  EXPECT_FALSE(j.contains("copies"));
  EXPECT_FALSE(j.contains("destinations"));
  EXPECT_FALSE(j.contains("problems"));
}

}  // namespace
}  // namespace shoebox::cli::web
