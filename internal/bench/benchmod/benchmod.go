// Package benchmod is the Go module "gobench" of `make bench`'s comparison
// with a Python module in the same real ceph-mgr: `gobench format <n>`
// builds n elements and returns them through a Responder, so objectformat
// formats them (JSON, Python's json.dumps(v, indent=2, sort_keys=True),
// by default). The Python module pybench (internal/bench/python/pybench)
// does the same work for `pybench format <n>`, element for element.
//
// It is not a built-in module: only the benchmark host
// (internal/bench/cmd/benchmgr) compiles it in.
package benchmod

import (
	"context"
	"strconv"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Name is the module's name.
const Name = "gobench"

// MaxElements bounds `gobench format`'s n (the Python module's bound too):
// a million elements is about 120 MB of JSON, over the bridge's 64 MiB
// frame.
const MaxElements = 1000000

func init() {
	module.Register(module.Info{
		Name: Name,
		Desc: "gomgr benchmark module (make bench)",
		New:  func() module.Module { return &Module{} },
	})
}

// Module is the gobench module.
type Module struct{}

// Init does nothing: the module keeps no state.
func (*Module) Init(*module.Handle) error { return nil }

// Element is one element of `gobench format`'s result: the fields of
// pybench's dicts, with their keys.
type Element struct {
	ID   int      `json:"id"`
	Name string   `json:"name"`
	Size float64  `json:"size"`
	Tags []string `json:"tags"`
}

// parity is an element's second tag, by the parity of its id.
var parity = [2]string{"even", "odd"}

// Elements builds the n elements: id i, name "obj-<i>", size i*1.5 and
// the tags ["bench", "even" or "odd"] (pybench's build(n)).
func Elements(n int) []Element {
	out := make([]Element, n)
	for i := range out {
		out[i] = Element{ID: i, Name: "obj-" + strconv.Itoa(i), Size: float64(i) * 1.5, Tags: []string{"bench", parity[i%2]}}
	}
	return out
}

type formatArgs struct {
	clicommand.Read `prefix:"gobench format" desc:"Build n elements and return them formatted (benchmark)"`
	N               int
}

// Commands lists the module's commands.
func (*Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Responder(format)}
}

func format(_ context.Context, a *formatArgs) ([]Element, error) {
	if a.N < 0 || a.N > MaxElements {
		return nil, objectformat.NewErrorResponse("n must be between 0 and " + strconv.Itoa(MaxElements))
	}
	return Elements(a.N), nil
}
