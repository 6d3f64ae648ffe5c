package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The client hop (-client-hop): a service built on raft takes its
// clients' writes over the network, so raft's operations then cross it
// too, as chain's do. applyServer runs in the leader's process and applies
// what its clients send; remoteClient is one worker's connection to it.
// Both batch like chain's client and transport: every frame queued while a
// write is prepared goes out in the same write.
//
// Request frame: id (8 bytes), payload length (4 bytes), payload.
// Response frame: id (8 bytes), status (1 byte: 0 applied, 1 failed).

const (
	requestHeader  = 12
	responseLength = 9
	maxPayload     = 16 << 20
)

// applyServer serves raft.Apply on the leader to TCP clients.
type applyServer struct {
	r       *raft.Raft
	timeout time.Duration
	ln      net.Listener
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startApplyServer listens on a free loopback port and serves r.
func startApplyServer(r *raft.Raft, timeout time.Duration) (*applyServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("apply server: %w", err)
	}
	s := &applyServer{r: r, timeout: timeout, ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.accept)
	return s, nil
}

func (s *applyServer) addr() string { return s.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for the
// server's goroutines.
func (s *applyServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *applyServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serve(c) })
	}
}

// pendingApply is an applied request whose future the responder awaits.
type pendingApply struct {
	id  uint64
	fut raft.ApplyFuture
}

// serve reads requests and applies them; a responder goroutine answers
// each once its future resolves (in log order, as the leader applies),
// flushing when it has no more resolved futures to write.
func (s *applyServer) serve(c net.Conn) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	pending := make(chan pendingApply, 4096)
	var responder sync.WaitGroup
	responder.Go(func() {
		bw := bufio.NewWriterSize(c, 64<<10)
		var frame [responseLength]byte
		for p := range pending {
			binary.BigEndian.PutUint64(frame[:8], p.id)
			frame[8] = 0
			if p.fut.Error() != nil {
				frame[8] = 1
			}
			if _, err := bw.Write(frame[:]); err != nil {
				continue // the reader sees the connection fail too
			}
			if len(pending) == 0 {
				_ = bw.Flush()
			}
		}
	})
	br := bufio.NewReaderSize(c, 64<<10)
	var header [requestHeader]byte
	for {
		if _, err := io.ReadFull(br, header[:]); err != nil {
			break
		}
		n := binary.BigEndian.Uint32(header[8:])
		if n > maxPayload {
			break
		}
		payload := make([]byte, n) // raft keeps it in its log
		if _, err := io.ReadFull(br, payload); err != nil {
			break
		}
		pending <- pendingApply{id: binary.BigEndian.Uint64(header[:8]), fut: s.r.Apply(payload, s.timeout)}
	}
	close(pending)
	responder.Wait()
}

// errConnLost is the error of operations whose connection failed.
var errConnLost = errors.New("connection to the apply server lost")

// remoteClient is a worker's connection to the apply server; its slots
// share it, their requests and responses matched by id.
type remoteClient struct {
	c  net.Conn
	wg sync.WaitGroup

	mu       sync.Mutex
	bw       *bufio.Writer
	flushing bool // a flush is scheduled
	waiting  map[uint64]chan error
	nextID   uint64
	err      error // set once the connection failed
}

func dialApplyServer(addr string) (*remoteClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial apply server: %w", err)
	}
	rc := &remoteClient{c: c, bw: bufio.NewWriterSize(c, 64<<10), waiting: map[uint64]chan error{}}
	rc.wg.Go(rc.receive)
	return rc, nil
}

// apply sends payload and waits for the server's answer.
func (rc *remoteClient) apply(payload []byte) error {
	done := make(chan error, 1)
	rc.mu.Lock()
	if rc.err != nil {
		rc.mu.Unlock()
		return rc.err
	}
	id := rc.nextID
	rc.nextID++
	rc.waiting[id] = done
	var header [requestHeader]byte
	binary.BigEndian.PutUint64(header[:8], id)
	binary.BigEndian.PutUint32(header[8:], uint32(len(payload)))
	_, _ = rc.bw.Write(header[:])
	_, _ = rc.bw.Write(payload)
	if !rc.flushing {
		rc.flushing = true
		go rc.flush()
	}
	rc.mu.Unlock()
	return <-done
}

// flush writes what the slots queued; it first yields once, so that
// slots already runnable queue their requests into the same write.
func (rc *remoteClient) flush() {
	runtime.Gosched()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.flushing = false
	if err := rc.bw.Flush(); err != nil {
		rc.failLocked(fmt.Errorf("%w: %v", errConnLost, err))
	}
}

// receive delivers responses until the connection fails.
func (rc *remoteClient) receive() {
	br := bufio.NewReaderSize(rc.c, 64<<10)
	var frame [responseLength]byte
	for {
		if _, err := io.ReadFull(br, frame[:]); err != nil {
			rc.mu.Lock()
			rc.failLocked(fmt.Errorf("%w: %v", errConnLost, err))
			rc.mu.Unlock()
			return
		}
		id := binary.BigEndian.Uint64(frame[:8])
		var err error
		if frame[8] != 0 {
			err = errors.New("raft apply failed on the server")
		}
		rc.mu.Lock()
		done := rc.waiting[id]
		delete(rc.waiting, id)
		rc.mu.Unlock()
		if done != nil {
			done <- err
		}
	}
}

// failLocked fails every waiting operation with err; rc.mu must be held.
func (rc *remoteClient) failLocked(err error) {
	if rc.err == nil {
		rc.err = err
	}
	for id, done := range rc.waiting {
		done <- rc.err
		delete(rc.waiting, id)
	}
}

// Close closes the connection and waits for the receiver.
func (rc *remoteClient) Close() error {
	err := rc.c.Close()
	rc.wg.Wait()
	return err
}
