package bench

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVerdicts(t *testing.T) {
	for _, c := range []struct {
		got  string
		want string
	}{
		{AtLeast(12, 10), "yes"},
		{AtLeast(10, 10), "yes"},
		{AtLeast(4, 10), "**no** (2.5x short: 4.00x of 10x)"},
		{AtMost(1.2, 1.3), "yes"},
		{AtMost(1.56, 1.3), "**no** (20% over: 1.56x for ≤ 1.3x)"},
	} {
		require.Equal(t, c.want, c.got)
	}
	require.Equal(t, 4.0, Faster(time.Second, 4*time.Second))
	require.Equal(t, 0.0, Faster(0, time.Second))
}

func TestInterleave(t *testing.T) {
	var order []int
	times := [][]time.Duration{{5, 3, 4}, {7, 9, 6}}
	side := func(i int) func() (time.Duration, error) {
		n := 0
		return func() (time.Duration, error) {
			order = append(order, i)
			n++
			return times[i][n-1], nil
		}
	}
	best, err := Interleave(3, side(0), side(1))
	require.NoError(t, err)
	require.Equal(t, []time.Duration{3, 6}, best)
	require.Equal(t, []int{0, 1, 0, 1, 0, 1}, order, "alternated")
	boom := errors.New("boom")
	_, err = Interleave(2, func() (time.Duration, error) { return 0, boom })
	require.ErrorIs(t, err, boom)
}
