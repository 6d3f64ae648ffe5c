// Command failover measures how long a default chain.Client waits for its
// first acknowledged write after a node of its chain is killed: it starts
// a master and a 3-node chain as chaind processes on loopback TCP, keeps
// writers appending, kills the head, the middle or the tail with SIGKILL,
// and reports the time from the kill to the first acknowledgement of a
// write begun after it. Every run starts fresh processes; the summary gives
// the median and range per role, against the master's failure timeout.
//
//	go build -o /tmp/chaind ./cmd/chaind
//	go run ./bench/failover -chaind /tmp/chaind -runs 5
//
// To see where the time goes, FAILOVER_VERBOSE=1 prints when the client
// took the new configuration, FAILOVER_TRACE=1 every message the client
// sends and receives after the kill, and FAILOVER_MASTER_LOG=info the
// master's log (its configuration changes).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/transport/tcp"
)

func main() {
	chaind := flag.String("chaind", "", "path of a chaind binary (required)")
	runs := flag.Int("runs", 5, "runs per role")
	timeout := flag.Duration("failure-timeout", time.Second, "the master's failure timeout")
	writers := flag.Int("w", 4, "concurrent writers")
	flag.Parse()
	if *chaind == "" {
		fmt.Fprintln(os.Stderr, "failover: -chaind is required")
		os.Exit(2)
	}
	fmt.Printf("failure timeout %v, %d writers, default client options\n", *timeout, *writers)
	for victim, role := range []string{"head", "middle", "tail"} {
		var took []time.Duration
		for i := range *runs {
			d, err := measure(*chaind, victim, *timeout, *writers)
			if err != nil {
				fmt.Fprintf(os.Stderr, "failover: %s run %d: %v\n", role, i+1, err)
				os.Exit(1)
			}
			took = append(took, d)
		}
		slices.Sort(took)
		med := took[len(took)/2]
		fmt.Printf("%-6s median %v (%.2fx the timeout), min %v, max %v, runs %v\n", role, med.Round(time.Millisecond),
			float64(med)/float64(*timeout), took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), rounded(took))
	}
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// measure runs one failover: a fresh master and chain, writers, the
// victim (0 head, 1 middle, 2 tail) killed, and the time from the kill to
// the first acknowledgement of a write begun after it.
func measure(chaind string, victim int, timeout time.Duration, writers int) (time.Duration, error) {
	addrs, err := freeAddrs(4)
	if err != nil {
		return 0, err
	}
	var members []string
	for i, a := range addrs[1:] {
		members = append(members, fmt.Sprintf("n%d=%s", i+1, a))
	}
	m := strings.Join(members, ",")
	procs := []*exec.Cmd{exec.Command(chaind, "-master", "-listen", addrs[0], "-members", m,
		"-failure-timeout", timeout.String(), "-log-level", masterLogLevel())}
	for i := range 3 {
		procs = append(procs, exec.Command(chaind, "-id", fmt.Sprintf("n%d", i+1), "-members", m, "-master", addrs[0], "-log-level", "error"))
	}
	defer func() {
		for _, p := range procs {
			if p.Process != nil {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	}()
	for _, p := range procs {
		p.Stderr = os.Stderr
		if err := p.Start(); err != nil {
			return 0, fmt.Errorf("start chaind: %w", err)
		}
	}

	tr := tcp.New(tcp.Options{})
	defer tr.Close()
	traced := &tracing{Transport: tr}
	var ctr chain.Transport = tr
	if os.Getenv("FAILOVER_TRACE") != "" {
		ctr = traced
	}
	cl, err := chain.NewClient(chain.WithTransport(ctr), chain.WithMaster(addrs[0]))
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := cl.Append(wctx, []byte("ready"))
		wcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("chain never served: %w", err)
		}
	}

	var mu sync.Mutex
	var killedAt time.Time
	first := time.Duration(0)
	got := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				began := time.Now()
				if _, err := cl.Append(ctx, []byte("x")); err != nil {
					continue
				}
				acked := time.Now()
				mu.Lock()
				if !killedAt.IsZero() && began.After(killedAt) && first == 0 {
					first = acked.Sub(killedAt)
					close(got)
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	epoch := cl.Config().Epoch
	wg.Go(func() {
		for ctx.Err() == nil && cl.Config().Epoch == epoch {
			time.Sleep(time.Millisecond)
		}
		if os.Getenv("FAILOVER_VERBOSE") != "" {
			fmt.Fprintf(os.Stderr, "%s new configuration at the client %v after the kill\n", time.Now().Format("15:04:05.000"), time.Since(killedAt).Round(time.Millisecond))
		}
	})
	mu.Lock()
	killedAt = time.Now()
	traced.since.Store(&killedAt)
	err = procs[1+victim].Process.Signal(syscall.SIGKILL)
	if os.Getenv("FAILOVER_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "%s kill\n", killedAt.Format("15:04:05.000"))
	}
	mu.Unlock()
	if err != nil {
		cancel()
		wg.Wait()
		return 0, fmt.Errorf("kill: %w", err)
	}
	select {
	case <-got:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	if first == 0 {
		return 0, errors.New("no write acknowledged after the kill")
	}
	return first, nil
}

// freeAddrs returns n loopback addresses with free ports.
func freeAddrs(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// masterLogLevel is the master's log level: $FAILOVER_MASTER_LOG, or
// error.
func masterLogLevel() string {
	if l := os.Getenv("FAILOVER_MASTER_LOG"); l != "" {
		return l
	}
	return "error"
}
