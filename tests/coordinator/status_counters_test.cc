// Status counters (issue 23, "a million files"; docs/performance.md): the
// counts `shoebox status` and the copies summary read from the counter
// tables of migration 14 equal a full recount with the old scanning queries
// (kept here as the reference), after random operations of every kind the
// code paths perform, in single statements, in data-modifying CTEs over
// several tables, in transactions rolled back, and from several connections
// at once (workers completing deliveries of the same versions, a
// destination removed meanwhile). Real PostgreSQL 15.
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "coordinator/store/store.h"
#include "coordinator/store/verify_store.h"
#include "tests/support/pg_environment.h"

namespace shoebox::coordinator {
namespace {

// files, bytes, awaiting, then (files, bytes) for job states 1..5.
using DeviceRow = std::array<int64_t, 13>;
using DestRow = std::array<int64_t, 10>;

struct Snapshot {
  std::map<std::string, DeviceRow> devices;  // only non-zero rows
  std::map<std::string, DestRow> destinations;
  std::array<int64_t, 4> chunks_dedup{};  // chunks, chunk bytes, stored bytes, dedup
  std::array<int64_t, 5> copies{};        // >=1, >=2, >=3, none, damaged

  bool operator==(const Snapshot& o) const {
    return devices == o.devices && destinations == o.destinations &&
           chunks_dedup == o.chunks_dedup && copies == o.copies;
  }
};

std::string Describe(const Snapshot& s) {
  std::string out;
  for (const auto& [n, r] : s.devices) {
    absl::StrAppend(&out, "device ", n, ":");
    for (int64_t v : r) absl::StrAppend(&out, " ", v);
    absl::StrAppend(&out, "\n");
  }
  for (const auto& [n, r] : s.destinations) {
    absl::StrAppend(&out, "destination ", n, ":");
    for (int64_t v : r) absl::StrAppend(&out, " ", v);
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "chunks/bytes/stored/dedup:");
  for (int64_t v : s.chunks_dedup) absl::StrAppend(&out, " ", v);
  absl::StrAppend(&out, "\ncopies >=1 >=2 >=3 none damaged:");
  for (int64_t v : s.copies) absl::StrAppend(&out, " ", v);
  return out;
}

void PutCounts(const DeliveryCounts& c, int64_t* out) {
  const uint64_t v[10] = {
      c.pending_files,   c.pending_bytes, c.in_flight_files, c.in_flight_bytes, c.delivered_files,
      c.delivered_bytes, c.failed_files,  c.failed_bytes,    c.dead_files,      c.dead_bytes};
  for (int i = 0; i < 10; ++i) out[i] = static_cast<int64_t>(v[i]);
}

template <size_t N>
bool AllZero(const std::array<int64_t, N>& a) {
  for (int64_t v : a)
    if (v != 0) return false;
  return true;
}

// What the store answers (counters).
Snapshot FromStore(Store* store) {
  Snapshot s;
  auto st = store->GetStatus(60000);
  EXPECT_TRUE(st.ok()) << st.status();
  if (!st.ok()) return s;
  for (const DeviceStatus& d : st->devices) {
    DeviceRow r{};
    r[0] = static_cast<int64_t>(d.files);
    r[1] = static_cast<int64_t>(d.bytes);
    r[2] = static_cast<int64_t>(d.files_awaiting_chunks);
    PutCounts(d.deliveries, &r[3]);
    if (!AllZero(r)) s.devices[d.name] = r;
  }
  for (const DestinationStatus& d : st->destinations) {
    DestRow r{};
    PutCounts(d.deliveries, &r[0]);
    if (!AllZero(r)) s.destinations[d.name] = r;
  }
  s.chunks_dedup = {static_cast<int64_t>(st->chunks_stored), static_cast<int64_t>(st->chunk_bytes),
                    static_cast<int64_t>(st->stored_bytes),
                    static_cast<int64_t>(st->duplicate_files)};
  PgVerifyStore verify(store);
  auto c = verify.GetCopySummary();
  EXPECT_TRUE(c.ok()) << c.status();
  if (c.ok()) {
    s.copies = {
        static_cast<int64_t>(c->files_with_1_copy), static_cast<int64_t>(c->files_with_2_copies),
        static_cast<int64_t>(c->files_with_3_copies), static_cast<int64_t>(c->files_with_no_copy),
        static_cast<int64_t>(c->damaged_chunks)};
  }
  return s;
}

// The reference: the scanning queries `shoebox status` ran before
// migration 14, over every version and delivery.
Snapshot Recount(pqxx::connection& c) {
  pqxx::work tx(c);
  Snapshot s;
  for (const auto& row : tx.exec(
           "SELECT d.name, count(*), COALESCE(sum(v.size), 0), count(*) FILTER (WHERE v.state = 1) "
           "FROM files f JOIN folders fo ON fo.id = f.folder_id JOIN devices d ON d.id = "
           "fo.device_id JOIN file_versions v ON v.id = f.current_version_id "
           "WHERE v.deleted_at IS NULL GROUP BY d.name")) {
    DeviceRow& r = s.devices[row[0].c_str()];
    for (int i = 0; i < 3; ++i) r[i] = row[i + 1].as<int64_t>();
  }
  for (const auto& row :
       tx.exec("SELECT d.name, j.state, count(*), COALESCE(sum(v.size), 0) FROM jobs j "
               "JOIN devices d ON d.id = j.device_id LEFT JOIN file_versions v ON v.id = "
               "j.version_id WHERE j.kind = 1 AND j.state BETWEEN 1 AND 5 GROUP BY 1, 2")) {
    DeviceRow& r = s.devices[row[0].c_str()];
    const int st = row[1].as<int>();
    r[3 + (st - 1) * 2] = row[2].as<int64_t>();
    r[4 + (st - 1) * 2] = row[3].as<int64_t>();
  }
  for (const auto& row :
       tx.exec("SELECT ds.name, j.state, count(*), COALESCE(sum(v.size), 0) FROM jobs j "
               "JOIN destinations ds ON ds.id = j.destination_id LEFT JOIN file_versions v "
               "ON v.id = j.version_id WHERE j.kind = 1 AND j.state BETWEEN 1 AND 5 "
               "AND ds.removed_at IS NULL GROUP BY 1, 2")) {
    DestRow& r = s.destinations[row[0].c_str()];
    const int st = row[1].as<int>();
    r[(st - 1) * 2] = row[2].as<int64_t>();
    r[1 + (st - 1) * 2] = row[3].as<int64_t>();
  }
  pqxx::row c1 = tx.exec1(
      "SELECT count(*), COALESCE(sum(size), 0), COALESCE(sum(stored_size), 0), "
      "(SELECT count(*) FROM file_versions WHERE dedup) FROM chunks WHERE stored");
  for (int i = 0; i < 4; ++i) s.chunks_dedup[i] = c1[i].as<int64_t>();
  pqxx::row c2 = tx.exec1(
      "WITH cur AS (SELECT v.id, v.chunk_list FROM files f "
      "  JOIN file_versions v ON v.id = f.current_version_id "
      "  WHERE v.deleted_at IS NULL AND v.state = 2), "
      "dmg AS (SELECT d.chunk_id FROM chunk_damage d JOIN chunks c ON c.id = d.chunk_id "
      "  WHERE d.repaired_at IS NULL AND NOT c.stored), "
      "dst AS (SELECT version_id, count(DISTINCT destination_id) AS n FROM jobs "
      "  WHERE kind = 1 AND state = 3 AND version_id IN (SELECT id FROM cur) "
      "  AND destination_id NOT IN (SELECT id FROM destinations WHERE removed_at IS NOT NULL) "
      "  GROUP BY version_id), "
      "n AS (SELECT (CASE WHEN NOT EXISTS (SELECT 1 FROM dmg "
      "    WHERE position(dmg.chunk_id IN cur.chunk_list) > 0) THEN 1 ELSE 0 END) "
      "  + COALESCE(dst.n, 0) AS copies FROM cur LEFT JOIN dst ON dst.version_id = cur.id) "
      "SELECT count(*) FILTER (WHERE copies >= 1), count(*) FILTER (WHERE copies >= 2), "
      "count(*) FILTER (WHERE copies >= 3), count(*) FILTER (WHERE copies = 0), "
      "(SELECT count(*) FROM dmg) FROM n");
  for (int i = 0; i < 5; ++i) s.copies[i] = c2[i].as<int64_t>();
  tx.commit();
  // Drop all-zero rows, as FromStore does.
  for (auto it = s.devices.begin(); it != s.devices.end();) {
    it = AllZero(it->second) ? s.devices.erase(it) : std::next(it);
  }
  return s;
}

class StatusCountersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = testsupport::FreshDatabase("status");
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    StoreOptions o;
    o.url = url_;
    o.pool_size = 4;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    conn_ = std::make_unique<pqxx::connection>(url_);
    pqxx::work tx(*conn_);
    for (int d = 1; d <= 3; ++d) {
      tx.exec(absl::StrCat("INSERT INTO devices (name) VALUES ('dev", d, "')"));
      for (int f = 1; f <= 2; ++f) {
        tx.exec(absl::StrCat("INSERT INTO folders (device_id, root) SELECT id, convert_to('/photos",
                             f, "', 'UTF8') FROM devices WHERE name = 'dev", d, "'"));
      }
    }
    for (int d = 1; d <= 4; ++d) {
      tx.exec(
          absl::StrCat("INSERT INTO destinations (name, kind) VALUES ('dest", d, "', 'local')"));
    }
    // Chunks: half stored; chunk lists of versions pick from them.
    for (int i = 0; i < 40; ++i) {
      tx.exec(absl::StrCat("INSERT INTO chunks (id, size, stored_size, stored) VALUES (",
                           "sha256(convert_to('c", i, "', 'UTF8')), ", 1000 + i, ", ", 1100 + i,
                           ", ", i % 2 == 0 ? "true" : "false", ")"));
    }
    tx.commit();
  }

