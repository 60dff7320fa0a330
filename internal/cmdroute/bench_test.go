package cmdroute

import (
	"context"
	"fmt"
	"testing"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// DispatchRegistry builds a registry of n commands, half struct-declared
// and half legacy, for the dispatch benchmark.
func dispatchRegistry(n int) *Registry {
	r := NewRegistry()
	h := objectformat.HandlerFunc(func(_ context.Context, req *objectformat.Request) objectformat.Result {
		return objectformat.Result{}
	})
	for i := 0; i < n; i++ {
		r.MustAdd(fmt.Sprintf("m%d", i%50), clicommand.Legacy(fmt.Sprintf("bench cmd%d name=oid,type=CephString name=n,type=CephInt,req=false", i), "", "rw", h))
	}
	return r
}

// BenchmarkDispatch measures a full dispatch (lookup, permission check,
// validation, binding, handler) with 10, 1,000 and 10,000 registered
// commands: the cost must not grow with the number of commands.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		r := dispatchRegistry(n)
		cmd := map[string]any{"prefix": fmt.Sprintf("bench cmd%d", n/2), "oid": "obj", "n": "42"}
		ctx := context.Background()
		b.Run(fmt.Sprintf("commands=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if res := r.Dispatch(ctx, clicommand.Call{Cmd: cmd, Perm: "rw"}); res.Retval != 0 {
					b.Fatal(res.Stderr)
				}
			}
		})
	}
}

// BenchmarkStructDispatch measures dispatch to a struct-declared command
// (reflection-based binding).
func BenchmarkStructDispatch(b *testing.B) {
	type args struct {
		clicommand.Meta `prefix:"bench struct"`
		OID             string
		N               *int
		Tags            []string `ceph:"req=false"`
	}
	r := NewRegistry()
	r.MustAdd("m", clicommand.Func(func(context.Context, *args) objectformat.Result { return objectformat.Result{} }))
	cmd := map[string]any{"prefix": "bench struct", "oid": "obj", "n": "42", "tags": []any{"a", "b"}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if res := r.Dispatch(ctx, clicommand.Call{Cmd: cmd, Perm: "rw"}); res.Retval != 0 {
			b.Fatal(res.Stderr)
		}
	}
}
