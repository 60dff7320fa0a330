package prometheus

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBoundedCache: a value is worked out once while there is room;
// past maxCached it is worked out each time, and the cache stays at
// its bound.
func TestBoundedCache(t *testing.T) {
	var c boundedCache[int, int]
	calls := 0
	square := func(k int) func() int { return func() int { calls++; return k * k } }
	require.Equal(t, 9, c.get(3, square(3)))
	require.Equal(t, 9, c.get(3, square(3)))
	require.Equal(t, 1, calls, "cached")
	for k := 0; k < maxCached+10; k++ {
		require.Equal(t, k*k, c.get(k, square(k)))
	}
	require.Len(t, c.m, maxCached)
	calls = 0
	require.Equal(t, (maxCached+5)*(maxCached+5), c.get(maxCached+5, square(maxCached+5)))
	require.Equal(t, (maxCached+5)*(maxCached+5), c.get(maxCached+5, square(maxCached+5)))
	require.Equal(t, 2, calls, "past the bound, worked out each time")
}

func TestKeyOfLabels(t *testing.T) {
	require.Equal(t, labelsKey{}, keyOfLabels(nil))
	require.Equal(t, labelsKey{1, "ceph_daemon"}, keyOfLabels([]string{"ceph_daemon"}))
	require.NotEqual(t, keyOfLabels([]string{"a\x00b"}), keyOfLabels([]string{"a", "b"}), "one name with a NUL is not two names")
}
