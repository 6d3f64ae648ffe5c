package faultsuite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDraw(t *testing.T) {
	const ft = 2 * time.Second
	require.Equal(t, Draw(7, 4, ft), Draw(7, 4, ft), "a seed draws one schedule")
	kinds := map[Kind]bool{}
	for seed := range uint64(300) {
		s := Draw(seed, 4, ft)
		require.Len(t, s.Steps, 4)
		once := map[Kind]int{}
		for _, st := range s.Steps {
			kinds[st.Kind] = true
			once[st.Kind]++
			switch st.Kind {
			case PauseNode, PauseLeader:
				require.True(t, st.Hold < ft/2 || st.Hold > 3*ft/2, "a pause well under or over the failure timeout: %v", st)
			case CutHeadLink:
				require.True(t, st.Hold >= 2*ft && st.Hold < 4*ft, "a cut outlasts the link timeout: %v", st)
			default:
				require.True(t, st.Hold >= ft && st.Hold < 3*ft, "%v", st)
			}
		}
		require.LessOrEqual(t, once[AddNode], 1, s.String())
		require.LessOrEqual(t, once[Rolling], 1, s.String())
		require.LessOrEqual(t, once[KillMidConfig], 1, s.String())
	}
	require.Len(t, kinds, 16, "300 schedules use every kind")
}
