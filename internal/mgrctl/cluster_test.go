package mgrctl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/mgrctl"
)

// clusterDescs is a monitor's get_command_descriptions: a mon command, two
// mgr commands (flag 8), a poll command (flag 16) and one not for the CLI.
const clusterDescs = `{
"cmd000": {"sig": ["osd", "ls", {"name": "epoch", "type": "CephInt", "req": "false"}], "help": "show all OSD ids", "module": "osd", "perm": "r", "flags": 0, "avail": "cli,rest"},
"cmd001": {"sig": ["antigravity", "send", {"name": "oid", "type": "CephString"}], "help": "Send the specified object to black hole", "module": "mgr", "perm": "rw", "flags": 8, "avail": "cli,rest"},
"cmd002": {"sig": ["mgr", "self-test", "eval", {"name": "s", "type": "CephString", "req": "false"}], "help": "eval given source", "module": "mgr", "perm": "w", "flags": 8, "avail": "cli,rest"},
"cmd003": {"sig": ["pg", "stat"], "help": "show placement group status", "module": "pg", "perm": "r", "flags": 24, "avail": "cli,rest"},
"cmd004": {"sig": ["rest", "only"], "help": "not for the CLI", "module": "mon", "perm": "r", "flags": 0, "avail": "rest"}
}`

// codedErr is a go-ceph style error: the return value as ErrorCode.
type codedErr int

func (e codedErr) Error() string  { return fmt.Sprintf("rados: ret=%d", int(e)) }
func (e codedErr) ErrorCode() int { return int(e) }

type call struct {
	mgr   bool
	cmd   map[string]any
	inbuf string
}

// fakeCluster is a ClusterConn answering from a function.
type fakeCluster struct {
	mu     sync.Mutex
	calls  []call
	closed bool
	answer func(c call) ([]byte, string, error)
}

func (f *fakeCluster) do(mgr bool, cmd, inbuf []byte) ([]byte, string, error) {
	var m map[string]any
	if err := json.Unmarshal(cmd, &m); err != nil {
		return nil, "bad json", codedErr(-22)
	}
	c := call{mgr: mgr, cmd: m, inbuf: string(inbuf)}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if m["prefix"] == "get_command_descriptions" {
		if mgr {
			return nil, "descriptions come from the monitors", codedErr(-22)
		}
		return []byte(clusterDescs), "", nil
	}
	return f.answer(c)
}

func (f *fakeCluster) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return f.do(false, cmd, inbuf)
}
func (f *fakeCluster) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return f.do(true, cmd, inbuf)
}
func (f *fakeCluster) Close() { f.closed = true }

// commands are the calls other than get_command_descriptions.
func (f *fakeCluster) commands() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.cmd["prefix"] != "get_command_descriptions" {
			out = append(out, c)
		}
	}
	return out
}

func dialerFor(f *fakeCluster, got *[3]string) mgrctl.ClusterDialer {
	return func(_ context.Context, conf, name, keyring string) (mgrctl.ClusterConn, error) {
		if got != nil {
			*got = [3]string{conf, name, keyring}
		}
		return f, nil
	}
}

