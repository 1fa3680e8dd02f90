// `shoebox status` and `shoebox devices` (docs/cli.md; the JSON fields of
// `status --json` are documented there).
#include <cstdio>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/transfer_cmd.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

json CountsJson(const v1::Counts& c, json j) {
  j["pending_files"] = c.pending_files();
  j["pending_bytes"] = c.pending_bytes();
  j["in_flight_files"] = c.in_flight_files();
  j["in_flight_bytes"] = c.in_flight_bytes();
  j["delivered_files"] = c.delivered_files();
  j["delivered_bytes"] = c.delivered_bytes();
  j["failed_files"] = c.failed_files();
  j["failed_bytes"] = c.failed_bytes();
  j["dead_files"] = c.dead_files();
  j["dead_bytes"] = c.dead_bytes();
  return j;
}

json StatusJson(const v1::StatusResponse& r) {
  json out;
  out["devices"] = json::array();
  for (const auto& d : r.devices()) {
    json j{{"name", d.name()},
           {"last_seen_unix_ms", d.last_seen_unix_ms()},
           {"files", d.files()},
           {"bytes", d.bytes()},
           {"files_awaiting_chunks", d.files_awaiting_chunks()},
           {"agent_files_pending", d.agent_files_pending()},
           {"agent_bytes_pending", d.agent_bytes_pending()},
           {"agent_upload_rate_bps", d.agent_upload_rate_bps()}};
    out["devices"].push_back(CountsJson(d.deliveries(), j));
  }
  out["destinations"] = json::array();
  for (const auto& d : r.destinations()) {
    json j{{"name", d.name()},
           {"kind", d.kind()},
           {"oldest_pending_unix_ms", d.oldest_pending_unix_ms()},
           {"oldest_pending_reason", PrintablePath(d.oldest_pending_reason())},
           {"health", PrintablePath(d.health())},
           {"workers_serving", d.workers_serving()},
           {"last_verified_unix_ms", d.last_verified_unix_ms()}};
    out["destinations"].push_back(CountsJson(d.deliveries(), j));
  }
  out["chunks_stored"] = r.chunks_stored();
  out["chunk_bytes"] = r.chunk_bytes();
  out["stored_bytes"] = r.stored_bytes();
  out["duplicate_files"] = r.duplicate_files();
  out["files_with_1_copy"] = r.files_with_1_copy();
  out["files_with_2_copies"] = r.files_with_2_copies();
  out["files_with_3_copies"] = r.files_with_3_copies();
  out["files_with_no_copy"] = r.files_with_no_copy();
  out["damaged_chunks"] = r.damaged_chunks();
  out["last_verify_unix_ms"] = r.last_verify_unix_ms();
  out["problems"] = json::array();
  for (const auto& p : r.problems()) {
    out["problems"].push_back({{"kind", p.kind()},
                               {"device", p.device()},
                               {"destination", p.destination()},
                               {"message", PrintablePath(p.message())}});
  }
  return out;
}

void PrintStatus(const v1::StatusResponse& r) {
  // Trouble first, one line each (StatusProblems in the coordinator).
  if (!r.problems().empty()) {
    std::printf("Needs attention\n");
    for (const auto& p : r.problems()) std::printf("  !! %s\n", p.message().c_str());
  }
  std::printf("Devices\n");
  if (r.devices().empty()) std::printf("  (none yet: start an agent)\n");
  for (const auto& d : r.devices()) {
    const auto& c = d.deliveries();
    std::printf("  %-20s %8llu files %10s  last seen %s\n", d.name().c_str(),
                (unsigned long long)d.files(), HumanBytes(d.bytes()).c_str(),
                FormatTime(d.last_seen_unix_ms()).c_str());
    if (d.agent_files_pending() || d.files_awaiting_chunks())
      std::printf("  %-20s agent: %llu files (%s) still to upload, %s/s\n", "",
                  (unsigned long long)d.agent_files_pending(),
                  HumanBytes(d.agent_bytes_pending()).c_str(),
                  HumanBytes(d.agent_upload_rate_bps()).c_str());
    std::printf(
        "  %-20s deliveries: %llu pending, %llu in flight, %llu delivered, %llu retrying, "
        "%llu dead\n",
        "", (unsigned long long)c.pending_files(), (unsigned long long)c.in_flight_files(),
        (unsigned long long)c.delivered_files(), (unsigned long long)c.failed_files(),
        (unsigned long long)c.dead_files());
  }
  std::printf("Destinations\n");
  if (r.destinations().empty()) std::printf("  (none yet: shoebox dest add ...)\n");
  for (const auto& d : r.destinations()) {
    const auto& c = d.deliveries();
    std::printf(
        "  %-20s %-7s %llu delivered (%s), %llu pending, %llu in flight, %llu retrying, %llu "
        "dead\n",
        d.name().c_str(), d.kind().c_str(), (unsigned long long)c.delivered_files(),
        HumanBytes(c.delivered_bytes()).c_str(), (unsigned long long)c.pending_files(),
        (unsigned long long)c.in_flight_files(), (unsigned long long)c.failed_files(),
        (unsigned long long)c.dead_files());
    if (d.oldest_pending_unix_ms() > 0)
      std::printf("  %-20s oldest pending since %s: %s\n", "",
                  FormatTime(d.oldest_pending_unix_ms()).c_str(),
                  d.oldest_pending_reason().c_str());
    std::printf("  %-20s last verified %s\n", "", FormatTime(d.last_verified_unix_ms()).c_str());
  }
  std::printf("Chunk store: %llu chunks, %s of data, %s stored; %llu duplicate files stored once\n",
              (unsigned long long)r.chunks_stored(), HumanBytes(r.chunk_bytes()).c_str(),
              HumanBytes(r.stored_bytes()).c_str(), (unsigned long long)r.duplicate_files());
  std::printf(
      "Copies: %llu files with at least 1, %llu with at least 2, %llu with at least 3; "
      "%llu with none\n",
      (unsigned long long)r.files_with_1_copy(), (unsigned long long)r.files_with_2_copies(),
      (unsigned long long)r.files_with_3_copies(), (unsigned long long)r.files_with_no_copy());
  std::printf(
      "Verification: last run %s; %llu damaged chunks%s\n",
      FormatTime(r.last_verify_unix_ms()).c_str(), (unsigned long long)r.damaged_chunks(),
      r.damaged_chunks() ? " (`shoebox verify --scrub-percent 0` lists them and the files)" : "");
}

