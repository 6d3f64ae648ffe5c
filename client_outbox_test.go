package chain

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

// TestOutboxKeepsOneRequestPerCall: a retry queued before the flusher took
// the first copy replaces it (also when it goes elsewhere, after a
// redirect), so the outbox never holds more requests than calls in flight.
func TestOutboxKeepsOneRequestPerCall(t *testing.T) {
	o := newOutbox(1 << 20)
	o.add("head", &wire.ClientRequest{ID: 1, Data: []byte("a")})
	o.add("head", &wire.ClientRequest{ID: 2, Data: []byte("b")})
	o.add("new-head", &wire.ClientRequest{ID: 1, Data: []byte("a"), Epoch: 2})
	got := o.take()
	require.Len(t, got, 2)
	require.Equal(t, outgoing{to: "new-head", req: wire.ClientRequest{ID: 1, Data: []byte("a"), Epoch: 2}}, got[0])
	require.Equal(t, uint64(2), got[1].req.ID)
	o.release(got)

	o.add("head", &wire.ClientRequest{ID: 1})
	require.Len(t, o.take(), 1, "a taken request is not replaced: its copy is sent again")
}
