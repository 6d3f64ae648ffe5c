package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chainrep/chain/internal/masterclient"
)

// reachGrace is how long a call may go unanswered before chainctl checks
// whether the addresses it talks to accept connections at all; dialTimeout
// bounds that check's dial of each.
const (
	reachGrace  = time.Second
	dialTimeout = time.Second
)

// contacts names who a command talks to first, and their addresses: the
// masters when there are, else the chain's members (status asks each
// node on its own, and reports each one's cause).
func (s *console) contacts(command string) (string, []string) {
	switch {
	case len(s.masters) > 0:
		return "the master", s.masters
	case command == "status":
		return "", nil
	}
	addrs := make([]string, len(s.cfg.Members))
	for i, m := range s.cfg.Members {
		addrs[i] = m.Addr
	}
	return "", addrs
}

// reaching runs fn, which talks to who at addrs. The transport retries
// silently and a call only times out, so reaching finds the real cause:
// when fn has not returned after reachGrace, or failed for want of an
// answer, it dials every address, and if none accepts a connection it
// cancels fn and returns why (connection refused, no such host).
func (s *console) reaching(ctx context.Context, who string, addrs []string, fn func(context.Context) error) error {
	if len(addrs) == 0 {
		return fn(ctx)
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The check stops when fn returns: a dial that hangs does not hold up
	// fn's result.
	pctx, stopCheck := context.WithCancel(fctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTimer(reachGrace)
		defer t.Stop()
		select {
		case <-pctx.Done():
			return
		case <-t.C:
		}
		if err := unreachable(pctx, who, addrs); err != nil && pctx.Err() == nil {
			cancel(err)
		}
	})
	err := fn(fctx)
	stopCheck()
	wg.Wait()
	if err == nil {
		return nil
	}
	var ue *unreachableError
	if cause := context.Cause(fctx); errors.As(cause, &ue) {
		return cause
	}
	if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, masterclient.ErrNoMaster) {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), dialTimeout)
			defer dcancel()
			if ue := refusing(dctx, who, addrs); ue != nil {
				if len(ue.addrs) == len(addrs) {
					return ue
				}
				return fmt.Errorf("%w; %w", err, ue)
			}
		}
	}
	return err
}

// unreachableError says why none of a list of addresses accepts
// connections.
type unreachableError struct {
	who    string
	addrs  []string
	causes []string
}

func (e *unreachableError) Error() string {
	same := true
	for _, c := range e.causes {
		same = same && c == e.causes[0]
	}
	where := e.addrs[0]
	if len(e.addrs) > 1 {
		where = "any of " + strings.Join(e.addrs, ", ")
	}
	prefix := "cannot reach " + where
	if e.who != "" {
		prefix = "cannot reach " + e.who + " at " + where
	}
	if same {
		return prefix + ": " + e.causes[0]
	}
	parts := make([]string, len(e.addrs))
	for i, a := range e.addrs {
		parts[i] = a + ": " + e.causes[i]
	}
	return prefix + " (" + strings.Join(parts, "; ") + ")"
}

// unreachable dials every address at once and returns an
// *unreachableError when none accepts a connection and each refuses
// clearly (nothing listens, or the host does not resolve); nil when one
// accepts, or one does not answer in time (it may be slow, not down).
func unreachable(ctx context.Context, who string, addrs []string) error {
	if ue := refusing(ctx, who, addrs); ue != nil && len(ue.addrs) == len(addrs) {
		return ue
	}
	return nil
}

// refusing dials every address at once and returns those that refuse
// clearly, with their causes, or nil when none does.
func refusing(ctx context.Context, who string, addrs []string) *unreachableError {
	causes := make([]string, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() { causes[i] = dialCause(ctx, addr) })
	}
	wg.Wait()
	var ue *unreachableError
	for i, c := range causes {
		if c != "" {
			if ue == nil {
				ue = &unreachableError{who: who}
			}
			ue.addrs, ue.causes = append(ue.addrs, addrs[i]), append(ue.causes, c)
		}
	}
	return ue
}

// dialCause dials addr and returns why it cannot be reached, or "" when
// it accepts the connection or the dial gives no clear answer.
func dialCause(ctx context.Context, addr string) string {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = c.Close()
		return ""
	}
	return refusal(err)
}

// refusal says what a failed dial's error means, or "" when it is not a
// clear refusal (a timeout, a cancelled context).
func refusal(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (is chaind running there?)"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("no such host %q", dnsErr.Name)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	}
	return ""
}

// unreachableCause is the cause an error of reaching one address gives:
// the refusal, or the error itself.
func unreachableCause(err error) string {
	var ue *unreachableError
	if errors.As(err, &ue) && len(ue.causes) == 1 {
		return ue.causes[0]
	}
	return err.Error()
}
