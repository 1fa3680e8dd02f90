#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

namespace {

// Job states and kinds use the numbers of shoebox.v1.JobState / JobKind.
// file_versions.state uses shoebox.v1.VersionState (1 pending, 2 complete).
// file_versions.chunk_list: n entries of (32-byte chunk ID ‖ 4-byte
// big-endian plaintext size), in file order.
constexpr char kV1[] = R"sql(
CREATE FUNCTION epoch_ms(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $$ SELECT COALESCE((extract(epoch FROM t) * 1000)::bigint, 0) $$;

CREATE TABLE devices (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  hostname text NOT NULL DEFAULT '',
  agent_version text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz,
  revoked boolean NOT NULL DEFAULT false,
  agent_files_pending bigint NOT NULL DEFAULT 0,
  agent_bytes_pending bigint NOT NULL DEFAULT 0,
  agent_upload_rate_bps bigint NOT NULL DEFAULT 0,
  agent_paused boolean NOT NULL DEFAULT false
);

CREATE TABLE folders (
  id bigserial PRIMARY KEY,
  device_id bigint NOT NULL REFERENCES devices(id),
  root bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (device_id, root)
);

CREATE TABLE files (
  id bigserial PRIMARY KEY,
  folder_id bigint NOT NULL REFERENCES folders(id),
  path bytea NOT NULL,
  current_version_id bigint,
  UNIQUE (folder_id, path)
);

CREATE TABLE file_versions (
  id bigserial PRIMARY KEY,
  file_id bigint NOT NULL REFERENCES files(id),
  size bigint NOT NULL,
  mtime_ns bigint NOT NULL,
  sha256 bytea NOT NULL,
  mode integer NOT NULL DEFAULT 0,
  chunk_list bytea NOT NULL,
  state smallint NOT NULL,
  -- Distinct chunks still missing; the version completes when it reaches 0.
  missing_count integer NOT NULL DEFAULT 0,
  dedup boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  deleted_at timestamptz
);
CREATE INDEX file_versions_file ON file_versions (file_id, id);

CREATE TABLE chunks (
  id bytea PRIMARY KEY,
  size integer NOT NULL,
  stored_size bigint NOT NULL DEFAULT 0,
  stored boolean NOT NULL DEFAULT false,
  refcount bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  stored_at timestamptz
);

-- Chunks a pending version still waits for (no foreign key: these rows are
-- written in bulk on the hot path and deleted when the chunk arrives).
CREATE TABLE version_missing (
  chunk_id bytea NOT NULL,
  version_id bigint NOT NULL,
  PRIMARY KEY (chunk_id, version_id)
);

-- Which device referenced which chunk (restores read only their own).
CREATE TABLE device_chunks (
  device_id bigint NOT NULL,
  chunk_id bytea NOT NULL,
  PRIMARY KEY (device_id, chunk_id)
);

CREATE TABLE destinations (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  kind text NOT NULL,
  settings jsonb NOT NULL DEFAULT '{}',
  sealed_credentials bytea NOT NULL DEFAULT '',
  layout text NOT NULL DEFAULT '',
  max_concurrency integer NOT NULL DEFAULT 0,
  auth_failed_at timestamptz,
  auth_error text NOT NULL DEFAULT '',
  last_probe_at timestamptz,
  last_verified_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- folder_id NULL: every folder of the device, present and future.
CREATE TABLE bindings (
  id bigserial PRIMARY KEY,
  device_id bigint NOT NULL REFERENCES devices(id),
  folder_id bigint REFERENCES folders(id),
  destination_id bigint NOT NULL REFERENCES destinations(id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bindings_unique ON bindings (device_id, COALESCE(folder_id, 0), destination_id);

CREATE TABLE workers (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  kinds text[] NOT NULL DEFAULT '{}',
  destinations text[] NOT NULL DEFAULT '{}',
  max_concurrency integer NOT NULL DEFAULT 0,
  version text NOT NULL DEFAULT '',
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
  id bigserial PRIMARY KEY,
  kind smallint NOT NULL,
  state smallint NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  destination_id bigint NOT NULL REFERENCES destinations(id),
  version_id bigint REFERENCES file_versions(id),
  device_id bigint REFERENCES devices(id),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner bigint,
  lease_token text NOT NULL DEFAULT '',
  lease_deadline timestamptz,
  last_error text NOT NULL DEFAULT '',
  remote_ref text NOT NULL DEFAULT '',
  remote_size bigint NOT NULL DEFAULT 0,
  remote_checksum text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX jobs_one_delivery ON jobs (version_id, destination_id) WHERE kind = 1;
CREATE INDEX jobs_queued ON jobs (priority DESC, id) WHERE state = 1;
CREATE INDEX jobs_leased ON jobs (lease_deadline) WHERE state = 2;
CREATE INDEX jobs_retry ON jobs (next_attempt_at) WHERE state = 4;
CREATE INDEX jobs_destination_state ON jobs (destination_id, state);
CREATE INDEX jobs_device_state ON jobs (device_id, state);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor_kind text NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL DEFAULT '',
  allowed boolean NOT NULL,
  detail text NOT NULL DEFAULT ''
);

CREATE TABLE enroll_tokens (
  id bigserial PRIMARY KEY,
  token_sha256 bytea NOT NULL UNIQUE,
  device text NOT NULL DEFAULT '',
  worker text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
)sql";

// Retention and pruning (issue 7, docs/retention.md): per-folder policies,
// when a chunk lost its last reference (the grace period counts from then),
// versions whose chunks a pass-through folder released, and the schedule.
constexpr char kV3[] = R"sql(
CREATE TABLE retention_policies (
  folder_id bigint PRIMARY KEY REFERENCES folders(id),
  keep_all_days integer NOT NULL,
  keep_daily integer NOT NULL,
  keep_weekly integer NOT NULL,
  keep_monthly integer NOT NULL,
  keep_yearly integer NOT NULL,
  deleted_keep_days integer NOT NULL,
  pass_through boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE chunks ADD COLUMN unreferenced_at timestamptz;
CREATE INDEX chunks_unreferenced ON chunks (id) WHERE refcount <= 0;
-- Prune deletes versions: the foreign key check from jobs and the removal
-- of a version's jobs look jobs up by version. (version_missing holds only
-- chunks still being uploaded, so it stays without a second index on the
-- hot path.)
CREATE INDEX jobs_version ON jobs (version_id);
-- The version's chunks no longer count in chunks.refcount (pass-through
-- folder, every destination had it): the metadata stays, restores must use
-- a destination's copy.
ALTER TABLE file_versions ADD COLUMN chunks_dropped boolean NOT NULL DEFAULT false;
CREATE TABLE maintenance_runs (
  name text PRIMARY KEY,
  last_run_at timestamptz NOT NULL DEFAULT now()
);
)sql";

// Verification (issue 7, docs/verify.md): scrub order per chunk, damaged
// chunks, verify runs, and when a remote check last confirmed a delivery.
constexpr char kV4[] = R"sql(
ALTER TABLE chunks ADD COLUMN last_scrubbed_at timestamptz;
CREATE INDEX chunks_scrub_order ON chunks (last_scrubbed_at NULLS FIRST, id) WHERE stored;

-- Delivery jobs (kind 1): when a remote check last found the copy in place.
ALTER TABLE jobs ADD COLUMN verified_at timestamptz;

-- A chunk found missing or corrupt in the chunk store. While open
-- (repaired_at NULL) the chunk row has stored = false, so a device that
-- reports a file containing it is asked for it again.
CREATE TABLE chunk_damage (
  chunk_id bytea PRIMARY KEY,
  error text NOT NULL,
  found_at timestamptz NOT NULL DEFAULT now(),
  repaired_at timestamptz,
  repaired_by text NOT NULL DEFAULT ''
);

CREATE TABLE verify_runs (
  id bigserial PRIMARY KEY,
  trigger text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  scrub_percent double precision NOT NULL DEFAULT 0,
  chunks_scrubbed bigint NOT NULL DEFAULT 0,
  chunks_bad bigint NOT NULL DEFAULT 0,
  remote_checks_queued bigint NOT NULL DEFAULT 0,
  repairs_queued bigint NOT NULL DEFAULT 0,
  test_restored_files bigint NOT NULL DEFAULT 0,
  test_restore_failed bigint NOT NULL DEFAULT 0,
  unrepairable_files bigint NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT ''
);
)sql";

// Client certificates issued at enrollment (and the coordinator's own admin
// certificate): who holds each serial, and whether it was revoked.
constexpr char kV2[] = R"sql(
CREATE TABLE certificates (
  serial text PRIMARY KEY,
  role text NOT NULL,
  name text NOT NULL,
  fingerprint text NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX certificates_holder ON certificates (role, name);
ALTER TABLE enroll_tokens ADD COLUMN used_by text NOT NULL DEFAULT '';
)sql";

// Recording a stored chunk ran five to seven statements, each a round trip
// (BEGIN, mark, take waiting versions, count down, deliveries, COMMIT), for
// every chunk of every backup. The same statements, in the same order and
// with the same row locks, now run inside one function call. Their plans are
// kept (generic plans: every statement is a primary-key lookup), not redone
// per call.
constexpr char kV5[] = R"sql(
CREATE FUNCTION shoebox_create_deliveries(vids bigint[]) RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  n bigint;
BEGIN
  IF vids IS NULL OR cardinality(vids) = 0 THEN
    RETURN 0;
  END IF;
  -- Key-share locks on the owning devices, in id order: serialises with a
  -- device's removal, which locks the device row first.
  PERFORM 1 FROM devices WHERE id IN (SELECT fo.device_id FROM file_versions v
      JOIN files f ON f.id = v.file_id JOIN folders fo ON fo.id = f.folder_id
      WHERE v.id = ANY(vids)) ORDER BY id FOR KEY SHARE;
  INSERT INTO jobs (kind, state, destination_id, version_id, device_id)
    SELECT 1, 1, b.destination_id, v.id, fo.device_id
    FROM file_versions v JOIN files f ON f.id = v.file_id
    JOIN folders fo ON fo.id = f.folder_id
    JOIN bindings b ON b.device_id = fo.device_id
      AND (b.folder_id IS NULL OR b.folder_id = fo.id)
    WHERE v.id = ANY(vids)
    ON CONFLICT (version_id, destination_id) WHERE kind = 1 DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$fn$;

-- Marks a chunk stored, counts down the versions that waited for it and
-- creates the deliveries of those it completes. known = false: no reported
-- file references the chunk. completed: the versions completed now, sorted.
CREATE FUNCTION shoebox_chunk_stored(cid bytea, p_stored_size bigint, p_size bigint,
                                     OUT known boolean, OUT completed bigint[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  waiting bigint[];
BEGIN
  completed := '{}';
  UPDATE chunks SET stored_size = CASE WHEN stored THEN stored_size ELSE p_stored_size END,
      size = CASE WHEN stored THEN size ELSE p_size END,
      stored = true, stored_at = COALESCE(stored_at, now())
    WHERE id = cid;
  known := FOUND;
  IF NOT known THEN
    RETURN;
  END IF;
  WITH t AS (DELETE FROM version_missing WHERE chunk_id = cid RETURNING version_id)
    SELECT array_agg(version_id) INTO waiting FROM t;
  IF waiting IS NULL THEN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN;
  END IF;
  -- Row locks in id order; the version whose count reaches 0 completes
  -- exactly once even when its chunks arrive on parallel streams.
  WITH u AS (
    UPDATE file_versions v SET missing_count = v.missing_count - 1,
        state = CASE WHEN v.missing_count = 1 THEN 2 ELSE v.state END,
        completed_at = CASE WHEN v.missing_count = 1 THEN now() ELSE v.completed_at END
      WHERE v.id IN (SELECT id FROM file_versions WHERE id = ANY(waiting) ORDER BY id FOR UPDATE)
        AND v.state = 1
      RETURNING v.id, v.missing_count)
    SELECT COALESCE(array_agg(id ORDER BY id) FILTER (WHERE missing_count = 0), '{}')
      INTO completed FROM u;
  -- Only a call that completes a version must be durable before its answer
  -- (the agent then forgets the version). Another may commit without
  -- waiting for the WAL flush: lost in a crash, the chunk is missing again,
  -- the agent (which keeps every incomplete version) reports the file again
  -- and re-sends it; and the flush of any later synchronous commit (the one
  -- completing its version, which waited for this row's lock) writes it too.
  -- Deliveries are created only when a version completed (most calls
  -- complete none).
  IF cardinality(completed) = 0 THEN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN;
  END IF;
  PERFORM shoebox_create_deliveries(completed);
END
$fn$;
)sql";

// What the agent last reported about watched folders it cannot read
// (`shoebox status`): one "PATH: REASON" line each, printable.
constexpr char kV6[] = R"sql(
ALTER TABLE devices ADD COLUMN agent_folder_problems text NOT NULL DEFAULT '';
)sql";

// Day two for destinations (issue 16, docs/destinations.md): pause, removal
// that keeps the history (the row stays, renamed "NAME~ID"), and connection
// check jobs (kind 6), found per destination through their own index.
constexpr char kV7[] = R"sql(
ALTER TABLE destinations ADD COLUMN paused_at timestamptz;
ALTER TABLE destinations ADD COLUMN removed_at timestamptz;
CREATE INDEX jobs_checks ON jobs (destination_id, id) WHERE kind = 6;
)sql";

// Proof of ownership (docs/security.md): device_chunks now means "this
// device uploaded the chunk or answered a challenge over its content", and a
// version waits for each of its chunks until the chunk is stored AND its
// device owns it. Rows recorded before this migration (granted when a report
// merely named the chunk) are kept: they cannot be told apart, and dropping
// them would stop devices restoring their own complete files.
// shoebox_chunk_stored completed every version waiting for a chunk, whoever
// uploaded it; it is replaced by shoebox_chunk_owned.
constexpr char kV8[] = R"sql(
DROP FUNCTION shoebox_chunk_stored(bytea, bigint, bigint);

-- p_stored: the blob was just written (an upload): mark the chunk stored.
-- Otherwise (a proof, or an upload of a chunk already stored) the chunk
-- must be stored already; its row is share-locked so that verification
-- cannot mark it damaged meanwhile. p_device (NULL: a worker's repair)
-- becomes an owner. Then every version waiting for the chunk whose device
-- owns it counts down; known = false: the chunk is not referenced (or, for
-- a proof, not stored). completed: the versions completed now, sorted.
CREATE FUNCTION shoebox_chunk_owned(cid bytea, p_device bigint, p_stored boolean,
                                    p_stored_size bigint, p_size bigint,
                                    OUT known boolean, OUT completed bigint[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  waiting bigint[];
BEGIN
  completed := '{}';
  IF p_stored THEN
    UPDATE chunks SET stored_size = CASE WHEN stored THEN stored_size ELSE p_stored_size END,
        size = CASE WHEN stored THEN size ELSE p_size END,
        stored = true, stored_at = COALESCE(stored_at, now())
      WHERE id = cid;
    known := FOUND;
  ELSE
    PERFORM 1 FROM chunks WHERE id = cid AND stored FOR SHARE;
    known := FOUND;
  END IF;
  IF NOT known THEN
    RETURN;
  END IF;
  IF p_device IS NOT NULL THEN
    INSERT INTO device_chunks (device_id, chunk_id) VALUES (p_device, cid)
      ON CONFLICT DO NOTHING;
  END IF;
  WITH t AS (
    DELETE FROM version_missing vm USING file_versions v, files f, folders fo
      WHERE vm.chunk_id = cid AND v.id = vm.version_id AND f.id = v.file_id
        AND fo.id = f.folder_id
        AND EXISTS (SELECT 1 FROM device_chunks dc
                    WHERE dc.device_id = fo.device_id AND dc.chunk_id = cid)
      RETURNING vm.version_id)
    SELECT array_agg(version_id) INTO waiting FROM t;
  IF waiting IS NULL THEN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN;
  END IF;
  -- As in shoebox_chunk_stored (migration 5): row locks in id order, and
  -- only a call that completes a version commits synchronously.
  WITH u AS (
    UPDATE file_versions v SET missing_count = v.missing_count - 1,
        state = CASE WHEN v.missing_count = 1 THEN 2 ELSE v.state END,
        completed_at = CASE WHEN v.missing_count = 1 THEN now() ELSE v.completed_at END
      WHERE v.id IN (SELECT id FROM file_versions WHERE id = ANY(waiting) ORDER BY id FOR UPDATE)
        AND v.state = 1
      RETURNING v.id, v.missing_count)
    SELECT COALESCE(array_agg(id ORDER BY id) FILTER (WHERE missing_count = 0), '{}')
      INTO completed FROM u;
  IF cardinality(completed) = 0 THEN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN;
  END IF;
  PERFORM shoebox_create_deliveries(completed);
END
$fn$;
)sql";

// Issue 17: identical refusals within a minute are one row with a count
// (Authenticator::AuditRefusal); the log is pruned by age and size
// (audit.retention_days, audit.max_rows), so an index on the time.
constexpr char kV9[] = R"sql(
ALTER TABLE audit_log ADD COLUMN count bigint NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN last_at timestamptz;
CREATE INDEX audit_log_at ON audit_log (at);
)sql";

// Issue 17, workers scoped by the admin: what a worker may serve, recorded by
// `shoebox enroll-token --worker ... --kinds/--destinations` and `shoebox
// worker scope`. NULL = any (every worker enrolled before keeps serving what
// it served); RegisterWorker is intersected with it and the lease query
// checks it again. Reads of chunks by workers look up the versions of their
// live leases by owner.
constexpr char kV10[] = R"sql(
ALTER TABLE workers ADD COLUMN allowed_kinds text[];
ALTER TABLE workers ADD COLUMN allowed_destinations text[];
CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE state = 2;
)sql";

// Issue 18: a remote reference is the name a connector gave the file, which
// may be non-UTF-8 (a Latin-1 file name); a UTF-8 text column refuses it, so
// it is kept as bytes, exactly as CompleteJob received it.
constexpr char kV11[] = R"sql(
ALTER TABLE jobs ALTER COLUMN remote_ref DROP DEFAULT;
ALTER TABLE jobs ALTER COLUMN remote_ref TYPE bytea USING convert_to(remote_ref, 'UTF8');
ALTER TABLE jobs ALTER COLUMN remote_ref SET DEFAULT ''::bytea;
)sql";

// Issue 19: a connector's resume state (Dropbox upload session, OneDrive
// upload URL) kept with its job across attempts and worker restarts.
constexpr char kV12[] = R"sql(
ALTER TABLE jobs ADD COLUMN resume_state bytea NOT NULL DEFAULT '';
)sql";

