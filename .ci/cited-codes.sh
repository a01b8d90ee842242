#!/usr/bin/env bash
# Fails when a comment in src/ cites a rule, quirk or decision that docs/
# does not define: the codes M, Q, A, QA, AD, U, UD, C, QU followed by a
# number, and sections "<name>.md §x". A code is defined by a table row
# (`| M1 |`) or a bold lead (`**A30 ...**`) in docs/*.md; a section by a
# heading of docs/<name>.md that starts with its number.
set -euo pipefail
cd "$(dirname "$0")/.."

comments=$(grep -rhoE '//.*' src --include='*.rs')
missing=()

codes=$(grep -oE '\b(QA|AD|UD|QU|M|Q|A|U|C)[0-9]{1,2}\b' <<<"$comments" | sort -u)
for code in $codes; do
  if ! grep -qE "^\| ?$code ?\||\*\*$code[ *:.]" docs/*.md; then
    missing+=("code $code")
  fi
done

sections=$(grep -oE '[A-Za-z_-]+\.md §[0-9]+(\.[0-9]+)*' <<<"$comments" | sort -u)
while read -r cite; do
  [[ -z "$cite" ]] && continue
  file="docs/${cite%% *}"
  number="${cite##*§}"
  if [[ ! -f "$file" ]]; then
    missing+=("$cite (no $file)")
  elif ! grep -qE "^#+ $(sed 's/\./\\./g' <<<"$number")[. ]" "$file"; then
    missing+=("$cite (no such heading in $file)")
  fi
done <<<"$sections"

# A bare "§x" (semantics.md's, in the rating core) must be a heading of
# some document.
for number in $(grep -oE '(^|[^d] )§[0-9]+(\.[0-9]+)*' <<<"$comments" | grep -oE '[0-9.]+$' | sort -u); do
  if ! grep -qE "^#+ $(sed 's/\./\\./g' <<<"$number")[. ]" docs/*.md; then
    missing+=("§$number (no such heading in docs/)")
  fi
done

for doc in $(grep -oE 'docs/[A-Za-z_-]+\.md' <<<"$comments" | sort -u); do
  [[ -f "$doc" ]] || missing+=("$doc")
done

if ((${#missing[@]} > 0)); then
  printf 'cited but not in docs/: %s\n' "${missing[@]}"
  exit 1
fi
echo "cited-codes: $(wc -w <<<"$codes") codes and $(grep -c . <<<"$sections") sections cited in src/ resolve in docs/"
