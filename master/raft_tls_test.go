package master

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
	"github.com/chainrep/chain/internal/pki"
	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/transport/inmem"
)

// testCA is a certificate authority made for one test.
type testCA struct{ *pki.CA }

func newTestCA(t *testing.T) testCA {
	t.Helper()
	ca, err := pki.NewCA("chain test CA", time.Hour)
	require.NoError(t, err)
	return testCA{ca}
}

// config returns a mutual-TLS configuration with a certificate of the CA
// for 127.0.0.1, as chaind builds from -tls-*.
func (ca testCA) config(t *testing.T) *tls.Config {
	t.Helper()
	return ca.configFor(t, "chain test master")
}

// configFor is config with a certificate whose common name is cn.
func (ca testCA) configFor(t *testing.T, cn string) *tls.Config {
	t.Helper()
	leaf, err := ca.IssueNamed(cn, nil, []net.IP{net.IPv4(127, 0, 0, 1)}, nil, time.Hour)
	require.NoError(t, err)
	return pki.MutualTLS(ca.CA, leaf)
}

// forEach returns a configuration maker giving every master a
// certificate of ca.
func (ca testCA) forEach(t *testing.T) func(Peer) *tls.Config {
	return func(Peer) *tls.Config { return ca.config(t) }
}

// issue returns a mutual-TLS configuration with a certificate of the CA
// for role, name and addrs, as chainctl certs issues them.
func (ca testCA) issue(t *testing.T, role auth.Role, name string, addrs ...string) *tls.Config {
	t.Helper()
	leaf, err := ca.Issue(role, name, time.Hour, addrs...)
	require.NoError(t, err)
	return pki.MutualTLS(ca.CA, leaf)
}

// startRoleGroup starts three masters over mutual TLS with per-role
// certificates of ca (each naming its raft address) and RequireMasterRole,
// as chaind runs them, logging to the buffer it returns, and waits for a
// leader.
func startRoleGroup(t *testing.T, ca testCA) (map[string]*Master, []Peer, *testutil.SyncBuffer) {
	t.Helper()
	var logs testutil.SyncBuffer
	masters, peers := startTLSGroup(t, func(p Peer) *tls.Config { return ca.issue(t, auth.RoleMaster, p.Addr, p.RaftAddr) },
		slog.New(slog.NewTextHandler(&logs, nil)), RequireMasterRole)
	awaitGroupLeader(t, masters)
	return masters, peers, &logs
}

// startTLSGroup starts three masters whose raft runs over mutual TLS on
// loopback, each with the configuration tlsFor makes for it, and returns
// them with their peers.
func startTLSGroup(t *testing.T, tlsFor func(Peer) *tls.Config, log *slog.Logger, verify func(tls.ConnectionState) error) (map[string]*Master, []Peer) {
	t.Helper()
	return startRaftGroup(t, func(o *Options, p Peer) {
		o.RaftTLS, o.RaftVerifyPeer, o.Logger = tlsFor(p), verify, log
	})
}

// TestRaftOverMutualTLS: masters whose raft runs over mutual TLS elect a
// leader and replicate a change to every master.
func TestRaftOverMutualTLS(t *testing.T) {
	masters, _ := startTLSGroup(t, newTestCA(t).forEach(t), nil, nil)
	want := removeN2(t, masters) // nodes do not run: nothing else changes
	awaitEpochEverywhere(t, masters, want.Epoch)
}

