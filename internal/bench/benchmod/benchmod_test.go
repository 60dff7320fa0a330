package benchmod_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/bench/benchmod"
	"github.com/gomgr/gomgr/internal/testutil"
	_ "github.com/gomgr/gomgr/modules/hello"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// TestFormat: gobench format returns its elements as Python's json.dumps
// (indent 2, sorted keys) renders them.
func TestFormat(t *testing.T) {
	h := moduletest.Start(t, benchmod.Name)
	var got []benchmod.Element
	require.NoError(t, json.Unmarshal([]byte(h.Must("gobench format 3")), &got))
	require.Equal(t, []benchmod.Element{
		{ID: 0, Name: "obj-0", Size: 0, Tags: []string{"bench", "even"}},
		{ID: 1, Name: "obj-1", Size: 1.5, Tags: []string{"bench", "odd"}},
		{ID: 2, Name: "obj-2", Size: 3, Tags: []string{"bench", "even"}},
	}, got)
	require.Equal(t, "[]", h.Must("gobench format 0"))
	res := h.Run("gobench format 1000001")
	require.Equal(t, [2]any{-22, "n must be between 0 and 1000000"}, [2]any{res.Retval, res.Stderr})
}

// pyStub is the part of Pacific's mgr_module that pybench uses, enough to
// run its handlers outside a mgr.
const pyStub = `import collections
HandleCommandResult = collections.namedtuple('HandleCommandResult', ['retval', 'stdout', 'stderr'], defaults=[0, '', ''])
def CLIReadCommand(prefix, poll=False):
    return lambda f: f
def Option(**kw):
    return kw
class MgrModule:
    MODULE_OPTIONS = []
    def __init__(self, opts):
        self._opts = opts
    def get_module_option(self, name):
        if name in self._opts:
            return self._opts[name]
        return next(o.get('default') for o in self.MODULE_OPTIONS if o['name'] == name)
`

// pyDriver calls pybench's handlers and prints their results as JSON.
const pyDriver = `import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from pybench import Module
m, mars = Module({}), Module({'place': 'Mars', 'emphatic': False})
n = int(sys.argv[3])
print(json.dumps({'hello': m.hello(), 'hello Bob': m.hello('Bob'), 'mars': mars.hello(),
                  'format': m.format(n), 'format 1000001': m.format(1000001),
                  'cached': m.cached(n), 'cached again': m.cached(n)}))
`

// TestPythonModuleAnswersAsTheGoOnes runs the Python module pybench's
// handlers (on a stub of mgr_module) and checks that they answer as the Go
// modules hello and gobench do, byte for byte.
func TestPythonModuleAnswersAsTheGoOnes(t *testing.T) {
	python := testutil.NeedTool(t, "python3", "python3")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mgr_module.py"), []byte(pyStub), 0o644))
	// A copy of the package: go test then knows the test read its
	// files (its cache), and Python writes nothing into the tree.
	pkg := filepath.Join(dir, "modules", "pybench")
	require.NoError(t, os.MkdirAll(pkg, 0o755))
	srcs, err := filepath.Glob(filepath.Join("..", "python", "pybench", "*.py"))
	require.NoError(t, err)
	require.NotEmpty(t, srcs)
	for _, src := range srcs {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(pkg, filepath.Base(src)), b, 0o644))
	}
	const n = 2000
	cmd := exec.Command(python, "-c", pyDriver, dir, filepath.Dir(pkg), strconv.Itoa(n))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var py map[string][3]any
	require.NoError(t, json.Unmarshal(out, &py))

	goRes := func(h *moduletest.Harness, line string) [3]any {
		res := h.Run(line)
		return [3]any{float64(res.Retval), string(res.Stdout), res.Stderr}
	}
	hello := moduletest.Start(t, "hello")
	mars := moduletest.Start(t, "hello", moduletest.WithOption("place", "Mars"), moduletest.WithOption("emphatic", "false"))
	gobench := moduletest.Start(t, benchmod.Name)
	require.Equal(t, goRes(hello, "hello"), py["hello"])
	require.Equal(t, goRes(hello, "hello Bob"), py["hello Bob"])
	require.Equal(t, goRes(mars, "hello"), py["mars"])
	g, p := goRes(gobench, "gobench format "+strconv.Itoa(n)), py["format"]
	require.Equal(t, [2]any{g[0], g[2]}, [2]any{p[0], p[2]})
	gl, pl := strings.Split(g[1].(string), "\n"), strings.Split(p[1].(string), "\n")
	for i := range min(len(gl), len(pl)) {
		require.Equal(t, gl[i], pl[i], "line %d of gobench format %d (Go) and pybench format %d (Python)", i+1, n, n)
	}
	require.Equal(t, len(gl), len(pl), "lines of gobench and pybench format %d", n)
	require.Equal(t, goRes(gobench, "gobench format 1000001"), py["format 1000001"])
	require.Equal(t, p, py["cached"], "pybench cached is pybench format's text")
	require.Equal(t, p, py["cached again"])
}
