#!/usr/bin/env bash
# Cuts replication links between live neighbours of a real chain and
# measures how long writes stall. Needs root: it makes network namespaces
# of its own (lc-*), one per process, joined by a bridge in a namespace of
# its own, and uses only the addresses 10.99.0.0/24 inside them. A master
# (failure timeout $TIMEOUT) and three chaind nodes run in their own
# namespaces; benchit, in another, appends through the master with one
# request in flight and prints its progress every 50 ms. The script cuts,
# with iptables in the upstream node's namespace, first the link between
# the head and its successor, then (once the removed node is back) the
# link between the middle node and the tail, each for $CUT, and reports
# the longest stretch without an acknowledged write in each cut, against
# the bound of two failure timeouts.
#
#	go build -o bin/ ./cmd/... && sudo bench/linkcut/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
TIMEOUT=${TIMEOUT:-0.6s}
CUT=${CUT:-3}
WORK=${KEEP:-$(mktemp -d)}
hosts=(m n1 n2 n3 c)
declare -A ip=([m]=10.99.0.10 [n1]=10.99.0.1 [n2]=10.99.0.2 [n3]=10.99.0.3 [c]=10.99.0.20)

cleanup() {
	for h in "${hosts[@]}"; do
		ip netns pids "lc-$h" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	wait 2>/dev/null || true
	for h in "${hosts[@]}" br; do ip netns del "lc-$h" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add lc-br
ip -n lc-br link add br0 type bridge
ip -n lc-br link set br0 up
for h in "${hosts[@]}"; do
	ip netns add "lc-$h"
	ip link add "lcv-$h" type veth peer name "lcp-$h"
	ip link set "lcv-$h" netns "lc-$h"
	ip link set "lcp-$h" netns lc-br
	ip -n lc-br link set "lcp-$h" master br0 up
	ip -n "lc-$h" addr add "${ip[$h]}/24" dev "lcv-$h"
	ip -n "lc-$h" link set "lcv-$h" up
	ip -n "lc-$h" link set lo up
done

M="n1=${ip[n1]}:7001,n2=${ip[n2]}:7001,n3=${ip[n3]}:7001"
MASTER=${ip[m]}:7000
run_in() { local h=$1; shift; ip netns exec "lc-$h" "$@"; }
run_in m "$BIN/chaind" -master -insecure -listen "$MASTER" -members "$M" -failure-timeout "$TIMEOUT" -data "$WORK/m" 2>"$WORK/m.log" &
for n in n1 n2 n3; do
	run_in "$n" "$BIN/chaind" -id "$n" -insecure -members "$M" -master "$MASTER" -data "$WORK" 2>"$WORK/$n.log" &
done
ctl() { run_in c "$BIN/chainctl" -master "$MASTER" -timeout 2s "$@"; }
members() { ctl status --json 2>/dev/null | python3 -c 'import json,sys; c=json.load(sys.stdin); m=c.get("master") or c.get("masters"); m=m[0] if isinstance(m,list) else m; print(" ".join(x["id"] for x in m["members"]))'; }
wait_members() { # wait for a chain of $1 members
	for _ in $(seq 100); do
		local ms; ms=$(members || true)
		[ "$(wc -w <<<"$ms")" = "$1" ] && { echo "$ms"; return; }
		sleep 0.2
	done
	echo "no chain of $1 members: $(members || true)" >&2; exit 1
}
cut() { run_in "$1" iptables -A INPUT -s "${ip[$2]}" -j DROP; run_in "$1" iptables -A OUTPUT -d "${ip[$2]}" -j DROP; }
heal() { run_in "$1" iptables -F; }

read -ra chain <<<"$(wait_members 3)"
run_in c "$BIN/benchit" -master "$MASTER" -w 1 -c 1 -size 100 -d 60s -timeout 10s -progress 50ms -json \
	>"$WORK/bench.json" 2>"$WORK/progress" &
bench=$!
sleep 2
start_of() { date +%s.%N; }
t0=$(start_of)
echo "cut 1: ${chain[0]} (head) - ${chain[1]}"
c1=$(start_of); cut "${chain[0]}" "${chain[1]}"; sleep "$CUT"; heal "${chain[0]}"
read -ra chain <<<"$(wait_members 3)"
echo "chain after cut 1: ${chain[*]}"
sleep 2
echo "cut 2: ${chain[1]} (middle) - ${chain[2]} (tail)"
c2=$(start_of); cut "${chain[1]}" "${chain[2]}"; sleep "$CUT"; heal "${chain[1]}"
read -ra chain <<<"$(wait_members 3)"
echo "chain after cut 2: ${chain[*]}"
sleep 2
kill -INT "$bench"; wait "$bench" || true
# Nothing acknowledged is lost: the commit point is at least the count of
# acknowledged appends (each append is one entry).
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("acknowledged", s["ops"], "errors", s["errors"])' "$WORK/bench.json"
echo "latest: $(ctl latest 2>&1)"
python3 - "$WORK/progress" "$(python3 -c "print($c1-$t0+2)")" "$(python3 -c "print($c2-$t0+2)")" "$CUT" "$TIMEOUT" <<'PY'
import sys
path, cuts, cut, timeout = sys.argv[1], [float(sys.argv[2]), float(sys.argv[3])], float(sys.argv[4]), float(sys.argv[5].rstrip("s"))
points = []
for part in open(path).read().replace("\n", "\r").split("\r"):
    f = part.split()
    if len(f) >= 3 and f[0].endswith("s") and f[2] == "ops":
        points.append((float(f[0][:-1]), int(f[1])))
worst = 0
for i, at in enumerate(cuts, 1):
    # The longest stretch without a new acknowledged write that overlaps the cut.
    stall, since, last = 0.0, None, None
    for t, ops in points:
        if t < at - 1 or t > at + cut + 1:
            continue
        if last is None or ops != last:
            since, last = t, ops
        else:
            stall = max(stall, t - since)
    worst = max(worst, stall)
    print(f"cut {i}: longest stall {stall:.2f} s ({stall/timeout:.2f} failure timeouts)")
print(f"bound: {2*timeout:.2f} s; {'ok' if worst <= 2*timeout else 'EXCEEDED'}")
sys.exit(0 if worst <= 2*timeout else 1)
PY
