package wire_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/testutil"
	"github.com/chainrep/chain/wire"
)

// codecSamples returns one fully populated message of every kind, plus
// minimal ones, freshly allocated on each call.
func codecSamples() []wire.Message {
	entries := func() []wire.Entry {
		return []wire.Entry{
			{Offset: 1, Epoch: 2, Client: "client-1", Seq: 3, Acked: 2, Command: "upper", Data: []byte("hello")},
			{Offset: 2, Epoch: 2, Data: []byte{0, 1, 2, 255}},
		}
	}
	return []wire.Message{
		&wire.ClientRequest{Op: wire.OpCommand, ID: 42, Acked: 41, Epoch: 7, Name: "upper", Data: []byte("payload"), From: 9, Max: 100},
		&wire.ClientRequest{Op: wire.OpLatest, ID: 1},
		&wire.ClientResponse{ID: 42, Offset: 17, Result: []byte("RESULT"), Entries: entries()},
		&wire.ClientResponse{ID: 43, Err: &wire.RemoteError{Code: wire.CodeNotHead, Message: "moved", Redirect: "node-a:1", Epoch: 8}},
		&wire.PullRequest{Epoch: 3, Run: 5, Next: 10, Commit: 9, MaxBytes: 1 << 20, Restart: true},
		&wire.PullRequest{},
		&wire.PullResponse{Epoch: 3, From: 10, Commit: 11, Entries: entries()},
		&wire.PullResponse{Epoch: 3, From: 1, Err: &wire.RemoteError{Code: wire.CodeOutOfRange, Message: "truncated"}},
		&wire.CommitNotice{Epoch: 4, Commit: 99},
		&wire.CommitNotice{},
		&wire.Heartbeat{Chain: "c1", ID: "n1", Addr: "s1:7001/c1", Epoch: 3, Last: 9, Commit: 8, Complete: true},
		&wire.ConfigRequest{ID: 5, Chain: "c2"},
		&wire.ConfigUpdate{ID: 5, Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", Follower: true},
		&wire.AdminRequest{ID: 6, Op: wire.AdminAddNode, Chain: "c3", Member: wire.Member{ID: "n9", Addr: "s9/c3"}},
		&wire.AdminResponse{ID: 6, Config: cfg, Err: &wire.RemoteError{Code: wire.CodeInvalidArgument, Message: "no"}},
		&wire.Envelope{From: "c1", To: "c2", Msg: &wire.PullRequest{Epoch: 3, Next: 10}},
		&wire.Envelope{To: "c1", Msg: &wire.PullResponse{Epoch: 3, From: 10, Commit: 11, Entries: entries()}},
		&wire.ServerBeat{ID: "s1", Addr: "127.0.0.1:7101"},
		&wire.ServerUpdate{Replicas: []wire.Replica{{Chain: "c1", Member: wire.Member{ID: "s1/c1", Addr: "a/c1"}}}, HeartbeatEvery: 7, Leader: "m"},
		&wire.ClusterRequest{ID: 8},
		&wire.ClusterUpdate{ID: 8, Cluster: wire.Cluster{
			Chains:  []wire.ChainInfo{{ID: "c1", Config: cfg, SlotLo: 0, SlotHi: 512}},
			Servers: []wire.ServerInfo{{ID: "s1", Addr: "a", Alive: true, Replicas: 3}},
		}, Masters: []string{"m1", "m2"}, Leader: "m1"},
		&wire.RequestBatch{Requests: []wire.ClientRequest{
			{Op: wire.OpAppend, ID: 7, Session: 99, Acked: 5, Epoch: 3, Data: []byte("first")},
			{Op: wire.OpCommand, ID: 8, Session: 99, Acked: 5, Epoch: 3, Name: "upper", Data: []byte("second")},
		}},
		&wire.ResponseBatch{Responses: []wire.ClientResponse{
			{ID: 7, Offset: 11},
			{ID: 8, Offset: 12, Result: []byte("SECOND")},
			{ID: 9, Err: &wire.RemoteError{Code: wire.CodeBusy, Message: "write queue full"}},
		}},
		&wire.ClientResponse{ID: 3, Status: &wire.NodeStatus{ID: "n2", Role: wire.RoleMiddle, Epoch: 4,
			Members: []wire.Member{{ID: "n1", Addr: "a"}, {ID: "n2", Addr: "b"}}, FirstOffset: 1, LastOffset: 20,
			CommitPoint: 18, Applied: 17, SuccessorAcked: 16, InflightBytes: 300, PendingWrites: 2, Sessions: 5,
			Ordered: 6, Received: 7, Sent: 8, Replies: 9, Queries: 10, Refused: 11, Err: "stopped"}},
		// The fields added since the samples above were recorded.
		&wire.Heartbeat{ID: "n1", Addr: "a", Epoch: 3, Last: 9, Commit: 8, Sent: 1500 * time.Millisecond},
		&wire.ConfigUpdate{Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", HeartbeatSent: 1500 * time.Millisecond},
		&wire.Heartbeat{ID: "n1", Addr: "a", Epoch: 3, Last: 9, Commit: 8, Sent: 1500 * time.Millisecond, Incarnation: 77, Config: &cfg},
		&wire.ConfigUpdate{Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", HeartbeatSent: 1500 * time.Millisecond, Confirmed: 77},
		// The link health of a heartbeat and a status, and the link timeout.
		&wire.Heartbeat{ID: "n2", Addr: "b", Epoch: 3, Last: 9, Commit: 8, Sent: 1500 * time.Millisecond, Incarnation: 77,
			Links: &wire.LinkHealth{FromPred: 250 * time.Millisecond, FromSucc: 20 * time.Millisecond, SuccBehind: 4, Cut: true}},
		&wire.ConfigUpdate{Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", HeartbeatSent: 1500 * time.Millisecond,
			Confirmed: 77, LinkTimeout: 200},
		&wire.ClientResponse{ID: 4, Status: &wire.NodeStatus{ID: "n2", Role: wire.RoleTail, Epoch: 4, LastOffset: 20, CommitPoint: 20,
			Links: &wire.LinkHealth{FromPred: 3 * time.Millisecond}}},
		&wire.Heartbeat{ID: "n4", Addr: "d", Sent: 1500 * time.Millisecond, Incarnation: 78, Standby: true},
		&wire.ConfigUpdate{Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", Standby: true},
	}
}

// cfg is a sample configuration for the codec tests.
var cfg = wire.Config{Epoch: 4, Members: []wire.Member{{ID: "n1", Addr: "a/c1"}, {ID: "n2", Addr: "b/c1"}},
	Joining: &wire.Member{ID: "n3", Addr: "c/c1"}}

func TestCodecRoundTrip(t *testing.T) {
	kinds := map[wire.MessageKind]bool{}
	for _, msg := range codecSamples() {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err, "%T", msg)
		require.Equal(t, byte(msg.Kind()), b[0])

		got, err := wire.DecodeMessage(b)
		require.NoError(t, err, "%T", msg)
		require.Equal(t, msg, got)
		require.Equal(t, msg.Kind(), got.Kind())
		kinds[msg.Kind()] = true
	}
	require.Len(t, kinds, 17, "every message kind is covered")
}

func TestCodecRemoteErrorSurvivesRoundTrip(t *testing.T) {
	msg := &wire.ClientResponse{ID: 1, Err: &wire.RemoteError{Code: wire.CodeNotTail, Redirect: "t"}}
	b, err := wire.EncodeMessage(nil, msg)
	require.NoError(t, err)
	got, err := wire.DecodeMessage(b)
	require.NoError(t, err)
	require.ErrorIs(t, got.(*wire.ClientResponse).Err, wire.CodeNotTail)
}

func TestCodecEncodeAppends(t *testing.T) {
	prefix := []byte("prefix")
	msg := &wire.CommitNotice{Epoch: 1, Commit: 2}
	b, err := wire.EncodeMessage(append([]byte(nil), prefix...), msg)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, prefix))
	got, err := wire.DecodeMessage(b[len(prefix):])
	require.NoError(t, err)
	require.Equal(t, msg, got)
}

func TestCodecEncodeNil(t *testing.T) {
	_, err := wire.EncodeMessage(nil, nil)
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
}

// TestCodecDecodeDoesNotAlias overwrites the input buffer after decoding and
// checks that no decoded field changed.
func TestCodecDecodeDoesNotAlias(t *testing.T) {
	for _, msg := range codecSamples() {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err)
		got, err := wire.DecodeMessage(b)
		require.NoError(t, err)
		for i := range b {
			b[i] = 0xAA
		}
		require.Equal(t, msg, got, "%T aliases its input", msg)
	}

	// And mutating decoded fields does not touch the buffer.
	msg := &wire.PullResponse{Entries: []wire.Entry{{Offset: 1, Data: []byte("abc")}}}
	b, err := wire.EncodeMessage(nil, msg)
	require.NoError(t, err)
	orig := bytes.Clone(b)
	got, err := wire.DecodeMessage(b)
	require.NoError(t, err)
	got.(*wire.PullResponse).Entries[0].Data[0] = 'X'
	require.Equal(t, orig, b)
}

