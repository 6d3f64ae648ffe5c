package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chainrep/chain/internal/launch"
	"github.com/chainrep/chain/server"
	"github.com/chainrep/chain/storage/pebble"
	"github.com/chainrep/chain/transport/mux"
)

// metricsServer serves, for -metrics, the collectors of what chaind runs
// on /metrics, from a registry of its own, and net/http/pprof's profiles
// on /debug/pprof/, on a mux of its own. A nil *metricsServer (no
// -metrics) registers nothing.
type metricsServer struct {
	reg    *prometheus.Registry
	srv    *http.Server
	served chan struct{}
	log    *slog.Logger
}

// startMetrics listens on addr and serves; it returns nil without an
// address. It prints where it listens to out.
func startMetrics(addr string, logger *slog.Logger, out io.Writer) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}
	ms := &metricsServer{reg: prometheus.NewRegistry(), served: make(chan struct{}), log: logger}
	ms.add(nil, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := http.NewServeMux()
	h.Handle("/metrics", promhttp.HandlerFor(ms.reg, promhttp.HandlerOpts{Registry: ms.reg}))
	h.HandleFunc("/debug/pprof/", pprof.Index)
	h.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	h.HandleFunc("/debug/pprof/profile", pprof.Profile)
	h.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	h.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ms.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(ms.served)
		if err := ms.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	fmt.Fprintf(out, "metrics on http://%s/metrics, profiles on http://%s/debug/pprof/\n", ln.Addr(), ln.Addr())
	return ms, nil
}

// Close stops serving.
func (ms *metricsServer) Close() {
	if ms == nil {
		return
	}
	_ = ms.srv.Close()
	<-ms.served
}

// add registers collectors, with the labels added to their metrics. A
// failure is a bug (two collectors of the same metrics): it is logged.
func (ms *metricsServer) add(labels prometheus.Labels, cs ...prometheus.Collector) {
	if ms == nil {
		return
	}
	reg := prometheus.WrapRegistererWith(labels, ms.reg)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			ms.log.Error("register metrics", "err", err)
		}
	}
}

// addNodes registers the collectors of nodes and of their Pebble
// storages, which get the node label.
func (ms *metricsServer) addNodes(nodes ...*launch.Node) {
	for _, n := range nodes {
		ms.add(nil, n.Collector())
		if st, ok := n.Storage.(*pebble.Storage); ok {
			ms.add(prometheus.Labels{"node": n.ID()}, st.Collector())
		}
	}
}

// addServers registers, for each server, the collectors of the replicas
// it runs now (read at every scrape) and of its mux transport.
func (ms *metricsServer) addServers(servers ...*server.Server) {
	for _, s := range servers {
		ms.add(nil, replicas{s})
		if tr, ok := s.Transport().(*mux.Transport); ok {
			ms.add(prometheus.Labels{"server": s.ID()}, tr.Collector())
		}
	}
}

// replicas collects the node metrics of a server's replicas. It is an
// unchecked collector (it describes nothing): replicas come and go.
type replicas struct{ s *server.Server }

func (replicas) Describe(chan<- *prometheus.Desc) {}

func (r replicas) Collect(ch chan<- prometheus.Metric) {
	for _, rep := range r.s.Replicas() {
		if n := r.s.Node(rep.Chain); n != nil {
			n.Collector().Collect(ch)
		}
	}
}
