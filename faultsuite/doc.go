// Package faultsuite tests chaind processes in containers, each with its
// own address on a private Docker network, under real faults: network
// partitions (docker network disconnect), the link between the head and
// its successor alone cut (iptables DROP rules in Docker's DOCKER-USER
// chain), freezes (docker pause), kill -9, restarts, a wiped volume, the
// leader master killed during a reconfiguration, a node added during
// writes and rolling restarts.
//
// Each schedule, drawn from a printed seed, starts three masters on raft
// and a chain of three nodes (and a spare) on Pebble, with mutual TLS, and
// runs a client container (the program in ./load) that drives a key-value
// and a raw-append workload, records both histories and checks them with
// porcupine (chaintest's models). After the faults the suite checks that
// the cluster serves again within a bound, stops the containers and reads
// every member's Pebble log from its volume: the members' logs are
// identical, and every acknowledged write is in them exactly once.
//
// The schedules need Docker and run only with the build tag docker:
//
//	go test -tags docker -run TestDockerFaults ./faultsuite      # 6 schedules from seed 1 (CI: CHAIN_SEED_BASE=226)
//	CHAIN_SCHEDULES=50 go test -tags docker -timeout 2h -run TestDockerFaults ./faultsuite
//	CHAIN_SEED=1234 go test -tags docker -run TestDockerFaults ./faultsuite -v
//
// Without the tag only the pure pieces (drawing schedules, checking logs,
// the cut's rules) are tested. Containers, networks and directories are
// named chainfs-*, and a cut's iptables rules carry the comment
// chainfs-SEED; all are removed after each schedule, failed or not. The
// cut needs root, iptables and br_netfilter (the suite loads it and sets
// net.bridge.bridge-nf-call-iptables for the cut when it is off, and puts
// it back); without them the step is skipped and says so (SKIPPED).
package faultsuite
