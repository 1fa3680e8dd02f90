#include "cli/recover.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/bytes.h"
#include "common/chunkstore/chunkstore.h"
#include "common/crypto/keys.h"
#include "common/snapshot/catalog_snapshot.h"
#include "common/snapshot/pg_tools.h"
#include "common/status.h"

namespace shoebox::cli {

namespace {

struct Candidate {
  std::string label;  // named object or path
  int64_t created_unix_ms = 0;
  std::function<absl::StatusOr<std::string>()> read;
};

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool IsFile(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open ", PrintablePath(path)));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return ErrnoToStatus(e, absl::StrCat("read ", PrintablePath(path)));
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

// Snapshot files (by name) directly in `dir`.
void ScanDir(const std::string& dir, std::vector<Candidate>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    int64_t t = 0;
    if (!snapshot::ParseFileName(e->d_name, &t)) continue;
    std::string path = absl::StrCat(dir, "/", e->d_name);
    out->push_back({path, t, [path] { return ReadFile(path); }});
  }
  ::closedir(d);
}

// Finds snapshots at `from`, newest first. Sets *store when `from` is a
// chunk store (for the reference check) and *looked to what was searched.
absl::StatusOr<std::vector<Candidate>> FindSnapshots(const std::string& from,
                                                     std::unique_ptr<ChunkStore>* store,
                                                     std::string* looked) {
  std::vector<Candidate> out;
  std::string path = from;
  if (absl::StartsWith(path, "file://")) path = path.substr(7);
  const bool local = absl::StartsWith(path, "/") || from.find("://") == std::string::npos;
  if (local) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (IsFile(path)) {
      int64_t t = 0;
      absl::StatusOr<std::string> bytes = ReadFile(path);
      if (!bytes.ok()) return bytes.status();
      absl::StatusOr<int64_t> created = snapshot::CreatedUnixMs(*bytes, path);
      if (!created.ok()) return created.status();
      t = *created;
      out.push_back({path, t, [path] { return ReadFile(path); }});
      *looked = path;
      return out;
    }
    if (!IsDir(path)) {
      return absl::NotFoundError(
          absl::StrCat("--from ", PrintablePath(from),
                       " is neither a directory nor a snapshot file; give the chunk store location "
                       "(a directory or "
                       "s3://...), a destination's root directory, or a .snap file"));
    }
    const std::string store_dir = absl::StrCat(path, "/meta/catalog");
    const std::string dest_dir = absl::StrCat(path, "/", snapshot::kDestinationDir);
    ScanDir(store_dir, &out);
    ScanDir(dest_dir, &out);
    ScanDir(path, &out);
    *looked = absl::StrCat(store_dir, ", ", dest_dir, " and ", path);
    if (IsDir(store_dir)) {
      absl::StatusOr<std::unique_ptr<ChunkStore>> s = OpenDirChunkStore(path);
      if (s.ok()) *store = std::move(*s);
    }
  } else {
    absl::StatusOr<std::unique_ptr<ChunkStore>> s = OpenChunkStore(from);
    if (!s.ok()) return s.status();
    absl::StatusOr<std::vector<snapshot::Info>> infos = snapshot::List(s->get());
    if (!infos.ok())
      return Annotate(infos.status(), absl::StrCat("list catalog snapshots in ", (*s)->Describe()));
    ChunkStore* raw = s->get();
    for (const snapshot::Info& i : *infos) {
      std::string name = i.name;
      out.push_back({name, i.created_unix_ms, [raw, name] { return raw->GetNamed(name); }});
    }
    *looked = absl::StrCat((*s)->Describe(), "meta/", snapshot::kStorePrefix);
    *store = std::move(*s);
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.created_unix_ms > b.created_unix_ms;
  });
  return out;
}

}  // namespace