// Issue 20: the album directory of photo-service destinations (album key ->
// the service's album id), so an album is created once per destination by
// whichever worker gets there first (RecordAlbum: first writer wins). The
// rows stay with a removed destination's history (its albums stay at the
// service, like its delivered copies) and go with a destination deleted
// outright.
constexpr char kV13[] = R"sql(
CREATE TABLE destination_albums (
  destination_id bigint NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
  album_key bytea NOT NULL,
  remote_id bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (destination_id, album_key)
);
)sql";

// Issue 21: albums as a property of a file version (a Takeout album folder,
// later a Flickr photo in several photosets), and the capture date a source
// states for it (a Takeout sidecar's photoTakenTime), which wins over the
// file's EXIF date at delivery. Both go with their version.
constexpr char kV15[] = R"sql(
CREATE TABLE version_albums (
  version_id bigint NOT NULL REFERENCES file_versions(id) ON DELETE CASCADE,
  album bytea NOT NULL,
  PRIMARY KEY (version_id, album)
);
CREATE TABLE version_capture (
  version_id bigint PRIMARY KEY REFERENCES file_versions(id) ON DELETE CASCADE,
  capture_ns bigint NOT NULL
);
)sql";

// Issue 22: accounts of the web dashboard (`shoebox web`, docs/web.md). The
// hash is Argon2id in its PHC encoding, made and checked by the web process;
// the coordinator never sees a password. A member sees the devices bound to
// it in web_account_devices (by device name, which is unique and kept when a
// device is revoked); an admin sees everything.
constexpr char kV16[] = R"sql(
CREATE TABLE web_accounts (
  name text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE web_account_devices (
  account text NOT NULL REFERENCES web_accounts(name) ON DELETE CASCADE,
  device text NOT NULL REFERENCES devices(name),
  PRIMARY KEY (account, device)
);
)sql";

