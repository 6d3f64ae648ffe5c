#!/usr/bin/env bash
# compare.sh — chain (cmd/benchit) against hashicorp/raft (bench/raftcompare)
# on this machine, one run after another, and a markdown table of the results.
#
# Both sides run a 3-node cluster in one process over loopback TCP with the
# same payloads (-size 100) and the same concurrency (workers x in flight):
#   memory:  benchit in memory            vs raftcompare -store mem
#   durable: benchit -data (Pebble, fsync) vs raftcompare -store bolt (fsync)
# for each of -w 2 -c 50, -w 4 -c 256 and -w 1 -c 1. Each configuration runs
# $RUNS times (default 3), chain and raft in turn, each run lasting $DURATION
# (default 10s), so the whole takes about 6 x 2 x RUNS x DURATION plus
# start-up. The table gives medians, with the lowest and highest of the runs
# in brackets, of throughput, p99 latency and CPU time per 1,000 operations
# (the process's user and system time, its three nodes included: on a shared
# machine, the cost per operation is the figure that carries over to larger
# machines).
#
# Usage: bench/compare.sh            (DURATION=5s RUNS=5 bench/compare.sh)
# RAFT_FLAGS adds flags to every raftcompare run: RAFT_FLAGS=-client-hop
# has raft's operations cross loopback TCP from their clients too.
# Needs Go; the first build may fetch modules from the Go module proxy.
# Temporary files (binaries, data directories) are removed on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
RUNS=${RUNS:-3}
RAFT_FLAGS=${RAFT_FLAGS:-}
SIZE=100
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chain-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# loadavg: the 1-minute load average, to show how busy the machine was.
loadavg() {
	if [[ -r /proc/loadavg ]]; then cut -d' ' -f1 /proc/loadavg; else echo "?"; fi
}

echo "building benchit and raftcompare..." >&2
(cd "$root" && go build -o "$tmp/benchit" ./cmd/benchit)
(cd "$root/bench/raftcompare" && go build -o "$tmp/raftcompare" .)
(cd "$root" && go build -o "$tmp/floor" ./bench/floor)

# field NAME JSON: the value of a number or string field of a flat JSON object.
field() {
	sed -n -E 's/.*"'"$1"'":"?([^",}]*)"?[,}].*/\1/p' <<<"$2"
}

# bench NAME CMD...: runs one benchmark with -json; prints its summary line.
# A run whose operations partly failed (exit 1) still counts, flagged later;
# any other failure stops the comparison.
bench() {
	local name=$1 out rc=0
	shift
	echo "  $name: $*" >&2
	out=$("$@" -json 2>"$tmp/stderr") || rc=$?
	if [[ $rc -ne 0 && $rc -ne 1 ]] || [[ -z $out ]]; then
		echo "$name failed (exit $rc):" >&2
		cat "$tmp/stderr" >&2
		exit 1
	fi
	echo "$out"
}

# stats VALUES...: "median [min-max]" of the values, each with one decimal
# place or none (DEC).
stats() {
	printf '%s\n' "$@" | sort -g | awk -v dec="${DEC:-0}" '
		{ v[NR] = $1 }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			f = "%." dec "f"
			printf f " [" f "-" f "]", m, v[1], v[NR]
		}'
}

# median VALUES...: the median of the values.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_side SIDE MODE CFG: one run of chain or raft in mode memory or
# durable with the flags of CFG; prints its summary line.
run_side() {
	local side=$1 mode=$2 cfg=$3
	# shellcheck disable=SC2086 # $cfg is two flags, RAFT_FLAGS may hold several
	case $side/$mode in
	chain/memory) bench chain "$tmp/benchit" $cfg -size "$SIZE" -d "$DURATION" ;;
	raft/memory) bench raft "$tmp/raftcompare" -store mem $cfg -size "$SIZE" -d "$DURATION" $RAFT_FLAGS ;;
	chain/durable)
		mkdir -p "$tmp/data"
		bench chain "$tmp/benchit" $cfg -size "$SIZE" -d "$DURATION" -data "$tmp/data"
		rm -rf "$tmp/data"
		;;
	raft/durable)
		mkdir -p "$tmp/data"
		bench raft "$tmp/raftcompare" -store bolt -data "$tmp/data" $cfg -size "$SIZE" -d "$DURATION" $RAFT_FLAGS
		rm -rf "$tmp/data"
		;;
	esac
}

