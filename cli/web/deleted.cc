#include "cli/web/deleted.h"

#include <algorithm>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

json RequestJson(const pb::RestoreRequestInfo& r) {
  return json{{"id", r.id()},
              {"device", PrintablePath(r.device())},
              {"path", PrintablePath(r.path())},
              {"version_id", r.version_id()},
              {"state", r.state()},
              {"reason", PrintablePath(r.reason())},
              {"requested_by", PrintablePath(r.requested_by())},
              {"created_unix_ms", r.created_unix_ms()},
              {"finished_unix_ms", r.finished_unix_ms()},
              {"restored_path", PrintablePath(r.restored_path())}};
}

class DeletedPage {
 public:
  explicit DeletedPage(PageDeps d) : d_(std::move(d)) {}

  std::optional<Session> Need(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = d_.session(req);
    if (!s) Fail(res, 401, "not logged in");
    return s;
  }

  absl::StatusOr<std::optional<std::vector<std::string>>> Visible(const Session& s) {
    return VisibleDevices(d_.link, s);
  }

  void List(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = Need(req, res);
    if (!s) return;
    auto visible = Visible(*s);
    if (!visible.ok()) return Fail(res, 502, std::string(visible.status().message()));
    pb::ListDeletedRequest lr;
    int64_t us = 0, id = 0;
    if (const std::string a = req.get_param_value("before_us");
        !a.empty() && (!absl::SimpleAtoi(a, &us) || us < 0)) {
      return Fail(res, 400, "before_us: next_before_us of the previous page");
    }
    if (const std::string a = req.get_param_value("before_id");
        !a.empty() && (!absl::SimpleAtoi(a, &id) || id < 0)) {
      return Fail(res, 400, "before_id: next_before_id of the previous page");
    }
    lr.set_before_deleted_unix_us(us);
    lr.set_before_version_id(id);
    lr.set_limit(kDeletedPageSize);
    if (visible->has_value()) {
      // A member with no device sees nothing (an empty list means "all").
      if ((*visible)->empty()) {
        return Send(res, 200,
                    json{{"files", json::array()}, {"next_before_us", 0}, {"next_before_id", 0}});
      }
      for (const std::string& dev : **visible) lr.add_devices(dev);
    }
    pb::ListDeletedResponse r;
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->ListDeleted(ctx.get(), lr, &r);
    if (!g.ok()) return Fail(res, 502, "cannot list deleted files: " + g.error_message());
    json files = json::array();
    for (const pb::DeletedFile& f : r.files()) {
      json j{{"device", PrintablePath(f.device())},
             {"device_name", f.device()},
             {"folder", PrintablePath(f.folder())},
             {"path", PrintablePath(f.path())},
             {"folder_hex", ToHex(f.folder())},
             {"path_hex", ToHex(f.path())},
             {"version_id", f.version_id()},
             {"deleted_unix_ms", f.deleted_unix_ms()},
             {"size", f.size()},
             {"mtime_unix_ms", f.mtime_ns() / 1000000},
             {"days_left", f.days_left()},
             {"expires_unix_ms", f.expires_unix_ms()}};
      j["restore"] = f.restore().id() != 0 ? RequestJson(f.restore()) : json(nullptr);
      files.push_back(std::move(j));
    }
    Send(res, 200,
         json{{"files", files},
              {"next_before_us", r.next_before_deleted_unix_us()},
              {"next_before_id", r.next_before_version_id()}});
  }

