package evalfake

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
)

func TestIncomplete(t *testing.T) {
	for src, want := range map[string]bool{
		"print(1)":                   false,
		"x = (":                      true,
		"def f():":                   true,
		"def f():\n  return 42":      true,
		"def f():\n  return 42\n":    false,
		"if True:\n  x = 1\n":        false,
		"1 +":                        false, // a syntax error, not incomplete
		"a = 1\nb = 2\n":             false,
		"for i in range(3):\n  pass": true,
	} {
		assert.Equal(t, want, Incomplete(src), "%q", src)
	}
}

func TestEval(t *testing.T) {
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(Info()))
	mgr, err := modhost.NewManager(modhost.Config{MgrID: "x", Version: "gomgr version test", Registry: reg, Backend: backend.NewMemoryBackend()})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, mgr.Start(ctx))
	t.Cleanup(mgr.Close)
	_, err = mgr.Enable(ctx, Name, false)
	require.NoError(t, err)
	call := func(src string, extra ...string) (int, string, string) {
		cmd := map[string]any{"prefix": Prefix}
		if len(extra) == 2 {
			cmd[extra[0]] = extra[1]
		}
		res := mgr.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: cmd, Inbuf: []byte(src)})
		return res.Retval, string(res.Stdout), res.Stderr
	}
	rv, out, _ := call("print(mgr.version)")
	assert.Equal(t, 0, rv)
	assert.Equal(t, "gomgr version test\n", out)
	rv, _, _ = call("def f():\n  return 42")
	assert.Equal(t, 2, rv)
	rv, _, _ = call("def f():\n  return 42\n")
	assert.Equal(t, 0, rv)
	rv, out, _ = call("f()")
	assert.Equal(t, 0, rv)
	assert.Equal(t, "42\n", out)
	rv, _, errOut := call("1/0")
	assert.Equal(t, 0, rv)
	assert.Contains(t, errOut, "division by zero")
	rv, out, _ = call("", "complete", "mgr.ve")
	assert.Equal(t, 0, rv)
	assert.Equal(t, "mgr.version", out)
	_, out, _ = call("", "complete", "pri")
	assert.Equal(t, "print", out)
	rv, _, errOut = call("")
	assert.Equal(t, -22, rv)
	assert.Equal(t, "source is not specified", errOut)
}
