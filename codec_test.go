package chain_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
)

// codecSamples returns one fully populated message of every kind, plus
// minimal ones, freshly allocated on each call.
func codecSamples() []chain.Message {
	entries := func() []chain.Entry {
		return []chain.Entry{
			{Offset: 1, Epoch: 2, Client: "client-1", Seq: 3, Acked: 2, Command: "upper", Data: []byte("hello")},
			{Offset: 2, Epoch: 2, Data: []byte{0, 1, 2, 255}},
		}
	}
	return []chain.Message{
		&chain.ClientRequest{Op: chain.OpCommand, ID: 42, Acked: 41, Epoch: 7, Name: "upper", Data: []byte("payload"), From: 9, Max: 100},
		&chain.ClientRequest{Op: chain.OpLatest, ID: 1},
		&chain.ClientResponse{ID: 42, Offset: 17, Result: []byte("RESULT"), Entries: entries()},
		&chain.ClientResponse{ID: 43, Err: &chain.RemoteError{Code: chain.CodeNotHead, Message: "moved", Redirect: "node-a:1", Epoch: 8}},
		&chain.PullRequest{Epoch: 3, Session: 5, Next: 10, Commit: 9, MaxBytes: 1 << 20, Restart: true},
		&chain.PullRequest{},
		&chain.PullResponse{Epoch: 3, From: 10, Commit: 11, Entries: entries()},
		&chain.PullResponse{Epoch: 3, From: 1, Err: &chain.RemoteError{Code: chain.CodeOutOfRange, Message: "truncated"}},
		&chain.CommitNotice{Epoch: 4, Commit: 99},
		&chain.CommitNotice{},
		&chain.Heartbeat{Chain: "c1", ID: "n1", Addr: "s1:7001/c1", Epoch: 3, Last: 9, Commit: 8, Complete: true},
		&chain.ConfigRequest{ID: 5, Chain: "c2"},
		&chain.ConfigUpdate{ID: 5, Chain: "c2", Config: cfg, FenceAfter: 100, HeartbeatEvery: 20, Leader: "m1", Follower: true},
		&chain.AdminRequest{ID: 6, Op: chain.AdminAddNode, Chain: "c3", Member: chain.Member{ID: "n9", Addr: "s9/c3"}},
		&chain.AdminResponse{ID: 6, Config: cfg, Err: &chain.RemoteError{Code: chain.CodeInvalidArgument, Message: "no"}},
		&chain.Envelope{From: "c1", To: "c2", Msg: &chain.PullRequest{Epoch: 3, Next: 10}},
		&chain.Envelope{To: "c1", Msg: &chain.PullResponse{Epoch: 3, From: 10, Commit: 11, Entries: entries()}},
		&chain.ServerBeat{ID: "s1", Addr: "127.0.0.1:7101"},
		&chain.ServerUpdate{Replicas: []chain.Replica{{Chain: "c1", Member: chain.Member{ID: "s1/c1", Addr: "a/c1"}}}, HeartbeatEvery: 7, Leader: "m"},
		&chain.ClusterRequest{ID: 8},
		&chain.ClusterUpdate{ID: 8, Cluster: chain.Cluster{
			Chains:  []chain.ChainInfo{{ID: "c1", Config: cfg, SlotLo: 0, SlotHi: 512}},
			Servers: []chain.ServerInfo{{ID: "s1", Addr: "a", Alive: true, Replicas: 3}},
		}, Masters: []string{"m1", "m2"}, Leader: "m1"},
		&chain.RequestBatch{Requests: []chain.ClientRequest{
			{Op: chain.OpAppend, ID: 7, Session: 99, Acked: 5, Epoch: 3, Data: []byte("first")},
			{Op: chain.OpCommand, ID: 8, Session: 99, Acked: 5, Epoch: 3, Name: "upper", Data: []byte("second")},
		}},
		&chain.ResponseBatch{Responses: []chain.ClientResponse{
			{ID: 7, Offset: 11},
			{ID: 8, Offset: 12, Result: []byte("SECOND")},
			{ID: 9, Err: &chain.RemoteError{Code: chain.CodeBusy, Message: "write queue full"}},
		}},
	}
}

// cfg is a sample configuration for the codec tests.
var cfg = chain.Config{Epoch: 4, Members: []chain.Member{{ID: "n1", Addr: "a/c1"}, {ID: "n2", Addr: "b/c1"}},
	Joining: &chain.Member{ID: "n3", Addr: "c/c1"}}

