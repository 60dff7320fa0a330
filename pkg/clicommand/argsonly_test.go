package clicommand

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// TestRequestCmd: a handler that can read the request (Handle, Legacy)
// gets the validated values in req.Cmd; the typed handlers, which see
// only their arguments, bind the same values without that map.
func TestRequestCmd(t *testing.T) {
	type args struct {
		Meta `prefix:"t cmd"`
		Name string
		N    *int
	}
	var got *objectformat.Request
	keep := objectformat.HandlerFunc(func(_ context.Context, req *objectformat.Request) objectformat.Result {
		got = req
		return objectformat.Result{}
	})
	call := Call{Cmd: map[string]any{"prefix": "t cmd", "name": "x", "n": "3", "format": "json"}, Perm: "rw"}
	ctx := context.Background()

	res := Handle[args](keep).Call(ctx, call)
	require.Zero(t, res.Retval, res.Stderr)
	require.Equal(t, map[string]any{"prefix": "t cmd", "name": "x", "n": int64(3), "format": "json"}, got.Cmd)
	require.Equal(t, "x", got.Args.(*args).Name)

	res = Legacy("t cmd name=name,type=CephString", "", "rw", keep).Call(ctx, Call{Cmd: map[string]any{"prefix": "t cmd", "name": "x"}, Perm: "rw"})
	require.Zero(t, res.Retval, res.Stderr)
	require.Equal(t, map[string]any{"prefix": "t cmd", "name": "x"}, got.Cmd)

	var bound *args
	res = Func(func(_ context.Context, a *args) objectformat.Result { bound = a; return objectformat.Result{} }).Call(ctx, call)
	require.Zero(t, res.Retval, res.Stderr)
	require.Equal(t, "x", bound.Name)
	require.Equal(t, 3, *bound.N)
	res = Func(func(_ context.Context, a *args) objectformat.Result { return objectformat.Result{} }).Call(ctx,
		Call{Cmd: map[string]any{"prefix": "t cmd", "name": "x", "n": "three"}, Perm: "rw"})
	require.Equal(t, -22, res.Retval, "the values are still validated")
}
