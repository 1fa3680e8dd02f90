// PostgreSQL store (libpqxx 6.4). The only file in the project that includes
// pqxx; every exception is caught in Run() and mapped to a status.
#include "coordinator/store/store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "common/crypto/hash.h"
#include "common/log.h"
#include "common/status.h"
#include "coordinator/queue_policy.h"
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

int SchemaVersion() { return Migrations().back().version; }

namespace {

using shoebox::v1::JobState;
using Tx = pqxx::transaction_base;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Array literals for `$n::type[]` parameters (text format).

// A bytea[] parameter in PostgreSQL's binary array format (sent as a binary
// parameter, so the server neither parses text nor decodes hex):
// ndim, has-null flag, element type OID (17 = bytea), then for the one
// dimension its length and lower bound, then each element as length + bytes.
// All integers are 32-bit big-endian.
pqxx::binarystring ByteaArray(const std::vector<std::string>& v) {
  std::string out;
  size_t total = 20;
  for (const std::string& e : v) total += 4 + e.size();
  out.reserve(total);
  auto put32 = [&out](uint32_t x) {
    out += static_cast<char>(x >> 24);
    out += static_cast<char>(x >> 16);
    out += static_cast<char>(x >> 8);
    out += static_cast<char>(x);
  };
  put32(v.empty() ? 0 : 1);  // dimensions
  put32(0);                  // no NULLs
  put32(17);                 // bytea
  if (!v.empty()) {
    put32(static_cast<uint32_t>(v.size()));
    put32(1);  // lower bound
    for (const std::string& e : v) {
      put32(static_cast<uint32_t>(e.size()));
      out += e;
    }
  }
  return pqxx::binarystring(out);
}

// Numeric arrays in binary format for the hot path; the element type must be
// exactly the one the SQL casts to (OIDs: 20 bigint, 23 int, 21 smallint,
// 16 boolean).
template <typename T>
pqxx::binarystring BinArray(const std::vector<T>& v, uint32_t oid, int width) {
  std::string out;
  out.reserve(20 + v.size() * (4 + width));
  auto put = [&out](uint64_t x, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((x >> (8 * i)) & 0xff);
  };
  put(v.empty() ? 0 : 1, 4);
  put(0, 4);
  put(oid, 4);
  if (!v.empty()) {
    put(v.size(), 4);
    put(1, 4);
    for (const T& e : v) {
      put(static_cast<uint32_t>(width), 4);
      put(static_cast<uint64_t>(static_cast<int64_t>(e)), width);
    }
  }
  return pqxx::binarystring(out);
}
pqxx::binarystring Int8Arr(const std::vector<int64_t>& v) { return BinArray(v, 20, 8); }
pqxx::binarystring Int4Arr(const std::vector<int64_t>& v) { return BinArray(v, 23, 4); }
pqxx::binarystring Int2Arr(const std::vector<int64_t>& v) { return BinArray(v, 21, 2); }
pqxx::binarystring BoolArr(const std::vector<bool>& v) {
  std::vector<int64_t> b(v.begin(), v.end());
  return BinArray(b, 16, 1);
}

template <typename T>
std::string NumArray(const std::vector<T>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    absl::StrAppend(&out, v[i]);
  }
  out += '}';
  return out;
}

// A bigint[] field ("{1,2,3}") as numbers.
std::vector<int64_t> ParseNumArray(const pqxx::field& f) {
  std::vector<int64_t> out;
  if (f.is_null()) return out;
  pqxx::array_parser p = f.as_array();
  for (auto [kind, text] = p.get_next(); kind != pqxx::array_parser::done; std::tie(kind, text) = p.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(std::stoll(text));
  }
  return out;
}

