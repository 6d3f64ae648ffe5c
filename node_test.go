package chain_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/chainrep/chain"
	"github.com/chainrep/chain/chaintest"
)

func TestSmokeAppendReadQuery(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			c := chaintest.Start(t, chaintest.Options{Nodes: nodes})
			cl := c.Client()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := 1; i <= 20; i++ {
				off, err := cl.Append(ctx, []byte(fmt.Sprintf("e%d", i)))
				require.NoError(t, err)
				require.Equal(t, uint64(i), off)
			}
			ents, err := cl.Read(ctx, 1, 100)
			require.NoError(t, err)
			require.Len(t, ents, 20)
			require.Equal(t, "e7", string(ents[6].Data))
			latest, err := cl.Latest(ctx)
			require.NoError(t, err)
			require.Equal(t, uint64(20), latest)
			require.NoError(t, c.WaitConverged(ctx))
			require.Zero(t, c.CheckInvariants())
		})
	}
}
