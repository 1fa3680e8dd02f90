#!/usr/bin/env bash
# The web dashboard end to end (issue 22, docs/web.md): a private
# PostgreSQL, a coordinator, a worker delivering to a local destination, an
# agent watching a folder (and a second "folder" whose name is an HTML
# injection attempt, so the coordinator reports it as a problem with that
# name in the message), and `shoebox web serve` over HTTPS with the
# coordinator's server certificate. Then tests/web/dashboard.mjs drives
# Debian's chromium: log-in, the Overview's copies equal `shoebox status
# --json`, a live update after a new file is delivered (no reload), the
# injected name shown as text, CSRF and session refusals, the log-in limit,
# axe-core. Before it, tests/web/pages.mjs drives the second slice: the
# Devices (enrolling a second agent with the page's token), Destinations
# (pause, resume), Jobs (cancel, retry) and Activity pages, CSRF on their
# POSTs, a member refused another device, and TOTP log-in with a code
# computed from the key `shoebox web user totp enable` printed.
# Screenshots land in $work/screenshots (KEEP=1 keeps them).
#   tests/web/web_dashboard_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:?usage: web_dashboard_test.sh BUILD_DIR}"
SB_NAME=web-e2e
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"
source "$here/tests/e2e/drive_stack.sh"
tools="${SB_TOOLS:-$here/build/tools}"
[[ -x /usr/bin/chromium ]] || sb_die "Debian chromium is not installed (deploy/install-deps.sh --test)"
[[ -d "$tools/node_modules/puppeteer-core" && -f "$tools/node_modules/axe-core/axe.min.js" ]] \
  || sb_die "puppeteer-core and axe-core are not in $tools/node_modules (deploy/install-deps.sh --test)"

work="$(mktemp -d /tmp/shoebox-e2e-web.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$? p l
  for p in web agent2 agent worker coordinator; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log; do [[ $l == *initdb* ]] && continue; echo "===== $l (tail)"; tail -n 30 "$l"; done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- media ----------------------------------------------------------------------
mkdir -p "$work/src/2024" "$work/dest"
for i in 1 2 3 4 5; do sb_gen_jpeg "$work/src/2024/IMG_$i.jpg" "$i" "2024:0$i:1$i 10:00:00"; done
sb_gen_random "$work/src/2024/clip.mov" $((2 * 1024 * 1024))
# Device-chosen text with markup: a watched "folder" that is a file.
xss_name='<img src=x onerror=window.__xss=1>'
printf 'not a folder\n' >"$work/$xss_name"

# --- servers ----------------------------------------------------------------------
# PostgreSQL, the coordinator, cli.toml and `sb`, one worker of kind local:
# the steps every e2e stack shares (tests/e2e/drive_stack.sh).
kind=local
drive_stack_catalog
w_port=$(sb_free_port)
sb dest add nas --kind local --set "root=$work/dest" >/dev/null

cat >"$work/agent.toml" <<TOML
[coordinator]
address = "$caddr"
[agent]
device_name = "phone"
state_dir = "$work/agent"
settle_seconds = 0
[[folder]]
path = "$work/src"
all_files = true
[[folder]]
path = "$work/$xss_name"
all_files = true
TOML
tok=$(sb enroll-token --device phone --ttl 1h 2>/dev/null)
printf '%s\n' "$tok" | "$bin/agent/shoebox-agent" --config "$work/agent.toml" enroll --token - \
  >>"$work/enroll.log" 2>&1 || sb_die "the device could not enroll"
sb_start agent "$work/agent.log" "$work/agent.pid" \
  "$bin/agent/shoebox-agent" --config "$work/agent.toml" run --no-progress
for i in $(seq 1 100); do sb devices 2>/dev/null | grep -q "^phone " && break; sleep 0.2; done
sb bind --device phone --dest nas >/dev/null
want=6
for i in $(seq 1 600); do
  delivered=$(sb status --json | python3 -c 'import json,sys; print(sum(d["delivered_files"] for d in json.load(sys.stdin)["destinations"]))')
  [[ $delivered -ge $want ]] && break
  sleep 0.5