absl::StatusOr<RecoverReport> Recover(const RecoverOptions& o,
                                      const std::function<void(const std::string&)>& progress) {
  if (o.key_file.empty() || o.from.empty() || o.database_url.empty()) {
    return absl::InvalidArgumentError("recover needs --key, --from and --database");
  }
  ASSIGN_OR_RETURN(Key256 master, LoadOrCreateMasterKey(o.key_file, false));
  const Key256 catalog_key = DeriveKeys(master).catalog_key;

  std::unique_ptr<ChunkStore> store;
  std::string looked;
  ASSIGN_OR_RETURN(std::vector<Candidate> found, FindSnapshots(o.from, &store, &looked));
  if (!o.snapshot.empty()) {
    std::vector<Candidate> picked;
    for (Candidate& c : found) {
      if (c.label == o.snapshot || absl::EndsWith(c.label, absl::StrCat("/", o.snapshot))) {
        picked.push_back(std::move(c));
      }
    }
    if (picked.empty()) {
      return absl::NotFoundError(absl::StrCat("snapshot ", o.snapshot, " is not at ",
                                              PrintablePath(o.from), " (looked in ", looked,
                                              "); leave out --snapshot for the newest"));
    }
    found = std::move(picked);
  }
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no catalog snapshot found at ", PrintablePath(o.from), " (looked in ", looked,
        "); give the chunk store the coordinator used (its chunk_store.location), or a directory "
        "or "
        ".snap file holding a copy of its meta/catalog/ snapshots; the recovery kit (`shoebox key "
        "export`) names the location"));
  }
  progress(absl::StrCat("found ", found.size(), " snapshot(s); newest ", found[0].label));

  RecoverReport rep;
  std::string dump;
  absl::Status last;
  for (const Candidate& c : found) {
    absl::StatusOr<std::string> sealed = c.read();
    absl::StatusOr<std::string> plain = sealed.ok() ? snapshot::Open(catalog_key, *sealed, c.label)
                                                    : absl::StatusOr<std::string>(sealed.status());
    if (plain.ok()) {
      dump = std::move(*plain);
      rep.snapshot = c.label;
      rep.created_unix_ms = c.created_unix_ms;
      break;
    }
    // Another installation's key is not fixed by trying older snapshots.
    if (absl::IsFailedPrecondition(plain.status())) {
      return absl::FailedPreconditionError(absl::StrCat(plain.status().message(), "; --key ",
                                                        PrintablePath(o.key_file),
                                                        " does not belong to it"));
    }
    last = plain.status();
    rep.skipped.push_back(absl::StrCat(c.label, ": ", plain.status().message()));
    progress(absl::StrCat("cannot use ", c.label, ": ", plain.status().message(),
                          "; trying an older one"));
  }
  if (rep.snapshot.empty()) {
    return absl::DataLossError(absl::StrCat(
        "none of the ", found.size(), " snapshot(s) at ", PrintablePath(o.from),
        " could be opened; the newest: ", rep.skipped.empty() ? last.message() : rep.skipped[0]));
  }
  rep.dump_bytes = dump.size();

  const std::string db = snapshot::RedactDatabaseUrl(o.database_url);
  ASSIGN_OR_RETURN(int64_t relations, snapshot::CountUserRelations(o.database_url));
  if (relations > 0) {
    if (!o.force) {
      return absl::FailedPreconditionError(
          absl::StrCat("database ", db, " is not empty (", relations,
                       " tables, views or sequences); recover into a new empty database "
                       "(createdb), or pass --force "
                       "to drop everything in its public schema first"));
    }
    progress(absl::StrCat("--force: dropping the ", relations, " objects in ", db));
    RETURN_IF_ERROR(snapshot::ClearDatabase(o.database_url));
  }
  progress(absl::StrCat("restoring ", rep.snapshot, " (", rep.dump_bytes, " bytes) into ", db));
  RETURN_IF_ERROR(snapshot::RestoreDatabase(o.database_url, dump));

  // The chunk references: every chunk the catalog says is stored must be in
  // the chunk store.
  if (!o.chunk_store.empty()) {
    ASSIGN_OR_RETURN(store, OpenChunkStore(o.chunk_store));
  }
  if (store != nullptr) {
    progress(absl::StrCat("checking chunk references against ", store->Describe()));
    ASSIGN_OR_RETURN(
        std::string ids,
        snapshot::Psql(o.database_url, "SELECT encode(id, 'hex') FROM chunks WHERE stored"));
    std::set<std::string> referenced;
    for (absl::string_view line : absl::StrSplit(ids, '\n', absl::SkipEmpty()))
      referenced.emplace(line);
    rep.chunks_referenced = referenced.size();
    RETURN_IF_ERROR(store->List([&](const ChunkId& id) {
      referenced.erase(ToHex(ByteSpan(id.data(), id.size())));
      return absl::OkStatus();
    }));
    rep.chunks_checked = true;
    rep.chunk_store = store->Describe();
    rep.chunks_missing = referenced.size();
    for (const std::string& id : referenced) {
      if (rep.missing_examples.size() >= 10) break;
      rep.missing_examples.push_back(id);
    }
  }
  return rep;
}

}  // namespace shoebox::cli