// TestRaftRPCWithoutAMastersCertificateIsRefused: the masters' raft port
// used to be plain TCP even with TLS configured, and one InstallSnapshot
// from a bare raft.NewTCPTransport made the group a one-member group at
// epoch 500. Over mutual TLS, an InstallSnapshot and an AppendEntries
// from a plain TCP client, a TLS client without a certificate, and a TLS
// client certified by another CA are all refused, and no master's state,
// group or term changes.
func TestRaftRPCWithoutAMastersCertificateIsRefused(t *testing.T) {
	ca := newTestCA(t)
	var logs testutil.SyncBuffer
	masters, peers := startTLSGroup(t, ca.forEach(t), slog.New(slog.NewTextHandler(&logs, nil)), nil)
	before := awaitGroupLeader(t, masters).Config()

	attackers := map[string]raft.Transport{}
	plain, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, time.Second, io.Discard)
	require.NoError(t, err)
	attackers["plain TCP"] = plain
	noCert := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}
	attackers["TLS without a certificate"] = raft.NewNetworkTransport(newAttackStream(t, noCert), 1, time.Second, io.Discard)
	attackers["TLS certified by another CA"] = raft.NewNetworkTransport(newAttackStream(t, newTestCA(t).config(t)), 1, time.Second, io.Discard)

	for name, tr := range attackers {
		t.Cleanup(func() { _ = tr.(io.Closer).Close() })
		for _, p := range peers {
			target := raft.ServerAddress(p.RaftAddr)
			snap, args := forgedSnapshot(t, tr.LocalAddr())
			var sresp raft.InstallSnapshotResponse
			err := tr.InstallSnapshot("evil", target, args, &sresp, bytes.NewReader(snap))
			t.Logf("%s %s: %v %v", name, p.Addr, err, sresp.Success)
			require.Error(t, err, "%s: InstallSnapshot to %s accepted (success %v)", name, p.Addr, sresp.Success)
			var aresp raft.AppendEntriesResponse
			err = tr.AppendEntries("evil", target, &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("evil"), Addr: []byte(tr.LocalAddr())}, Term: 600,
			}, &aresp)
			require.Error(t, err, "%s: AppendEntries to %s accepted (success %v)", name, p.Addr, aresp.Success)
		}
	}
	require.Contains(t, logs.String(), "raft connection refused: a master's raft port takes only mutual TLS with a master's certificate")
	for _, m := range masters {
		require.Equal(t, before, m.Config(), "%s", m.Addr())
		ps, err := m.Masters()
		require.NoError(t, err)
		require.Len(t, ps, 3, "%s", m.Addr())
		require.Less(t, m.raft.CurrentTerm(), uint64(500), "%s took a forged term", m.Addr())
	}
	// The group still decides.
	require.Len(t, removeN2(t, masters).Members, 1)
}

// forgedSnapshot is the attack of the issue: a snapshot at index and term
// 500 making the sender the group's only member and the chain one member.
func forgedSnapshot(t *testing.T, from raft.ServerAddress) ([]byte, *raft.InstallSnapshotRequest) {
	t.Helper()
	state := single(chainDurable{Config: chain.Config{Epoch: 500, Members: []chain.Member{{ID: "evil", Addr: "evil"}}}, Target: 1})
	data, err := json.Marshal(snapshotData{Ver: 500, State: state})
	require.NoError(t, err)
	cfg := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: "evil", Address: from}}}
	return data, &raft.InstallSnapshotRequest{
		RPCHeader:       raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("evil"), Addr: []byte(from)},
		SnapshotVersion: raft.SnapshotVersionMax, Term: 500, Leader: []byte(from),
		LastLogIndex: 500, LastLogTerm: 500,
		Configuration: raft.EncodeConfiguration(cfg), ConfigurationIndex: 500, Size: int64(len(data)),
	}
}

// attackStream is a raft stream layer that dials with TLS under cfg.
type attackStream struct {
	net.Listener
	cfg *tls.Config
}

func newAttackStream(t *testing.T, cfg *tls.Config) *attackStream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return &attackStream{Listener: ln, cfg: cfg}
}

func (s *attackStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c := s.cfg.Clone()
	c.ServerName = "127.0.0.1"
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: c}
	return d.Dial("tcp", string(addr))
}

// TestRaftTLSConfigIsChecked: raft TLS needs a certificate and the CAs to
// verify the other masters' with, and is refused with a transport the
// master does not build.
func TestRaftTLSConfigIsChecked(t *testing.T) {
	ca := newTestCA(t)
	net := inmem.New(inmem.Options{})
	defer net.Close()
	cfg := chain.Config{Epoch: 1, Members: []chain.Member{{ID: "n1", Addr: "n1"}}}
	noCAs := ca.config(t)
	noCAs.ClientCAs = nil
	_, inmemRaft := raft.NewInmemTransport("")
	for name, o := range map[string]Options{
		"no certificate":   {RaftAddr: freeAddrs(t, 1)[0], RaftTLS: &tls.Config{ClientCAs: ca.Pool()}},
		"no client CAs":    {RaftAddr: freeAddrs(t, 1)[0], RaftTLS: noCAs},
		"with a transport": {RaftTransport: inmemRaft, RaftTLS: ca.config(t)},
	} {
		o.Transport, o.Addr, o.Config = net, "m1", cfg
		_, err := Start(o)
		require.ErrorIs(t, err, chain.ErrInvalidConfig, name)
	}
}