done
[[ $delivered -ge $want ]] || sb_die "only $delivered of $want files delivered"
sb_log "$delivered files delivered to nas"

# --- accounts and the web server ------------------------------------------------------
sb web user add ana --admin >"$work/ana.out"
admin_pw=$(sed -n 's/^password (shown once.*): //p' "$work/ana.out")
[[ ${#admin_pw} == 20 ]] || sb_die "web user add printed no 20-character password: $(cat "$work/ana.out")"
sb web user add ben --device phone >"$work/ben.out"
member_pw=$(sed -n 's/^password (shown once.*): //p' "$work/ben.out")
sb web user list | grep -q "^ana  *admin" || sb_die "web user list does not show ana as admin"
if sb web user add ana --admin >/dev/null 2>"$work/dup.err"; then sb_die "a second account ana was created"; fi
grep -q "already exists" "$work/dup.err" || sb_die "duplicate account: $(cat "$work/dup.err")"
# The hash, not the password, is in the catalog.
sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U shoebox -d shoebox -tAc \
  "SELECT password_hash FROM web_accounts WHERE name = 'ana'" >"$work/hash.txt"
grep -q '^\$argon2id\$v=19\$m=65536,t=3,p=1\$' "$work/hash.txt" || sb_die "ana's stored hash is not Argon2id: $(cat "$work/hash.txt")"
grep -qF "$admin_pw" "$work/hash.txt" && sb_die "the password itself is in the catalog"

# A member's devices, and a password set from stdin (the hash is replaced).
sb web user list --json | python3 -c '
import json, sys
a = {x["name"]: x for x in json.load(sys.stdin)}
assert a["ben"]["role"] == "member" and a["ben"]["devices"] == ["phone"], a
assert a["ana"]["role"] == "admin" and a["ana"]["devices"] == [], a' || sb_die "web user list --json is wrong"
member_pw="ben-chose-this-password"
printf '%s\n' "$member_pw" | sb web user passwd ben --password-stdin >"$work/passwd.out" \
  || sb_die "web user passwd failed: $(cat "$work/passwd.out")"
grep -q "new password" "$work/passwd.out" && sb_die "a password given on stdin was printed"
if printf 'short\n' | sb web user passwd ben --password-stdin 2>"$work/short.err"; then
  sb_die "a 5-character password was accepted"
fi
grep -q "12 to 1024" "$work/short.err" || sb_die "short password: $(cat "$work/short.err")"
# Without a readable certificate the server says which file and what to do.
if "$bin/cli/shoebox" web serve --listen 127.0.0.1:0 --cert "$work/none.crt" --key "$work/none.key" \
    >"$work/nocert.out" 2>&1; then sb_die "web serve started without a certificate"; fi
grep -q "cannot read $work/none.crt" "$work/nocert.out" || sb_die "no-certificate error: $(cat "$work/nocert.out")"

sb_start web "$work/web.log" "$work/web.pid" "$bin/cli/shoebox" web serve --listen "127.0.0.1:$w_port"
sb_wait_port 127.0.0.1 "$w_port" 30 || sb_die "shoebox web serve did not start"
grep -q "serving https://127.0.0.1:$w_port/" "$work/web.log" || sb_die "web serve did not print its address"
# The browser pins the coordinator's server certificate by its public key.
spki=$(openssl x509 -in "$work/tls/server.crt" -pubkey -noout | openssl pkey -pubin -outform der \
  | openssl dgst -sha256 -binary | base64)

mkdir -p "$work/screenshots" "$work/src2"
# A second device, enrolled by pages.mjs with the token the Devices page shows.
cat >"$work/agent2.toml" <<TOML
[coordinator]
address = "$caddr"
[agent]
device_name = "tablet"
state_dir = "$work/agent2"
settle_seconds = 0
[[folder]]
path = "$work/src2"
all_files = true
TOML
NODE_EXTRA_CA_CERTS="$work/tls/ca.crt" SB_URL="https://127.0.0.1:$w_port" SB_SPKI="$spki" \
  SB_ADMIN_PW="$admin_pw" SB_MEMBER_PW="$member_pw" SB_SHOTS="$work/screenshots" \
  SB_CLI="$bin/cli/shoebox" SB_SRC="$work/src" SB_TOOLS="$tools" \
  SB_AGENT="$bin/agent/shoebox-agent" SB_AGENT2_CONF="$work/agent2.toml" SB_AGENT2_PID="$work/agent2.pid" \
  node "$here/tests/web/pages.mjs" || sb_die "the browser test of the pages failed"
# The Browse page and its downloads (issue 22): after pages.mjs (tablet exists).
NODE_EXTRA_CA_CERTS="$work/tls/ca.crt" SB_URL="https://127.0.0.1:$w_port" SB_SPKI="$spki" \
  SB_ADMIN_PW="$admin_pw" SB_MEMBER_PW="$member_pw" SB_SHOTS="$work/screenshots" \
  SB_SRC="$work/src" SB_TOOLS="$tools" SB_WORK="$work" \
  node "$here/tests/web/browse.mjs" || sb_die "the browser test of the Browse page failed"
# Recently deleted (issue 22): deletions in both agents' folders, Restore
# brings the phone's photo back, the member ben cannot see or restore the
# tablet's file.
NODE_EXTRA_CA_CERTS="$work/tls/ca.crt" SB_URL="https://127.0.0.1:$w_port" SB_SPKI="$spki" \
  SB_ADMIN_PW="$admin_pw" SB_MEMBER_PW="$member_pw" SB_SHOTS="$work/screenshots" \
  SB_CLI="$bin/cli/shoebox" SB_SRC="$work/src" SB_SRC2="$work/src2" SB_TOOLS="$tools" \
  node "$here/tests/web/deleted.mjs" || sb_die "the browser test of Recently deleted failed"
# pages.mjs's refused TOTP replay counts toward this address's log-in limit,
# which dashboard.mjs measures exactly: let its one-minute window pass.
sleep 61
NODE_EXTRA_CA_CERTS="$work/tls/ca.crt" SB_URL="https://127.0.0.1:$w_port" SB_SPKI="$spki" \
  SB_ADMIN_PW="$admin_pw" SB_MEMBER_PW="$member_pw" SB_SHOTS="$work/screenshots" \
  SB_CLI="$bin/cli/shoebox" SB_SRC="$work/src" SB_XSS="$xss_name" SB_TOOLS="$tools" \
  node "$here/tests/web/dashboard.mjs" || sb_die "the browser test failed"

# Every log-in, refusal and log-out is in the coordinator's audit log.
sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U shoebox -d shoebox -tAc \
  "SELECT actor_kind || ' ' || actor || ' ' || action || ' ' || allowed FROM audit_log WHERE actor_kind = 'web' ORDER BY id" >"$work/audit.txt"
for line in "web ana WebLogin true" "web ben WebLogin true" "web ana WebLogout true" \
            "web (not logged in) WebLoginFailed false" "web ana WebEnrollDevice true" \
            "web ana WebPauseDestination true" "web ana WebResumeDestination true" \
            "web ana WebCancelJobs true" "web ana WebRetryJobs true" \
            "web ana WebRestoreRequest true" "web ben WebRestoreRequest false"; do
  grep -qF "$line" "$work/audit.txt" || sb_die "audit log lacks '$line': $(cat "$work/audit.txt")"
done
sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U shoebox -d shoebox -tAc \
  "SELECT count(*) FROM audit_log WHERE action = 'CreateWebAccount' AND target IN ('ana', 'ben')" \
  | grep -qx 2 || sb_die "account creation is not audited"
# The TOTP key is sealed in the catalog, not stored as the Base32 text.
sb_pg_run "$SB_PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U shoebox -d shoebox -tAc \
  "SELECT count(*) FROM audit_log WHERE action = 'SetWebAccountTotp' AND target = 'ana'" \
  | grep -qx 2 || sb_die "turning TOTP on and off is not audited"
ls "$work/screenshots"
echo "web e2e: PASS"
