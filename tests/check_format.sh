#!/usr/bin/env bash
# Every C++ source and header follows .clang-format (Google style, 100 columns).
# Part of the default test run (ctest test `format`); names each file that
# differs and how to fix it. Needs clang-format 14 (deploy/install-deps.sh
# --test installs it); other versions format a few constructs differently, so
# another version is reported and the check is skipped rather than failed.
#
#   tests/check_format.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$root"
cf="${CLANG_FORMAT:-clang-format}"
if ! command -v "$cf" >/dev/null; then
  echo "check_format: $cf not found; run deploy/install-deps.sh --test" >&2
  exit 1
fi
version="$("$cf" --version)"
if [[ "$version" != *" 14."* ]]; then
  echo "check_format: SKIP: $version is not clang-format 14, which the tree is formatted with"
  exit 77
fi
mapfile -t files < <(git ls-files -- '*.cc' '*.h' 2>/dev/null || find . -name '*.cc' -o -name '*.h' | grep -v '^./build/')
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if (( ${#bad[@]} )); then
  printf 'check_format: %s is not formatted\n' "${bad[@]}" >&2
  echo "check_format: ${#bad[@]} file(s) differ from .clang-format; fix with: clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files follow .clang-format"
