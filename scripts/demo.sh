#!/usr/bin/env bash
# One full monitoring cycle, offline, on a fresh SQLite file in demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
PW=".venv/bin/pledgewatch"
OUT="demo-out"
rm -rf "$OUT" && mkdir -p "$OUT"
export PLEDGEWATCH_DB="sqlite:///$OUT/pledgewatch.db"
unset PLEDGEWATCH_CONFIG
# The digest links each story to its flag page, served by `pledgewatch serve` below.
export PLEDGEWATCH_DIGEST_BASE_URL="http://127.0.0.1:8080"

echo "== 1. load the shipped pledge catalogue"
$PW catalogue sync
echo
echo "== 2. ingest the bundled sample feeds (offline) and run detection"
$PW ingest examples/feeds/*.xml
echo
echo "== 3. flags raised"
$PW flags list
echo
echo "== 4. the founding case, explained"
FLAG_ID=$($PW flags list --pledge amazon-rekognition-police-moratorium --format json --limit 1 \
  | .venv/bin/python -c 'import json,sys; f=json.load(sys.stdin); print(f[0]["id"] if f else "")')
if [ -z "$FLAG_ID" ]; then
  echo "no flag for the founding case" >&2
  exit 1
fi
$PW flags show "$FLAG_ID"
if $PW digest --help >/dev/null 2>&1; then
  echo
  echo "== 5. this cycle's digest, rendered without sending"
  WEEK=$($PW flags list --pledge amazon-rekognition-police-moratorium --format json --limit 1 \
    | .venv/bin/python -c 'import json,sys,datetime; f=json.load(sys.stdin)[0]; d=datetime.datetime.fromisoformat(f["first_raised_at"]); y,w,_=d.isocalendar(); print(f"{y}-W{w:02d}")')
  $PW digest preview --week "$WEEK" --out "$OUT/digest.html" --format html
  $PW digest preview --week "$WEEK" --out "$OUT/digest.txt" --format text
fi
echo
echo "to look around $OUT/pledgewatch.db (every command answers --help):"
echo "  export PLEDGEWATCH_DB=$PLEDGEWATCH_DB"
echo "  $PW flags list --format json"
echo "  $PW serve    # pages and API on http://127.0.0.1:8080/"
