// The status summary (libpqxx 6.4): devices, destinations, deliveries per
// state, the oldest pending job and why it waits. See pg_store.h.
//
// Nothing here scans versions or jobs: counts come from the counter tables
// of migration 14 (kept by triggers, docs/performance.md "A million files")
// and the rest from index range reads, so the cost follows the number of
// devices and destinations, not of files.
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "coordinator/queue_policy.h"
#include "coordinator/store/pg_store.h"

namespace shoebox::coordinator::pg {

std::map<int64_t, DestFacts> LoadDestFacts(Tx& tx, uint32_t worker_stale_ms) {
  std::map<int64_t, DestFacts> out;
  pqxx::result r = tx.exec_params(
      "SELECT d.id, d.name, d.kind, d.max_concurrency, epoch_ms(d.auth_failed_at), "
      "d.auth_error, epoch_ms(d.last_verified_at), "
      "(SELECT count(*) FROM jobs j WHERE j.destination_id = d.id AND j.state = 2), "
      "(SELECT count(*) FROM workers w WHERE w.last_seen > now() - $1::int * interval '1 "
      "millisecond' AND d.kind = ANY(w.kinds) AND (cardinality(w.destinations) = 0 OR d.name = "
      "ANY(w.destinations))), epoch_ms(d.paused_at), d.removed_at IS NOT NULL "
      "FROM destinations d",
      static_cast<int64_t>(worker_stale_ms));
  for (const auto& row : r) {
    DestFacts f;
    f.name = row[1].c_str();
    f.kind = row[2].c_str();
    f.max_concurrency = row[3].as<int64_t>();
    f.auth_failed_ms = row[4].as<int64_t>();
    f.auth_error = row[5].c_str();
    f.last_verified_ms = row[6].as<int64_t>();
    f.running = row[7].as<int64_t>();
    f.serving = row[8].as<int64_t>();
    f.paused_ms = row[9].as<int64_t>();
    f.removed = row[10].as<bool>();
    out[row[0].as<int64_t>()] = f;
  }
  return out;
}

WaitFacts MakeWaitFacts(JobState state, uint32_t attempts, std::string last_error, int64_t next_ms,
                        const DestFacts& d) {
  WaitFacts w;
  w.state = state;
  w.destination = d.name;
  w.destination_kind = d.kind;
  w.attempts = attempts;
  w.last_error = std::move(last_error);
  w.next_attempt_unix_ms = next_ms;
  w.auth_failed_unix_ms = d.auth_failed_ms;
  w.auth_error = d.auth_error;
  w.max_concurrency = d.max_concurrency;
  w.running = d.running;
  w.workers_serving = d.serving;
  w.paused_unix_ms = d.paused_ms;
  return w;
}

namespace {

// Adds `n` jobs of `bytes` in job state `state` (as stored) to the counts
// (a device's come in one row per destination).
void AddCounts(DeliveryCounts* c, int state, uint64_t n, uint64_t bytes) {
  switch (static_cast<JobState>(state)) {
    case JobState::kQueued:
      c->pending_files += n;
      c->pending_bytes += bytes;
      break;
    case JobState::kLeased:
      c->in_flight_files += n;
      c->in_flight_bytes += bytes;
      break;
    case JobState::kDone:
      c->delivered_files += n;
      c->delivered_bytes += bytes;
      break;
    case JobState::kRetryWait:
      c->failed_files += n;
      c->failed_bytes += bytes;
      break;
    case JobState::kDead:
      c->dead_files += n;
      c->dead_bytes += bytes;
      break;
    default:
      break;
  }
}

}  // namespace

absl::StatusOr<StatusSummary> PgStore::GetStatus(uint32_t worker_stale_ms) {
  StatusSummary resp;
  RETURN_IF_ERROR(Run("status", TxMode::kTransaction, [&](Tx& tx) {
    resp = StatusSummary{};
    resp.now_unix_ms = tx.exec("SELECT epoch_ms(now())")[0][0].as<int64_t>();
    // Devices (indexes into resp.devices: the vector grows while filled).
    std::map<int64_t, size_t> devs;
    for (const auto& row :
         tx.exec("SELECT id, name, epoch_ms(last_seen), agent_files_pending, agent_bytes_pending, "
                 "agent_upload_rate_bps, revoked, agent_folder_problems, "
                 "(SELECT count(*) FROM bindings b WHERE b.device_id = devices.id) "
                 "FROM devices ORDER BY name")) {
      DeviceStatus& d = resp.devices.emplace_back();
      d.name = row[1].c_str();
      d.last_seen_unix_ms = row[2].as<int64_t>();
      d.agent_files_pending = row[3].as<int64_t>();
      d.agent_bytes_pending = row[4].as<int64_t>();
      d.agent_upload_rate_bps = row[5].as<int64_t>();
      d.revoked = row[6].as<bool>();
      for (absl::string_view line : absl::StrSplit(row[7].c_str(), '\n', absl::SkipEmpty())) {
        d.folder_problems.emplace_back(std::string(line));
      }
      d.bindings = row[8].as<int64_t>();
      devs[row[0].as<int64_t>()] = resp.devices.size() - 1;
    }
    // Files, bytes and versions awaiting chunks per device: counters kept by
    // the triggers of migration 14 (docs/performance.md, "A million files"),
    // a handful of rows per device whatever the library's size.
    for (const auto& row : tx.exec("SELECT device_id, sum(files), sum(bytes), sum(awaiting) "
                                   "FROM status_version_counts GROUP BY device_id")) {
      auto it = devs.find(row[0].as<int64_t>());
      if (it == devs.end()) continue;
      DeviceStatus& d = resp.devices[it->second];
      d.files = row[1].as<int64_t>();
      d.bytes = row[2].as<int64_t>();
      d.files_awaiting_chunks = row[3].as<int64_t>();
    }
    // Deliveries per destination, device and state (the same counters).
    struct DeliveryRow {
      int64_t destination, device;
      int state;
      int64_t files, bytes;
    };
    std::vector<DeliveryRow> deliveries;
    for (const auto& row :
         tx.exec("SELECT destination_id, device_id, state, sum(files), sum(bytes) "
                 "FROM status_delivery_counts GROUP BY destination_id, device_id, state")) {
      deliveries.push_back(DeliveryRow{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int>(),
                                       row[3].as<int64_t>(), row[4].as<int64_t>()});
    }
    for (const DeliveryRow& r : deliveries) {
      auto it = devs.find(r.device);
      if (it == devs.end()) continue;
      AddCounts(&resp.devices[it->second].deliveries, r.state, r.files, r.bytes);
    }
    // Destinations.
    auto facts = LoadDestFacts(tx, worker_stale_ms);
    std::map<int64_t, size_t> dsts;
    for (auto& [id, f] : facts) {
      if (f.removed) continue;  // history only (`shoebox dest remove`)
      DestinationStatus& d = resp.destinations.emplace_back();
      d.name = f.name;
      d.kind = f.kind;
      if (f.auth_failed_ms != 0) {
        d.health = absl::StrCat("authentication failed since ", FormatUnixMs(f.auth_failed_ms),
                                ": ", f.auth_error);
      }
      if (f.paused_ms != 0) {
        d.health = absl::StrCat(d.health, d.health.empty() ? "" : "; ", "paused by an admin since ",
                                FormatUnixMs(f.paused_ms));
      }
      d.workers_serving = f.serving;
      d.last_verified_unix_ms = f.last_verified_ms;
      dsts[id] = resp.destinations.size() - 1;
    }
    for (const DeliveryRow& r : deliveries) {
      auto it = dsts.find(r.destination);
      if (it == dsts.end()) continue;
      AddCounts(&resp.destinations[it->second].deliveries, r.state, r.files, r.bytes);
    }
    // Each destination's oldest pending job (index jobs_pending_age: one
    // index probe per destination, not a sort of the whole queue).
    for (const auto& row : tx.exec(
             "SELECT d.id, j.id, j.state, j.attempts, j.last_error, epoch_ms(j.next_attempt_at), "
             "epoch_ms(j.created_at), j.priority FROM destinations d CROSS JOIN LATERAL "
             "(SELECT * FROM jobs WHERE destination_id = d.id AND state IN (1, 2, 4) "
             "ORDER BY created_at, id LIMIT 1) j WHERE d.removed_at IS NULL")) {
      const int64_t dest = row[0].as<int64_t>();
      auto it = dsts.find(dest);
      if (it == dsts.end()) continue;
      const auto state = static_cast<JobState>(row[2].as<int>());
      WaitFacts w = MakeWaitFacts(state, row[3].as<int64_t>(), row[4].c_str(), row[5].as<int64_t>(),
                                  facts[dest]);
      if (state == JobState::kQueued) {
        // Two index ranges of jobs_queue_position: the cost is the number
        // ahead, not the queue's length.
        w.queued_ahead = tx.exec_params1(
                               "SELECT (SELECT count(*) FROM jobs WHERE state = 1 AND "
                               "destination_id = $1 AND priority > $2) + (SELECT count(*) FROM "
                               "jobs WHERE state = 1 AND destination_id = $1 AND priority = $2 "
                               "AND id < $3)",
                               dest, row[7].as<int>(), row[1].as<int64_t>())[0]
                             .as<int64_t>();
      }
      DestinationStatus& d = resp.destinations[it->second];
      d.oldest_pending_unix_ms = row[6].as<int64_t>();
      d.oldest_pending_reason =
          state == JobState::kLeased ? "being delivered by a worker" : WaitingReason(w);
    }
    // The last error of each destination's most recent dead delivery (index
    // jobs_dead_recent).
    for (const auto& row : tx.exec(
             "SELECT d.id, j.last_error FROM destinations d CROSS JOIN LATERAL (SELECT last_error "
             "FROM jobs WHERE destination_id = d.id AND state = 5 AND kind = 1 "
             "ORDER BY updated_at DESC, id DESC LIMIT 1) j WHERE d.removed_at IS NULL")) {
      auto it = dsts.find(row[0].as<int64_t>());
      if (it == dsts.end()) continue;
      resp.destinations[it->second].last_dead_error = row[1].c_str();
    }
    pqxx::row c = tx.exec1(
        "SELECT COALESCE(sum(chunks), 0), COALESCE(sum(bytes), 0), COALESCE(sum(stored_bytes), 0), "
        "(SELECT COALESCE(sum(dedup), 0) FROM status_version_counts) FROM status_chunk_counts");
    resp.chunks_stored = c[0].as<int64_t>();
    resp.chunk_bytes = c[1].as<int64_t>();
    resp.stored_bytes = c[2].as<int64_t>();
    resp.duplicate_files = c[3].as<int64_t>();
    return absl::OkStatus();
  }));
  return resp;
}

}  // namespace shoebox::coordinator::pg
