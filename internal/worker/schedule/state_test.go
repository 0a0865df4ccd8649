package schedule

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRememberPatch: a request ID is new once; the last
// maxPatchRequestIDs are kept, older ones forgotten; empty is always new.
func TestRememberPatch(t *testing.T) {
	st := &state{}
	require.True(t, st.rememberPatch("a"))
	require.False(t, st.rememberPatch("a"))
	require.True(t, st.rememberPatch(""))
	require.True(t, st.rememberPatch(""))
	for i := range maxPatchRequestIDs {
		require.True(t, st.rememberPatch(fmt.Sprint(i)))
	}
	require.Len(t, st.PatchRequestIDs, maxPatchRequestIDs)
	require.False(t, st.rememberPatch(fmt.Sprint(maxPatchRequestIDs-1)))
	require.True(t, st.rememberPatch("a"), "the oldest ID was forgotten")
}
