package wire

import (
	"strings"
	"testing"

	"github.com/chainrep/chain/internal/testutil"
)

// maxDecodeAlloc is the most decoding a message of n bytes may allocate,
// accepted or not: what the budget admits, and the decoder's own fixed
// cost. FuzzCodecDecode and the tests below hold DecodeMessage to it.
func maxDecodeAlloc(n int) uint64 {
	return decodeAmplification*uint64(n) + decodeSlack + 256<<10
}

// arrayOf returns a message of kind whose first field is an array32 of n
// copies of elem.
func arrayOf(kind MessageKind, n int, elem []byte) []byte {
	return withList(kind, []byte{0x91}, n, elem, nil)
}

// withList returns a message of kind: prefix, an array32 of n copies of
// elem, then suffix.
func withList(kind MessageKind, prefix []byte, n int, elem, suffix []byte) []byte {
	b := append([]byte{byte(kind)}, prefix...)
	b = append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	for range n {
		b = append(b, elem...)
	}
	return append(b, suffix...)
}

func TestDecodeBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		err  string // "" when the budget admits it
	}{
		{"a frame of empty arrays", arrayOf(KindRequestBatch, 1<<20, []byte{0x90}), "would allocate"},
		{"a frame of empty maps", arrayOf(KindResponseBatch, 1<<20, []byte{0x80}), "would allocate"},
		{"structs of two bytes", arrayOf(KindRequestBatch, 1<<19, []byte{0x91, 0x00}), "would allocate"},
		{"an array longer than its bytes", []byte{byte(KindRequestBatch), 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90}, "exceeds the"},
		{"a map longer than its bytes", []byte{byte(KindConfigUpdate), 0xdf, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00}, "exceeds the"},
		{"a string longer than its bytes", []byte{byte(KindClientRequest), 0x91, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'}, "exceeds the"},
		{"a byte string longer than its bytes", []byte{byte(KindClientRequest), 0x91, 0xc5, 0x10, 0x00, 'a'}, "exceeds the"},
		{"an extension longer than its bytes", []byte{byte(KindClientRequest), 0xc9, 0x00, 0x10, 0x00, 0x00, 0x01}, "exceeds the"},
		{"a truncated integer", []byte{byte(KindCommitNotice), 0x91, 0xcf, 0x00}, "truncated"},
		{"a truncated fixarray", []byte{byte(KindCommitNotice), 0x93, 0x00}, "values declared"},
		{"nesting too deep", append([]byte{byte(KindRequestBatch)}, []byte(strings.Repeat("\x91", maxDecodeDepth+1)+"\x00")...), "nesting"},
		{"an invalid descriptor", []byte{byte(KindCommitNotice), 0xc1}, "invalid msgpack descriptor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDecodeBudget(MessageKind(tc.msg[0]), tc.msg[1:])
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("checkDecodeBudget: %v, want an error with %q", err, tc.err)
			}
			var msg Message
			alloc := testutil.AllocatedBy(func() { msg, err = DecodeMessage(tc.msg) })
			if err == nil {
				t.Fatalf("DecodeMessage accepted it: %T", msg)
			}
			if alloc > 1<<20 {
				t.Fatalf("refusing %d bytes allocated %d", len(tc.msg), alloc)
			}
		})
	}
}

// TestDecodeBudgetAdmitsLegitimateMessages holds the budget to the wire
// format's smallest legitimate elements: zero-valued entries, requests
// and responses in full batches, and a layout of many small replicas.
func TestDecodeBudgetAdmitsLegitimateMessages(t *testing.T) {
	entries := make([]Entry, 20000)
	requests := make([]ClientRequest, 20000)
	responses := make([]ClientResponse, 20000)
	replicas := make([]Replica, 3000)
	chains := make([]ChainInfo, 1000)
	for _, msg := range []Message{
		&PullResponse{Entries: entries},
		&RequestBatch{Requests: requests},
		&ResponseBatch{Responses: responses},
		&ServerUpdate{Replicas: replicas},
		&ClusterUpdate{Cluster: Cluster{Chains: chains}},
	} {
		b, err := EncodeMessage(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkDecodeBudget(MessageKind(b[0]), b[1:]); err != nil {
			t.Errorf("%T of %d bytes refused: %v", msg, len(b), err)
		}
		var decodeErr error
		alloc := testutil.AllocatedBy(func() { _, decodeErr = DecodeMessage(b) })
		if decodeErr != nil {
			t.Errorf("decode %T: %v", msg, decodeErr)
		}
		if alloc > maxDecodeAlloc(len(b)) {
			t.Errorf("decoding %T of %d bytes allocated %d, over %d", msg, len(b), alloc, maxDecodeAlloc(len(b)))
		}
	}
}

// TestDecodeBudgetBoundsAllocation decodes the worst frames the budget
// admits: as many arrays as it allows, each as small as it allows, in
// every message kind that carries a list of structs.
func TestDecodeBudgetBoundsAllocation(t *testing.T) {
	// Seven nils: a struct of seven zero fields (nil decodes into any
	// field) in containerBytes bytes.
	elem := []byte{0x97, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}
	n := (1 << 20) / len(elem)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"request batch", arrayOf(KindRequestBatch, n, elem)},
		{"response batch", arrayOf(KindResponseBatch, n, elem)},
		{"server update", arrayOf(KindServerUpdate, n, elem)},
		// Epoch, From, Commit, Last, then Entries, then Err.
		{"pull response", withList(KindPullResponse, []byte{0x96, 0, 0, 0, 0}, n, elem, []byte{0xc0})},
		// ID, then the layout's Chains (then Servers), then Masters, Leader.
		{"cluster update", withList(KindClusterUpdate, []byte{0x94, 0, 0x92}, n, elem, []byte{0xc0, 0xc0, 0xc0})},
	} {
		b := tc.msg
		var err error
		alloc := testutil.AllocatedBy(func() { _, err = DecodeMessage(b) })
		if alloc > maxDecodeAlloc(len(b)) {
			t.Errorf("%s: %d bytes allocated %d (%.0fx), over %d (err %v)", tc.name, len(b), alloc, float64(alloc)/float64(len(b)), maxDecodeAlloc(len(b)), err)
		}
		if err != nil {
			t.Errorf("%s: %v; want a message the budget admits, to measure its worst case", tc.name, err)
		}
		t.Logf("%s: %d bytes, %d allocated (%.1fx)", tc.name, len(b), alloc, float64(alloc)/float64(len(b)))
	}
}

// BenchmarkDecodeBudget is the budget's share of decoding a pull response
// of 64 entries (compare BenchmarkPullResponseCodec/decode).
func BenchmarkDecodeBudget(b *testing.B) {
	resp := &PullResponse{Epoch: 3, From: 1000, Commit: 990, Last: 1063}
	for i := range 64 {
		resp.Entries = append(resp.Entries, Entry{Offset: uint64(1000 + i), Epoch: 3,
			Client: "client-7f3a9c", Session: 0x5eed5eed5eed, Seq: uint64(500 + i), Acked: 480, Data: make([]byte, 100)})
	}
	encoded, err := EncodeMessage(nil, resp)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := checkDecodeBudget(KindPullResponse, encoded[1:]); err != nil {
			b.Fatal(err)
		}
	}
}
