// Migration 14 (issue 23, "a million files"): the status counters and the
// triggers that keep them. Apart from migrations.cc for its size; listed
// there as version 14.
#include <string>

#include "absl/strings/str_replace.h"
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

namespace {

// Issue 23, "a million files": `shoebox status` (and the copies summary of
// verify) read counters instead of scanning every version and delivery
// (docs/performance.md, "A million files"). The counters are kept by
// statement-level triggers with transition tables, so every statement that
// changes versions, files, deliveries, chunks or destinations keeps them
// exact in its own transaction, whatever code path runs it (ReportFiles,
// MarkChunkStored, the queue, retention, verify, a transfer ingest, psql).
//
//  - file_versions.is_current: files.current_version_id points at the row
//    (kept by the files triggers; a row inserted after its file already
//    points at it, as ReportFiles does, is set by a BEFORE INSERT trigger).
//  - file_versions.delivered_dests: its deliveries (kind 1) that are done
//    (state 3) at a destination not removed. Kept by the jobs triggers and by
//    a destination's removal. Updating the version row serialises concurrent
//    completions of one version (two workers, two destinations).
//  - status_version_counts, status_delivery_counts, status_chunk_counts:
//    append-only deltas (INSERTs never wait for each other; no hot row). Each
//    trigger adds, per key, the contributions of the rows after the
//    statement minus those before it; the totals are the sums per key.
//    shoebox_status_compact() folds them (a writer does it about once per 64
//    statements, skipping rows another compaction holds).
//  - shoebox_status_rebuild(): recomputes all of it under table locks (the
//    migration's backfill; the repair after editing tables by hand with
//    triggers disabled or after a TRUNCATE, which the triggers do not see).
constexpr char kV14[] = R"sql(
ALTER TABLE file_versions ADD COLUMN is_current boolean NOT NULL DEFAULT false,
  ADD COLUMN delivered_dests integer NOT NULL DEFAULT 0;

-- Per device: current not-deleted versions (files, bytes, awaiting chunks),
-- complete ones by destination copies (0, 1, 2, 3 or more), and dedup hits
-- among all versions.
CREATE TABLE status_version_counts (
  device_id bigint NOT NULL,
  files bigint NOT NULL,
  bytes bigint NOT NULL,
  awaiting bigint NOT NULL,
  copies0 bigint NOT NULL,
  copies1 bigint NOT NULL,
  copies2 bigint NOT NULL,
  copies3 bigint NOT NULL,
  dedup bigint NOT NULL
);
-- Deliveries (jobs of kind 1) per destination, device (0: none) and state.
CREATE TABLE status_delivery_counts (
  destination_id bigint NOT NULL,
  device_id bigint NOT NULL,
  state smallint NOT NULL,
  files bigint NOT NULL,
  bytes bigint NOT NULL
);
-- Stored chunks.
CREATE TABLE status_chunk_counts (
  chunks bigint NOT NULL,
  bytes bigint NOT NULL,
  stored_bytes bigint NOT NULL
);

-- Folds each delta table into one row per key (dropping all-zero keys).
-- Rows another transaction is folding are skipped, so this never waits.
CREATE FUNCTION shoebox_status_compact() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  WITH d AS (DELETE FROM status_version_counts WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM status_version_counts FOR UPDATE SKIP LOCKED)) RETURNING *)
  INSERT INTO status_version_counts
    SELECT device_id, sum(files), sum(bytes), sum(awaiting), sum(copies0), sum(copies1),
           sum(copies2), sum(copies3), sum(dedup) FROM d GROUP BY device_id
    HAVING sum(files) <> 0 OR sum(bytes) <> 0 OR sum(awaiting) <> 0 OR sum(copies0) <> 0
      OR sum(copies1) <> 0 OR sum(copies2) <> 0 OR sum(copies3) <> 0 OR sum(dedup) <> 0;
  WITH d AS (DELETE FROM status_delivery_counts WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM status_delivery_counts FOR UPDATE SKIP LOCKED)) RETURNING *)
  INSERT INTO status_delivery_counts
    SELECT destination_id, device_id, state, sum(files), sum(bytes) FROM d
    GROUP BY destination_id, device_id, state HAVING sum(files) <> 0 OR sum(bytes) <> 0;
  WITH d AS (DELETE FROM status_chunk_counts WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM status_chunk_counts FOR UPDATE SKIP LOCKED)) RETURNING *)
  INSERT INTO status_chunk_counts
    SELECT sum(chunks), sum(bytes), sum(stored_bytes) FROM d
    HAVING sum(chunks) <> 0 OR sum(bytes) <> 0 OR sum(stored_bytes) <> 0;
