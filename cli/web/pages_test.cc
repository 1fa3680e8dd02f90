// The dashboard's second slice over real HTTPS against the scripted
// AdminService (server_test_fixture.h): TOTP log-in (the code, replay, the
// admin rule, the limit), members bound to devices, and the Devices,
// Destinations, Jobs and Activity APIs with their CSRF and audit rules.
#include "cli/web/pages.h"
#include "cli/web/server_test_fixture.h"
#include "cli/web/totp.h"

namespace shoebox::cli::web {
namespace {

using namespace webtest;  // NOLINT
using nlohmann::json;
namespace pb = shoebox::v1;

const std::string kKey = "0123456789abcdefghij";  // 20 bytes

class WebPagesTest : public WebServerTest {
 protected:
  // Password step; returns the response (its cookie is the pending one).
  httplib::Result Code(const std::string& pending_cookie, const std::string& code) {
    return Client()->Post("/api/login/code", {{"Cookie", pending_cookie}},
                          json{{"code", code}}.dump(), "application/json");
  }
  static std::string CookieOf(const httplib::Result& r, const std::string& name) {
    for (size_t i = 0; i < r->get_header_value_count("Set-Cookie"); ++i) {
      std::string c = r->get_header_value("Set-Cookie", i);
      if (c.rfind(name + "=", 0) == 0 && c.rfind(name + "=;", 0) != 0) {
        return c.substr(0, c.find(';'));
      }
    }
    return "";
  }
  // Logs `name` in (password only) and returns {cookie, csrf}.
  std::pair<std::string, std::string> As(const std::string& name) {
    auto r = Login(name, kPassword);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    return {CookieOf(r, "__Host-shoebox"), json::parse(r->body)["csrf"].get<std::string>()};
  }
  void AddMember(const std::string& name, std::vector<std::string> devices) {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.accounts[name] = {"member", *HashPassword(kPassword)};
    fake_.devices[name] = std::move(devices);
  }
  httplib::Result Post(const std::string& cookie, const std::string& csrf, const std::string& path,
                       const json& body) {
    httplib::Headers h = {{"Cookie", cookie}};
    if (!csrf.empty()) h.emplace("X-CSRF-Token", csrf);
    return Client()->Post(path, h, body.dump(), "application/json");
  }
  json Get(const std::string& cookie, const std::string& path, int want = 200) {
    auto r = Client()->Get(path, {{"Cookie", cookie}});
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, want) << path << " " << r->body;
    return json::parse(r->body, nullptr, false);
  }
};

TEST_F(WebPagesTest, TotpLogInNeedsTheCurrentCodeOnceOnly) {
  fake_.totp["ana"] = kKey;
  auto first = Login("ana", kPassword);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json::parse(first->body)["second_step"], "totp");
  EXPECT_FALSE(json::parse(first->body).contains("csrf"));
  EXPECT_EQ(CookieOf(first, "__Host-shoebox"), "") << "no session before the code";
  const std::string pending = CookieOf(first, "__Host-shoebox-2fa");
  ASSERT_FALSE(pending.empty());
  // The pending cookie is no session.
  EXPECT_EQ(Client()->Get("/api/overview", {{"Cookie", pending}})->status, 401);
  EXPECT_EQ(Client()->Get("/login/code")->status, 200);

  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string good = TotpCode(kKey, now);
  std::string wrong = good;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  EXPECT_EQ(Code(pending, wrong)->status, 401);
  EXPECT_EQ(Code("__Host-shoebox-2fa=" + std::string(64, 'a'), good)->status, 401);
  auto ok = Code(pending, good);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  const std::string session = CookieOf(ok, "__Host-shoebox");
  ASSERT_FALSE(session.empty());
  EXPECT_EQ(Get(session, "/api/session")["account"], "ana");
  // The pending log-in is used up, and the same code on a new log-in is a
  // replay.
  EXPECT_EQ(Code(pending, good)->status, 401);
  auto again = Login("ana", kPassword);
  EXPECT_EQ(Code(CookieOf(again, "__Host-shoebox-2fa"), good)->status, 401);
  // A cross-site or non-JSON code is refused like a cross-site log-in.
  EXPECT_EQ(
      Client()->Post("/api/login/code", {{"Cookie", pending}}, "code=1", "text/plain")->status,
      415);

