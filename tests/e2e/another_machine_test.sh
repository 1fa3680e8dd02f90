#!/usr/bin/env bash
# "Day two" end to end (issue 16): a second device joins a running server by
# following docs/deploy.md "Another machine" as written — the agent.toml is
# taken from that page (address and folder filled in) and put at the default
# config path of a fresh home directory, the token goes through a file, the
# device is bound once `shoebox devices` lists it — and its photos must arrive
# byte for byte at the destination. Then the day-two commands on that device:
# usage errors exit 2, `jobs --state delivered`, the `jobs` limit note,
# `versions` with the file's absolute path, `restore --path DIR/`, the
# restore conflict hint, `key export --to DIR`, and the agent's warning for a
# misspelt config key.
#   tests/e2e/another_machine_test.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$(cd "${1:?usage: another_machine_test.sh BUILD_DIR}" && pwd)"
SB_NAME=e2e-another-machine
source "$here/deploy/lib.sh"
source "$here/tests/e2e/media.sh"

work="$(mktemp -d /tmp/shoebox-e2e-am.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  for p in laptop worker coordinator; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log; do [[ $l == *initdb* ]] && continue; echo "===== $l (tail)"; tail -n 30 "$l"; done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- the server: PostgreSQL, coordinator, one worker, a local destination ------
pg_port=$(sb_free_port); c_port=$(sb_free_port)
sb_pg_start "$work/pg" "$pg_port"
caddr="127.0.0.1:$c_port"
mkdir -p "$work/server" "$work/nas"
cat >"$work/server/coordinator.toml" <<TOML
[coordinator]
listen = "$caddr"
key_file = "$work/server/master.key"
[database]
url = "postgresql://shoebox@127.0.0.1:$pg_port/shoebox"
[chunk_store]
location = "$work/server/chunks"
TOML
"$bin/cli/shoebox" pool-key --private "$work/server/pool.key" --public "$work/server/pool.pub" >/dev/null
sb_start coordinator "$work/coordinator.log" "$work/coordinator.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$work/server/coordinator.toml"
sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start"
cat >"$work/server/cli.toml" <<TOML
coordinator = "$caddr"
tls_dir = "$work/server/tls"
pool_public_key = "$work/server/pool.pub"
TOML
export SHOEBOX_CLI_CONFIG="$work/server/cli.toml"
sb() { "$bin/cli/shoebox" "$@"; }
# The worker enrolls through a token file too.
sb enroll-token --worker worker-1 >"$work/server/worker.token" 2>/dev/null
"$bin/workers/shoebox-worker" enroll --coordinator "$caddr" --token-file "$work/server/worker.token" \
  --tls-dir "$work/server/worker-tls" >>"$work/enroll.log" 2>&1 || sb_die "the worker could not enroll"
cat >"$work/server/worker.toml" <<TOML
[worker]
name = "worker-1"
coordinator = "$caddr"
tls_dir = "$work/server/worker-tls"
kinds = ["local"]
chunk_store = "$work/server/chunks"
master_key_file = "$work/server/master.key"
pool_key_file = "$work/server/pool.key"
TOML
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/server/worker.toml"
sb dest add nas --kind local --set "root=$work/nas"

# --- the laptop: a fresh home directory, its photos ------------------------------
home="$work/laptop-home"
pics="$home/Pictures"
mkdir -p "$pics/2024/summer" "$pics/2023"
for i in 1 2 3; do sb_gen_jpeg "$pics/2024/summer/IMG_$i.jpg" "$i" "2024:07:0$i 12:00:00"; done
sb_gen_jpeg "$pics/2023/IMG_9.jpg" 9 "2023:01:01 08:00:00"
sb_gen_random "$pics/2024/clip.mov" $((2 * 1024 * 1024 + 17))
nfiles=$(find "$pics" -type f | wc -l)

# The page's steps. Each command run below must appear on the page as written.
doc="$here/docs/deploy.md"
section="$(awk '/^## Another machine/{on=1; next} /^## /{on=0} on' "$doc")"
[[ -n $section ]] || sb_die "docs/deploy.md has no '## Another machine' section"
for cmd in "shoebox enroll-token --device laptop > laptop.token" \
           "shoebox-agent enroll --token-file laptop.token && rm laptop.token" \
           "shoebox-agent run" "shoebox devices" "shoebox bind --device laptop --dest nas" \
           "shoebox status"; do
  grep -qxF -- "$cmd" <<<"$section" || sb_die "docs/deploy.md 'Another machine' lost the step: $cmd"
