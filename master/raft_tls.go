package master

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
)

// raftIOTimeout bounds a raft connection's TLS handshake, as raft's
// network transport bounds its own I/O.
const raftIOTimeout = 10 * time.Second

// raftTLS makes the masters' raft connections mutual TLS (see
// Options.RaftTLS): every connection, accepted or dialed, completes a
// handshake in which both sides present a certificate that verifies
// against the configured CAs, and passes verify, before raft reads or
// writes a byte of it. Without it, anyone who reaches a master's raft
// port could send it an AppendEntries or an InstallSnapshot and rewrite
// the group's state.
type raftTLS struct {
	server  *tls.Config        // client certificates required and verified
	client  func() *tls.Config // the config of the next dial; ServerName is set per dial
	verify  func(tls.ConnectionState) error
	log     *slog.Logger
	timeout time.Duration
	// raft is the raft whose configuration accepted RPCs' claims are
	// checked against (see checkRaftClaim); nil until it is made.
	raft atomic.Pointer[raft.Raft]
}

// newRaftTLS checks cfg and derives the server and client configurations
// of the raft stream layer. cfg needs a certificate (Certificates or
// GetCertificate) and ClientCAs, the CAs the other masters' certificates
// must verify against; the server side requires and verifies a client
// certificate whatever cfg's ClientAuth says (and whatever the configs
// cfg's GetConfigForClient returns say). client, if not nil, gives the
// config of each dial instead of cfg. verify, if not nil, is called on
// every handshake's connection state, on both sides.
func newRaftTLS(cfg *tls.Config, client func() *tls.Config, verify func(tls.ConnectionState) error, log *slog.Logger) (*raftTLS, error) {
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		return nil, fmt.Errorf("%w: raft TLS needs this master's certificate", chain.ErrInvalidConfig)
	}
	if cfg.ClientCAs == nil {
		return nil, fmt.Errorf("%w: raft TLS needs ClientCAs to verify the other masters' certificates", chain.ErrInvalidConfig)
	}
	srv := requireClientCert(cfg)
	if client == nil {
		static := cfg.Clone()
		client = func() *tls.Config { return static }
	}
	return &raftTLS{server: srv, client: client, verify: verify, log: log, timeout: raftIOTimeout}, nil
}

// requireClientCert returns a clone of cfg that requires and verifies a
// client certificate, as do the configs its GetConfigForClient returns.
func requireClientCert(cfg *tls.Config) *tls.Config {
	srv := cfg.Clone()
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	if get := cfg.GetConfigForClient; get != nil {
		srv.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if c == nil || err != nil {
				return c, err
			}
			c = c.Clone()
			c.ClientAuth = tls.RequireAndVerifyClientCert
			return c, nil
		}
	}
	return srv
}

// dial opens a TLS connection to the master at addr, checking its
// certificate against the host of addr (unless the configuration names a
// ServerName), and completes the handshake within timeout; then it checks
// that the certificate is the one of the member at addr (checkDialed). A
// failed handshake or check is logged, and raft redials; a failed dial is
// not logged (a master that is down is redialed by raft as long as it
// stays down).
func (t *raftTLS) dial(addr string, timeout time.Duration) (net.Conn, error) {
	cfg := t.client().Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	nc, err := (&net.Dialer{Timeout: timeout}).Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := tls.Client(nc, cfg)
	_ = c.SetDeadline(time.Now().Add(timeout))
	err = c.Handshake()
	_ = c.SetDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		t.log.Warn("raft connection to a master refused: TLS handshake failed (is its certificate of the same CA, naming the host of its raft address?)",
			"to", addr, "err", err)
		return nil, fmt.Errorf("raft TLS handshake with %s: %w", addr, err)
	}
	if err := t.checkDialed(c.ConnectionState(), addr); err != nil {
		_ = c.Close()
		t.log.Warn("raft connection to a master refused: its certificate is not the one of the master at the raft address dialed",
			"to", addr, "err", err)
		return nil, fmt.Errorf("raft connection to %s: %w", addr, err)
	}
	return c, nil
}

