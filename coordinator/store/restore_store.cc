// PostgreSQL side of restore_store.h (migration 22).
#include "coordinator/store/restore_store.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

using pg::Bin;
using pg::BinParam;
using pg::NumArray;

constexpr char kRequestCols[] =
    "r.id, d.name, r.folder_root, r.path, r.version_id, r.state, r.reason, r.requested_by, "
    "epoch_ms(r.created_at), epoch_ms(r.finished_at), r.restored_path";

RestoreRequestRow RequestFromRow(const pqxx::row& r, int off) {
  RestoreRequestRow q;
  q.id = r[off + 0].as<int64_t>();
  q.device = r[off + 1].as<std::string>();
  q.folder = Bin(r[off + 2]);
  q.path = Bin(r[off + 3]);
  q.version_id = r[off + 4].as<int64_t>();
  q.state = r[off + 5].as<std::string>();
  q.reason = r[off + 6].as<std::string>();
  q.requested_by = r[off + 7].as<std::string>();
  q.created_unix_ms = r[off + 8].as<int64_t>();
  q.finished_unix_ms = r[off + 9].as<int64_t>();
  q.restored_path = Bin(r[off + 10]);
  return q;
}

// Open requests older than `days` expire, with a reason that says what to do.
void ExpireOld(pqxx::transaction_base& tx, uint32_t days) {
  tx.exec_params(
      "UPDATE restore_requests r SET state = 'expired', finished_at = now(), reason = "
      "'device ' || d.name || ' did not take this request within ' || $2 || "
      "' days (is its agent running?); request the restore again once it is online' "
      "FROM devices d WHERE d.id = r.device_id AND r.state IN ('pending', 'sent') "
      "AND r.created_at < now() - make_interval(days => $1::int)",
      static_cast<int64_t>(days), std::to_string(days));
}

// A keyset cursor's time as a timestamptz literal with microseconds: a
// constant the planner can see (an expression such as 'epoch' + interval is
// only stable, so it would plan the index scan as a bitmap scan plus sort).
std::string CursorTime(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", absl::FromUnixMicros(unix_us),
                          absl::UTCTimeZone());
}

// The IDs of the named devices that exist (unknown names are skipped).
std::vector<int64_t> DeviceIds(pqxx::transaction_base& tx, const std::vector<std::string>& names) {
  std::vector<int64_t> ids;
  for (const std::string& n : names) {
    pqxx::result r = tx.exec_params("SELECT id FROM devices WHERE name = $1", n);
    if (!r.empty()) ids.push_back(r[0][0].as<int64_t>());
  }
  return ids;
}

}  // namespace

