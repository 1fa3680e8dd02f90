// The Recently deleted page (issue 22, docs/web.md "Recently deleted"):
// files deleted on a device within the retention window, newest first, and
// a Restore button that asks the device's agent to put the file back.
// A member sees and restores only its bound devices' files: the list is
// asked for with exactly those devices, a restore or request naming another
// device is refused with 403, and a member with no device sees nothing.
//
//   GET  /deleted                        the page
//   GET  /api/deleted?before_us=U&before_id=V   one page (keyset, 50 files)
//   POST /api/deleted/restore            {"device", "folder_hex", "path_hex", "version_id"}
//   GET  /api/restores?ids=1,2,3         the states of these requests
#pragma once

#include <httplib.h>

#include "cli/web/pages.h"

namespace shoebox::cli::web {

inline constexpr int kDeletedPageSize = 50;

// Uses the same dependencies as RegisterPages (the session, CSRF check,
// audit, assets and the coordinator link).
void RegisterDeletedPage(httplib::Server& http, PageDeps deps);

}  // namespace shoebox::cli::web
