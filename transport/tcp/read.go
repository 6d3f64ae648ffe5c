package tcp

import (
	"errors"
	"fmt"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/auth"
)

// readLoop reads frames from fr, which reads c, and delivers the messages
// to the endpoint's inbox as coming from from, with the peer's verified
// identity peerID (nil without TLS), until the connection fails,
// a frame is malformed, or the connection or endpoint closes. When the
// inbox is full it waits, and so stops reading: TCP flow control then
// pushes back on the sender. It returns the reason it stopped.
func (e *endpoint) readLoop(c *conn, fr *frameReader, from string, peerID *auth.Identity) error {
	for {
		p, err := fr.next()
		if err != nil {
			return err
		}
		e.stats.bytesReceived.Add(uint64(headerSize + len(p)))
		msg, err := decodeFrame(p)
		if err != nil {
			if !errors.Is(err, errBadFrame) {
				err = fmt.Errorf("%w: %w", errBadFrame, err)
			}
			return err
		}
		if msg == nil {
			continue // keepalive
		}
		e.stats.received.Add(1)
		select {
		case e.inbox <- chain.Inbound{From: from, Msg: msg, Peer: peerID}:
		case <-c.dead:
			return errConnClosed
		case <-e.ctx.Done():
			return chain.ErrClosed
		}
	}
}

// logClosed logs why a connection's reader stopped: at Warn when the peer
// broke the wire format (a malformed or oversized frame), at Debug for
// routine endings such as a closed connection.
func (e *endpoint) logClosed(msg, peer string, err error) {
	if errors.Is(err, errBadFrame) || errors.Is(err, chain.ErrTooLarge) {
		e.log.Warn(msg+": protocol violation", "addr", e.addr, "peer", peer, "err", err)
		return
	}
	e.log.Debug(msg, "addr", e.addr, "peer", peer, "err", err)
}
