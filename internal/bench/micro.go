package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// DispatchRegistry returns a registry of n commands spread over 50 modules
// and a command that hits one in the middle.
func DispatchRegistry(n int) (*cmdroute.Registry, map[string]any) {
	r := cmdroute.NewRegistry()
	h := objectformat.HandlerFunc(func(context.Context, *objectformat.Request) objectformat.Result {
		return objectformat.Result{}
	})
	for i := 0; i < n; i++ {
		r.MustAdd(fmt.Sprintf("m%d", i%50), clicommand.Legacy(
			fmt.Sprintf("bench cmd%d name=oid,type=CephString name=n,type=CephInt,req=false", i), "", "rw", h))
	}
	return r, map[string]any{"prefix": fmt.Sprintf("bench cmd%d", n/2), "oid": "obj", "n": "42"}
}

// DispatchOp returns one dispatch among n commands (DispatchRegistry's).
func DispatchOp(n int) (func() error, error) {
	r, cmd := DispatchRegistry(n)
	ctx := context.Background()
	call := clicommand.Call{Cmd: cmd, Perm: "rw"}
	op := func() error {
		if res := r.Dispatch(ctx, call); res.Retval != 0 {
			return fmt.Errorf("dispatch among %d commands: %d %s", n, res.Retval, res.Stderr)
		}
		return nil
	}
	return op, op()
}

// DispatchBenchmark measures a full dispatch among n commands.
func DispatchBenchmark(n int) func(b *testing.B) {
	r, cmd := DispatchRegistry(n) // once: testing.Benchmark calls the function for every b.N it tries
	return func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if res := r.Dispatch(ctx, clicommand.Call{Cmd: cmd, Perm: "rw"}); res.Retval != 0 {
				b.Fatal(res.Stderr)
			}
		}
	}
}

// Item is one element of a formatting benchmark's result.
type Item struct {
	ID   int     `json:"id"`
	Name string  `json:"name"`
	Size float64 `json:"size"`
}

// Items returns a result of n elements.
func Items(n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{ID: i, Name: fmt.Sprintf("obj-%d", i), Size: float64(i) * 1.5}
	}
	return out
}

// FormatBenchmark measures a Responder rendering a result of n elements in
// format f (the whole handler path: format check, simplification, encoding).
func FormatBenchmark(n int, f objectformat.Format) func(b *testing.B) {
	return func(b *testing.B) {
		items := Items(n)
		h := objectformat.Responder(func(context.Context, *objectformat.Request) ([]Item, error) { return items, nil })
		req := &objectformat.Request{Format: f}
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if res := h.ServeCommand(ctx, req); res.Retval != 0 {
				b.Fatal(res.Stderr)
			}
		}
	}
}
