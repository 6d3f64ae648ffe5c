package server_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/master"
	"github.com/chainrep/chain/server"
	"github.com/chainrep/chain/transport/inmem"
	"github.com/chainrep/chain/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartRefusesBadOptions(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	for name, o := range map[string]server.Options{
		"no id":        {Addr: "a", Transport: net, Masters: []string{"m"}},
		"no address":   {ID: "s1", Transport: net, Masters: []string{"m"}},
		"no transport": {ID: "s1", Addr: "a", Masters: []string{"m"}},
		"no masters":   {ID: "s1", Addr: "a", Transport: net},
		"slash in id":  {ID: "s/1", Addr: "a", Transport: net, Masters: []string{"m"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := server.Start(o)
			require.ErrorIs(t, err, chain.ErrInvalidConfig)
		})
	}
}

// TestServersRunTheirPlacedReplicas starts a master of two chains of two
// replicas and three servers: every replica placed runs on its server,
// at its replica address, and a closed server stops its replicas.
func TestServersRunTheirPlacedReplicas(t *testing.T) {
	net := inmem.New(inmem.Options{})
	defer net.Close()
	m, err := master.Start(master.Options{Transport: net, Addr: "master", Chains: 2, Replicas: 2, FailureTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	defer func() { require.NoError(t, m.Close()) }()
	var mu sync.Mutex
	setups := map[string]bool{} // replica ids Setup was called for
	servers := map[string]*server.Server{}
	for _, id := range []string{"s1", "s2", "s3"} {
		s, err := server.Start(server.Options{ID: id, Addr: "addr-" + id, Transport: net, Masters: []string{"master"},
			Setup: func(r wire.Replica, n *chain.Node) error {
				if r.Chain == "" || n.ID() != r.Member.ID {
					return errors.New("setup of the wrong node")
				}
				mu.Lock()
				setups[r.Member.ID] = true
				mu.Unlock()
				return nil
			}})
		require.NoError(t, err)
		servers[id] = s
	}
	defer func() {
		for _, s := range servers {
			require.NoError(t, s.Close())
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		layout := m.Cluster()
		running := 0
		for _, ch := range layout.Chains {
			for _, mem := range ch.Config.Members {
				for _, s := range servers {
					if n := s.Node(ch.ID); n != nil && n.ID() == mem.ID && n.Config().Epoch == ch.Config.Epoch {
						require.Equal(t, wire.ReplicaAddr("addr-"+s.ID(), ch.ID), mem.Addr)
						running++
					}
				}
			}
		}
		if len(layout.Chains) == 2 && running == 4 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("replicas not running: %+v", layout)
		case <-time.After(5 * time.Millisecond):
		}
	}
	total := 0
	for _, s := range servers {
		total += len(s.Replicas())
	}
	require.Equal(t, 4, total)
	mu.Lock()
	require.Len(t, setups, 4, "Setup ran for every replica")
	mu.Unlock()
	for id, s := range servers {
		if len(s.Replicas()) > 0 {
			require.NoError(t, s.Close())
			require.Empty(t, s.Replicas())
			require.Nil(t, s.Node("c0"))
			delete(servers, id)
			break
		}
	}
}