load_start=$(loadavg)
configs=("-w 2 -c 50" "-w 4 -c 256" "-w 1 -c 1")
rows=()
notes=()
for cfg in "${configs[@]}"; do
	for mode in memory durable; do
		echo "config $cfg, $mode, $RUNS runs of $DURATION each side:" >&2
		declare -A ops=() p99=() cpu=() modes=()
		for ((run = 1; run <= RUNS; run++)); do
			for side in chain raft; do
				s=$(run_side "$side" "$mode" "$cfg")
				ops[$side]+=" $(field ops_per_sec "$s")"
				p99[$side]+=" $(field p99_ms "$s")"
				cpu[$side]+=" $(field cpu_ms_per_1000_ops "$s")"
				modes[$side]=$(field mode "$s")
				if [[ $(field errors "$s") != 0 ]]; then
					notes+=("$cfg $mode $(field mode "$s") run $run: $(field errors "$s") errors, first: $(field first_error "$s")")
				fi
			done
		done
		# shellcheck disable=SC2086 # the lists are space-separated values
		ratio=$(awk -v c="$(median ${ops[chain]})" -v r="$(median ${ops[raft]})" 'BEGIN { print (r > 0 ? sprintf("%.2f", c / r) : "-") }')
		# shellcheck disable=SC2086
		rows+=("| \`$cfg\` | $mode (${modes[chain]} vs ${modes[raft]}) | $(stats ${ops[chain]}) | $(stats ${ops[raft]}) | $ratio | $(DEC=2 stats ${p99[chain]}) | $(DEC=2 stats ${p99[raft]}) | $(DEC=1 stats ${cpu[chain]}) | $(DEC=1 stats ${cpu[raft]}) |")
		unset ops p99 cpu modes
	done
done

# The floor: the same payloads round a bare loop of four loopback TCP hops
# (client, three relays that only copy bytes, client), a chain write's hops.
floors=()
for c in 1 256; do
	echo "floor, $c in flight, $RUNS runs of $DURATION:" >&2
	fops="" fp50="" fcpu=""
	for ((run = 1; run <= RUNS; run++)); do
		s=$(bench floor "$tmp/floor" -c "$c" -size "$SIZE" -d "$DURATION")
		fops+=" $(field ops_per_sec "$s")"
		fp50+=" $(field p50_ms "$s")"
		fcpu+=" $(field cpu_ms_per_1000_ops "$s")"
	done
	# shellcheck disable=SC2086 # the lists are space-separated values
	floors+=("| $c | $(stats $fops) | $(DEC=3 stats $fp50) | $(DEC=1 stats $fcpu) |")
done

echo
echo "$(nproc) CPUs, $(go env GOVERSION), $(go env GOOS)/$(go env GOARCH); ${SIZE}-byte payloads, $RUNS runs of $DURATION per side;" \
	"3 nodes in one process over loopback TCP; load average $load_start at the start, $(loadavg) at the end."
echo "Medians [lowest-highest] of the runs; the ratio is of the medians; CPU in ms per 1,000 operations."
echo
echo "| config | mode | chain ops/s | raft ops/s | ratio | chain p99 ms | raft p99 ms | chain CPU | raft CPU |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "The floor: ${SIZE}-byte messages round four loopback TCP hops through relays that only copy bytes (\`bench/floor\`)."
echo
echo "| in flight | ops/s | p50 ms | CPU |"
echo "|---:|---:|---:|---:|"
printf '%s\n' "${floors[@]}"
if [[ ${#notes[@]} -gt 0 ]]; then
	echo
	printf -- '- %s\n' "${notes[@]}"
fi