absl::StatusOr<DeletedPage> RestoreStore::ListDeleted(const DeletedQuery& q) {
  std::vector<DeletedRow> out;
  int64_t next_us = 0, next_id = 0;
  absl::Status st = store_->RunInTransaction("list deleted files", [&](pqxx::transaction_base& tx) {
    out.clear();
    ExpireOld(tx, expire_days_);
    const bool all = q.devices.empty();
    const std::vector<int64_t> ids = all ? std::vector<int64_t>{} : DeviceIds(tx, q.devices);
    next_us = next_id = 0;
    if (!all && ids.empty()) return absl::OkStatus();
    // Walks the partial index file_versions_deleted newest first in batches
    // of kBatch candidates (an index scan that stops after the batch), and
    // keeps a candidate when it is still its file's current version, within
    // its folder's deleted_keep_days and on a wanted device. The planner
    // cannot know how many candidates survive these filters, so one
    // statement would be planned as a scan of every deleted version
    // (docs/web.md shows both plans); batches bound the work per page. At
    // most kMaxScan candidates are looked at per call: a member whose
    // devices hold few of the deletions gets a shorter page and a cursor.
    constexpr int64_t kBatch = 200;
    constexpr int64_t kMaxScan = 20000;
    int64_t cur_us = q.before_deleted_unix_us, cur_id = q.before_version_id;
    int64_t scanned = 0;
    bool exhausted = false;
    std::vector<int64_t> versions;
    // The planner underestimates how many deletions lie before a cursor
    // deep in the list and would take them all through a bitmap scan and a
    // sort; the index already has them in order, and the batch stops after
    // kBatch. Only for this transaction.
    tx.exec("SET LOCAL enable_bitmapscan = off");
    while (out.size() < q.limit && !exhausted && scanned < kMaxScan) {
      pqxx::result r = tx.exec_params(
          "WITH c AS MATERIALIZED (SELECT id, file_id, deleted_at FROM file_versions "
          "WHERE deleted_at IS NOT NULL AND ($7::boolean OR "
          "(deleted_at, id) < ($1::timestamptz, $2::bigint)) "
          "ORDER BY deleted_at DESC, id DESC LIMIT $6) "
          "SELECT c.id, d.name, fo.root, f.path, epoch_ms(c.deleted_at), "
          "(extract(epoch FROM c.deleted_at) * 1000000)::bigint, v.size, v.mtime_ns, "
          "COALESCE(rp.deleted_keep_days, $5::int), "
          "(f.current_version_id = c.id AND c.deleted_at > now() - "
          "make_interval(days => COALESCE(rp.deleted_keep_days, $5::int)) "
          "AND ($3::boolean OR fo.device_id = ANY($4::bigint[]))) AS wanted "
          "FROM c JOIN file_versions v ON v.id = c.id "
          "JOIN files f ON f.id = c.file_id "
          "JOIN folders fo ON fo.id = f.folder_id "
          "JOIN devices d ON d.id = fo.device_id "
          "LEFT JOIN retention_policies rp ON rp.folder_id = fo.id "
          "ORDER BY c.deleted_at DESC, c.id DESC",
          CursorTime(cur_us), cur_id, all, NumArray(ids), static_cast<int64_t>(q.default_keep_days),
          kBatch, cur_us == 0 && cur_id == 0);
      exhausted = static_cast<int64_t>(r.size()) < kBatch;
      for (const pqxx::row& row : r) {
        ++scanned;
        cur_id = row[0].as<int64_t>();
        cur_us = row[5].as<int64_t>();
        if (!row[9].as<bool>()) continue;
        DeletedRow& d = out.emplace_back();
        d.version_id = cur_id;
        d.device = row[1].as<std::string>();
        d.folder = Bin(row[2]);
        d.path = Bin(row[3]);
        d.deleted_unix_ms = row[4].as<int64_t>();
        d.deleted_unix_us = cur_us;
        d.size = row[6].as<uint64_t>();
        d.mtime_ns = row[7].as<int64_t>();
        d.keep_days = row[8].as<uint32_t>();
        versions.push_back(d.version_id);
        if (out.size() == q.limit) break;
      }
    }
    // Where the next page starts: after the last row returned, or after the
    // last candidate looked at when the scan stopped short; none at the end.
    next_us = 0;
    next_id = 0;
    if (out.size() == q.limit) {
      next_us = out.back().deleted_unix_us;
      next_id = out.back().version_id;
    } else if (!exhausted) {
      next_us = cur_us;
      next_id = cur_id;
    }
    if (versions.empty()) return absl::OkStatus();
    pqxx::result rq = tx.exec_params(
        absl::StrCat("SELECT DISTINCT ON (r.version_id) ", kRequestCols,
                     " FROM restore_requests r JOIN devices d ON d.id = r.device_id "
                     "WHERE r.version_id = ANY($1::bigint[]) ORDER BY r.version_id, r.id DESC"),
        NumArray(versions));
    for (const pqxx::row& row : rq) {
      RestoreRequestRow req = RequestFromRow(row, 0);
      for (DeletedRow& d : out) {
        if (d.version_id == req.version_id) d.restore = req;
      }
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return DeletedPage{std::move(out), next_us, next_id};
}

absl::StatusOr<RestoreRequestRow> RestoreStore::Create(const std::string& device,
                                                       const std::string& folder,
                                                       const std::string& path, int64_t version_id,
                                                       const std::string& requested_by) {
  RestoreRequestRow out;
  absl::Status st =
      store_->RunInTransaction("create restore request", [&](pqxx::transaction_base& tx) {
        ExpireOld(tx, expire_days_);
        pqxx::result dr = tx.exec_params("SELECT id FROM devices WHERE name = $1", device);
        if (dr.empty()) {
          return absl::NotFoundError(
              absl::StrCat("device \"", device, "\" is not enrolled (see `shoebox devices`)"));
        }
        const int64_t device_id = dr[0][0].as<int64_t>();
        pqxx::result fr = tx.exec_params(
            "SELECT f.id, fo.root, f.current_version_id FROM files f "
            "JOIN folders fo ON fo.id = f.folder_id "
            "WHERE fo.device_id = $1 AND f.path = $2 AND ($3::bytea = ''::bytea OR fo.root = $3) "
            "ORDER BY fo.root",
            device_id, BinParam(path), BinParam(folder));
        if (fr.empty() || fr[0][2].is_null()) {
          return absl::NotFoundError(
              absl::StrCat("device ", device, " has no file ", PrintablePath(path),
                           folder.empty() ? "" : " in folder " + PrintablePath(folder),
                           " in the catalog (see `shoebox versions ", device, "`)"));
        }
        if (fr.size() > 1) {
          return absl::InvalidArgumentError(
              absl::StrCat("several folders of device ", device, " hold ", PrintablePath(path),
                           ": name the folder (--folder ", PrintablePath(Bin(fr[0][1])), ", ...)"));
        }
        const int64_t file_id = fr[0][0].as<int64_t>();
        const std::string root = Bin(fr[0][1]);
        const int64_t version = version_id != 0 ? version_id : fr[0][2].as<int64_t>();
        pqxx::result vr = tx.exec_params(
            "SELECT state, chunks_dropped FROM file_versions WHERE id = $1 AND file_id = $2",
            version, file_id);
        if (vr.empty()) {
          return absl::NotFoundError(absl::StrCat("version ", version, " is not a version of ",
                                                  device, ":", PrintablePath(path),
                                                  " (see `shoebox versions ", device, "`)"));
        }
        if (vr[0][0].as<int>() != 2) {
          return absl::FailedPreconditionError(
              absl::StrCat("version ", version, " of ", device, ":", PrintablePath(path),
                           " never received all its chunks; choose an earlier version"));
        }
        if (vr[0][1].as<bool>()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the chunk store no longer holds version ", version, " of ", device, ":",
              PrintablePath(path),
              " (pass-through folder): restore it from a destination (`shoebox versions`)"));
        }
        pqxx::result open = tx.exec_params(
            absl::StrCat("SELECT ", kRequestCols,
                         " FROM restore_requests r JOIN devices d ON d.id = r.device_id "
                         "WHERE r.device_id = $1 AND r.folder_root = $2 AND r.path = $3 "
                         "AND r.state IN ('pending', 'sent') ORDER BY r.id DESC LIMIT 1"),
            device_id, BinParam(root), BinParam(path));
        if (!open.empty()) {
          out = RequestFromRow(open[0], 0);
          return absl::OkStatus();
        }
        pqxx::result ins = tx.exec_params(
            "INSERT INTO restore_requests (device_id, folder_root, path, version_id, requested_by) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING id",
            device_id, BinParam(root), BinParam(path), version, requested_by);
        pqxx::result row = tx.exec_params(
            absl::StrCat("SELECT ", kRequestCols,
                         " FROM restore_requests r JOIN devices d ON d.id = r.device_id "
                         "WHERE r.id = $1"),
            ins[0][0].as<int64_t>());
        out = RequestFromRow(row[0], 0);
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<RestoreRequestRow>> RestoreStore::List(
    const std::vector<std::string>& devices, const std::vector<int64_t>& ids, int64_t before_id,
    uint32_t limit) {
  std::vector<RestoreRequestRow> out;
  absl::Status st =
      store_->RunInTransaction("list restore requests", [&](pqxx::transaction_base& tx) {
        out.clear();
        ExpireOld(tx, expire_days_);
        const bool all = devices.empty();
        const std::vector<int64_t> dev = all ? std::vector<int64_t>{} : DeviceIds(tx, devices);
        if (!all && dev.empty()) return absl::OkStatus();
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kRequestCols,
                         " FROM restore_requests r JOIN devices d ON d.id = r.device_id "
                         "WHERE ($1::boolean OR r.device_id = ANY($2::bigint[])) "
                         "AND ($3::boolean OR r.id = ANY($4::bigint[])) "
                         "AND ($5::bigint = 0 OR r.id < $5) ORDER BY r.id DESC LIMIT $6"),
            all, NumArray(dev), ids.empty(), NumArray(ids), before_id, static_cast<int64_t>(limit));
        for (const pqxx::row& row : r) out.push_back(RequestFromRow(row, 0));
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<RestoreOrderRow>> RestoreStore::TakeOpen(const std::string& device) {
  std::vector<RestoreOrderRow> out;
  absl::Status st =
      store_->RunInTransaction("hand out restore requests", [&](pqxx::transaction_base& tx) {
        out.clear();
        ExpireOld(tx, expire_days_);
        pqxx::result r = tx.exec_params(
            "UPDATE restore_requests r SET state = 'sent', sent_at = COALESCE(r.sent_at, now()) "
            "FROM devices d WHERE d.id = r.device_id AND d.name = $1 "
            "AND r.state IN ('pending', 'sent') "
            "RETURNING r.id, r.folder_root, r.path, r.version_id",
            device);
        for (const pqxx::row& row : r) {
          RestoreOrderRow o;
          o.request_id = row[0].as<int64_t>();
          o.folder = Bin(row[1]);
          o.path = Bin(row[2]);
          o.version_id = row[3].as<int64_t>();
          out.push_back(std::move(o));
        }
        std::sort(out.begin(), out.end(), [](const RestoreOrderRow& a, const RestoreOrderRow& b) {
          return a.request_id < b.request_id;
        });
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<RestoreRequestRow> RestoreStore::Report(const std::string& device,
                                                       int64_t request_id, bool ok,
                                                       const std::string& reason,
                                                       const std::string& restored_path) {
  RestoreRequestRow out;
  absl::Status st =
      store_->RunInTransaction("record restore outcome", [&](pqxx::transaction_base& tx) {
        pqxx::result r = tx.exec_params(
            "UPDATE restore_requests r SET state = $3, reason = $4, restored_path = $5, "
            "finished_at = now() FROM devices d WHERE d.id = r.device_id AND d.name = $1 "
            "AND r.id = $2 AND r.state IN ('pending', 'sent') "
            "RETURNING r.folder_root, r.path, r.version_id, r.device_id",
            device, request_id, ok ? "done" : "failed", ok ? "" : reason, BinParam(restored_path));
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("restore request ", request_id,
                                                  " is not an open request of device ", device));
        }
        if (ok && restored_path == Bin(r[0][1])) {
          // Back at its original path: the deleted version is the file's
          // content again.
          tx.exec_params(
              "UPDATE file_versions v SET deleted_at = NULL FROM files f, folders fo "
              "WHERE v.id = $1 AND f.id = v.file_id AND f.current_version_id = v.id "
              "AND fo.id = f.folder_id AND fo.device_id = $2 AND fo.root = $3 "
              "AND v.deleted_at IS NOT NULL",
              r[0][2].as<int64_t>(), r[0][3].as<int64_t>(), BinParam(Bin(r[0][0])));
        }
        pqxx::result row = tx.exec_params(
            absl::StrCat("SELECT ", kRequestCols,
                         " FROM restore_requests r JOIN devices d ON d.id = r.device_id "
                         "WHERE r.id = $1"),
            request_id);
        out = RequestFromRow(row[0], 0);
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

}  // namespace shoebox::coordinator
