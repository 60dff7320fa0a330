package mgrctl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/mgrctl"
	"github.com/gomgr/gomgr/internal/testutil"
)

// keyValues are config-key values whose bytes must come back exactly:
// with and without a trailing newline, binary, empty.
var keyValues = map[string]string{
	"cli/plain":    "abc",
	"cli/newline":  "abc\n",
	"cli/twolines": "one\ntwo\n\n",
	"cli/binary":   "\x00\xff\x01bin\r",
	"cli/empty":    "",
}

// cephAsok runs the real ceph CLI on a gomgr daemon's admin socket.
func cephAsok(t *testing.T, asok string, args ...string) testutil.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return testutil.Run(t, exec.CommandContext(ctx, "ceph", append([]string{"--admin-daemon", asok}, args...)...))
}

// TestCephOutputRulesOnDaemon checks mgrctl's output against the real
// ceph CLI's rules on a gomgr daemon: ceph --admin-daemon prints the
// daemon's reply as is, and ceph (for a cluster) prints an empty line
// before -f json and json-pretty output, nothing else; so mgrctl's stdout
// is the admin socket's with that line in front for json formats, and
// exactly the admin socket's with -o or another format. config-key get
// gives a value's exact bytes and nothing on stderr.
func TestCephOutputRulesOnDaemon(t *testing.T) {
	testutil.NeedCephCLI(t)
	dir := startDaemon(t)
	asok := filepath.Join(dir, "ceph-mgr.x.asok")
	mgrctlRun := func(stdin string, args ...string) result {
		return run(t, stdin, append([]string{"--run-dir", dir}, args...))
	}
	require.Zero(t, mgrctlRun("", "mgr", "module", "enable", "hello").code)
	for k, v := range keyValues {
		r := mgrctlRun(v, "config-key", "set", k, "-i", "-")
		require.Zero(t, r.code, r.stderr)
	}
	require.Zero(t, mgrctlRun("", "config", "set", "mgr", "mgr/hello/place", "Mars").code)

	for _, words := range [][]string{
		{"mgr", "module", "ls"}, {"config-key", "dump"}, {"config", "dump"}, {"status"}, {"hello"},
		{"config-key", "get", "cli/plain"},
	} {
		for _, format := range []string{"json", "json-pretty", ""} {
			name := strings.Join(words, " ") + " -f " + format
			var fargs []string
			if format != "" {
				fargs = []string{"-f", format}
			}
			want := cephAsok(t, asok, append(fargs, words...)...)
			if want.Code != 0 || strings.HasPrefix(want.Stdout, "ERROR: ") {
				continue // not every command has every format
			}
			want.Stdout = steady(want.Stdout)
			got := mgrctlRun("", append(fargs, words...)...)
			require.Zero(t, got.code, "%s: %s", name, got.stderr)
			nl := ""
			if strings.HasPrefix(format, "json") {
				nl = "\n"
			}
			assert.Equal(t, nl+want.Stdout, steady(got.stdout), name)

			out := filepath.Join(t.TempDir(), "out")
			got = mgrctlRun("", append(append(fargs, words...), "-o", out)...)
			require.Zero(t, got.code, "%s -o: %s", name, got.stderr)
			assert.Empty(t, got.stdout, "%s -o: nothing on stdout", name)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, want.Stdout, steady(string(b)), "%s -o FILE: the output as is", name)
			got = mgrctlRun("", append(append(fargs, words...), "--out-file", "-")...)
			assert.Equal(t, want.Stdout, steady(got.stdout), "%s -o -: stdout, without the empty line", name)
		}
	}

	for k, v := range keyValues {
		got := mgrctlRun("", "config-key", "get", k)
		assert.Equal(t, result{stdout: v}, got, "config-key get %s: the value's bytes, nothing on stderr", k)
		assert.Equal(t, v, cephAsok(t, asok, "config-key", "get", k).Stdout, "the admin socket gives the same bytes")
		got = mgrctlRun("", "-f", "json", "config-key", "get", k)
		assert.Equal(t, result{stdout: "\n" + v}, got, "config-key get %s -f json", k)
	}

	// The empty line comes whatever the outcome, as with ceph: also for a
	// failed or an invalid command.
	got := mgrctlRun("", "-f", "json", "config-key", "get", "cli/nosuch")
	assert.Equal(t, "\n", got.stdout)
	assert.Equal(t, 2, got.code)
	got = mgrctlRun("", "-f", "json-pretty", "no", "such", "command")
	assert.Equal(t, "\n", got.stdout)
	assert.Equal(t, 22, got.code)
	got = mgrctlRun("", "-f", "json", "config-key", "get", "cli/nosuch", "-o", filepath.Join(t.TempDir(), "x"))
	assert.Equal(t, "", got.stdout)

	got = mgrctlRun("", "config-key", "get", "cli/plain", "-o", filepath.Join(t.TempDir(), "no", "such", "dir"))
	assert.Equal(t, 1, got.code)
	assert.Contains(t, got.stderr, "Can't open output file ")
}