  const std::vector<std::string> audits = fake_.Audits();
  EXPECT_NE(std::find(audits.begin(), audits.end(), "WebLogin ana ana allowed"), audits.end());
  // The wrong code and the replayed one (a used-up pending log-in is no attempt).
  EXPECT_EQ(std::count(audits.begin(), audits.end(), "WebLoginFailed  ana refused"), 2);
}

TEST_F(WebPagesTest, TotpCodesAreRateLimitedLikePasswords) {
  fake_.totp["ana"] = kKey;
  const std::string pending = CookieOf(Login("ana", kPassword), "__Host-shoebox-2fa");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Code(pending, "00000" + std::to_string(i))->status, 401);
  auto limited = Code(pending, TotpCode(kKey, absl::ToUnixSeconds(absl::Now())));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_FALSE(limited->get_header_value("Retry-After").empty());
}

TEST_F(WebPagesTest, AdminsNeedTotpOnceAnyAdminHasIt) {
  fake_.accounts["bo"] = {"admin", *HashPassword(kPassword)};
  AddMember("ben", {"phone"});
  EXPECT_EQ(Login("ana", kPassword)->status, 200) << "no admin has TOTP yet";
  fake_.totp["bo"] = kKey;
  auto refused = Login("ana", kPassword);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(absl::StrContains(refused->body, "shoebox web user totp enable ana"))
      << refused->body;
  // Members are not bound by the admins' rule.
  EXPECT_EQ(Login("ben", kPassword)->status, 200);
  const std::vector<std::string> audits = fake_.Audits();
  EXPECT_NE(std::find(audits.begin(), audits.end(), "WebLoginRefused  ana refused"), audits.end());
}

TEST_F(WebPagesTest, AMemberSeesOnlyItsOwnDevices) {
  fake_.status.add_devices()->set_name("laptop");
  AddMember("ben", {"phone"});
  auto [cookie, csrf] = As("ben");
  json d = Get(cookie, "/api/devices");
  ASSERT_EQ(d["devices"].size(), 1u) << d.dump();
  EXPECT_EQ(d["devices"][0]["name"], "phone");
  EXPECT_EQ(d["devices"][0]["folders"][0], "/home/phone/Pictures");
  EXPECT_EQ(d["can_enroll"], false);
  EXPECT_EQ(Get(cookie, "/api/devices/phone")["name"], "phone");
  // Another device by URL: as if it did not exist.
  EXPECT_TRUE(absl::StrContains(Get(cookie, "/api/devices/laptop", 404)["error"].get<std::string>(),
                                "laptop"));
  // Admin pages and actions are refused.
  for (const char* path : {"/api/jobs", "/api/destinations", "/api/activity"}) {
    Get(cookie, path, 403);
  }
  EXPECT_EQ(Post(cookie, csrf, "/api/devices/enroll", json{{"device", "x"}})->status, 403);
  EXPECT_EQ(Post(cookie, csrf, "/api/jobs/cancel", json{{"job_ids", {1}}})->status, 403);
  // An unbind applies at the member's next request, not its next log-in.
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    fake_.devices["ben"].clear();
  }
  Get(cookie, "/api/devices/phone", 404);
  EXPECT_TRUE(Get(cookie, "/api/devices")["devices"].empty());
  EXPECT_TRUE(Get(cookie, "/api/overview")["devices"].empty()) << "the Overview too";
  // The admin sees both.
  auto [admin, admin_csrf] = As("ana");
  EXPECT_EQ(Get(admin, "/api/devices")["devices"].size(), 2u);
  EXPECT_EQ(Get(admin, "/api/devices/laptop")["name"], "laptop");
}