func TestCodecRoundTrip(t *testing.T) {
	kinds := map[chain.MessageKind]bool{}
	for _, msg := range codecSamples() {
		b, err := chain.EncodeMessage(nil, msg)
		require.NoError(t, err, "%T", msg)
		require.Equal(t, byte(msg.Kind()), b[0])

		got, err := chain.DecodeMessage(b)
		require.NoError(t, err, "%T", msg)
		require.Equal(t, msg, got)
		require.Equal(t, msg.Kind(), got.Kind())
		kinds[msg.Kind()] = true
	}
	require.Len(t, kinds, 17, "every message kind is covered")
}

func TestCodecRemoteErrorSurvivesRoundTrip(t *testing.T) {
	msg := &chain.ClientResponse{ID: 1, Err: &chain.RemoteError{Code: chain.CodeNotTail, Redirect: "t"}}
	b, err := chain.EncodeMessage(nil, msg)
	require.NoError(t, err)
	got, err := chain.DecodeMessage(b)
	require.NoError(t, err)
	require.ErrorIs(t, got.(*chain.ClientResponse).Err, chain.ErrNotTail)
}

func TestCodecEncodeAppends(t *testing.T) {
	prefix := []byte("prefix")
	msg := &chain.CommitNotice{Epoch: 1, Commit: 2}
	b, err := chain.EncodeMessage(append([]byte(nil), prefix...), msg)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, prefix))
	got, err := chain.DecodeMessage(b[len(prefix):])
	require.NoError(t, err)
	require.Equal(t, msg, got)
}

func TestCodecEncodeNil(t *testing.T) {
	_, err := chain.EncodeMessage(nil, nil)
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

// TestCodecDecodeDoesNotAlias overwrites the input buffer after decoding and
// checks that no decoded field changed.
func TestCodecDecodeDoesNotAlias(t *testing.T) {
	for _, msg := range codecSamples() {
		b, err := chain.EncodeMessage(nil, msg)
		require.NoError(t, err)
		got, err := chain.DecodeMessage(b)
		require.NoError(t, err)
		for i := range b {
			b[i] = 0xAA
		}
		require.Equal(t, msg, got, "%T aliases its input", msg)
	}

	// And mutating decoded fields does not touch the buffer.
	msg := &chain.PullResponse{Entries: []chain.Entry{{Offset: 1, Data: []byte("abc")}}}
	b, err := chain.EncodeMessage(nil, msg)
	require.NoError(t, err)
	orig := bytes.Clone(b)
	got, err := chain.DecodeMessage(b)
	require.NoError(t, err)
	got.(*chain.PullResponse).Entries[0].Data[0] = 'X'
	require.Equal(t, orig, b)
}

func TestCodecDecodeRejectsBadInput(t *testing.T) {
	cases := map[string][]byte{
		"nil":                  nil,
		"empty":                {},
		"kind 0":               {0},
		"kind 18":              {18, 0x80},
		"envelope in envelope": {byte(chain.KindEnvelope), 0, 0, byte(chain.KindEnvelope), 0, 0, byte(chain.KindCommitNotice), 0x80},
		"long sub-address":     {byte(chain.KindEnvelope), 0xff, 0xff, 0x03},
		"kind 255":             {255, 0x80},
		"no body":              {byte(chain.KindClientRequest)},
		"wrong type":           {byte(chain.KindPullRequest), 0xa3, 'a', 'b', 'c'},
		"bad map":              {byte(chain.KindCommitNotice), 0x81},
		"huge len":             {byte(chain.KindClientRequest), 0x81, 0xa1, 'd', 0xc6, 0xff, 0xff, 0xff, 0xff},
		"huge array":           {byte(chain.KindPullResponse), 0x81, 0xa2, 'e', 's', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"reserved tag":         {byte(chain.KindCommitNotice), 0xc1},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() {
				_, err := chain.DecodeMessage(b)
				require.Error(t, err)
			})
		})
	}

	_, err := chain.DecodeMessage([]byte{})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	_, err = chain.DecodeMessage([]byte{200, 0x80})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

func TestCodecDecodeRejectsOversized(t *testing.T) {
	b := make([]byte, chain.MaxMessageSize+1)
	b[0] = byte(chain.KindCommitNotice)
	_, err := chain.DecodeMessage(b)
	require.ErrorIs(t, err, chain.ErrTooLarge)
}

