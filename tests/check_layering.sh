#!/usr/bin/env bash
# The allowed arrows between Shoebox's parts (docs/architecture.md, "Layering"),
# checked on every #include in the source tree. Part of the default test run
# (ctest test `layering`); exits 1 and names every offending line.
#
#   common/       includes common/ and proto/ only (never a component)
#   agent/        agent/, common/, proto/
#   coordinator/  coordinator/, common/, proto/
#   workers/      workers/, common/, proto/
#   cli/          cli/, common/, proto/ (it reaches the coordinator over its admin API)
#   tests/, bench/ may include anything.
# Test sources inside a component (*_test.cc, *_test_cases.h, *_conformance.*, test_util.h)
# may also include tests/support/.
#
# The build enforces the same thing a second way: each library exports only its
# own include root (build/include/<part>), so a forbidden include also fails to
# compile. This check also catches includes that a compiler would find by a
# relative path ("../workers/x.h").
#
#   tests/check_layering.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"

allowed_for() {
  case "$1" in
    common) echo "common" ;;
    agent) echo "agent common" ;;
    coordinator) echo "coordinator common" ;;
    workers) echo "workers common" ;;
    cli) echo "cli common" ;;
  esac
}
components="agent coordinator workers cli"
parts="common $components"

fail=0
for part in $parts; do
  allowed="$(allowed_for "$part")"
  while IFS= read -r -d '' file; do
    is_test=0
    case "$file" in
      *_test.cc|*_test.h|*_test_cases.h|*conformance*|*/test_util.h) is_test=1 ;;
    esac
    lineno=0
    while IFS= read -r line; do
      lineno=$((lineno + 1))
      [[ "$line" =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
      inc="${BASH_REMATCH[1]}"
      # Resolve a relative include against the including file's directory.
      if [[ "$inc" == ../* || "$inc" == ./* ]]; then
        inc="$(realpath -m --relative-to="$root" "$(dirname "$file")/$inc")"
      fi
      top="${inc%%/*}"
      [[ "$inc" == */* ]] || continue  # a file next to this one
      ok=0
      case "$top" in
        shoebox) ok=1 ;;  # generated protos: proto/shoebox/v1/*.pb.h
        tests) [[ $is_test == 1 && "$inc" == tests/support/* ]] && ok=1 ;;
        agent|coordinator|workers|cli|common|bench)
          for a in $allowed; do [[ "$top" == "$a" ]] && ok=1; done ;;
        *) ok=1 ;;  # third-party (absl/, grpcpp/, gtest/, ...)
      esac
      if [[ $ok == 0 ]]; then
        echo "layering: $file:$lineno includes \"$inc\", but $part/ may include only: $allowed, proto/ (test sources also tests/support/). Move the shared code to common/, or reach the other part over its gRPC API." >&2
        fail=1
      fi
    done < "$file"
  done < <(find "$part" -type f \( -name '*.cc' -o -name '*.h' \) -print0)
done

if [[ $fail == 0 ]]; then
  echo "layering: ok ($parts checked)"
fi
exit $fail
