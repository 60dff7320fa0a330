package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type peekArgs struct {
	clicommand.Read `prefix:"peek" desc:"the mgr map's active mgr and standbys' names"`
}

type peekManyArgs struct {
	clicommand.Read `prefix:"peek many" desc:"peek's, the OSD map's epoch and a name that does not exist, at once"`
}

// peekMod answers peek with GetFields of the mgr map, as JSON.
type peekMod struct{ h *module.Handle }

func (m *peekMod) Init(h *module.Handle) error { m.h = h; return nil }
func (m *peekMod) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(ctx context.Context, _ *peekArgs) objectformat.Result {
		v, err := m.h.GetFields(ctx, "mgr_map", module.Fields{"active_name": nil, "standbys": {"name": nil}})
		if err != nil {
			return objectformat.ResultOf(err)
		}
		b, _ := json.Marshal(v)
		return objectformat.Result{Stdout: b}
	}), clicommand.Func(func(ctx context.Context, _ *peekManyArgs) objectformat.Result {
		v, err := m.h.GetMany(ctx, map[string]module.Fields{"mgr_map": {"active_name": nil, "standbys": {"name": nil}},
			"osd_map": {"epoch": nil}, "nothing": nil})
		if err != nil {
			return objectformat.ResultOf(err)
		}
		b, _ := json.Marshal(v)
		return objectformat.Result{Stdout: b}
	})}
}

// TestGetFields: a shim with the get_fields and get_many features is
// sent the fields, and GetMany's names in one request (and its answer is
// selected again: the module sees only what it asked for, whatever the
// shim sends); one without gets a plain get a name, and the Go side
// selects.
func TestGetFields(t *testing.T) {
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "peek", New: func() module.Module { return &peekMod{} }}))
	sock, _ := startBridgedWith(t, reg)
	ctx := context.Background()

	mgrMap := map[string]any{"active_name": "x", "epoch": 7, "fsid": "f", "available_modules": []any{map[string]any{"name": "a"}},
		"standbys": []any{map[string]any{"name": "y", "gid": 4}}}
	for _, withFeature := range []bool{true, false} {
		var mu sync.Mutex
		var sent []map[string]any // the args of the mgr map's gets
		var many []map[string]any // the args of get_many
		c, err := net.Dial("unix", sock)
		require.NoError(t, err)
		p := newPeer(c, func(_ context.Context, op string, raw json.RawMessage) (any, error) {
			switch op {
			case "get":
				var args map[string]any
				require.NoError(t, json.Unmarshal(raw, &args))
				switch args["name"] {
				case "osd_map":
					return map[string]any{"epoch": 3, "pools": []any{}}, nil
				case "mgr_map":
				default:
					return nil, nil
				}
				mu.Lock()
				sent = append(sent, args)
				mu.Unlock()
				return mgrMap, nil // everything: the Go side still selects
			case "get_many":
				var args map[string]any
				require.NoError(t, json.Unmarshal(raw, &args))
				mu.Lock()
				many = append(many, args)
				mu.Unlock()
				return map[string]any{"mgr_map": mgrMap, "osd_map": map[string]any{"epoch": 3, "pools": []any{}}, "nothing": nil}, nil
			case "have_mon_connection":
				return true, nil
			}
			return nil, nil
		})
		go p.run(context.Background())
		args := helloArgs("peek", nil)
		if withFeature {
			args["features"] = []string{featureGetFields, featureGetMany}
		}
		require.NoError(t, p.call(ctx, "hello", args, nil))
		mu.Lock()
		sent = nil // the bridge's own get of the mgr map at hello
		mu.Unlock()
		r, err := command(t, p, "peek")
		require.NoError(t, err)
		require.Zero(t, r.Retval, r.Stderr)
		out, err := base64.StdEncoding.DecodeString(r.Stdout)
		require.NoError(t, err)
		assert.JSONEq(t, `{"active_name":"x","standbys":[{"name":"y"}]}`, string(out), "feature %v", withFeature)
		mu.Lock()
		require.Len(t, sent, 1)
		if withFeature {
			assert.Equal(t, map[string]any{"active_name": nil, "standbys": map[string]any{"name": nil}}, sent[0]["fields"])
		} else {
			assert.NotContains(t, sent[0], "fields")
		}
		mu.Unlock()

		r, err = command(t, p, "peek many")
		require.NoError(t, err)
		require.Zero(t, r.Retval, r.Stderr)
		out, err = base64.StdEncoding.DecodeString(r.Stdout)
		require.NoError(t, err)
		assert.JSONEq(t, `{"mgr_map":{"active_name":"x","standbys":[{"name":"y"}]},"osd_map":{"epoch":3},"nothing":null}`, string(out))
		mu.Lock()
		if withFeature {
			require.Len(t, many, 1, "one crossing")
			assert.Equal(t, map[string]any{"mgr_map": map[string]any{"active_name": nil, "standbys": map[string]any{"name": nil}},
				"osd_map": map[string]any{"epoch": nil}, "nothing": nil}, many[0]["names"])
			assert.Len(t, sent, 1, "no get of the mgr map")
		} else {
			assert.Empty(t, many)
			assert.Len(t, sent, 2, "a get a name")
		}
		mu.Unlock()
		p.close()
	}
}