  void ExpectExact(const std::string& when) {
    Snapshot want = Recount(*conn_);
    Snapshot got = FromStore(store_.get());
    ASSERT_TRUE(want == got) << when << "\nrecount:\n"
                             << Describe(want) << "\ncounters:\n"
                             << Describe(got);
  }

  // SQL of a chunk list of 1-3 of the test's chunks.
  static std::string ChunkListSql(std::mt19937& rng) {
    const int n = 1 + static_cast<int>(rng() % 3);
    std::string sql =
        "(SELECT string_agg(sha256(convert_to('c' || g, 'UTF8')) || "
        "'\\x000003e8'::bytea, ''::bytea) FROM unnest(ARRAY[";
    for (int i = 0; i < n; ++i) absl::StrAppend(&sql, i ? "," : "", rng() % 40);
    return absl::StrCat(sql, "]) g)");
  }

  // One random operation of the kinds the code paths perform; `tx` may be
  // rolled back by the caller.
  void RandomOp(pqxx::work& tx, std::mt19937& rng) {
    const std::string size = absl::StrCat(1 + rng() % 5000000000ULL);
    const std::string state = rng() % 3 == 0 ? "1" : "2";
    const std::string dedup = rng() % 4 == 0 ? "true" : "false";
    switch (rng() % 14) {
      case 0:
      case 1: {  // ReportFiles: the file row first (pointing at a reserved ID), then the version
        const int64_t vid = tx.exec1("SELECT nextval('file_versions_id_seq')")[0].as<int64_t>();
        const std::string path = absl::StrCat("p", rng() % 60);
        const std::string folder =
            absl::StrCat("(SELECT id FROM folders ORDER BY id OFFSET ", rng() % 6, " LIMIT 1)");
        pqxx::result f = tx.exec(
            absl::StrCat("INSERT INTO files (folder_id, path, current_version_id) VALUES (", folder,
                         ", convert_to('", path, "', 'UTF8'), ", vid,
                         ") ON CONFLICT (folder_id, path) DO UPDATE SET current_version_id = ", vid,
                         " RETURNING id"));
        tx.exec(
            absl::StrCat("INSERT INTO file_versions (id, file_id, size, mtime_ns, sha256, "
                         "chunk_list, state, dedup, is_current) VALUES (",
                         vid, ", ", f[0][0].as<int64_t>(), ", ", size, ", 1, '\\x00', ",
                         ChunkListSql(rng), ", ", state, ", ", dedup, ", ",
                         // half as ReportFiles does it: current claimed, no row trigger
                         rng() % 2 == 0 ? "true" : "false", ")"));
        break;
      }
      case 2: {  // a new version first, then the file moved to it (one wCTE statement)
        tx.exec(absl::StrCat(
            "WITH f AS (SELECT id FROM files ORDER BY random() LIMIT 1), "
            "nv AS (INSERT INTO file_versions (file_id, size, mtime_ns, sha256, chunk_list, state, "
            "dedup) SELECT id, ",
            size, ", 2, '\\x00', ", ChunkListSql(rng), ", ", state, ", ", dedup,
            " FROM f RETURNING id, file_id) "
            "UPDATE files SET current_version_id = nv.id FROM nv WHERE files.id = nv.file_id"));
        break;
      }
      case 3:  // a pending version completes (MarkChunkStored)
        tx.exec(
            "UPDATE file_versions SET state = 2, missing_count = 0, completed_at = now() WHERE id "
            "IN (SELECT id FROM file_versions WHERE state = 1 ORDER BY random() LIMIT 2)");
        break;
      case 4:  // deleted on the device, or back
        tx.exec(
            "UPDATE file_versions SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() END "
            "WHERE id IN (SELECT id FROM file_versions ORDER BY random() LIMIT 1)");
        break;
      case 5:  // deliveries created for complete versions (shoebox_create_deliveries)
        tx.exec(
            "INSERT INTO jobs (kind, state, destination_id, version_id, device_id) "
            "SELECT 1, 1, ds.id, v.id, fo.device_id FROM (SELECT * FROM file_versions "
            "WHERE state = 2 ORDER BY random() LIMIT 3) v JOIN files f ON f.id = v.file_id "
            "JOIN folders fo ON fo.id = f.folder_id CROSS JOIN destinations ds "
            "WHERE random() < 0.6 ON CONFLICT (version_id, destination_id) WHERE kind = 1 "
            "DO NOTHING");
        break;
      case 6:
      case 7:  // a job moves between states (lease, complete, fail, dead, cancel, retry)
        tx.exec(absl::StrCat(
            "UPDATE jobs SET state = ", rng() % 2 == 0 ? 3 : 1 + rng() % 6,
            ", updated_at = now() WHERE id IN (SELECT id FROM jobs ORDER BY random() LIMIT ",
            1 + rng() % 3, ")"));
        break;
      case 8:  // CompleteJob's shape: one statement, several CTEs updating jobs
        tx.exec(
            "WITH a AS (SELECT id FROM jobs WHERE state = 2 ORDER BY random() LIMIT 1), "
            "b AS (SELECT id FROM jobs WHERE state = 3 AND id NOT IN (SELECT id FROM a) "
            "  ORDER BY random() LIMIT 1), "
            "j AS (UPDATE jobs SET state = 3, finished_at = now() FROM a WHERE jobs.id = a.id "
            "  RETURNING jobs.id), "
            "rd AS (UPDATE jobs SET state = 1 FROM b WHERE jobs.id = b.id RETURNING jobs.id) "
            "SELECT (SELECT count(*) FROM j) + (SELECT count(*) FROM rd)");
        break;
      case 9: {  // retention: a version's jobs, then the version (forgetting the file if current)
        pqxx::result v = tx.exec(
            "SELECT v.id, v.file_id, f.current_version_id IS NOT DISTINCT FROM v.id FROM "
            "file_versions v "
            "JOIN files f ON f.id = v.file_id ORDER BY random() LIMIT 1");
        if (v.empty()) break;
        const std::string id = v[0][0].c_str();
        tx.exec(absl::StrCat("DELETE FROM jobs WHERE version_id = ", id));
        if (v[0][2].as<bool>()) {
          tx.exec(absl::StrCat("UPDATE files SET current_version_id = NULL WHERE id = ",
                               v[0][1].c_str()));
        }
        tx.exec(absl::StrCat("DELETE FROM file_versions WHERE id = ", id));
        break;
      }
      case 10:  // a destination removed (history kept) by RemoveDestination's statements;
                // two of the four stay
        if (rng() % 4 == 0) {
          tx.exec(
              "WITH d AS (SELECT id FROM destinations WHERE removed_at IS NULL AND (SELECT "
              "count(*) "
              "FROM destinations WHERE removed_at IS NULL) > 2 ORDER BY random() "
              "LIMIT 1), c AS (UPDATE jobs SET state = 6 FROM d WHERE jobs.destination_id = d.id "
              "AND jobs.state IN (1, 4) RETURNING 1) "
              "UPDATE destinations SET removed_at = now(), name = name || '~' || destinations.id "
              "FROM d WHERE destinations.id = d.id");
        }
        break;
      case 11:  // a chunk found damaged (verify), or repaired, or uploaded again
        if (rng() % 2 == 0) {
          tx.exec(absl::StrCat(
              "WITH c AS (UPDATE chunks SET stored = false WHERE id = sha256(convert_to('c",
              rng() % 40,
              "', 'UTF8')) RETURNING id) INSERT INTO chunk_damage (chunk_id, error) SELECT id, "
              "'corrupt' FROM c ON CONFLICT (chunk_id) DO UPDATE SET repaired_at = NULL"));
        } else {
          tx.exec(
              "WITH d AS (UPDATE chunk_damage SET repaired_at = now() WHERE chunk_id IN (SELECT "
              "chunk_id FROM chunk_damage WHERE repaired_at IS NULL ORDER BY random() LIMIT 1) "
              "RETURNING chunk_id) UPDATE chunks SET stored = true FROM d WHERE chunks.id = "
              "d.chunk_id");
        }
        break;
      case 12:  // chunks stored, added, or dropped (prune)
        tx.exec(absl::StrCat("UPDATE chunks SET stored = NOT stored, stored_size = stored_size + ",
                             rng() % 7, " WHERE id = sha256(convert_to('c", rng() % 40,
                             "', 'UTF8'))"));
        tx.exec(absl::StrCat("INSERT INTO chunks (id, size, stored_size, stored) VALUES ",
                             "(sha256(convert_to('x", rng() % 1000000,
                             "', 'UTF8')), 7, 9, true) ON CONFLICT (id) DO UPDATE SET refcount = "
                             "chunks.refcount + 1"));
        if (rng() % 4 == 0) {
          tx.exec(
              "DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE size = 7 "
              "ORDER BY random() LIMIT 1)");
        }
        break;
      case 13:  // other job kinds (verify, checks) and folding the counters
        tx.exec(
            "INSERT INTO jobs (kind, state, destination_id, version_id) SELECT 2, 3, "
            "destination_id, version_id FROM jobs WHERE kind = 1 ORDER BY random() LIMIT 1");
        if (rng() % 2 == 0) tx.exec("SELECT shoebox_status_compact()");
        break;
    }
  }