TEST_F(WebPagesTest, JobsArePagedByKeysetAndActionsAreAudited) {
  for (int i = 1; i <= 120; ++i) {
    pb::JobInfo j;
    j.set_job_id(i);
    j.set_state(i % 10 == 0 ? pb::JOB_STATE_DEAD : pb::JOB_STATE_QUEUED);
    j.set_destination(i % 2 ? "nas" : "s3");
    j.set_path("/p/<b>" + std::to_string(i));
    j.set_last_error(i % 10 == 0 ? "403 Forbidden" : "");
    fake_.jobs.push_back(j);
  }
  auto [cookie, csrf] = As("ana");
  json p1 = Get(cookie, "/api/jobs");
  ASSERT_EQ(p1["jobs"].size(), 50u);
  EXPECT_EQ(p1["jobs"][0]["job_id"], 1);
  EXPECT_EQ(p1["next_after"], 50);
  EXPECT_EQ(p1["jobs"][0]["path"], "/p/<b>1");  // as text; the page sets textContent
  json p3 = Get(cookie, "/api/jobs?after=100");
  EXPECT_EQ(p3["jobs"].size(), 20u);
  EXPECT_EQ(p3["next_after"], 0);
  // Each page asks the coordinator for one page (and one more row), never all.
  for (uint32_t limit : fake_.list_jobs_limits) EXPECT_EQ(limit, kJobsPageSize + 1u);
  json dead = Get(cookie, "/api/jobs?state=dead&destination=s3");
  ASSERT_EQ(dead["jobs"].size(), 12u);
  EXPECT_EQ(dead["jobs"][0]["state"], "dead");
  EXPECT_EQ(dead["jobs"][0]["last_error"], "403 Forbidden");
  Get(cookie, "/api/jobs?state=sleeping", 400);
  Get(cookie, "/api/jobs?after=x", 400);

  auto cancel = Post(cookie, csrf, "/api/jobs/cancel", json{{"job_ids", {3}}});
  ASSERT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_EQ(json::parse(cancel->body)["affected"], 1);
  EXPECT_EQ(fake_.jobs[2].state(), pb::JOB_STATE_CANCELLED);
  EXPECT_EQ(Post(cookie, csrf, "/api/jobs/retry", json{{"job_ids", {3, 10}}})->status, 200);
  EXPECT_EQ(fake_.jobs[9].state(), pb::JOB_STATE_QUEUED);
  EXPECT_EQ(
      Post(cookie, csrf, "/api/jobs/priority", json{{"job_ids", {7}}, {"priority", 100}})->status,
      200);
  EXPECT_EQ(fake_.jobs[6].priority(), 100);
  EXPECT_EQ(
      Post(cookie, csrf, "/api/jobs/priority", json{{"job_ids", {7}}, {"priority", 5000}})->status,
      400);
  EXPECT_EQ(Post(cookie, csrf, "/api/jobs/cancel", json{{"job_ids", json::array()}})->status, 400);
  EXPECT_EQ(Post(cookie, csrf, "/api/jobs/cancel", json{{"job_ids", {"1"}}})->status, 400);
  const std::vector<std::string> audits = fake_.Audits();
  for (const char* want : {"WebCancelJobs ana jobs 3 allowed", "WebRetryJobs ana jobs 3,10 allowed",
                           "WebPrioritizeJobs ana jobs 7 allowed"}) {
    EXPECT_NE(std::find(audits.begin(), audits.end(), want), audits.end()) << want;
  }
}

TEST_F(WebPagesTest, EveryNewPostNeedsTheCsrfToken) {
  fake_.paused["nas"] = 0;
  fake_.jobs.emplace_back().set_job_id(1);
  auto [cookie, csrf] = As("ana");
  const std::vector<std::pair<std::string, json>> posts = {
      {"/api/devices/enroll", json{{"device", "tablet"}}},
      {"/api/destinations/pause", json{{"name", "nas"}, {"paused", true}}},
      {"/api/jobs/cancel", json{{"job_ids", {1}}}},
      {"/api/jobs/retry", json{{"job_ids", {1}}}},
      {"/api/jobs/priority", json{{"job_ids", {1}}, {"priority", 1}}},
  };
  for (const auto& [path, body] : posts) {
    EXPECT_EQ(Post(cookie, "", path, body)->status, 403) << path;
    EXPECT_EQ(Post(cookie, std::string(64, '0'), path, body)->status, 403) << path;
  }
  EXPECT_EQ(fake_.paused["nas"], 0) << "nothing changed";
  // On one kept-alive connection (as a browser sends them), a refused POST
  // with a body leaves the next request intact.
  auto kept = Client();
  kept->set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    for (const auto& [path, body] : posts) {
      auto r = kept->Post(path, {{"Cookie", cookie}}, body.dump(), "application/json");
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 403) << path << " round " << i << ": " << r->body;
    }
  }
  EXPECT_EQ(fake_.jobs[0].state(), pb::JOB_STATE_UNSPECIFIED);
  for (const auto& [path, body] : posts) {
    EXPECT_EQ(Post(cookie, csrf, path, body)->status, 200) << path;
  }
}

