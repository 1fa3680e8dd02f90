// `shoebox snapshot`, `shoebox recover` and `shoebox key export`
// (docs/recovery.md, docs/cli.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/recover.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/crypto/keys.h"
#include "common/crypto/sealbox.h"
#include "common/fsutil.h"
#include "common/snapshot/pg_tools.h"
#include "common/status.h"

#include "common/s3/s3_chunkstore.h"

namespace shoebox::cli {

namespace {

// Filled by the options of `snapshot`, `recover` and `key export`.
struct RecoveryCommands {
  bool snapshot_list = false;
  RecoverOptions ro;
  std::string key_file, pool_key_file, to;
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

// The worker pool private key file to put in the kit: --pool-key-file, else
// the first that exists of the quickstart's and the services' places; "" when
// none does.
std::string FindPoolKeyFile(const std::string& given) {
  if (!given.empty()) return given;
  std::vector<std::string> candidates;
  if (const char* s = std::getenv("SHOEBOX_STATE"); s && *s)
    candidates.push_back(std::string(s) + "/pool.key");
  if (!ClientStateDir().empty()) candidates.push_back(ClientStateDir() + "/pool.key");
  if (const char* h = std::getenv("HOME"); h && *h) {
    candidates.push_back(std::string(h) + "/.local/state/shoebox/pool.key");
  }
  candidates.push_back("/etc/shoebox/worker/pool.key");
  candidates.push_back("/var/lib/shoebox/pool.key");
  std::error_code ec;
  for (const std::string& c : candidates) {
    if (std::filesystem::exists(c, ec)) return c;
  }
  return "";
}

std::string KeyId(const Key256& master) {
  // The key check catalog snapshots carry (common/snapshot/catalog_snapshot.h).
  const Key256 ck = DeriveKeys(master).catalog_key;
  HmacSha256 h(ByteSpan(ck.data(), ck.size()));
  Digest d = h.Compute(std::string_view("shoebox catalog key check"));
  return ToHex(ByteSpan(d.data(), 8));
}

// What the recovery kit says.
struct Kit {
  std::string key_path, key_hex, key_id;
  std::string pool_path;  // "" when no pool key was found
  std::string pool_text;  // the pool key file's line; "" when not printed
  bool to_files = false;  // master.key / pool.key are files beside the kit
  grpc::Status rpc;
  v1::ListSnapshotsResponse snaps;
};

std::string KitText(const Kit& k) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string t;
  auto add = [&t](const std::string& line) { absl::StrAppend(&t, line, "\n"); };
  add("SHOEBOX RECOVERY KIT");
  add("====================");
  add("Keep this somewhere safe and away from this server (printed, or in a password manager).");
  add("Whoever holds it can read your backups; without it nobody can, you included.\n");
  add(absl::StrCat("Server:        ", host, " (key file ", k.key_path, "), exported ",
                   When(absl::ToUnixMillis(absl::Now()))));
  add(absl::StrCat("Master key:    ", k.to_files ? "in master.key beside this file" : k.key_hex));
  add(absl::StrCat("Key ID:        ", k.key_id,
                   " (catalog snapshots name the key that sealed them by this ID)"));
  if (k.pool_path.empty()) {
    add("Pool key:      not found here (give --pool-key-file: the workers' worker.pool_key_file);");
    add("               without it destination credentials must be entered again after a loss");
  } else if (k.to_files) {
    add(absl::StrCat("Pool key:      in pool.key beside this file (from ", k.pool_path,
                     "); it opens the destination credentials"));
  } else {
    add(absl::StrCat("Pool key:      ", k.pool_text, "  (the whole line of ", k.pool_path, ")"));
  }
  add("");
  std::string from = "CHUNK_STORE_LOCATION";
  if (k.rpc.ok()) {
    const auto& snaps = k.snaps;
    from = snaps.chunk_store();
    add("Catalog snapshots (the catalog database, sealed with this key):");
    add(absl::StrCat("  in the chunk store ", snaps.chunk_store(), ", under meta/catalog/"));
    add("  and a copy at each local/S3/WebDAV/SFTP destination, under .shoebox/catalog/");
    if (snaps.interval_s() > 0) {
      add(absl::StrCat("  one every ", std::max(1u, snaps.interval_s() / 3600),
                       " hours, the newest ", snaps.keep(), " kept"));
    } else {
      add(absl::StrCat(
          "  only when `shoebox snapshot` is run (coordinator.snapshot_interval_s = 0), "
          "the newest ",
          snaps.keep(), " kept"));
    }
    if (snaps.snapshots_size() > 0) {
      add(absl::StrCat("  newest now: ", snaps.snapshots(0).name(), " (",
                       When(snaps.snapshots(0).created_unix_ms()), ")"));
    } else {
      add("  none yet: run `shoebox snapshot` now");
    }
    if (from.find("s3://") == 0) {
      add("  S3 credentials are not part of this kit: keep the bucket's access key with it");
    }
  } else {
    add(absl::StrCat("Catalog snapshots: the coordinator did not answer (", k.rpc.error_message(),
                     "), so where they are is not shown;"));
    add("  they are in its chunk store (chunk_store.location), under meta/catalog/.");
  }
  add("\nTo recover on a new machine (docs/recovery.md):");
  add("  1. install Shoebox and PostgreSQL; create an empty database (createdb shoebox)");
  if (k.to_files) {
    add("  2. copy master.key (and pool.key) from this kit to the new machine, mode 0600");
  } else {
    add("  2. umask 077; cat > master.key   (paste the master key above, Enter, Ctrl-D;");
    add("     typed this way it stays out of the shell history); pool.key the same way");
  }
  add(absl::StrCat("  3. shoebox recover --key master.key --from ", Quote(from), " \\"));
  add("       --database postgresql://shoebox@127.0.0.1:5432/shoebox");
  add(absl::StrCat("  4. start shoebox-coordinator with that database.url, chunk_store.location = ",
                   Quote(from)));
  add("     and coordinator.key_file = master.key; then `shoebox restore` works again");
  add("  5. give the workers pool.key (worker.pool_key_file) and master.key");
  add("     (worker.master_key_file): destinations deliver again without new credentials");
  return t;
}

// Writes `bytes` to a new file `path`, mode 0600; ALREADY_EXISTS when it is there.
absl::Status WriteNewSecretFile(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("create ", path));
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status st = ErrnoToStatus(errno, absl::StrCat("write ", path));
      ::close(fd);
      ::unlink(path.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    absl::Status st = ErrnoToStatus(errno, absl::StrCat("write ", path));
    ::unlink(path.c_str());
    return st;
  }
  return absl::OkStatus();
}

// `key export --to DIR`: master.key, pool.key and RECOVERY.txt in DIR (made
// 0700 when missing), each 0600; nothing is written when one exists.
int WriteKit(const std::string& dir, const Kit& kit, const std::string& pool_bytes) {
  std::error_code ec;
  const bool made = std::filesystem::create_directories(dir, ec);
  if (ec)
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("key export: cannot create --to ", dir, ": ", ec.message())));
  if (made) ::chmod(dir.c_str(), 0700);
  std::vector<std::pair<std::string, std::string>> files = {{"master.key", kit.key_hex + "\n"},
                                                            {"RECOVERY.txt", KitText(kit)}};
  if (!pool_bytes.empty()) files.insert(files.begin() + 1, {"pool.key", pool_bytes});
  for (const auto& [name, bytes] : files) {
    const std::string path = dir + "/" + name;
    if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
      return Fail(absl::AlreadyExistsError(
          absl::StrCat("key export: ", path,
                       " already exists; nothing was written. Export into an empty "
                       "directory (or remove the old kit first)")));
    }
  }
  std::vector<std::string> written;
  for (const auto& [name, bytes] : files) {
    const std::string path = dir + "/" + name;
    absl::Status st = WriteNewSecretFile(path, bytes);
    if (!st.ok()) {
      for (const std::string& w : written) ::unlink(w.c_str());
      return Fail(Annotate(st, "key export"));
    }
    written.push_back(path);
  }
  (void)FsyncDirectory(dir);
  std::printf("recovery kit written to %s (mode 0600):\n", dir.c_str());
  for (const auto& [name, bytes] : files) std::printf("  %s\n", name.c_str());
  std::printf(
      "key ID %s. Move the directory off this server (a USB stick kept elsewhere, a "
      "password manager) and delete it here.\n",
      kit.key_id.c_str());
  if (pool_bytes.empty()) {
    std::fprintf(stderr,
                 "shoebox: warning: no worker pool key found, so pool.key is not in the kit; "
                 "give --pool-key-file (the workers' worker.pool_key_file)\n");
  }
  return 0;
}

