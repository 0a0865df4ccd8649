#!/usr/bin/env bash
# One sundial-bench run (activities, C=50, SDK driver) against PostgreSQL on
# a fresh database, with the server as ONE process (all roles) or as THREE
# (frontend+worker, history, matching) of one cluster on loopback. Prints
# the bench's summary and the server CPU summed over the processes from
# /proc (utime+stime, sampled when the bench starts and ends its window).
# Not run by tests. Usage:
#   scripts/bench-cluster.sh single|cluster OUTDIR
# Env: BIN (sundial binary), BENCH (sundial-bench binary), DUR, C;
# PPROF=1 also writes each process's CPU profile over the window (NAME.cpu).
set -euo pipefail
mode=${1:?single|cluster}; out=${2:?OUTDIR}
BIN=${BIN:-/tmp/mp/sundial}; BENCH=${BENCH:-/tmp/mp/sundial-bench}
DUR=${DUR:-30s}; C=${C:-50}
mkdir -p "$out"
db=mpbench_${mode}_$(date +%s)
createdb -h 127.0.0.1 -U postgres "$db"

port() { # a free loopback port
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}
fp=$(port); hp=$(port); mp=$(port)
cat >"$out/sundial.yaml" <<EOF
log: { stdout: true, level: warn }
persistence:
  numHistoryShards: 4
  defaultStore: pg
  visibilityStore: pg
  datastores:
    pg:
      sql: { pluginName: postgres12, databaseName: $db, connectAddr: "127.0.0.1:5432",
             connectProtocol: tcp, user: postgres, maxConns: 20, maxIdleConns: 20 }
services:
  frontend: { rpc: { grpcPort: $fp, bindOnIP: 127.0.0.1 } }
EOF
if [ "$mode" = cluster ]; then
  cat >>"$out/sundial.yaml" <<EOF
  history:  { rpc: { grpcPort: $hp, bindOnIP: 127.0.0.1 } }
  matching: { rpc: { grpcPort: $mp, bindOnIP: 127.0.0.1 } }
EOF
fi

[ "${PPROF:-}" = 1 ] && echo 'global: { pprof: { port: ${MPB_PPROF} } }' >>"$out/sundial.yaml"

pids=(); names=(); pprofs=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 25 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true; done
  dropdb -h 127.0.0.1 -U postgres --force "$db" || true
}
trap cleanup EXIT
waitport() { # port, pid
  for _ in $(seq 300); do
    ss -Hltn "sport = :$1" | grep -q . && return
    kill -0 "$2" || { echo "process $2 exited" >&2; exit 1; }
    sleep 0.2
  done
  echo "port $1 not listening" >&2; exit 1
}
start() { # name, port to wait for, args...
  local name=$1 wp=$2 pp; shift 2
  pp=$(port)
  MPB_PPROF=$pp "$BIN" server --config "$out/sundial.yaml" "$@" >"$out/$name.log" 2>&1 &
  pids+=($!); names+=("$name"); pprofs+=("$pp")
  waitport "$wp" $!
}
if [ "$mode" = cluster ]; then
  start history "$hp" --services history     # creates the schema
  start matching "$mp" --services matching
  start frontend "$fp" --services frontend,worker
else
  start single "$fp"
fi
sleep 3 # shard and queue ownership settle (one heartbeat + hand-off delay)

cpu() { # utime+stime ticks (fields 14, 15): the sum, then each process's
  local t=0 i c each=""
  for i in "${!pids[@]}"; do
    c=$(sed 's/.*) //' "/proc/${pids[i]}/stat" | awk '{print $12 + $13}')
    t=$((t + c)); each+="${names[i]} $c"$'\n'
  done
  printf '%s\n%s' "$t" "$each"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/summary.txt"
"$BENCH" --address "127.0.0.1:$fp" -w activities -c "$C" -d "$DUR" --driver sdk \
  --server-pid "${pids[-1]}" --db-process-name postgres --json "$out/bench.json" -v \
  2> >(while IFS= read -r l; do
         echo "$l"
         case $l in
           *msg=measuring*) cpu >"$out/cpu.a"
             if [ "${PPROF:-}" = 1 ]; then
               for i in "${!pids[@]}"; do
                 curl -s -o "$out/${names[i]}.cpu" "http://localhost:${pprofs[i]}/debug/pprof/profile?seconds=${DUR%s}" &
               done
             fi ;;
           *'msg="draining'*) cpu >"$out/cpu.b" ;;
         esac
       done >"$out/bench.err") | tee "$out/bench.out" || echo "bench exited non-zero" >&2
sleep 0.5 # the stderr reader finishes
if [ "${PPROF:-}" = 1 ]; then sleep 5; fi # the profiles finish
a=$(head -1 "$out/cpu.a"); b=$(head -1 "$out/cpu.b"); hz=$(getconf CLK_TCK)
n=$(jq .completed "$out/bench.json")
paste "$out/cpu.a" "$out/cpu.b" | awk -v hz="$hz" -v n="$n" 'NR > 1 {
  printf "  %s: %.2f ms/wf\n", $1, ($4 - $2) / hz / n * 1000 }' | tee -a "$out/summary.txt"
jq -r --argjson ticks $((b - a)) --argjson hz "$hz" --arg mode "$mode" '
  "\($mode): wf/s \(.workflows_per_sec*10|round/10) completed \(.completed) failed \(.failed)"
  + " | server CPU/wf (all processes) \($ticks/$hz/.completed*1e5|round/100) ms"
  + " | bench server-pid CPU/wf \(.server_cpu_sec_per_1000_workflows*100|round/100) ms"
  + " | DB CPU/wf \(.db_cpu_sec_per_1000_workflows*100|round/100) ms"
  + " | Start p95 \(.start_workflow_ms.p95*10|round/10) ms | e2e p50 \(.end_to_end_ms.p50|round) ms"
' "$out/bench.json" | tee -a "$out/summary.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/summary.txt"
