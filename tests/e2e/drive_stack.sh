# The stack of the cloud-drive e2e test and benchmark (issue 19): a private
# PostgreSQL, a coordinator, one worker, the local server of KIND from
# tests/fakes, a destination "box" of KIND connected through `shoebox dest
# connect` (curl plays the browser), and an enrolled device "phone" watching
# $work/src. Sourced after deploy/lib.sh; the caller sets here, bin, work and
# traps its cleanup (stop service, worker, coordinator; sb_pg_stop).
#   drive_stack_kind KIND          sets fake, fake_args, authorize_path,
#                                  api_suffix, piece_mib
#   drive_stack_up                 starts everything (SERVICE_ARGS: extra
#                                  arguments of the local server;
#                                  WORKER_CONCURRENCY, default 2): the three
#                                  steps below
#   drive_stack_servers            the local server, PostgreSQL, the
#                                  coordinator, cli.toml and `sb`, a worker:
#                                  drive_stack_service + drive_stack_catalog
#   drive_stack_service            the local server only (sets svc)
#   drive_stack_catalog            PostgreSQL in $work/pg (or DATABASE_URL
#                                  when the caller runs the catalog), the coordinator,
#                                  cli.toml and `sb`, a worker (a second call
#                                  after moving those away: a new, empty
#                                  catalog against the same running server)
#   drive_stack_connect_oauth2     `dest add box` (DEST_SETTINGS: more of its
#                                  arguments) + `dest connect box` (OAuth 2.0);
#                                  sets authorize_url
#   drive_stack_connect_oauth1 URL `dest connect box` of an added OAuth 1.0a
#                                  destination (Flickr, SmugMug): the authorize
#                                  URL (starting with URL) opened with curl, the
#                                  PIN read off the page; sets authorize_url
#   drive_stack_device             device "phone" enrolled, watching $work/src
#   drive_stack_work NAME          makes $work (/tmp/shoebox-e2e-NAME.*) and
#                                  traps its cleanup: the stack stopped, the
#                                  logs' tails printed on failure, $work
#                                  removed unless KEEP=1
#   wait_delivered N               until N deliveries are done, none open

drive_stack_kind() {
  kind=$1
  # piece_mib: the upload request size of the 200 MiB phase (Dropbox: a
  # multiple of 4 MiB; OneDrive rounds down to 320 KiB multiples).
  case $kind in
    dropbox) fake=dropbox_server.py; authorize_path=/oauth2/authorize; api_suffix=; piece_mib=4
      fake_args=(--token-ttl 61 --client-id e2e-app --client-secret e2e-app-secret) ;;
    onedrive) fake=onedrive_server.py; authorize_path=/common/oauth2/v2.0/authorize
      api_suffix=/v1.0; piece_mib=2; fake_args=(--token-ttl 61) ;;
    gdrive) fake=gdrive_server.py; authorize_path=/o/oauth2/v2/auth; api_suffix=; piece_mib=2
      fake_args=(--token-ttl 61) ;;
    # OAuth 1.0a (tests/e2e/flickr_connect_test.sh connects it itself).
    flickr) fake=flickr_server.py; authorize_path=/services/oauth/authorize; api_suffix=/services
      piece_mib=0; fake_args=(--api-key e2e-key --api-secret e2e-api-secret --ticket-delay 0.3
      --check-filetype) ;;
    smugmug) fake=smugmug_server.py; authorize_path=/services/oauth/1.0a/authorize; api_suffix=
      piece_mib=0; fake_args=(--consumer-key e2e-api-key --consumer-secret e2e-api-secret) ;;
    gphotos) fake=gphotos_server.py; authorize_path=/o/oauth2/v2/auth; api_suffix=; piece_mib=2
      fake_args=(--token-ttl 61) ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
  esac
}

drive_stack_work() {
  work="$(mktemp -d "/tmp/shoebox-e2e-$1.XXXXXX")"
  chmod 755 "$work"
  trap drive_stack_cleanup EXIT
}

