package wire

// PullRequest is sent by a node to its predecessor: "stream me entries from
// Next". The predecessor sends batches as entries arrive, up to a few
// responses ahead of the last pull it received; the successor sends a pull
// for every response it takes, which acknowledges every entry below Next,
// reports the sender's commit point (how the commit point flows up the
// chain) and lets the stream go on.
type PullRequest struct {
	Epoch uint64 `codec:"ep"`
	// Run identifies one run of the successor's puller, so the
	// predecessor can tell a reordered old pull from a restarted puller.
	Run    uint64 `codec:"s"`
	Next   uint64 `codec:"n"`
	Commit uint64 `codec:"c"`
	// MaxBytes bounds the size of the response's entries.
	MaxBytes int `codec:"mb,omitempty"`
	// Restart asks the predecessor to stream from Next again, discarding
	// what it sent beyond: the successor started, or missed a response.
	// Without it the pull only acknowledges the entries below Next and
	// reports the commit point, and the stream goes on.
	Restart bool `codec:"rs,omitempty"`
}

// Kind implements Message.
func (*PullRequest) Kind() MessageKind { return KindPullRequest }

// PullResponse answers a PullRequest with the entries from From on (none when
// the predecessor has nothing new before its poll interval ends) and the
// predecessor's commit point.
type PullResponse struct {
	Epoch  uint64 `codec:"ep"`
	From   uint64 `codec:"f"`
	Commit uint64 `codec:"c"`
	// Last is the predecessor's last offset when it answered.
	Last    uint64  `codec:"l"`
	Entries []Entry `codec:"es,omitempty"`
	// Err is set when the predecessor cannot serve From (for example, it
	// no longer holds those entries).
	Err *RemoteError `codec:"er,omitempty"`
}

// Kind implements Message.
func (*PullResponse) Kind() MessageKind { return KindPullResponse }

// CommitNotice tells a node's predecessor that its commit point advanced
// while no pull was due.
type CommitNotice struct {
	Epoch  uint64 `codec:"ep"`
	Commit uint64 `codec:"c"`
}

// Kind implements Message.
func (*CommitNotice) Kind() MessageKind { return KindCommitNotice }
