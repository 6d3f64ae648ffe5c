package tcp

import (
	"io"
	"sync"
)

// smallReadSize is the buffer a lazyReader reads into while its peer is
// quiet: room for a hello, a keepalive or a small request.
const smallReadSize = 512

// bigReads pools the large read buffers of lazyReaders that are not
// receiving a stream.
var bigReads = sync.Pool{New: func() any { b := make([]byte, ioBufSize); return &b }}

// lazyReader buffers reads from r like a bufio.Reader of ioBufSize, but
// holds the large buffer only while data streams in: a read that finds
// its buffer empty after a short read (the peer paused) waits in a small
// buffer of its own, and the large one goes back to a shared pool. An
// idle connection so costs smallReadSize bytes rather than ioBufSize. It
// is not safe for concurrent use.
type lazyReader struct {
	r     io.Reader
	small [smallReadSize]byte
	big   *[]byte // from bigReads while streaming; nil otherwise
	buf   []byte  // unread bytes, in small or *big
	// streaming is set when the last read filled its buffer.
	streaming bool
}

func newLazyReader(r io.Reader) *lazyReader { return &lazyReader{r: r} }

// Read implements io.Reader.
func (l *lazyReader) Read(p []byte) (int, error) {
	if len(l.buf) == 0 {
		if len(p) >= ioBufSize { // large reads bypass the buffer
			l.release()
			return l.r.Read(p)
		}
		if err := l.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, l.buf)
	if l.buf = l.buf[n:]; len(l.buf) == 0 && !l.streaming {
		l.release()
	}
	return n, nil
}

// fill reads what is there: into the large buffer while streaming (the
// last read filled its buffer), else into the small one, the large buffer
// going back to the pool first.
func (l *lazyReader) fill() error {
	dst := l.small[:]
	if l.streaming {
		if l.big == nil {
			l.big = bigReads.Get().(*[]byte)
		}
		dst = *l.big
	} else {
		l.release()
	}
	n, err := l.r.Read(dst)
	l.buf = dst[:n]
	l.streaming = n == len(dst)
	if n > 0 {
		return nil
	}
	l.release()
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// release returns the large buffer to the pool; the unread bytes must
// not be in it.
func (l *lazyReader) release() {
	if l.big != nil {
		bigReads.Put(l.big)
		l.big = nil
	}
}