func TestCodecDecodeRejectsBadInput(t *testing.T) {
	cases := map[string][]byte{
		"nil":                  nil,
		"empty":                {},
		"kind 0":               {0},
		"kind 18":              {18, 0x80},
		"envelope in envelope": {byte(wire.KindEnvelope), 0, 0, byte(wire.KindEnvelope), 0, 0, byte(wire.KindCommitNotice), 0x80},
		"long sub-address":     {byte(wire.KindEnvelope), 0xff, 0xff, 0x03},
		"kind 255":             {255, 0x80},
		"no body":              {byte(wire.KindClientRequest)},
		"wrong type":           {byte(wire.KindPullRequest), 0xa3, 'a', 'b', 'c'},
		"bad map":              {byte(wire.KindCommitNotice), 0x81},
		"huge len":             {byte(wire.KindClientRequest), 0x81, 0xa1, 'd', 0xc6, 0xff, 0xff, 0xff, 0xff},
		"huge array":           {byte(wire.KindPullResponse), 0x81, 0xa2, 'e', 's', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"reserved tag":         {byte(wire.KindCommitNotice), 0xc1},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() {
				_, err := wire.DecodeMessage(b)
				require.Error(t, err)
			})
		})
	}

	_, err := wire.DecodeMessage([]byte{})
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
	_, err = wire.DecodeMessage([]byte{200, 0x80})
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
}