std::string TextArray(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string Bin(const pqxx::field& f) {
  if (f.is_null()) return std::string();
  return pqxx::binarystring(f).str();
}

pqxx::binarystring BinParam(const std::string& s) { return pqxx::binarystring(s); }


// chunk_list: n × (32-byte id ‖ 4-byte big-endian size).
std::string EncodeChunkList(const std::vector<ChunkRefRow>& chunks) {
  std::string out;
  out.reserve(chunks.size() * 36);
  for (const ChunkRefRow& c : chunks) {
    out += c.id;
    out += static_cast<char>((c.size >> 24) & 0xff);
    out += static_cast<char>((c.size >> 16) & 0xff);
    out += static_cast<char>((c.size >> 8) & 0xff);
    out += static_cast<char>(c.size & 0xff);
  }
  return out;
}

void DecodeChunkList(const std::string& list, shoebox::v1::FileVersion* v) {
  for (size_t off = 0; off + 36 <= list.size(); off += 36) {
    auto* c = v->add_chunks();
    c->set_id(list.substr(off, 32));
    const auto* p = reinterpret_cast<const unsigned char*>(list.data() + off + 32);
    c->set_size((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
  }
}

constexpr char kVersionCols[] =
    "v.id, d.name, fo.root, f.path, v.size, v.mtime_ns, v.sha256, v.chunk_list, "
    "epoch_ms(v.created_at), epoch_ms(v.deleted_at), v.state, v.mode, v.chunks_dropped";
constexpr int kVersionColCount = 13;
constexpr char kVersionJoins[] =
    "file_versions v JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id "
    "JOIN devices d ON d.id = fo.device_id";

void VersionFromRow(const pqxx::row& r, int off, shoebox::v1::FileVersion* v) {
  v->set_version_id(r[off + 0].as<int64_t>());
  v->set_device(r[off + 1].c_str());
  v->set_folder(Bin(r[off + 2]));
  v->set_path(Bin(r[off + 3]));
  v->set_size(r[off + 4].as<int64_t>());
  v->set_mtime_ns(r[off + 5].as<int64_t>());
  v->set_sha256(Bin(r[off + 6]));
  DecodeChunkList(Bin(r[off + 7]), v);
  v->set_created_unix_ms(r[off + 8].as<int64_t>());
  v->set_deleted_unix_ms(r[off + 9].as<int64_t>());
  v->set_state(static_cast<shoebox::v1::VersionState>(r[off + 10].as<int>()));
  v->set_mode(r[off + 11].as<int64_t>());
  v->set_chunks_dropped(r[off + 12].as<bool>());  // migration 3 (retention)
}

constexpr char kDestinationCols[] =
    "id, name, kind, settings::text, sealed_credentials, layout, max_concurrency";

// A delivery or verify job done: its state, and for a verify job the
// delivery it checked.
constexpr char kCompleteJobSql[] =
    "WITH j AS (UPDATE jobs SET "
    "  state = CASE WHEN kind = 2 AND NOT $6::boolean THEN 5 ELSE 3 END, "
    "  last_error = CASE WHEN kind = 2 AND NOT $6::boolean "
    "    THEN 'verify: the remote copy is missing or differs; a current version is "
    "delivered again' ELSE last_error END, "
    "  remote_ref = $3, remote_size = $4, remote_checksum = $5, "
    "  finished_at = now(), updated_at = now() "
    "  WHERE id = $1 AND lease_token = $2 AND state = 2 AND lease_deadline >= now() "
    "  RETURNING destination_id, kind, version_id), "
    "d AS (UPDATE destinations SET auth_failed_at = NULL, auth_error = '', "
    "  last_verified_at = CASE WHEN j.kind = 2 THEN now() ELSE last_verified_at END "
    "  FROM j WHERE destinations.id = j.destination_id "
    "  AND (destinations.auth_failed_at IS NOT NULL OR j.kind = 2)), "
    // Verify results (issue 7, docs/verify.md): a good copy marks its
    // delivery verified; a missing or different copy of the file's
    // current version queues that delivery again.
    "ok AS (UPDATE jobs dj SET verified_at = now() FROM j WHERE j.kind = 2 "
    "  AND $6::boolean AND dj.kind = 1 AND dj.version_id = j.version_id "
    "  AND dj.destination_id = j.destination_id), "
    "rd AS (UPDATE jobs dj SET state = 1, attempts = 0, next_attempt_at = now(), "
    "  remote_ref = '', remote_size = 0, remote_checksum = '', finished_at = NULL, "
    "  verified_at = NULL, updated_at = now(), "
    "  last_error = 'verify job ' || $1::bigint || ' found the remote copy missing or "
    "different; delivering it again' "
    "  FROM j, file_versions v, files f WHERE j.kind = 2 AND NOT $6::boolean "
    "  AND dj.kind = 1 AND dj.state = 3 AND dj.version_id = j.version_id "
    "  AND dj.destination_id = j.destination_id AND v.id = j.version_id "
    "  AND f.id = v.file_id AND f.current_version_id = v.id) "
    "SELECT count(*) FROM j";

// Leases past their deadline: back to the queue, or dead after max attempts.
constexpr char kSweepExpiredSql[] =
    "WITH e AS (SELECT id FROM jobs WHERE state = 2 AND lease_deadline < now() "
    "  ORDER BY id FOR UPDATE SKIP LOCKED) "
    "UPDATE jobs j SET state = CASE WHEN j.attempts >= $1 THEN 5 ELSE 1 END, "
    "  last_error = 'lease expired during attempt ' || j.attempts || ' (worker ' || "
    "    COALESCE((SELECT name FROM workers w WHERE w.id = j.lease_owner), '?') || ')', "
    "  finished_at = CASE WHEN j.attempts >= $1 THEN now() END, updated_at = now() "
    "FROM e WHERE j.id = e.id RETURNING j.state";

// Statements run once per stored chunk (thousands per backup) or per job,
// prepared on each pooled connection so PostgreSQL parses them once and
// (after five runs, when no worse) stops planning them.
void PrepareHotStatements(pqxx::connection& c) {
  c.prepare("get_chunk", "SELECT stored, size FROM chunks WHERE id = $1");
  // Marks the chunk stored, counts down the versions waiting for it and
  // creates the deliveries of those it completes: one round trip (migration 5).
  c.prepare("chunk_stored", "SELECT known, completed FROM shoebox_chunk_stored($1, $2, $3)");
  // The job queue: every lease, completion and sweep of every worker.
  c.prepare("find_leasable",
            "WITH w AS (UPDATE workers SET last_seen = now() WHERE id = $1 "
            "  RETURNING kinds, destinations) "
            "SELECT d.id, d.max_concurrency, d.auth_failed_at IS NOT NULL FROM destinations d, w "
            "WHERE d.kind = ANY(w.kinds) AND (cardinality(w.destinations) = 0 OR d.name = "
            "ANY(w.destinations)) ORDER BY d.id");
  // NO KEY UPDATE: serialises leasing for the destination (and with its
  // removal) without blocking the foreign-key checks of new deliveries.
  c.prepare("lock_limited_destination",
            "SELECT max_concurrency, auth_failed_at IS NOT NULL, (last_probe_at IS NULL OR "
            "last_probe_at < now() - $2::int * interval '1 millisecond') FROM destinations "
            "WHERE id = $1 FOR NO KEY UPDATE");
  c.prepare("count_running", "SELECT count(*) FROM jobs WHERE destination_id = $1 AND state = 2");
  c.prepare("lease_from",
            "WITH c AS (SELECT id FROM jobs WHERE state = 1 AND destination_id = "
            "ANY($1::bigint[]) ORDER BY priority DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET state = 2, attempts = j.attempts + 1, lease_owner = $3, "
            "lease_token = $4 || '-' || j.id, "
            "lease_deadline = now() + $5::int * interval '1 millisecond', updated_at = now() "
            "FROM c WHERE j.id = c.id "
            "RETURNING j.id, j.kind, j.lease_token, epoch_ms(j.lease_deadline), j.attempts, "
            "j.destination_id, COALESCE(j.version_id, 0), j.remote_ref, j.priority");
  c.prepare("destinations_by_id",
            absl::StrCat("SELECT ", kDestinationCols, " FROM destinations WHERE id = ANY($1::bigint[])"));
  c.prepare("versions_by_id",
            absl::StrCat("SELECT ", kVersionCols, " FROM ", kVersionJoins, " WHERE v.id = ANY($1::bigint[])"));
  c.prepare("complete_job", kCompleteJobSql);
  c.prepare("sweep_expired", kSweepExpiredSql);
  c.prepare("sweep_retry_due",
            "WITH r AS (SELECT id FROM jobs WHERE state = 4 AND "
            "next_attempt_at <= now() ORDER BY id FOR UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET state = 1, updated_at = now() FROM r "
            "WHERE j.id = r.id");
}

void DestinationFromRow(const pqxx::row& r, shoebox::v1::Destination* d) {
  d->set_id(r[0].as<int64_t>());
  d->set_name(r[1].c_str());
  d->set_kind(r[2].c_str());
  d->set_settings_json(r[3].c_str());
  d->set_sealed_credentials(Bin(r[4]));
  d->set_layout(r[5].c_str());
  d->set_max_concurrency(r[6].as<int64_t>());
}

// Creates one delivery per destination bound to each version's folder (or
// the whole device). Versions must be complete.
//
// Races with BindFolder: a binding committed while a version completes must
// give that version exactly one delivery. Both sides lock the device row
// first (here FOR KEY SHARE, which heartbeats' last_seen updates do not
// block; BindFolder FOR UPDATE), so whichever commits second runs its INSERT
// after the other's commit and, in READ COMMITTED, sees its rows.
uint64_t CreateDeliveries(Tx& tx, const std::vector<int64_t>& version_ids) {
  if (version_ids.empty()) return 0;
  // Device locks, then the jobs: the SQL function of migration 5, shared
  // with recording a stored chunk.
  return tx.exec_params("SELECT shoebox_create_deliveries($1::bigint[])", NumArray(version_ids))[0][0]
      .as<uint64_t>();
}

struct DestFacts {
  std::string name, kind, auth_error;
  uint32_t max_concurrency = 0;
  int64_t auth_failed_ms = 0, last_verified_ms = 0;
  uint32_t running = 0, serving = 0;
};

std::map<int64_t, DestFacts> LoadDestFacts(Tx& tx, uint32_t worker_stale_ms) {
  std::map<int64_t, DestFacts> out;
  pqxx::result r = tx.exec_params(
      "SELECT d.id, d.name, d.kind, d.max_concurrency, epoch_ms(d.auth_failed_at), "
      "d.auth_error, epoch_ms(d.last_verified_at), "
      "(SELECT count(*) FROM jobs j WHERE j.destination_id = d.id AND j.state = 2), "
      "(SELECT count(*) FROM workers w WHERE w.last_seen > now() - $1::int * interval '1 "
      "millisecond' AND d.kind = ANY(w.kinds) AND (cardinality(w.destinations) = 0 OR d.name = "
      "ANY(w.destinations))) "
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
    out[row[0].as<int64_t>()] = f;
  }
  return out;
}

WaitFacts MakeWaitFacts(JobState state, uint32_t attempts, std::string last_error,
                        int64_t next_ms, const DestFacts& d) {
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
  return w;
}

std::string RandomToken() {
  uint8_t b[12];
  SecureRandom(b, sizeof b);
  return ToHex(ByteSpan(b, sizeof b));
}

double Jitter01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string SelectorWhere() {
  return "(cardinality($1::bigint[]) = 0 OR j.id = ANY($1::bigint[])) "
         "AND ($2::text = '' OR j.destination_id = (SELECT id FROM destinations WHERE name = "
         "$2::text)) "
         "AND (cardinality($3::int[]) = 0 OR j.state = ANY($3::int[]))";
}

// ---------------------------------------------------------------------------

class PgStore final : public Store {
 public:
  explicit PgStore(const StoreOptions& o) : options_(o), slots_(o.pool_size) {
    for (size_t i = 0; i < slots_.size(); ++i) free_.push_back(i);
  }

  absl::Status Connect();
  absl::Status Migrate();

  absl::Status Ping() override {
    return Run("ping", false, [](Tx& tx) {
      tx.exec("SELECT 1");
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<int>> AppliedMigrations() override {
    std::vector<int> out;
    RETURN_IF_ERROR(Run("applied migrations", false, [&](Tx& tx) {
      out.clear();
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version"))
        out.push_back(row[0].as<int>());
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<int64_t> UpsertDevice(const std::string& name, const std::string& hostname,
                                       const std::string& agent_version,
                                       const std::vector<std::string>& folders) override {
    int64_t id = 0;
    RETURN_IF_ERROR(Run("register device", true, [&](Tx& tx) {
      id = tx.exec_params1(
                 "INSERT INTO devices (name, hostname, agent_version, last_seen) "
                 "VALUES ($1, $2, $3, now()) ON CONFLICT (name) DO UPDATE SET "
                 "hostname = excluded.hostname, agent_version = excluded.agent_version, "
                 "last_seen = now() RETURNING id",
                 name, hostname, agent_version)[0]
               .as<int64_t>();
      if (!folders.empty()) {
        tx.exec_params(
            "INSERT INTO folders (device_id, root) SELECT $1, r FROM unnest($2::bytea[]) r "
            "ON CONFLICT DO NOTHING",
            id, ByteaArray(folders));
      }
      return absl::OkStatus();
    }));
    return id;
  }

  absl::StatusOr<int64_t> FindDevice(const std::string& name) override {
    int64_t id = 0;
    RETURN_IF_ERROR(Run("find device", false, [&](Tx& tx) {
      pqxx::result r = tx.exec_params("SELECT id FROM devices WHERE name = $1", name);
      if (r.empty()) {
        return absl::NotFoundError(absl::StrCat(
            "device '", name, "' is not registered; the agent must call Hello first"));
      }
      id = r[0][0].as<int64_t>();
      return absl::OkStatus();
    }));
    return id;
  }

  absl::Status RecordHeartbeat(int64_t device_id,
                               const shoebox::v1::HeartbeatRequest& hb) override {
    return Run("heartbeat", kQueueTx, [&](Tx& tx) {
      tx.exec_params(
          "UPDATE devices SET last_seen = now(), agent_files_pending = $2, "
          "agent_bytes_pending = $3, agent_upload_rate_bps = $4, agent_paused = $5 "
          "WHERE id = $1",
          device_id, static_cast<int64_t>(hb.files_pending()),
          static_cast<int64_t>(hb.bytes_pending()), static_cast<int64_t>(hb.upload_rate_bps()),
          hb.paused());
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<Folder>> ListFolders(int64_t device_id) override {
    std::vector<Folder> out;
    RETURN_IF_ERROR(Run("list folders", false, [&](Tx& tx) {
      out.clear();
      for (const auto& row :
           tx.exec_params("SELECT id, root FROM folders WHERE device_id = $1 ORDER BY id",
                          device_id)) {
        out.push_back(Folder{row[0].as<int64_t>(), Bin(row[1])});
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<ReportOutcome>> ReportFiles(
      int64_t device_id, const std::vector<ReportItem>& items) override;

  absl::StatusOr<ChunkStatus> GetChunk(const std::string& id) override {
    ChunkStatus s;
    RETURN_IF_ERROR(Run("get chunk", false, [&](Tx& tx) {
      pqxx::result r =
          tx.exec_prepared("get_chunk", BinParam(id));
      s = ChunkStatus{};
      if (!r.empty()) {
        s.known = true;
        s.stored = r[0][0].as<bool>();
        s.size = r[0][1].as<int64_t>();
      }
      return absl::OkStatus();
    }));
    return s;
  }

  absl::StatusOr<std::vector<int64_t>> MarkChunkStored(const std::string& id, uint32_t size,
                                                       uint64_t stored_size) override {
    std::vector<int64_t> completed;
    // One statement, so its own transaction, committed synchronously: the
    // agent forgets a version once told it is complete. Idempotent: run again
    // after a lost reply it finds the chunk stored and no version waiting.
    RETURN_IF_ERROR(Run("record stored chunk", false, [&](Tx& tx) {
      completed.clear();
      pqxx::result r = tx.exec_prepared("chunk_stored", BinParam(id), static_cast<int64_t>(stored_size),
                                        static_cast<int64_t>(size));
      if (!r[0][0].as<bool>()) {
        return absl::NotFoundError(
            absl::StrCat("chunk ", ToHex(id),
                         " is not referenced by any reported file; report the file first"));
      }
      completed = ParseNumArray(r[0][1]);
      return absl::OkStatus();
    }));
    return completed;
  }

  absl::StatusOr<std::vector<bool>> DeviceMayRead(int64_t device_id,
                                                  const std::vector<std::string>& ids) override {
    std::vector<bool> out;
    RETURN_IF_ERROR(Run("check chunk access", false, [&](Tx& tx) {
      out.assign(ids.size(), false);
      pqxx::result r = tx.exec_params(
          "SELECT u.i FROM unnest($2::bytea[]) WITH ORDINALITY AS u(id, i) "
          "WHERE EXISTS (SELECT 1 FROM device_chunks dc WHERE dc.device_id = $1 AND "
          "dc.chunk_id = u.id) AND EXISTS (SELECT 1 FROM chunks c WHERE c.id = u.id AND "
          "c.stored)",
          device_id, ByteaArray(ids));
      for (const auto& row : r) out[row[0].as<int64_t>() - 1] = true;
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::vector<bool>> ChunksStored(const std::vector<std::string>& ids) override {
    std::vector<bool> out;
    RETURN_IF_ERROR(Run("check chunks", false, [&](Tx& tx) {
      out.assign(ids.size(), false);
      pqxx::result r = tx.exec_params(
          "SELECT u.i FROM unnest($1::bytea[]) WITH ORDINALITY AS u(id, i) "
          "JOIN chunks c ON c.id = u.id WHERE c.stored",
          ByteaArray(ids));
      for (const auto& row : r) out[row[0].as<int64_t>() - 1] = true;
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<shoebox::v1::ListVersionsResponse> ListVersions(
      int64_t device_id, const shoebox::v1::ListVersionsRequest& req) override {
    shoebox::v1::ListVersionsResponse resp;
    const uint32_t limit = req.limit() == 0 ? 1000 : std::min<uint32_t>(req.limit(), 10000);
    RETURN_IF_ERROR(Run("list versions", false, [&](Tx& tx) {
      resp.Clear();
      // `at` is inclusive at millisecond precision; 0 means now.
      const std::string at =
          "(CASE WHEN $5::bigint = 0 THEN now() + interval '1 second' "
          "ELSE to_timestamp(($5::bigint + 1) / 1000.0) END)";
      std::string sql = absl::StrCat(
          "SELECT ", kVersionCols, " FROM ", kVersionJoins,
          " WHERE fo.device_id = $1 AND ($2::bytea = ''::bytea OR fo.root = $2::bytea) "
          "AND ($3::bytea = ''::bytea OR f.path = $3::bytea OR "
          "substring(f.path from 1 for length($3::bytea) + 1) = $3::bytea || '\\x2f'::bytea) "
          "AND v.id > $4 AND v.created_at < ", at,
          " AND ($6::boolean OR (v.id = (SELECT max(v2.id) FROM file_versions v2 "
          "WHERE v2.file_id = v.file_id AND v2.created_at < ", at,
          ") AND (v.deleted_at IS NULL OR v.deleted_at >= ", at, "))) ORDER BY v.id LIMIT $7");
      pqxx::result r = tx.exec_params(sql, device_id, BinParam(req.folder()), BinParam(req.path()),
                                      req.after_version_id(), req.at_unix_ms(),
                                      req.all_versions(), static_cast<int64_t>(limit));
      for (const auto& row : r) VersionFromRow(row, 0, resp.add_versions());
      // Where each version's copies are.
      std::vector<int64_t> ids;
      std::map<int64_t, shoebox::v1::FileVersion*> by_id;
      for (auto& v : *resp.mutable_versions()) {
        ids.push_back(v.version_id());
        by_id[v.version_id()] = &v;
      }
      if (!ids.empty()) {
        static const char* kStateNames[] = {"?",       "pending", "in flight", "delivered",
                                            "retrying", "dead",    "cancelled"};
        for (const auto& row : tx.exec_params(
                 "SELECT j.version_id, d.name, j.state, j.remote_ref, epoch_ms(j.finished_at) "
                 "FROM jobs j JOIN destinations d ON d.id = j.destination_id "
                 "WHERE j.kind = 1 AND j.version_id = ANY($1::bigint[]) ORDER BY j.version_id, d.name",
                 NumArray(ids))) {
          auto it = by_id.find(row[0].as<int64_t>());
          if (it == by_id.end()) continue;
          auto* c = it->second->add_copies();
          c->set_destination(row[1].c_str());
          int st = row[2].as<int>();
          c->set_state(st >= 1 && st <= 6 ? kStateNames[st] : "?");
          if (!row[3].is_null()) c->set_remote_ref(row[3].c_str());
          if (!row[4].is_null()) c->set_finished_unix_ms(row[4].as<int64_t>());
        }
      }
      if (r.size() == limit && limit > 0) {
        resp.set_next_after_version_id(resp.versions(resp.versions_size() - 1).version_id());
      }
      return absl::OkStatus();
    }));
    return resp;
  }

  absl::StatusOr<shoebox::v1::Destination> CreateDestination(
      const shoebox::v1::CreateDestinationRequest& req) override {
    shoebox::v1::Destination d;
    absl::Status st = Run("create destination", true, [&](Tx& tx) {
      pqxx::row r = tx.exec_params1(
          absl::StrCat("INSERT INTO destinations (name, kind, settings, sealed_credentials, "
                       "layout, max_concurrency) VALUES ($1, $2, $3::jsonb, $4, $5, $6) "
                       "RETURNING ",
                       kDestinationCols),
          req.name(), req.kind(), req.settings_json().empty() ? "{}" : req.settings_json(),
          BinParam(req.sealed_credentials()), req.layout(),
          static_cast<int64_t>(req.max_concurrency()));
      DestinationFromRow(r, &d);
      return absl::OkStatus();
    }, /*idempotent=*/false);
    if (absl::IsAlreadyExists(st)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "destination '", req.name(), "' already exists; pick another name"));
    }
    RETURN_IF_ERROR(st);
    return d;
  }

  absl::StatusOr<std::vector<shoebox::v1::Destination>> ListDestinations() override {
    std::vector<shoebox::v1::Destination> out;
    RETURN_IF_ERROR(Run("list destinations", false, [&](Tx& tx) {
      out.clear();
      for (const auto& row :
           tx.exec(absl::StrCat("SELECT ", kDestinationCols, " FROM destinations ORDER BY id"))) {
        DestinationFromRow(row, &out.emplace_back());
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<uint64_t> BindFolder(const std::string& device, const std::string& folder,
                                      const std::string& destination, bool backfill) override {
    uint64_t created = 0;
    RETURN_IF_ERROR(Run("bind folder", true, [&](Tx& tx) {
      // FOR UPDATE: serialises with CreateDeliveries (see there).
      pqxx::result d =
          tx.exec_params("SELECT id FROM devices WHERE name = $1 FOR UPDATE", device);
      if (d.empty()) {
        return absl::NotFoundError(absl::StrCat("device: no device named '", device,
                                                "'; `shoebox devices` lists them"));
      }
      const int64_t device_id = d[0][0].as<int64_t>();
      int64_t folder_id = 0;
      if (!folder.empty()) {
        pqxx::result f = tx.exec_params(
            "SELECT id FROM folders WHERE device_id = $1 AND root = $2", device_id,
            BinParam(folder));
        if (f.empty()) {
          return absl::NotFoundError(absl::StrCat(
              "folder: device '", device, "' has no folder ", PrintablePath(folder),
              "; folders are the roots the agent announced in Hello"));
        }
        folder_id = f[0][0].as<int64_t>();
      }
      pqxx::result dst = tx.exec_params("SELECT id FROM destinations WHERE name = $1", destination);
      if (dst.empty()) {
        return absl::NotFoundError(absl::StrCat("destination: no destination named '",
                                                destination, "'; create it first"));
      }
      const int64_t dest_id = dst[0][0].as<int64_t>();
      tx.exec_params(
          "INSERT INTO bindings (device_id, folder_id, destination_id) "
          "VALUES ($1, NULLIF($2::bigint, 0), $3) ON CONFLICT DO NOTHING",
          device_id, folder_id, dest_id);
      created = 0;
      if (backfill) {
        created = tx.exec_params(
                        "INSERT INTO jobs (kind, state, destination_id, version_id, device_id) "
                        "SELECT 1, 1, $3, v.id, fo.device_id FROM files f "
                        "JOIN folders fo ON fo.id = f.folder_id "
                        "JOIN file_versions v ON v.id = f.current_version_id "
                        "WHERE fo.device_id = $1 AND ($2::bigint = 0 OR fo.id = $2::bigint) "
                        "AND v.state = 2 AND v.deleted_at IS NULL "
                        "AND NOT v.chunks_dropped "  // pass-through: released (retention)
                        "ON CONFLICT (version_id, destination_id) WHERE kind = 1 DO NOTHING",
                        device_id, folder_id, dest_id)
                      .affected_rows();
      }
      return absl::OkStatus();
    }));
    return created;
  }

  absl::StatusOr<std::vector<shoebox::v1::Device>> ListDevices() override {
    std::vector<shoebox::v1::Device> out;
    RETURN_IF_ERROR(Run("list devices", false, [&](Tx& tx) {
      out.clear();
      std::map<int64_t, size_t> index;
      for (const auto& row : tx.exec(
               "SELECT id, name, hostname, epoch_ms(last_seen), revoked FROM devices ORDER BY id")) {
        shoebox::v1::Device& d = out.emplace_back();
        d.set_id(row[0].as<int64_t>());
        d.set_name(row[1].c_str());
        d.set_hostname(row[2].c_str());
        d.set_last_seen_unix_ms(row[3].as<int64_t>());
        d.set_revoked(row[4].as<bool>());
        index[d.id()] = out.size() - 1;
      }
      for (const auto& row : tx.exec("SELECT device_id, root FROM folders ORDER BY device_id, id")) {
        auto it = index.find(row[0].as<int64_t>());
        if (it != index.end()) out[it->second].add_folders(Bin(row[1]));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<int64_t> RegisterWorker(const WorkerRegistration& reg) override {
    int64_t id = 0;
    RETURN_IF_ERROR(Run("register worker", false, [&](Tx& tx) {
      id = tx.exec_params1(
                 "INSERT INTO workers (name, kinds, destinations, max_concurrency, version, "
                 "last_seen) VALUES ($1, $2::text[], $3::text[], $4, $5, now()) "
                 "ON CONFLICT (name) DO UPDATE SET kinds = excluded.kinds, "
                 "destinations = excluded.destinations, max_concurrency = "
                 "excluded.max_concurrency, version = excluded.version, last_seen = now() "
                 "RETURNING id",
                 reg.name, TextArray(reg.kinds), TextArray(reg.destinations),
                 static_cast<int64_t>(reg.max_concurrency), reg.version)[0]
               .as<int64_t>();
      return absl::OkStatus();
    }));
    return id;
  }

  absl::StatusOr<int64_t> FindWorker(const std::string& name) override {
    int64_t id = 0;
    RETURN_IF_ERROR(Run("find worker", false, [&](Tx& tx) {
      pqxx::result r = tx.exec_params("SELECT id FROM workers WHERE name = $1", name);
      if (r.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "worker '", name, "' is not registered; call RegisterWorker before LeaseJobs"));
      }
      id = r[0][0].as<int64_t>();
      return absl::OkStatus();
    }));
    return id;
  }

  absl::StatusOr<std::vector<shoebox::v1::Job>> LeaseJobs(const LeaseParams& p) override;

  absl::StatusOr<shoebox::v1::RenewLeaseResponse> RenewLease(int64_t job_id,
                                                             const std::string& token,
                                                             uint32_t lease_ms) override {
    shoebox::v1::RenewLeaseResponse resp;
    RETURN_IF_ERROR(Run("renew lease", kQueueTx, [&](Tx& tx) {
      resp.Clear();
      pqxx::result r = tx.exec_params(
          "UPDATE jobs SET lease_deadline = now() + $3::int * interval '1 millisecond', "
          "updated_at = now() WHERE id = $1 AND lease_token = $2 AND state = 2 AND "
          "lease_deadline >= now() RETURNING epoch_ms(lease_deadline)",
          job_id, token, static_cast<int64_t>(lease_ms));
      if (!r.empty()) {
        resp.set_lease_deadline_unix_ms(r[0][0].as<int64_t>());
        return absl::OkStatus();
      }
      pqxx::result s = tx.exec_params(
          "SELECT state, lease_token = $2 FROM jobs WHERE id = $1", job_id, token);
      if (s.empty()) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
      if (s[0][0].as<int>() == shoebox::v1::JOB_STATE_CANCELLED && s[0][1].as<bool>()) {
        resp.set_cancelled(true);
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id, ": the lease was lost or expired; stop working on it and lease again"));
    }));
    return resp;
  }

  absl::Status CompleteJob(const shoebox::v1::CompleteJobRequest& req) override {
    return Run("complete job", kQueueTx, [&](Tx& tx) {
      pqxx::result r = tx.exec_prepared(
          "complete_job",
          req.job_id(), req.lease_token(), req.remote_ref(),
          static_cast<int64_t>(req.remote_size()), req.remote_checksum(), req.verified_ok());
      if (r[0][0].as<int64_t>() == 1) return absl::OkStatus();
      pqxx::result s = tx.exec_params(
          "SELECT state, lease_token = $2 FROM jobs WHERE id = $1", req.job_id(),
          req.lease_token());
      if (s.empty()) {
        return absl::NotFoundError(absl::StrCat("job ", req.job_id(), " does not exist"));
      }
      const int state = s[0][0].as<int>();
      const bool mine = s[0][1].as<bool>();
      if (mine && (state == shoebox::v1::JOB_STATE_DONE || state == shoebox::v1::JOB_STATE_DEAD)) {
        return absl::OkStatus();  // completed before with this lease
      }
      if (mine && state == shoebox::v1::JOB_STATE_CANCELLED) {
        return absl::FailedPreconditionError(
            absl::StrCat("job ", req.job_id(), " was cancelled by an admin; drop it"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", req.job_id(),
          ": the lease was lost or expired and the job went back to the queue; drop the result"));
    });
  }

  absl::StatusOr<shoebox::v1::FailJobResponse> FailJob(const FailParams& p) override;

  absl::Status RunInTransaction(
      const char* what, const std::function<absl::Status(Tx&)>& fn) override {
    return Run(what, true, [&](Tx& tx) { return fn(tx); });
  }

  absl::StatusOr<SweepResult> Sweep(uint32_t max_attempts) override {
    SweepResult res;
    RETURN_IF_ERROR(Run("sweep leases", kQueueTx, [&](Tx& tx) {
      res = SweepResult{};
      for (const auto& row : tx.exec_prepared(
               "sweep_expired",
               static_cast<int64_t>(max_attempts))) {
        if (row[0].as<int>() == shoebox::v1::JOB_STATE_DEAD) {
          ++res.dead;
        } else {
          ++res.requeued;
        }
      }
      res.retry_due = tx.exec_prepared("sweep_retry_due").affected_rows();
      return absl::OkStatus();
    }));
    return res;
  }

  absl::StatusOr<std::vector<shoebox::v1::JobInfo>> ListJobs(
      const shoebox::v1::ListJobsRequest& req, uint32_t worker_stale_ms) override {
    std::vector<shoebox::v1::JobInfo> out;
    const uint32_t limit = req.limit() == 0 ? 1000 : std::min<uint32_t>(req.limit(), 100000);
    std::vector<int> states(req.states().begin(), req.states().end());
    RETURN_IF_ERROR(Run("list jobs", true, [&](Tx& tx) {
      out.clear();
      auto facts = LoadDestFacts(tx, worker_stale_ms);
      pqxx::result r = tx.exec_params(
          "SELECT j.id, j.kind, j.state, j.destination_id, COALESCE(dev.name, ''), "
          "COALESCE(f.path, ''::bytea), j.attempts, j.last_error, epoch_ms(j.next_attempt_at), "
          "epoch_ms(j.created_at), j.priority "
          "FROM jobs j JOIN destinations d ON d.id = j.destination_id "
          "LEFT JOIN devices dev ON dev.id = j.device_id "
          "LEFT JOIN file_versions v ON v.id = j.version_id "
          "LEFT JOIN files f ON f.id = v.file_id "
          "WHERE (cardinality($1::int[]) = 0 OR j.state = ANY($1::int[])) "
          "AND ($2::text = '' OR d.name = $2::text) ORDER BY j.id LIMIT $3",
          NumArray(states), req.destination(), static_cast<int64_t>(limit));
      for (const auto& row : r) {
        shoebox::v1::JobInfo& j = out.emplace_back();
        j.set_job_id(row[0].as<int64_t>());
        j.set_kind(static_cast<shoebox::v1::JobKind>(row[1].as<int>()));
        j.set_state(static_cast<JobState>(row[2].as<int>()));
        const DestFacts& d = facts[row[3].as<int64_t>()];
        j.set_destination(d.name);
        j.set_device(row[4].c_str());
        j.set_path(Bin(row[5]));
        j.set_attempts(row[6].as<int64_t>());
        j.set_last_error(row[7].c_str());
        j.set_next_attempt_unix_ms(row[8].as<int64_t>());
        j.set_created_unix_ms(row[9].as<int64_t>());
        j.set_priority(row[10].as<int>());
        j.set_waiting_reason(WaitingReason(
            MakeWaitFacts(j.state(), j.attempts(), j.last_error(), j.next_attempt_unix_ms(), d)));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<uint64_t> CancelJobs(const shoebox::v1::JobSelector& sel) override {
    uint64_t n = 0;
    RETURN_IF_ERROR(CheckSelectorDestination(sel));
    std::vector<int64_t> ids(sel.job_ids().begin(), sel.job_ids().end());
    std::vector<int> states(sel.states().begin(), sel.states().end());
    RETURN_IF_ERROR(Run("cancel jobs", false, [&](Tx& tx) {
      n = tx.exec_params(absl::StrCat("UPDATE jobs j SET state = 6, finished_at = now(), "
                                      "updated_at = now() WHERE ",
                                      SelectorWhere(), " AND j.state IN (1, 2, 4, 5)"),
                         NumArray(ids), sel.destination(), NumArray(states))
              .affected_rows();
      return absl::OkStatus();
    }));
    return n;
  }

  absl::StatusOr<uint64_t> SetJobPriority(const shoebox::v1::JobSelector& sel,
                                          int32_t priority) override {
    uint64_t n = 0;
    RETURN_IF_ERROR(CheckSelectorDestination(sel));
    std::vector<int64_t> ids(sel.job_ids().begin(), sel.job_ids().end());
    std::vector<int> states(sel.states().begin(), sel.states().end());
    RETURN_IF_ERROR(Run("set job priority", true, [&](Tx& tx) {
      n = tx.exec_params(absl::StrCat("UPDATE jobs j SET priority = $4::int, updated_at = now() WHERE ",
                                      SelectorWhere(), " AND j.state IN (1, 2, 4)"),
                         NumArray(ids), sel.destination(), NumArray(states), priority)
              .affected_rows();
      return absl::OkStatus();
    }));
    return n;
  }

  absl::StatusOr<uint64_t> RetryJobs(const shoebox::v1::JobSelector& sel) override {
    uint64_t n = 0;
    RETURN_IF_ERROR(CheckSelectorDestination(sel));
    std::vector<int64_t> ids(sel.job_ids().begin(), sel.job_ids().end());
    std::vector<int> states(sel.states().begin(), sel.states().end());
    RETURN_IF_ERROR(Run("retry jobs", true, [&](Tx& tx) {
      // An admin retry also lifts an authentication pause of the
      // destinations concerned.
      tx.exec_params(
          "UPDATE destinations SET auth_failed_at = NULL, auth_error = '', last_probe_at = NULL "
          "WHERE auth_failed_at IS NOT NULL AND ($2::text = '' OR name = $2::text) AND "
          "(cardinality($1::bigint[]) = 0 OR id IN (SELECT destination_id FROM jobs WHERE id = "
          "ANY($1::bigint[])))",
          NumArray(ids), sel.destination());
      n = tx.exec_params(absl::StrCat("UPDATE jobs j SET state = 1, attempts = 0, "
                                      "next_attempt_at = now(), finished_at = NULL, "
                                      "updated_at = now() WHERE ",
                                      SelectorWhere(), " AND j.state IN (4, 5, 6)"),
                         NumArray(ids), sel.destination(), NumArray(states))
              .affected_rows();
      return absl::OkStatus();
    }));
    return n;
  }

  absl::StatusOr<std::vector<uint64_t>> JobCountsByState() override {
    std::vector<uint64_t> out;
    RETURN_IF_ERROR(Run("count jobs", false, [&](Tx& tx) {
      out.assign(7, 0);
      for (const auto& row : tx.exec("SELECT state, count(*) FROM jobs GROUP BY state")) {
        const int s = row[0].as<int>();
        if (s >= 0 && s < 7) out[s] = row[1].as<int64_t>();
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<shoebox::v1::StatusResponse> GetStatus(uint32_t worker_stale_ms) override;

  absl::Status Audit(const AuditEntry& e) override {
    return Run("audit", false, [&](Tx& tx) {
      tx.exec_params(
          "INSERT INTO audit_log (actor_kind, actor, action, target, allowed, detail) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          e.actor_kind, e.actor, e.action, e.target, e.allowed, e.detail);
      return absl::OkStatus();
    }, /*idempotent=*/false);
  }

  absl::StatusOr<std::vector<AuditEntry>> RecentAudit(uint32_t limit) override {
    std::vector<AuditEntry> out;
    RETURN_IF_ERROR(Run("read audit log", false, [&](Tx& tx) {
      out.clear();
      for (const auto& row : tx.exec_params(
               "SELECT actor_kind, actor, action, target, allowed, detail FROM audit_log "
               "ORDER BY id DESC LIMIT $1",
               static_cast<int64_t>(limit))) {
        out.push_back(AuditEntry{row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str(),
                                 row[4].as<bool>(), row[5].c_str()});
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status CreateEnrollToken(const std::string& token_sha256, const std::string& device,
                                 const std::string& worker, int64_t expires_unix_ms) override {
    return Run("create enroll token", false, [&](Tx& tx) {
      tx.exec_params(
          "INSERT INTO enroll_tokens (token_sha256, device, worker, expires_at) "
          "VALUES ($1, $2, $3, to_timestamp($4::bigint / 1000.0))",
          BinParam(token_sha256), device, worker, expires_unix_ms);
      return absl::OkStatus();
    }, /*idempotent=*/false);
  }

  static std::string FormatUtcMs(int64_t ms) {
    return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
  }

  absl::StatusOr<std::vector<shoebox::v1::FileReport>> DamagedFilesOf(int64_t device_id,
                                                                     uint32_t limit) override {
    std::vector<shoebox::v1::FileReport> out;
    RETURN_IF_ERROR(Run("damaged files of device", false, [&](Tx& tx) {
      out.clear();
      if (tx.exec("SELECT 1 FROM chunk_damage WHERE repaired_at IS NULL LIMIT 1").empty())
        return absl::OkStatus();  // the usual case: one cheap probe
      std::set<std::pair<std::string, std::string>> seen;
      for (const auto& row : tx.exec_params(
               "SELECT fo.root, f.path, v.size, v.mtime_ns, v.sha256, v.chunk_list, d.chunk_id "
               "FROM chunk_damage d JOIN file_versions v ON position(d.chunk_id IN v.chunk_list) > 0 "
               "JOIN files f ON f.id = v.file_id AND f.current_version_id = v.id "
               "JOIN folders fo ON fo.id = f.folder_id "
               "WHERE d.repaired_at IS NULL AND fo.device_id = $1 AND v.deleted_at IS NULL "
               "AND v.state = 2 AND NOT COALESCE(v.chunks_dropped, false) ORDER BY v.id LIMIT $2",
               device_id, static_cast<int64_t>(limit))) {
        // position() matches bytes at any offset: check a chunk-ID slot.
        const std::string list = Bin(row[5]), id = Bin(row[6]);
        bool slot = false;
        for (size_t off = 0; off + 36 <= list.size() && !slot; off += 36) slot = list.compare(off, 32, id) == 0;
        if (!slot || !seen.emplace(Bin(row[0]), Bin(row[1])).second) continue;
        auto& f = out.emplace_back();
        f.set_folder(Bin(row[0]));
        f.set_path(Bin(row[1]));
        f.set_op(shoebox::v1::FileReport::OP_UPSERT);
        f.set_size(row[2].as<uint64_t>());
        f.set_mtime_ns(row[3].as<int64_t>());
        f.set_sha256(Bin(row[4]));
      }
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<std::string> ConsumeEnrollToken(const std::string& token_sha256,
                                                 const std::string& role,
                                                 const std::string& used_by) override {
    std::string name;
    RETURN_IF_ERROR(Run("use enroll token", true, [&](Tx& tx) {
      pqxx::result r = tx.exec_params(
          "SELECT device, worker, epoch_ms(expires_at), epoch_ms(used_at), used_by, "
          "expires_at < now() FROM enroll_tokens WHERE token_sha256 = $1 FOR UPDATE",
          BinParam(token_sha256));
      if (r.empty()) {
        return absl::NotFoundError(
            "enroll token is not known to this coordinator (mistyped, forged, or issued by another "
            "coordinator); ask the admin for a new one: shoebox enroll-token");
      }
      const std::string device = r[0][0].c_str(), worker = r[0][1].c_str();
      if (!r[0][3].is_null() && r[0][3].as<int64_t>() != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "enroll token was already used at ", FormatUtcMs(r[0][3].as<int64_t>()), " (by ",
            r[0][4].c_str(), "); a token works once: ask the admin for a new one"));
      }
      if (r[0][5].as<bool>()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "enroll token expired at ", FormatUtcMs(r[0][2].as<int64_t>()),
            "; ask the admin for a new one (shoebox enroll-token --ttl ...)"));
      }
      const std::string token_role = device.empty() ? "worker" : "device";
      if (token_role != role) {
        return absl::PermissionDeniedError(absl::StrCat(
            "enroll token is for a ", token_role, ", not a ", role, "; use shoebox-",
            token_role == "device" ? "agent" : "worker", " enroll with it"));
      }
      tx.exec_params("UPDATE enroll_tokens SET used_at = now(), used_by = $2 WHERE token_sha256 = $1",
                     BinParam(token_sha256), used_by);
      name = device.empty() ? worker : device;
      // A new token for a revoked device is the admin letting it back in.
      if (!device.empty()) tx.exec_params("UPDATE devices SET revoked = false WHERE name = $1", device);
      return absl::OkStatus();
    }, /*idempotent=*/false));
    return name;
  }

  absl::Status RecordCertificate(const CertificateRow& c) override {
    return Run("record certificate", true, [&](Tx& tx) {
      tx.exec_params(
          "INSERT INTO certificates (serial, role, name, fingerprint, expires_at) "
          "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0)) ON CONFLICT (serial) DO NOTHING",
          c.serial, c.role, c.name, c.fingerprint, c.expires_unix_ms);
      return absl::OkStatus();
    });
  }

  static CertificateRow CertFromRow(const pqxx::row& row) {
    CertificateRow c;
    c.serial = row[0].c_str();
    c.role = row[1].c_str();
    c.name = row[2].c_str();
    c.fingerprint = row[3].c_str();
    c.issued_unix_ms = row[4].as<int64_t>();
    c.expires_unix_ms = row[5].as<int64_t>();
    c.revoked_unix_ms = row[6].as<int64_t>();
    return c;
  }
  static constexpr char kCertColumns[] =
      "serial, role, name, fingerprint, epoch_ms(issued_at), epoch_ms(expires_at), "
      "epoch_ms(revoked_at)";

  absl::StatusOr<CertificateRow> GetCertificate(const std::string& serial) override {
    CertificateRow out;
    RETURN_IF_ERROR(Run("look up certificate", false, [&](Tx& tx) {
      pqxx::result r = tx.exec_params(
          absl::StrCat("SELECT ", kCertColumns, " FROM certificates WHERE serial = $1"), serial);
      if (r.empty()) return absl::NotFoundError(absl::StrCat("certificate ", serial, " is not recorded"));
      out = CertFromRow(r[0]);
      return absl::OkStatus();
    }));
    return out;
  }

  absl::StatusOr<uint64_t> RevokeIdentity(const std::string& role, const std::string& name) override {
    uint64_t n = 0;
    RETURN_IF_ERROR(Run("revoke", true, [&](Tx& tx) {
      if (tx.exec_params("SELECT 1 FROM certificates WHERE role = $1 AND name = $2", role, name)
              .empty()) {
        return absl::NotFoundError(absl::StrCat("no certificate was issued to ", role, " '", name,
                                                "'; see shoebox certs"));
      }
      n = tx.exec_params(
                "UPDATE certificates SET revoked_at = now() "
                "WHERE role = $1 AND name = $2 AND revoked_at IS NULL",
                role, name)
              .affected_rows();
      if (role == "device") tx.exec_params("UPDATE devices SET revoked = true WHERE name = $1", name);
      return absl::OkStatus();
    }, /*idempotent=*/false));
    return n;
  }

  absl::StatusOr<std::vector<CertificateRow>> ListCertificates() override {
    std::vector<CertificateRow> out;
    RETURN_IF_ERROR(Run("list certificates", false, [&](Tx& tx) {
      out.clear();
      for (const auto& row :
           tx.exec(absl::StrCat("SELECT ", kCertColumns, " FROM certificates ORDER BY issued_at DESC, serial")))
        out.push_back(CertFromRow(row));
      return absl::OkStatus();
    }));
    return out;
  }

 private:
  struct Outcome {
    absl::Status status;
    bool retry = false;
  };

  absl::Status CheckSelectorDestination(const shoebox::v1::JobSelector& sel) {
    if (sel.destination().empty()) return absl::OkStatus();
    return Run("find destination", false, [&](Tx& tx) {
      if (tx.exec_params("SELECT 1 FROM destinations WHERE name = $1", sel.destination())
              .empty()) {
        return absl::NotFoundError(absl::StrCat("destination: no destination named '",
                                                sel.destination(), "'"));
      }
      return absl::OkStatus();
    });
  }

  // Runs `fn` in a transaction (`txn`) or in autocommit mode, retrying
  // ABORTED at once and UNAVAILABLE (lost connection before COMMIT) while
  // unavailable_retry_ms lasts.
  // Queue transitions commit without waiting for the WAL flush: a database
  // crash may forget the last moments of lease/complete/fail, which at worst
  // repeats an (idempotent) delivery. Catalog and chunk records stay durable.
  static constexpr int kQueueTx = 2;

  // `idempotent`: running `fn` again after a COMMIT whose outcome is unknown
  // gives the same result, so such a transaction is retried too.
  template <typename F>
  absl::Status Run(const char* what, int txn, F&& fn, bool idempotent = true) {
    const auto start = Clock::now();
    int attempt = 0;
    bool logged = false;
    for (;;) {
      Outcome o = RunOnce(what, txn, fn, idempotent);
      if (o.status.ok() || !o.retry) {
        if (logged && o.status.ok()) {
          SPDLOG_INFO("event=db_reconnected op=\"{}\" after_ms={}", what,
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
                          .count());
        }
        return o.status;
      }
      ++attempt;
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      if (absl::IsAborted(o.status)) {
        if (attempt > 20) return o.status;
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + (attempt % 8)));
        continue;
      }
      if (elapsed > options_.unavailable_retry_ms) return o.status;
      if (!logged) {
        SPDLOG_WARN("event=db_unavailable op=\"{}\" error=\"{}\" action=retrying", what,
                    std::string(o.status.message()));
        logged = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * attempt, 1000)));
    }
  }

  template <typename F>
  Outcome RunOnce(const char* what, int txn, F& fn, bool idempotent) {
    size_t slot = Acquire();
    Outcome o;
    bool broken = false;
    try {
      if (!slots_[slot] || !slots_[slot]->is_open()) {
        slots_[slot].reset();
        slots_[slot] = std::make_unique<pqxx::connection>(options_.url);
        PrepareHotStatements(*slots_[slot]);
      }
      pqxx::connection& c = *slots_[slot];
      if (txn) {
        pqxx::work w(c);
        if (txn == kQueueTx) w.exec("SET LOCAL synchronous_commit = off");
        o.status = fn(w);
        if (o.status.ok()) w.commit();
        // A transaction that saw a conflict asks to be run again.
        if (absl::IsAborted(o.status)) o.retry = true;
      } else {
        pqxx::nontransaction n(c);
        o.status = fn(n);
      }
    } catch (const pqxx::in_doubt_error& e) {
      broken = true;
      o.retry = idempotent;
      o.status = absl::UnavailableError(absl::StrCat(
          what, ": the database connection broke during COMMIT, the outcome is unknown; "
                "retry the call: ", e.what()));
    } catch (const pqxx::statement_completion_unknown& e) {
      broken = true;
      o.retry = idempotent;
      o.status = absl::UnavailableError(
          absl::StrCat(what, ": the outcome of the statement is unknown; retry: ", e.what()));
    } catch (const pqxx::broken_connection& e) {
      broken = true;
      o.retry = true;
      o.status = absl::UnavailableError(
          absl::StrCat(what, ": PostgreSQL is unreachable: ", FirstLine(e.what())));
    } catch (const pqxx::transaction_rollback& e) {
      o.retry = true;
      o.status = absl::AbortedError(
          absl::StrCat(what, ": transaction conflict, retry: ", FirstLine(e.what())));
    } catch (const pqxx::unique_violation& e) {
      o.status = absl::AlreadyExistsError(absl::StrCat(what, ": ", FirstLine(e.what())));
    } catch (const pqxx::sql_error& e) {
      const std::string& state = e.sqlstate();
      if (state.rfind("08", 0) == 0 || state.rfind("57", 0) == 0) {
        broken = true;
        o.retry = true;
        o.status = absl::UnavailableError(
            absl::StrCat(what, ": PostgreSQL connection lost: ", FirstLine(e.what())));
      } else if (state == "22P02" || state == "22021" || state == "23514") {
        o.status = absl::InvalidArgumentError(absl::StrCat(what, ": ", FirstLine(e.what())));
      } else {
        o.status = absl::InternalError(
            absl::StrCat(what, ": database error ", state, ": ", FirstLine(e.what())));
      }
    } catch (const std::exception& e) {
      o.status = absl::InternalError(absl::StrCat(what, ": ", FirstLine(e.what())));
    }
    if (slots_[slot] && !slots_[slot]->is_open()) broken = true;
    Release(slot, broken);
    return o;
  }

  static std::string FirstLine(const char* s) {
    std::string m(s);
    auto nl = m.find('\n');
    if (nl != std::string::npos) m.resize(nl);
    return m;
  }

  size_t Acquire() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !free_.empty(); });
    size_t s = free_.back();
    free_.pop_back();
    return s;
  }

  void Release(size_t slot, bool broken) {
    if (broken && slots_[slot]) {
      try {
        slots_[slot]->disconnect();
      } catch (...) {
      }
      slots_[slot].reset();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      free_.push_back(slot);
    }
    cv_.notify_one();
  }

  absl::StatusOr<std::vector<shoebox::v1::Job>> LeaseFrom(Tx& tx, const LeaseParams& p,
                                                          const std::vector<int64_t>& dests,
                                                          uint32_t limit);

  const StoreOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> slots_;  // index guarded by free_ ownership
  std::vector<size_t> free_;                              // guarded by mu_
};

absl::Status PgStore::Connect() {
  const auto start = Clock::now();
  int attempt = 0;
  for (;;) {
    ++attempt;
    try {
      pqxx::connection c(options_.url);
      pqxx::nontransaction n(c);
      n.exec("SELECT 1");
      if (attempt > 1) SPDLOG_INFO("event=db_connected attempts={}", attempt);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      std::string msg = FirstLine(e.what());
      if (options_.connect_timeout_ms != 0 && elapsed >= options_.connect_timeout_ms) {
        return absl::UnavailableError(absl::StrCat(
            "PostgreSQL did not answer for ", elapsed, " ms (", msg,
            "); check database.url and that the server is running"));
      }
      const int delay = std::min(250 * attempt, 5000);
      SPDLOG_WARN(
          "event=db_connect_failed attempt={} error=\"{}\" action=\"retrying in {} ms; check "
          "database.url and that PostgreSQL is running\"",
          attempt, msg, delay);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
  }
}

absl::Status PgStore::Migrate() {
  return Run("migrate schema", true, [&](Tx& tx) {
    // One coordinator migrates at a time; the others wait here.
    tx.exec("SELECT pg_advisory_xact_lock(4857121)");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    int current = tx.exec("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0][0]
                      .as<int>();
    if (current > SchemaVersion()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database schema is at version ", current, " but this shoebox-coordinator knows "
          "only up to version ", SchemaVersion(),
          "; a newer coordinator migrated it: run that version (never downgrade)"));
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      SPDLOG_INFO("event=migrate version={} name=\"{}\"", m.version, m.name);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<ReportOutcome>> PgStore::ReportFiles(
    int64_t device_id, const std::vector<ReportItem>& items) {
  std::vector<ReportOutcome> out;
  RETURN_IF_ERROR(Run("report files", true, [&](Tx& tx) {
    out.assign(items.size(), ReportOutcome{});
    auto key = [](int64_t folder, const std::string& path) {
      std::string k(reinterpret_cast<const char*>(&folder), sizeof folder);
      k += path;
      return k;
    };
    std::vector<size_t> ups, dels;
    for (size_t i = 0; i < items.size(); ++i) (items[i].deleted ? dels : ups).push_back(i);

    // Deletes: mark the current version deleted.
    if (!dels.empty()) {
      std::vector<int64_t> folders;
      std::vector<std::string> paths;
      absl::flat_hash_map<std::string, size_t> idx;
      for (size_t i : dels) {
        folders.push_back(items[i].folder_id);
        paths.push_back(items[i].path);
        idx[key(items[i].folder_id, items[i].path)] = i;
      }
      tx.exec_params(
          "UPDATE file_versions v SET deleted_at = now() FROM files f, "
          "unnest($1::bigint[], $2::bytea[]) AS u(fo, p) "
          "WHERE f.folder_id = u.fo AND f.path = u.p AND v.id = f.current_version_id "
          "AND v.deleted_at IS NULL",
          Int8Arr(folders), ByteaArray(paths));
      for (const auto& row : tx.exec_params(
               "SELECT f.folder_id, f.path, v.id, v.state FROM unnest($1::bigint[], "
               "$2::bytea[]) AS u(fo, p) JOIN files f ON f.folder_id = u.fo AND f.path = u.p "
               "JOIN file_versions v ON v.id = f.current_version_id",
               Int8Arr(folders), ByteaArray(paths))) {
        auto it = idx.find(key(row[0].as<int64_t>(), Bin(row[1])));
        if (it == idx.end()) continue;
        out[it->second].version_id = row[2].as<int64_t>();
        out[it->second].state = static_cast<shoebox::v1::VersionState>(row[3].as<int>());
      }
    }
    if (ups.empty()) return absl::OkStatus();

    // 1. Files: create the missing ones, read the current versions.
    std::vector<int64_t> folders;
    std::vector<std::string> paths;
    absl::flat_hash_map<std::string, size_t> idx;
    folders.reserve(ups.size());
    paths.reserve(ups.size());
    for (size_t i : ups) {
      folders.push_back(items[i].folder_id);
      paths.push_back(items[i].path);
      idx[key(items[i].folder_id, items[i].path)] = i;
    }
    const pqxx::binarystring folders_arr = Int8Arr(folders);
    const pqxx::binarystring paths_arr = ByteaArray(paths);
    std::vector<int64_t> file_id(items.size(), 0);
    std::vector<size_t> fresh;   // items needing a new version
    std::vector<int64_t> same_pending;  // unchanged versions still waiting for chunks
    // Unchanged complete versions: a chunk of theirs may have been found
    // damaged (verify) since; the device re-reporting the file is asked for
    // it, which repairs the chunk store from the device.
    std::vector<size_t> same_complete;
    absl::flat_hash_map<int64_t, size_t> same_pending_idx;
    std::vector<bool> seen(items.size(), false);
    for (const auto& row : tx.exec_params(
             "SELECT f.id, f.folder_id, f.path, v.id, v.size, v.mtime_ns, v.sha256, v.state, "
             "v.deleted_at IS NULL, COALESCE(v.chunks_dropped, false) "
             "FROM unnest($1::bigint[], $2::bytea[]) AS u(fo, p) "
             "JOIN files f ON f.folder_id = u.fo AND f.path = u.p "
             "LEFT JOIN file_versions v ON v.id = f.current_version_id",
             folders_arr, paths_arr)) {
      auto it = idx.find(key(row[1].as<int64_t>(), Bin(row[2])));
      if (it == idx.end()) continue;
      const size_t i = it->second;
      const ReportItem& item = items[i];
      file_id[i] = row[0].as<int64_t>();
      seen[i] = true;
      const bool unchanged = !row[3].is_null() && row[8].as<bool>() &&
                             row[4].as<int64_t>() == static_cast<int64_t>(item.size) &&
                             row[5].as<int64_t>() == item.mtime_ns && Bin(row[6]) == item.sha256;
      if (unchanged) {
        out[i].version_id = row[3].as<int64_t>();
        out[i].state = static_cast<shoebox::v1::VersionState>(row[7].as<int>());
        if (out[i].state == shoebox::v1::VERSION_STATE_PENDING_CHUNKS) {
          same_pending.push_back(out[i].version_id);
          same_pending_idx[out[i].version_id] = i;
        } else if (!row[9].as<bool>()) {  // not a pass-through version whose chunks were dropped
          same_complete.push_back(i);
        }
      } else {
        fresh.push_back(i);
      }
    }
    // Version IDs for every new version, so new files get their current
    // version in the same INSERT (no second write of each file row).
    std::vector<size_t> new_files;
    for (size_t i : ups) {
      if (!seen[i]) {
        fresh.push_back(i);
        new_files.push_back(i);
      }
    }
    if (!fresh.empty()) {
      std::vector<int64_t> ids;
      for (const auto& row : tx.exec_params(
               "SELECT nextval('file_versions_id_seq') FROM generate_series(1, $1)",
               static_cast<int64_t>(fresh.size()))) {
        ids.push_back(row[0].as<int64_t>());
      }
      std::sort(ids.begin(), ids.end());
      for (size_t k = 0; k < fresh.size(); ++k) out[fresh[k]].version_id = ids[k];
    }
    if (!new_files.empty()) {
      std::vector<int64_t> nf_folder, nf_version;
      std::vector<std::string> nf_path;
      for (size_t i : new_files) {
        nf_folder.push_back(items[i].folder_id);
        nf_path.push_back(items[i].path);
        nf_version.push_back(out[i].version_id);
      }
      pqxx::result r = tx.exec_params(
          "INSERT INTO files (folder_id, path, current_version_id) "
          "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[]) "
          "ON CONFLICT (folder_id, path) DO NOTHING RETURNING id, current_version_id",
          Int8Arr(nf_folder), ByteaArray(nf_path), Int8Arr(nf_version));
      if (r.size() != new_files.size()) {
        // Another transaction created one of these files meanwhile.
        return absl::AbortedError("report files: concurrent report of the same new file");
      }
      absl::flat_hash_map<int64_t, size_t> by_version;
      for (size_t i : new_files) by_version[out[i].version_id] = i;
      for (const auto& row : r) file_id[by_version[row[1].as<int64_t>()]] = row[0].as<int64_t>();
    }
    // Existing files that changed point at their new version.
    {
      std::vector<int64_t> ch_file, ch_version;
      for (size_t i : fresh) {
        if (seen[i]) {
          ch_file.push_back(file_id[i]);
          ch_version.push_back(out[i].version_id);
        }
      }
      if (!ch_file.empty()) {
        tx.exec_params(
            "UPDATE files SET current_version_id = u.v FROM unnest($1::bigint[], "
            "$2::bigint[]) AS u(f, v) WHERE files.id = u.f",
            Int8Arr(ch_file), Int8Arr(ch_version));
      }
    }
    if (!same_pending.empty()) {
      std::vector<std::string> ids;
      for (int64_t v : same_pending) {
        for (const ChunkRefRow& c : items[same_pending_idx[v]].chunks) ids.push_back(c.id);
      }
      for (const auto& row : tx.exec_params(
               "SELECT version_id, chunk_id FROM version_missing WHERE chunk_id = "
               "ANY($2::bytea[]) AND version_id = ANY($1::bigint[])",
               Int8Arr(same_pending), ByteaArray(ids))) {
        out[same_pending_idx[row[0].as<int64_t>()]].missing.push_back(Bin(row[1]));
      }
    }
    if (!same_complete.empty()) {
      std::vector<std::string> ids;
      for (size_t i : same_complete)
        for (const ChunkRefRow& c : items[i].chunks) ids.push_back(c.id);
      std::set<std::string> lost;
      for (const auto& row : tx.exec_params("SELECT id FROM chunks WHERE id = ANY($1::bytea[]) AND NOT stored",
                                            ByteaArray(ids)))
        lost.insert(Bin(row[0]));
      if (!lost.empty()) {
        for (size_t i : same_complete) {
          std::set<std::string> added;
          for (const ChunkRefRow& c : items[i].chunks)
            if (lost.count(c.id) && added.insert(c.id).second) out[i].missing.push_back(c.id);
        }
      }
    }
    if (fresh.empty()) return absl::OkStatus();

    // 2. Chunk references of the new versions (sorted: a fixed lock order).
    std::map<std::string, std::pair<uint32_t, int64_t>> refs;  // id → (size, count)
    for (size_t i : fresh) {
      for (const ChunkRefRow& c : items[i].chunks) {
        auto& r = refs[c.id];
        r.first = c.size;
        ++r.second;
      }
    }
    absl::flat_hash_map<std::string, bool> stored;
    if (!refs.empty()) {
      std::vector<std::string> ids;
      std::vector<int64_t> sizes, counts;
      ids.reserve(refs.size());
      for (const auto& [id, sc] : refs) {
        ids.push_back(id);
        sizes.push_back(sc.first);
        counts.push_back(sc.second);
      }
      const pqxx::binarystring ids_arr = ByteaArray(ids);
      // One statement: chunk rows (refcounts) and the device's chunk set.
      // Only the chunks already stored come back (few, unless deduplicated).
      for (const auto& row : tx.exec_params(
               "WITH u AS (SELECT * FROM unnest($1::bytea[], $2::int[], $3::bigint[]) "
               "  AS u(id, size, n) ORDER BY 1), "
               "ins AS (INSERT INTO chunks AS c (id, size, refcount) SELECT id, size, n FROM u "
               "  ORDER BY id ON CONFLICT (id) DO UPDATE SET refcount = c.refcount + "
               "  excluded.refcount RETURNING id, stored), "
               "dc AS (INSERT INTO device_chunks (device_id, chunk_id) SELECT $4, id FROM u "
               "  ON CONFLICT DO NOTHING) "
               "SELECT id FROM ins WHERE stored",
               ids_arr, Int4Arr(sizes), Int8Arr(counts), device_id)) {
        stored[Bin(row[0])] = true;
      }
    }

    // 3. New versions.
    std::vector<int64_t> v_id, v_file, v_size, v_mtime, v_mode, v_state, v_missing;
    std::vector<std::string> v_sha, v_list;
    std::vector<bool> v_dedup;
    for (size_t i : fresh) {
      const ReportItem& item = items[i];
      std::vector<std::string>& missing = out[i].missing;
      for (const ChunkRefRow& c : item.chunks) {
        if (!stored[c.id] && std::find(missing.begin(), missing.end(), c.id) == missing.end()) {
          missing.push_back(c.id);
        }
      }
      out[i].state = missing.empty() ? shoebox::v1::VERSION_STATE_COMPLETE
                                     : shoebox::v1::VERSION_STATE_PENDING_CHUNKS;
      v_id.push_back(out[i].version_id);
      v_file.push_back(file_id[i]);
      v_size.push_back(static_cast<int64_t>(item.size));
      v_mtime.push_back(item.mtime_ns);
      v_mode.push_back(item.mode);
      v_state.push_back(out[i].state);
      v_missing.push_back(static_cast<int64_t>(missing.size()));
      v_sha.push_back(item.sha256);
      v_list.push_back(EncodeChunkList(item.chunks));
      v_dedup.push_back(missing.empty() && !item.chunks.empty());
    }
    std::vector<int64_t> complete;
    tx.exec_params(
        "INSERT INTO file_versions (id, file_id, size, mtime_ns, sha256, mode, chunk_list, "
        "state, missing_count, dedup, completed_at) "
        "SELECT i, f, s, m, h, md, cl, st, mc, dd, CASE WHEN st = 2 THEN now() END "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], "
        "$6::int[], $7::bytea[], $8::smallint[], $9::int[], $10::boolean[]) "
        "AS u(i, f, s, m, h, md, cl, st, mc, dd)",
        Int8Arr(v_id), Int8Arr(v_file), Int8Arr(v_size), Int8Arr(v_mtime), ByteaArray(v_sha),
        Int4Arr(v_mode), ByteaArray(v_list), Int2Arr(v_state), Int4Arr(v_missing),
        BoolArr(v_dedup));
    for (size_t i : fresh) {
      if (out[i].state == shoebox::v1::VERSION_STATE_COMPLETE) complete.push_back(out[i].version_id);
    }

    // 4. What the pending versions wait for.
    std::vector<std::string> m_chunk;
    std::vector<int64_t> m_version;
    for (size_t i : fresh) {
      for (const std::string& id : out[i].missing) {
        m_chunk.push_back(id);
        m_version.push_back(out[i].version_id);
      }
    }
    if (!m_chunk.empty()) {
      tx.exec_params(
          "INSERT INTO version_missing (chunk_id, version_id) SELECT * FROM "
          "unnest($1::bytea[], $2::bigint[])",
          ByteaArray(m_chunk), Int8Arr(m_version));
    }
    // 5. Deliveries for the versions complete at once (dedup hits, empty files).
    std::sort(complete.begin(), complete.end());
    CreateDeliveries(tx, complete);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<shoebox::v1::Job>> PgStore::LeaseFrom(Tx& tx, const LeaseParams& p,
                                                                 const std::vector<int64_t>& dests,
                                                                 uint32_t limit) {
  std::vector<shoebox::v1::Job> jobs;
  if (dests.empty() || limit == 0) return jobs;
  const std::string token = RandomToken();
  std::vector<int64_t> version_ids, dest_ids;
  for (const auto& row : tx.exec_prepared("lease_from", NumArray(dests), static_cast<int64_t>(limit),
                                          p.worker_id, token, static_cast<int64_t>(p.lease_ms))) {
    shoebox::v1::Job& j = jobs.emplace_back();
    j.set_job_id(row[0].as<int64_t>());
    j.set_kind(static_cast<shoebox::v1::JobKind>(row[1].as<int>()));
    j.set_lease_token(row[2].c_str());
    j.set_lease_deadline_unix_ms(row[3].as<int64_t>());
    j.set_attempt(row[4].as<int64_t>());
    j.mutable_destination()->set_id(row[5].as<int64_t>());
    j.mutable_file()->set_version_id(row[6].as<int64_t>());
    j.set_remote_ref(row[7].c_str());
    dest_ids.push_back(row[5].as<int64_t>());
    if (row[6].as<int64_t>() != 0) version_ids.push_back(row[6].as<int64_t>());
  }
  if (jobs.empty()) return jobs;
  std::map<int64_t, shoebox::v1::Destination> dmap;
  for (const auto& row : tx.exec_prepared("destinations_by_id", NumArray(dest_ids))) {
    DestinationFromRow(row, &dmap[row[0].as<int64_t>()]);
  }
  std::map<int64_t, shoebox::v1::FileVersion> vmap;
  if (!version_ids.empty()) {
    for (const auto& row : tx.exec_prepared("versions_by_id", NumArray(version_ids))) {
      VersionFromRow(row, 0, &vmap[row[0].as<int64_t>()]);
    }
  }
  for (shoebox::v1::Job& j : jobs) {
    *j.mutable_destination() = dmap[j.destination().id()];
    if (j.file().version_id() != 0) *j.mutable_file() = vmap[j.file().version_id()];
  }
  std::sort(jobs.begin(), jobs.end(),
            [](const auto& a, const auto& b) { return a.job_id() < b.job_id(); });
  return jobs;
}

absl::StatusOr<std::vector<shoebox::v1::Job>> PgStore::LeaseJobs(const LeaseParams& p) {
  struct Eligible {
    int64_t id;
    uint32_t max_concurrency;
    bool auth_failed;
  };
  std::vector<Eligible> eligible;
  RETURN_IF_ERROR(Run("find leasable destinations", kQueueTx, [&](Tx& tx) {
    eligible.clear();
    for (const auto& row : tx.exec_prepared("find_leasable", p.worker_id)) {
      eligible.push_back(Eligible{row[0].as<int64_t>(),
                                  static_cast<uint32_t>(row[1].as<int64_t>()),
                                  row[2].as<bool>()});
    }
    return absl::OkStatus();
  }));
  std::vector<shoebox::v1::Job> out;
  std::vector<int64_t> open;
  std::vector<Eligible> limited;
  for (const Eligible& e : eligible) {
    if (e.max_concurrency == 0 && !e.auth_failed) {
      open.push_back(e.id);
    } else {
      limited.push_back(e);
    }
  }
  if (!open.empty()) {
    RETURN_IF_ERROR(Run("lease jobs", kQueueTx, [&](Tx& tx) {
      ASSIGN_OR_RETURN(out, LeaseFrom(tx, p, open, p.max_jobs));
      return absl::OkStatus();
    }, /*idempotent=*/false));
  }
  for (const Eligible& e : limited) {
    if (out.size() >= p.max_jobs) break;
    std::vector<shoebox::v1::Job> got;
    RETURN_IF_ERROR(Run("lease jobs (limited destination)", kQueueTx, [&](Tx& tx) {
      got.clear();
      // The destination row lock serialises leasing for it across
      // coordinators, so the limit holds.
      pqxx::result d = tx.exec_prepared("lock_limited_destination", e.id,
                                        static_cast<int64_t>(p.auth_probe_interval_ms));
      if (d.empty()) return absl::OkStatus();
      const int64_t running = tx.exec_prepared1("count_running", e.id)[0].as<int64_t>();
      const int64_t max_conc = d[0][0].as<int64_t>();
      const bool auth_failed = d[0][1].as<bool>();
      int64_t slots = max_conc == 0 ? p.max_jobs : max_conc - running;
      if (auth_failed) slots = (d[0][2].as<bool>() && running == 0) ? 1 : 0;
      slots = std::min<int64_t>(slots, p.max_jobs - out.size());
      if (slots <= 0) return absl::OkStatus();
      ASSIGN_OR_RETURN(got, LeaseFrom(tx, p, {e.id}, static_cast<uint32_t>(slots)));
      if (auth_failed && !got.empty()) {
        tx.exec_params("UPDATE destinations SET last_probe_at = now() WHERE id = $1", e.id);
      }
      return absl::OkStatus();
    }, /*idempotent=*/false));
    for (auto& j : got) out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<shoebox::v1::FailJobResponse> PgStore::FailJob(const FailParams& p) {
  shoebox::v1::FailJobResponse resp;
  RETURN_IF_ERROR(Run("fail job", kQueueTx, [&](Tx& tx) {
    resp.Clear();
    pqxx::result r = tx.exec_params(
        "SELECT state, attempts, lease_token = $2, lease_deadline >= now(), destination_id, "
        "epoch_ms(next_attempt_at) FROM jobs WHERE id = $1 FOR UPDATE",
        p.job_id, p.lease_token);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("job ", p.job_id, " does not exist"));
    const int state = r[0][0].as<int>();
    const int64_t attempts = r[0][1].as<int64_t>();
    const bool mine = r[0][2].as<bool>();
    const bool live = !r[0][3].is_null() && r[0][3].as<bool>();
    const int64_t dest = r[0][4].as<int64_t>();
    if (mine && (state == shoebox::v1::JOB_STATE_CANCELLED ||
                 state == shoebox::v1::JOB_STATE_RETRY_WAIT ||
                 state == shoebox::v1::JOB_STATE_DEAD)) {
      // Cancelled meanwhile, or this failure was recorded already.
      resp.set_state(static_cast<JobState>(state));
      if (state == shoebox::v1::JOB_STATE_RETRY_WAIT)
        resp.set_next_attempt_unix_ms(r[0][5].as<int64_t>());
      return absl::OkStatus();
    }
    if (!mine || !live || state != shoebox::v1::JOB_STATE_LEASED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", p.job_id, ": the lease was lost or expired; the failure is not recorded"));
    }
    if (p.auth_failure || p.not_started) {
      if (p.auth_failure) {
        tx.exec_params(
            "UPDATE destinations SET auth_failed_at = COALESCE(auth_failed_at, now()), "
            "auth_error = $2, last_probe_at = now() WHERE id = $1",
            dest, p.error);
      }
      // Not the job's fault: the attempt is not counted and the job is
      // queued again (after an auth failure it waits there until the
      // destination accepts credentials again).
      tx.exec_params(
          "UPDATE jobs SET state = 1, attempts = greatest(attempts - 1, 0), last_error = $2, "
          "updated_at = now() WHERE id = $1",
          p.job_id, p.error);
      resp.set_state(shoebox::v1::JOB_STATE_QUEUED);
      return absl::OkStatus();
    }
    if (!p.retryable || attempts >= p.max_attempts) {
      tx.exec_params(
          "UPDATE jobs SET state = 5, last_error = $2, finished_at = now(), updated_at = now() "
          "WHERE id = $1",
          p.job_id,
          p.retryable ? p.error
                      : absl::StrCat(p.error, " (permanent)"));
      resp.set_state(shoebox::v1::JOB_STATE_DEAD);
      return absl::OkStatus();
    }
    uint64_t delay = BackoffDelayMs(static_cast<uint32_t>(attempts), p.backoff_base_ms,
                                    p.backoff_max_ms, Jitter01());
    if (p.retry_after_ms > 0) delay = std::min<uint64_t>(p.retry_after_ms, 24ull * 3600 * 1000);
    pqxx::row u = tx.exec_params1(
        "UPDATE jobs SET state = 4, last_error = $2, next_attempt_at = now() + $3::bigint * "
        "interval '1 millisecond', updated_at = now() WHERE id = $1 "
        "RETURNING epoch_ms(next_attempt_at)",
        p.job_id, p.error, static_cast<int64_t>(delay));
    resp.set_state(shoebox::v1::JOB_STATE_RETRY_WAIT);
    resp.set_next_attempt_unix_ms(u[0].as<int64_t>());
    return absl::OkStatus();
  }));
  return resp;
}

absl::StatusOr<shoebox::v1::StatusResponse> PgStore::GetStatus(uint32_t worker_stale_ms) {
  shoebox::v1::StatusResponse resp;
  RETURN_IF_ERROR(Run("status", true, [&](Tx& tx) {
    resp.Clear();
    auto set_counts = [](shoebox::v1::Counts* c, int state, uint64_t n, uint64_t bytes) {
      switch (state) {
        case shoebox::v1::JOB_STATE_QUEUED:
          c->set_pending_files(c->pending_files() + n);
          c->set_pending_bytes(c->pending_bytes() + bytes);
          break;
        case shoebox::v1::JOB_STATE_LEASED:
          c->set_in_flight_files(n);
          c->set_in_flight_bytes(bytes);
          break;
        case shoebox::v1::JOB_STATE_DONE:
          c->set_delivered_files(n);
          c->set_delivered_bytes(bytes);
          break;
        case shoebox::v1::JOB_STATE_RETRY_WAIT:
          c->set_failed_files(n);
          c->set_failed_bytes(bytes);
          break;
        case shoebox::v1::JOB_STATE_DEAD:
          c->set_dead_files(n);
          c->set_dead_bytes(bytes);
          break;
        default:
          break;
      }
    };
    // Devices.
    std::map<int64_t, shoebox::v1::DeviceStatus*> devs;
    for (const auto& row : tx.exec(
             "SELECT id, name, epoch_ms(last_seen), agent_files_pending, agent_bytes_pending, "
             "agent_upload_rate_bps FROM devices ORDER BY name")) {
      auto* d = resp.add_devices();
      d->set_name(row[1].c_str());
      d->set_last_seen_unix_ms(row[2].as<int64_t>());
      d->set_agent_files_pending(row[3].as<int64_t>());
      d->set_agent_bytes_pending(row[4].as<int64_t>());
      d->set_agent_upload_rate_bps(row[5].as<int64_t>());
      d->mutable_deliveries();
      devs[row[0].as<int64_t>()] = d;
    }
    for (const auto& row : tx.exec(
             "SELECT fo.device_id, count(*), COALESCE(sum(v.size), 0), "
             "count(*) FILTER (WHERE v.state = 1) FROM files f "
             "JOIN folders fo ON fo.id = f.folder_id "
             "JOIN file_versions v ON v.id = f.current_version_id "
             "WHERE v.deleted_at IS NULL GROUP BY fo.device_id")) {
      auto it = devs.find(row[0].as<int64_t>());
      if (it == devs.end()) continue;
      it->second->set_files(row[1].as<int64_t>());
      it->second->set_bytes(row[2].as<int64_t>());
      it->second->set_files_awaiting_chunks(row[3].as<int64_t>());
    }
    for (const auto& row : tx.exec(
             "SELECT j.device_id, j.state, count(*), COALESCE(sum(v.size), 0) FROM jobs j "
             "LEFT JOIN file_versions v ON v.id = j.version_id WHERE j.kind = 1 "
             "AND j.device_id IS NOT NULL GROUP BY j.device_id, j.state")) {
      auto it = devs.find(row[0].as<int64_t>());
      if (it == devs.end()) continue;
      set_counts(it->second->mutable_deliveries(), row[1].as<int>(), row[2].as<int64_t>(),
                 row[3].as<int64_t>());
    }
    // Destinations.
    auto facts = LoadDestFacts(tx, worker_stale_ms);
    std::map<int64_t, shoebox::v1::DestinationStatus*> dsts;
    for (auto& [id, f] : facts) {
      auto* d = resp.add_destinations();
      d->set_name(f.name);
      d->set_kind(f.kind);
      d->mutable_deliveries();
      if (f.auth_failed_ms != 0) {
        d->set_health(absl::StrCat("authentication failed since ", FormatUnixMs(f.auth_failed_ms),
                                   ": ", f.auth_error));
      }
      d->set_workers_serving(f.serving);
      d->set_last_verified_unix_ms(f.last_verified_ms);
      dsts[id] = d;
    }
    for (const auto& row : tx.exec(
             "SELECT j.destination_id, j.state, count(*), COALESCE(sum(v.size), 0) FROM jobs j "
             "LEFT JOIN file_versions v ON v.id = j.version_id WHERE j.kind = 1 "
             "GROUP BY j.destination_id, j.state")) {
      auto it = dsts.find(row[0].as<int64_t>());
      if (it == dsts.end()) continue;
      set_counts(it->second->mutable_deliveries(), row[1].as<int>(), row[2].as<int64_t>(),
                 row[3].as<int64_t>());
    }
    for (const auto& row : tx.exec(
             "SELECT DISTINCT ON (j.destination_id) j.destination_id, j.id, j.state, j.attempts, "
             "j.last_error, epoch_ms(j.next_attempt_at), epoch_ms(j.created_at), j.priority "
             "FROM jobs j WHERE j.state IN (1, 2, 4) ORDER BY j.destination_id, j.created_at, "
             "j.id")) {
      const int64_t dest = row[0].as<int64_t>();
      auto it = dsts.find(dest);
      if (it == dsts.end()) continue;
      const auto state = static_cast<JobState>(row[2].as<int>());
      WaitFacts w = MakeWaitFacts(state, row[3].as<int64_t>(), row[4].c_str(),
                                  row[5].as<int64_t>(), facts[dest]);
      if (state == shoebox::v1::JOB_STATE_QUEUED) {
        w.queued_ahead = tx.exec_params1(
                               "SELECT count(*) FROM jobs WHERE state = 1 AND destination_id = "
                               "$1 AND (priority > $2 OR (priority = $2 AND id < $3))",
                               dest, row[7].as<int>(), row[1].as<int64_t>())[0]
                             .as<int64_t>();
      }
      it->second->set_oldest_pending_unix_ms(row[6].as<int64_t>());
      it->second->set_oldest_pending_reason(
          state == shoebox::v1::JOB_STATE_LEASED ? "being delivered by a worker"
                                                 : WaitingReason(w));
    }
    pqxx::row c = tx.exec1(
        "SELECT count(*), COALESCE(sum(size), 0), COALESCE(sum(stored_size), 0) FROM chunks "
        "WHERE stored");
    resp.set_chunks_stored(c[0].as<int64_t>());
    resp.set_chunk_bytes(c[1].as<int64_t>());
    resp.set_stored_bytes(c[2].as<int64_t>());
    resp.set_duplicate_files(
        tx.exec1("SELECT count(*) FROM file_versions WHERE dedup")[0].as<int64_t>());
    return absl::OkStatus();
  }));
  return resp;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError(
        "database url is empty; set database.url in the coordinator config");
  }
  auto store = std::make_unique<PgStore>(options);
  RETURN_IF_ERROR(store->Connect());
  RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace shoebox::coordinator
