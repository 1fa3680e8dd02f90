#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <algorithm>
#include <map>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/client.h"
#include "cli/restore.h"
#include "cli/restore_repair.h"
#include "cli/retention_cmd.h"
#include "cli/identity_cmd.h"
#include "cli/recovery_cmd.h"
#include "cli/seal.h"
#include "cli/verify_cmd.h"
#include "common/bytes.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

int Fail(const absl::Status& s) { return FailStatus(s); }
int Fail(const grpc::Status& s, std::string_view what) { return FailRpc(s, std::string(what)); }

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms <= 0) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms), absl::LocalTimeZone());
}

// Accepts RFC 3339 ("2026-11-26T18:00:00Z"), "YYYY-MM-DD HH:MM[:SS]" (local
// time), "YYYY-MM-DD" (local midnight) or Unix milliseconds.
absl::StatusOr<int64_t> ParseAt(const std::string& s) {
  if (s.empty()) return 0;
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) return std::stoll(s);
  absl::Time t;
  std::string err;
  for (const char* fmt : {absl::RFC3339_full, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(fmt, s, absl::LocalTimeZone(), &t, &err)) return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--at '", s, "': not a time; use e.g. 2026-11-26T18:00:00Z, '2026-11-26 18:00' or 2026-11-26"));
}

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
           {"oldest_pending_reason", d.oldest_pending_reason()},
           {"health", d.health()},
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
  return out;
}

void PrintStatus(const v1::StatusResponse& r) {
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
    std::printf("  %-20s deliveries: %llu pending, %llu in flight, %llu delivered, %llu failed, %llu dead\n",
                "", (unsigned long long)c.pending_files(), (unsigned long long)c.in_flight_files(),
                (unsigned long long)c.delivered_files(), (unsigned long long)c.failed_files(),
                (unsigned long long)c.dead_files());
  }
  std::printf("Destinations\n");
  if (r.destinations().empty()) std::printf("  (none yet: shoebox dest add ...)\n");
  for (const auto& d : r.destinations()) {
    const auto& c = d.deliveries();
    std::printf("  %-20s %-7s %llu delivered (%s), %llu pending, %llu in flight, %llu failed, %llu dead\n",
                d.name().c_str(), d.kind().c_str(), (unsigned long long)c.delivered_files(),
                HumanBytes(c.delivered_bytes()).c_str(), (unsigned long long)c.pending_files(),
                (unsigned long long)c.in_flight_files(), (unsigned long long)c.failed_files(),
                (unsigned long long)c.dead_files());
    if (!d.health().empty()) std::printf("  %-20s !! %s\n", "", d.health().c_str());
    if (d.oldest_pending_unix_ms() > 0)
      std::printf("  %-20s oldest pending since %s: %s\n", "",
                  FormatTime(d.oldest_pending_unix_ms()).c_str(), d.oldest_pending_reason().c_str());
    if (d.workers_serving() == 0) std::printf("  %-20s !! no worker serves this destination\n", "");
    std::printf("  %-20s last verified %s\n", "", FormatTime(d.last_verified_unix_ms()).c_str());
  }
  std::printf("Chunk store: %llu chunks, %s of data, %s stored; %llu duplicate files stored once\n",
              (unsigned long long)r.chunks_stored(), HumanBytes(r.chunk_bytes()).c_str(),
              HumanBytes(r.stored_bytes()).c_str(), (unsigned long long)r.duplicate_files());
  std::printf("Copies: %llu files with at least 1, %llu with at least 2, %llu with at least 3; "
              "%llu with none\n",
              (unsigned long long)r.files_with_1_copy(), (unsigned long long)r.files_with_2_copies(),
              (unsigned long long)r.files_with_3_copies(), (unsigned long long)r.files_with_no_copy());
  std::printf("Verification: last run %s; %llu damaged chunks%s\n",
              FormatTime(r.last_verify_unix_ms()).c_str(), (unsigned long long)r.damaged_chunks(),
              r.damaged_chunks() ? " (`shoebox verify --scrub-percent 0` lists them and the files)" : "");
}

