#include "cli/web/pages.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/web/overview.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli::web {

namespace {

using nlohmann::json;
namespace pb = shoebox::v1;

void Send(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(DumpJson(j), "application/json");
}
void Fail(httplib::Response& res, int status, const std::string& message) {
  Send(res, status, json{{"error", message}});
}
std::string Text(const std::string& raw) { return PrintablePath(raw); }

struct StateName {
  pb::JobState state;
  const char* name;
};
constexpr StateName kStates[] = {
    {pb::JOB_STATE_QUEUED, "queued"}, {pb::JOB_STATE_LEASED, "running"},
    {pb::JOB_STATE_DONE, "done"},     {pb::JOB_STATE_RETRY_WAIT, "retrying"},
    {pb::JOB_STATE_DEAD, "dead"},     {pb::JOB_STATE_CANCELLED, "cancelled"},
};
std::string StateText(pb::JobState s) {
  for (const StateName& n : kStates) {
    if (n.state == s) return n.name;
  }
  return "unknown";
}
std::string KindText(pb::JobKind k) {
  switch (k) {
    case pb::JOB_KIND_DELIVER:
      return "deliver";
    case pb::JOB_KIND_VERIFY:
      return "verify";
    case pb::JOB_KIND_SCRUB:
      return "scrub";
    case pb::JOB_KIND_TRANSFER:
      return "transfer";
    case pb::JOB_KIND_SNAPSHOT:
      return "snapshot";
    default:
      return "check";
  }
}

class Pages {
 public:
  explicit Pages(PageDeps d) : d_(std::move(d)) {}

  // The session, or nullopt with 401 sent.
  std::optional<Session> Need(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = d_.session(req);
    if (!s) Fail(res, 401, "not logged in");
    return s;
  }
  // The admin session, or nullopt with 401/403 sent.
  std::optional<Session> NeedAdmin(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = Need(req, res);
    if (s && s->role != "admin") {
      Fail(res, 403, "only an admin account sees this page");
      return std::nullopt;
    }
    return s;
  }
  absl::StatusOr<std::optional<std::vector<std::string>>> Visible(const Session& s) {
    return VisibleDevices(d_.link, s);
  }

  void Devices(const httplib::Request& req, httplib::Response& res, const std::string& only);
  void Enroll(const httplib::Request& req, httplib::Response& res);
  void Destinations(const httplib::Request& req, httplib::Response& res);
  void Pause(const httplib::Request& req, httplib::Response& res);
  void Jobs(const httplib::Request& req, httplib::Response& res);
  void JobAction(const httplib::Request& req, httplib::Response& res, const std::string& action);
  void Activity(const httplib::Request& req, httplib::Response& res);

  PageDeps d_;
};

void Pages::Devices(const httplib::Request& req, httplib::Response& res, const std::string& only) {
  std::optional<Session> s = Need(req, res);
  if (!s) return;
  auto visible = Visible(*s);
  if (!visible.ok()) return Fail(res, 502, std::string(visible.status().message()));
  auto sees = [&](const std::string& name) {
    return !visible->has_value() ||
           std::find((*visible)->begin(), (*visible)->end(), name) != (*visible)->end();
  };
  if (!only.empty() && !sees(only)) {
    // Not "forbidden": a member does not learn whether another device exists.
    return Fail(res, 404, absl::StrCat("no device ", Text(only), " among this account's devices"));
  }
  pb::StatusResponse st;
  pb::ListDevicesResponse list;
  {
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!g.ok())
      return Fail(res, 502, "the coordinator did not answer GetStatus: " + g.error_message());
  }
  {
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->ListDevices(ctx.get(), pb::ListDevicesRequest(), &list);
    if (!g.ok())
      return Fail(res, 502, "the coordinator did not answer ListDevices: " + g.error_message());
  }
  std::map<std::string, const pb::Device*> by_name;
  for (const pb::Device& d : list.devices()) by_name[d.name()] = &d;
  json scope_devices = OverviewJson(st, ViewScope{true, {}})["devices"];  // every device's counts
  json out = json::array();
  for (size_t i = 0; i < static_cast<size_t>(st.devices_size()); ++i) {
    const std::string& name = st.devices(static_cast<int>(i)).name();
    if (!sees(name) || (!only.empty() && name != only)) continue;
    json d = scope_devices[i];
    d["folders"] = json::array();
    d["revoked"] = false;
    d["hostname"] = "";
    if (auto it = by_name.find(name); it != by_name.end()) {
      for (const std::string& f : it->second->folders()) d["folders"].push_back(Text(f));
      d["revoked"] = it->second->revoked();
      d["hostname"] = Text(it->second->hostname());
    }
    out.push_back(std::move(d));
  }
  if (!only.empty()) {
    if (out.empty()) return Fail(res, 404, absl::StrCat("no device ", Text(only)));
    return Send(res, 200, out[0]);
  }
  Send(res, 200, json{{"devices", out}, {"can_enroll", s->role == "admin"}});
}

