#!/usr/bin/env bash
# Issue 5's "Checked by", as a user would run it: a daemon against a local feed server
# (python -m http.server on examples/feeds) and SMTP server (aiosmtpd), with one-second
# ticks, killed with -9 five times at random moments and restarted, then stopped with
# SIGTERM; then `status --format json` and `flags list --format json` are checked: no
# duplicate flag, every served entry stored once, one digest per week and recipient,
# `status` exits 0 while a daemon runs and 3 once it is stopped.
#
#     bash scripts/daemon_crash_check.sh      (needs `make install`; ports 8099 and 8025)
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
PW=$REPO/.venv/bin/pledgewatch
PY=$REPO/.venv/bin/python
cd "$WORK"
$PY -m http.server 8099 --bind 127.0.0.1 --directory $REPO/examples/feeds > http.log 2>&1 &
HTTP=$!
$PY -m aiosmtpd -n -l 127.0.0.1:8025 -c aiosmtpd.handlers.Mailbox $WORK/mbox > smtp.log 2>&1 &
SMTP=$!
export PLEDGEWATCH_DB=sqlite:///$WORK/pw.db
export PLEDGEWATCH_FEEDS_ALLOW_PRIVATE_ADDRESSES=1
export PLEDGEWATCH_FEEDS_MIN_INTERVAL_SECONDS=1
export PLEDGEWATCH_DAEMON_POLL_TICK_SECONDS=1
export PLEDGEWATCH_DAEMON_DIGEST_CHECK_MINUTES=1
export PLEDGEWATCH_DAEMON_HEARTBEAT_SECONDS=1
export PLEDGEWATCH_DAEMON_STARTUP_SPREAD_SECONDS=0
export PLEDGEWATCH_DAEMON_LEASE_SECONDS=40
export PLEDGEWATCH_SMTP_HOST=127.0.0.1 PLEDGEWATCH_SMTP_PORT=8025
export PLEDGEWATCH_DIGEST_TO=ngo@example.org,desk@example.org
sleep 1
$PW catalogue sync > /dev/null
for f in business-daily climate-desk tech-policy-weekly; do $PW feeds add http://127.0.0.1:8099/$f.xml > /dev/null; done
for i in 1 2 3 4 5; do
  $PW daemon > daemon-$i.log 2>&1 &
  D=$!
  sleep $((2 + RANDOM % 5))
  kill -9 $D; wait $D 2>/dev/null
  echo "run $i killed"
done
$PW daemon > daemon-final.log 2>&1 &
D=$!
sleep 12
$PW status --format json > status-running.json; RUNNING=$?; echo "status while running: $RUNNING"
kill -TERM $D; wait $D; echo "daemon exit on TERM: $?"
$PW status --format json > status-stopped.json; STOPPED=$?; echo "status after stop: $STOPPED"
$PW flags list --format json > flags.json
kill $HTTP $SMTP
if [ "$RUNNING" != 0 ] || [ "$STOPPED" != 3 ]; then echo "FAILED: status exit codes"; exit 1; fi

$PY - "$WORK" "$REPO" <<'PYEOF'
import collections, glob, json, mailbox, sqlite3, sys, xml.etree.ElementTree as ET
work, repo = sys.argv[1], sys.argv[2]
flags = json.load(open(f"{work}/flags.json"))
pairs = collections.Counter((f["article"]["id"], f["pledge_id"]) for f in flags)
db = sqlite3.connect(f"{work}/pw.db")
articles, keys = db.execute("select count(*), count(distinct key) from articles").fetchone()
served = 0
for path in glob.glob(f"{repo}/examples/feeds/*.xml"):
    root = ET.parse(path).getroot()
    served += len(root.findall(".//item")) + len(root.findall(".//{http://www.w3.org/2005/Atom}entry"))
digests = db.execute("select period, recipient, status from digests").fetchall()
msgs = list(mailbox.Maildir(f"{work}/mbox"))
per_row = collections.Counter((m["Message-ID"], m["To"]) for m in msgs)
print(f"flags {len(flags)}, duplicated {sum(v > 1 for v in pairs.values())}")
print(f"entries served {served}, articles {articles} ({keys} distinct keys)")
print(f"digest rows {digests}; messages received {len(msgs)}, distinct {len(per_row)}")
ok = (all(v == 1 for v in pairs.values()) and articles == keys == served
      and all(s == "sent" for *_, s in digests) and len(msgs) == len(per_row) == len(digests))
print("OK" if ok else "FAILED")
sys.exit(0 if ok else 1)
PYEOF
