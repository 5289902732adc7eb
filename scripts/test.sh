#!/usr/bin/env bash
# The project's test command. On a fresh machine it:
#   1. makes a virtual environment under .venv with SeaweedFS, boto3, grpcio(-tools), pytest,
#      pytest-timeout, tuspy and Playwright, each pinned in scripts/requirements-test.txt (the
#      browser is Debian's chromium, installed if missing);
#   2. starts SeaweedFS (a real S3 server with SigV4 auth) and a throwaway PostgreSQL cluster
#      (Debian's postgresql, installed if missing) on free loopback ports; the replica tests
#      start HAProxy (Debian's haproxy, installed if missing) themselves;
#   3. builds, checks that the committed generated code is what Protos/ generates (installing
#      Debian's protobuf-compiler if missing), runs `swift test`, then the process-level
#      end-to-end tests (Tests/EndToEnd);
#   4. stops what it started, and exits non-zero on any failure.
# If S3 or PostgreSQL cannot start the run fails: their tests never skip silently.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

run_dir="$root/.test-run"
rm -rf "$run_dir"
mkdir -p "$run_dir"
cleanup() {
  .venv/bin/python scripts/lib/seaweedfs.py stop "$run_dir/s3" || true
  .venv/bin/python scripts/lib/postgres.py stop "$run_dir/postgres" || true
}
trap cleanup EXIT

if ! command -v haproxy > /dev/null && [ ! -x /usr/sbin/haproxy ]; then
  echo "==> installing haproxy"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q haproxy > /dev/null || { apt-get update -q > /dev/null && apt-get install -y -q haproxy > /dev/null; }
fi

if [ ! -x /usr/bin/chromium ]; then
  # The upload page's test drives a real browser: Debian's chromium, through Playwright.
  echo "==> installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium > /dev/null || { apt-get update -q > /dev/null && apt-get install -y -q chromium > /dev/null; }
fi

if ! command -v ip > /dev/null || ! command -v ss > /dev/null; then
  # The lossy-link tests put the client in a network namespace (ip) and read its sockets (ss).
  echo "==> installing iproute2"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q iproute2 > /dev/null || { apt-get update -q > /dev/null && apt-get install -y -q iproute2 > /dev/null; }
fi

echo "==> starting SeaweedFS"
# Not eval "$(...)": eval of an empty string succeeds, and a failed start would go unnoticed.
if ! s3_exports=$(.venv/bin/python scripts/lib/seaweedfs.py start "$run_dir/s3"); then
  echo "SeaweedFS did not start; its log:" >&2
  cat "$run_dir/s3/weed.log" >&2 || true
  exit 1
fi
eval "$s3_exports"
echo "    S3 at $UPLOADER_TEST_S3_ENDPOINT"
export UPLOADER_TEST_S3_REQUIRED=1

echo "==> starting PostgreSQL"
if ! pg_exports=$(.venv/bin/python scripts/lib/postgres.py start "$run_dir/postgres"); then
  echo "PostgreSQL did not start; its log:" >&2
  cat "$run_dir/postgres/cluster/postgres.log" >&2 || true
  exit 1
fi
eval "$pg_exports"
echo "    PostgreSQL at $UPLOADER_TEST_POSTGRES_URL"
export UPLOADER_TEST_POSTGRES_REQUIRED=1

echo "==> swift build"
swift build --build-tests
echo "==> generated code matches Protos/"
scripts/generate-protos.sh --check
# No step may hang the run: swift test gets 20 minutes, each end-to-end test 10 (pytest-timeout,
# which prints every thread's stack when it fires) and all of them 40.
echo "==> swift test"
timeout --kill-after 30 1200 swift test --skip-build --parallel --num-workers 2

echo "==> end-to-end tests"
export UPLOADER_SERVER_BIN="$(swift build --show-bin-path)/uploader-server"
timeout --kill-after 30 2400 .venv/bin/python -m pytest -q --timeout 600 Tests/EndToEnd "$@"