END
$fn$;

-- A version inserted after its file already points at it (ReportFiles takes
-- the ID first) is current from the start; no delivery can reference a row
-- not yet inserted, so it has no delivered copy.
CREATE FUNCTION shoebox_version_before_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.is_current := EXISTS (SELECT 1 FROM files f WHERE f.id = NEW.file_id
                            AND f.current_version_id = NEW.id);
  NEW.delivered_dests := 0;
  RETURN NEW;
END
$fn$;

-- Contribution of version rows: c(file_id, s, e, size, state, dd, dedup),
-- s = +1 for rows after, -1 for rows before the statement; e = counted as
-- a current file. The tail nets them per file first, so only files whose
-- contribution changed are joined to their device.
CREATE FUNCTION shoebox_status_versions() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM nv LEFT JOIN files f ON f.id = nv.file_id
               WHERE nv.is_current AND f.current_version_id IS DISTINCT FROM nv.id) THEN
      RAISE EXCEPTION 'file_versions inserted with is_current = true but their file does not '
        'point at them; insert with is_current = false (the default) and a trigger sets it';
    END IF;
    WITH c AS (SELECT file_id, 1 AS s, (is_current AND deleted_at IS NULL)::int AS e, size,
                      state, least(delivered_dests, 3) AS dd, dedup::int AS dedup FROM nv)
    {{VERSION_TAIL}};
  ELSIF TG_OP = 'DELETE' THEN
    WITH c AS (SELECT file_id, -1 AS s, (is_current AND deleted_at IS NULL)::int AS e, size,
                      state, least(delivered_dests, 3) AS dd, dedup::int AS dedup FROM ov)
    {{VERSION_TAIL}};
  END IF;
  IF random() < 1.0 / 64 THEN PERFORM shoebox_status_compact(); END IF;
  RETURN NULL;
END
$fn$;

-- Updates (most count down missing_count, renew a lease or note a remote
-- check, and change nothing counted) go through row triggers whose WHEN
-- passes only a change of a counted column: no function call, no
-- transition table for the others, and cached plans for the rest.
CREATE FUNCTION shoebox_status_version_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  oe int := (OLD.is_current AND OLD.deleted_at IS NULL)::int;
  ne int := (NEW.is_current AND NEW.deleted_at IS NULL)::int;
  od int := least(OLD.delivered_dests, 3);
  nd int := least(NEW.delivered_dests, 3);
BEGIN
  IF OLD.file_id <> NEW.file_id THEN
    RAISE EXCEPTION 'file_versions.file_id of version % changed; a version never moves', OLD.id;
  END IF;
  INSERT INTO status_version_counts
    SELECT fo.device_id, ne - oe, ne * NEW.size - oe * OLD.size,
           ne * (NEW.state = 1)::int - oe * (OLD.state = 1)::int,
           ne * (NEW.state = 2 AND nd = 0)::int - oe * (OLD.state = 2 AND od = 0)::int,
           ne * (NEW.state = 2 AND nd = 1)::int - oe * (OLD.state = 2 AND od = 1)::int,
           ne * (NEW.state = 2 AND nd = 2)::int - oe * (OLD.state = 2 AND od = 2)::int,
           ne * (NEW.state = 2 AND nd = 3)::int - oe * (OLD.state = 2 AND od = 3)::int,
           NEW.dedup::int - OLD.dedup::int
      FROM files f JOIN folders fo ON fo.id = f.folder_id WHERE f.id = NEW.file_id;
  IF random() < 1.0 / 1024 THEN PERFORM shoebox_status_compact(); END IF;
  RETURN NULL;
END
$fn$;

CREATE FUNCTION shoebox_status_job_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF OLD.kind = 1 THEN
    INSERT INTO status_delivery_counts VALUES (OLD.destination_id, COALESCE(OLD.device_id, 0),
      OLD.state, -1, -COALESCE((SELECT size FROM file_versions WHERE id = OLD.version_id), 0));
    IF OLD.state = 3 AND OLD.version_id IS NOT NULL AND EXISTS (SELECT 1 FROM destinations
        WHERE id = OLD.destination_id AND removed_at IS NULL) THEN
      UPDATE file_versions SET delivered_dests = delivered_dests - 1 WHERE id = OLD.version_id;
    END IF;
  END IF;
  IF NEW.kind = 1 THEN
    INSERT INTO status_delivery_counts VALUES (NEW.destination_id, COALESCE(NEW.device_id, 0),
      NEW.state, 1, COALESCE((SELECT size FROM file_versions WHERE id = NEW.version_id), 0));
    IF NEW.state = 3 AND NEW.version_id IS NOT NULL AND EXISTS (SELECT 1 FROM destinations
        WHERE id = NEW.destination_id AND removed_at IS NULL) THEN
      UPDATE file_versions SET delivered_dests = delivered_dests + 1 WHERE id = NEW.version_id;
    END IF;
  END IF;
  IF random() < 1.0 / 1024 THEN PERFORM shoebox_status_compact(); END IF;
  RETURN NULL;
