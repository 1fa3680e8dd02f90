// The album directory's SQL (libpqxx 6.4). See album_store.h.
#include "coordinator/store/album_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "coordinator/store/pg_codec.h"
#include "coordinator/store/store.h"

namespace shoebox::coordinator {

namespace {

using pg::Bin;
using pg::BinParam;
using pg::Tx;

// The caller's current lease on a job of the destination, which is not
// removed (a removed destination keeps its rows for history only).
absl::Status CheckLease(Tx& tx, const AlbumLease& l) {
  pqxx::result r = tx.exec_params(
      "SELECT 1 FROM jobs j JOIN destinations d ON d.id = j.destination_id "
      "WHERE j.id = $1 AND j.lease_token = $2 AND j.lease_owner = $3 AND j.state = 2 AND "
      "j.lease_deadline >= now() AND j.destination_id = $4 AND d.removed_at IS NULL",
      l.job_id, l.token, l.worker_id, l.destination_id);
  if (!r.empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat(
      "job ", l.job_id, ": the caller holds no current lease on a job of destination ",
      l.destination_id, "; only a worker running one of its jobs may use its album directory"));
}

}  // namespace

absl::StatusOr<std::optional<std::string>> PgAlbumStore::LookupAlbum(const AlbumLease& lease,
                                                                     const std::string& key) {
  std::optional<std::string> out;
  RETURN_IF_ERROR(store_->RunInTransaction("look up album", [&](Tx& tx) {
    out.reset();
    RETURN_IF_ERROR(CheckLease(tx, lease));
    pqxx::result r = tx.exec_params(
        "SELECT remote_id FROM destination_albums WHERE destination_id = $1 AND album_key = $2",
        lease.destination_id, BinParam(key));
    if (!r.empty()) out = Bin(r[0][0]);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<RecordedAlbum> PgAlbumStore::RecordAlbum(const AlbumLease& lease,
                                                        const std::string& key,
                                                        const std::string& remote_id) {
  RecordedAlbum out;
  RETURN_IF_ERROR(store_->RunInTransaction("record album", [&](Tx& tx) {
    out = RecordedAlbum{};
    RETURN_IF_ERROR(CheckLease(tx, lease));
    // First writer wins. A concurrent insert of the same key makes this one
    // wait for its commit and then do nothing; the SELECT (a new snapshot
    // in READ COMMITTED) sees the winner. A key forgotten in between is
    // inserted again on the next round.
    for (int round = 0; round < 3; ++round) {
      pqxx::result ins = tx.exec_params(
          "INSERT INTO destination_albums (destination_id, album_key, remote_id) "
          "VALUES ($1, $2, $3) ON CONFLICT (destination_id, album_key) DO NOTHING "
          "RETURNING remote_id",
          lease.destination_id, BinParam(key), BinParam(remote_id));
      if (!ins.empty()) {
        out = RecordedAlbum{remote_id, true};
        return absl::OkStatus();
      }
      pqxx::result cur = tx.exec_params(
          "SELECT remote_id FROM destination_albums WHERE destination_id = $1 AND "
          "album_key = $2",
          lease.destination_id, BinParam(key));
      if (!cur.empty()) {
        out.remote_id = Bin(cur[0][0]);
        out.recorded = out.remote_id == remote_id;
        return absl::OkStatus();
      }
    }
    return absl::AbortedError(absl::StrCat("record album of destination ", lease.destination_id,
                                           ": the key was recorded and forgotten concurrently; "
                                           "try again"));
  }));
  return out;
}

absl::StatusOr<bool> PgAlbumStore::ForgetAlbum(const AlbumLease& lease, const std::string& key,
                                               const std::string& expected_id) {
  bool forgotten = false;
  RETURN_IF_ERROR(store_->RunInTransaction("forget album", [&](Tx& tx) {
    RETURN_IF_ERROR(CheckLease(tx, lease));
    forgotten = tx.exec_params(
                      "DELETE FROM destination_albums WHERE destination_id = $1 AND "
                      "album_key = $2 AND ($3 = ''::bytea OR remote_id = $3)",
                      lease.destination_id, BinParam(key), BinParam(expected_id))
                    .affected_rows() > 0;
    return absl::OkStatus();
  }));
  return forgotten;
}

}  // namespace shoebox::coordinator
