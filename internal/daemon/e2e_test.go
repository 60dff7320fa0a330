package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/stretchr/testify/require"
)

var mgrBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gomgr-bin")
	if err != nil {
		panic(err)
	}
	mgrBinary = filepath.Join(dir, "ceph-mgr")
	gobin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		panic(err)
	}
	out, err := exec.Command(gobin, "build", "-o", mgrBinary, "github.com/gomgr/gomgr/cmd/ceph-mgr").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building ceph-mgr: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a ceph-mgr process started by a test.
type proc struct {
	t      *testing.T
	id     string
	run    string
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan error
}

func (p *proc) asok() string { return filepath.Join(p.run, "ceph-mgr."+p.id+".asok") }
func (p *proc) api() string  { return filepath.Join(p.run, "ceph-mgr."+p.id+".api") }

// startMgr starts the built daemon and waits for its API socket.
func startMgr(t *testing.T, id, data, run string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, id: id, run: run, exited: make(chan error, 1)}
	args := append([]string{"-i", id, "--data", data, "--run-dir", run}, extra...)
	p.cmd = exec.Command(mgrBinary, args...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("mgr.%s output:\n%s", id, p.out.String())
		}
	})
	require.Eventually(t, func() bool {
		c := api.NewClient(p.api())
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Status(ctx)
		return err == nil
	}, 15*time.Second, 20*time.Millisecond, "mgr.%s did not start: %s", id, &p.out)
	return p
}

func (p *proc) status() api.Status {
	c := api.NewClient(p.api())
	defer c.Close()
	s, err := c.Status(context.Background())
	require.NoError(p.t, err)
	return s
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(p.t, err, "exit after SIGTERM: %s", &p.out)
	case <-time.After(15 * time.Second):
		p.t.Fatalf("mgr.%s did not exit within 15 s of SIGTERM", p.id)
	}
}

func (p *proc) kill9() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Kill())
	<-p.exited
}

type cliResult = testutil.Result

// ceph runs the real ceph CLI against the admin socket sock.
func ceph(t *testing.T, sock string, words ...string) cliResult {
	t.Helper()
	bin := testutil.NeedCephCLI(t)
	return testutil.Run(t, exec.Command(bin, append([]string{"--admin-daemon", sock}, words...)...))
}