END
$fn$;

-- files: is_current of the versions a statement made (or stopped being)
-- current, recomputed from the files table as it is now.
CREATE FUNCTION shoebox_status_files() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE file_versions v SET is_current = true FROM new_files
      WHERE v.id = new_files.current_version_id AND v.file_id = new_files.id
        AND NOT v.is_current;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE file_versions v SET is_current = false FROM old_files
      WHERE v.id = old_files.current_version_id AND v.is_current
        AND NOT EXISTS (SELECT 1 FROM files f WHERE f.id = v.file_id
                        AND f.current_version_id = v.id);
  ELSE
    UPDATE file_versions v SET is_current = NOT v.is_current
      WHERE v.id IN (SELECT current_version_id FROM old_files
                     UNION SELECT current_version_id FROM new_files)
        AND v.is_current <> EXISTS (SELECT 1 FROM files f WHERE f.id = v.file_id
                                    AND f.current_version_id = v.id);
  END IF;
  RETURN NULL;
END
$fn$;

-- Deliveries: c(destination_id, device_id, state, version_id, kind, s).
CREATE FUNCTION shoebox_status_jobs() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH c AS (SELECT destination_id, device_id, state, version_id, kind, 1 AS s FROM nj
               WHERE kind = 1)
    {{JOB_TAIL}};
  ELSIF TG_OP = 'DELETE' THEN
    WITH c AS (SELECT destination_id, device_id, state, version_id, kind, -1 AS s FROM oj
               WHERE kind = 1)
    {{JOB_TAIL}};
  END IF;
  IF random() < 1.0 / 64 THEN PERFORM shoebox_status_compact(); END IF;
  RETURN NULL;
END
$fn$;

-- Chunks: row-level triggers whose WHEN (evaluated before any function
-- call) passes only changes of a stored chunk's counted columns, so the
-- chunk upserts of ReportFiles (refcount only) and scrub marks fire nothing.
CREATE FUNCTION shoebox_status_chunk_row() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.stored THEN
    INSERT INTO status_chunk_counts VALUES (-1, -OLD.size, -OLD.stored_size);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.stored THEN
    INSERT INTO status_chunk_counts VALUES (1, NEW.size, NEW.stored_size);
  END IF;
  IF random() < 1.0 / 1024 THEN PERFORM shoebox_status_compact(); END IF;
  RETURN NULL;
END
$fn$;

-- A destination removed (or, were it ever done, brought back): its done
-- deliveries stop (start) counting as copies. Its deliveries are locked
-- first: a worker completing one now has either finished (its trigger saw
-- the destination not removed and counted the copy, taken back here) or
-- waits and then sees removed_at.
CREATE FUNCTION shoebox_status_destinations() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  flipped bigint[];
BEGIN
  SELECT array_agg(n.id ORDER BY n.id) INTO flipped FROM od o JOIN nd n ON n.id = o.id
    WHERE (o.removed_at IS NULL) <> (n.removed_at IS NULL);
  IF flipped IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM jobs WHERE destination_id = ANY(flipped) AND kind = 1 ORDER BY id FOR UPDATE;
  UPDATE file_versions v SET delivered_dests = v.delivered_dests + d.n
    FROM (SELECT j.version_id,
                 sum(CASE WHEN ds.removed_at IS NULL THEN 1 ELSE -1 END)::int AS n
            FROM jobs j JOIN destinations ds ON ds.id = j.destination_id
            WHERE j.destination_id = ANY(flipped) AND j.kind = 1 AND j.state = 3
              AND j.version_id IS NOT NULL
            GROUP BY j.version_id) d
    WHERE v.id = d.version_id;
  RETURN NULL;
END
$fn$;