// TestCephOutputRulesOnCluster compares mgrctl -c with the real ceph CLI
// on the loopback cluster, byte for byte: stdout, stderr and exit status
// (or, with -o, the file), for json formats (the empty line first) and
// config-key values of every kind.
func TestCephOutputRulesOnCluster(t *testing.T) {
	c := needCluster(t)
	mgrctlRun := func(args ...string) result {
		return run(t, "", append([]string{"-c", c.Conf, "-k", c.Keyring}, args...), mgrctl.WithClusterDialer(mgrctl.RadosDialer))
	}
	for k, v := range keyValues {
		r := ceph(t, c, []byte(v), "config-key", "set", k, "-i", "-")
		require.Zero(t, r.Code, r.Stderr)
	}
	// same compares ceph and mgrctl; the cluster's maps can move on between
	// the two calls (a mgr beacon), so a difference is retried a few times.
	same := func(checkStderr bool, args ...string) {
		t.Helper()
		name := strings.Join(args, " ")
		var want testutil.Result
		var got result
		for range 5 {
			want = ceph(t, c, nil, args...)
			got = mgrctlRun(args...)
			if got.stdout == want.Stdout && got.code == want.Code && (!checkStderr || got.stderr == want.Stderr) {
				return
			}
		}
		assert.Equal(t, want.Stdout, got.stdout, "stdout of %s", name)
		assert.Equal(t, want.Code, got.code, "exit status of %s", name)
		if checkStderr {
			assert.Equal(t, want.Stderr, got.stderr, "stderr of %s", name)
		}
	}
	for _, format := range []string{"json", "json-pretty"} {
		for _, words := range [][]string{{"osd", "tree"}, {"mgr", "dump"}, {"config-key", "get", "cli/newline"}, {"config-key", "get", "cli/nosuch"}} {
			same(true, append([]string{"-f", format}, words...)...)
		}
		// An invalid command: the same stdout and status (ceph lists its
		// closest matches in its own order).
		same(false, "-f", format, "no", "such", "command")
	}
	same(true, "osd", "tree")
	for k := range keyValues {
		same(true, "config-key", "get", k)
	}
	same(true, "config-key", "get", "cli/nosuch")
	// -o FILE: the output exactly, nothing on stdout, whatever the format.
	for _, args := range [][]string{{"-f", "json", "osd", "ls"}, {"config-key", "get", "cli/binary"}} {
		dir := t.TempDir()
		wantFile, gotFile := filepath.Join(dir, "ceph.out"), filepath.Join(dir, "mgrctl.out")
		want := ceph(t, c, nil, append(args, "-o", wantFile)...)
		got := mgrctlRun(append(args, "-o", gotFile)...)
		assert.Equal(t, result{stdout: want.Stdout, stderr: want.Stderr, code: want.Code}, got, "%v -o FILE", args)
		wb, err := os.ReadFile(wantFile)
		require.NoError(t, err)
		gb, err := os.ReadFile(gotFile)
		require.NoError(t, err)
		assert.Equal(t, string(wb), string(gb), "%v -o FILE", args)
		same(true, append(args, "-o", "-")...)
	}
}

// TestClusterConnectTimeout: with the monitor stopped, mgrctl -c gives up
// after --connect-timeout with ETIMEDOUT (the ceph CLI prints "timed out"
// and exits 1).
func TestClusterConnectTimeout(t *testing.T) {
	c := needCluster(t)
	require.NoError(t, c.Signal("mon.a", syscall.SIGSTOP))
	continued := false
	cont := func() {
		if !continued {
			continued = true
			assert.NoError(t, c.Signal("mon.a", syscall.SIGCONT))
		}
	}
	t.Cleanup(cont)
	r := run(t, "", []string{"-c", c.Conf, "-k", c.Keyring, "--connect-timeout", "1", "osd", "ls"}, mgrctl.WithClusterDialer(mgrctl.RadosDialer))
	cont()
	assert.Equal(t, result{stderr: "Error ETIMEDOUT: the Ceph cluster of " + c.Conf + " did not answer within 1s (--connect-timeout)\n", code: 110}, r)
}

// mgrctlBinary returns the path of a "mgrctl" that runs this test binary
// as mgrctl (TestMain's testscript commands go by the program name).
func mgrctlBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "mgrctl")
	require.NoError(t, os.Symlink(exe, p))
	return p
}