// TestRaftVerifyPeerNarrowsTheCertificates: with RaftVerifyPeer accepting
// only masters' certificates (here, by common name), the masters still
// elect and replicate, and a peer with another certificate of the same CA
// is refused.
func TestRaftVerifyPeerNarrowsTheCertificates(t *testing.T) {
	ca := newTestCA(t)
	var calls atomic.Int64
	onlyMasters := func(cs tls.ConnectionState) error {
		calls.Add(1)
		if cn := cs.PeerCertificates[0].Subject.CommonName; cn != "chain test master" {
			return fmt.Errorf("certificate of %q, not a master", cn)
		}
		return nil
	}
	masters, peers := startTLSGroup(t, ca.forEach(t), nil, onlyMasters)
	before := awaitGroupLeader(t, masters).Config()
	require.Positive(t, calls.Load())

	tr := raft.NewNetworkTransport(newAttackStream(t, ca.configFor(t, "chain test client")), 1, time.Second, io.Discard)
	t.Cleanup(func() { _ = tr.Close() })
	for _, p := range peers {
		snap, args := forgedSnapshot(t, tr.LocalAddr())
		var resp raft.InstallSnapshotResponse
		err := tr.InstallSnapshot("evil", raft.ServerAddress(p.RaftAddr), args, &resp, bytes.NewReader(snap))
		require.Error(t, err, "InstallSnapshot to %s accepted (success %v)", p.Addr, resp.Success)
	}
	removeN2(t, masters)
	for _, m := range masters {
		require.Less(t, m.raft.CurrentTerm(), uint64(500), "%s took a forged term", m.Addr())
		require.NotEqual(t, uint64(500), m.Config().Epoch)
	}
	require.Equal(t, uint64(1), before.Epoch)
}

// TestRaftTakesOnlyMastersCertificates: with per-role certificates and
// RequireMasterRole (as chaind runs), masters elect and replicate, and an
// InstallSnapshot from a node's or an admin's certificate of the same CA
// is refused.
func TestRaftTakesOnlyMastersCertificates(t *testing.T) {
	ca := newTestCA(t)
	issue := func(role auth.Role, name string, addrs ...string) *tls.Config {
		return ca.issue(t, role, name, addrs...)
	}
	masters, peers, logs := startRoleGroup(t, ca)

	for _, role := range []auth.Role{auth.RoleNode, auth.RoleAdmin} {
		tr := raft.NewNetworkTransport(newAttackStream(t, issue(role, "intruder", "127.0.0.1:1")), 1, time.Second, io.Discard)
		t.Cleanup(func() { _ = tr.Close() })
		for _, p := range peers {
			snap, args := forgedSnapshot(t, tr.LocalAddr())
			var resp raft.InstallSnapshotResponse
			err := tr.InstallSnapshot("evil", raft.ServerAddress(p.RaftAddr), args, &resp, bytes.NewReader(snap))
			require.Error(t, err, "%s: InstallSnapshot to %s accepted (success %v)", role, p.Addr, resp.Success)
		}
	}
	require.Contains(t, logs.String(), "not a master's")
	want := removeN2(t, masters)
	awaitEpochEverywhere(t, masters, want.Epoch)
}

