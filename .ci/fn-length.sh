#!/usr/bin/env bash
# Fails when a function in src/ (or an integration's src/) is longer than MAX_FN_LINES (80) lines,
# outside the quarantined performance files (DESIGN.md): the Exact kernels
# and digit writer, the request scanner and the JSON writer. Counts lines
# from `fn` to its closing brace in rustfmt-formatted code (the closing
# brace is the first line after `fn` with the same indentation and `}`).
set -euo pipefail
cd "$(dirname "$0")/.."
MAX="${MAX_FN_LINES:-80}"
QUARANTINED='^src/(exact/ops\.rs|exact/text\.rs|lago/scan\.rs|lago/write\.rs)$'
files=$(find src integrations/*/src -name '*.rs' | sort | grep -Ev "$QUARANTINED")
# shellcheck disable=SC2086
long=$(awk -v max="$MAX" '
FNR == 1 { open = 0 }
{
  line = $0
  if (!open && match(line, /^( *)(pub(\([a-z:]+\))? )?(const )?(async )?(unsafe )?fn [A-Za-z0-9_]+/)) {
    if (line ~ /;[ ]*$/ || line ~ /\}[ ]*$/) next
    ind = line; sub(/[^ ].*/, "", ind)
    name = line; sub(/^.*fn /, "", name); sub(/[^A-Za-z0-9_].*/, "", name)
    open = 1; start = FNR; indent = ind
    next
  }
  if (open && line ~ ("^" indent "\\}[ ]*$")) {
    n = FNR - start + 1
    if (n > max) printf "%s:%d: fn %s is %d lines (at most %d)\n", FILENAME, start, name, n, max
    open = 0
  }
}' $files)
if [[ -n "$long" ]]; then
  echo "$long"
  exit 1
fi
echo "fn-length: every function outside the quarantined files is at most $MAX lines"
