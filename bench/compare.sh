#!/usr/bin/env bash
# compare.sh — chain (cmd/benchit) against hashicorp/raft (bench/raftcompare)
# on this machine, one run after another, and a markdown table of the results.
#
# Both sides run a 3-node cluster in one process over loopback TCP with the
# same payloads (-size 100) and the same concurrency (workers x in flight):
#   memory:  benchit in memory            vs raftcompare -store mem
#   durable: benchit -data (Pebble, fsync) vs raftcompare -store bolt (fsync)
# for each of -w 2 -c 50, -w 4 -c 256 and -w 1 -c 1. Each run lasts $DURATION
# (default 10s), so the whole takes about 6 x 2 x DURATION plus start-up.
#
# Usage: bench/compare.sh            (DURATION=5s bench/compare.sh)
# RAFT_FLAGS adds flags to every raftcompare run: RAFT_FLAGS=-client-hop
# has raft's operations cross loopback TCP from their clients too.
# Needs Go; the first build may fetch modules from the Go module proxy.
# Temporary files (binaries, data directories) are removed on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
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

load_start=$(loadavg)
configs=("-w 2 -c 50" "-w 4 -c 256" "-w 1 -c 1")
rows=()
notes=()
for cfg in "${configs[@]}"; do
	for mode in memory durable; do
		echo "config $cfg, $mode, $DURATION each:" >&2
		# shellcheck disable=SC2086 # $cfg is two flags
		if [[ $mode == memory ]]; then
			c=$(bench chain "$tmp/benchit" $cfg -size "$SIZE" -d "$DURATION")
			# shellcheck disable=SC2086 # RAFT_FLAGS may hold several flags
			r=$(bench raft "$tmp/raftcompare" -store mem $cfg -size "$SIZE" -d "$DURATION" $RAFT_FLAGS)
		else
			mkdir -p "$tmp/data"
			c=$(bench chain "$tmp/benchit" $cfg -size "$SIZE" -d "$DURATION" -data "$tmp/data")
			# shellcheck disable=SC2086 # RAFT_FLAGS may hold several flags
			r=$(bench raft "$tmp/raftcompare" -store bolt -data "$tmp/data" $cfg -size "$SIZE" -d "$DURATION" $RAFT_FLAGS)
			rm -rf "$tmp/data"
		fi
		cops=$(field ops_per_sec "$c")
		rops=$(field ops_per_sec "$r")
		for side in c r; do
			s=${!side}
			if [[ $(field errors "$s") != 0 ]]; then
				notes+=("$cfg $mode $(field mode "$s"): $(field errors "$s") errors, first: $(field first_error "$s")")
			fi
		done
		rows+=("$(awk -v cfg="$cfg" -v mode="$mode ($(field mode "$c") vs $(field mode "$r"))" \
			-v c="$cops" -v r="$rops" -v cp="$(field p99_ms "$c")" -v rp="$(field p99_ms "$r")" \
			'BEGIN { printf "| `%s` | %s | %.0f | %.0f | %s | %.2f | %.2f |", cfg, mode, c, r, (r > 0 ? sprintf("%.2f", c / r) : "-"), cp, rp }')")
	done
done

echo
echo "$(nproc) CPUs, $(go env GOVERSION), $(go env GOOS)/$(go env GOARCH); ${SIZE}-byte payloads, $DURATION per run;" \
	"3 nodes in one process over loopback TCP; load average $load_start at the start, $(loadavg) at the end."
echo
echo "| config | mode | chain ops/s | raft ops/s | ratio | chain p99 ms | raft p99 ms |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
if [[ ${#notes[@]} -gt 0 ]]; then
	echo
	printf -- '- %s\n' "${notes[@]}"
fi