-- Recomputes everything from the tables (exclusive of writers meanwhile).
CREATE FUNCTION shoebox_status_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  LOCK TABLE files, file_versions, jobs, chunks, destinations IN SHARE ROW EXCLUSIVE MODE;
  UPDATE file_versions v SET is_current = NOT v.is_current
    WHERE v.is_current <> EXISTS (SELECT 1 FROM files f WHERE f.id = v.file_id
                                  AND f.current_version_id = v.id);
  UPDATE file_versions v SET delivered_dests = COALESCE(d.n, 0)
    FROM file_versions v2 LEFT JOIN (
        SELECT j.version_id, count(*)::int AS n FROM jobs j
          JOIN destinations ds ON ds.id = j.destination_id
          WHERE j.kind = 1 AND j.state = 3 AND ds.removed_at IS NULL GROUP BY j.version_id) d
      ON d.version_id = v2.id
    WHERE v.id = v2.id AND v.delivered_dests <> COALESCE(d.n, 0);
  DELETE FROM status_version_counts;
  DELETE FROM status_delivery_counts;
  DELETE FROM status_chunk_counts;
  INSERT INTO status_version_counts
    SELECT fo.device_id, count(*) FILTER (WHERE e), COALESCE(sum(v.size) FILTER (WHERE e), 0),
           count(*) FILTER (WHERE e AND v.state = 1),
           count(*) FILTER (WHERE e AND v.state = 2 AND v.delivered_dests = 0),
           count(*) FILTER (WHERE e AND v.state = 2 AND v.delivered_dests = 1),
           count(*) FILTER (WHERE e AND v.state = 2 AND v.delivered_dests = 2),
           count(*) FILTER (WHERE e AND v.state = 2 AND v.delivered_dests >= 3),
           count(*) FILTER (WHERE v.dedup)
      FROM (SELECT *, is_current AND deleted_at IS NULL AS e FROM file_versions) v
      JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id
      GROUP BY fo.device_id;
  INSERT INTO status_delivery_counts
    SELECT j.destination_id, COALESCE(j.device_id, 0), j.state, count(*),
           COALESCE(sum(v.size), 0)
      FROM jobs j LEFT JOIN file_versions v ON v.id = j.version_id WHERE j.kind = 1
      GROUP BY 1, 2, 3;
  INSERT INTO status_chunk_counts
    SELECT count(*), COALESCE(sum(size), 0), COALESCE(sum(stored_size), 0) FROM chunks
      WHERE stored;
END
$fn$;

SELECT shoebox_status_rebuild();

-- A writer that knows its versions are current (ReportFiles) inserts them
-- with is_current = true and skips the row trigger; the statement trigger
-- checks that claim.
CREATE TRIGGER file_versions_status_before BEFORE INSERT ON file_versions
  FOR EACH ROW WHEN (NOT NEW.is_current OR NEW.delivered_dests <> 0)
  EXECUTE FUNCTION shoebox_version_before_insert();
CREATE TRIGGER file_versions_status_ins AFTER INSERT ON file_versions
  REFERENCING NEW TABLE AS nv FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_versions();
CREATE TRIGGER file_versions_status_upd AFTER UPDATE ON file_versions
  FOR EACH ROW WHEN ((OLD.file_id, OLD.is_current, OLD.deleted_at IS NULL, OLD.size, OLD.state,
                      least(OLD.delivered_dests, 3), OLD.dedup)
                     IS DISTINCT FROM (NEW.file_id, NEW.is_current, NEW.deleted_at IS NULL,
                                       NEW.size, NEW.state, least(NEW.delivered_dests, 3),
                                       NEW.dedup))
  EXECUTE FUNCTION shoebox_status_version_row();
CREATE TRIGGER file_versions_status_del AFTER DELETE ON file_versions
  REFERENCING OLD TABLE AS ov FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_versions();

CREATE TRIGGER files_status_ins AFTER INSERT ON files
  REFERENCING NEW TABLE AS new_files FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_files();
CREATE TRIGGER files_status_upd AFTER UPDATE ON files
  REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files
  FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_files();
CREATE TRIGGER files_status_del AFTER DELETE ON files
  REFERENCING OLD TABLE AS old_files FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_files();

CREATE TRIGGER jobs_status_ins AFTER INSERT ON jobs
  REFERENCING NEW TABLE AS nj FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_jobs();
CREATE TRIGGER jobs_status_upd AFTER UPDATE ON jobs
  FOR EACH ROW WHEN ((OLD.kind = 1 OR NEW.kind = 1)
                     AND (OLD.kind, OLD.state, OLD.destination_id, OLD.device_id, OLD.version_id)
                       IS DISTINCT FROM (NEW.kind, NEW.state, NEW.destination_id, NEW.device_id,
                                         NEW.version_id))
  EXECUTE FUNCTION shoebox_status_job_row();
CREATE TRIGGER jobs_status_del AFTER DELETE ON jobs
  REFERENCING OLD TABLE AS oj FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_jobs();