  std::string url_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(StatusCountersTest, CountersEqualAFullRecountAfterRandomOperations) {
  std::mt19937 rng(23);
  {
    // The operations pick rows with PostgreSQL's random(): seed it too, so
    // the walk (and what it reaches) is the same on every run.
    pqxx::nontransaction seed(*conn_);
    seed.exec("SELECT setseed(0.23)");
  }
  ExpectExact("empty catalog");
  int committed = 0;
  bool reached[4] = {false, false, false, false};
  for (int i = 1; i <= 600; ++i) {
    pqxx::work tx(*conn_);
    const int ops = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < ops; ++k) RandomOp(tx, rng);
    if (rng() % 6 == 0) {
      tx.abort();  // a transaction that fails or crashes leaves nothing behind
    } else {
      tx.commit();
      ++committed;
    }
    if (i % 25 == 0) {
      ExpectExact(absl::StrCat("after ", i, " transactions"));
      // What the walk has reached so far (each at some checkpoint).
      pqxx::work q(*conn_);
      pqxx::row r = q.exec1(
          "SELECT (SELECT count(*) FROM file_versions WHERE is_current AND delivered_dests >= 2), "
          "(SELECT count(*) FROM destinations WHERE removed_at IS NOT NULL), "
          "(SELECT count(*) FROM chunk_damage WHERE repaired_at IS NULL), "
          "(SELECT count(*) FROM file_versions WHERE NOT is_current)");
      q.commit();
      for (int k = 0; k < 4; ++k) reached[k] = reached[k] || r[k].as<int64_t>() > 0;
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(committed, 400);
  EXPECT_TRUE(reached[0]) << "no version with two destination copies";
  EXPECT_TRUE(reached[1]) << "no destination removed";
  EXPECT_TRUE(reached[2]) << "no open chunk damage";
  EXPECT_TRUE(reached[3]) << "no superseded version";
}

TEST_F(StatusCountersTest, ConcurrentCompletionsAndARemovalStayExact) {
  // 200 complete versions with a queued delivery to each of 3 destinations.
  {
    pqxx::work tx(*conn_);
    tx.exec(
        "INSERT INTO files (folder_id, path) SELECT (SELECT min(id) FROM folders), "
        "convert_to('c' || g, 'UTF8') FROM generate_series(1, 200) g");
    tx.exec(
        "INSERT INTO file_versions (file_id, size, mtime_ns, sha256, chunk_list, state) "
        "SELECT id, 1000 + id, 1, '\\x00', '\\x00', 2 FROM files");
    tx.exec(
        "UPDATE files SET current_version_id = v.id FROM file_versions v "
        "WHERE v.file_id = files.id");
    tx.exec(
        "INSERT INTO jobs (kind, state, destination_id, version_id, device_id) "
        "SELECT 1, 2, ds.id, v.id, (SELECT device_id FROM folders ORDER BY id LIMIT 1) "
        "FROM file_versions v CROSS JOIN destinations ds WHERE ds.name IN ('dest1', 'dest2', "
        "'dest3')");
    tx.commit();
  }
  ExpectExact("before");
  // Three workers, one per destination, complete the deliveries of the same
  // versions in the same order (each commit races the others on the same
  // version rows); a fourth connection removes dest3 halfway.
  std::atomic<int> retries{0};
  auto worker = [&](const std::string& dest) {
    pqxx::connection c(url_);
    std::vector<int64_t> ids;
    {
      pqxx::work tx(c);
      for (const auto& row : tx.exec(absl::StrCat(
               "SELECT j.id FROM jobs j JOIN destinations d ON d.id = j.destination_id WHERE "
               "d.name = '",
               dest, "' ORDER BY j.version_id"))) {
        ids.push_back(row[0].as<int64_t>());
      }
      tx.commit();
    }
    for (int64_t id : ids) {
      for (;;) {
        try {
          pqxx::work tx(c);
          tx.exec(absl::StrCat("UPDATE jobs SET state = 3, finished_at = now() WHERE id = ", id,
                               " AND state = 2"));
          tx.commit();
          break;
        } catch (const pqxx::transaction_rollback&) {
          ++retries;  // a deadlock or serialization failure: retried, as PgPool does
        }
      }
    }
  };
  std::thread remover([&] {
    pqxx::connection c(url_);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    for (;;) {
      try {
        pqxx::work tx(c);
        tx.exec("UPDATE destinations SET removed_at = now() WHERE name = 'dest3'");
        tx.commit();
        break;
      } catch (const pqxx::transaction_rollback&) {
        ++retries;
      }
    }
  });
  std::vector<std::thread> ws;
  for (const char* d : {"dest1", "dest2", "dest3"}) ws.emplace_back(worker, d);
  for (auto& t : ws) t.join();
  remover.join();
  ExpectExact(absl::StrCat("after concurrent completions (", retries.load(), " retries)"));
  pqxx::work tx(*conn_);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM file_versions WHERE delivered_dests = 2")[0].as<int>(),
            200);
  tx.commit();
}

TEST_F(StatusCountersTest, AVersionClaimedCurrentThatIsNotIsRefused) {
  pqxx::work tx(*conn_);
  tx.exec(
      "INSERT INTO files (folder_id, path) SELECT min(id), convert_to('x', 'UTF8') FROM folders");
  EXPECT_THROW(tx.exec("INSERT INTO file_versions (file_id, size, mtime_ns, sha256, chunk_list, "
                       "state, is_current) SELECT id, 1, 1, '\\x00', '\\x00', 2, true FROM files"),
               pqxx::sql_error);
}

TEST_F(StatusCountersTest, RebuildRestoresCountersAfterATruncate) {
  std::mt19937 rng(7);
  for (int i = 0; i < 150; ++i) {
    pqxx::work tx(*conn_);
    RandomOp(tx, rng);
    tx.commit();
  }
  ExpectExact("after random operations");
  {
    // TRUNCATE fires no row or statement trigger the counters listen to.
    pqxx::work tx(*conn_);
    tx.exec("TRUNCATE status_version_counts, status_delivery_counts, status_chunk_counts");
    tx.exec("UPDATE file_versions SET delivered_dests = delivered_dests + 5 WHERE id % 3 = 0");
    tx.commit();
  }
  EXPECT_FALSE(Recount(*conn_) == FromStore(store_.get()));
  {
    pqxx::work tx(*conn_);
    tx.exec("SELECT shoebox_status_rebuild()");
    tx.commit();
  }
  ExpectExact("after shoebox_status_rebuild()");
}

}  // namespace
}  // namespace shoebox::coordinator
