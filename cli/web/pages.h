// The dashboard's pages after the Overview (issue 22 slice 2, docs/web.md):
// Devices, Destinations, Jobs and Activity, each an HTML page and a JSON API
// under /api/. A member sees only the devices bound to it: the lists are
// cut to them and every request naming a device checks the binding as the
// coordinator has it now (404 for another device). Destinations, Jobs and
// Activity are for admins (403 for a member). Every admin action goes to
// the audit log through RecordWebAudit.
//
//   GET  /devices /destinations /jobs /activity     the pages
//   GET  /api/devices                  devices with folders and counts
//   GET  /api/devices/NAME             one device (its binding checked)
//   POST /api/devices/enroll           {"device"} → {"token", "expires_unix_ms", "command"}
//   GET  /api/destinations             health, counts, why the oldest job waits, paused
//   POST /api/destinations/pause       {"name", "paused": true|false}
//   GET  /api/jobs?state=S&destination=D&after=ID   one page (keyset, 50 jobs)
//   POST /api/jobs/cancel | /api/jobs/retry          {"job_ids": [...]}
//   POST /api/jobs/priority            {"job_ids": [...], "priority": -1000..1000}
//   GET  /api/activity?before=ID       one page of the audit log, newest first
#pragma once

#include <httplib.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "cli/web/server.h"
#include "cli/web/sessions.h"

namespace shoebox::cli::web {

inline constexpr int kJobsPageSize = 50;
inline constexpr int kActivityPageSize = 50;

struct PageDeps {
  CoordinatorLink link;
  std::string coordinator_address;
  std::function<std::optional<Session>(const httplib::Request&)> session;
  std::function<void(const std::string& account, const std::string& action,
                     const std::string& target, bool allowed, const std::string& detail)>
      audit;
  std::function<void(const std::string& name, httplib::Response& res)> serve_asset;
  // The session and CSRF check of every POST here (false: 401/403 sent).
  std::function<bool(const httplib::Request&, httplib::Response&)> allow_state_change;
};

void RegisterPages(httplib::Server& http, PageDeps deps);

// The devices session `s` may see now: nullopt for every device (an admin);
// for a member its binding as the coordinator has it now, read on each call
// so that an unbind applies at once. UNAVAILABLE when the coordinator does
// not answer.
absl::StatusOr<std::optional<std::vector<std::string>>> VisibleDevices(const CoordinatorLink& link,
                                                                       const Session& s);

}  // namespace shoebox::cli::web