done
toml="$(awk '/^```toml/{on=1; next} /^```/{if(on) exit} on' <<<"$section")"
[[ $toml == *'address = "server.lan:7443"'* && $toml == *'path = "/home/anna/Pictures"'* && $toml == *'[[folder]]'* ]] \
  || sb_die "the agent.toml on the page changed; update this test with it: $toml"

# 2. On the server: the token, into a file that goes to the laptop.
(cd "$work/server" && sb enroll-token --device laptop > laptop.token) 2>>"$work/enroll.log"
cp "$work/server/laptop.token" "$home/laptop.token" && rm "$work/server/laptop.token"

# 3.-4. On the laptop: its own HOME, the config at the default path, enroll, run.
laptop() { env -u SHOEBOX_CLI_CONFIG HOME="$home" XDG_CONFIG_HOME="$home/.config" \
  XDG_STATE_HOME="$home/.local/state" "$@"; }
mkdir -p "$home/.config/shoebox"
sed -e "s|server.lan:7443|$caddr|" -e "s|/home/anna/Pictures|$pics|" <<<"$toml" >"$home/.config/shoebox/agent.toml"
(cd "$home" && laptop "$bin/agent/shoebox-agent" enroll --token-file laptop.token && rm laptop.token) \
  >"$work/laptop-enroll.log" 2>&1 || sb_die "the laptop could not enroll (see laptop-enroll.log)"
[[ ! -e $home/laptop.token ]] || sb_die "the token file is still on the laptop"
[[ -f $home/.local/state/shoebox-agent/tls/client.key ]] \
  || sb_die "enroll did not store the identity in the default state directory"
sb_start laptop "$work/laptop.log" "$work/laptop.pid" \
  env -u SHOEBOX_CLI_CONFIG HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state" \
  "$bin/agent/shoebox-agent" run --no-progress

# 5. On the server: once `shoebox devices` lists it, bind it.
for i in $(seq 1 300); do sb devices 2>/dev/null | grep -q "^laptop " && break; sleep 0.2; done
sb devices | grep -q "^laptop " || sb_die "the laptop never showed up in shoebox devices"
sb devices | grep -qF -- "$pics" || sb_die "shoebox devices does not list the laptop's folder"
sb bind --device laptop --dest nas
for i in $(seq 1 600); do
  sb status --json >"$work/status.json"
  delivered=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(sum(d["delivered_files"] for d in s["devices"] if d["name"]=="laptop"))' "$work/status.json")
  [[ $delivered -ge $nfiles ]] && break
  sleep 0.5
done
[[ $delivered == "$nfiles" ]] || sb_die "delivered $delivered of the laptop's $nfiles files"
diff -r "$pics" "$work/nas/laptop/Pictures" || sb_die "the destination differs from the laptop's folder"
grep -q "unknown key" "$work/laptop.log" && sb_die "the page's agent.toml has keys the agent does not know"
sb_log "the laptop joined as the page says: $nfiles files delivered byte for byte"

# --- day two on that device -------------------------------------------------------
# Usage errors are exit 2 with a message naming the command.
set +e
sb dest 2>"$work/err.txt"; rc=$?
set -e
[[ $rc == 2 ]] || sb_die "shoebox dest exited $rc, want 2"
grep -q "^shoebox dest: a command is required" "$work/err.txt" || sb_die "shoebox dest said: $(cat "$work/err.txt")"
for bad in "jobs --no-such-flag" "jobs --state running" "versions laptop --at yesterday" "jobs --limit 0"; do
  set +e
  # shellcheck disable=SC2086
  sb $bad >/dev/null 2>"$work/err.txt"; rc=$?
  set -e
  [[ $rc == 2 ]] || sb_die "shoebox $bad exited $rc, want 2: $(cat "$work/err.txt")"
done

