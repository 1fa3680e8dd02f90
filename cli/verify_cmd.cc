// `shoebox verify` (issue 7; docs/cli.md, docs/verify.md): one verification
// run on the coordinator, printed as a report.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "common/bytes.h"
#include "nlohmann/json.hpp"

namespace shoebox::cli {

namespace {

using nlohmann::json;

struct VerifyArgs {
  double scrub_percent = 100;
  bool remote = false;
  std::string destination;
  uint32_t test_restore = 0;
};

std::string FileName(const v1::AffectedFile& f) {
  return absl::StrCat(f.device(), ":", PrintablePath(f.folder()), "/", PrintablePath(f.path()),
                      " (version ", f.version_id(), ")");
}

json FileJson(const v1::AffectedFile& f) {
  json j{{"device", f.device()},
         {"folder", PrintablePath(f.folder())},
         {"path", PrintablePath(f.path())},
         {"version_id", f.version_id()},
         {"destinations", json::array()}};
  for (const auto& d : f.destinations()) j["destinations"].push_back(d);
  return j;
}

json ReportJson(const v1::VerifyResponse& r) {
  json out{{"run_id", r.run_id()},
           {"chunks_total", r.chunks_total()},
           {"chunks_scrubbed", r.chunks_scrubbed()},
           {"chunks_bad", r.chunks_bad()},
           {"remote_checks_queued", r.remote_checks_queued()},
           {"repairs_queued", r.repairs_queued()},
           {"test_restored_files", r.test_restored_files()},
           {"test_restored_bytes", r.test_restored_bytes()},
           {"test_restore_failed", r.test_restore_failed()},
           {"test_restore_errors", json::array()},
           {"damaged", json::array()},
           {"unrepairable", json::array()}};
  for (const auto& e : r.test_restore_errors())
    out["test_restore_errors"].push_back(PrintablePath(e));
  for (const auto& d : r.damaged()) {
    json j{{"chunk", ToHex(d.id())},
           {"error", PrintablePath(d.error())},
           {"found_unix_ms", d.found_unix_ms()},
           {"repair_queued", d.repair_queued()},
           {"files", json::array()}};
    for (const auto& f : d.files()) j["files"].push_back(FileJson(f));
    out["damaged"].push_back(j);
  }
  for (const auto& f : r.unrepairable()) out["unrepairable"].push_back(FileJson(f));
  return out;
}

int Verify(AdminClient& client, const VerifyArgs& a, bool as_json) {
  v1::VerifyRequest req;
  req.set_scrub_percent(a.scrub_percent);
  req.set_remote(a.remote || !a.destination.empty());
  req.set_destination(a.destination);
  req.set_test_restore(a.test_restore);
  v1::VerifyResponse r;
  // A full scrub reads the whole chunk store: allow it hours.
  auto ctx = client.Context(std::chrono::hours(12));
  grpc::Status s = client.stub()->Verify(ctx.get(), req, &r);
  if (!s.ok()) {
    std::fprintf(stderr, "shoebox: verify failed: %s\n", s.error_message().c_str());
    return 1;
  }
  const bool bad = r.damaged_size() > 0 || r.test_restore_failed() > 0;
  if (as_json) {
    std::printf("%s\n", ReportJson(r).dump(2).c_str());
    return bad ? 1 : 0;
  }
  std::printf("verify run %lld\n", static_cast<long long>(r.run_id()));
  if (req.scrub_percent() > 0) {
    std::printf("  scrub: %llu of %llu chunks checked, %llu damaged\n",
                static_cast<unsigned long long>(r.chunks_scrubbed()),
                static_cast<unsigned long long>(r.chunks_total()),
                static_cast<unsigned long long>(r.chunks_bad()));
  }
  if (req.test_restore() > 0) {
    std::printf("  test restore: %llu files (%llu bytes) identical, %llu failed\n",
                static_cast<unsigned long long>(r.test_restored_files()),
                static_cast<unsigned long long>(r.test_restored_bytes()),
                static_cast<unsigned long long>(r.test_restore_failed()));
    for (const auto& e : r.test_restore_errors()) std::printf("    !! %s\n", e.c_str());
  }
  if (req.remote()) {
    std::printf(
        "  remote: %llu copies queued for checking by the workers (see `shoebox jobs`, "
        "`shoebox status` for last verified)\n",
        static_cast<unsigned long long>(r.remote_checks_queued()));
  }
  if (r.damaged_size() == 0) {
    std::printf("  no damaged chunks\n");
  } else {
    std::printf("  %d damaged chunk(s), %llu repair job(s) queued now:\n", r.damaged_size(),
                static_cast<unsigned long long>(r.repairs_queued()));
    for (const auto& d : r.damaged()) {
      std::printf("    chunk %s: %s\n      %s\n", ToHex(d.id()).c_str(), d.error().c_str(),
                  d.repair_queued() ? "being repaired from a destination copy"
                                    : "CANNOT be repaired: no destination holds a file with it");
      for (const auto& f : d.files()) {
        std::string where;
        for (const auto& dst : f.destinations())
          where += (where.empty() ? " copies at: " : ", ") + dst;
        std::printf("      affects %s%s\n", FileName(f).c_str(), where.c_str());
      }
    }
  }
  if (r.unrepairable_size() > 0) {
    std::printf(
        "  %d file version(s) have no destination copy; the device's agent re-sends the "
        "chunks within a heartbeat if it still has the file unchanged (is it running?):\n",
        r.unrepairable_size());
    for (const auto& f : r.unrepairable()) std::printf("    %s\n", FileName(f).c_str());
  }
  return bad ? 1 : 0;
}

}  // namespace

void RegisterVerifyCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<VerifyArgs>();
  auto* v = app.add_subcommand(
      "verify",
      "check the chunk store, the destinations' copies and a test restore; repair what it can");
  v->add_option("--scrub-percent", a->scrub_percent,
                "share of stored chunks to re-read and check, longest unchecked first (default "
                "100; 0 skips)")
      ->check(CLI::Range(0.0, 100.0));
  v->add_flag(
      "--remote", a->remote,
      "also check every delivered copy at its destination (workers run the checks; a lost copy is "
      "delivered again)");
  v->add_option("--dest", a->destination, "remote checks of this destination only");
  v->add_option("--test-restore", a->test_restore,
                "restore this many random files to a scratch directory and compare their SHA-256");
  v->add_flag("--json", ctx.json(), "print the report as JSON");
  ctx.AddAdminHandler(
      v, [a](CliContext& c, AdminClient& client) { return Verify(client, *a, c.json()); });
}

}  // namespace shoebox::cli
