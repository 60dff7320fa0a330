package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/internal/testutil"
)

// TestRealMgrSeesTheGoModules installs the bridge of the real ceph-mgr
// binary (cmd/ceph-mgr, with the built-in modules) into the module path of
// a loopback Pacific cluster and checks what the real mgr, the monitors
// and the ceph CLI make of the Go modules: install refuses the names and
// commands of the installed Python selftest and crash until they are
// renamed, the real mgr lists the Go modules as its own and enables hello,
// the monitors check hello's options (no --force), `ceph -h` lists the Go
// commands, and the Go modules answer through plain ceph (parity with
// Ceph's Python hello), raise health checks and cluster log entries,
// pass the Go selftest's run there, get what a Python module in the same
// mgr gets (pyprobe), run their standby variants on the standby mgr,
// survive kill -9 of their process (MGR_MODULE_ERROR
// meanwhile) and fail over to the standby mgr.
func TestRealMgrSeesTheGoModules(t *testing.T) {
	root, dir, bin, path := buildRealMgrBinary(t)

	install := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, append([]string{"bridge", "install", "--module-path", path}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String() + stderr.String(), err
	}
	got, err := install()
	require.Error(t, err, got)
	assert.Contains(t, got, "the real mgr already has a Python module selftest (/usr/share/ceph/mgr/selftest); rename the Go one with --rename selftest=NEWNAME")
	assert.Contains(t, got, `rename them with --rename-prefix "mgr self-test=NEW WORDS"`)
	assert.Contains(t, got, "--rename crash=NEWNAME")
	assert.Contains(t, got, "--rename prometheus=NEWNAME")
	got, err = install("--rename", "selftest=goselftest", "--rename-prefix", "mgr self-test=mgr goselftest",
		"--rename", "crash=gocrash", "--rename-prefix", "crash=gocrash", "--rename", "prometheus=goprometheus",
		"--rename-prefix", "prometheus=goprometheus", "--rename-prefix", "healthcheck=gohealthcheck")
	require.NoError(t, err, got)
	assert.Contains(t, got, "installed Go module hello as hello")

	// pyprobe, a Python module of the tests', next to the Go ones.
	pyMods := filepath.Join(dir, "python-modules")
	require.NoError(t, os.CopyFS(filepath.Join(pyMods, "pyprobe"), os.DirFS(filepath.Join("testdata", "pyprobe"))))

	cluster, err := testutil.StartCephCluster(filepath.Join(root, "scripts", "ceph-cluster.sh"), []string{"CEPH_CLUSTER_MGR_MODULES=" + path + ":" + pyMods, "CEPH_CLUSTER_STANDBY_MGRS=y"})
	if cluster != nil {
		t.Cleanup(func() { _ = cluster.Destroy() })
	}
	require.NoError(t, err)
	ceph := cephCLI(t, cluster.Conf)
	type moduleLs struct {
		Enabled  []string `json:"enabled_modules"`
		Disabled []struct {
			Name    string         `json:"name"`
			CanRun  bool           `json:"can_run"`
			Why     string         `json:"error_string"`
			Options map[string]any `json:"module_options"`
		} `json:"disabled_modules"`
	}
	ls := func() moduleLs {
		o, e, rc := ceph("mgr", "module", "ls", "-f", "json")
		require.Zero(t, rc, e)
		var l moduleLs
		require.NoError(t, json.Unmarshal([]byte(o), &l), o)
		return l
	}
	l := ls()
	found := map[string]bool{}
	for _, m := range l.Disabled {
		switch m.Name {
		case "hello", "goselftest", "gocrash":
			found[m.Name] = true
			assert.True(t, m.CanRun, "%s: %s", m.Name, m.Why)
			assert.Contains(t, m.Options, "log_level")
		}
		if m.Name == "hello" {
			for _, o := range []string{"place", "emphatic", "foo"} {
				assert.Contains(t, m.Options, o, "hello's options, from the Go module")
			}
		}
	}
	assert.Equal(t, map[string]bool{"hello": true, "goselftest": true, "gocrash": true}, found, "the real mgr lists the Go modules")

	help, _, rc := ceph("-h")
	require.Zero(t, rc)
	for _, line := range []string{"hello [<person_name>]", "count <num:int>", "mgr goselftest run", "gocrash ls"} {
		assert.Contains(t, help, line, "ceph -h lists the Go commands")
	}

	_, e, rc := ceph("mgr", "module", "enable", "hello")
	require.Zero(t, rc, e)
	deadline := time.Now().Add(90 * time.Second)
	for !slices.Contains(ls().Enabled, "hello") {
		require.True(t, time.Now().Before(deadline), "hello not enabled")
		time.Sleep(500 * time.Millisecond)
	}
	_, e, rc = ceph("config", "set", "mgr", "mgr/hello/place", "Mars")
	assert.Zero(t, rc, "the monitors take a Go module's option without --force: %s", e)
	o, _, _ := ceph("config", "get", "mgr", "mgr/hello/place")
	assert.Equal(t, "Mars", strings.TrimSpace(o))
	_, e, rc = ceph("config", "set", "mgr", "mgr/hello/foo", "z")
	assert.Equal(t, 22, rc)
	assert.Equal(t, "Error EINVAL: error parsing value: 'z' is not one of the permitted values: a, b, c\n", e)

	// Commands run in the Go module, through the real mgr (after the
	// respawn that enabling a module causes): parity with Ceph's Python
	// hello module.
	for {
		if _, _, rc := ceph("hello", "Bob"); rc == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, tc := range []struct {
		args           []string
		stdout, stderr string
		rc             int
	}{
		{[]string{"hello", "Bob"}, "Hello, Bob!\n", "", 0},
		{[]string{"count", "3"}, "Hello, I am the count!\n1, 2, 3!\n", "", 0},
		{[]string{"count", "11"}, "", "Error EINVAL: That's too big a number\n", 22},
		{[]string{"--format", "json", "count", "2"}, "\nHello, I am the count!\n1, 2!\n", "", 0},
	} {
		o, e, rc := ceph(tc.args...)
		assert.Equal(t, [3]any{tc.stdout, tc.stderr, tc.rc}, [3]any{o, e, rc}, "ceph %v", tc.args)
	}
	eventually := func(what string, f func() bool) {
		t.Helper()
		for end := time.Now().Add(90 * time.Second); !f(); time.Sleep(200 * time.Millisecond) {
			require.True(t, time.Now().Before(end), what)
		}
	}
	eventually("ceph hello says Hello Mars! after the option was set", func() bool {
		o, _, _ := ceph("hello")
		return o == "Hello Mars!\n"
	})

	// A health check of a Go module is the cluster's.
	_, e, rc = ceph("mgr", "module", "enable", "goselftest")
	require.Zero(t, rc, e)
	_, e, rc = ceph("mgr", "module", "enable", "pyprobe")
	require.Zero(t, rc, e)
	eventually("mgr goselftest health set runs", func() bool {
		_, _, rc := ceph("mgr", "goselftest", "health", "set", `{"GOMGR_TEST": {"severity": "warning", "summary": "a Go check", "count": 1, "detail": ["from Go"]}}`)
		return rc == 0
	})
	eventually("ceph health detail shows the Go module's check", func() bool {
		o, _, _ := ceph("health", "detail")
		return strings.Contains(o, "[WRN] GOMGR_TEST: a Go check\n    from Go")
	})
	o, _, _ = ceph("status", "-f", "json")
	assert.Contains(t, o, `"GOMGR_TEST"`)
	_, e, rc = ceph("mgr", "goselftest", "health", "clear")
	require.Zero(t, rc, e)
	eventually("the check clears", func() bool {
		o, _, _ := ceph("health")
		return !strings.Contains(o, "GOMGR_TEST")
	})

	// The Go selftest's run passes inside the real mgr, and what a Go
	// module gets from the real mgr is what a Python module in the same
	// mgr gets for the same call (pyprobe, testdata/pyprobe).
	o, e, rc = ceph("mgr", "goselftest", "run")
	assert.Equal(t, [3]any{0, "", "Self-test succeeded\n"}, [3]any{rc, o, e}, "mgr goselftest run in the real mgr")
	checkBridgedRados(t, cluster, ceph)
	eventually("pyprobe answers", func() bool {
		_, _, rc := ceph("pyprobe", "call", "get_mgr_id")
		return rc == 0
	})
	for _, tc := range []struct {
		goExpr string // of the Go selftest's eval
		method string // of Python's MgrModule
		args   string // JSON list
	}{
		{"mgr.get_perf_schema('osd', '0')", "get_perf_schema", `["osd", "0"]`},
		{"mgr.get_perf_schema('mgr', 'x')", "get_perf_schema", `["mgr", "x"]`},
		{"mgr.get_perf_schema('osd', '999')", "get_perf_schema", `["osd", "999"]`},
		{"mgr.get_counter('osd', '0', 'objecter.op_active')", "get_counter", `["osd", "0", "objecter.op_active"]`},
		{"mgr.get_counter('osd', '0', 'osd.op_r_latency')", "get_counter", `["osd", "0", "osd.op_r_latency"]`},
		{"mgr.get_counter('osd', '0', 'no.such')", "get_counter", `["osd", "0", "no.such"]`},
		{"mgr.get_metadata('osd', '0')", "get_metadata", `["osd", "0"]`},
		{"mgr.get_metadata('osd', '999')", "get_metadata", `["osd", "999"]`},
		{"mgr.get_daemon_status('osd', '0')", "get_daemon_status", `["osd", "0"]`},
		{"mgr.list_servers()", "list_servers", `[]`},
		{"mgr.get_server('no-such-host')", "get_server", `["no-such-host"]`},
		{"mgr.get('health')", "get", `["health"]`},
		{"mgr.get('osd_map')['epoch']", "get", `["osd_map"]`},
	} {
		var goV, pyV any
		for attempt := 0; attempt < 5; attempt++ { // a daemon's report may land between the two calls
			o, e, rc := ceph("mgr", "goselftest", "eval", "print(json.encode("+tc.goExpr+"))")
			require.Zero(t, rc, "%s: %s", tc.goExpr, e)
			require.NoError(t, json.Unmarshal([]byte(o), &goV), "%s: %s", tc.goExpr, o)
			o, e, rc = ceph("pyprobe", "call", tc.method, tc.args)
			require.Zero(t, rc, "pyprobe %s %s: %s", tc.method, tc.args, e)
			require.NoError(t, json.Unmarshal([]byte(o), &pyV), o)
			if strings.HasSuffix(tc.goExpr, "['epoch']") {
				pyV = pyV.(map[string]any)["epoch"]
			}
			if assert.ObjectsAreEqual(pyV, goV) {
				break
			}
			time.Sleep(time.Second)
		}
		assert.Equal(t, pyV, goV, "the Go module's %s against Python's %s(%s)", tc.goExpr, tc.method, tc.args)
	}

	// The standby mgr runs the Go selftest's standby variant, which reads
	// the URI the active module published through the real mgr
	// (get_active_uri). The standby is y, or x when the monitors made y
	// active while x respawned: only a standby variant logs this.
	_, e, rc = ceph("mgr", "goselftest", "eval", "mgr.set_uri('http://127.0.0.1:9/goselftest')")
	require.Zero(t, rc, e)
	eventually("the standby variant on the standby mgr sees the active module's URI", func() bool {
		for _, id := range []string{"x", "y"} {
			b, _ := os.ReadFile(filepath.Join(cluster.Dir, "log", "ceph-mgr."+id+".log"))
			if bytes.Contains(b, []byte("[goselftest INFO root] active daemon's selftest URI changed active_uri=http://127.0.0.1:9/goselftest")) {
				return true
			}
		}
		return false
	})

	// A Go module's cluster log entries are the cluster's.
	_, e, rc = ceph("mgr", "goselftest", "cluster-log", "cluster", "warning", "gomgr bridge says hi")
	require.Zero(t, rc, e)
	eventually("ceph log last shows the Go module's entry", func() bool {
		o, _, _ := ceph("log", "last", "50")
		return strings.Contains(o, "gomgr bridge says hi")
	})

	// With log_to_cluster on, a Go module's records reach the cluster log
	// once each (the shim's Python logger, which writes them to the mgr's
	// log, does not send them again).
	_, e, rc = ceph("config", "set", "mgr", "mgr/goselftest/log_to_cluster", "true")
	require.Zero(t, rc, e)
	t.Cleanup(func() { ceph("config", "rm", "mgr", "mgr/goselftest/log_to_cluster") })
	var once string
	eventually("a log_to_cluster record in ceph log last", func() bool {
		once = fmt.Sprintf("gomgr log_to_cluster record %d", time.Now().UnixNano())
		_, _, _ = ceph("mgr", "goselftest", "eval", fmt.Sprintf("mgr.log(%q, 'warning')", once))
		time.Sleep(500 * time.Millisecond)
		o, _, _ := ceph("log", "last", "200", "debug", "*")
		return strings.Contains(o, once)
	})
	time.Sleep(2 * time.Second)
	o, _, _ = ceph("log", "last", "500", "debug", "*")
	assert.Equal(t, 1, strings.Count(o, " : goselftest [WRN] "+once), "the record is in the cluster log once, on the module's channel:\n%s", o)

	// mgrctl -c drives the Go selftest's eval through the real mgr.
	mgrctl := filepath.Join(dir, "mgrctl")
	build := exec.Command("go", "build", "-o", mgrctl, "./cmd/mgrctl")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, testutil.BuildRadosHelper(root, dir, radosproc.HelperName, radosproc.HelperEnv))
	repl := exec.Command(mgrctl, "-c", cluster.Conf, "--keyring", cluster.Keyring, "repl", "--prefix", "mgr goselftest eval")
	repl.Stdin = strings.NewReader("x = 40\ndef f():\n    return x + 2\n\nprint(f())\n")
	r := testutil.Run(t, repl)
	assert.Equal(t, [2]any{0, "42\n"}, [2]any{r.Code, r.Stdout}, "mgrctl repl through the real mgr: %s", r.Stderr)

	// The Go process killed: MGR_MODULE_ERROR while it is down (kept down
	// by moving the binary away), then the shims start another one and the
	// check clears.
	pids, err := exec.Command("pgrep", "-f", bin+" bridged").Output()
	require.NoError(t, err, "the Go side runs")
	require.NoError(t, os.Rename(bin, bin+".away"))
	require.NoError(t, exec.Command("kill", append([]string{"-9"}, strings.Fields(string(pids))...)...).Run())
	eventually("MGR_MODULE_ERROR for hello while its Go side is down", func() bool {
		o, _, _ := ceph("health", "detail")
		return strings.Contains(o, "MGR_MODULE_ERROR") && strings.Contains(o, "Module 'hello' has failed: cannot run "+bin)
	})
	_, e, rc = ceph("hello", "Bob")
	assert.Equal(t, 107, rc, "ENOTCONN at once while the Go side is down: %s", e)
	assert.Contains(t, e, "the Go side of module hello is not running")
	require.NoError(t, os.Rename(bin+".away", bin))
	eventually("ceph hello answers again after the Go process was killed", func() bool {
		o, _, _ := ceph("hello", "Bob")
		return o == "Hello, Bob!\n"
	})
	eventually("MGR_MODULE_ERROR clears", func() bool {
		o, _, _ := ceph("health", "detail")
		return !strings.Contains(o, "MGR_MODULE_ERROR")
	})

	// Failover: the standby mgr takes over, and its shims start a Go
	// side of its own. (x is active unless a respawn of x, when a module
	// was enabled, let the monitors make y active.)
	from, to := "x", "y"
	if activeMgr(t, ceph) == "y" {
		from, to = "y", "x"
	}
	_, e, rc = ceph("mgr", "fail", from)
	require.Zero(t, rc, e)
	eventually("mgr."+to+" is active", func() bool {
		o, _, _ := ceph("mgr", "stat")
		return strings.Contains(o, `"active_name": "`+to+`"`)
	})
	eventually("ceph hello answers from mgr."+to, func() bool {
		o, _, _ := ceph("hello", "Bob")
		return o == "Hello, Bob!\n"
	})
	_, err = os.Stat(filepath.Join(cluster.Dir, "run", "gomgr-bridge-"+to, SocketName))
	assert.NoError(t, err, "mgr.%s's Go side serves", to)

	// Disabled through the real mgr: its commands are refused as a Python
	// module's are.
	_, e, rc = ceph("mgr", "module", "disable", "hello")
	require.Zero(t, rc, e)
	eventually("ceph hello is refused once hello is disabled", func() bool {
		_, e, rc := ceph("hello")
		return rc == 95 && strings.Contains(e, "is not enabled")
	})
}