  void Restore(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = Need(req, res);
    if (!s) return;
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("device") || !body["device"].is_string() ||
        !body.contains("path_hex") || !body["path_hex"].is_string() ||
        !body.contains("folder_hex") || !body["folder_hex"].is_string() ||
        !body.contains("version_id") || !body["version_id"].is_number_integer()) {
      return Fail(res, 400,
                  "send {\"device\", \"folder_hex\", \"path_hex\", \"version_id\"} of a row of "
                  "GET /api/deleted");
    }
    const std::string device = body["device"].get<std::string>();
    auto folder = FromHex(body["folder_hex"].get<std::string>());
    auto path = FromHex(body["path_hex"].get<std::string>());
    if (!folder.ok() || !path.ok() || path->empty()) {
      return Fail(res, 400, "folder_hex, path_hex: hex bytes as GET /api/deleted gives them");
    }
    auto visible = Visible(*s);
    if (!visible.ok()) return Fail(res, 502, std::string(visible.status().message()));
    if (visible->has_value() &&
        std::find((*visible)->begin(), (*visible)->end(), device) == (*visible)->end()) {
      d_.audit(s->account, "WebRestoreRequest", device + ":" + PrintablePath(*path), false,
               "device not bound to this account");
      return Fail(res, 403,
                  absl::StrCat("device ", PrintablePath(device),
                               " is not among this account's devices: only its owner or an admin "
                               "can restore its files"));
    }
    pb::RequestRestoreRequest rr;
    rr.set_device(device);
    rr.set_folder(*folder);
    rr.set_path(*path);
    rr.set_version_id(body["version_id"].get<int64_t>());
    rr.set_requested_by("web:" + s->account);
    pb::RestoreRequestInfo info;
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->RequestRestore(ctx.get(), rr, &info);
    d_.audit(s->account, "WebRestoreRequest", device + ":" + PrintablePath(*path), g.ok(),
             g.ok() ? absl::StrCat("request ", info.id()) : g.error_message());
    if (!g.ok()) {
      int code = 502;
      if (g.error_code() == grpc::StatusCode::INVALID_ARGUMENT) code = 400;
      if (g.error_code() == grpc::StatusCode::NOT_FOUND) code = 404;
      if (g.error_code() == grpc::StatusCode::FAILED_PRECONDITION) code = 409;
      return Fail(res, code, "cannot restore " + PrintablePath(*path) + ": " + g.error_message());
    }
    Send(res, 200, RequestJson(info));
  }

  void States(const httplib::Request& req, httplib::Response& res) {
    std::optional<Session> s = Need(req, res);
    if (!s) return;
    pb::ListRestoreRequestsRequest lr;
    for (absl::string_view part :
         absl::StrSplit(req.get_param_value("ids"), ',', absl::SkipEmpty())) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(part, &id) || id <= 0 || lr.ids_size() >= 200) {
        return Fail(res, 400, "ids: up to 200 request IDs, comma-separated");
      }
      lr.add_ids(id);
    }
    auto visible = Visible(*s);
    if (!visible.ok()) return Fail(res, 502, std::string(visible.status().message()));
    if (visible->has_value()) {
      if ((*visible)->empty()) return Send(res, 200, json{{"requests", json::array()}});
      for (const std::string& dev : **visible) lr.add_devices(dev);
    }
    lr.set_limit(200);
    pb::ListRestoreRequestsResponse r;
    auto ctx = d_.link.context();
    grpc::Status g = d_.link.stub->ListRestoreRequests(ctx.get(), lr, &r);
    if (!g.ok()) return Fail(res, 502, "cannot read restore requests: " + g.error_message());
    json out = json::array();
    for (const pb::RestoreRequestInfo& i : r.requests()) out.push_back(RequestJson(i));
    Send(res, 200, json{{"requests", out}});
  }

  PageDeps d_;
};

}  // namespace

void RegisterDeletedPage(httplib::Server& http, PageDeps deps) {
  auto p = std::make_shared<DeletedPage>(std::move(deps));
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  http.Get("/deleted", [p](Req, Res res) { p->d_.serve_asset("deleted.html", res); });
  http.Get("/api/deleted", [p](Req req, Res res) { p->List(req, res); });
  http.Post("/api/deleted/restore", [p](Req req, Res res) {
    if (p->d_.allow_state_change(req, res)) p->Restore(req, res);
  });
  http.Get("/api/restores", [p](Req req, Res res) { p->States(req, res); });
}

}  // namespace shoebox::cli::web
