package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
)

// metaCommit is the storage metadata key of the last saved commit point.
const metaCommit = "commit"

// loadCommit returns the commit point saved in st, 0 if none was.
func loadCommit(st Storage) (uint64, error) {
	v, ok, err := st.Meta(metaCommit)
	if err != nil {
		return 0, fmt.Errorf("load commit point: %w", err)
	}
	if !ok {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("load commit point: malformed value of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// saveCommit records the node's commit point in its storage, so a restart
// knows which entries are committed without asking the chain.
func (n *Node) saveCommit() error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], n.log.CommitPoint())
	if err := n.opts.storage.SetMeta(metaCommit, v[:]); err != nil {
		return fmt.Errorf("save commit point: %w", err)
	}
	return nil
}

// metaIncarnation is the storage metadata key of the storage's identity.
const metaIncarnation = "incarnation"

// errSaveIncarnation is loadIncarnation's failure to save a new identity.
var errSaveIncarnation = errors.New("save storage incarnation")

// loadIncarnation returns the identity of the node's storage: the number
// drawn and saved when the node first started on it. A storage without
// one is new, or was wiped (or is in memory): loadIncarnation draws a new
// nonzero number, saves it durably, and reports fresh. Under a master the
// node reports it in its heartbeats, and the master removes a member whose
// storage is not the one it knew (see master: it lost what it had
// acknowledged). A failure to save the new one is errSaveIncarnation
// (with the number drawn): the node fails stop, as on any failed write.
func loadIncarnation(st Storage) (inc uint64, fresh bool, err error) {
	v, ok, err := st.Meta(metaIncarnation)
	if err != nil {
		return 0, false, fmt.Errorf("load storage incarnation: %w", err)
	}
	if ok {
		if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
			return 0, false, fmt.Errorf("load storage incarnation: malformed value %x", v)
		}
		return binary.BigEndian.Uint64(v), false, nil
	}
	for inc == 0 {
		inc = rand.Uint64()
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], inc)
	if err := st.SetMeta(metaIncarnation, b[:]); err != nil {
		return inc, true, fmt.Errorf("%w: %w", errSaveIncarnation, err)
	}
	return inc, true, nil
}

// metaStandby is the storage metadata key that records that a leader
// master told the node it is a standby node of its chain.
const metaStandby = "standby"

// loadStandby reports whether st records that a master held the node as
// a standby node (see Node.noteStandby).
func loadStandby(st Storage) (bool, error) {
	v, ok, err := st.Meta(metaStandby)
	if err != nil {
		return false, fmt.Errorf("load standby mark: %w", err)
	}
	if ok && (len(v) != 1 || v[0] != 1) {
		return false, fmt.Errorf("load standby mark: malformed value %x", v)
	}
	return ok, nil
}

// saveStandby records durably in st that a master held the node as a
// standby node.
func saveStandby(st Storage) error {
	if err := st.SetMeta(metaStandby, []byte{1}); err != nil {
		return fmt.Errorf("save standby mark: %w", err)
	}
	return nil
}