// TestCodecDecodeTruncated decodes every proper prefix of valid encodings:
// each must fail or succeed, never panic.
func TestCodecDecodeTruncated(t *testing.T) {
	for _, msg := range codecSamples() {
		b, err := chain.EncodeMessage(nil, msg)
		require.NoError(t, err)
		for i := range len(b) {
			require.NotPanics(t, func() { _, _ = chain.DecodeMessage(bytes.Clone(b[:i])) }, "%T prefix %d", msg, i)
		}
		_, err = chain.DecodeMessage(b[:1])
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
			b, err = chain.EncodeMessage(nil, samples[rng.IntN(len(samples))])
			require.NoError(t, err)
			for range 1 + rng.IntN(4) {
				b[1+rng.IntN(len(b)-1)] = byte(rng.Uint32())
			}
		}
		require.NotPanics(t, func() { _, _ = chain.DecodeMessage(b) }, "input %x", b)
	}
}

// FuzzCodecDecode checks that DecodeMessage never panics and that whatever
// it accepts re-encodes to a stable encoding. (Encodings are compared
// rather than messages because omitempty maps an empty slice to nil.)
func FuzzCodecDecode(f *testing.F) {
	for _, msg := range codecSamples() {
		b, err := chain.EncodeMessage(nil, msg)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := chain.DecodeMessage(b)
		if err != nil {
			return
		}
		again, err := chain.EncodeMessage(nil, msg)
		require.NoError(t, err)
		msg2, err := chain.DecodeMessage(again)
		require.NoError(t, err)
		third, err := chain.EncodeMessage(nil, msg2)
		require.NoError(t, err)
		require.Equal(t, again, third)
	})
}

func TestCodecEnvelopeRefusesNesting(t *testing.T) {
	inner := &chain.Envelope{To: "a", Msg: &chain.CommitNotice{}}
	_, err := chain.EncodeMessage(nil, &chain.Envelope{To: "b", Msg: inner})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
	_, err = chain.EncodeMessage(nil, &chain.Envelope{To: "b"})
	require.ErrorIs(t, err, chain.ErrInvalidArgument)
}

func TestSlotOf(t *testing.T) {
	require.Equal(t, chain.SlotOf([]byte("k")), chain.SlotOf([]byte("k")))
	counts := make([]int, 8)
	for i := range 8000 {
		s := chain.SlotOf([]byte("key-" + string(rune('a'+i%26)) + string(rune(i))))
		require.Less(t, s, uint32(chain.Slots))
		counts[s/(chain.Slots/8)]++
	}
	for i, n := range counts {
		require.Greater(t, n, 500, "range %d of 8 gets its share of keys", i)
	}
	cl := chain.Cluster{Chains: []chain.ChainInfo{{ID: "a", SlotLo: 0, SlotHi: 512}, {ID: "b", SlotLo: 512, SlotHi: 1024}}}
	ch, ok := cl.ChainOf(600)
	require.True(t, ok)
	require.Equal(t, "b", ch.ID)
	_, ok = chain.Cluster{}.ChainOf(1)
	require.False(t, ok)
}

// TestEncodeMessageIntoSpareCapacityAllocatesNothing: encoding into a
// buffer with room, as the TCP writer does, allocates nothing, and neither
// does returning the encoder to its pool.
func TestEncodeMessageIntoSpareCapacityAllocatesNothing(t *testing.T) {
	msg := &chain.ClientRequest{Op: chain.OpAppend, ID: 42, Acked: 41, Epoch: 7, Data: bytes.Repeat([]byte("x"), 100)}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = chain.EncodeMessage(buf[:0], msg); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "allocations per EncodeMessage")
}

// TestCodecStructsAreArraysThatMayGrow: a wire struct is a msgpack array of
// its fields in order; a decoder skips fields appended by a newer sender
// and reads the fields an older sender did not have as zero.
func TestCodecStructsAreArraysThatMayGrow(t *testing.T) {
	kind := byte(chain.KindCommitNotice)
	b, err := chain.EncodeMessage(nil, &chain.CommitNotice{Epoch: 4, Commit: 99})
	require.NoError(t, err)
	require.Equal(t, []byte{kind, 0x92, 4, 99}, b)

	newer, err := chain.DecodeMessage([]byte{kind, 0x93, 4, 99, 0xa3, 'n', 'e', 'w'})
	require.NoError(t, err)
	require.Equal(t, &chain.CommitNotice{Epoch: 4, Commit: 99}, newer)

	older, err := chain.DecodeMessage([]byte{kind, 0x91, 4})
	require.NoError(t, err)
	require.Equal(t, &chain.CommitNotice{Epoch: 4}, older)
}
