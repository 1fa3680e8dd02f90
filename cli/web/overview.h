// The Overview page's data (GET /api/overview and the `overview` events of
// GET /api/events, docs/web.md): what GetStatus returns, shaped for the page
// and cut to what the session may see. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "shoebox/v1/admin.pb.h"

namespace shoebox::cli::web {

// Who is looking: an admin sees the whole library; a member only the
// devices bound to its account (and no library-wide numbers).
struct ViewScope {
  bool admin = false;
  std::vector<std::string> devices;
};

// {
//   "scope": "admin" | "member",
//   "copies": {"none", "one", "two", "three_plus", "total",          (admin)
//              "at_least_1", "at_least_2", "at_least_3"},
//   "devices": [{"name", "last_seen_unix_ms", "files", "bytes",
//                "pending_uploads", "pending_upload_bytes", "upload_rate_bps",
//                "awaiting_chunks", "deliveries": {...counts}}],
//   "destinations": [{"name", "kind", "health", "delivered_files",       (admin)
//                     "delivered_bytes", "pending_files", "in_flight_files",
//                     "failed_files", "dead_files", "last_verified_unix_ms",
//                     "oldest_pending_unix_ms", "oldest_pending_reason"}],
//   "problems": [{"kind", "device", "destination", "message"}],         (admin)
//   "store": {"chunks", "chunk_bytes", "stored_bytes", "duplicate_files",  (admin)
//             "damaged_chunks", "last_verify_unix_ms"}
// }
// Copies: "one" is files with exactly one good copy (at_least_1 minus
// at_least_2), and so on; "three_plus" is at_least_3. Every text that a
// device, worker or service chose passes through PrintablePath.
nlohmann::json OverviewJson(const shoebox::v1::StatusResponse& status, const ViewScope& scope);

// JSON text that never throws on invalid UTF-8 (replaced by U+FFFD).
std::string DumpJson(const nlohmann::json& j);

}  // namespace shoebox::cli::web
