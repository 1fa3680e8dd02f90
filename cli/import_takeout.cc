// `shoebox import takeout FILE... [--device NAME]` (issue 21; docs/cli.md,
// docs/transfers.md): a Google Takeout export (.zip or .tgz, split into
// parts or not) into the catalog as the items of device NAME.
//
// Two passes over the archives, nothing extracted to disk:
//   1. every entry: the JSON files are kept in memory (sidecars, album
//      metadata), every other file is hashed (SHA-256, size); then the plan
//      (common/takeout/takeout.h): one item per content, its path, albums
//      and capture date, matched across all the parts given;
//   2. the archives again, in order: the bytes of each planned item stream
//      to AdminService.ImportItems (1 MiB messages), which chunks,
//      deduplicates and stores them as it does an agent's files.
// A re-run sends the same items; the coordinator makes no new version of an
// item it has (same path, size, date and content) and says so.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/import_watch.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/progress.h"
#include "common/status.h"
#include "common/takeout/archive_reader.h"
#include "common/takeout/takeout.h"

namespace shoebox::cli {

namespace {

constexpr size_t kMessageBytes = 1 << 20;     // ImportItemsRequest.data
constexpr uint64_t kMaxJsonBytes = 16 << 20;  // a sidecar or metadata.json larger is skipped

struct ImportArgs {
  std::vector<std::string> files;
  std::string device = "takeout";
  WatchOptions watch;
};

ProgressOptions Progress(const char* operation) {
  ProgressOptions o;
  o.operation = operation;
  return o;
}

bool Skipped(std::string_view path) {
  std::string_view base =
      path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  return base == "archive_browser.html";
}

// Pass 1: the JSON texts and the media entries of every archive.
absl::Status Scan(const std::vector<std::string>& files, std::vector<takeout::Entry>* media,
                  std::map<std::string, std::string>* jsons, std::vector<std::string>* notes) {
  ProgressReporter progress(Progress("takeout scan"));
  for (size_t i = 0; i < files.size(); ++i) {
    absl::Status st = takeout::ForEachArchiveFile(
        files[i], [&](const takeout::ArchiveFile& f, takeout::EntryContent& c) -> absl::Status {
          if (Skipped(f.path)) return absl::OkStatus();
          if (takeout::IsJsonName(f.path)) {
            if (f.size > kMaxJsonBytes) {
              notes->push_back(absl::StrCat(f.path, ": ", f.size, " bytes; not read as a sidecar"));
              return absl::OkStatus();
            }
            std::string text;
            RETURN_IF_ERROR(c.Read(kMessageBytes, [&](std::string_view b) {
              text.append(b);
              return absl::OkStatus();
            }));
            (*jsons)[f.path] = std::move(text);
            return absl::OkStatus();
          }
          Sha256 sha;
          uint64_t size = 0;
          RETURN_IF_ERROR(c.Read(kMessageBytes, [&](std::string_view b) {
            sha.Update(b);
            size += b.size();
            progress.Add(0, static_cast<int64_t>(b.size()));
            return absl::OkStatus();
          }));
          progress.Add(1, 0);
          media->push_back(takeout::Entry{static_cast<int>(i), f.path, size, f.mtime_ns,
                                          DigestToString(sha.Final())});
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
  }
  progress.Finish();
  return absl::OkStatus();
}

int Import(AdminClient& client, const ImportArgs& a) {
  std::vector<takeout::Entry> media;
  std::map<std::string, std::string> jsons;
  std::vector<std::string> notes;
  if (absl::Status st = Scan(a.files, &media, &jsons, &notes); !st.ok()) return FailStatus(st);
  takeout::Plan plan = takeout::MakePlan(media, jsons);
  notes.insert(notes.end(), plan.notes.begin(), plan.notes.end());
  for (const std::string& n : notes) std::fprintf(stderr, "note: %s\n", PrintablePath(n).c_str());

  // Which entry of which archive carries which item.
  std::map<std::pair<int, std::string>, size_t> wanted;
  uint64_t total_bytes = 0;
  for (size_t k = 0; k < plan.items.size(); ++k) {
    const takeout::Entry& e = media[plan.items[k].entry];
    wanted[{e.archive, e.path}] = k;
    total_bytes += e.size;
  }
  std::fprintf(stderr, "takeout: %zu files, %zu distinct items (%s) in %zu archive(s)\n",
               media.size(), plan.items.size(), HumanBytes(total_bytes).c_str(), a.files.size());

  // A whole library may take hours.
  auto ctx = client.Context(std::chrono::hours(48));
  v1::ImportItemsResponse resp;
  std::unique_ptr<grpc::ClientWriter<v1::ImportItemsRequest>> w =
      client.stub()->ImportItems(ctx.get(), &resp);
  v1::ImportItemsRequest msg;
  msg.mutable_header()->set_source(a.device);
  bool open = w->Write(msg);
  ProgressReporter progress(Progress("takeout import"));
  progress.SetTotals(static_cast<int64_t>(plan.items.size()), static_cast<int64_t>(total_bytes));
  std::set<size_t> sent;
  absl::Status local;
  for (size_t i = 0; open && local.ok() && i < a.files.size(); ++i) {
    local = takeout::ForEachArchiveFile(
        a.files[i], [&](const takeout::ArchiveFile& f, takeout::EntryContent& c) -> absl::Status {
          auto it = wanted.find({static_cast<int>(i), f.path});
          if (it == wanted.end() || !sent.insert(it->second).second) return absl::OkStatus();
          const takeout::Item& item = plan.items[it->second];
          const takeout::Entry& e = media[item.entry];
          v1::ImportItemsRequest m;
          v1::ImportItem* im = m.mutable_item();
          im->set_path(item.path);
          im->set_mtime_ns(item.mtime_ns);
          im->set_capture_unix_ns(item.capture_ns);
          for (const std::string& al : item.albums) im->add_albums(al);
          im->set_size(e.size);
          im->set_sha256(e.sha256);
          if (!w->Write(m)) return absl::UnavailableError("the coordinator ended the import");
          uint64_t n = 0;
          RETURN_IF_ERROR(c.Read(kMessageBytes, [&](std::string_view b) -> absl::Status {
            v1::ImportItemsRequest d;
            d.set_data(std::string(b));
            n += b.size();
            if (n > e.size) {
              return absl::DataLossError(absl::StrCat(PrintablePath(a.files[i]), ": ", f.path,
                                                      " grew between the two passes"));
            }
            if (!w->Write(d)) return absl::UnavailableError("the coordinator ended the import");
            progress.Add(0, static_cast<int64_t>(b.size()));
            return absl::OkStatus();
          }));
          if (n != e.size) {
            return absl::DataLossError(absl::StrCat(PrintablePath(a.files[i]), ": ", f.path,
                                                    " has ", n, " bytes now, ", e.size,
                                                    " when it was scanned"));
          }
          progress.Add(1, 0);
          return absl::OkStatus();
        });
    if (absl::IsUnavailable(local)) open = false;  // the coordinator's status says why
  }
  progress.Finish();
  if (local.ok() && open) w->WritesDone();
  if (!local.ok() && !absl::IsUnavailable(local)) {
    ctx->TryCancel();
    w->Finish();
    return FailStatus(local);
  }
  grpc::Status s = w->Finish();
  if (!s.ok()) return FailRpc(s, "import takeout");
  if (sent.size() != plan.items.size()) {
    std::fprintf(stderr, "shoebox: import takeout: %zu of %zu items were not found again\n",
                 plan.items.size() - sent.size(), plan.items.size());
    return 1;
  }
  std::printf(
      "imported %llu items into device '%s': %llu new, %llu already imported (%s; %llu chunks "
      "written, %llu already stored)\n",
      static_cast<unsigned long long>(resp.items()), resp.device().c_str(),
      static_cast<unsigned long long>(resp.new_versions()),
      static_cast<unsigned long long>(resp.already_imported()), HumanBytes(resp.bytes()).c_str(),
      static_cast<unsigned long long>(resp.chunks_written()),
      static_cast<unsigned long long>(resp.chunks_deduplicated()));
  return 0;
}

}  // namespace

void RegisterImportCommands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ImportArgs>();
  auto* import = app.add_subcommand("import", "import a library from outside Shoebox");
  import->require_subcommand(1);
  auto* takeout = import->add_subcommand(
      "takeout", "import a Google Takeout export of Google Photos (.zip / .tgz, all its parts)");
  auto* files =
      takeout->add_option("FILE", a->files, "the Takeout archives (every part of the export)")
          ->check(CLI::ExistingFile);
  takeout->add_option("--device", a->device,
                      "the device the items belong to (created if missing; default takeout)");
  auto* watch = takeout
                    ->add_option("--watch", a->watch.dir,
                                 "import the archives dropped into DIR, each export once it "
                                 "settled, until interrupted")
                    ->check(CLI::ExistingDirectory)
                    ->excludes(files);
  takeout
      ->add_option("--settle", a->watch.settle_seconds,
                   "--watch: seconds an export's archives must stay unchanged (default 600)")
      ->check(CLI::Range(0, 86400))
      ->needs(watch);
  takeout
      ->add_option("--interval", a->watch.interval_seconds,
                   "--watch: seconds between looks at the folder (default 30)")
      ->check(CLI::Range(1, 86400))
      ->needs(watch);
  takeout
      ->add_option("--state", a->watch.state_file,
                   "--watch: where imported exports are remembered (default "
                   "DIR/.shoebox-takeout.json)")
      ->needs(watch);
  takeout->add_flag("--once", a->watch.once, "--watch: one look at the folder, then exit")
      ->needs(watch);
  takeout->callback([takeout, files, watch] {
    if (files->count() == 0 && watch->count() == 0) {
      throw CLI::RequiredError(takeout->get_name() + ": FILE... or --watch DIR");
    }
  });
  ctx.AddAdminHandler(takeout, [a](CliContext&, AdminClient& client) {
    if (a->watch.dir.empty()) return Import(client, *a);
    return WatchTakeoutFolder(a->watch, [&](const std::vector<std::string>& parts) {
      ImportArgs one = *a;
      one.files = parts;
      return Import(client, one);
    });
  });
}

}  // namespace shoebox::cli
