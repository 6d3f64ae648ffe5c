package kv_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/kv"
)

func TestStorePutGetDelete(t *testing.T) {
	s := kv.New()
	_, found := s.Get("a")
	require.False(t, found)

	s.Put("a", []byte("1"))
	v, found := s.Get("a")
	require.True(t, found)
	require.Equal(t, []byte("1"), v)

	s.Put("a", []byte("2"))
	v, _ = s.Get("a")
	require.Equal(t, []byte("2"), v)
	require.Equal(t, 1, s.Len())

	require.True(t, s.Delete("a"))
	require.False(t, s.Delete("a"))
	_, found = s.Get("a")
	require.False(t, found)
	require.Zero(t, s.Len())
}

func TestStoreEmptyValueIsPresent(t *testing.T) {
	s := kv.New()
	s.Put("nil", nil)
	v, found := s.Get("nil")
	require.True(t, found)
	require.Empty(t, v)
	require.True(t, s.CompareAndSet("nil", []byte{}, true, []byte("x")))
}

func TestStoreCompareAndSet(t *testing.T) {
	tests := []struct {
		name          string
		initial       *string // nil: key absent
		expected      string
		expectedFound bool
		swapped       bool
	}{
		{name: "absent, expect absent", expectedFound: false, swapped: true},
		{name: "absent, expect present", expected: "", expectedFound: true, swapped: false},
		{name: "present, expect absent", initial: ptr("v"), expectedFound: false, swapped: false},
		{name: "present, expect same", initial: ptr("v"), expected: "v", expectedFound: true, swapped: true},
		{name: "present, expect other", initial: ptr("v"), expected: "w", expectedFound: true, swapped: false},
		{name: "present empty, expect empty", initial: ptr(""), expected: "", expectedFound: true, swapped: true},
		{name: "absent, expected ignored", initial: nil, expected: "junk", expectedFound: false, swapped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := kv.New()
			if tc.initial != nil {
				s.Put("k", []byte(*tc.initial))
			}
			before := s.Snapshot()
			got := s.CompareAndSet("k", []byte(tc.expected), tc.expectedFound, []byte("new"))
			require.Equal(t, tc.swapped, got)
			if !tc.swapped {
				require.Equal(t, before, s.Snapshot(), "a failed CAS changes nothing")
				return
			}
			v, found := s.Get("k")
			require.True(t, found)
			require.Equal(t, []byte("new"), v)
		})
	}
}

func TestStoreCopiesValues(t *testing.T) {
	s := kv.New()
	in := []byte("abc")
	s.Put("k", in)
	in[0] = 'X'
	out, _ := s.Get("k")
	require.Equal(t, []byte("abc"), out, "Put copies its input")
	out[0] = 'Y'
	again, _ := s.Get("k")
	require.Equal(t, []byte("abc"), again, "Get returns a copy")
	snap := s.Snapshot()
	snap["k"][0] = 'Z'
	snap["other"] = nil
	require.Equal(t, map[string][]byte{"k": []byte("abc")}, s.Snapshot(), "Snapshot is a deep copy")
}

// TestStoreConcurrent exercises every method at once; run with -race.
func TestStoreConcurrent(t *testing.T) {
	s := kv.New()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := strconv.Itoa(i % 10)
				switch (w + i) % 5 {
				case 0:
					s.Put(k, []byte(k))
				case 1:
					s.Get(k)
				case 2:
					s.Delete(k)
				case 3:
					s.CompareAndSet(k, []byte(k), true, []byte(k))
				default:
					_ = s.Snapshot()
					_ = s.Len()
				}
			}
		})
	}
	wg.Wait()
	for k, v := range s.Snapshot() {
		require.Equal(t, k, string(v))
	}
}

func ptr(s string) *string { return &s }
