package tcp

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunkReader returns its chunks one Read each.
type chunkReader struct{ chunks [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// TestLazyReaderHoldsTheLargeBufferOnlyWhileStreaming: every byte comes
// out in order whatever the reads' sizes, and the large buffer is held
// only for unread bytes or after a read that filled its buffer, never to
// wait in after a short one (an idle connection waits in the small
// buffer).
func TestLazyReaderHoldsTheLargeBufferOnlyWhileStreaming(t *testing.T) {
	stream := bytes.Repeat([]byte("0123456789abcdef"), 3*ioBufSize/16)
	var chunks [][]byte
	var want []byte
	for _, n := range []int{5, 512, 100_000, 7, 3 * ioBufSize / 2, 1} {
		c := stream[:n%len(stream)]
		chunks = append(chunks, bytes.Clone(c))
		want = append(want, c...)
	}
	r := newLazyReader(&chunkReader{chunks: chunks})
	var got []byte
	sawBig := false
	for _, size := range []int{4, 1000, 3, ioBufSize, 17} {
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if r.big != nil {
				sawBig = true
				// With nothing left to read from it, the large buffer
				// is kept only for a stream.
				require.True(t, len(r.buf) > 0 || r.streaming, "holds the large buffer after a short read")
			}
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			if len(got) > len(want) {
				t.Fatal("read more than was written")
			}
		}
	}
	require.Equal(t, want, got)
	require.True(t, sawBig, "never streamed into the large buffer")

	idle := newLazyReader(&chunkReader{chunks: [][]byte{[]byte("hello")}})
	p := make([]byte, 4)
	_, err := io.ReadFull(idle, p)
	require.NoError(t, err)
	require.Nil(t, idle.big, "a short read took the large buffer")
}