void Pages::Enroll(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = NeedAdmin(req, res);
  if (!s) return;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("device") || !body["device"].is_string() ||
      body["device"].get<std::string>().empty()) {
    return Fail(res, 400, "send {\"device\": \"NAME\"}: the new device's name");
  }
  pb::CreateEnrollTokenRequest er;
  er.set_device(body["device"].get<std::string>());
  er.set_ttl_seconds(86400);
  pb::CreateEnrollTokenResponse r;
  auto ctx = d_.link.context();
  grpc::Status g = d_.link.stub->CreateEnrollToken(ctx.get(), er, &r);
  d_.audit(s->account, "WebEnrollDevice", er.device(), g.ok(),
           g.ok() ? "token created" : g.error_message());
  if (!g.ok()) {
    return Fail(
        res, g.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 400 : 502,
        "cannot create an enroll token for " + Text(er.device()) + ": " + g.error_message());
  }
  Send(res, 200,
       json{{"device", er.device()},
            {"token", r.token()},
            {"expires_unix_ms", r.expires_unix_ms()},
            {"command", absl::StrCat("shoebox-agent enroll --coordinator ", d_.coordinator_address,
                                     " --token -")}});
}

void Pages::Destinations(const httplib::Request& req, httplib::Response& res) {
  if (!NeedAdmin(req, res)) return;
  pb::StatusResponse st;
  pb::ListDestinationsResponse list;
  {
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->GetStatus(ctx.get(), pb::GetStatusRequest(), &st);
    if (!g.ok())
      return Fail(res, 502, "the coordinator did not answer GetStatus: " + g.error_message());
  }
  {
    auto ctx = d_.link.context();
    grpc::Status g =
        d_.link.stub->ListDestinations(ctx.get(), pb::ListDestinationsRequest(), &list);
    if (!g.ok()) {
      return Fail(res, 502,
                  "the coordinator did not answer ListDestinations: " + g.error_message());
    }
  }
  std::map<std::string, int64_t> paused;
  for (const pb::Destination& d : list.destinations()) paused[d.name()] = d.paused_unix_ms();
  json out = OverviewJson(st, ViewScope{true, {}})["destinations"];
  for (json& d : out) {
    auto it = paused.find(d["name"].get<std::string>());
    d["paused_unix_ms"] = it == paused.end() ? 0 : it->second;
  }
  Send(res, 200, json{{"destinations", out}});
}

void Pages::Pause(const httplib::Request& req, httplib::Response& res) {
  std::optional<Session> s = NeedAdmin(req, res);
  if (!s) return;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string() ||
      !body.contains("paused") || !body["paused"].is_boolean()) {
    return Fail(res, 400, "send {\"name\": \"DESTINATION\", \"paused\": true|false}");
  }
  pb::PauseDestinationRequest pr;
  pr.set_name(body["name"].get<std::string>());
  pr.set_paused(body["paused"].get<bool>());
  pb::Destination r;
  auto ctx = d_.link.context();
  grpc::Status g = d_.link.stub->PauseDestination(ctx.get(), pr, &r);
  d_.audit(s->account, pr.paused() ? "WebPauseDestination" : "WebResumeDestination", pr.name(),
           g.ok(), g.ok() ? "" : g.error_message());
  if (!g.ok()) {
    return Fail(res, g.error_code() == grpc::StatusCode::NOT_FOUND ? 404 : 502,
                "cannot " + std::string(pr.paused() ? "pause " : "resume ") + Text(pr.name()) +
                    ": " + g.error_message());
  }
  Send(res, 200, json{{"name", r.name()}, {"paused_unix_ms", r.paused_unix_ms()}});
}

