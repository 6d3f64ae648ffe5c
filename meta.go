package chain

import (
	"encoding/binary"
	"fmt"
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