// --watch: one channel (one TLS handshake) for every refresh, so a script
// or a terminal polling several times a second costs the coordinator an
// RPC, not a new client process each time.
int ShowStatus(AdminClient& client, bool json_out, double watch_s) {
  for (;;) {
    v1::StatusResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->GetStatus(ctx.get(), v1::GetStatusRequest(), &r);
    if (!s.ok() && watch_s <= 0) return FailRpc(s, "status");
    if (!s.ok()) {
      // Watching across a coordinator restart: say so, keep trying.
      std::fprintf(stderr, "shoebox: status: %s (retrying)\n", s.error_message().c_str());
    } else if (json_out) {
      json out = StatusJson(r);
      // Transfers (issue 21): left out when there are none.
      v1::ListTransfersResponse tr;
      if (ListTransfersForStatus(client, &tr) && tr.transfers_size() > 0) {
        out["transfers"] = TransfersJson(tr);
      }
      std::printf("%s\n", out.dump(watch_s > 0 ? -1 : 2).c_str());
    } else {
      if (watch_s > 0)
        std::printf(
            "--- %s\n",
            absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str());
      PrintStatus(r);
      v1::ListTransfersResponse tr;
      if (ListTransfersForStatus(client, &tr) && tr.transfers_size() > 0) {
        std::printf("transfers:\n");
        PrintTransfers(tr);
      }
    }
    if (watch_s <= 0) return 0;
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 0;  // the reader went away
    absl::SleepFor(absl::Seconds(watch_s));
  }
}

int Devices(AdminClient& client) {
  v1::ListDevicesResponse r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->ListDevices(ctx.get(), v1::ListDevicesRequest(), &r);
  if (!s.ok()) return FailRpc(s, "devices");
  for (const auto& d : r.devices()) {
    std::printf("%-20s host=%s last seen %s%s\n", d.name().c_str(), d.hostname().c_str(),
                FormatTime(d.last_seen_unix_ms()).c_str(), d.revoked() ? " REVOKED" : "");
    for (const auto& f : d.folders()) std::printf("  folder %s\n", PrintablePath(f).c_str());
  }
  return 0;
}

}  // namespace

void RegisterStatusCommands(CLI::App& app, CliContext& ctx) {
  auto watch_s = std::make_shared<double>(0);
  auto* status = app.add_subcommand("status", "delivery state per device and destination");
  status->add_flag("--json", ctx.json(), "print JSON for scripts (fields: docs/cli.md)");
  status
      ->add_option("--watch", *watch_s,
                   "repeat every SECONDS over one connection until interrupted (with --json: "
                   "one JSON object per line)")
      ->check(CLI::Range(0.05, 86400.0));
  ctx.AddAdminHandler(status, [watch_s](CliContext& c, AdminClient& client) {
    return ShowStatus(client, c.json(), *watch_s);
  });

  auto* devices = app.add_subcommand("devices", "list devices");
  ctx.AddAdminHandler(devices, [](CliContext&, AdminClient& client) { return Devices(client); });
}

}  // namespace shoebox::cli
