// Package transporttest checks a chain.Transport implementation against the
// contract documented on chain.Transport and chain.Endpoint.
//
// Call Run from a test of the implementation's package, giving it a
// function that makes a fresh transport and a source of fresh addresses to
// listen on:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T) (chain.Transport, func() string) {
//			tr := tcp.New(tcp.Options{})
//			t.Cleanup(func() { _ = tr.Close() })
//			return tr, func() string { return "127.0.0.1:0" }
//		})
//	}
//
// listenAddr may return the same string every time if the transport picks
// the address on Listen (as "127.0.0.1:0" does for TCP): the suite always
// uses Endpoint.Addr, never the string it listened on, to reach an
// endpoint. Each subtest makes its own transport; the suite closes every
// endpoint it opens, through t.Cleanup, before the cleanups registered by
// newTransport run.
//
// The suite runs without faults, so it expects what a healthy network
// gives: every message arrives, once, intact, in the order it was sent by
// one goroutine through one endpoint to one address. What it expects where
// the contract leaves room:
//
//   - Inbound.From is the sending endpoint's Addr, including for a client
//     endpoint (opened with Listen("")), and a reply to From reaches the
//     sender, including a client endpoint whose address cannot be dialed.
//   - Send to an address where nobody listens (any more) returns nil
//     promptly: the peer is merely unreachable, and a nil error only means
//     the message was queued. Send must not block until ctx is done for
//     such a peer, nor fail.
//   - After Close, Send returns an error wrapping chain.ErrClosed, the
//     Receive channel is closed (after the messages already in it), and
//     Close may be called again.
//   - Listen fails on an address that is in use, and succeeds on it again
//     once its endpoint is closed; a sender then reaches the new endpoint
//     within a few retries (messages sent meanwhile may be lost).
//   - Messages of several MiB arrive intact.
//
// Run the suite with -race: several subtests send from many goroutines.
package transporttest

import (
	"testing"

	"github.com/chainrep/chain"
)

// Run runs the conformance suite as subtests of t. newTransport must
// return a new transport each time it is called, and a function returning
// an address the transport can listen on that is not in use; it should
// register the transport's own cleanup with t.Cleanup.
func Run(t *testing.T, newTransport func(t *testing.T) (tr chain.Transport, listenAddr func() string)) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"EveryMessageKind", testEveryKind},
		{"ClientEndpoint", testClientEndpoint},
		{"RepliesReachTheRightClient", testReplyRouting},
		{"InOrder", testOrder},
		{"Concurrent", testConcurrent},
		{"LargeMessages", testLarge},
		{"SendAfterClose", testSendAfterClose},
		{"ReceiveClosedAfterClose", testReceiveClosed},
		{"ListenInUse", testListenInUse},
		{"Unreachable", testUnreachable},
		{"Reopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, listenAddr := newTransport(t)
			if tr == nil || listenAddr == nil {
				t.Fatal("newTransport returned a nil transport or listenAddr")
			}
			tc.fn(t, &harness{t: t, tr: tr, addr: listenAddr})
		})
	}
}
