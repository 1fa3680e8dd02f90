#!/usr/bin/env bash
# Shows that tests/check_layering.sh fails on each kind of forbidden arrow and
# passes a clean tree (ctest test `layering_selftest`).
set -euo pipefail
check="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/check_layering.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

make_tree() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t"/{common,agent,coordinator,workers,cli,tests/support}
  echo '#include "common/a.h"' > "$tmp/t/common/a.cc"
  echo '#include "shoebox/v1/agent.pb.h"' > "$tmp/t/agent/a.cc"
  echo '#include "common/a.h"' > "$tmp/t/coordinator/c.cc"
  echo '#include "tests/support/servers.h"' > "$tmp/t/workers/w_test.cc"
  echo '#include "absl/status/status.h"' > "$tmp/t/cli/c.cc"
}

expect() {  # expect PASS|FAIL description
  local want="$1" what="$2" rc=0 out
  out="$("$check" "$tmp/t" 2>&1)" || rc=$?
  if [[ "$want" == PASS && $rc -ne 0 ]] || [[ "$want" == FAIL && $rc -eq 0 ]]; then
    echo "layering_selftest: $what: expected $want, got rc=$rc: $out" >&2
    exit 1
  fi
  if [[ "$want" == FAIL && "$out" != *"may include only"* ]]; then
    echo "layering_selftest: $what: the failure does not explain the rule: $out" >&2
    exit 1
  fi
  echo "ok: $what ($want)"
}

make_tree; expect PASS "a clean tree"
make_tree; echo '#include "coordinator/store/store.h"' >> "$tmp/t/agent/a.cc"; expect FAIL "agent includes coordinator"
make_tree; echo '#include "workers/worker.h"' >> "$tmp/t/agent/a.cc"; expect FAIL "agent includes workers"
make_tree; echo '#include "coordinator/x.h"' >> "$tmp/t/workers/w.cc"; expect FAIL "workers include coordinator"
make_tree; echo '#include "workers/connectors/s3.h"' >> "$tmp/t/coordinator/c.cc"; expect FAIL "coordinator includes workers"
make_tree; echo '#include "agent/agent.h"' >> "$tmp/t/coordinator/c.cc"; expect FAIL "coordinator includes agent"
make_tree; echo '#include "cli/client.h"' >> "$tmp/t/common/a.cc"; expect FAIL "common includes a component"
make_tree; echo '#include "../workers/x.h"' >> "$tmp/t/cli/c.cc"; expect FAIL "a relative include into another component"
make_tree; echo '#include "tests/support/servers.h"' >> "$tmp/t/workers/w.cc"; expect FAIL "non-test source includes tests/"