// Issue 21, slice 2: transfers (docs/transfers.md). A transfer reads a
// source destination into the device of its name; its jobs (list, fetch)
// are jobs of the source destination with transfer_id set, leased only
// while the transfer is active. transfer_listing is the source's listing at
// the last run (path, size, mtime, etag), written in the transaction that
// queues the fetch jobs of what is new or changed, so a kill between two
// runs loses and repeats nothing. One unfinished fetch per item.
constexpr char kV18[] = R"sql(
CREATE TABLE transfers (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  source_id bigint NOT NULL REFERENCES destinations(id),
  device_id bigint NOT NULL REFERENCES devices(id),
  pass_through boolean NOT NULL DEFAULT false,
  since_ms bigint NOT NULL DEFAULT 0,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  changed_at timestamptz NOT NULL DEFAULT now(),
  last_listed_at timestamptz
);
CREATE TABLE transfer_listing (
  transfer_id bigint NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
  path bytea NOT NULL,
  size bigint NOT NULL,
  mtime_ns bigint NOT NULL,
  etag text NOT NULL DEFAULT '',
  PRIMARY KEY (transfer_id, path)
);
ALTER TABLE jobs ADD COLUMN transfer_id bigint REFERENCES transfers(id);
CREATE INDEX jobs_transfer ON jobs (transfer_id, kind, state) WHERE transfer_id IS NOT NULL;
CREATE UNIQUE INDEX jobs_one_fetch ON jobs (transfer_id, remote_ref)
  WHERE kind = 4 AND state IN (1, 2, 4);
)sql";

