package chain

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chainrep/chain/internal/metrics"
	"github.com/chainrep/chain/wire"
)

// nodeMetrics is the instrumentation a node keeps beyond its counters:
// refusals by reason and the latency histograms, observed without
// allocating.
type nodeMetrics struct {
	refusals [numRefusalReasons]atomic.Uint64 // by refusalIndex
	// storageAppend times Storage.Append calls (fsync included, for a
	// durable storage).
	storageAppend prometheus.Histogram
	hop           hopClock
}

func newNodeMetrics(labels prometheus.Labels) nodeMetrics {
	return nodeMetrics{
		storageAppend: metrics.NewLatencyHistogram("node", "storage_append_seconds",
			"Time of the node's Storage.Append calls (one per batch of entries; fsync included for a durable storage).", labels),
		hop: hopClock{hist: metrics.NewLatencyHistogram("node", "hop_seconds",
			"Time from sending entries to the successor to its pull acknowledging that it holds them: "+
				"one replication hop, both ways, the successor's storage write included.", labels)},
	}
}

// refusalReasons name the codes a node refuses client requests with, as
// the reason label of chain_node_refusals_total; the last is for any
// other code. The codes of outcomes (a failed handler, an expired result)
// are not refusals.
var refusalReasons = [...]string{
	wire.CodeClosed:          "closed",
	wire.CodeNotHead:         "not_head",
	wire.CodeNotTail:         "not_tail",
	wire.CodeStaleEpoch:      "stale_epoch",
	wire.CodeUnknownCommand:  "unknown_command",
	wire.CodeUnknownQuery:    "unknown_query",
	wire.CodeTooLarge:        "too_large",
	wire.CodeBusy:            "busy",
	wire.CodeInvalidArgument: "invalid_argument",
	wire.CodeOutOfRange:      "out_of_range",
	wire.CodeInternal:        "internal",
	wire.CodeInternal + 1:    "other",
}

const numRefusalReasons = len(refusalReasons)

// refused counts a refusal with code c.
func (m *nodeMetrics) refused(c wire.Code) {
	i := int(c)
	if i >= numRefusalReasons || refusalReasons[i] == "" {
		i = numRefusalReasons - 1
	}
	m.refusals[i].Add(1)
}

// roles are the values of the role label of chain_node_role.
var roles = []Role{wire.RoleHead, wire.RoleMiddle, wire.RoleTail, wire.RoleHeadTail, wire.RoleJoining, wire.RoleNone}

// Collector returns a Prometheus collector of the node's metrics, for the
// embedding program to register on its own registry (the package
// registers nothing anywhere). Every metric carries the constant labels
// chain (the chain id of WithChain, "" for a single chain) and node (the
// node's id), so the collectors of several nodes register side by side;
// registering two collectors of one node on one registry fails as a
// duplicate.
//
// The collector reads the node's state and counters when it is scraped
// (the values of Stats), and exposes two histograms the node observes as
// it runs: chain_node_storage_append_seconds and chain_node_hop_seconds.
// It may be created and registered before Start and after Close.
func (n *Node) Collector() prometheus.Collector {
	b := metrics.NewBuilder("node", n.metricLabels())
	role := b.Desc("role", "1 for the node's current role, 0 for the others.", "role")
	lag := b.Desc("successor_lag_entries", "Entries the node holds that its successor has not acknowledged.", "successor")
	refusals := b.Desc("refusals_total", "Client requests the node refused, by reason (the error code).", "reason")
	fields := metrics.Fields(b, nodeFields)
	return b.Collector(func(ch chan<- prometheus.Metric) {
		s := nodeSnapshot{Stats: n.Stats(), fenced: n.fenced(), started: n.lifecycle.started.Load(), applied: n.counters.applied.Load()}
		fields(ch, s)
		for _, r := range roles {
			metrics.Gauge(ch, role, metrics.Bool(s.Role == r), r.String())
		}
		if succ, ok := n.successor(); ok {
			metrics.Gauge(ch, lag, float64(s.LastOffset-min(s.SuccessorAcked, s.LastOffset)), succ)
		}
		for i, reason := range refusalReasons {
			if reason == "" { // CodeOK refuses nothing
				continue
			}
			metrics.Counter(ch, refusals, n.metrics.refusals[i].Load(), reason)
		}
	}, n.metrics.storageAppend, n.metrics.hop.hist)
}

