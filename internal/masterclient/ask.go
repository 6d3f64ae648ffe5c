// Package masterclient is how the programs talk to the configuration
// masters over a chain.Transport: FetchConfig, FetchCluster and Admin take
// the list of a group's addresses, try each in turn and follow a
// follower's redirect to the leader; FetchUpdate and FetchClusterUpdate
// ask one master (which master leads, for instance). Every call gives up
// with an error wrapping ErrNoMaster when no master answers before its
// context ends.
package masterclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/wire"
)

// askInterval is how long FetchConfig and Admin wait for a master's
// answer before they ask again (the next master of the list): a transport
// may drop a message, for instance while it connects, and a master may
// be down.
const askInterval = 500 * time.Millisecond

// maxRedirects bounds how many times Admin follows a follower's redirect
// to the leader in a row.
const maxRedirects = 3

// ErrNoMaster is returned when no master answers in time.
var ErrNoMaster = errors.New("no answer from the master")

// FetchUpdate asks the master at addr for its ConfigUpdate (its latest
// applied configuration, and who leads its group), until it answers or
// ctx ends.
func FetchUpdate(ctx context.Context, tr chain.Transport, addr string) (*wire.ConfigUpdate, error) {
	u, _, err := fetch(ctx, tr, []string{addr}, false)
	if err != nil {
		return nil, fmt.Errorf("configuration from the master at %s: %w", addr, err)
	}
	return u, nil
}

// FetchCluster asks the masters at addrs, in turn, for the layout of
// their cluster (ClusterRequest) until one answers or ctx ends; a
// follower that names the leader sends it on to the leader (it knows
// which servers are alive). It returns the answer and who gave it.
//
// A master of one chain answers with that chain alone, its id "": see
// IsPartitioned.
func FetchCluster(ctx context.Context, tr chain.Transport, addrs ...string) (*wire.ClusterUpdate, string, error) {
	return fetchCluster(ctx, tr, addrs, true)
}

// FetchClusterUpdate asks the master at addr alone for its
// ClusterUpdate (its layout, its group and who leads it), until it
// answers or ctx ends.
func FetchClusterUpdate(ctx context.Context, tr chain.Transport, addr string) (*wire.ClusterUpdate, error) {
	u, _, err := fetchCluster(ctx, tr, []string{addr}, false)
	return u, err
}

// fetchCluster asks for a ClusterUpdate (see fetchAnswer).
func fetchCluster(ctx context.Context, tr chain.Transport, addrs []string, toLeader bool) (*wire.ClusterUpdate, string, error) {
	u, from, err := fetchAnswer(ctx, tr, addrs, toLeader,
		func(id uint64) chain.Message { return &wire.ClusterRequest{ID: id} },
		func(c *wire.ClusterUpdate) answer { return answer{c.ID, c.Follower, c.Leader} })
	if err != nil {
		return nil, "", fmt.Errorf("cluster layout from the master at %s: %w", strings.Join(addrs, ","), err)
	}
	return u, from, nil
}

// IsPartitioned reports whether a master's layout is that of a
// partitioned cluster: more or fewer chains than one (none while its
// servers have not yet reported), or one chain with an id.
func IsPartitioned(c wire.Cluster) bool {
	return len(c.Chains) != 1 || c.Chains[0].ID != ""
}

// FetchConfig asks the masters at addrs, in turn, for the chain's current
// configuration, over tr, until one answers or ctx ends. A master that is
// not its group's leader and names the leader sends it on to the leader
// (its own configuration may lag behind the leader's); the answer of a
// follower that names none is taken.
func FetchConfig(ctx context.Context, tr chain.Transport, addrs ...string) (chain.Config, error) {
	u, _, err := fetch(ctx, tr, addrs, true)
	if err != nil {
		return chain.Config{}, fmt.Errorf("configuration from the master at %s: %w", strings.Join(addrs, ","), err)
	}
	return u.Config, nil
}

// fetch asks for a ConfigUpdate (see fetchAnswer).
func fetch(ctx context.Context, tr chain.Transport, addrs []string, toLeader bool) (*wire.ConfigUpdate, string, error) {
	return fetchAnswer(ctx, tr, addrs, toLeader,
		func(id uint64) chain.Message { return &wire.ConfigRequest{ID: id} },
		func(c *wire.ConfigUpdate) answer { return answer{c.ID, c.Follower, c.Leader} })
}

// answer is what fetchAnswer reads of a master's answer.
type answer struct {
	id       uint64
	follower bool
	leader   string
}