absl::StatusOr<v1::JobState> ParseState(const std::string& s) {
  static const std::map<std::string, v1::JobState> m = {
      {"queued", v1::JOB_STATE_QUEUED},   {"leased", v1::JOB_STATE_LEASED},
      {"done", v1::JOB_STATE_DONE},       {"retry", v1::JOB_STATE_RETRY_WAIT},
      {"dead", v1::JOB_STATE_DEAD},       {"cancelled", v1::JOB_STATE_CANCELLED}};
  auto it = m.find(s);
  if (it == m.end())
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown job state '", s, "'; use queued, leased, done, retry, dead or cancelled"));
  return it->second;
}

std::string StateName(v1::JobState s) {
  switch (s) {
    case v1::JOB_STATE_QUEUED: return "queued";
    case v1::JOB_STATE_LEASED: return "leased";
    case v1::JOB_STATE_DONE: return "done";
    case v1::JOB_STATE_RETRY_WAIT: return "retry";
    case v1::JOB_STATE_DEAD: return "dead";
    case v1::JOB_STATE_CANCELLED: return "cancelled";
    default: return "?";
  }
}

absl::StatusOr<std::map<std::string, std::string>> ParseKv(const std::vector<std::string>& kvs,
                                                           const char* flag) {
  std::map<std::string, std::string> m;
  for (const auto& kv : kvs) {
    auto pos = kv.find('=');
    if (pos == std::string::npos || pos == 0)
      return absl::InvalidArgumentError(absl::StrCat(flag, " '", kv, "': expected KEY=VALUE"));
    m[kv.substr(0, pos)] = kv.substr(pos + 1);
  }
  return m;
}

// Fetches chunks through AdminService.ReadChunks in batches.
class GrpcFetcher : public ChunkFetcher {
 public:
  explicit GrpcFetcher(AdminClient* c) : c_(c) {}
  absl::Status Fetch(const std::vector<std::string>& ids,
                     const std::function<absl::Status(const std::string&, const std::string&)>& sink)
      override {
    constexpr size_t kBatch = 32;
    for (size_t i = 0; i < ids.size(); i += kBatch) {
      v1::ReadChunksRequest req;
      for (size_t j = i; j < std::min(ids.size(), i + kBatch); j++) req.add_ids(ids[j]);
      auto ctx = c_->Context(std::chrono::minutes(10));
      auto reader = c_->stub()->ReadChunks(ctx.get(), req);
      v1::ChunkData d;
      size_t k = i;
      while (reader->Read(&d)) {
        if (k >= ids.size() || d.id() != ids[k]) {
          ctx->TryCancel();
          reader->Finish();
          return absl::DataLossError("coordinator sent chunks out of order");
        }
        absl::Status s = sink(d.id(), d.data());
        if (!s.ok()) {
          ctx->TryCancel();
          reader->Finish();
          return s;
        }
        k++;
      }
      grpc::Status gs = reader->Finish();
      if (!gs.ok()) return FromGrpc(gs);
      if (k != std::min(ids.size(), i + kBatch))
        return absl::DataLossError("coordinator ended the chunk stream early");
    }
    return absl::OkStatus();
  }

 private:
  AdminClient* c_;
};