void Pages::Jobs(const httplib::Request& req, httplib::Response& res) {
  if (!NeedAdmin(req, res)) return;
  pb::ListJobsRequest lr;
  const std::string state = req.get_param_value("state");
  if (!state.empty()) {
    bool known = false;
    for (const StateName& n : kStates) {
      if (state == n.name) {
        lr.add_states(n.state);
        known = true;
      }
    }
    if (!known) {
      return Fail(res, 400,
                  "state: one of queued, running, retrying, dead, done, cancelled (or none)");
    }
  }
  lr.set_destination(req.get_param_value("destination"));
  int64_t after = 0;
  if (const std::string a = req.get_param_value("after");
      !a.empty() && (!absl::SimpleAtoi(a, &after) || after < 0)) {
    return Fail(res, 400, "after: the last job ID of the previous page");
  }
  lr.set_after_job_id(after);
  lr.set_limit(kJobsPageSize + 1);  // one more tells whether a next page exists
  pb::ListJobsResponse r;
  auto ctx = d_.link.context();
  grpc::Status g = d_.link.stub->ListJobs(ctx.get(), lr, &r);
  if (!g.ok()) {
    return Fail(res, g.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 400 : 502,
                "cannot list jobs: " + g.error_message());
  }
  json jobs = json::array();
  int64_t next = 0;
  for (int i = 0; i < r.jobs_size(); ++i) {
    if (i == kJobsPageSize) {
      next = r.jobs(i - 1).job_id();
      break;
    }
    const pb::JobInfo& j = r.jobs(i);
    jobs.push_back(json{{"job_id", j.job_id()},
                        {"kind", KindText(j.kind())},
                        {"state", StateText(j.state())},
                        {"destination", Text(j.destination())},
                        {"device", Text(j.device())},
                        {"path", Text(j.path())},
                        {"attempts", j.attempts()},
                        {"last_error", Text(j.last_error())},
                        {"waiting_reason", Text(j.waiting_reason())},
                        {"next_attempt_unix_ms", j.next_attempt_unix_ms()},
                        {"created_unix_ms", j.created_unix_ms()},
                        {"priority", j.priority()}});
  }
  Send(res, 200, json{{"jobs", jobs}, {"next_after", next}});
}

void Pages::JobAction(const httplib::Request& req, httplib::Response& res,
                      const std::string& action) {
  std::optional<Session> s = NeedAdmin(req, res);
  if (!s) return;
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("job_ids") || !body["job_ids"].is_array() ||
      body["job_ids"].empty() || body["job_ids"].size() > 1000) {
    return Fail(res, 400, "send {\"job_ids\": [ID, ...]} (1 to 1000 jobs)");
  }
  pb::JobSelector sel;
  for (const json& id : body["job_ids"]) {
    if (!id.is_number_integer() || id.get<int64_t>() <= 0) {
      return Fail(res, 400, "job_ids: positive job IDs");
    }
    sel.add_job_ids(id.get<int64_t>());
  }
  pb::JobActionResponse r;
  grpc::Status g;
  std::string audit_action, detail;
  auto ctx = d_.link.context();
  if (action == "cancel") {
    audit_action = "WebCancelJobs";
    g = d_.link.stub->CancelJobs(ctx.get(), sel, &r);
  } else if (action == "retry") {
    audit_action = "WebRetryJobs";
    g = d_.link.stub->RetryJobs(ctx.get(), sel, &r);
  } else {
    audit_action = "WebPrioritizeJobs";
    if (!body.contains("priority") || !body["priority"].is_number_integer() ||
        body["priority"].get<int64_t>() < -1000 || body["priority"].get<int64_t>() > 1000) {
      return Fail(res, 400, "priority: a whole number from -1000 to 1000 (higher goes first)");
    }
    pb::SetJobPriorityRequest pr;
    *pr.mutable_selector() = sel;
    pr.set_priority(static_cast<int32_t>(body["priority"].get<int64_t>()));
    detail = absl::StrCat("priority=", pr.priority(), " ");
    g = d_.link.stub->SetJobPriority(ctx.get(), pr, &r);
  }
  std::string ids;
  for (int64_t id : sel.job_ids()) absl::StrAppend(&ids, ids.empty() ? "" : ",", id);
  if (ids.size() > 150) ids = ids.substr(0, 150) + "...";
  d_.audit(s->account, audit_action, "jobs " + ids, g.ok(),
           g.ok() ? absl::StrCat(detail, "affected=", r.affected()) : g.error_message());
  if (!g.ok()) {
    return Fail(res, g.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 400 : 502,
                "cannot " + action + " the jobs: " + g.error_message());
  }
  Send(res, 200, json{{"affected", r.affected()}});
}