# One vocabulary: the state status counts as "delivered" is the one jobs takes and prints.
sb jobs --state delivered >"$work/jobs.txt"
[[ $(grep -c " delivered .* laptop:" "$work/jobs.txt") == "$nfiles" ]] || sb_die "jobs --state delivered: $(cat "$work/jobs.txt")"
sb jobs --state delivered --limit 2 >"$work/jobs.txt" 2>"$work/err.txt"
[[ $(wc -l <"$work/jobs.txt") == 2 ]] || sb_die "jobs --limit 2 printed $(wc -l <"$work/jobs.txt") lines"
grep -q "showing the first 2 matching jobs" "$work/err.txt" || sb_die "jobs --limit 2 did not say more match"
sb jobs --all >/dev/null 2>"$work/err.txt"
[[ ! -s $work/err.txt ]] || sb_die "jobs --all: $(cat "$work/err.txt")"

# versions with the file's absolute path on the device.
sb versions laptop "$pics/2024/summer/IMG_2.jpg" >"$work/versions.txt" 2>"$work/err.txt"
grep -q "2024/summer/IMG_2.jpg" "$work/versions.txt" || sb_die "versions by absolute path found: $(cat "$work/versions.txt")"
grep -q "nas .*delivered" "$work/versions.txt" || sb_die "versions does not show the delivered copy: $(cat "$work/versions.txt")"
grep -qF "is '2024/summer/IMG_2.jpg' in folder $pics of device laptop" "$work/err.txt" \
  || sb_die "versions did not say what it matched: $(cat "$work/err.txt")"

# restore --path with a trailing slash; then a conflict needs --overwrite.
sb restore --device laptop --path 2024/ --to "$work/restored" >/dev/null
diff -r "$pics/2024" "$work/restored/2024" || sb_die "restore --path 2024/ differs"
echo "edited" >"$work/restored/2024/summer/IMG_1.jpg"
set +e
sb restore --device laptop --path 2024/ --to "$work/restored" >"$work/restore.txt" 2>&1; rc=$?
set -e
[[ $rc == 1 ]] || sb_die "a restore over a changed file exited $rc, want 1"
grep -q "add --overwrite" "$work/restore.txt" || sb_die "the conflict hint: $(cat "$work/restore.txt")"
grep -q "same command again" "$work/restore.txt" && sb_die "the conflict hint says to run it again: $(cat "$work/restore.txt")"
sb restore --device laptop --path 2024/ --to "$work/restored" --overwrite >/dev/null
diff -r "$pics/2024" "$work/restored/2024" || sb_die "restore --overwrite did not put the file back"

# key export --to: files 0600, the kit without the key in it, no overwrite.
sb key export --key-file "$work/server/master.key" --pool-key-file "$work/server/pool.key" \
  --to "$work/kit" >"$work/kit.txt"
cmp -s "$work/kit/master.key" "$work/server/master.key" || sb_die "kit master.key differs from the key file"
cmp -s "$work/kit/pool.key" "$work/server/pool.key" || sb_die "kit pool.key differs from the pool key file"
for f in master.key pool.key RECOVERY.txt; do
  [[ $(stat -c %a "$work/kit/$f") == 600 ]] || sb_die "kit $f has mode $(stat -c %a "$work/kit/$f")"
done
grep -qF "$(cat "$work/server/master.key")" "$work/kit/RECOVERY.txt" "$work/kit.txt" \
  && sb_die "the master key is in RECOVERY.txt or on stdout"
set +e
sb key export --key-file "$work/server/master.key" --to "$work/kit" >/dev/null 2>"$work/err.txt"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "already exists" "$work/err.txt" || sb_die "a second export overwrote the kit (rc $rc)"

# A misspelt key in the laptop's config: the agent names it (the running
# agent is stopped first: one agent per state directory).
sb_stop "$work/laptop.pid" 20
sed -e '/^\[agent\]/a settle_secs = 3' "$home/.config/shoebox/agent.toml" >"$work/typo.toml"
set +e
laptop timeout 30 "$bin/agent/shoebox-agent" --config "$work/typo.toml" run --once --no-progress >"$work/typo.log" 2>&1
set -e
grep -q "unknown key 'agent.settle_secs' is ignored (did you mean 'agent.settle_seconds'?)" "$work/typo.log" \
  || sb_die "no warning for a misspelt key: $(head -5 "$work/typo.log")"
sb_log "day-two commands behave on the new device"
echo "e2e-another-machine: PASS"
