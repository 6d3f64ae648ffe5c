package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// countFSM is the trivial state machine: it counts the entries applied to
// it and their bytes. It is safe for concurrent use (raft applies from one
// goroutine; the counters may be read from any).
type countFSM struct {
	entries atomic.Uint64
	bytes   atomic.Uint64
}

var _ raft.BatchingFSM = (*countFSM)(nil)

// Apply applies one committed entry and returns nil.
func (f *countFSM) Apply(l *raft.Log) any {
	if l.Type == raft.LogCommand {
		f.entries.Add(1)
		f.bytes.Add(uint64(len(l.Data)))
	}
	return nil
}

// ApplyBatch applies committed entries in order; raft hands it up to
// MaxAppendEntries at a time.
func (f *countFSM) ApplyBatch(logs []*raft.Log) []any {
	var n, b uint64
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			n++
			b += uint64(len(l.Data))
		}
	}
	f.entries.Add(n)
	f.bytes.Add(b)
	return make([]any, len(logs))
}

// Snapshot captures the counters.
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnapshot{f.entries.Load(), f.bytes.Load()}, nil
}

// Restore replaces the counters with a snapshot's.
func (f *countFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var buf [16]byte
	if _, err := io.ReadFull(rc, buf[:]); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.entries.Store(binary.BigEndian.Uint64(buf[:8]))
	f.bytes.Store(binary.BigEndian.Uint64(buf[8:]))
	return nil
}

// countSnapshot is a countFSM's state at a point of the log.
type countSnapshot struct{ entries, bytes uint64 }

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], s.entries)
	binary.BigEndian.PutUint64(buf[8:], s.bytes)
	if _, err := sink.Write(buf[:]); err != nil {
		return fmt.Errorf("persist snapshot: %w", errors.Join(err, sink.Cancel()))
	}
	return sink.Close()
}

func (countSnapshot) Release() {}
