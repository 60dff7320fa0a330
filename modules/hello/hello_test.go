package hello_test

import (
	"context"
	"testing"

	_ "github.com/gomgr/gomgr/modules/hello"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
	"github.com/stretchr/testify/require"
)

func start(t *testing.T) *module.Manager {
	t.Helper()
	info, ok := module.Default.Lookup("hello")
	require.True(t, ok)
	reg := module.NewRegistry()
	require.NoError(t, reg.Register(info))
	m, err := module.NewManager(module.Config{MgrID: "x", Registry: reg, Backend: module.NewMemoryBackend()})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(m.Close)
	_, err = m.Enable(context.Background(), "hello", false)
	require.NoError(t, err)
	return m
}

// TestHello checks the outputs of Ceph's Python hello module.
func TestHello(t *testing.T) {
	m := start(t)
	ctx := context.Background()
	run := func(cmd map[string]any) objectformat.Result {
		return m.Dispatch(ctx, clicommand.Call{Cmd: cmd})
	}
	for _, tc := range []struct {
		cmd  map[string]any
		want objectformat.Result
	}{
		{map[string]any{"prefix": "hello"}, objectformat.OK("Hello world!")},
		{map[string]any{"prefix": "hello", "person_name": "Bob"}, objectformat.OK("Hello, Bob!")},
		{map[string]any{"prefix": "count", "num": 3}, objectformat.OK("Hello, I am the count!\n1, 2, 3!")},
		{map[string]any{"prefix": "count", "num": 1}, objectformat.OK("Hello, I am the count!\n1!")},
		{map[string]any{"prefix": "count", "num": 11}, objectformat.Failed(-22, "That's too big a number")},
		{map[string]any{"prefix": "count", "num": 0}, objectformat.Failed(-22, "That's too small a number")},
	} {
		require.Equal(t, tc.want.String(), run(tc.cmd).String(), "%v", tc.cmd)
	}
	require.NoError(t, m.SetOption(ctx, "hello", "", "place", "Mars"))
	require.NoError(t, m.SetOption(ctx, "hello", "", "emphatic", false))
	require.Equal(t, "Hello Mars", string(run(map[string]any{"prefix": "hello"}).Stdout))
	err := m.SetOption(ctx, "hello", "", "foo", "z")
	require.EqualError(t, err, "error parsing value: 'z' is not one of the permitted values: a, b, c")
	require.Equal(t, -22, objectformat.ErrnoOf(err))

	// Bool options read as Ceph's Option::parse_value does (the monitor's
	// text for "ceph config set mgr mgr/<module>/<bool option> maybe").
	err = m.SetOption(ctx, "hello", "", "emphatic", "maybe")
	require.EqualError(t, err, "error parsing value: Expected option value to be integer, got 'maybe'")
	require.Equal(t, -22, objectformat.ErrnoOf(err))
	require.Equal(t, "Hello Mars", string(run(map[string]any{"prefix": "hello"}).Stdout), "a refused value changes nothing")
	require.NoError(t, m.SetOption(ctx, "hello", "", "emphatic", "2"))
	require.Equal(t, "Hello Mars!", string(run(map[string]any{"prefix": "hello"}).Stdout), "a nonzero integer is true")
}