void Pages::Activity(const httplib::Request& req, httplib::Response& res) {
  if (!NeedAdmin(req, res)) return;
  int64_t before = 0;
  if (const std::string b = req.get_param_value("before");
      !b.empty() && (!absl::SimpleAtoi(b, &before) || before < 0)) {
    return Fail(res, 400, "before: the last entry ID of the previous page");
  }
  pb::ListAuditLogRequest lr;
  lr.set_before_id(before);
  lr.set_limit(kActivityPageSize + 1);
  pb::ListAuditLogResponse r;
  auto ctx = d_.link.context();
  grpc::Status g = d_.link.stub->ListAuditLog(ctx.get(), lr, &r);
  if (!g.ok()) return Fail(res, 502, "cannot read the audit log: " + g.error_message());
  json entries = json::array();
  int64_t next = 0;
  for (int i = 0; i < r.entries_size(); ++i) {
    if (i == kActivityPageSize) {
      next = r.entries(i - 1).id();
      break;
    }
    const pb::AuditLogEntry& e = r.entries(i);
    entries.push_back(json{{"id", e.id()},
                           {"unix_ms", e.unix_ms()},
                           {"actor_kind", Text(e.actor_kind())},
                           {"actor", Text(e.actor())},
                           {"action", Text(e.action())},
                           {"target", Text(e.target())},
                           {"allowed", e.allowed()},
                           {"detail", Text(e.detail())},
                           {"count", e.count()}});
  }
  Send(res, 200, json{{"entries", entries}, {"next_before", next}});
}

}  // namespace

absl::StatusOr<std::optional<std::vector<std::string>>> VisibleDevices(const CoordinatorLink& link,
                                                                       const Session& s) {
  if (s.role == "admin") return std::optional<std::vector<std::string>>();
  pb::GetWebAccountCredentialRequest req;
  req.set_name(s.account);
  pb::WebAccountCredential r;
  auto ctx = link.context();
  grpc::Status st = link.stub->GetWebAccountCredential(ctx.get(), req, &r);
  if (!st.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the coordinator did not answer: ", st.error_message()));
  }
  return std::optional<std::vector<std::string>>(
      std::vector<std::string>(r.account().devices().begin(), r.account().devices().end()));
}

void RegisterPages(httplib::Server& http, PageDeps deps) {
  auto p = std::make_shared<Pages>(std::move(deps));
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  for (const char* page : {"devices", "destinations", "jobs", "activity"}) {
    const std::string asset = std::string(page) + ".html";
    http.Get(std::string("/") + page, [p, asset](Req, Res res) { p->d_.serve_asset(asset, res); });
  }
  http.Get("/api/devices", [p](Req req, Res res) { p->Devices(req, res, ""); });
  http.Post("/api/devices/enroll", [p](Req req, Res res) {
    if (p->d_.allow_state_change(req, res)) p->Enroll(req, res);
  });
  http.Get("/api/devices/([A-Za-z0-9._@-]+)",
           [p](Req req, Res res) { p->Devices(req, res, req.matches[1]); });
  http.Get("/api/destinations", [p](Req req, Res res) { p->Destinations(req, res); });
  http.Post("/api/destinations/pause", [p](Req req, Res res) {
    if (p->d_.allow_state_change(req, res)) p->Pause(req, res);
  });
  http.Get("/api/jobs", [p](Req req, Res res) { p->Jobs(req, res); });
  for (const char* action : {"cancel", "retry", "priority"}) {
    const std::string a = action;
    http.Post("/api/jobs/" + a, [p, a](Req req, Res res) {
      if (p->d_.allow_state_change(req, res)) p->JobAction(req, res, a);
    });
  }
  http.Get("/api/activity", [p](Req req, Res res) { p->Activity(req, res); });
}

}  // namespace shoebox::cli::web
