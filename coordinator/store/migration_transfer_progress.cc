// Migration 21 (issue 21, docs/transfers.md "Status"): what `transfer list`
// reads so that its cost does not grow with the size of a transfer.
//   transfer_fetch_counts  fetch jobs (kind 4) per transfer and state, with
//                          their remote_size: append-only deltas written by
//                          triggers on jobs, as the status counters of
//                          migration 14 (docs/coordinator.md "Status
//                          counters"): a statement trigger with a transition
//                          table for inserts and deletes, a row trigger with a
//                          WHEN for updates, so lease renewals and other
//                          updates that change neither state nor size cost
//                          nothing. shoebox_transfer_counts_compact() folds
//                          them (a writer does it about once per 64 calls,
//                          skipping rows another compaction holds).
//   transfers.listed_items the size of the saved listing (items found),
//                          written with the listing by ApplyListing.
//   jobs_transfer_done     the completion times of a transfer's fetches, for
//                          the rate over the recent window (a range read of
//                          the window only).
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

namespace {

constexpr char kV21[] = R"sql(
CREATE TABLE transfer_fetch_counts (
  transfer_id bigint NOT NULL,
  state smallint NOT NULL,
  items bigint NOT NULL,
  bytes bigint NOT NULL
);
CREATE INDEX transfer_fetch_counts_transfer ON transfer_fetch_counts (transfer_id);
CREATE INDEX jobs_transfer_done ON jobs (transfer_id, finished_at) WHERE kind = 4 AND state = 3;

CREATE FUNCTION shoebox_transfer_counts_compact() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  WITH d AS (DELETE FROM transfer_fetch_counts WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM transfer_fetch_counts FOR UPDATE SKIP LOCKED)) RETURNING *)
  INSERT INTO transfer_fetch_counts
    SELECT transfer_id, state, sum(items), sum(bytes) FROM d
    GROUP BY transfer_id, state HAVING sum(items) <> 0 OR sum(bytes) <> 0;
END
$fn$;

CREATE FUNCTION shoebox_transfer_counts_rows() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO transfer_fetch_counts
      SELECT transfer_id, state, count(*), COALESCE(sum(remote_size), 0) FROM nj
      WHERE kind = 4 AND transfer_id IS NOT NULL GROUP BY transfer_id, state;
  ELSE
    INSERT INTO transfer_fetch_counts
      SELECT transfer_id, state, -count(*), -COALESCE(sum(remote_size), 0) FROM oj
      WHERE kind = 4 AND transfer_id IS NOT NULL GROUP BY transfer_id, state;
  END IF;
  IF random() < 1.0 / 64 THEN PERFORM shoebox_transfer_counts_compact(); END IF;
  RETURN NULL;
END
$fn$;

CREATE FUNCTION shoebox_transfer_counts_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF OLD.kind = 4 AND OLD.transfer_id IS NOT NULL THEN
    INSERT INTO transfer_fetch_counts VALUES (OLD.transfer_id, OLD.state, -1, -OLD.remote_size);
  END IF;
  IF NEW.kind = 4 AND NEW.transfer_id IS NOT NULL THEN
    INSERT INTO transfer_fetch_counts VALUES (NEW.transfer_id, NEW.state, 1, NEW.remote_size);
  END IF;
  IF random() < 1.0 / 64 THEN PERFORM shoebox_transfer_counts_compact(); END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER jobs_transfer_counts_ins AFTER INSERT ON jobs
  REFERENCING NEW TABLE AS nj FOR EACH STATEMENT
  EXECUTE FUNCTION shoebox_transfer_counts_rows();
CREATE TRIGGER jobs_transfer_counts_del AFTER DELETE ON jobs
  REFERENCING OLD TABLE AS oj FOR EACH STATEMENT
  EXECUTE FUNCTION shoebox_transfer_counts_rows();
CREATE TRIGGER jobs_transfer_counts_upd AFTER UPDATE ON jobs FOR EACH ROW
  WHEN ((OLD.kind = 4 AND OLD.transfer_id IS NOT NULL OR
         NEW.kind = 4 AND NEW.transfer_id IS NOT NULL) AND
        (OLD.state IS DISTINCT FROM NEW.state OR OLD.remote_size IS DISTINCT FROM NEW.remote_size
         OR OLD.kind IS DISTINCT FROM NEW.kind
         OR OLD.transfer_id IS DISTINCT FROM NEW.transfer_id))
  EXECUTE FUNCTION shoebox_transfer_counts_update();

ALTER TABLE transfers ADD COLUMN listed_items bigint NOT NULL DEFAULT 0;
UPDATE transfers t SET listed_items =
  (SELECT count(*) FROM transfer_listing l WHERE l.transfer_id = t.id);

-- Backfill: the fetch jobs that exist.
INSERT INTO transfer_fetch_counts
  SELECT transfer_id, state, count(*), COALESCE(sum(remote_size), 0) FROM jobs
  WHERE kind = 4 AND transfer_id IS NOT NULL GROUP BY transfer_id, state;
)sql";

}  // namespace

const char* TransferProgressMigrationSql() { return kV21; }

}  // namespace shoebox::coordinator
