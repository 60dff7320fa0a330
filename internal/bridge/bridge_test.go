package bridge

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type greetArgs struct {
	clicommand.Read `prefix:"greet" desc:"Say hello"`
	PersonName      *string
}

type runArgs struct {
	clicommand.Write `prefix:"mgr self-test run" desc:"Run the self test"`
}

type greeter struct{}

func (greeter) Init(*module.Handle) error { return nil }

func (greeter) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(_ context.Context, _ *greetArgs) objectformat.Result { return objectformat.OK("hi") }),
	}
}

type tester struct{}

func (tester) Init(*module.Handle) error { return nil }

// standbyTester is tester's standby variant.
type standbyTester struct{}

func (standbyTester) InitStandby(*module.StandbyHandle) error { return nil }

func (tester) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(_ context.Context, _ *runArgs) objectformat.Result { return objectformat.OK("ok") }),
	}
}

func testRegistry(t *testing.T) *modhost.Registry {
	t.Helper()
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "greeter", Desc: "greets", New: func() module.Module { return greeter{} },
		NotifyTypes: []module.NotifyType{module.NotifyOSDMap},
		Options: []module.Option{
			{Name: "place", Default: "world", Runtime: true, Desc: "where"},
			{Name: "count", Type: module.Int, Default: "5", Min: 1, Max: "10"},
			{Name: "interval", Type: module.Secs, Default: "1m"},
			{Name: "mode", Default: "a", EnumAllowed: []string{"a", "b"}},
		}}))
	require.NoError(t, reg.Register(module.Info{Name: "selftest", New: func() module.Module { return tester{} },
		Standby: func() module.StandbyModule { return standbyTester{} }}))
	return reg
}

func TestDescribe(t *testing.T) {
	d, err := Describe(testRegistry(t), "greeter")
	require.NoError(t, err)
	require.Len(t, d.Modules, 1)
	m := d.Modules[0]
	assert.Equal(t, []CommandDesc{{Prefix: "greet", Cmd: "greet name=person_name,req=false,type=CephString", Desc: "Say hello", Perm: "r"}}, m.Commands)
	assert.Equal(t, []string{"osd_map"}, m.NotifyTypes)
	byName := map[string]OptionDesc{}
	for _, o := range m.Options {
		byName[o.Name] = o
	}
	assert.Equal(t, OptionDesc{Name: "count", Type: "int", Level: "advanced", Default: int64(5), Min: 1, Max: int64(10)}, byName["count"],
		"defaults and bounds given as text are values of the option's type")
	assert.Equal(t, 60.0, byName["interval"].Default)
	assert.Equal(t, []string{"a", "b"}, byName["mode"].EnumAllowed)
	assert.True(t, byName["log_level"].Builtin, "the log options are marked (Python declares them itself)")
	assert.False(t, byName["place"].Builtin)

	_, err = Describe(testRegistry(t), "nope")
	require.ErrorContains(t, err, `no module "nope" in this binary`)
}

// pythonModule writes a Python module dir named name whose source
// declares prefix.
func pythonModule(t *testing.T, dir, name, prefix string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
	src := "from mgr_module import CLIWriteCommand, MgrModule\n\nclass Module(MgrModule):\n    @CLIWriteCommand('" + prefix + "')\n    def run(self):\n        pass\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name, "module.py"), []byte(src), 0o644))
}

func TestInstallRefusesCollisions(t *testing.T) {
	d, err := Describe(testRegistry(t), "")
	require.NoError(t, err)
	installed, path := t.TempDir(), t.TempDir()
	pythonModule(t, installed, "selftest", "mgr self-test run")
	o := InstallOptions{ModulePath: path, CheckPaths: []string{installed}, Binary: "/usr/bin/ceph-mgr-gomgr"}

	_, err = Install(d, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "module selftest: the real mgr already has a Python module selftest")
	assert.Contains(t, err.Error(), "--rename selftest=NEWNAME")
	assert.Contains(t, err.Error(), `module selftest: Python module selftest already has the command(s) mgr self-test run; rename them with --rename-prefix "mgr self-test run=NEW WORDS"`)
	entries, _ := os.ReadDir(path)
	assert.Empty(t, entries, "nothing written")

	o.Renames = map[string]string{"selftest": "goselftest"}
	_, err = Install(d, o)
	require.ErrorContains(t, err, "--rename-prefix", "the module renamed, its command still collides")
	assert.NotContains(t, err.Error(), "--rename selftest=")

	o.PrefixRenames = map[string]string{"mgr self-test": "mgr goselftest"}
	done, err := Install(d, o)
	require.NoError(t, err)
	require.Len(t, done, 2)
	assert.Equal(t, Installed{GoName: "selftest", Name: "goselftest", Dir: filepath.Join(path, "goselftest"), Commands: []string{"mgr goselftest run"}}, done[1])
	for _, f := range []string{"gomgr_bridge/__init__.py", "greeter/module.py", "greeter/__init__.py", "goselftest/module.py", "goselftest/" + markerFile} {
		assert.FileExists(t, filepath.Join(path, f))
	}
	assert.NoFileExists(t, filepath.Join(path, "gomgr_bridge", "module.py"), "the shared package is not a module the mgr would load")

	// Installing again replaces its own modules; a module path entry of
	// someone else's is refused.
	_, err = Install(d, o)
	require.NoError(t, err)
	pythonModule(t, path, "greeter", "greet")
	require.NoError(t, os.Remove(filepath.Join(path, "greeter", markerFile)))
	_, err = Install(d, o)
	require.ErrorContains(t, err, "module greeter: the real mgr already has a Python module greeter")
}