TEST_F(WebPagesTest, DestinationsPauseResumeAndEnrollADevice) {
  fake_.paused["nas"] = 0;
  auto* dest = fake_.status.add_destinations();
  dest->set_name("nas");
  dest->set_oldest_pending_unix_ms(5);
  dest->set_oldest_pending_reason("waiting for a worker that serves local");
  auto [cookie, csrf] = As("ana");
  json d = Get(cookie, "/api/destinations");
  ASSERT_EQ(d["destinations"].size(), 1u);
  EXPECT_EQ(d["destinations"][0]["paused_unix_ms"], 0);
  EXPECT_EQ(d["destinations"][0]["oldest_pending_reason"],
            "waiting for a worker that serves local");
  EXPECT_EQ(Post(cookie, csrf, "/api/destinations/pause", json{{"name", "nas"}, {"paused", true}})
                ->status,
            200);
  EXPECT_GT(Get(cookie, "/api/destinations")["destinations"][0]["paused_unix_ms"], 0);
  EXPECT_EQ(Post(cookie, csrf, "/api/destinations/pause", json{{"name", "nas"}, {"paused", false}})
                ->status,
            200);
  EXPECT_EQ(fake_.paused["nas"], 0);
  EXPECT_EQ(Post(cookie, csrf, "/api/destinations/pause", json{{"name", "nope"}, {"paused", true}})
                ->status,
            404);
  auto e = Post(cookie, csrf, "/api/devices/enroll", json{{"device", "tablet"}});
  ASSERT_EQ(e->status, 200) << e->body;
  json t = json::parse(e->body);
  EXPECT_EQ(t["token"], "tok-tablet");
  EXPECT_EQ(t["command"], "shoebox-agent enroll --coordinator coord.example:7443 --token -");
  EXPECT_EQ(Post(cookie, csrf, "/api/devices/enroll", json{{"device", "<x>"}})->status, 400);
  const std::vector<std::string> audits = fake_.Audits();
  for (const char* want :
       {"WebPauseDestination ana nas allowed", "WebResumeDestination ana nas allowed",
        "WebEnrollDevice ana tablet allowed", "WebEnrollDevice ana <x> refused"}) {
    EXPECT_NE(std::find(audits.begin(), audits.end(), want), audits.end()) << want;
  }
}

TEST_F(WebPagesTest, ActivityIsTheAuditLogNewestFirstByPages) {
  {
    std::lock_guard<std::mutex> l(fake_.mu);
    for (int i = 0; i < 70; ++i) fake_.audits.push_back("Entry" + std::to_string(i));
  }
  auto [cookie, csrf] = As("ana");  // adds entry 71: the log-in
  json p1 = Get(cookie, "/api/activity");
  ASSERT_EQ(p1["entries"].size(), 50u);
  EXPECT_EQ(p1["entries"][0]["id"], 71);
  EXPECT_TRUE(absl::StrContains(p1["entries"][0]["action"].get<std::string>(), "WebLogin"));
  EXPECT_EQ(p1["next_before"], 22);
  json p2 = Get(cookie, "/api/activity?before=22");
  ASSERT_EQ(p2["entries"].size(), 21u);
  EXPECT_EQ(p2["entries"][0]["id"], 21);
  EXPECT_EQ(p2["next_before"], 0);
}

TEST_F(WebPagesTest, PagesNeedASessionAndShareTheNavigation) {
  for (const char* page : {"/devices", "/destinations", "/jobs", "/activity"}) {
    auto r = Client()->Get(page);
    ASSERT_TRUE(r) << page;
    EXPECT_EQ(r->status, 303) << page;
  }
  for (const char* api :
       {"/api/devices", "/api/devices/phone", "/api/destinations", "/api/jobs", "/api/activity"}) {
    EXPECT_EQ(Client()->Get(api)->status, 401) << api;
  }
  auto [cookie, csrf] = As("ana");
  for (const char* page : {"/devices", "/destinations", "/jobs", "/activity", "/"}) {
    auto r = Client()->Get(page, {{"Cookie", cookie}});
    ASSERT_TRUE(r) << page;
    EXPECT_EQ(r->status, 200) << page;
    for (const char* link : {"href=\"/devices\"", "href=\"/jobs\"", "href=\"/activity\""}) {
      EXPECT_TRUE(absl::StrContains(r->body, link)) << page << " " << link;
    }
  }
}

}  // namespace
}  // namespace shoebox::cli::web
