# The end-to-end tests' shared assertions. Source it after deploy/lib.sh;
# `sb` (the CLI) and $work must be set.
#   e2e_wait_delivered N    until N deliveries are done and none is open;
#                           fails at once on a dead delivery (lists them)
#   e2e_check_tree SRC GOT  every file of SRC at GOT/<same path> byte for
#                           byte, and GOT holds no other file

e2e_wait_delivered() {
  local want=$1 delivered open dead i
  for i in $(seq 1 1200); do
    sb status --json >"$work/status.json"
    read -r delivered open dead < <(python3 -c '
import json,sys; s=json.load(open(sys.argv[1])); d=s["destinations"]
print(sum(x["delivered_files"] for x in d), sum(x["pending_files"]+x["in_flight_files"]+x["failed_files"] for x in d), sum(x["dead_files"] for x in d))' "$work/status.json")
    [[ $dead == 0 ]] || { sb jobs --state dead; sb_die "$dead deliveries are dead"; }
    [[ $delivered -ge $want && $open == 0 ]] && break
    sleep 0.5
  done
  [[ $delivered == "$want" ]] || { cat "$work/status.json"; sb_die "delivered $delivered of $want"; }
}

e2e_check_tree() {
  local src=$1 got=$2 f rel bad=0
  while IFS= read -r -d '' f; do
    rel="${f#"$src"/}"
    cmp -s "$f" "$got/$rel" || { echo "MISMATCH: $got/$rel" >&2; bad=1; }
  done < <(find "$src" -type f -print0)
  [[ $(find "$got" -type f | wc -l) == $(find "$src" -type f | wc -l) ]] || { echo "file count differs under $got" >&2; bad=1; }
  return $bad
}
