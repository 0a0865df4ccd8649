#!/usr/bin/env bash
# Regenerates internal/rpc/rpcpb from proto/internal. Needs protoc
# (apt-get install -y protobuf-compiler) and, on PATH:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
# The public Temporal protos are imported from the descriptors compiled into
# go.temporal.io/api (scripts/protodesc), as the module ships no .proto files.
# With --check it only verifies that the committed code is up to date.
set -euo pipefail
check=false
if [[ "${1:-}" == "--check" ]]; then check=true; fi
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./scripts/protodesc "$tmp/temporal.pb"
# protoc needs the well-known types too: from its own include directory.
protoc --descriptor_set_in="$tmp/temporal.pb" -I proto/internal \
  --go_out="$tmp" --go_opt=paths=source_relative \
  --go-grpc_out="$tmp" --go-grpc_opt=paths=source_relative \
  sundial/internal/v1/service.proto
if $check; then
  if ! diff -r "$tmp"/sundial/internal/v1 internal/rpc/rpcpb >/dev/null; then
    echo "internal/rpc/rpcpb is not up to date with proto/internal: run scripts/genproto.sh" >&2
    diff -r "$tmp"/sundial/internal/v1 internal/rpc/rpcpb | head -40 >&2
    exit 1
  fi
  echo "internal/rpc/rpcpb is up to date"
  exit 0
fi
mkdir -p internal/rpc/rpcpb
cp "$tmp"/sundial/internal/v1/*.go internal/rpc/rpcpb/