func TestClusterRouting(t *testing.T) {
	f := &fakeCluster{answer: func(c call) ([]byte, string, error) {
		switch c.cmd["prefix"] {
		case "antigravity send":
			return []byte(fmt.Sprintf("oid=%v inbuf=%s\n", c.cmd["oid"], c.inbuf)), "sent", nil
		case "osd ls":
			return []byte("[0,1,2]\n"), "", nil
		}
		return nil, "No handler found for '" + fmt.Sprint(c.cmd["prefix"]) + "'", codedErr(-22)
	}}
	in := filepath.Join(t.TempDir(), "in")
	require.NoError(t, os.WriteFile(in, []byte("payload"), 0o644))
	var dialed [3]string
	r := run(t, "", []string{"-c", "/etc/ceph/ceph.conf", "-n", "client.foo", "-k", "/k", "antigravity", "send", "myoid", "-i", in}, mgrctl.WithClusterDialer(dialerFor(f, &dialed)))
	assert.Equal(t, result{stdout: "oid=myoid inbuf=payload\n", stderr: "sent\n"}, r)
	assert.Equal(t, [3]string{"/etc/ceph/ceph.conf", "client.foo", "/k"}, dialed)
	assert.True(t, f.closed)
	cmds := f.commands()
	require.Len(t, cmds, 1)
	assert.True(t, cmds[0].mgr, "a command with the MGR flag goes to the mgr")
	assert.Equal(t, map[string]any{"prefix": "antigravity send", "oid": "myoid", "target": []any{"mon-mgr", ""}}, cmds[0].cmd)

	r = run(t, "", []string{"-c", "c", "-f", "json", "osd", "ls"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stdout: "\n[0,1,2]\n"}, r, "an empty line before json, as ceph prints")
	cmds = f.commands()
	assert.False(t, cmds[1].mgr, "others go to the monitors")
	assert.Equal(t, map[string]any{"prefix": "osd ls", "format": "json"}, cmds[1].cmd)

	r = run(t, "", []string{"-c", "c", "rest", "only"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, 22, r.code, "descriptions not available to the CLI are dropped")
	r = run(t, "", []string{"-c", "c", "antigravity", "send"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stderr: "Invalid command: missing required parameter oid(<string>)\nantigravity send <oid> :  Send the specified object to black hole\nError EINVAL: invalid command\n", code: 22}, r)
}

func TestClusterErrors(t *testing.T) {
	f := &fakeCluster{answer: func(c call) ([]byte, string, error) {
		return []byte("partial\n"), "failing with 2", codedErr(-2)
	}}
	r := run(t, "", []string{"-c", "c", "osd", "ls"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stdout: "partial\n", stderr: "Error ENOENT: failing with 2\n", code: 2}, r)

	f.answer = func(call) ([]byte, string, error) { return nil, "", codedErr(3) }
	r = run(t, "", []string{"-c", "c", "osd", "ls"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, 0, r.code, "positive return values exit 0, as with ceph")

	r = run(t, "", []string{"-c", "c", "osd", "ls"}, mgrctl.WithClusterDialer(func(context.Context, string, string, string) (mgrctl.ClusterConn, error) {
		return nil, errors.New("rados: ret=-2, No such file or directory")
	}))
	assert.Equal(t, result{stderr: "mgrctl: connect to the cluster of c: rados: ret=-2, No such file or directory\n", code: 1}, r)

	r = run(t, "", []string{"-c", "c", "osd", "ls"})
	assert.Equal(t, result{stderr: "mgrctl: -c: mgrctl was built without Ceph cluster support\n", code: 1}, r)

	r = run(t, "", []string{"-c", "c", "--read-only", "osd", "ls"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, 2, r.code)
}

func TestClusterRetval(t *testing.T) {
	assert.Equal(t, 0, mgrctl.ClusterRetval(nil))
	assert.Equal(t, -2, mgrctl.ClusterRetval(codedErr(-2)))
	assert.Equal(t, 2, mgrctl.ClusterRetval(fmt.Errorf("wrapped: %w", codedErr(2))), "kept as is, not negated")
	assert.Equal(t, -int(syscall.ETIMEDOUT), mgrctl.ClusterRetval(syscall.ETIMEDOUT))
	assert.Equal(t, -int(syscall.EINVAL), mgrctl.ClusterRetval(errors.New("plain")))
}

// TestClusterRepl drives the REPL over -c: the source in the inbuf of an
// mgr command {"prefix": ...}, retval 2 (as go-ceph reports it) for
// incomplete input.
func TestClusterRepl(t *testing.T) {
	f := &fakeCluster{answer: func(c call) ([]byte, string, error) {
		if strings.HasSuffix(c.inbuf, ":") || strings.Contains(c.inbuf, "\n") && !strings.HasSuffix(c.inbuf, "\n") {
			return nil, "", codedErr(2)
		}
		return []byte(fmt.Sprintf("ran %q\n", c.inbuf)), "", nil
	}}
	r := run(t, "x = 1\nif x:\n  y = 2\n\n", []string{"-c", "c", "repl"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stdout: "ran \"x = 1\"\nran \"if x:\\n  y = 2\\n\"\n"}, r)
	for _, c := range f.commands() {
		assert.True(t, c.mgr)
		assert.Equal(t, map[string]any{"prefix": "mgr self-test eval"}, c.cmd)
	}
	assert.Len(t, f.commands(), 4)
}

// TestPoll repeats a poll command every --period until interrupted.
func TestPoll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	f := &fakeCluster{answer: func(c call) ([]byte, string, error) {
		n++
		if n == 3 {
			go func() { time.Sleep(5 * time.Millisecond); cancel() }()
		}
		assert.Equal(t, true, c.cmd["poll"])
		return []byte(fmt.Sprintf("tick %d\n", n)), "", nil
	}}
	r := run(t, "", []string{"-c", "c", "pg", "stat", "--period", "0.01"}, mgrctl.WithClusterDialer(dialerFor(f, nil)), mgrctl.WithContext(ctx))
	assert.Equal(t, result{stdout: "tick 1\ntick 2\ntick 3\n"}, r)

	r = run(t, "", []string{"-c", "c", "osd", "ls", "--watch"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stderr: "Error EINVAL: --watch and --period apply to poll commands only; 'osd ls' is not one\n", code: 22}, r)
}
