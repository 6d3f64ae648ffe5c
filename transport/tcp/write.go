package tcp

import (
	"bufio"
	"runtime"
	"time"

	"github.com/chainrep/chain"
)

// writeLoop sends first (if not nil) and then the messages of queue on c,
// until writing fails or the connection or endpoint closes. It encodes each
// message into one reused buffer and writes it to bw, and flushes bw only
// when queue is momentarily empty, so that a burst of messages goes out in
// few system calls. A message that cannot be encoded, or is longer than the
// frame limit, is dropped and logged. When keepalive is positive, a ping
// frame is sent after that long without a message.
//
// taken, when not nil, is called with each message writeLoop takes (first
// included) once it is encoded or dropped.
//
// When writeLoop returns an error, the messages it had taken from queue but
// not flushed are lost.
func (e *endpoint) writeLoop(c *conn, bw *bufio.Writer, queue <-chan chain.Message, first chain.Message, to string, keepalive time.Duration, taken func(chain.Message)) error {
	var tick <-chan time.Time
	if keepalive > 0 {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		tick = t.C
	}
	var buf []byte
	wrote := false
	msg := first
	for {
		if msg == nil {
			var err error
			if msg, err = e.nextMessage(c, bw, queue, tick); err != nil {
				return err
			}
			if msg == nil { // the keepalive tick
				if !wrote {
					buf = appendPingFrame(buf[:0])
					if _, err := bw.Write(buf); err != nil {
						return err
					}
					e.stats.bytesSent.Add(uint64(len(buf)))
				}
				wrote = false
				continue
			}
		}
		var err error
		buf, err = appendMessageFrame(buf[:0], msg, e.opts.MaxFrameSize)
		if taken != nil {
			taken(msg)
		}
		msg = nil
		if err != nil {
			e.stats.dropped.Add(1)
			e.log.Warn("tcp: dropping a message that cannot be sent", "to", to, "err", err)
			continue
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		e.stats.sent.Add(1)
		e.stats.bytesSent.Add(uint64(len(buf)))
		wrote = true
		if cap(buf) > keepBufSize {
			buf = nil
		}
	}
}

// nextMessage returns the next message of queue. When the queue is empty it
// first lets the goroutines that produce messages run once (under load
// they refill the queue, so the flush carries more), then flushes bw and
// waits. It returns nil when tick fires first.
func (e *endpoint) nextMessage(c *conn, bw *bufio.Writer, queue <-chan chain.Message, tick <-chan time.Time) (chain.Message, error) {
	select {
	case msg := <-queue:
		return msg, nil
	default:
	}
	runtime.Gosched()
	select {
	case msg := <-queue:
		return msg, nil
	default:
	}
	if bw.Buffered() > 0 {
		if err := bw.Flush(); err != nil {
			return nil, err
		}
	}
	select {
	case msg := <-queue:
		return msg, nil
	case <-tick:
		return nil, nil
	case <-c.dead:
		return nil, errConnClosed
	case <-e.ctx.Done():
		return nil, chain.ErrClosed
	}
}
