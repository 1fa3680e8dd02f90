// `shoebox snapshot`, `shoebox recover` and `shoebox key export`
// (docs/recovery.md, docs/cli.md).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/recover.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/snapshot/pg_tools.h"
#include "common/status.h"

#include "common/s3/s3_chunkstore.h"

namespace shoebox::cli {

namespace {

// Filled by the options of `snapshot`, `recover` and `key export`.
struct RecoveryCommands {
  bool snapshot_list = false;
  RecoverOptions ro;
  std::string key_file;
};

int Fail(const absl::Status& s) { return FailStatus(s); }

std::string When(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", absl::FromUnixMillis(unix_ms),
                          absl::LocalTimeZone());
}

std::string Quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$&;|<>()*?[]#~`\\!") == std::string::npos && !s.empty()) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// The master key file `key export` reads: --key-file, else the state
// directories the quickstart and the systemd units use.
std::string FindKeyFile(const std::string& given) {
  if (!given.empty()) return given;
  std::vector<std::string> candidates;
  if (const char* s = std::getenv("SHOEBOX_STATE"); s && *s)
    candidates.push_back(std::string(s) + "/master.key");
  if (!ClientStateDir().empty()) candidates.push_back(ClientStateDir() + "/master.key");
  if (const char* h = std::getenv("HOME"); h && *h) {
    candidates.push_back(std::string(h) + "/.local/state/shoebox/master.key");
  }
  candidates.push_back("/var/lib/shoebox/master.key");
  std::error_code ec;
  for (const std::string& c : candidates) {
    if (std::filesystem::exists(c, ec)) return c;
  }
  return candidates.front();
}

std::string KeyId(const Key256& master) {
  // The key check catalog snapshots carry (common/snapshot/catalog_snapshot.h).
  const Key256 ck = DeriveKeys(master).catalog_key;
  HmacSha256 h(ByteSpan(ck.data(), ck.size()));
  Digest d = h.Compute(std::string_view("shoebox catalog key check"));
  return ToHex(ByteSpan(d.data(), 8));
}

int KeyExport(const RecoveryCommands& rc, CliContext& cli) {
  const std::string path = FindKeyFile(rc.key_file);
  absl::StatusOr<Key256> key = LoadOrCreateMasterKey(path, false);
  if (!key.ok()) {
    return Fail(Annotate(
        key.status(), "key export (give the coordinator's coordinator.key_file with --key-file)"));
  }
  // Where snapshots go, from the coordinator when it answers.
  v1::ListSnapshotsResponse snaps;
  grpc::Status rpc = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not asked");
  if (absl::StatusOr<AdminClient*> client = cli.Admin(); client.ok()) {
    auto ctx = (*client)->Context(std::chrono::milliseconds(10000));
    rpc = (*client)->stub()->ListSnapshots(ctx.get(), v1::ListSnapshotsRequest(), &snaps);
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string hex = ToHex(ByteSpan(key->data(), key->size()));
  std::printf("SHOEBOX RECOVERY KIT\n");
  std::printf("====================\n");
  std::printf(
      "Keep this somewhere safe and away from this server (printed, or in a password manager).\n");
  std::printf("Whoever holds it can read your backups; without it nobody can, you included.\n\n");
  std::printf("Server:        %s (key file %s), exported %s\n", host, path.c_str(),
              When(absl::ToUnixMillis(absl::Now())).c_str());
  std::printf("Master key:    %s\n", hex.c_str());
  std::printf("Key ID:        %s (catalog snapshots name the key that sealed them by this ID)\n\n",
              KeyId(*key).c_str());
  std::string from = "CHUNK_STORE_LOCATION";
  if (rpc.ok()) {
    from = snaps.chunk_store();
    std::printf("Catalog snapshots (the catalog database, sealed with this key):\n");
    std::printf("  in the chunk store %s, under meta/catalog/\n", snaps.chunk_store().c_str());
    std::printf("  and a copy at each local/S3/WebDAV/SFTP destination, under .shoebox/catalog/\n");
    if (snaps.interval_s() > 0) {
      std::printf("  one every %u hours, the newest %u kept\n",
                  snaps.interval_s() / 3600 > 0 ? snaps.interval_s() / 3600 : 1, snaps.keep());
    } else {
      std::printf(
          "  only when `shoebox snapshot` is run (coordinator.snapshot_interval_s = 0), the newest "
          "%u kept\n",
          snaps.keep());
    }
    if (snaps.snapshots_size() > 0) {
      std::printf("  newest now: %s (%s)\n", snaps.snapshots(0).name().c_str(),
                  When(snaps.snapshots(0).created_unix_ms()).c_str());
    } else {
      std::printf("  none yet: run `shoebox snapshot` now\n");
    }
    if (from.find("s3://") == 0) {
      std::printf(
          "  S3 credentials are not part of this kit: keep the bucket's access key with it\n");
    }
  } else {
    std::printf(
        "Catalog snapshots: the coordinator did not answer (%s), so where they are is not shown;\n"
        "  they are in its chunk store (chunk_store.location), under meta/catalog/.\n",
        rpc.error_message().c_str());
  }
  std::printf("\nTo recover on a new machine (docs/recovery.md):\n");
  std::printf("  1. install Shoebox and PostgreSQL; create an empty database (createdb shoebox)\n");
  std::printf("  2. umask 077; echo %s > master.key\n", hex.c_str());
  std::printf(
      "  3. shoebox recover --key master.key --from %s \\\n"
      "       --database postgresql://shoebox@127.0.0.1:5432/shoebox\n",
      Quote(from).c_str());
  std::printf(
      "  4. start shoebox-coordinator with that database.url, chunk_store.location = %s\n"
      "     and coordinator.key_file = master.key; then `shoebox restore` works again\n",
      Quote(from).c_str());
  return 0;
}

int DoRecover(const RecoveryCommands& rc) {
  s3::RegisterS3ChunkStore();
  absl::StatusOr<RecoverReport> rep = Recover(rc.ro, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!rep.ok()) return Fail(rep.status());
  std::printf("recovered the catalog from %s (taken %s) into %s\n", rep->snapshot.c_str(),
              When(rep->created_unix_ms).c_str(),
              snapshot::RedactDatabaseUrl(rc.ro.database_url).c_str());
  for (const std::string& s : rep->skipped) std::printf("  skipped newer snapshot %s\n", s.c_str());
  int code = 0;
  if (rep->chunks_checked) {
    std::printf("chunk references: %llu chunks in the catalog, %llu of them missing from %s\n",
                (unsigned long long)rep->chunks_referenced, (unsigned long long)rep->chunks_missing,
                rep->chunk_store.c_str());
    for (const std::string& id : rep->missing_examples)
      std::printf("  missing chunk %s\n", id.c_str());
    if (rep->chunks_missing > 0) {
      std::printf(
          "files using missing chunks cannot be restored from the chunk store; after starting the "
          "coordinator run `shoebox verify` to list them and repair what a device or destination "
          "still has\n");
      code = 1;
    }
  } else {
    std::printf("chunk references were not checked (give --chunk-store LOCATION to check them)\n");
  }
  std::printf(
      "next: start shoebox-coordinator with database.url = %s, the same chunk_store.location and "
      "coordinator.key_file = %s. Files changed after %s are not in this catalog; agents that "
      "reported them already will not send them again until they change or the agent's index "
      "is reset.\n",
      snapshot::RedactDatabaseUrl(rc.ro.database_url).c_str(), rc.ro.key_file.c_str(),
      When(rep->created_unix_ms).c_str());
  return code;
}

int Snapshot(const RecoveryCommands& rc, AdminClient& client) {
  if (rc.snapshot_list) {
    v1::ListSnapshotsResponse r;
    auto ctx = client.Context();
    grpc::Status s = client.stub()->ListSnapshots(ctx.get(), v1::ListSnapshotsRequest(), &r);
    if (!s.ok()) return FailRpc(s, "list snapshots");
    std::printf("catalog snapshots in %s (newest first; %s, newest %u kept):\n",
                r.chunk_store().c_str(),
                r.interval_s() > 0 ? absl::StrCat("one every ", r.interval_s(), " s").c_str()
                                   : "on demand only",
                r.keep());
    for (const auto& i : r.snapshots()) {
      std::printf("  %s  %s  %llu bytes\n", i.name().c_str(), When(i.created_unix_ms()).c_str(),
                  (unsigned long long)i.size());
    }
    if (r.snapshots_size() == 0) std::printf("  none\n");
    return 0;
  }
  v1::CatalogSnapshot r;
  auto ctx = client.Context(std::chrono::minutes(30));
  grpc::Status s = client.stub()->CreateSnapshot(ctx.get(), v1::CreateSnapshotRequest(), &r);
  if (!s.ok()) return FailRpc(s, "snapshot");
  std::printf("catalog snapshot %s written (%llu bytes, sealed)\n", r.name().c_str(),
              (unsigned long long)r.size());
  return 0;
}

}  // namespace

void RegisterRecoveryCommands(CLI::App& app, CliContext& ctx) {
  auto rc = std::make_shared<RecoveryCommands>();
  auto* snapshot = app.add_subcommand(
      "snapshot", "write a catalog snapshot into the chunk store now (or --list them)");
  snapshot->add_flag("--list", rc->snapshot_list, "list the snapshots instead");

  auto* recover = app.add_subcommand(
      "recover",
      "rebuild the catalog database of a lost server from a catalog snapshot and the master key");
  recover->add_option("--key", rc->ro.key_file, "master key file (from the recovery kit)")
      ->required();
  recover
      ->add_option(
          "--from", rc->ro.from,
          "where the snapshots are: the chunk store (directory or s3://...), a destination "
          "directory, or a .snap file")
      ->required();
  recover->add_option("--database", rc->ro.database_url, "PostgreSQL URL of an empty database")
      ->required();
  recover->add_option(
      "--chunk-store", rc->ro.chunk_store,
      "chunk store to check the catalog's chunk references against (default: --from when "
      "it is one)");
  recover->add_option("--snapshot", rc->ro.snapshot, "a particular snapshot instead of the newest");
  recover->add_flag("--force", rc->ro.force,
                    "drop everything in a database that is not empty first");

  auto* key = app.add_subcommand("key", "the master key");
  key->require_subcommand(1);
  auto* key_export = key->add_subcommand(
      "export",
      "print the recovery kit: the master key, where catalog snapshots go, how to recover");
  key_export->add_option("--key-file", rc->key_file,
                         "master key file (default: $SHOEBOX_STATE/master.key, "
                         "~/.local/state/shoebox/master.key, /var/lib/shoebox/master.key)");
  ctx.AddAdminHandler(snapshot,
                      [rc](CliContext&, AdminClient& client) { return Snapshot(*rc, client); });
  ctx.AddHandler(recover, [rc](CliContext&) { return DoRecover(*rc); });
  ctx.AddHandler(key_export, [rc](CliContext& c) { return KeyExport(*rc, c); });
}

}  // namespace shoebox::cli
