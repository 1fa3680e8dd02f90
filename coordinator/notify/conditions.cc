#include "coordinator/notify/conditions.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/progress.h"
#include "coordinator/notify/format.h"

namespace shoebox::coordinator::notify {

namespace {

std::string Quoted(const std::string& kind, const std::string& name) {
  return absl::StrCat(kind, " \"", name, "\"");
}

}  // namespace

std::vector<Condition> Conditions(const ConditionInputs& in, const Settings& s, int64_t now_ms) {
  std::vector<Condition> out;
  const StatusSummary& st = *in.status;
  for (const DestinationStatus& d : st.destinations) {
    const std::string obj = Quoted("destination", d.name);
    const bool auth = absl::StrContains(d.health, "authentication failed");
    if (s.destination_failing_ms >= 0 && (auth || d.deliveries.failed_files > 0)) {
      Condition c;
      c.key = absl::StrCat("destination_failing:", d.name);
      c.kind = "destination_failing";
      c.object = obj;
      if (auth) {
        c.message = absl::StrCat("refuses its credentials (", d.health, ")");
        c.action = absl::StrCat("give it working credentials with `shoebox dest set ", d.name,
                                " ...`, then `shoebox dest check ", d.name, "`");
      } else {
        c.message = absl::StrCat(
            "deliveries are failing (", d.deliveries.failed_files, " files waiting to retry",
            d.oldest_pending_reason.empty() ? "" : ": ", d.oldest_pending_reason, ")");
        c.action =
            absl::StrCat("check that its server is up and reachable: `shoebox dest check ", d.name,
                         "`; `shoebox jobs --dest ", d.name, " --state retrying` shows the errors");
      }
      c.hold_ms = s.destination_failing_ms;
      out.push_back(std::move(c));
    }
    if (d.deliveries.dead_files > 0) {
      Condition c;
      c.key = absl::StrCat("dead_jobs:", d.name);
      c.kind = "dead_jobs";
      c.object = obj;
      c.message = absl::StrCat(d.deliveries.dead_files, " deliveries gave up after their retries",
                               d.last_dead_error.empty() ? "" : " (last error: ", d.last_dead_error,
                               d.last_dead_error.empty() ? "" : ")");
      c.action = absl::StrCat("`shoebox jobs --dest ", d.name,
                              " --state dead` shows them; fix the cause, then `shoebox retry "
                              "--dest ",
                              d.name, " --state dead`");
      out.push_back(std::move(c));
    }
  }
  if (in.open_damage > 0) {
    Condition c;
    c.key = "verify_damage:chunk-store";
    c.kind = "verify_damage";
    c.object = "the chunk store";
    c.message = absl::StrCat("verify found ", in.open_damage, " damaged chunk",
                             in.open_damage == 1 ? "" : "s", " not repaired yet");
    c.action =
        "`shoebox status` lists the affected files and whether a repair from a destination is "
        "queued; check the chunk store's disk (docs/verify.md)";
    out.push_back(std::move(c));
  }
  for (const DeviceStatus& d : st.devices) {
    if (d.revoked || d.last_seen_unix_ms == 0) continue;
    const int64_t now = st.now_unix_ms != 0 ? st.now_unix_ms : now_ms;
    const int64_t silent = now - d.last_seen_unix_ms;
    const std::string obj = Quoted("device", d.name);
    if (s.device_silent_ms >= 0 && silent >= s.device_silent_ms) {
      Condition c;
      c.key = absl::StrCat("device_silent:", d.name);
      c.kind = "device_silent";
      c.object = obj;
      c.device = d.name;
      c.message = absl::StrCat("not seen for ", FormatAge(silent), " (last contact ",
                               FormatTimeUtc(d.last_seen_unix_ms), ")");
      c.action =
          "check that the device is on, online and its shoebox-agent service runs; `shoebox "
          "devices` shows its last contact";
      out.push_back(std::move(c));
      continue;
    }
    auto it = in.last_backup_ms.find(d.name);
    if (s.device_no_backup_ms >= 0 && it != in.last_backup_ms.end() && it->second != 0 &&
        now_ms - it->second >= s.device_no_backup_ms) {
      Condition c;
      c.key = absl::StrCat("device_no_backup:", d.name);
      c.kind = "device_no_backup";
      c.object = obj;
      c.device = d.name;
      c.message = absl::StrCat("seen, but no new backup for ", FormatAge(now_ms - it->second), " (",
                               d.agent_files_pending, " files pending on the device)");
      c.action =
          "check its watched folders and its agent's log on the device; `shoebox status` shows "
          "its pending files and folders it cannot read";
      out.push_back(std::move(c));
    }
  }
  if (in.disk && s.disk_full_percent > 0 && in.disk->total_bytes > 0) {
    const uint64_t used =
        in.disk->total_bytes - std::min(in.disk->free_bytes, in.disk->total_bytes);
    const int percent = static_cast<int>(used * 100 / in.disk->total_bytes);
    if (percent >= s.disk_full_percent) {
      Condition c;
      c.key = "disk_full:chunk-store";
      c.kind = "disk_full";
      c.object = absl::StrCat("the chunk store's disk (", in.disk->path, ")");
      c.message = absl::StrCat(
          "is ", percent, "% full (",
          ProgressReporter::FormatBytes(static_cast<double>(in.disk->free_bytes)), " free of ",
          ProgressReporter::FormatBytes(static_cast<double>(in.disk->total_bytes)), ")");
      c.action =
          "free space or move the chunk store to a larger disk; `shoebox prune` releases old "
          "versions as the retention policy allows";
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace shoebox::coordinator::notify
