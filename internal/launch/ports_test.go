package launch_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chainrep/chain/internal/launch"
)

func TestFreePortRange(t *testing.T) {
	base, err := launch.FreePortRange(3)
	require.NoError(t, err)
	for i := range 3 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}
