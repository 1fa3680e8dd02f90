// `shoebox retention set|show` and `shoebox prune` (docs/cli.md,
// docs/retention.md).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

// Shared by `retention set`, `retention show` and `prune` (one is parsed).
struct RetentionArgs {
  std::string device, folder;
  // Set only when given (an Option's count says so).
  uint32_t keep_all_days = 0, keep_daily = 0, keep_weekly = 0, keep_monthly = 0, keep_yearly = 0,
           deleted_keep_days = 0;
  CLI::Option *o_all = nullptr, *o_daily = nullptr, *o_weekly = nullptr, *o_monthly = nullptr,
              *o_yearly = nullptr, *o_deleted = nullptr;
  bool pass_through = false, no_pass_through = false, reset = false;
  bool dry_run = false;
};

void PrintPolicies(const v1::RetentionPolicies& r, bool as_json) {
  if (as_json) {
    json out = json::array();
    for (const auto& p : r.policies()) {
      out.push_back(json{{"device", p.device()},
                         {"folder", PrintablePath(p.folder())},
                         {"keep_all_days", p.keep_all_days()},
                         {"keep_daily", p.keep_daily()},
                         {"keep_weekly", p.keep_weekly()},
                         {"keep_monthly", p.keep_monthly()},
                         {"keep_yearly", p.keep_yearly()},
                         {"deleted_keep_days", p.deleted_keep_days()},
                         {"pass_through", p.pass_through()},
                         {"is_default", p.is_default()}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  if (r.policies().empty()) std::printf("no folders yet (agents announce them in Hello)\n");
  for (const auto& p : r.policies()) {
    std::printf(
        "%s:%s%s\n  keep all %u days, then %u daily, %u weekly, %u monthly, %u yearly; "
        "deleted files %u days%s\n",
        p.device().c_str(), PrintablePath(p.folder()).c_str(), p.is_default() ? " (defaults)" : "",
        p.keep_all_days(), p.keep_daily(), p.keep_weekly(), p.keep_monthly(), p.keep_yearly(),
        p.deleted_keep_days(),
        p.pass_through() ? "; pass-through (chunks dropped once every destination has "
                           "the file)"
                         : "");
  }
}

int RetentionSet(AdminClient& client, const RetentionArgs& rc) {
  v1::SetRetentionRequest req;
  req.set_device(rc.device);
  req.set_folder(rc.folder);
  if (rc.o_all->count()) req.set_keep_all_days(rc.keep_all_days);
  if (rc.o_daily->count()) req.set_keep_daily(rc.keep_daily);
  if (rc.o_weekly->count()) req.set_keep_weekly(rc.keep_weekly);
  if (rc.o_monthly->count()) req.set_keep_monthly(rc.keep_monthly);
  if (rc.o_yearly->count()) req.set_keep_yearly(rc.keep_yearly);
  if (rc.o_deleted->count()) req.set_deleted_keep_days(rc.deleted_keep_days);
  if (rc.pass_through) req.set_pass_through(true);
  if (rc.no_pass_through) req.set_pass_through(false);
  req.set_reset(rc.reset);
  v1::RetentionPolicies r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->SetRetention(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "retention set");
  std::printf("retention policy set:\n");
  PrintPolicies(r, false);
  return 0;
}

int RetentionShow(AdminClient& client, const RetentionArgs& rc, bool as_json) {
  v1::GetRetentionRequest req;
  req.set_device(rc.device);
  req.set_folder(rc.folder);
  v1::RetentionPolicies r;
  auto ctx = client.Context();
  grpc::Status s = client.stub()->GetRetention(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "retention show");
  PrintPolicies(r, as_json);
  return 0;
}

int Prune(AdminClient& client, const RetentionArgs& rc, bool as_json) {
  v1::PruneRequest req;
  req.set_dry_run(rc.dry_run);
  v1::PruneResponse r;
  auto ctx = client.Context(std::chrono::hours(6));
  grpc::Status s = client.stub()->Prune(ctx.get(), req, &r);
  if (!s.ok()) return FailRpc(s, "prune");
  if (as_json) {
    json j{{"dry_run", r.dry_run()},
           {"versions_removed", r.versions_removed()},
           {"version_bytes_removed", r.version_bytes_removed()},
           {"files_forgotten", r.files_forgotten()},
           {"versions_released", r.versions_released()},
           {"jobs_removed", r.jobs_removed()},
           {"versions_in_use", r.versions_in_use()},
           {"chunks_removed", r.chunks_removed()},
           {"chunk_bytes_removed", r.chunk_bytes_removed()},
           {"stored_bytes_removed", r.stored_bytes_removed()},
           {"chunks_in_grace", r.chunks_in_grace()},
           {"chunk_errors", r.chunk_errors()},
           {"first_error", r.first_error()},
           {"grace_seconds", r.grace_seconds()},
           {"duration_ms", r.duration_ms()}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    const char* verb = r.dry_run() ? "would remove" : "removed";
    std::printf("%s%s %llu versions (%s), %llu jobs; %llu deleted files forgotten\n",
                r.dry_run() ? "dry run: " : "", verb, (unsigned long long)r.versions_removed(),
                HumanBytes(r.version_bytes_removed()).c_str(), (unsigned long long)r.jobs_removed(),
                (unsigned long long)r.files_forgotten());
    std::printf("%s %llu chunks (%s of data, %s stored)\n", verb,
                (unsigned long long)r.chunks_removed(), HumanBytes(r.chunk_bytes_removed()).c_str(),
                HumanBytes(r.stored_bytes_removed()).c_str());
    if (r.versions_released())
      std::printf("pass-through: %llu versions delivered everywhere %s their chunks\n",
                  (unsigned long long)r.versions_released(),
                  r.dry_run() ? "would release" : "released");
    if (r.versions_in_use())
      std::printf("%llu expired versions kept for now: a worker is delivering them\n",
                  (unsigned long long)r.versions_in_use());
    if (r.chunks_in_grace())
      std::printf(
          "%llu unreferenced chunks wait for the grace period (%u s) and go in a later "
          "prune\n",
          (unsigned long long)r.chunks_in_grace(), r.grace_seconds());
    if (r.chunk_errors()) {
      std::printf("%llu chunks could not be deleted (kept; the next prune retries): %s\n",
                  (unsigned long long)r.chunk_errors(), r.first_error().c_str());
    }
  }
  return r.chunk_errors() ? 1 : 0;
}

}  // namespace

void RegisterRetentionCommands(CLI::App& app, CliContext& ctx) {
  auto rc = std::make_shared<RetentionArgs>();
  auto* retention = app.add_subcommand("retention", "show or set how long versions are kept");
  retention->require_subcommand(1);
  auto* set = retention->add_subcommand("set", "set the retention policy of a device's folder(s)");
  set->add_option("--device", rc->device, "device name")->required();
  set->add_option("--folder", rc->folder,
                  "absolute folder root on the device (default: every folder it announced)");
  rc->o_all =
      set->add_option("--keep-all-days", rc->keep_all_days, "keep every version this many days");
  rc->o_daily =
      set->add_option("--keep-daily", rc->keep_daily, "then the last version of each of N days");
  rc->o_weekly = set->add_option("--keep-weekly", rc->keep_weekly, "... of N weeks");
  rc->o_monthly = set->add_option("--keep-monthly", rc->keep_monthly, "... of N months");
  rc->o_yearly = set->add_option("--keep-yearly", rc->keep_yearly, "... of N years");
  rc->o_deleted = set->add_option("--deleted-keep-days", rc->deleted_keep_days,
                                  "keep a deleted file's versions this many days");
  auto* pt = set->add_flag("--pass-through", rc->pass_through,
                           "drop the chunks once every bound destination has the file");
  set->add_flag("--no-pass-through", rc->no_pass_through, "keep the chunks (default)")
      ->excludes(pt);
  set->add_flag("--reset", rc->reset, "start from the defaults");
  auto* show = retention->add_subcommand("show", "show the retention policy of every folder");
  show->add_option("--device", rc->device, "only this device");
  show->add_option("--folder", rc->folder, "only this folder (with --device)");
  show->add_flag("--json", ctx.json(), "print JSON");
  auto* prune = app.add_subcommand(
      "prune", "remove expired versions, then the chunks no version needs (docs/retention.md)");
  prune->add_flag("--dry-run", rc->dry_run, "only count what would be removed");
  prune->add_flag("--json", ctx.json(), "print JSON");
  ctx.AddAdminHandler(set,
                      [rc](CliContext&, AdminClient& client) { return RetentionSet(client, *rc); });
  ctx.AddAdminHandler(show, [rc](CliContext& c, AdminClient& client) {
    return RetentionShow(client, *rc, c.json());
  });
  ctx.AddAdminHandler(
      prune, [rc](CliContext& c, AdminClient& client) { return Prune(client, *rc, c.json()); });
}

}  // namespace shoebox::cli