// TestRaftGroupNamedByHostnames: masters whose raft addresses are host
// names (localhost:PORT, as in a compose file's m1:7100) and whose
// certificates name them elect a leader and replicate. Each master
// advertises its raft address as configured, not as its listener
// resolved it, so the address its RPCs claim is the one the
// configuration gives it.
func TestRaftGroupNamedByHostnames(t *testing.T) {
	ca := newTestCA(t)
	var raftAddrs []string
	for _, a := range freeAddrs(t, 3) {
		_, port, err := net.SplitHostPort(a)
		require.NoError(t, err)
		raftAddrs = append(raftAddrs, net.JoinHostPort("localhost", port))
	}
	var logs testutil.SyncBuffer
	masters, _ := startRaftGroupOn(t, raftAddrs, func(o *Options, p Peer) {
		o.RaftTLS, o.RaftVerifyPeer = ca.issue(t, auth.RoleMaster, p.Addr, p.RaftAddr), RequireMasterRole
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	want := removeN2(t, masters)
	awaitEpochEverywhere(t, masters, want.Epoch)
	require.NotContains(t, logs.String(), "raft RPC refused")
}

// TestRaftDialRefusesAnImpostorAtAPeersAddress: a master dialing a peer's
// raft address used to take any certificate of the group's CA naming the
// host for the peer's: once the third master was down and someone else
// answered at its raft address (DNS or IP takeover) with another master's
// certificate, the masters left sent it their votes and AppendEntries and
// took its answers (term 600, votes granted). With per-role certificates
// and RequireMasterRole (as chaind runs), an impostor presenting a node's
// certificate or another master's is refused after the handshake, with a
// log line naming the certificate: it gets no RPC, no master takes its
// term, and the two masters left still elect and replicate.
func TestRaftDialRefusesAnImpostorAtAPeersAddress(t *testing.T) {
	ca := newTestCA(t)
	issue := func(role auth.Role, name string, addrs ...string) *tls.Config {
		return ca.issue(t, role, name, addrs...)
	}
	masters, peers, logs := startRoleGroup(t, ca)
	gone, other := peers[2], peers[1]
	require.NoError(t, masters[gone.Addr].Close())
	delete(masters, gone.Addr)

	for _, c := range []struct {
		name string
		cfg  *tls.Config
		who  string // how the refusal names the certificate
	}{
		{"a node's certificate", issue(auth.RoleNode, "n1", "127.0.0.1:7001"), "chain://node/n1"},
		{"another master's certificate", issue(auth.RoleMaster, other.Addr, other.RaftAddr), "chain://master/" + other.Addr},
	} {
		imp := startRaftImpostor(t, gone.RaftAddr, c.cfg)
		require.Eventually(t, func() bool { return dialRefused(logs.String(), gone.RaftAddr, c.who) }, 20*time.Second, 10*time.Millisecond,
			"%s: no master refused the impostor at %s", c.name, gone.RaftAddr)
		want := removeN2(t, masters)
		awaitEpochEverywhere(t, masters, want.Epoch)
		require.Zero(t, imp.rpcs.Load(), "%s: the impostor was sent raft RPCs", c.name)
		for _, m := range masters {
			require.Less(t, m.raft.CurrentTerm(), uint64(500), "%s: %s took the impostor's term", c.name, m.Addr())
		}
		require.NoError(t, imp.Close())
	}
}

// dialRefused reports whether logs hold a line of a master refusing the
// raft connection it dialed to addr, naming the certificate who.
func dialRefused(logs, addr, who string) bool {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "raft connection to a master refused") && strings.Contains(l, "to="+addr) && strings.Contains(l, who) {
			return true
		}
	}
	return false
}

// raftImpostor answers raft at an address with a certificate: every RPC
// it is sent it counts, and answers with term 600 and a granted vote.
type raftImpostor struct {
	*raft.NetworkTransport
	rpcs atomic.Int64
	done chan struct{}
}

func startRaftImpostor(t *testing.T, addr string, cfg *tls.Config) *raftImpostor {
	t.Helper()
	ln, err := tls.Listen("tcp", addr, cfg)
	require.NoError(t, err)
	imp := &raftImpostor{NetworkTransport: raft.NewNetworkTransport(impostorStream{ln}, 1, time.Second, io.Discard), done: make(chan struct{})}
	go imp.answer()
	t.Cleanup(func() { _ = imp.Close() })
	return imp
}

func (imp *raftImpostor) answer() {
	for {
		select {
		case <-imp.done:
			return
		case rpc := <-imp.Consumer():
			imp.rpcs.Add(1)
			var resp any
			switch rpc.Command.(type) {
			case *raft.AppendEntriesRequest:
				resp = &raft.AppendEntriesResponse{Term: 600}
			case *raft.RequestVoteRequest:
				resp = &raft.RequestVoteResponse{Term: 600, Granted: true}
			case *raft.RequestPreVoteRequest:
				resp = &raft.RequestPreVoteResponse{Term: 600, Granted: true}
			case *raft.InstallSnapshotRequest:
				resp = &raft.InstallSnapshotResponse{Term: 600}
			default:
				resp = &raft.TimeoutNowResponse{}
			}
			rpc.Respond(resp, nil)
		}
	}
}

// Close closes the impostor's transport, and so its listener.
func (imp *raftImpostor) Close() error {
	select {
	case <-imp.done:
		return nil
	default:
		close(imp.done)
	}
	return imp.NetworkTransport.Close()
}

// impostorStream is a raft stream layer that only listens.
type impostorStream struct{ net.Listener }

func (impostorStream) Dial(raft.ServerAddress, time.Duration) (net.Conn, error) {
	return nil, errors.New("the impostor dials nobody")
}