// TestShimDeclaresTheGoModule imports an installed shim in python3 (with
// a stand-in for the mgr's mgr_module) and checks what it declares.
func TestShimDeclaresTheGoModule(t *testing.T) {
	testutil.NeedTool(t, "python3", "python3")
	d, err := Describe(testRegistry(t), "")
	require.NoError(t, err)
	dir := t.TempDir()
	// The binary the shim runs: a script printing the description.
	descJSON, err := json.Marshal(&Description{Modules: []ModuleDesc{d.Modules[1]}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "desc.json"), descJSON, 0o644))
	fake := filepath.Join(dir, "fake-ceph-mgr")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n[ \"$1 $2 $3\" = 'describe --module selftest' ] || exit 3\nexec cat "+filepath.Join(dir, "desc.json")+"\n"), 0o755))
	path := filepath.Join(dir, "modules")
	require.NoError(t, os.Mkdir(path, 0o755))
	_, err = Install(d, InstallOptions{ModulePath: path, Binary: fake, Modules: []string{"selftest"},
		PrefixRenames: map[string]string{"mgr self-test": "mgr goselftest"}})
	require.NoError(t, err)
	stub := filepath.Join(dir, "stub")
	require.NoError(t, os.Mkdir(stub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stub, "mgr_module.py"), []byte(`
class Option(dict):
    def __init__(self, name, default=None, type='str', desc=None, long_desc=None, min=None, max=None,
                 enum_allowed=None, tags=None, see_also=None, runtime=False):
        super().__init__((k, v) for k, v in vars().items() if k != 'self' and v is not None)

class MgrModule:
    COMMANDS = []
    MODULE_OPTIONS = []

class MgrStandbyModule:
    MODULE_OPTIONS = []
`), 0o644))
	script := `
import json, sys
import mgr_module, selftest
from selftest.module import Module
ok, why = Module.can_run()
standby = [n for n, v in vars(selftest).items() if isinstance(v, type) and issubclass(v, mgr_module.MgrStandbyModule)]
print(json.dumps({"commands": Module.COMMANDS, "options": Module.MODULE_OPTIONS, "can_run": ok, "why": why,
                  "reply": list(Module.handle_command(None, "", {"prefix": "mgr goselftest run"})),
                  "standby": standby}))
`
	python := func() ([]byte, error) {
		cmd := exec.Command("python3", "-c", script)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+stub+":"+path, "PYTHONDONTWRITEBYTECODE=1")
		return cmd.Output()
	}
	out, err := python()
	require.NoError(t, err, "%s", out)
	var got struct {
		Commands []map[string]any `json:"commands"`
		Options  []map[string]any `json:"options"`
		CanRun   bool             `json:"can_run"`
		Why      string           `json:"why"`
		Reply    []any            `json:"reply"`
		Standby  []string         `json:"standby"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.True(t, got.CanRun, got.Why)
	assert.Equal(t, []map[string]any{{"cmd": "mgr goselftest run", "desc": "Run the self test", "perm": "w", "poll": false}}, got.Commands,
		"the prefix renamed as installed")
	for _, o := range got.Options {
		assert.NotContains(t, []string{"log_level", "log_to_file", "log_to_cluster", "log_to_cluster_level"}, o["name"],
			"MgrModule declares the log options itself")
	}
	require.Len(t, got.Reply, 3)
	assert.Equal(t, -107.0, got.Reply[0], "commands are not forwarded yet: ENOTCONN")
	assert.Equal(t, []string{"StandbyModule"}, got.Standby,
		"the package offers the mgr the standby variant the Go selftest has (the mgr looks for a MgrStandbyModule subclass)")

	// A binary that cannot describe the module: the shim loads, and the
	// mgr reports why it cannot run.
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho broken >&2\nexit 1\n"), 0o755))
	out, err = python()
	require.NoError(t, err, "%s", out)
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.False(t, got.CanRun)
	assert.Contains(t, got.Why, "describe --module selftest failed (exit 1): broken")
	assert.True(t, strings.HasPrefix(got.Why, "gomgr bridge: "))
}
