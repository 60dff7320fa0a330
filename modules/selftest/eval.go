package selftest

import (
	"go.starlark.net/starlark"

	"github.com/gomgr/gomgr/pkg/evalcmd"
	"github.com/gomgr/gomgr/pkg/evalsandbox"
	"github.com/gomgr/gomgr/pkg/module"
)

// evalName names the eval command, its interpreter thread and its worker.
const evalName = "mgr self-test eval"

// newEval is "mgr self-test eval" of one module instance (pkg/evalcmd):
// a session whose globals ("mgr") persist between calls, in a worker
// process (see pkg/evalsandbox), with the limits of the options
// eval_timeout and eval_max_memory (declared in Config).
func newEval(m *Module) *evalcmd.Eval {
	return evalcmd.New(evalcmd.Config{
		Prefix:  evalName,
		Desc:    "eval given source",
		Globals: func(*module.Handle) starlark.StringDict { return starlark.StringDict{"mgr": newMgrValue(m)} },
		Adjust: func(l *evalsandbox.Limits) {
			if adjust := m.adjustLimits.Load(); adjust != nil {
				(*adjust)(l)
			}
		},
	})
}
