package selftest

import (
	"context"
	"time"

	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// evalName names the eval command, its interpreter thread and its worker.
const evalName = "mgr self-test eval"

// newEvaluator is the eval session of one module instance: its globals
// persist between calls, in a worker process (see pkg/evalsandbox).
func newEvaluator(m *Module) (*evalsandbox.Session, error) {
	return evalsandbox.New(evalsandbox.Config{
		Name:        evalName,
		Globals:     starlark.StringDict{"mgr": newMgrValue(m)},
		Limits:      m.evalLimits,
		TimeoutName: "eval_timeout",
	})
}

// evalLimits are the limits of the next eval request, from the options.
func (m *Module) evalLimits() evalsandbox.Limits {
	l := evalsandbox.Limits{
		Timeout:   m.evalTimeout(),
		MaxSteps:  defaultEvalMaxSteps,
		MaxOutput: defaultEvalMaxOutput,
		MaxMemory: m.evalMaxMemory(),
	}
	if adjust := m.adjustLimits.Load(); adjust != nil {
		(*adjust)(&l)
	}
	return l
}

// evalTimeout is the eval_timeout option as a duration.
func (m *Module) evalTimeout() time.Duration {
	if d := options.Get(m.h).EvalTimeout; d > 0 {
		return d
	}
	return time.Duration(defaultEvalTimeout * float64(time.Second))
}

// evalMaxMemory is the eval_max_memory option in bytes.
func (m *Module) evalMaxMemory() int64 {
	if n := options.Get(m.h).EvalMaxMemory; n > 0 {
		return n
	}
	return defaultEvalMaxMemory
}

// eval is "mgr self-test eval".
func (m *Module) eval(ctx context.Context, a *evalArgs) objectformat.Result {
	src := ""
	switch {
	case a.S != nil && *a.S != "":
		src = *a.S
	case len(a.Inbuf) > 0:
		src = string(a.Inbuf)
	}
	return m.ev.Command(ctx, src, a.Complete)
}
