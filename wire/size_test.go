package wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSizeHintBoundsTheEncoding: for messages small and large, SizeHint is
// at least the encoded length, and within its allowances of it.
func TestSizeHintBoundsTheEncoding(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	entries := func(n, size int) []Entry {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Offset: uint64(1 << 40), Epoch: 1 << 30, Client: "client-0123456789abcdef", Session: 1 << 60,
				Seq: 1 << 50, Acked: 1 << 50, Command: "put", Data: big[:size], Since: 1 << 40, Time: 1 << 62}
		}
		return es
	}
	maxFields := ClientResponse{ID: 1 << 60, Offset: 1 << 60}
	for _, c := range []struct {
		name string
		m    Message
	}{
		{"empty response", &ClientResponse{}},
		{"response with fields", &maxFields},
		{"response with a result", &ClientResponse{ID: 1 << 60, Offset: 1 << 60, Result: big}},
		{"response with an error", &ClientResponse{ID: 9, Err: &RemoteError{Code: CodeNotHead, Message: "not the head", Redirect: "10.0.0.1:7001", Epoch: 1 << 40}}},
		{"read of many small entries", &ClientResponse{ID: 3, Entries: entries(1000, 8)}},
		{"pull of large entries", &PullResponse{Epoch: 1 << 40, From: 1 << 40, Commit: 1 << 40, Last: 1 << 40, Entries: entries(4, 256<<10)}},
		{"batch of responses", &ResponseBatch{Responses: []ClientResponse{maxFields, {Result: big[:4096]}, {ID: 1 << 60, Offset: 1 << 60}}}},
		{"request", &ClientRequest{Op: OpCommand, ID: 1 << 60, Session: 1 << 60, Acked: 1 << 60, Epoch: 1 << 40, Name: "put", Data: big[:100], From: 1 << 40, Max: 1 << 30, Since: 1 << 40}},
		{"batch of requests", &RequestBatch{Requests: []ClientRequest{{Op: OpCommand, ID: 1 << 60, Session: 1 << 60, Data: big[:10]}, {Op: OpQuery, Name: "get"}}}},
		{"commit notice", &CommitNotice{Commit: 1 << 60}},
		{"envelope", &Envelope{From: "chain-7", To: "chain-9", Msg: &ClientResponse{Result: big[:1000]}}},
	} {
		b, err := EncodeMessage(nil, c.m)
		require.NoError(t, err, c.name)
		hint := SizeHint(c.m)
		require.GreaterOrEqual(t, hint, len(b), "%s: hint %d below the encoding's %d bytes", c.name, hint, len(b))
		require.LessOrEqual(t, hint, 2*len(b)+2*messageAllowance, "%s: hint %d far above the encoding's %d bytes", c.name, hint, len(b))
	}
}
