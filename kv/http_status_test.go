package kv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain"
	"github.com/chainrep/chain/wire"
)

func TestStatusFor(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("kv: put %q: %w", "k", err) }
	tests := []struct {
		err  error
		want int
	}{
		{wrap(chain.ErrInvalidArgument), http.StatusBadRequest},
		{wrap(chain.ErrTooLarge), http.StatusRequestEntityTooLarge},
		{wrap(&chain.RemoteError{Code: wire.CodeTooLarge}), http.StatusRequestEntityTooLarge},
		{wrap(&chain.RemoteError{Code: wire.CodeBusy}), http.StatusServiceUnavailable},
		{wrap(chain.ErrBusy), http.StatusServiceUnavailable},
		{wrap(chain.ErrClosed), http.StatusServiceUnavailable},
		{wrap(context.DeadlineExceeded), http.StatusServiceUnavailable},
		{wrap(context.Canceled), http.StatusServiceUnavailable},
		{wrap(&chain.RemoteError{Code: wire.CodeCommandFailed, Message: "boom"}), http.StatusInternalServerError},
		{errors.New("anything else"), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, statusFor(tc.err), "%v", tc.err)
	}
}
