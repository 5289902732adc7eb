#!/usr/bin/env bash
# Regenerates Sources/UploadProtocol from Protos/ and records the checksum of Protos/ that
# Tests/UploadProtocolTests checks, so a .proto changed without regenerating fails the tests.
# On a fresh machine it installs protoc (Debian's protobuf-compiler) and builds the two
# code generator plugins from the package's own dependencies.
#   scripts/generate-protos.sh           regenerate in place
#   scripts/generate-protos.sh --check   regenerate into a temporary directory and fail, with the
#                                        diff, if the committed code differs (scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/generate-protos.sh [--check]" >&2; exit 2 ;;
esac

if ! command -v protoc >/dev/null; then
  echo "installing protoc (protobuf-compiler)" >&2
  apt-get install -y protobuf-compiler >/dev/null || { apt-get update >/dev/null && apt-get install -y protobuf-compiler >/dev/null; }
fi

swift build --product protoc-gen-swift
swift build --product protoc-gen-grpc-swift-2
bin=$(swift build --show-bin-path)

out=Sources/UploadProtocol
if $check; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
mapfile -t protos < <(cd Protos && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
protoc -I Protos \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores \
  "${protos[@]}"

scripts/protos-checksum.sh > "$out/Protos.sha256"
if $check; then
  if ! diff -r -u Sources/UploadProtocol "$out"; then
    echo "Sources/UploadProtocol differs from what Protos/ generates: run scripts/generate-protos.sh" >&2
    exit 1
  fi
  echo "generated code matches Protos/ ($(ls "$out"/*.swift | wc -l) files)"
  exit 0
fi
echo "generated $(ls "$out"/*.swift | wc -l) files for ${#protos[@]} protos; checksum $(cat "$out/Protos.sha256")"