int KeyExport(const RecoveryCommands& rc, CliContext& cli) {
  const std::string path = FindKeyFile(rc.key_file);
  absl::StatusOr<Key256> key = LoadOrCreateMasterKey(path, false);
  if (!key.ok()) {
    return Fail(Annotate(
        key.status(), "key export (give the coordinator's coordinator.key_file with --key-file)"));
  }
  Kit kit;
  kit.key_path = path;
  kit.key_hex = ToHex(ByteSpan(key->data(), key->size()));
  kit.key_id = KeyId(*key);
  kit.to_files = !rc.to.empty();
  // The pool key: checked (LoadSealKeyPair), then copied as it is.
  kit.pool_path = FindPoolKeyFile(rc.pool_key_file);
  std::string pool_bytes;
  if (!kit.pool_path.empty()) {
    absl::StatusOr<SealKeyPair> pool = LoadSealKeyPair(kit.pool_path);
    absl::StatusOr<std::string> bytes =
        pool.ok() ? ReadSecretFile(kit.pool_path) : absl::StatusOr<std::string>(pool.status());
    if (!bytes.ok()) return Fail(Annotate(bytes.status(), "key export: pool key"));
    pool_bytes = *bytes;
    kit.pool_text = std::string(absl::StripAsciiWhitespace(pool_bytes));
  }
  // Where snapshots go, from the coordinator when it answers.
  kit.rpc = grpc::Status(grpc::StatusCode::UNAVAILABLE, "not asked");
  if (absl::StatusOr<AdminClient*> client = cli.Admin(); client.ok()) {
    auto ctx = (*client)->Context(std::chrono::milliseconds(10000));
    kit.rpc = (*client)->stub()->ListSnapshots(ctx.get(), v1::ListSnapshotsRequest(), &kit.snaps);
  }
  if (kit.to_files) return WriteKit(rc.to, kit, pool_bytes);
  if (!::isatty(STDOUT_FILENO)) {
    std::fprintf(stderr,
                 "shoebox: warning: the master key and the pool key are going to a file or pipe, "
                 "not a terminal: whoever reads that output can decrypt every backup. Keep it off "
                 "this server and delete other copies; `shoebox key export --to DIR` writes them "
                 "as files with mode 0600 instead\n");
  }
  std::fputs(KitText(kit).c_str(), stdout);
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
      "the recovery kit: master key, pool key, where catalog snapshots go, how to recover "
      "(printed, or --to DIR as files)");
  key_export->add_option("--key-file", rc->key_file,
                         "master key file (default: $SHOEBOX_STATE/master.key, "
                         "~/.local/state/shoebox/master.key, /var/lib/shoebox/master.key)");
  key_export->add_option(
      "--pool-key-file", rc->pool_key_file,
      "worker pool private key (default: pool.key beside cli.toml or in "
      "$SHOEBOX_STATE, /etc/shoebox/worker/pool.key, /var/lib/shoebox/pool.key)");
  key_export->add_option("--to", rc->to,
                         "write master.key, pool.key and RECOVERY.txt (mode 0600) into this "
                         "directory instead of printing the keys; refuses to overwrite");
  ctx.AddAdminHandler(snapshot,
                      [rc](CliContext&, AdminClient& client) { return Snapshot(*rc, client); });
  ctx.AddHandler(recover, [rc](CliContext&) { return DoRecover(*rc); });
  ctx.AddHandler(key_export, [rc](CliContext& c) { return KeyExport(*rc, c); });
}

}  // namespace shoebox::cli
