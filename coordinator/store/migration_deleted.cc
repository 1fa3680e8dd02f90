// Migration 22 (issue 22, docs/web.md "Recently deleted", docs/agent.md
// "Restore requests"):
//   file_versions_deleted  the deleted versions, newest delete first: the
//                          Recently deleted list reads it in order and stops
//                          after one page (keyset on deleted_at, id), so a
//                          catalog of a million files costs one page of
//                          index entries, not a scan (EXPLAIN in docs/web.md).
//   restore_requests       "put this version back on its device": created by
//                          an admin or a web account, handed to the device's
//                          agent in its Heartbeat (pending → sent), reported
//                          by the agent (done / failed with a reason), or
//                          expired when the device stayed away too long.
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

namespace {

constexpr char kV22[] = R"sql(
CREATE INDEX file_versions_deleted ON file_versions (deleted_at DESC, id DESC)
  WHERE deleted_at IS NOT NULL;
CREATE TABLE restore_requests (
  id bigserial PRIMARY KEY,
  device_id bigint NOT NULL REFERENCES devices(id),
  folder_root bytea NOT NULL,
  path bytea NOT NULL,
  -- No foreign key: prune may remove the version; the agent then reports
  -- that it is gone.
  version_id bigint NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sent', 'done', 'failed', 'expired')),
  reason text NOT NULL DEFAULT '',
  requested_by text NOT NULL,
  restored_path bytea NOT NULL DEFAULT ''::bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX restore_requests_open ON restore_requests (device_id, id)
  WHERE state IN ('pending', 'sent');
CREATE INDEX restore_requests_version ON restore_requests (version_id, id);
)sql";

}  // namespace

const char* DeletedMigrationSql() { return kV22; }

}  // namespace shoebox::coordinator
