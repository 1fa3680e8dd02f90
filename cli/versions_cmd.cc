// `shoebox versions` and `shoebox restore` (docs/cli.md "Restore"): list
// the versions of files, and restore them as they were at a point in time
// with chunks read through AdminService.ReadChunks.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/restore.h"
#include "cli/restore_repair.h"
#include "common/bytes.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {

struct VersionsArgs {
  std::string device, path, folder, at;
};

struct RestoreArgs {
  std::string device, path, folder, at, to;
  bool overwrite = false;
  int wait_repair = 600;
  // --to-device (issue 22, docs/agent.md "Restore requests").
  bool to_device = false;
  int64_t version = 0;
  int wait = 0;
};

// Fetches chunks through AdminService.ReadChunks in batches.
class GrpcFetcher : public ChunkFetcher {
 public:
  explicit GrpcFetcher(AdminClient* c) : c_(c) {}
  absl::Status Fetch(
      const std::vector<std::string>& ids,
      const std::function<absl::Status(const std::string&, const std::string&)>& sink) override {
    constexpr size_t kBatch = 256;  // the coordinator takes up to 1024 IDs a call
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
  AdminClient* const c_;
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

// PATH and --folder as the catalog knows them; an absolute path is mapped
// through the device's folder roots (ListDevices) and the match printed on
// stderr.
absl::StatusOr<CatalogPath> Resolve(AdminClient& client, const std::string& device,
                                    const std::string& path, const std::string& folder) {
  std::vector<std::string> roots;
  if (NeedsDeviceFolders(path)) {
    v1::ListDevicesResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListDevices(ctx.get(), v1::ListDevicesRequest(), &r);
    if (!s.ok()) return Annotate(FromGrpc(s), "list devices to map an absolute path");
    const v1::Device* found = nullptr;
    for (const auto& d : r.devices()) {
      if (d.name() == device) found = &d;
    }
    if (found == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no device named '", device, "'; `shoebox devices` lists them"));
    }
    roots.assign(found->folders().begin(), found->folders().end());
  }
  ASSIGN_OR_RETURN(CatalogPath p, ResolveCatalogPath(device, path, folder, roots));
  if (!p.note.empty()) std::fprintf(stderr, "shoebox: %s\n", p.note.c_str());
  return p;
}

// The versions of a device's files under `path` (an absolute path on the
// device or one relative to a folder) as of `at`: what `versions` lists and
// `restore` restores.
absl::StatusOr<std::vector<v1::FileVersion>> VersionsAt(AdminClient& client,
                                                        const std::string& device,
                                                        const std::string& path,
                                                        const std::string& folder,
                                                        const std::string& at, bool all_versions,
                                                        CatalogPath* resolved = nullptr) {
  ASSIGN_OR_RETURN(int64_t at_ms, ParseAt(at));
  ASSIGN_OR_RETURN(CatalogPath where, Resolve(client, device, path, folder));
  if (resolved != nullptr) *resolved = where;
  v1::ListVersionsRequest req;
  req.set_device(device);
  req.set_folder(where.folder);
  req.set_path(where.path);
  req.set_at_unix_ms(at_ms);
  req.set_all_versions(all_versions);
  return ListAllVersions(client, req);
}

int Versions(AdminClient& client, const VersionsArgs& a) {
  CatalogPath where;
  auto vs = VersionsAt(client, a.device, a.path, a.folder, a.at, /*all_versions=*/true, &where);
  if (!vs.ok()) return FailStatus(vs.status());
  for (const auto& v : *vs) {
    std::printf("%s  %12llu  %s  %s%s  v%lld\n", FormatTime(v.created_unix_ms()).c_str(),
                (unsigned long long)v.size(), ToHex(v.sha256()).substr(0, 16).c_str(),
                PrintablePath(v.path()).c_str(),
                v.deleted_unix_ms()
                    ? absl::StrCat(" (deleted ", FormatTime(v.deleted_unix_ms()), ")").c_str()
                    : "",
                (long long)v.version_id());
    if (v.chunks_dropped())  // pass-through folder (docs/retention.md)
      std::printf("    (not in the chunk store any more: restore it from a destination below)\n");
    for (const auto& c : v.copies()) {
      std::printf("    %-16s %-10s %s\n", c.destination().c_str(), c.state().c_str(),
                  PrintablePath(c.remote_ref()).c_str());
    }
  }
  if (vs->empty()) {
    std::printf("no versions found\n");
    if (!where.path.empty() && where.note.empty()) {
      std::fprintf(stderr,
                   "shoebox: PATH is relative to a folder root of device %s (DCIM/IMG_0001.jpg "
                   "for /home/you/Pictures/DCIM/IMG_0001.jpg), or give the file's absolute path "
                   "on the device; `shoebox versions %s` lists everything\n",
                   a.device.c_str(), a.device.c_str());
    }
  }
  return 0;
}

// --to-device: a restore request that the device's agent carries out at the
// file's original path (beside it when a different file is there now).
int RestoreToDevice(AdminClient& client, const RestoreArgs& a) {
  if (a.path.empty()) {
    std::fprintf(stderr, "shoebox restore --to-device: --path names the one file to put back\n");
    return 2;
  }
  auto where = Resolve(client, a.device, a.path, a.folder);
  if (!where.ok()) return FailStatus(where.status());
  v1::RequestRestoreRequest req;
  req.set_device(a.device);
  req.set_folder(where->folder);
  req.set_path(where->path);
  req.set_version_id(a.version);
  v1::RestoreRequestInfo info;
  {
    auto ctx = client.Context(std::chrono::seconds(30));
    grpc::Status s = client.stub()->RequestRestore(ctx.get(), req, &info);
    if (!s.ok()) return FailStatus(Annotate(FromGrpc(s), "request the restore"));
  }
  auto print = [&] {
    std::printf("restore request %lld: %s:%s version %lld: %s", (long long)info.id(),
                info.device().c_str(), PrintablePath(info.path()).c_str(),
                (long long)info.version_id(), info.state().c_str());
    if (info.state() == "pending") std::printf(" (waits for the device's agent to connect)");
    if (info.state() == "sent") std::printf(" (the device's agent is restoring it)");
    if (info.state() == "done") {
      std::printf(" (written to %s)",
                  PrintablePath(info.folder() + "/" + info.restored_path()).c_str());
    }
    if (!info.reason().empty()) std::printf(": %s", info.reason().c_str());
    std::printf("\n");
  };
  print();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.wait);
  while ((info.state() == "pending" || info.state() == "sent") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    v1::ListRestoreRequestsRequest lr;
    lr.add_ids(info.id());
    v1::ListRestoreRequestsResponse resp;
    auto ctx = client.Context(std::chrono::seconds(30));
    grpc::Status s = client.stub()->ListRestoreRequests(ctx.get(), lr, &resp);
    if (!s.ok()) return FailStatus(Annotate(FromGrpc(s), "read the restore request"));
    if (resp.requests_size() == 1 && resp.requests(0).state() != info.state()) {
      info = resp.requests(0);
      print();
    }
  }
  if (info.state() == "failed" || info.state() == "expired") return 1;
  return 0;
}

int Restore(AdminClient& client, const RestoreArgs& a) {
  if (a.to_device) return RestoreToDevice(client, a);
  if (a.to.empty()) {
    std::fprintf(stderr, "shoebox restore: --to DIR or --to-device is required\n");
    return 2;
  }
  auto vs = VersionsAt(client, a.device, a.path, a.folder, a.at, /*all_versions=*/false);
  if (!vs.ok()) return FailStatus(vs.status());
  if (vs->empty()) {
    std::fprintf(stderr, "shoebox: nothing to restore for device %s%s%s at that time\n",
                 a.device.c_str(), a.path.empty() ? "" : " path ", PrintablePath(a.path).c_str());
    return 1;
  }
  RestoreOptions ro;
  ro.target_dir = a.to;
  ro.overwrite = a.overwrite;
  std::set<std::string> folders;
  for (const auto& v : *vs) folders.insert(v.folder());
  ro.prefix_folder = folders.size() > 1;
  GrpcFetcher fetcher(&client);
  auto rep = RestoreVersions(*vs, &fetcher, ro);
  if (!rep.ok()) return FailStatus(rep.status());
  // Damaged chunks: name the files, wait for repairs, retry (issue 7).
  rep = RestoreAfterRepair(client, *vs, std::move(*rep), &fetcher, ro, a.wait_repair, stdout);
  if (!rep.ok()) return FailStatus(rep.status());
  std::printf("restored %llu files (%s), %llu already present and identical, %zu failed\n",
              (unsigned long long)rep->files_restored, HumanBytes(rep->bytes_restored).c_str(),
              (unsigned long long)rep->files_skipped, rep->failures.size());
  for (const auto& f : rep->failures)
    std::printf("  FAILED %s: %s\n", f.path.c_str(), f.error.c_str());
  if (!rep->failures.empty()) {
    std::printf("%s\n", RestoreAdvice(*rep).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterVersionCommands(CLI::App& app, CliContext& ctx) {
  auto v = std::make_shared<VersionsArgs>();
  auto* versions = app.add_subcommand("versions", "list the versions of a file or folder");
  versions->add_option("device", v->device, "device name")->required();
  versions->add_option("path", v->path,
                       "file or directory: relative to its folder root, or its absolute path on "
                       "the device");
  versions->add_option("--folder", v->folder, "folder root on the device");
  versions->add_option("--at", v->at, "only what existed at this time")->check(TimeCheck());
  ctx.AddAdminHandler(versions,
                      [v](CliContext&, AdminClient& client) { return Versions(client, *v); });

  auto r = std::make_shared<RestoreArgs>();
  auto* restore = app.add_subcommand("restore", "restore files as they were at a point in time");
  restore->add_option("--device", r->device, "device name")->required();
  restore->add_option("--path", r->path,
                      "file or directory: relative to its folder root, or its absolute path on "
                      "the device");
  restore->add_option("--folder", r->folder, "folder root on the device");
  restore->add_option("--at", r->at, "point in time (default: now)")->check(TimeCheck());
  auto* to = restore->add_option("--to", r->to, "target directory");
  auto* to_device = restore->add_flag(
      "--to-device", r->to_device,
      "put the file back on the device itself, at its original path (beside it when a different "
      "file is there now): a request its agent carries out when it next connects");
  to->excludes(to_device);
  restore->add_option("--version", r->version,
                      "with --to-device: the version ID to put back (default: the newest)");
  restore->add_option("--wait", r->wait,
                      "with --to-device: seconds to wait for the agent's done or failed");
  // One of --to and --to-device: a usage error before any call otherwise.
  restore->parse_complete_callback([to, to_device] {
    if (to->count() == 0 && to_device->count() == 0) {
      throw CLI::RequiredError("--to or --to-device");
    }
  });
  restore->add_flag("--overwrite", r->overwrite, "replace existing files that differ");
  restore->add_option("--wait-repair", r->wait_repair,
                      "seconds to wait for chunks damaged in the chunk store to be repaired from a "
                      "destination copy before restoring those files again (0: only name them)");
  ctx.AddAdminHandler(restore,
                      [r](CliContext&, AdminClient& client) { return Restore(client, *r); });
}

}  // namespace shoebox::cli
