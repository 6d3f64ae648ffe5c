package wire_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/wire"
)

// TestRemoteErrorMatchesItsCode: a reply's error matches the code it
// carries (the value of the sentinel a user checks), and no other; codes
// that stand for no sentinel match nothing.
func TestRemoteErrorMatchesItsCode(t *testing.T) {
	re := &wire.RemoteError{Code: wire.CodeNotHead, Redirect: "n1"}
	require.ErrorIs(t, re, wire.CodeNotHead)
	require.NotErrorIs(t, re, wire.CodeNotTail)
	require.ErrorIs(t, fmt.Errorf("call: %w", re), wire.CodeNotHead)
	require.Equal(t, "chain: not the head (try n1)", re.Error())

	internal := &wire.RemoteError{Code: wire.CodeInternal, Message: "disk"}
	require.NotErrorIs(t, internal, wire.CodeInternal)
	require.Equal(t, "chain: remote error: disk", internal.Error())

	var nilErr *wire.RemoteError
	require.False(t, nilErr.Is(wire.CodeNotHead))
}

// TestCodeIsAnError: a wrapped code is found by errors.Is and errors.As,
// and each code has its own text.
func TestCodeIsAnError(t *testing.T) {
	err := fmt.Errorf("decode: %w: empty", wire.CodeInvalidArgument)
	require.ErrorIs(t, err, wire.CodeInvalidArgument)
	var code wire.Code
	require.True(t, errors.As(err, &code))
	require.Equal(t, wire.CodeInvalidArgument, code)
	require.Equal(t, "decode: chain: invalid argument: empty", err.Error())

	texts := map[string]wire.Code{}
	for c := wire.CodeOK; c <= wire.CodeInternal+1; c++ {
		prev, dup := texts[c.Error()]
		require.False(t, dup, "codes %d and %d share the text %q", prev, c, c.Error())
		texts[c.Error()] = c
	}
}