func TestCodecDecodeRejectsOversized(t *testing.T) {
	b := make([]byte, wire.MaxMessageSize+1)
	b[0] = byte(wire.KindCommitNotice)
	_, err := wire.DecodeMessage(b)
	require.ErrorIs(t, err, wire.CodeTooLarge)
}

// TestCodecDecodeTruncated decodes every proper prefix of valid encodings:
// each must fail or succeed, never panic.
func TestCodecDecodeTruncated(t *testing.T) {
	for _, msg := range codecSamples() {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err)
		for i := range len(b) {
			require.NotPanics(t, func() { _, _ = wire.DecodeMessage(bytes.Clone(b[:i])) }, "%T prefix %d", msg, i)
		}
		_, err = wire.DecodeMessage(b[:1])
		require.Error(t, err, "%T with no body", msg)
	}
}

// TestCodecDecodeGarbage decodes random bytes and randomly corrupted
// encodings: errors are fine, panics are not.
func TestCodecDecodeGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	samples := codecSamples()
	for range 5000 {
		var b []byte
		if rng.IntN(2) == 0 {
			b = make([]byte, rng.IntN(64))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			if len(b) > 0 {
				b[0] = byte(rng.IntN(17)) // mostly valid kinds
			}
		} else {
			var err error
			b, err = wire.EncodeMessage(nil, samples[rng.IntN(len(samples))])
			require.NoError(t, err)
			for range 1 + rng.IntN(4) {
				b[1+rng.IntN(len(b)-1)] = byte(rng.Uint32())
			}
		}
		require.NotPanics(t, func() { _, _ = wire.DecodeMessage(b) }, "input %x", b)
	}
}