// nodeSnapshot is what a scrape reads of a node: its Stats and a little
// more.
type nodeSnapshot struct {
	Stats
	fenced, started bool
	applied         uint64 // entries applied
}

// nodeFields are the node's metrics that are a value of its snapshot.
var nodeFields = []metrics.Field[nodeSnapshot]{
	metrics.Level("epoch", "Epoch of the configuration the node runs under.",
		func(s nodeSnapshot) float64 { return float64(s.Epoch) }),
	metrics.Level("serving", "1 while the node serves, 0 once it stopped (closed, or failed: see its log).",
		func(s nodeSnapshot) float64 { return metrics.Bool(s.started && s.Err == nil) }),
	metrics.Level("fenced", "1 while the node has lost contact with its master for too long and refuses requests.",
		func(s nodeSnapshot) float64 { return metrics.Bool(s.fenced) }),
	metrics.Level("first_offset", "Lowest offset the node's log holds.",
		func(s nodeSnapshot) float64 { return float64(s.FirstOffset) }),
	metrics.Level("last_offset", "Highest offset the node's log holds, committed or not.",
		func(s nodeSnapshot) float64 { return float64(s.LastOffset) }),
	metrics.Level("commit_point", "Highest offset the node knows committed; its rate is the chain's throughput in entries/s.",
		func(s nodeSnapshot) float64 { return float64(s.CommitPoint) }),
	metrics.Level("applied_offset", "Offset through which committed entries are applied to the handlers.",
		func(s nodeSnapshot) float64 { return float64(s.Applied) }),
	metrics.Level("uncommitted_entries", "Entries the node holds above its commit point (in flight down the chain).",
		func(s nodeSnapshot) float64 { return float64(s.LastOffset - min(s.CommitPoint, s.LastOffset)) }),
	metrics.Level("inflight_bytes", "Head: bytes of entries ordered but not yet known committed.",
		func(s nodeSnapshot) float64 { return float64(s.InflightBytes) }),
	metrics.Level("pending_writes", "Head: client writes queued, not yet ordered.",
		func(s nodeSnapshot) float64 { return float64(s.PendingWrites) }),
	metrics.Level("sessions", "Client sessions with de-duplication records.",
		func(s nodeSnapshot) float64 { return float64(s.Sessions) }),
	metrics.Count("entries_ordered_total", "Entries the node ordered as head.", func(s nodeSnapshot) uint64 { return s.Ordered }),
	metrics.Count("entries_received_total", "Entries received from the predecessor.", func(s nodeSnapshot) uint64 { return s.Received }),
	metrics.Count("entries_sent_total", "Entries sent to the successor (resends included).", func(s nodeSnapshot) uint64 { return s.Sent }),
	metrics.Count("entries_applied_total", "Entries applied to the handlers.", func(s nodeSnapshot) uint64 { return s.applied }),
	metrics.Count("replies_total", "Replies the node sent to clients as tail.", func(s nodeSnapshot) uint64 { return s.Replies }),
	metrics.Count("queries_total", "Queries and reads the node answered as tail.", func(s nodeSnapshot) uint64 { return s.Queries }),
	metrics.Count("unauthorized_messages_total", "Messages refused because their sender's verified identity may not send them.",
		func(s nodeSnapshot) uint64 { return s.Unauthorized }),
	metrics.Count("over_quota_requests_total", "Client requests refused because their connection had too many pending (queued) requests.",
		func(s nodeSnapshot) uint64 { return s.OverQuota }),
}

// metricLabels are the constant labels of the node's metrics.
func (n *Node) metricLabels() prometheus.Labels {
	return prometheus.Labels{"chain": n.opts.chainID, "node": n.id}
}

// successor returns the id of the node's successor (the joining node's,
// for a tail that feeds one), and false when it has none.
func (n *Node) successor() (string, bool) {
	cfg := n.cfg.Load()
	if cfg.succ == "" {
		return "", false
	}
	for _, m := range cfg.Members {
		if m.Addr == cfg.succ {
			return m.ID, true
		}
	}
	if cfg.Joining != nil && cfg.Joining.Addr == cfg.succ {
		return cfg.Joining.ID, true
	}
	return cfg.succ, true
}