// Issue 22, slice 2: the web accounts' TOTP second factor (docs/web.md). The
// key is sealed by the coordinator (AES-256-GCM, a key derived from the
// catalog key, bound to the account's name); last_step is the newest time
// step accepted, so a code is accepted once.
constexpr char kV19[] = R"sql(
CREATE TABLE web_account_totp (
  account text PRIMARY KEY REFERENCES web_accounts(name) ON DELETE CASCADE,
  sealed_secret bytea NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  last_step bigint NOT NULL DEFAULT 0,
  changed_at timestamptz NOT NULL DEFAULT now()
);
)sql";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kAll = {
      {1, "initial catalog, chunks, destinations, job queue, audit", kV1},
      {2, "client certificates and their revocation", kV2},
      {3, "retention policies, pruning, pass-through folders", kV3},
      {4, "verification: scrub order, chunk damage, verify runs", kV4},
      {5, "record a stored chunk in one call", kV5},
      {6, "watched folders an agent cannot read", kV6},
      {7, "destinations: pause, removal with history, connection checks", kV7},
      {8, "proof of ownership: a version completes once its device owns every chunk", kV8},
      {9, "audit log: counts of repeated refusals, pruning by age", kV9},
      {10, "workers scoped by the admin: allowed kinds and destinations", kV10},
      {11, "remote references as bytes (non-UTF-8 names)", kV11},
      {12, "jobs: a connector's resume state across attempts", kV12},
      {13, "album directory of photo-service destinations", kV13},
      {14, "status counters kept by triggers (a million files)", StatusCountersMigrationSql()},
      {15, "albums and capture dates of file versions (imports)", kV15},
      {16, "web dashboard accounts", kV16},
      {17, "notifications: channels, settings, alert state, outbox", NotifyMigrationSql()},
      {18, "transfers: sources read by workers, their listings and jobs", kV18},
      {19, "web dashboard accounts: TOTP second factor", kV19},
      {20, "transfer listings: albums, capture times, source cursors",
       TransferCursorMigrationSql()},
      {21, "transfer progress: fetch counters and completion times",
       TransferProgressMigrationSql()},
      {22, "recently deleted index, restore requests to devices", DeletedMigrationSql()},
  };
  return kAll;
}

}  // namespace shoebox::coordinator
