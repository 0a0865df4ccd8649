#!/usr/bin/env bash
# Runs every sundial-bench workload on SQLite (start-dev) and PostgreSQL
# (sundial server), one after the other, and writes one JSON file and one
# summary line per run to OUT (default bench-results/). The figures in
# docs/PERFORMANCE.md come from this script.
#
#   scripts/bench-matrix.sh [OUT]
#   PG=postgres://postgres@127.0.0.1:5432/postgres   (unset it to skip PostgreSQL)
#   DUR=30s  IDLE=100000  ONLY="activities-c50 idle"   (a subset of the runs)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sundial" ./cmd/sundial
go build -o "$bin/sundial-bench" ./cmd/sundial-bench
dur=${DUR:-30s}
idle=${IDLE:-100000}
pg=${PG-postgres://postgres@127.0.0.1:5432/postgres}

runs=(
	"activities-c50|-w activities -c 50 -d $dur"
	"activities-c10|-w activities -c 10 -d $dur"
	"signals|-w signals -c 50 -d $dur"
	"timers|-w timers -c 50 -d $dur"
	"children|-w children -c 50 -d $dur"
	"idle|-w idle --count $idle -c 50 -d 15m"
)
backends=(sqlite)
[ -n "$pg" ] && backends+=(postgres)
for be in "${backends[@]}"; do
	for r in "${runs[@]}"; do
		name=${r%%|*}
		args=${r#*|}
		if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
		extra=()
		[ "$be" = postgres ] && extra=(--postgres "$pg" --db-process-name postgres)
		# shellcheck disable=SC2086
		"$bin/sundial-bench" --spawn --server-bin "$bin/sundial" $args "${extra[@]}" \
			--json "$out/$be-$name.json" | tee -a "$out/summary.txt"
	done
done
