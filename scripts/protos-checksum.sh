#!/usr/bin/env bash
# Prints one SHA-256 over every .proto under Protos/ (paths and contents, in sorted order).
set -euo pipefail
cd "$(dirname "$0")/../Protos"
find . -name '*.proto' | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done | openssl dgst -sha256 -r | cut -d' ' -f1