absl::StatusOr<std::vector<v1::FileVersion>> ListAllVersions(AdminClient& c,
                                                             v1::ListVersionsRequest req) {
  std::vector<v1::FileVersion> out;
  req.set_limit(5000);
  for (;;) {
    auto ctx = c.Context();
    v1::ListVersionsResponse resp;
    grpc::Status s = c.stub()->ListVersions(ctx.get(), req, &resp);
    if (!s.ok()) return FromGrpc(s);
    for (auto& v : *resp.mutable_versions()) out.push_back(std::move(v));
    if (resp.next_after_version_id() == 0) break;
    req.set_after_version_id(resp.next_after_version_id());
  }
  return out;
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"shoebox: manage a Shoebox backup system (status, destinations, restore, ...)"};
  app.require_subcommand(1);
  auto opts_or = LoadClientOptions();
  if (!opts_or.ok()) return Fail(opts_or.status());
  ClientOptions opts = *opts_or;
  app.add_option("--coordinator", opts.coordinator, "coordinator address HOST:PORT");
  app.add_flag("--insecure-dev", opts.insecure_dev,
               "plain-text gRPC to a loopback coordinator started with --insecure-dev");

  // status
  bool json_out = false;
  auto* status = app.add_subcommand("status", "delivery state per device and destination");
  status->add_flag("--json", json_out, "print JSON for scripts (fields: docs/cli.md)");
  double watch_s = 0;
  status->add_option("--watch", watch_s,
                     "repeat every SECONDS over one connection until interrupted (with --json: "
                     "one JSON object per line)")
      ->check(CLI::Range(0.05, 86400.0));

  auto* devices = app.add_subcommand("devices", "list devices");

  // destinations
  auto* dest = app.add_subcommand("dest", "manage destinations");
  dest->require_subcommand(1);
  std::string d_name, d_kind, d_layout = "{device}/{folder}/{path}";
  std::vector<std::string> d_set, d_secret;
  uint32_t d_conc = 4;
  auto* dest_add = dest->add_subcommand("add", "add a destination");
  dest_add->add_option("name", d_name, "destination name")->required();
  dest_add->add_option("--kind", d_kind, "local, s3, webdav, sftp or rclone")->required();
  dest_add->add_option("--set", d_set, "non-secret setting KEY=VALUE (see docs/destinations.md)");
  dest_add->add_option("--secret", d_secret,
                       "secret KEY=VALUE, sealed to the worker pool key before it leaves this machine");
  dest_add->add_option("--layout", d_layout, "placement template");
  dest_add->add_option("--max-concurrency", d_conc, "jobs at once for this destination");
  auto* dest_list = dest->add_subcommand("list", "list destinations");

  // bind
  std::string b_device, b_folder, b_dest;
  bool b_backfill = true;
  auto* bind = app.add_subcommand("bind", "deliver a device's folder (or all its folders) to a destination");
  bind->add_option("--device", b_device, "device name")->required();
  bind->add_option("--folder", b_folder, "absolute folder root on the device (default: all folders)");
  bind->add_option("--dest", b_dest, "destination name")->required();
  bind->add_flag("!--no-backfill", b_backfill, "do not deliver files already backed up");

  // jobs
  std::vector<std::string> j_states;
  std::string j_dest;
  std::vector<int64_t> j_ids;
  uint32_t j_limit = 50;
  auto* jobs = app.add_subcommand("jobs", "list jobs");
  jobs->add_option("--state", j_states, "queued, leased, done, retry, dead, cancelled");
  jobs->add_option("--dest", j_dest, "destination name");
  jobs->add_option("--limit", j_limit, "at most this many");
  auto* cancel = app.add_subcommand("cancel", "cancel jobs (by ID, or every job matching the filters)");
  auto* retry = app.add_subcommand("retry", "retry dead or failed jobs now");
  int32_t j_priority = 0;
  auto* prioritize = app.add_subcommand(
      "prioritize", "set the priority of unfinished jobs (higher is delivered first; default 0)");
  prioritize->add_option("--priority", j_priority, "-1000 .. 1000")->required();
  for (auto* sc : {cancel, retry, prioritize}) {
    sc->add_option("--job", j_ids, "job ID");
    sc->add_option("--state", j_states, "job state filter");
    sc->add_option("--dest", j_dest, "destination filter");
  }

  // versions
  std::string v_device, v_path, v_folder, v_at;
  bool v_all = true;
  auto* versions = app.add_subcommand("versions", "list the versions of a file or folder");
  versions->add_option("device", v_device, "device name")->required();
  versions->add_option("path", v_path, "path (relative to its folder) or directory prefix");
  versions->add_option("--folder", v_folder, "folder root on the device");
  versions->add_option("--at", v_at, "only what existed at this time");

  // restore
  std::string r_device, r_path, r_folder, r_at, r_to;
  bool r_overwrite = false;
  auto* restore = app.add_subcommand("restore", "restore files as they were at a point in time");
  restore->add_option("--device", r_device, "device name")->required();
  restore->add_option("--path", r_path, "file or directory (relative to its folder)");
  restore->add_option("--folder", r_folder, "folder root on the device");
  restore->add_option("--at", r_at, "point in time (default: now)");
  restore->add_option("--to", r_to, "target directory")->required();
  restore->add_flag("--overwrite", r_overwrite, "replace existing files that differ");
  int r_wait_repair = 600;
  restore->add_option("--wait-repair", r_wait_repair,
                      "seconds to wait for chunks damaged in the chunk store to be repaired from a "
                      "destination copy before restoring those files again (0: only name them)");

  // pool key
  std::string k_priv, k_pub;
  auto* poolkey = app.add_subcommand("pool-key", "create the worker pool key pair used to seal credentials");
  poolkey->add_option("--private", k_priv, "private key file (workers only, 0600)")->required();
  poolkey->add_option("--public", k_pub, "public key file (CLI)")->required();

  auto retention_cmds = AddRetentionCommands(app);  // retention set|show, prune
  auto identity_cmds = AddIdentityCommands(app);    // enroll-token, certs, revoke
  auto recovery_cmds = AddRecoveryCommands(app);    // snapshot, recover, key export
  VerifyArgs verify_args;
  auto* verify_cmd = AddVerifyCommand(app, &verify_args);  // verify (issue 7)
  CLI11_PARSE(app, argc, argv);

  if (poolkey->parsed()) {
    absl::Status s = CreatePoolKeyPair(k_priv, k_pub);
    if (!s.ok()) return Fail(s);
    std::printf("worker pool key pair written: %s (private, 0600), %s (public)\n", k_priv.c_str(),
                k_pub.c_str());
    return 0;
  }

  if (int rc = RunRecoveryCommands(*recovery_cmds, opts); rc >= 0) return rc;  // some need no coordinator
  AdminClient client(opts);
  if (!client.status().ok()) return Fail(client.status());
  if (int rc = RunRetentionCommands(*retention_cmds, client); rc >= 0) return rc;
  if (int rc = RunIdentityCommands(*identity_cmds, client); rc >= 0) return rc;
  if (verify_cmd->parsed()) return RunVerify(client, verify_args);

  if (status->parsed()) {
    // --watch: one channel (one TLS handshake) for every refresh, so a script
    // or a terminal polling several times a second costs the coordinator an
    // RPC, not a new client process each time.
    for (;;) {
      v1::StatusResponse r;
      auto ctx = client.Context();
      grpc::Status s = client.stub()->GetStatus(ctx.get(), v1::GetStatusRequest(), &r);
      if (!s.ok() && watch_s <= 0) return Fail(s, "status");
      if (!s.ok()) {
        // Watching across a coordinator restart: say so, keep trying.
        std::fprintf(stderr, "shoebox: status: %s (retrying)\n", s.error_message().c_str());
      } else if (json_out) {
        std::printf("%s\n", StatusJson(r).dump(watch_s > 0 ? -1 : 2).c_str());
      } else {
        if (watch_s > 0) std::printf("--- %s\n", absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str());
        PrintStatus(r);
      }
      if (watch_s <= 0) return 0;
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) return 0;  // the reader went away
      absl::SleepFor(absl::Seconds(watch_s));
    }
  }
  if (devices->parsed()) {
    v1::ListDevicesResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListDevices(ctx.get(), v1::ListDevicesRequest(), &r);
    if (!s.ok()) return Fail(s, "devices");
    for (const auto& d : r.devices()) {
      std::printf("%-20s host=%s last seen %s%s\n", d.name().c_str(), d.hostname().c_str(),
                  FormatTime(d.last_seen_unix_ms()).c_str(), d.revoked() ? " REVOKED" : "");
      for (const auto& f : d.folders()) std::printf("  folder %s\n", PrintablePath(f).c_str());
    }
    return 0;
  }
  if (dest_add->parsed()) {
    auto set = ParseKv(d_set, "--set");
    if (!set.ok()) return Fail(set.status());
    auto secret = ParseKv(d_secret, "--secret");
    if (!secret.ok()) return Fail(secret.status());
    v1::CreateDestinationRequest req;
    req.set_name(d_name);
    req.set_kind(d_kind);
    json settings = json::object();
    for (auto& [k, v] : *set) settings[k] = v;
    req.set_settings_json(settings.dump());
    if (!secret->empty()) {
      json creds = json::object();
      for (auto& [k, v] : *secret) creds[k] = v;
      auto sealed = SealCredentialsFor(d_name, creds.dump());
      if (!sealed.ok()) return Fail(sealed.status());
      req.set_sealed_credentials(*sealed);
    }
    req.set_layout(d_layout);
    req.set_max_concurrency(d_conc);
    v1::Destination out;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->CreateDestination(ctx.get(), req, &out);
    if (!s.ok()) return Fail(s, absl::StrCat("adding destination '", d_name, "'"));
    std::printf("destination %s (%s) added%s\n", out.name().c_str(), out.kind().c_str(),
                secret->empty() ? "" : "; credentials sealed to the worker pool key");
    return 0;
  }
  if (dest_list->parsed()) {
    v1::ListDestinationsResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListDestinations(ctx.get(), v1::ListDestinationsRequest(), &r);
    if (!s.ok()) return Fail(s, "listing destinations");
    for (const auto& d : r.destinations())
      std::printf("%-20s %-7s layout=%s settings=%s%s\n", d.name().c_str(), d.kind().c_str(),
                  d.layout().c_str(), d.settings_json().c_str(),
                  d.sealed_credentials().empty() ? "" : " credentials=sealed");
    return 0;
  }
  if (bind->parsed()) {
    v1::BindFolderRequest req;
    req.set_device(b_device);
    req.set_folder(b_folder);
    req.set_destination(b_dest);
    req.set_backfill(b_backfill);
    v1::BindFolderResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->BindFolder(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "bind");
    std::printf("bound %s%s%s to %s; %llu deliveries created for files already backed up\n",
                b_device.c_str(), b_folder.empty() ? "" : ":", b_folder.c_str(), b_dest.c_str(),
                (unsigned long long)r.jobs_created());
    return 0;
  }
  std::vector<v1::JobState> states;
  for (const auto& s : j_states) {
    auto st = ParseState(s);
    if (!st.ok()) return Fail(st.status());
    states.push_back(*st);
  }
  if (jobs->parsed()) {
    v1::ListJobsRequest req;
    for (auto s : states) req.add_states(s);
    req.set_destination(j_dest);
    req.set_limit(j_limit);
    v1::ListJobsResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListJobs(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "jobs");
    for (const auto& j : r.jobs()) {
      std::printf("%8lld %-9s %-12s %s:%s attempts=%u", (long long)j.job_id(),
                  StateName(j.state()).c_str(), j.destination().c_str(), j.device().c_str(),
                  PrintablePath(j.path()).c_str(), j.attempts());
      if (!j.waiting_reason().empty()) std::printf(" waiting: %s", j.waiting_reason().c_str());
      if (!j.last_error().empty()) std::printf(" last error: %s", j.last_error().c_str());
      std::printf("\n");
    }
    return 0;
  }
  if (prioritize->parsed()) {
    if (j_ids.empty() && j_dest.empty() && states.empty()) {
      std::fprintf(stderr, "shoebox: name jobs with --job, or filter with --dest/--state\n");
      return 2;
    }
    v1::SetJobPriorityRequest req;
    for (auto id : j_ids) req.mutable_selector()->add_job_ids(id);
    req.mutable_selector()->set_destination(j_dest);
    for (auto s : states) req.mutable_selector()->add_states(s);
    req.set_priority(j_priority);
    v1::JobActionResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->SetJobPriority(ctx.get(), req, &r);
    if (!s.ok()) return Fail(s, "prioritize");
    std::printf("priority %d set on %llu jobs\n", j_priority, (unsigned long long)r.affected());
    return 0;
  }
  if (cancel->parsed() || retry->parsed()) {
    if (j_ids.empty() && j_dest.empty() && states.empty()) {
      std::fprintf(stderr, "shoebox: name jobs with --job, or filter with --dest/--state\n");
      return 2;
    }
    v1::JobSelector sel;
    for (auto id : j_ids) sel.add_job_ids(id);
    sel.set_destination(j_dest);
    for (auto s : states) sel.add_states(s);
    v1::JobActionResponse r;
    auto ctx = client.Context();
    grpc::Status s = cancel->parsed() ? client.stub()->CancelJobs(ctx.get(), sel, &r)
                                      : client.stub()->RetryJobs(ctx.get(), sel, &r);
    if (!s.ok()) return Fail(s, cancel->parsed() ? "cancel" : "retry");
    std::printf("%s %llu jobs\n", cancel->parsed() ? "cancelled" : "requeued",
                (unsigned long long)r.affected());
    return 0;
  }
  if (versions->parsed()) {
    auto at = ParseAt(v_at);
    if (!at.ok()) return Fail(at.status());
    v1::ListVersionsRequest req;
    req.set_device(v_device);
    req.set_folder(v_folder);
    req.set_path(v_path);
    req.set_at_unix_ms(*at);
    req.set_all_versions(v_all);
    auto vs = ListAllVersions(client, req);
    if (!vs.ok()) return Fail(vs.status());
    for (const auto& v : *vs) {
      std::printf("%s  %12llu  %s  %s%s  v%lld\n", FormatTime(v.created_unix_ms()).c_str(),
                  (unsigned long long)v.size(), ToHex(v.sha256()).substr(0, 16).c_str(),
                  PrintablePath(v.path()).c_str(),
                  v.deleted_unix_ms() ? absl::StrCat(" (deleted ", FormatTime(v.deleted_unix_ms()), ")").c_str() : "",
                  (long long)v.version_id());
      if (v.chunks_dropped())  // pass-through folder (docs/retention.md)
        std::printf("    (not in the chunk store any more: restore it from a destination below)\n");
      for (const auto& c : v.copies()) {
        std::printf("    %-16s %-10s %s\n", c.destination().c_str(), c.state().c_str(),
                    c.remote_ref().c_str());
      }
    }
    if (vs->empty()) std::printf("no versions found\n");
    return 0;
  }
  if (restore->parsed()) {
    auto at = ParseAt(r_at);
    if (!at.ok()) return Fail(at.status());
    v1::ListVersionsRequest req;
    req.set_device(r_device);
    req.set_folder(r_folder);
    req.set_path(r_path);
    req.set_at_unix_ms(*at);
    req.set_all_versions(false);
    auto vs = ListAllVersions(client, req);
    if (!vs.ok()) return Fail(vs.status());
    if (vs->empty()) {
      std::fprintf(stderr, "shoebox: nothing to restore for device %s%s%s at that time\n",
                   r_device.c_str(), r_path.empty() ? "" : " path ", PrintablePath(r_path).c_str());
      return 1;
    }
    RestoreOptions ro;
    ro.target_dir = r_to;
    ro.overwrite = r_overwrite;
    std::set<std::string> folders;
    for (const auto& v : *vs) folders.insert(v.folder());
    ro.prefix_folder = folders.size() > 1;
    GrpcFetcher fetcher(&client);
    auto rep = RestoreVersions(*vs, &fetcher, ro);
    if (!rep.ok()) return Fail(rep.status());
    // Damaged chunks: name the files, wait for repairs, retry (issue 7).
    rep = RestoreAfterRepair(client, *vs, std::move(*rep), &fetcher, ro, r_wait_repair, stdout);
    if (!rep.ok()) return Fail(rep.status());
    std::printf("restored %llu files (%s), %llu already present and identical, %zu failed\n",
                (unsigned long long)rep->files_restored, HumanBytes(rep->bytes_restored).c_str(),
                (unsigned long long)rep->files_skipped, rep->failures.size());
    for (const auto& f : rep->failures) std::printf("  FAILED %s: %s\n", f.path.c_str(), f.error.c_str());
    if (!rep->failures.empty()) {
      std::printf("run the same command again to retry the failed files\n");
      return 1;
    }
    return 0;
  }
  return 2;
}

}  // namespace shoebox::cli
