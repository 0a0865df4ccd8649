#!/bin/bash
# Throughput around a PostgreSQL outage (issue 18): runs sundial-bench
# (activities, C=50) against a private PostgreSQL cluster, stops the
# cluster for 30 s in the middle of the run, and prints the number of
# closed workflows (current_executions) every 5 s, so the rate before and
# after the outage can be compared.
#
#   scripts/bench-outage.sh [SUNDIAL_BINARY]     # default: built from this checkout
#
# Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin); run as
# root it runs them as the postgres user. Nothing else on the machine is
# touched. Figures: docs/PERFORMANCE.md, "Recovery after a database outage".
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-}
if [ -z "$BIN" ]; then BIN=$(mktemp -d)/sundial; go build -o "$BIN" ./cmd/sundial; fi
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort | tail -1)")
D=$(mktemp -d /tmp/sundial-outage-XXXXXX)
PORT=${PORT:-55440}
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$D"; AS=(runuser -u postgres --); fi
"${AS[@]}" "$PGBIN/initdb" -D "$D/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
OPTS="-p $PORT -k $D -c listen_addresses=127.0.0.1 -c max_connections=200"
pgctl() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$D/data" -w "$@" >/dev/null; }
pgctl -l "$D/log" -o "$OPTS" start
trap 'pgctl stop -m fast || true; rm -rf "$D"' EXIT
go run ./cmd/sundial-bench --spawn --server-bin "$BIN" --postgres "postgres://postgres@127.0.0.1:$PORT/postgres" \
	-w activities -c 50 -d 110s --warmup 5s --drain 120s > "$D/bench.out" 2>&1 &
BP=$!
T0=$(date +%s)
db=""
q() { psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc "$1" "$2" 2>/dev/null || true; }
for i in $(seq 1 24); do
	sleep 5
	[ -n "$db" ] || db=$(q "select datname from pg_database where datname not in ('postgres','template0','template1') limit 1" postgres)
	echo "t=$(($(date +%s) - T0))s closed=$([ -n "$db" ] && q "select count(*) from current_executions where status <> 1" "$db")"
	if [ "$i" = 8 ]; then pgctl stop -m immediate; echo "t=$(($(date +%s) - T0))s PostgreSQL stopped"; fi
	if [ "$i" = 14 ]; then pgctl -l "$D/log" -o "$OPTS" start; echo "t=$(($(date +%s) - T0))s PostgreSQL started"; fi
done
wait $BP || true
grep -v "^exit status" "$D/bench.out" | tail -1