drive_stack_cleanup() {
  local rc=$? p l
  for p in worker coordinator service; do sb_stop "$work/$p.pid" 20; done
  sb_pg_stop "$work/pg"
  if [[ $rc != 0 ]]; then
    for l in "$work"/*.log "$work"/*.out; do
      [[ $l == *initdb* || ! -f $l ]] && continue
      echo "===== $l (tail)"; tail -n 30 "$l"
    done
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
  exit $rc
}

drive_stack_up() {
  drive_stack_servers
  drive_stack_connect_oauth2
  drive_stack_device
}

drive_stack_servers() {
  drive_stack_service
  drive_stack_catalog
}

drive_stack_service() {
# --- the local server of $kind ----------------------------------------------------
svc_port=$(sb_free_port)
svc="http://127.0.0.1:$svc_port"
mkdir -p "$work/service-data"
# Access tokens live 61 s: the worker renews them a minute early, so nearly
# every request of the run needs a refresh.
sb_start service "$work/service.log" "$work/service.pid" \
  python3 "$here/tests/fakes/$fake" --port "$svc_port" --data "$work/service-data" \
  --latency-ms 20 "${fake_args[@]}" ${SERVICE_ARGS:-}
sb_wait_port 127.0.0.1 "$svc_port" 30 || sb_die "the $kind server did not start"
}

drive_stack_catalog() {
# --- PostgreSQL, the coordinator, the CLI and a worker ---------------------------------
# DATABASE_URL: a catalog the caller started (then $work/pg is not made).
pg_port=$(sb_free_port); c_port=$(sb_free_port)
mkdir -p "$work/chunks"
[[ -n ${DATABASE_URL:-} ]] || sb_pg_start "$work/pg" "$pg_port"
caddr="127.0.0.1:$c_port"
cat >"$work/coordinator.toml" <<TOML
[coordinator]
listen = "$caddr"
key_file = "$work/master.key"
[database]
url = "${DATABASE_URL:-postgresql://shoebox@127.0.0.1:$pg_port/shoebox}"
[chunk_store]
location = "$work/chunks"
[limits]
lease_ms = 10000
TOML
"$bin/cli/shoebox" pool-key --private "$work/pool.key" --public "$work/pool.pub" >/dev/null
sb_start coordinator "$work/coordinator.log" "$work/coordinator.pid" \
  "$bin/coordinator/shoebox-coordinator" --config "$work/coordinator.toml"
sb_wait_port 127.0.0.1 "$c_port" 60 || sb_die "coordinator did not start"
cat >"$work/cli.toml" <<TOML
coordinator = "$caddr"
tls_dir = "$work/tls"
pool_public_key = "$work/pool.pub"
TOML
export SHOEBOX_CLI_CONFIG="$work/cli.toml"
sb() { "$bin/cli/shoebox" "$@"; }
tok=$(sb enroll-token --worker worker-1 2>/dev/null)
"$bin/workers/shoebox-worker" enroll --coordinator "$caddr" --token "$tok" \
  --tls-dir "$work/worker-tls" >>"$work/enroll.log" 2>&1 || sb_die "the worker could not enroll"
cat >"$work/worker.toml" <<TOML
[worker]
name = "worker-1"
coordinator = "$caddr"
tls_dir = "$work/worker-tls"
kinds = ["$kind"]
concurrency = ${WORKER_CONCURRENCY:-2}
chunk_store = "$work/chunks"
master_key_file = "$work/master.key"
pool_key_file = "$work/pool.key"
TOML
sb_start worker "$work/worker.log" "$work/worker.pid" \
  "$bin/workers/shoebox-worker" --config "$work/worker.toml"
}

drive_stack_connect_oauth2() {
# --- add and connect -------------------------------------------------------------
# DEST_SETTINGS: more `dest add` arguments (default: --set folder=Shoebox).
# shellcheck disable=SC2086
sb dest add box --kind "$kind" --set client_id=e2e-app --set "endpoint=$svc$api_suffix" \
  --set "auth_endpoint=$svc" ${DEST_SETTINGS:---set folder=Shoebox} | tee "$work/add.out"
grep -q "shoebox dest connect box" "$work/add.out" || sb_die "dest add did not point to dest connect"
printf 'e2e-app-secret\n' >"$work/app-secret.txt"
sb dest connect box --client-secret-file "$work/app-secret.txt" --no-browser --timeout 60 \
  >"$work/connect.out" 2>&1 &
cpid=$!
url=""
for i in $(seq 1 100); do
  url=$(grep -m1 -o "^$svc$authorize_path?[^ ]*" "$work/connect.out" || true)
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$work/connect.out"; sb_die "dest connect printed no sign-in URL"; }
authorize_url=$url
# The browser: follow the server's redirect to the CLI's loopback listener.
curl -sS -L -o "$work/browser.html" "$url" || sb_die "the browser could not complete the sign-in"
grep -q "Shoebox is connected" "$work/browser.html" || sb_die "the loopback page did not confirm"
wait $cpid || { cat "$work/connect.out"; sb_die "dest connect failed"; }
grep -q "connection checked" "$work/connect.out" || sb_die "dest connect ran no connection check"
sb_log "connected: $(tail -n 1 "$work/connect.out")"
}

drive_stack_connect_oauth1() {
  local prefix=$1 cpid url="" i pin
  printf 'e2e-api-secret\n' >"$work/api-secret.txt"
  rm -f "$work/pin"; mkfifo "$work/pin"
  sb dest connect box --client-secret-file "$work/api-secret.txt" --verifier-file "$work/pin" \
    >"$work/connect.out" 2>&1 &
  cpid=$!
  for i in $(seq 1 100); do
    url=$(grep -m1 -o "^$prefix?[^ ]*" "$work/connect.out" || true)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || { cat "$work/connect.out"; sb_die "dest connect printed no authorize URL"; }
  # The browser: the user allows access and reads the code off the page.
  curl -sS -o "$work/authorize.html" "$url" || sb_die "the authorize page did not open"
  pin=$(grep -o 'id="verifier">[^<]*' "$work/authorize.html" | sed 's/.*>//')
  [[ -n $pin ]] || sb_die "the authorize page showed no code"
  printf '%s\n' "$pin" >"$work/pin"
  wait $cpid || { cat "$work/connect.out"; sb_die "dest connect failed"; }
  grep -q "connection checked" "$work/connect.out" || sb_die "dest connect ran no connection check"
  authorize_url=$url
  sb_log "connected: $(tail -n 1 "$work/connect.out")"
}

drive_stack_device() {
# --- a device backs up to it --------------------------------------------------------
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
TOML
tok=$(sb enroll-token --device phone --ttl 1h 2>/dev/null)
printf '%s\n' "$tok" | "$bin/agent/shoebox-agent" --config "$work/agent.toml" enroll --token - \
  >>"$work/enroll.log" 2>&1 || sb_die "the device could not enroll"
}

# wait_delivered N: every destination has N files delivered and none open.
source "$here/tests/e2e/e2e_checks.sh"
wait_delivered() { e2e_wait_delivered "$1"; }
