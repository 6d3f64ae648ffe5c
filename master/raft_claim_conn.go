package master

import (
	"bufio"
	"fmt"
	"net"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

// The RPC types of raft's network transport (net_transport.go): each RPC
// on a connection is one such byte, then the msgpack request, then, for
// an InstallSnapshot, the request's Size bytes of snapshot.
const (
	rpcAppendEntries uint8 = iota
	rpcRequestVote
	rpcInstallSnapshot
	rpcTimeoutNow
	rpcRequestPreVote
)

// newRaftRequest returns a request to decode an RPC of type typ into.
func newRaftRequest(typ uint8) (any, error) {
	switch typ {
	case rpcAppendEntries:
		return &raft.AppendEntriesRequest{}, nil
	case rpcRequestVote:
		return &raft.RequestVoteRequest{}, nil
	case rpcInstallSnapshot:
		return &raft.InstallSnapshotRequest{}, nil
	case rpcTimeoutNow:
		return &raft.TimeoutNowRequest{}, nil
	case rpcRequestPreVote:
		return &raft.RequestPreVoteRequest{}, nil
	}
	return nil, fmt.Errorf("unknown raft RPC type %d", typ)
}

// claimCheckedConn is an accepted raft connection whose RPCs are decoded
// once before raft reads them, to check who they claim to come from
// (check); raft then reads the very bytes that were decoded. An RPC check
// refuses closes the connection before raft reads a byte of it, and every
// later read returns the refusal.
type claimCheckedConn struct {
	net.Conn
	br    *bufio.Reader
	rec   recorder
	dec   *codec.Decoder
	check func(raftClaim) error
	// last is the last claim check accepted: the same claim again is not
	// checked again (a connection carries one peer's RPCs).
	last string

	out []byte // bytes decoded and checked, not yet read by raft
	raw int64  // snapshot bytes to pass on unparsed
	err error
}

func newClaimCheckedConn(c net.Conn, check func(raftClaim) error) *claimCheckedConn {
	cc := &claimCheckedConn{Conn: c, br: bufio.NewReaderSize(c, 64<<10), check: check}
	cc.rec.br = cc.br
	cc.dec = codec.NewDecoder(&cc.rec, &codec.MsgpackHandle{})
	return cc
}

// Read implements net.Conn.
func (c *claimCheckedConn) Read(p []byte) (int, error) {
	switch {
	case len(c.out) > 0:
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	case c.raw > 0:
		n, err := c.br.Read(p[:min(int64(len(p)), c.raw)])
		c.raw -= int64(n)
		return n, err
	case c.err != nil:
		return 0, c.err
	}
	if err := c.next(); err != nil {
		c.err = err
		return 0, err
	}
	return c.Read(p)
}

// next decodes the next RPC and checks its claim.
func (c *claimCheckedConn) next() error {
	typ, err := c.br.ReadByte()
	if err != nil {
		return err
	}
	req, err := newRaftRequest(typ)
	if err != nil {
		return err
	}
	c.rec.buf = append(c.rec.buf[:0], typ)
	if err := c.dec.Decode(req); err != nil {
		return fmt.Errorf("decode raft RPC: %w", err)
	}
	claim, err := claimOf(req)
	if err != nil {
		return err
	}
	if key := fmt.Sprint(claim); key != c.last {
		if err := c.check(claim); err != nil {
			_ = c.Conn.Close()
			return err
		}
		c.last = key
	}
	c.out = c.rec.buf
	c.rec.buf = nil
	if s, ok := req.(*raft.InstallSnapshotRequest); ok && s.Size > 0 {
		c.raw = s.Size
	}
	return nil
}

// recorder reads from br for the decoder and keeps what it read. It is an
// io.ByteScanner, as raft's own decoder's reader is, so that the decoder
// reads exactly the bytes of one request.
type recorder struct {
	br  *bufio.Reader
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.br.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

func (r *recorder) ReadByte() (byte, error) {
	b, err := r.br.ReadByte()
	if err == nil {
		r.buf = append(r.buf, b)
	}
	return b, err
}

func (r *recorder) UnreadByte() error {
	if err := r.br.UnreadByte(); err != nil {
		return err
	}
	r.buf = r.buf[:len(r.buf)-1]
	return nil
}
