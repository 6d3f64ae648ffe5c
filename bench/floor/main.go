// Command floor measures the physical floor under a chain operation on
// this machine: messages of -size bytes sent around a bare loop of four
// loopback TCP hops (client, relay, relay, relay, back to the client),
// the hops of a chain write (client to head, head to middle, middle to
// tail, tail to client), with -c of them in flight. The relays only copy
// bytes (no framing, no decoding, no storage), so no replication protocol
// over the same hops can be faster: each table of bench/compare.sh gets
// its floor row from it.
//
//	go run ./bench/floor -c 1 -d 5s
//	go run ./bench/floor -c 256 -d 5s -json
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chainrep/chain/internal/benchload"
	"github.com/chainrep/chain/internal/benchload/histogram"
)

func main() { benchload.Main("floor", run) }

// options are the command's flags.
type options struct {
	inflight, size int
	duration       time.Duration
	count          int64
	json           bool
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.inflight, "c", 1, "messages in flight")
	fs.IntVar(&o.size, "size", 100, "message bytes (at least 8: the first 8 carry its number)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to run (unless -n)")
	fs.Int64Var(&o.count, "n", 0, "messages to send around the loop (0: run for -d)")
	fs.BoolVar(&o.json, "json", false, "print the summary as one JSON object, as benchit -json does")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.inflight < 1 || o.size < 8 || o.size > 1<<20 || o.duration <= 0 || o.count < 0:
		return o, fmt.Errorf("-c %d, -size %d, -d %v, -n %d: need -c >= 1, 8 <= -size <= 1 MiB, -d > 0, -n >= 0",
			o.inflight, o.size, o.duration, o.count)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	out, back, closeLoop, err := openLoop()
	if err != nil {
		return err
	}
	defer closeLoop()
	h, elapsed, cpu, err := circulate(ctx, o, out, back)
	if err != nil {
		return err
	}
	s := histogram.Summarize(histogram.Run{Mode: "floor-4hop", Workers: 1, Inflight: o.inflight, Size: o.size,
		Elapsed: elapsed, CPU: cpu}, h)
	if o.json {
		return s.WriteJSON(stdout)
	}
	return s.WriteText(stdout)
}

// openLoop makes the loop: the client's connection to the first relay
// (out), three relays each copying what it reads to the next hop, and the
// connection on which the last relay's bytes come back to the client
// (back). closeLoop closes every connection and listener and waits for
// the relays.
func openLoop() (out, back net.Conn, closeLoop func(), err error) {
	var closers []io.Closer
	var wg sync.WaitGroup
	closeLoop = func() {
		for _, c := range closers {
			_ = c.Close()
		}
		wg.Wait()
	}
	// Listeners: three relays and the client's return address.
	var lns []net.Listener
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			closeLoop()
			return nil, nil, nil, fmt.Errorf("listen: %w", err)
		}
		closers = append(closers, ln)
		lns = append(lns, ln)
	}
	// Hop i dials listener i; what listener i accepts is copied to hop i+1.
	conns := make([]net.Conn, 4)
	accepted := make([]net.Conn, 4)
	for i, ln := range lns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			closeLoop()
			return nil, nil, nil, fmt.Errorf("dial: %w", err)
		}
		a, err := ln.Accept()
		if err != nil {
			_ = c.Close()
			closeLoop()
			return nil, nil, nil, fmt.Errorf("accept: %w", err)
		}
		closers = append(closers, c, a)
		conns[i], accepted[i] = c, a
	}
	for i := range 3 {
		wg.Go(func() {
			_, _ = io.Copy(conns[i+1], accepted[i])
			_ = conns[i+1].(*net.TCPConn).CloseWrite() // the end of the stream goes on round the loop
		})
	}
	return conns[0], accepted[3], closeLoop, nil
}

// circulate sends messages on out, at most o.inflight of them not yet
// back, until o.count have been sent or o.duration has passed, then ends
// out's stream; it reads them back on back until the end of the stream
// comes round, and returns their round-trip times, the time from the
// first send to the last return, and the process's CPU time meanwhile.
// The loop keeps the messages in order, so the number a message carries
// finds its send time in a ring of o.inflight.
func circulate(ctx context.Context, o options, out, back net.Conn) (*histogram.Histogram, time.Duration, time.Duration, error) {
	b := benchload.NewBudget(o.count)
	if o.count == 0 {
		t := time.AfterFunc(o.duration, b.Stop)
		defer t.Stop()
	}
	stopOnCancel := context.AfterFunc(ctx, b.Stop)
	defer stopOnCancel()

	// sent[n%inflight] is when message n was sent, in nanoseconds since
	// start; atomic, since the message itself travels by the kernel, which
	// orders nothing for the race detector.
	sent := make([]atomic.Int64, o.inflight)
	tokens := make(chan struct{}, o.inflight)
	for range o.inflight {
		tokens <- struct{}{}
	}
	senderDone := make(chan error, 1)
	start, cpuStart := time.Now(), benchload.ProcessCPU()
	go func() {
		bw := bufio.NewWriterSize(out, 64<<10)
		msg := make([]byte, o.size)
		var err error
		for n := uint64(0); err == nil; {
			<-tokens
			if !b.Next() {
				break
			}
			for more := true; more && err == nil; {
				binary.LittleEndian.PutUint64(msg, n)
				sent[n%uint64(o.inflight)].Store(int64(time.Since(start)))
				n++
				_, err = bw.Write(msg)
				select { // more tokens at once: their messages go in the same write
				case <-tokens:
					more = b.Next()
				default:
					more = false
				}
			}
			if err == nil {
				err = bw.Flush()
			}
		}
		if err == nil {
			err = out.(*net.TCPConn).CloseWrite()
		}
		senderDone <- err
	}()

	h := histogram.New()
	br := bufio.NewReaderSize(back, 64<<10)
	msg := make([]byte, o.size)
	for n := uint64(0); ; n++ {
		if _, err := io.ReadFull(br, msg); errors.Is(err, io.EOF) {
			break // the end of the stream: every message sent is back
		} else if err != nil {
			return nil, 0, 0, fmt.Errorf("receive message %d: %w", n, err)
		}
		if got := binary.LittleEndian.Uint64(msg); got != n {
			return nil, 0, 0, fmt.Errorf("message %d came back as number %d", n, got)
		}
		h.Record(time.Since(start) - time.Duration(sent[n%uint64(o.inflight)].Load()))
		tokens <- struct{}{}
	}
	elapsed, cpu := time.Since(start), benchload.ProcessCPU()-cpuStart
	if err := <-senderDone; err != nil {
		return nil, 0, 0, fmt.Errorf("send: %w", err)
	}
	return h, elapsed, cpu, nil
}
