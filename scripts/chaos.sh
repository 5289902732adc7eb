#!/usr/bin/env bash
# The full fault suite: every scenario of Tests/EndToEnd/chaos.py, 20 trials each by default,
# against a SeaweedFS started for the run, then the replica trial of Tests/EndToEnd/test_replicas.py
# (three replicas behind HAProxy on PostgreSQL, any replica killed every 2-4 s) as many times;
# writes the tables to docs/RELIABILITY.md.
#   scripts/chaos.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-20}
# The table describes a commit: refuse to write it from a tree that is not one.
if [ -n "$(git status --porcelain)" ]; then
  echo "chaos.sh: the working tree has uncommitted changes; commit them first, so docs/RELIABILITY.md names the code it measured" >&2
  exit 1
fi
commit=$(git rev-parse --short HEAD)
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
swift build --product uploader-server
swift build --product uploader
run_dir="$(pwd)/.chaos-run"
rm -rf "$run_dir"
trap '.venv/bin/python scripts/lib/seaweedfs.py stop "$run_dir/s3" || true; .venv/bin/python scripts/lib/seaweedfs.py stop "$run_dir/s3-replicas" || true; .venv/bin/python scripts/lib/postgres.py stop "$run_dir/postgres" || true' EXIT
# Not eval "$(...)": eval of an empty string succeeds, and a failed start would go unnoticed.
if ! s3_exports=$(.venv/bin/python scripts/lib/seaweedfs.py start "$run_dir/s3"); then
  echo "SeaweedFS did not start; its log:" >&2
  cat "$run_dir/s3/weed.log" >&2 || true
  exit 1
fi
eval "$s3_exports"
table="$run_dir/table.md"
status=0
.venv/bin/python Tests/EndToEnd/chaos.py --trials "$trials" --bin "$(swift build --show-bin-path)" --report "$table" || status=$?

# A fresh SeaweedFS: every trial above and every cluster below makes its own bucket, and one
# SeaweedFS runs out of volume slots (HTTP 500, "No writable volumes") after about 140 buckets.
.venv/bin/python scripts/lib/seaweedfs.py stop "$run_dir/s3"
if ! s3_exports=$(.venv/bin/python scripts/lib/seaweedfs.py start "$run_dir/s3-replicas"); then
  echo "SeaweedFS did not start again; its log:" >&2
  cat "$run_dir/s3-replicas/weed.log" >&2 || true
  exit 1
fi
eval "$s3_exports"
eval "$(.venv/bin/python scripts/lib/postgres.py start "$run_dir/postgres")"
replica_report="$run_dir/replicas.jsonl"
replica_started=$(date +%s)
UPLOADER_SERVER_BIN="$(swift build --show-bin-path)/uploader-server" UPLOADER_REPLICA_TRIALS="$trials" \
  UPLOADER_REPLICA_REPORT="$replica_report" .venv/bin/python -m pytest -q -p no:cacheprovider \
  Tests/EndToEnd/test_replicas.py -k killed || status=$?
replica_table=$(.venv/bin/python - "$replica_report" "$trials" "$(( $(date +%s) - replica_started ))" <<'PY'
import json, sys
path, trials, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    rows = [json.loads(line) for line in open(path)]
except FileNotFoundError:
    rows = []
kills = sum(r["kills"] for r in rows)
resent = sum(r["resent"] for r in rows)
MiB = 1 << 20
print("| scenario | trials | successes | kills | re-sent per kill, mean | max of a trial | time |")
print("|---|---|---|---|---|---|---|")
worst = max((r["resent"] / r["kills"] for r in rows), default=0) / MiB
mean = resent / kills / MiB if kills else 0
print(f"| 256 MiB, 3 replicas behind HAProxy, a random one killed (SIGKILL) every 2-4 s | {trials} | {len(rows)} | {kills} | {mean:.1f} MiB | {worst:.1f} MiB | {seconds} s |")
PY
)
{
  echo "# Reliability"
  echo
  echo "Written by \`scripts/chaos.sh $trials\` at commit $commit on $(date -u +%Y-%m-%d) ($(nproc) cores, debug"
  echo "build, SeaweedFS on loopback). Each trial uploads a 24 MiB random file with \`uploader upload\`,"
  echo "breaks something once the client has sent a random 2-16 MiB (counted by a TCP proxy, not"
  echo "guessed from a sleep), and checks with boto3 that the object is byte-identical, that"
  echo "ListMultipartUploads is empty and that the spool holds nothing for the completed session."
  echo "A trial counts only if it proves its fault hit a running upload: the upload was still running"
  echo "when the fault fired, and the fault was seen (the client's reconnect line, a journal holding"
  echo "the unfinished upload before the resume, the server's part uploads failing during the outage,"
  echo "the flipped byte seen as DATA_LOSS, a reset part or a dropped connection, SPOOL_FULL's own"
  echo "words); otherwise it is invalid, and fails the suite. A trial that sends more again than its"
  echo "scenario's bound (2-4x the most seen, in Tests/EndToEnd/chaos.py) fails too."
  echo "Extra bytes are what the client sent past the file's size through the proxy: bytes in flight"
  echo "when the fault hit (in socket buffers and HTTP/2 windows, never acknowledged) plus gRPC"
  echo "framing; not clamped, so a negative value would show a measurement fault."
  echo
  cat "$table"
  echo
  echo "Scenarios: the client killed with SIGKILL at a random moment, then \`uploader resume\`; the"
  echo "server killed with SIGKILL and restarted on the same data directory while the client"
  echo "reconnects by itself; a proxy that cuts the client's connection after a random 1-8 MiB, again"
  echo "and again; S3 unreachable for 10-20 s, in two ways: nothing listening where the server"
  echo "reaches S3 (connections refused), and a proxy that resets every connection, open or new (the"
  echo "trial counts only if the server's UploadPart or ForwardPart errors rose during the outage);"
  echo "one byte flipped in the client's stream (caught by the part's SHA-256, or by"
  echo "HTTP/2 framing); SIGTERM with a 1 s drain, then a restart; a spool limited to 12 MiB while S3"
  echo "is away, so the server answers SPOOL_FULL (RESOURCE_EXHAUSTED) until parts can leave it."
  echo
  echo "## Several replicas"
  echo
  echo "Three replicas share one PostgreSQL and one bucket behind HAProxy (round-robin per call, no"
  echo "stickiness). One \`uploader upload --parallel 4\` of 256 MiB (at most 20 MiB/s, so that every"
  echo "trial sees several kills) runs while a random replica is killed with SIGKILL every 2-4 s and"
  echo "restarted at once. A trial succeeds when the upload completes unattended after at least two"
  echo "kills, the object is byte-identical (boto3), ListMultipartUploads is empty and the database"
  echo "holds every part once, committed. Re-sent bytes are the replicas' received bytes (scraped from"
  echo "/metrics every 100 ms, so bytes received just before a kill are missed) minus the file's size;"
  echo "a part is 8 MiB."
  echo
  echo "$replica_table"
} > docs/RELIABILITY.md
cat docs/RELIABILITY.md
exit $status
