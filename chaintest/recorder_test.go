package chaintest

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRecorderConcurrent records a history of concurrent clients working on
// a mutex-protected log, which is linearizable by construction, and checks
// the recorder's bookkeeping and the history.
func TestRecorderConcurrent(t *testing.T) {
	const clients, perClient = 8, 50
	rec := NewRecorder()
	var (
		mu  sync.Mutex
		log []string
	)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				switch i % 5 {
				case 0, 1: // append
					data := fmt.Sprintf("c%d-%d", c, i)
					p := rec.Begin(c, LogInput{Op: LogAppend, Data: data})
					mu.Lock()
					log = append(log, data)
					off := uint64(len(log))
					mu.Unlock()
					p.End(LogOutput{Offset: off})
				case 2: // read
					from := uint64(i/5 + 1)
					p := rec.Begin(c, LogInput{Op: LogRead, From: from, Max: 3})
					mu.Lock()
					var got []string
					if from <= uint64(len(log)) {
						got = append(got, log[from-1:min(int(from)-1+3, len(log))]...)
					}
					mu.Unlock()
					p.End(LogOutput{Entries: got})
				case 3: // a read that failed: left out
					p := rec.Begin(c, LogInput{Op: LogRead, From: 1, Max: 1})
					p.Discard()
				case 4: // an append that may or may not have happened
					data := fmt.Sprintf("u%d-%d", c, i)
					p := rec.Begin(c, LogInput{Op: LogAppend, Data: data})
					if i%10 == 4 {
						mu.Lock()
						log = append(log, data)
						mu.Unlock()
					}
					p.Unknown(LogOutput{Unknown: true})
				}
			}
		}()
	}
	// Read the recorder concurrently with the writers.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			_ = rec.Operations()
			_ = rec.Len()
		}
	}()
	wg.Wait()
	<-done

	ops := rec.Operations()
	require.Len(t, ops, clients*perClient*4/5)
	require.Equal(t, len(ops), rec.Len())
	unknown := 0
	for _, o := range ops {
		require.GreaterOrEqual(t, o.Call, int64(0))
		require.LessOrEqual(t, o.Call, o.Return)
		if o.Output.(LogOutput).Unknown {
			unknown++
			require.Equal(t, int64(math.MaxInt64), o.Return)
		} else {
			require.Less(t, o.Return, int64(math.MaxInt64))
		}
	}
	require.Equal(t, clients*perClient/5, unknown)

	// Operations returns a copy.
	cp := rec.Operations()
	cp[0].Input = nil
	require.NotNil(t, rec.Operations()[0].Input)

	CheckLinearizable(t, LogModel(), ops, 0)
}

func TestRecorderTimestampsAndMisuse(t *testing.T) {
	rec := NewRecorder()
	a := rec.Begin(0, LogInput{Op: LogAppend, Data: "a"})
	b := rec.Begin(1, LogInput{Op: LogAppend, Data: "b"})
	a.End(LogOutput{Offset: 1})
	c := rec.Begin(0, LogInput{Op: LogRead, From: 1, Max: 1})
	b.End(LogOutput{Offset: 2})
	c.End(LogOutput{Entries: []string{"a"}})

	ops := rec.Operations()
	require.Len(t, ops, 3)
	// Completion order; real-time order is preserved by the timestamps.
	require.Equal(t, "a", ops[0].Input.(LogInput).Data)
	require.Equal(t, "b", ops[1].Input.(LogInput).Data)
	require.Equal(t, LogRead, ops[2].Input.(LogInput).Op)
	require.Equal(t, 1, ops[1].ClientId)
	require.LessOrEqual(t, ops[0].Call, ops[1].Call)
	require.LessOrEqual(t, ops[0].Return, ops[2].Call)
	require.LessOrEqual(t, ops[2].Call, ops[1].Return)

	require.Panics(t, func() { a.End(LogOutput{Offset: 1}) })
	require.Panics(t, func() { a.Unknown(LogOutput{Unknown: true}) })
	d := rec.Begin(0, LogInput{Op: LogRead, From: 1, Max: 1})
	d.Discard()
	require.Panics(t, func() { d.Discard() })
	rec.Begin(2, LogInput{Op: LogRead, From: 1, Max: 1}) // never finished: left out
	require.Equal(t, 3, rec.Len())
}
