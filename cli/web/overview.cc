#include "cli/web/overview.h"

#include <algorithm>

#include "common/bytes.h"

namespace shoebox::cli::web {

namespace {

using nlohmann::json;

json CountsJson(const shoebox::v1::Counts& c) {
  return json{{"pending_files", c.pending_files()},
              {"pending_bytes", c.pending_bytes()},
              {"in_flight_files", c.in_flight_files()},
              {"delivered_files", c.delivered_files()},
              {"delivered_bytes", c.delivered_bytes()},
              {"failed_files", c.failed_files()},
              {"dead_files", c.dead_files()}};
}

uint64_t Minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

}  // namespace

json OverviewJson(const shoebox::v1::StatusResponse& r, const ViewScope& scope) {
  json out;
  out["scope"] = scope.admin ? "admin" : "member";
  out["devices"] = json::array();
  for (const auto& d : r.devices()) {
    if (!scope.admin &&
        std::find(scope.devices.begin(), scope.devices.end(), d.name()) == scope.devices.end()) {
      continue;
    }
    out["devices"].push_back(json{{"name", PrintablePath(d.name())},
                                  {"last_seen_unix_ms", d.last_seen_unix_ms()},
                                  {"files", d.files()},
                                  {"bytes", d.bytes()},
                                  {"pending_uploads", d.agent_files_pending()},
                                  {"pending_upload_bytes", d.agent_bytes_pending()},
                                  {"upload_rate_bps", d.agent_upload_rate_bps()},
                                  {"awaiting_chunks", d.files_awaiting_chunks()},
                                  {"deliveries", CountsJson(d.deliveries())}});
  }
  if (!scope.admin) return out;

  const uint64_t at1 = r.files_with_1_copy(), at2 = r.files_with_2_copies(),
                 at3 = r.files_with_3_copies(), none = r.files_with_no_copy();
  out["copies"] = json{{"none", none},      {"one", Minus(at1, at2)}, {"two", Minus(at2, at3)},
                       {"three_plus", at3}, {"total", none + at1},    {"at_least_1", at1},
                       {"at_least_2", at2}, {"at_least_3", at3}};
  out["destinations"] = json::array();
  for (const auto& d : r.destinations()) {
    const auto& c = d.deliveries();
    out["destinations"].push_back(
        json{{"name", PrintablePath(d.name())},
             {"kind", PrintablePath(d.kind())},
             {"health", PrintablePath(d.health())},
             {"delivered_files", c.delivered_files()},
             {"delivered_bytes", c.delivered_bytes()},
             {"pending_files", c.pending_files()},
             {"in_flight_files", c.in_flight_files()},
             {"failed_files", c.failed_files()},
             {"dead_files", c.dead_files()},
             {"workers_serving", d.workers_serving()},
             {"last_verified_unix_ms", d.last_verified_unix_ms()},
             {"oldest_pending_unix_ms", d.oldest_pending_unix_ms()},
             {"oldest_pending_reason", PrintablePath(d.oldest_pending_reason())}});
  }
  out["problems"] = json::array();
  for (const auto& p : r.problems()) {
    out["problems"].push_back(json{{"kind", p.kind()},
                                   {"device", PrintablePath(p.device())},
                                   {"destination", PrintablePath(p.destination())},
                                   {"message", PrintablePath(p.message())}});
  }
  out["store"] = json{
      {"chunks", r.chunks_stored()},          {"chunk_bytes", r.chunk_bytes()},
      {"stored_bytes", r.stored_bytes()},     {"duplicate_files", r.duplicate_files()},
      {"damaged_chunks", r.damaged_chunks()}, {"last_verify_unix_ms", r.last_verify_unix_ms()}};
  return out;
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace shoebox::cli::web
