// Migration 17 (issue 22, docs/notifications.md): what the notifier of the
// coordinator keeps, so that a restart neither sends an alert again nor
// loses one.
//   notify_channels   where messages go; the secret (SMTP password, webhook
//                     HMAC key) sealed by the coordinator; the channel's rate
//                     window (messages sent in the current hour, messages
//                     folded into the next "and K more").
//   notify_settings   thresholds by key (defaults in coordinator/notify/).
//   notify_alerts     one row per condition seen: first seen, announced
//                     (started_ms), cleared; rows are deleted once cleared
//                     and announced.
//   notify_outbox     messages decided in the evaluation's transaction and
//                     deleted once the channel's server took them.
//   notify_devices    per device: the Healthchecks-style ping URL and the
//                     counters that tell when it last completed a backup.
#include "coordinator/store/migrations.h"

namespace shoebox::coordinator {

namespace {

constexpr char kV17[] = R"sql(
CREATE TABLE notify_channels (
  name text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('email', 'webhook', 'ntfy')),
  url text NOT NULL,
  email_to text NOT NULL DEFAULT '',
  smtp_user text NOT NULL DEFAULT '',
  sealed_secret bytea NOT NULL DEFAULT '',
  insecure_smtp boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  window_start_ms bigint NOT NULL DEFAULT 0,
  window_sent integer NOT NULL DEFAULT 0,
  folded integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  last_sent_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE notify_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE notify_alerts (
  key text PRIMARY KEY,
  kind text NOT NULL,
  object text NOT NULL,
  device text NOT NULL DEFAULT '',
  message text NOT NULL,
  first_seen_ms bigint NOT NULL,
  started_ms bigint NOT NULL DEFAULT 0,
  cleared_ms bigint NOT NULL DEFAULT 0,
  last_sent_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE notify_outbox (
  id bigserial PRIMARY KEY,
  channel text NOT NULL REFERENCES notify_channels(name) ON DELETE CASCADE,
  event text NOT NULL,
  subject text NOT NULL,
  -- The whole message (coordinator/notify/model.h, MessageToJson).
  message_json text NOT NULL,
  created_ms bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  -- A coordinator delivering it holds it until then (two never send one).
  claimed_until_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE notify_devices (
  device text PRIMARY KEY REFERENCES devices(name) ON DELETE CASCADE,
  ping_url text NOT NULL DEFAULT '',
  files bigint NOT NULL DEFAULT -1,
  bytes bigint NOT NULL DEFAULT -1,
  changed_ms bigint NOT NULL DEFAULT 0,
  last_ping_ms bigint NOT NULL DEFAULT 0,
  last_ping_error text NOT NULL DEFAULT ''
);
)sql";

}  // namespace

const char* NotifyMigrationSql() { return kV17; }

}  // namespace shoebox::coordinator