// checkDialed checks the verified TLS state cs of a connection this
// master dialed to the raft address addr: verify, if set, then that the
// certificate is the one of the member at addr (see checkDialedPeer),
// before raft writes an RPC to it or reads an answer from it.
func (t *raftTLS) checkDialed(cs tls.ConnectionState, addr string) error {
	if t.verify != nil {
		if err := t.verify(cs); err != nil {
			return err
		}
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	id, err := auth.FromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return err
	}
	var servers []raft.Server
	r := t.raft.Load()
	if r != nil {
		servers = r.GetConfiguration().Configuration().Servers
	}
	return checkDialedPeer(id, addr, servers, r != nil)
}

// accept wraps an accepted connection: its first read or write runs the
// server's handshake, and every RPC raft reads from it must come from the
// member its certificate names (see checkRaftClaim).
func (t *raftTLS) accept(c net.Conn) net.Conn {
	sc := &tlsServerConn{Conn: tls.Server(c, t.server), t: t}
	return newClaimCheckedConn(sc, func(claim raftClaim) error { return t.checkClaim(sc, claim) })
}

// checkClaim checks an RPC's claim against the certificate of the
// connection it came on (handshake done) and the raft configuration, and
// logs a refusal.
func (t *raftTLS) checkClaim(sc *tlsServerConn, claim raftClaim) error {
	cs := sc.Conn.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return errors.New("raft RPC before the TLS handshake")
	}
	id, err := auth.FromCertificate(cs.PeerCertificates[0])
	if err == nil {
		var servers []raft.Server
		r := t.raft.Load()
		if r != nil {
			servers = r.GetConfiguration().Configuration().Servers
		}
		err = checkRaftClaim(id, claim, servers, r != nil)
	}
	if err != nil {
		t.log.Warn("raft RPC refused: a master's certificate speaks only for the member it names",
			"from", sc.Conn.RemoteAddr().String(), "claimed_id", claim.ID, "claimed_addrs", claim.Addrs, "err", err)
		return fmt.Errorf("raft RPC: %w", err)
	}
	return nil
}

// tlsServerConn is an accepted raft connection whose handshake runs, once
// and within the handshake timeout, before its first read or write. A
// failed handshake closes it and is logged; every read and write then
// returns the handshake's error, so raft drops the connection without
// decoding a byte of it.
type tlsServerConn struct {
	*tls.Conn
	t    *raftTLS
	once sync.Once
	err  error
}

func (c *tlsServerConn) handshake() error {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.t.timeout))
		err := c.Conn.Handshake()
		if err == nil && c.t.verify != nil {
			err = c.t.verify(c.Conn.ConnectionState())
		}
		_ = c.Conn.SetDeadline(time.Time{})
		if err != nil {
			c.t.log.Warn("raft connection refused: a master's raft port takes only mutual TLS with a master's certificate",
				"from", c.Conn.RemoteAddr().String(), "err", err)
			c.err = fmt.Errorf("raft TLS handshake: %w", err)
			_ = c.Conn.Close()
		}
	})
	return c.err
}

// Read implements net.Conn.
func (c *tlsServerConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// Write implements net.Conn.
func (c *tlsServerConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// RequireMasterRole is an Options.RaftVerifyPeer that accepts only a peer
// whose certificate names the master role (auth.RoleMaster, a
// chain://master/NAME URI SAN): with per-role certificates, a node's,
// client's or admin's certificate of the same CA cannot speak raft to the
// masters. chaind uses it under -tls-*.
func RequireMasterRole(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	id, err := auth.FromCertificate(cs.PeerCertificates[0])
	if err != nil {
		return err
	}
	if id.Role != auth.RoleMaster {
		return fmt.Errorf("certificate of %s, not a master's", id)
	}
	return nil
}

// errNoRaftTLS is returned when Options.RaftTLS is set with a transport
// the master does not build (Options.RaftTransport).
var errNoRaftTLS = errors.New("RaftTLS applies only to the TCP transport the master builds for RaftAddr: give a RaftTransport that does TLS itself instead")
