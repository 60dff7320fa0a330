package module

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCounterValue(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want uint64
		ok   bool
	}{
		{int64(5), 5, true},
		{uint64(1 << 63), 1 << 63, true},
		{int64(-1), 1<<64 - 1, true}, // a wrapped gauge, as the daemon's uint64
		{2.0, 2, true},
		{2.5, 0, false},
		{"5", 0, false},
		{nil, 0, false},
	} {
		got, err := counterValue("p", tc.v)
		if !tc.ok {
			require.Error(t, err, "%v", tc.v)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}