// TestBrokenPipe: output to a pipe nobody reads is an error, EPIPE (32),
// with a message, not a silent death by SIGPIPE.
func TestBrokenPipe(t *testing.T) {
	dir := startDaemon(t)
	require.Zero(t, run(t, "", []string{"--run-dir", dir, "config-key", "set", "k", "v"}).code)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	defer w.Close()
	cmd := exec.Command(mgrctlBinary(t), "--run-dir", dir, "config-key", "get", "k")
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "mgrctl fails: %v", err)
	assert.Equal(t, 32, ee.ExitCode(), "exit status EPIPE (not killed by SIGPIPE: %v)", ee)
	assert.Equal(t, "Error EPIPE: cannot write the output to stdout: write /dev/stdout: broken pipe\n", stderr.String())
}

// startingCluster is a ClusterConn whose monitors answer every command,
// get_command_descriptions included, with an errno.
type startingCluster struct{ retval int }

func (s startingCluster) MonCommand([]byte, []byte) ([]byte, string, error) {
	return nil, "not ready yet", codedErr(s.retval)
}
func (s startingCluster) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return s.MonCommand(cmd, inbuf)
}
func (startingCluster) Close() {}

// TestErrnoErrors: a failure that carries an errno prints as "Error
// <ERRNAME>: ..." with the errno as exit status, as ceph prints a failed
// command: the daemon answering EAGAIN while it starts, a timeout.
func TestErrnoErrors(t *testing.T) {
	dial := func(cc mgrctl.ClusterConn) mgrctl.Option {
		return mgrctl.WithClusterDialer(func(context.Context, string, string, string) (mgrctl.ClusterConn, error) { return cc, nil })
	}
	r := run(t, "", []string{"-c", "c", "osd", "ls"}, dial(startingCluster{-int(syscall.EAGAIN)}))
	assert.Equal(t, result{stderr: "Error EAGAIN: get_command_descriptions: not ready yet\n", code: 11}, r)

	// A dialer that never finishes: --connect-timeout.
	hang := mgrctl.WithClusterDialer(func(ctx context.Context, _, _, _ string) (mgrctl.ClusterConn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r = run(t, "", []string{"-c", "c", "--connect-timeout", "0.05", "osd", "ls"}, hang)
	assert.Equal(t, result{stderr: "Error ETIMEDOUT: the Ceph cluster of c did not answer within 50ms (--connect-timeout)\n", code: 110}, r)
	r = run(t, "", []string{"-c", "c", "--connect-timeout", "0", "--timeout", "0.05", "osd", "ls"}, hang)
	assert.Equal(t, result{stderr: "Error ETIMEDOUT: the Ceph cluster of c did not answer within 50ms (--timeout)\n", code: 110}, r)

	// A command that never finishes: --timeout.
	block := make(chan struct{})
	defer close(block)
	f := &fakeCluster{answer: func(call) ([]byte, string, error) { <-block; return nil, "", nil }}
	r = run(t, "", []string{"-c", "c", "osd", "ls", "--timeout=0.05"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stderr: "Error ETIMEDOUT: the Ceph cluster of c did not answer within 50ms (--timeout)\n", code: 110}, r)

	// An input over the limit for -c.
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, 64<<20+1), 0o600))
	r = run(t, "", []string{"-c", "c", "antigravity", "send", "o", "-i", big}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, result{stderr: fmt.Sprintf("Error E2BIG: the input of -i %s is larger than mgrctl's limit of 67108864 bytes for -c\n", big), code: 7}, r)
}

// TestClusterOnlyFlags: -n/--name and -k/--keyring are mgrctl's with -c
// (wherever they are), the command's without.
func TestClusterOnlyFlags(t *testing.T) {
	f := &fakeCluster{answer: func(c call) ([]byte, string, error) { return []byte(fmt.Sprint(c.cmd["oid"])), "", nil }}
	var dialed [3]string
	r := run(t, "", []string{"antigravity", "send", "--name=client.bar", "o1", "-c", "c", "--keyring", "/k"}, mgrctl.WithClusterDialer(dialerFor(f, &dialed)))
	assert.Equal(t, result{stdout: "o1"}, r)
	assert.Equal(t, [3]string{"c", "client.bar", "/k"}, dialed)
	r = run(t, "", []string{"-c", "c", "osd", "ls", "--name"}, mgrctl.WithClusterDialer(dialerFor(f, nil)))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "flag needs an argument: --name")
}

// sinceRE matches the age `status` prints ("active, since 2s"), which
// moves on between two calls.
var sinceRE = regexp.MustCompile(`since [0-9]+[smhd]`)

// steady is out with the ages that move between calls masked.
func steady(out string) string { return sinceRE.ReplaceAllString(out, "since N") }
