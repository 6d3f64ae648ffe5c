package chaintest

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// DefaultCheckTimeout bounds the linearizability check run by
// [CheckLinearizable]. Checking linearizability is NP-hard, but histories of
// a few thousand operations over a handful of concurrent clients usually
// check in a fraction of a second, so hitting this limit means the history
// is too large or too concurrent to check, not that it is probably fine.
const DefaultCheckTimeout = 60 * time.Second

// ErrCheckTimeout is returned by [Linearizable] when the check did not reach
// a verdict within its timeout. Such a history is neither known to be
// linearizable nor known not to be.
var ErrCheckTimeout = errors.New("chaintest: linearizability check timed out")

// CheckLinearizable checks that ops, a history recorded with a [Recorder], is
// linearizable with respect to model (for example [LogModel] or [KVModel]),
// allowing the check [DefaultCheckTimeout].
//
// If the history is linearizable, CheckLinearizable logs the number of
// operations checked and returns. Otherwise it fails the test with
// t.Fatalf, naming seed, the number of operations and, when the history is
// not linearizable, the path of an HTML visualization of the history and its
// longest partial linearizations (open it in a browser). The visualization is
// written to the system's temporary directory and is not removed, so it
// outlives the test; delete it when done. A check that times out also fails
// the test: a check that cannot conclude is not a pass.
//
// seed is not used by the check; it is the seed of the randomized test that
// produced the history, reported on failure so that the run can be
// reproduced. Like t.Fatalf, CheckLinearizable must be called from the
// goroutine running the test.
func CheckLinearizable(t testing.TB, model porcupine.Model, ops []porcupine.Operation, seed int64) {
	t.Helper()
	ok, vizPath, err := Linearizable(model, ops, DefaultCheckTimeout)
	switch {
	case ok:
		t.Logf("chaintest: history of %d operations is linearizable (seed %d)", len(ops), seed)
	case errors.Is(err, ErrCheckTimeout):
		t.Fatalf("chaintest: seed %d: linearizability check of %d operations did not finish within %v; "+
			"a check that cannot conclude is not a pass (record a smaller or less concurrent history, "+
			"and give writes distinct payloads so that unknown writes can be resolved)",
			seed, len(ops), DefaultCheckTimeout)
	case err != nil:
		t.Fatalf("chaintest: seed %d: history of %d operations is not linearizable: %v", seed, len(ops), err)
	default:
		t.Fatalf("chaintest: seed %d: history of %d operations is not linearizable; visualization: %s",
			seed, len(ops), vizPath)
	}
}

// Linearizable checks whether ops is linearizable with respect to model,
// allowing the check at most timeout (zero or negative means no limit). It is
// the test-framework-independent form of [CheckLinearizable].
//
// The results are:
//
//   - linearizable: ok is true, vizPath is empty and err is nil;
//   - not linearizable: ok is false and vizPath names a new HTML file in the
//     system's temporary directory that visualizes the history and its
//     longest partial linearizations; the caller owns the file and should
//     remove it when done. If the visualization cannot be written, vizPath
//     is empty and err says why (the history is still not linearizable);
//   - timed out: ok is false, vizPath is empty and err is [ErrCheckTimeout].
//
// Linearizable does not modify ops.
func Linearizable(model porcupine.Model, ops []porcupine.Operation, timeout time.Duration) (ok bool, vizPath string, err error) {
	if timeout < 0 {
		timeout = 0
	}
	res, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	switch res {
	case porcupine.Ok:
		return true, "", nil
	case porcupine.Unknown:
		return false, "", fmt.Errorf("%w after %v (%d operations)", ErrCheckTimeout, timeout, len(ops))
	}
	vizPath, err = writeVisualization(model, info)
	if err != nil {
		return false, "", fmt.Errorf("chaintest: history is not linearizable, and writing its visualization failed: %w", err)
	}
	return false, vizPath, nil
}

// writeVisualization writes porcupine's visualization of info to a new
// temporary file and returns its path.
func writeVisualization(model porcupine.Model, info porcupine.LinearizationInfo) (string, error) {
	f, err := os.CreateTemp("", "chaintest-linearizability-*.html")
	if err != nil {
		return "", err
	}
	path := f.Name()
	err = porcupine.Visualize(model, info, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}