// fetchAnswer sends the request request builds to the masters at addrs
// and returns the first answer of type T to it, and who sent it; with
// toLeader, a follower's answer that names the leader is a redirect (up
// to maxRedirects of them).
func fetchAnswer[T chain.Message](ctx context.Context, tr chain.Transport, addrs []string, toLeader bool,
	request func(id uint64) chain.Message, read func(T) answer) (T, string, error) {
	id := rand.Uint64()
	var u T
	redirects := 0
	from, err := ask(ctx, tr, addrs, func() chain.Message { return request(id) }, true,
		func(from string, msg chain.Message) (bool, string) {
			c, ok := msg.(T)
			if !ok {
				return false, ""
			}
			a := read(c)
			if a.id != id {
				return false, ""
			}
			if toLeader && a.follower && a.leader != "" && a.leader != from && redirects < maxRedirects {
				redirects++
				return false, a.leader
			}
			u = c
			return true, ""
		})
	return u, from, err
}

// Admin sends req to the masters at addrs over tr and returns the answer,
// or an error if none came before ctx ended. It starts with the first
// address; a master that is not its group's leader redirects it to the
// leader (at most a few hops in a row), and a master that does not answer
// in time, or knows no leader, makes it try the next address. The
// answer's Err, if any, is returned as the error (a *chain.RemoteError),
// with the answer.
//
// An add is sent again while unanswered (adding twice is adding once). A
// removal is sent again only to another master: one whose answer was
// lost may have applied it, and the removal then fails with "unknown
// node".
func Admin(ctx context.Context, tr chain.Transport, addrs []string, req *wire.AdminRequest) (*wire.AdminResponse, error) {
	resp, _, err := AdminFrom(ctx, tr, addrs, req)
	return resp, err
}

// AdminFrom is Admin that also returns the address of the master that
// answered (with a group, its leader).
func AdminFrom(ctx context.Context, tr chain.Transport, addrs []string, req *wire.AdminRequest) (*wire.AdminResponse, string, error) {
	r := *req
	r.ID = rand.Uint64()
	var resp *wire.AdminResponse
	from, err := ask(ctx, tr, addrs, func() chain.Message { c := r; return &c }, r.Op == wire.AdminAddNode,
		func(_ string, msg chain.Message) (bool, string) {
			a, ok := msg.(*wire.AdminResponse)
			if !ok || a.ID != r.ID {
				return false, ""
			}
			if e := a.Err; e != nil && e.Code == wire.CodeBusy {
				// Not applied (not the leader, or busy with another admin
				// request): go to the leader, or ask again shortly.
				if e.Redirect == "" {
					return false, "-"
				}
				return false, e.Redirect
			}
			resp = a
			return true, ""
		})
	if err != nil {
		return nil, "", fmt.Errorf("admin request to the master at %s: %w", strings.Join(addrs, ","), err)
	}
	if resp.Err != nil {
		return resp, from, resp.Err
	}
	return resp, from, nil
}

// ask sends newReq() to the masters at addrs from a fresh client endpoint
// until match accepts an answer; it returns who answered. It waits
// askInterval for an answer, then sends again: to the same master if
// repeat and there is one address, else to the next. match may name
// another master to ask at once (a redirect), or "-" to move on to the
// next address after askInterval.
func ask(ctx context.Context, tr chain.Transport, addrs []string, newReq func() chain.Message, repeat bool,
	match func(from string, msg chain.Message) (bool, string)) (string, error) {
	addrs = slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == "" })
	if len(addrs) == 0 {
		return "", fmt.Errorf("%w: no master address", chain.ErrInvalidArgument)
	}
	ep, err := tr.Listen("")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	defer ep.Close()
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := 0           // the next address of the list to ask
	to := ""            // the master asked last
	asked := []string{} // masters asked, who may answer
	hops := 0
	refused := false // the last master asked did not apply the request
	var lastErr error
	send := func(addr string) {
		to, refused = addr, false
		if !slices.Contains(asked, addr) {
			asked = append(asked, addr)
		}
		if err := ep.Send(ctx, addr, newReq()); err != nil && ctx.Err() == nil {
			lastErr = err
		}
		timer.Reset(askInterval)
	}
	for {
		select {
		case <-timer.C:
			if to != "" && !repeat && !refused && len(addrs) == 1 {
				continue // a single master, asked once: wait for it
			}
			hops = 0
			send(addrs[next%len(addrs)])
			next++
		case in, ok := <-ep.Receive():
			if !ok {
				return "", chain.ErrClosed
			}
			if !slices.Contains(asked, in.From) || auth.Authorize(in.Msg, in.Peer) != nil {
				continue // not a master asked, or (under TLS) not a master's certificate
			}
			done, redirect := match(in.From, in.Msg)
			switch {
			case done:
				return in.From, nil
			case redirect == "-" || (redirect != "" && hops >= maxRedirects):
				refused = true // not applied: the timer asks again
			case redirect != "":
				hops++
				send(redirect)
			}
		case <-ctx.Done():
			if lastErr != nil {
				return "", fmt.Errorf("%w: %w (last send error: %w)", ErrNoMaster, ctx.Err(), lastErr)
			}
			return "", fmt.Errorf("%w: %w", ErrNoMaster, ctx.Err())
		}
	}
}