// TestCephCLIEndToEnd drives the built daemon with the real ceph CLI.
func TestCephCLIEndToEnd(t *testing.T) {
	testutil.NeedCephCLI(t)
	dir := testutil.ShortTempDir(t)
	p := startMgr(t, "x", filepath.Join(dir, "data"), dir)
	s := p.asok()
	ok := func(want string, words ...string) {
		t.Helper()
		r := ceph(t, s, words...)
		require.Equal(t, cliResult{Code: 0, Stdout: want, Stderr: ""}, r, strings.Join(words, " "))
	}
	ok("ERROR: (95) Operation not supported\nModule 'hello' is not enabled/loaded (required by command 'hello'): use `ceph mgr module enable hello` to enable it\n", "hello")
	ok("", "mgr", "module", "enable", "hello")
	ok("module 'hello' is already enabled\n", "mgr", "module", "enable", "hello")
	ok("Hello world!\n", "hello")
	ok("Hello, Bob!\n", "hello", "Bob")
	ok("Hello, I am the count!\n1, 2, 3!\n", "count", "3")
	ok("ERROR: (22) Invalid argument\nThat's too big a number\n", "count", "11")
	ok("ERROR: (22) Invalid argument\nThat's too small a number\n", "count", "0")
	ok("Hello world!\n", "-f", "json", "hello")
	// (Other compiled-in modules are listed as disabled.)
	r := ceph(t, s, "mgr", "module", "ls")
	require.Zero(t, r.Code)
	require.Regexp(t, `^MODULE *\n(.*\n)*hello +on\n`, r.Stdout)
	r = ceph(t, s, "-f", "json", "mgr", "module", "ls")
	require.Zero(t, r.Code)
	var ls struct {
		AlwaysOn []string `json:"always_on_modules"`
		Enabled  []string `json:"enabled_modules"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &ls))
	require.Equal(t, []string{"hello"}, ls.Enabled)
	require.True(t, strings.HasPrefix(r.Stdout, "{\n  \"always_on_modules\": ["), "Python-style JSON: %s", r.Stdout)
	r = ceph(t, s, "-f", "yaml", "mgr", "module", "ls")
	require.Zero(t, r.Code)
	require.Contains(t, r.Stdout, "\nenabled_modules:\n- hello\n")
	ok("HEALTH_OK\n", "health")
	ok("{\n    \"status\": \"HEALTH_OK\",\n    \"checks\": {},\n    \"mutes\": []\n}\n", "-f", "json-pretty", "health") // the monitor's bytes

	// Options through the ceph CLI, validated like the mon does.
	ok("ERROR: (22) Invalid argument\nerror parsing value: 'z' is not one of the permitted values: a, b, c\n", "config", "set", "mgr", "mgr/hello/foo", "z")
	ok("ERROR: (22) Invalid argument\nunrecognized config option 'mgr/hello/nope': module 'hello' has no option 'nope'\n", "config", "set", "mgr", "mgr/hello/nope", "1")
	ok("", "config", "set", "mgr", "mgr/hello/place", "Mars")
	ok("Mars\n", "config", "get", "mgr", "mgr/hello/place")
	ok("Hello Mars!\n", "hello")
	ok("", "config", "set", "mgr", "mgr/hello/emphatic", "false")
	ok("Hello Mars\n", "hello")
	ok("", "config", "rm", "mgr", "mgr/hello/emphatic")
	ok("Hello Mars!\n", "hello")
	ok("a\n", "config", "get", "mgr", "mgr/hello/foo")

	// Invalid arguments are refused by ceph's own validation.
	r = ceph(t, s, "count", "abc")
	require.Equal(t, cliResult{Code: 22, Stdout: "", Stderr: "Invalid command: abc doesn't represent an int\ncount <num:int> :  Do some counting\nadmin_socket: invalid command\n"}, r)
	r = ceph(t, s, "hello", "a", "b")
	require.Equal(t, 22, r.Code)
	require.Contains(t, r.Stderr, "Invalid command: unused arguments: ['b']\nhello [<person_name>] :  Say hello\n")
	r = ceph(t, s, "helo")
	require.Equal(t, 22, r.Code)
	require.Contains(t, r.Stderr, "no valid command found; 10 closest matches:")

	// config-key through the CLI, including an error.
	ok("set k1\n", "config-key", "set", "k1", "v1")
	ok("v1", "config-key", "get", "k1") // the exact value, no newline added (as the monitor answers)
	ok("ERROR: (2) No such file or directory\nerror obtaining 'nosuch': (2) No such file or directory\n", "config-key", "get", "nosuch")

	// Disable, and commands of the disabled module say so.
	ok("", "mgr", "module", "disable", "hello")
	ok("ERROR: (95) Operation not supported\nModule 'hello' is not enabled/loaded (required by command 'hello'): use `ceph mgr module enable hello` to enable it\n", "hello")
	ok("module 'hello' is already disabled\n", "mgr", "module", "disable", "hello")
	ok("ERROR: (2) No such file or directory\nall mgr daemons do not support module 'nosuch': it is not compiled into this daemon (compiled-in modules: crash, hello, notes, prometheus, selftest)\n", "mgr", "module", "enable", "nosuch")
	ok("", "mgr", "module", "enable", "hello")
	ok("Hello Mars!\n", "hello")

	// Raw protocol errors.
	p.stop()
}

// TestCrashDurability: every acknowledged write survives kill -9.
func TestCrashDurability(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	p := startMgr(t, "x", data, dir)
	c := api.NewClient(p.api())
	ctx := context.Background()
	res, err := c.Command(ctx, map[string]any{"prefix": "mgr module enable", "module": "hello"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, res.Stderr)
	const n = 200
	acked := 0
	for i := 0; i < n; i++ {
		res, err := c.Command(ctx, map[string]any{"prefix": "config-key set", "key": fmt.Sprintf("crash/%03d", i), "val": fmt.Sprint(i)}, nil)
		require.NoError(t, err)
		require.Zero(t, res.Retval, res.Stderr)
		if i%20 == 0 {
			res, err = c.Command(ctx, map[string]any{"prefix": "config set", "who": "mgr", "name": "mgr/hello/place", "value": fmt.Sprintf("place-%d", i)}, nil)
			require.NoError(t, err)
			require.Zero(t, res.Retval, res.Stderr)
		}
		acked++
	}
	c.Close()
	p.kill9()

	p2 := startMgr(t, "x", data, dir)
	c2 := api.NewClient(p2.api())
	defer c2.Close()
	for i := 0; i < acked; i++ {
		res, err := c2.Command(ctx, map[string]any{"prefix": "config-key get", "key": fmt.Sprintf("crash/%03d", i)}, nil)
		require.NoError(t, err)
		require.Equal(t, 0, res.Retval, "key %d lost after kill -9: %s", i, res.Stderr)
		require.Equal(t, fmt.Sprint(i), string(res.Stdout), "the exact value")
	}
	res, err = c2.Command(ctx, map[string]any{"prefix": "hello"}, nil)
	require.NoError(t, err)
	require.Equal(t, "Hello place-180!\n", string(res.Stdout), "options and the enabled module list survive too")
	p2.stop()
}

// TestStandbyTakeover: a second daemon on the same data directory waits as
// standby and takes over when the active one dies or stops.
func TestStandbyTakeover(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	x := startMgr(t, "x", data, dir)
	require.Eventually(t, func() bool { return x.status().Role == "active" }, 10*time.Second, 20*time.Millisecond, "the first daemon becomes active")
	cx := api.NewClient(x.api())
	defer cx.Close()
	ctx := context.Background()
	res, err := cx.Command(ctx, map[string]any{"prefix": "mgr module enable", "module": "hello"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval)

	y := startMgr(t, "y", data, dir)
	require.Eventually(t, func() bool { return y.status().Role == "standby" }, 5*time.Second, 20*time.Millisecond)
	require.Equal(t, "x", y.status().Active)
	cy := api.NewClient(y.api())
	defer cy.Close()
	res, err = cy.Command(ctx, map[string]any{"prefix": "hello"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EAGAIN), res.Retval)
	require.Contains(t, res.Stderr, "mgr.y is a standby and cannot run 'hello'; the active daemon is mgr.x")
	res, err = cx.Command(ctx, map[string]any{"prefix": "status", "format": "json"}, nil)
	require.NoError(t, err)
	require.Contains(t, string(res.Stdout), `"standbys": [`+"\n"+`    "y"`)

	start := time.Now()
	x.kill9()
	require.Eventually(t, func() bool { return y.status().Role == "active" }, 10*time.Second, 20*time.Millisecond)
	t.Logf("takeover after kill -9 took %s", time.Since(start))
	res, err = cy.Command(ctx, map[string]any{"prefix": "hello"}, nil)
	require.NoError(t, err)
	require.Equal(t, "Hello world!\n", string(res.Stdout), res.Stderr)

	// A graceful stop hands over too.
	z := startMgr(t, "z", data, dir)
	require.Eventually(t, func() bool { return z.status().Role == "standby" }, 5*time.Second, 20*time.Millisecond)
	y.stop()
	require.Eventually(t, func() bool { return z.status().Role == "active" }, 10*time.Second, 20*time.Millisecond)
	z.stop()
}

// TestRunPrintsHowToTalk: the daemon tells the user how to reach it.
func TestRunPrintsHowToTalk(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	p := startMgr(t, "x", filepath.Join(dir, "data"), dir)
	p.stop()
	out := p.out.String()
	require.Contains(t, out, "try: ceph --admin-daemon "+p.asok()+" mgr module enable hello\n")
	require.Contains(t, out, "ceph --admin-daemon "+p.asok()+" hello\n")
	require.Contains(t, out, "mgrctl --run-dir "+dir+" mgr module ls")
}