// FuzzCodecDecode checks that DecodeMessage never panics and that whatever
// it accepts re-encodes to a stable encoding. (Encodings are compared
// rather than messages because omitempty maps an empty slice to nil.)
func FuzzCodecDecode(f *testing.F) {
	for _, msg := range codecSamples() {
		b, err := wire.EncodeMessage(nil, msg)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var msg wire.Message
		var err error
		alloc := testutil.AllocatedBy(func() { msg, err = wire.DecodeMessage(b) })
		if alloc > wire.MaxDecodeAlloc(len(b)) {
			t.Fatalf("decoding %d bytes allocated %d, over the budget's %d (err %v)", len(b), alloc, wire.MaxDecodeAlloc(len(b)), err)
		}
		if err != nil {
			return
		}
		again, err := wire.EncodeMessage(nil, msg)
		require.NoError(t, err)
		msg2, err := wire.DecodeMessage(again)
		require.NoError(t, err)
		third, err := wire.EncodeMessage(nil, msg2)
		require.NoError(t, err)
		require.Equal(t, again, third)
	})
}

func TestCodecEnvelopeRefusesNesting(t *testing.T) {
	inner := &wire.Envelope{To: "a", Msg: &wire.CommitNotice{}}
	_, err := wire.EncodeMessage(nil, &wire.Envelope{To: "b", Msg: inner})
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
	_, err = wire.EncodeMessage(nil, &wire.Envelope{To: "b"})
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
}

func TestSlotOf(t *testing.T) {
	require.Equal(t, wire.SlotOf([]byte("k")), wire.SlotOf([]byte("k")))
	counts := make([]int, 8)
	for i := range 8000 {
		s := wire.SlotOf([]byte("key-" + string(rune('a'+i%26)) + string(rune(i))))
		require.Less(t, s, uint32(wire.Slots))
		counts[s/(wire.Slots/8)]++
	}
	for i, n := range counts {
		require.Greater(t, n, 500, "range %d of 8 gets its share of keys", i)
	}
	cl := wire.Cluster{Chains: []wire.ChainInfo{{ID: "a", SlotLo: 0, SlotHi: 512}, {ID: "b", SlotLo: 512, SlotHi: 1024}}}
	ch, ok := cl.ChainOf(600)
	require.True(t, ok)
	require.Equal(t, "b", ch.ID)
	_, ok = wire.Cluster{}.ChainOf(1)
	require.False(t, ok)
}

// TestEncodeMessageIntoSpareCapacityAllocatesNothing: encoding into a
// buffer with room, as the TCP writer does, allocates nothing, and neither
// does returning the encoder to its pool.
func TestEncodeMessageIntoSpareCapacityAllocatesNothing(t *testing.T) {
	msg := &wire.ClientRequest{Op: wire.OpAppend, ID: 42, Acked: 41, Epoch: 7, Data: bytes.Repeat([]byte("x"), 100)}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = wire.EncodeMessage(buf[:0], msg); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "allocations per EncodeMessage")
}

// TestCodecStructsAreArraysThatMayGrow: a wire struct is a msgpack array of
// its fields in order; a decoder skips fields appended by a newer sender
// and reads the fields an older sender did not have as zero.
func TestCodecStructsAreArraysThatMayGrow(t *testing.T) {
	kind := byte(wire.KindCommitNotice)
	b, err := wire.EncodeMessage(nil, &wire.CommitNotice{Epoch: 4, Commit: 99})
	require.NoError(t, err)
	require.Equal(t, []byte{kind, 0x92, 4, 99}, b)

	newer, err := wire.DecodeMessage([]byte{kind, 0x93, 4, 99, 0xa3, 'n', 'e', 'w'})
	require.NoError(t, err)
	require.Equal(t, &wire.CommitNotice{Epoch: 4, Commit: 99}, newer)

	older, err := wire.DecodeMessage([]byte{kind, 0x91, 4})
	require.NoError(t, err)
	require.Equal(t, &wire.CommitNotice{Epoch: 4}, older)
}
