#!/usr/bin/env bash
# No source file outside tests, fuzz targets and benchmarks over 800 lines
# (issue 15: one room per responsibility; a file that grows past this is
# split by concern, as coordinator/store/ and cli/ were).
#   tests/check_file_size.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: check_file_size.sh SOURCE_DIR}"
cd "$src"
limit=800
bad=0
while IFS= read -r f; do
  case $f in tests/* | bench/* | *_test.cc | *_fuzz.cc | *_test_fixture.h) continue ;; esac
  n=$(wc -l <"$f")
  if ((n > limit)); then
    echo "check_file_size: $f has $n lines (limit $limit); split it by concern" >&2
    bad=1
  fi
done < <(git ls-files '*.cc' '*.h' 2>/dev/null || find . -name '*.cc' -o -name '*.h' | sed 's|^\./||')
exit $bad
