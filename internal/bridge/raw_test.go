package bridge

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type bigArgs struct {
	clicommand.Read `prefix:"big" desc:"n bytes of output"`
	N               int
}

// bigMod answers big <n> with n bytes (the first two not UTF-8).
type bigMod struct{}

func (bigMod) Init(*module.Handle) error { return nil }
func (bigMod) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(_ context.Context, a *bigArgs) objectformat.Result {
		return objectformat.Result{Stdout: bigOutput(a.N), Stderr: "said"}
	})}
}

func bigOutput(n int) []byte {
	return []byte(("\xff\x00" + strings.Repeat("x", n))[:n])
}

// TestRawStdout: a shim whose hello has the raw_stdout feature gets a
// large stdout as raw bytes after the reply's frame, and small ones, and
// any to a shim without the feature, in base64.
func TestRawStdout(t *testing.T) {
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "big", New: func() module.Module { return bigMod{} }}))
	sock, _ := startBridgedWith(t, reg)
	ctx := context.Background()

	for _, features := range [][]string{{featureRawStdout, "later"}, nil} {
		p := rvFakeShim(t, sock)
		args := helloArgs("big", nil)
		if features != nil {
			args["features"] = features
		}
		require.NoError(t, p.call(ctx, "hello", args, nil))
		for _, n := range []int{10, rawStdoutMin - 1, rawStdoutMin, 3 << 20} {
			var r commandReply
			require.NoError(t, p.call(ctx, "command", map[string]any{"cmd": map[string]any{"prefix": "big", "n": n}, "inbuf_b64": ""}, &r))
			assert.Equal(t, [2]any{0, "said"}, [2]any{r.Retval, r.Stderr})
			stdout, err := base64.StdEncoding.DecodeString(r.Stdout)
			require.NoError(t, err)
			raw := features != nil && n >= rawStdoutMin
			if raw {
				assert.Empty(t, stdout, "no base64 stdout with raw bytes")
				stdout = r.raw
			} else {
				assert.Nil(t, r.raw, "n=%d: base64", n)
			}
			assert.Equal(t, bigOutput(n), stdout, "n=%d, features %v", n, features)
		}
		p.close()
	}
}
