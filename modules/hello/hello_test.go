package hello_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/gomgr/gomgr/modules/hello"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// TestHello checks the outputs of Ceph's Python hello module, run as a
// user runs it.
func TestHello(t *testing.T) {
	h := moduletest.Start(t, "hello")
	for _, tc := range []struct {
		line, out, err string
		retval         int
	}{
		{line: "hello", out: "Hello world!"},
		{line: "hello Bob", out: "Hello, Bob!"},
		{line: "count 3", out: "Hello, I am the count!\n1, 2, 3!"},
		{line: "count 1", out: "Hello, I am the count!\n1!"},
		{line: "count 11", retval: -22, err: "That's too big a number"},
		{line: "count 0", retval: -22, err: "That's too small a number"},
	} {
		res := h.Run(tc.line)
		require.Equal(t, [3]any{tc.retval, tc.out, tc.err}, [3]any{res.Retval, string(res.Stdout), res.Stderr}, tc.line)
	}
	require.Equal(t, -22, h.Run("count three").Retval, "the ceph CLI's matcher refuses what is not an integer")

	require.NoError(t, h.SetOption("place", "Mars"))
	require.NoError(t, h.SetOption("emphatic", false))
	require.Equal(t, "Hello Mars", h.Out("hello"))
	require.EqualError(t, h.SetOption("foo", "z"), "error parsing value: 'z' is not one of the permitted values: a, b, c")

	// Bool options read as Ceph's Option::parse_value does (the monitor's
	// text for "ceph config set mgr mgr/<module>/<bool option> maybe").
	require.EqualError(t, h.SetOption("emphatic", "maybe"), "error parsing value: Expected option value to be integer, got 'maybe'")
	require.Equal(t, "Hello Mars", h.Out("hello"), "a refused value changes nothing")
	require.NoError(t, h.SetOption("emphatic", 2))
	require.Equal(t, "Hello Mars!", h.Out("hello"), "a nonzero integer is true")
}
