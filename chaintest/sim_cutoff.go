package chaintest

// cutOffs counts, by server (node, in a chain), the isolations and pauses
// of the steps in force. The network keeps the two apart (Isolate and
// Reconnect, Hold and Release), and the end of one ends only itself: a
// server paused while isolated is cut off until the isolation ends too,
// not from the end of the pause (seed 1949211192598794111 of the root
// package's TestKVUnderSimulatedFaults: server 1, isolated for 1.1 s,
// was paused twice meanwhile; from the first release it counted as
// reachable, so server 3, the other replica of chain c1, was crashed; the
// masters removed server 1's replica, which held c1's log, and kept the
// crashed one, and c1 lost every entry).
type cutOffs map[int]int

// begin records a step that cuts server i off.
func (c cutOffs) begin(i int) { c[i]++ }

// end records the end of a step that began cutting server i off.
func (c cutOffs) end(i int) {
	if c[i] <= 1 {
		delete(c, i)
		return
	}
	c[i]--
}

// on reports whether a step in force cuts server i off.
func (c cutOffs) on(i int) bool { return c[i] > 0 }