CREATE TRIGGER chunks_status_ins AFTER INSERT ON chunks
  FOR EACH ROW WHEN (NEW.stored) EXECUTE FUNCTION shoebox_status_chunk_row();
CREATE TRIGGER chunks_status_upd AFTER UPDATE ON chunks
  FOR EACH ROW WHEN ((OLD.stored OR NEW.stored) AND (OLD.stored, OLD.size, OLD.stored_size)
                     IS DISTINCT FROM (NEW.stored, NEW.size, NEW.stored_size))
  EXECUTE FUNCTION shoebox_status_chunk_row();
CREATE TRIGGER chunks_status_del AFTER DELETE ON chunks
  FOR EACH ROW WHEN (OLD.stored) EXECUTE FUNCTION shoebox_status_chunk_row();

CREATE TRIGGER destinations_status_upd AFTER UPDATE ON destinations
  REFERENCING OLD TABLE AS od NEW TABLE AS nd
  FOR EACH STATEMENT EXECUTE FUNCTION shoebox_status_destinations();

-- The rest of the status without scans: each destination's oldest pending
-- job, the queue ahead of it, and its most recent dead delivery are index
-- range reads.
CREATE INDEX jobs_pending_age ON jobs (destination_id, created_at, id) WHERE state IN (1, 2, 4);
CREATE INDEX jobs_queue_position ON jobs (destination_id, priority, id) WHERE state = 1;
CREATE INDEX jobs_dead_recent ON jobs (destination_id, updated_at, id) WHERE state = 5 AND kind = 1;
)sql";

// The shared tails of the counting triggers of kV14 (one copy of each
// statement for INSERT, UPDATE and DELETE).
constexpr char kV14VersionTail[] = R"sql(,
    n AS (SELECT file_id, sum(s * e) AS files, sum(s * e * size) AS bytes,
                 sum(s * e * (state = 1)::int) AS awaiting,
                 sum(s * e * (state = 2 AND dd = 0)::int) AS copies0,
                 sum(s * e * (state = 2 AND dd = 1)::int) AS copies1,
                 sum(s * e * (state = 2 AND dd = 2)::int) AS copies2,
                 sum(s * e * (state = 2 AND dd = 3)::int) AS copies3, sum(s * dedup) AS dedup
            FROM c GROUP BY file_id)
    INSERT INTO status_version_counts
      SELECT fo.device_id, sum(n.files), sum(n.bytes), sum(n.awaiting), sum(n.copies0),
             sum(n.copies1), sum(n.copies2), sum(n.copies3), sum(n.dedup)
        FROM n JOIN files f ON f.id = n.file_id JOIN folders fo ON fo.id = f.folder_id
        WHERE n.files <> 0 OR n.bytes <> 0 OR n.awaiting <> 0 OR n.copies0 <> 0
          OR n.copies1 <> 0 OR n.copies2 <> 0 OR n.copies3 <> 0 OR n.dedup <> 0
        GROUP BY fo.device_id)sql";
// Delivery counts, then the versions' delivered copies (kind 1 done at a
// destination not removed; the version row update serialises completions).
// n: the net change per (destination, device, state, version).
constexpr char kV14JobTail[] = R"sql(,
    n AS (SELECT destination_id, device_id, state, version_id, sum(s)::int AS s FROM c
            GROUP BY destination_id, device_id, state, version_id HAVING sum(s) <> 0),
    counted AS (INSERT INTO status_delivery_counts
      SELECT n.destination_id, COALESCE(n.device_id, 0), n.state, sum(n.s),
             COALESCE(sum(n.s * v.size), 0)
        FROM n LEFT JOIN file_versions v ON v.id = n.version_id
        GROUP BY 1, 2, 3 RETURNING 1)
    UPDATE file_versions v SET delivered_dests = v.delivered_dests + d.n
      FROM (SELECT n.version_id, sum(n.s)::int AS n FROM n
              JOIN destinations ds ON ds.id = n.destination_id AND ds.removed_at IS NULL
              WHERE n.state = 3 AND n.version_id IS NOT NULL
              GROUP BY n.version_id HAVING sum(n.s) <> 0 ORDER BY n.version_id) d
      WHERE v.id = d.version_id)sql";
}  // namespace

const char* StatusCountersMigrationSql() {
  static const std::string* sql = new std::string(absl::StrReplaceAll(
      kV14, {{"\n    {{VERSION_TAIL}}", kV14VersionTail}, {"\n    {{JOB_TAIL}}", kV14JobTail}}));
  return sql->c_str();
}

}  // namespace shoebox::coordinator
