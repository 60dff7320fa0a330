package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/asok/asoktest"
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// slow is a module whose commands take their time.
type slow struct {
	running chan string // each command sends its name as it starts
	ended   chan error  // "slow wait" sends why its context ended
}

type slowQuickArgs struct {
	clicommand.Read `prefix:"slow quick" desc:"answer after 300 ms"`
}

type slowStuckArgs struct {
	clicommand.Read `prefix:"slow stuck" desc:"never answer, whatever the context says"`
}

type slowWaitArgs struct {
	clicommand.Read `prefix:"slow wait" desc:"answer when the context ends"`
}

func (s *slow) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *slowQuickArgs) objectformat.Result {
			s.running <- "quick"
			time.Sleep(300 * time.Millisecond)
			return objectformat.OK("done")
		}),
		clicommand.Func(func(context.Context, *slowStuckArgs) objectformat.Result {
			s.running <- "stuck"
			select {}
		}),
		clicommand.Func(func(ctx context.Context, _ *slowWaitArgs) objectformat.Result {
			s.running <- "wait"
			<-ctx.Done()
			s.ended <- context.Cause(ctx)
			return objectformat.Failed(-int(syscall.ECANCELED), "cancelled")
		}),
	}
}

// runDaemon runs an in-process daemon with the slow module and returns it
// once it is active.
func runDaemon(t *testing.T, o Options) (*Daemon, *slow, context.CancelFunc, <-chan error) {
	t.Helper()
	s := &slow{running: make(chan string, 16), ended: make(chan error, 16)}
	if o.Registry == nil {
		o.Registry = modhost.NewRegistry()
		require.NoError(t, o.Registry.Register(module.Info{Name: "slow", AlwaysOn: true, New: func() module.Module { return s }}))
	}
	if o.ID == "" {
		o.ID = "t"
	}
	o.Log = io.Discard
	d, cancel, done := runInProcess(t, context.Background(), o)
	return d, s, cancel, done
}

// active waits for the daemon to be active.
func active(t *testing.T, d *Daemon) {
	t.Helper()
	require.Eventually(t, func() bool { return d.Role() == RoleActive }, 10*time.Second, time.Millisecond)
}

// started waits for n commands of the slow module to start.
func (s *slow) started(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-s.running:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d commands started", i, n)
		}
	}
}

func rawHTTP(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// postCommand posts a command request body.
func postCommand(t *testing.T, path string, body io.Reader) (int, api.Reply) {
	t.Helper()
	return postSized(t, path, body, -1)
}

// TestInvalidTextRefused: invalid UTF-8 (raw, or the escaped lone
// surrogates Python's json sends for it) and bytes after the command are
// refused on every transport with -EINVAL, and nothing is stored under a
// replaced key.
func TestInvalidTextRefused(t *testing.T) {
	d, _, _ := hardDaemon(t)
	const wantMsg = "invalid UTF-8 in argument 'key'"
	for _, cmd := range []string{
		`{"prefix": "config-key set", "key": "k` + "\xff" + `", "val": "v"}`,
		`{"prefix": "config-key set", "key": "k\udcfe", "val": "v"}`,
	} {
		got, err := asokRaw(t, d.AsokPath(), []byte(cmd+"\x00"), false)
		require.NoError(t, err)
		require.Equal(t, "ERROR: (22) Invalid argument\n"+wantMsg+"\n", got, cmd)

		c := api.NewClient(d.APIPath())
		res, err := c.CommandJSON(context.Background(), []byte(cmd), nil)
		c.Close()
		require.NoError(t, err)
		require.Equal(t, -int(syscall.EINVAL), res.Retval, cmd)
		require.Equal(t, wantMsg, res.Stderr, cmd)

		code, r := postCommand(t, d.APIPath(), strings.NewReader(`{"cmd": `+cmd+`}`))
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, -int(syscall.EINVAL), r.Retval)
		require.Equal(t, "bad request: "+wantMsg, r.Stderr)
	}
	// Trailing data is named as such on every transport.
	got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "config-key set", "key": "a", "val": "v"} {"x": 1}`+"\x00"), false)
	require.NoError(t, err)
	require.Equal(t, "ERROR: (22) Invalid argument\nbad request: trailing data after the command\n", got, "trailing bytes on the admin socket")
	c := api.NewClient(d.APIPath())
	res, err := c.CommandJSON(context.Background(), []byte(`{"prefix": "config-key set", "key": "a", "val": "v"} x`), nil)
	c.Close()
	require.NoError(t, err)
	require.Equal(t, [2]any{-int(syscall.EINVAL), "bad request: trailing data after the command"}, [2]any{res.Retval, res.Stderr}, "framed")
	code, r := postCommand(t, d.APIPath(), strings.NewReader(`{"cmd": {"prefix": "config-key set", "key": "a", "val": "v"}} trailing`))
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, [2]any{-int(syscall.EINVAL), "bad request: trailing data after the request object"}, [2]any{r.Retval, r.Stderr}, "HTTP")

	got, err = asokRaw(t, d.AsokPath(), []byte(`{"prefix": "config-key ls"}`+"\x00"), false)
	require.NoError(t, err)
	require.Equal(t, "[]\n", got, "nothing was stored")
}

// TestHelpIsNotHTMLEscaped: help texts keep their < and > as the Ceph
// daemons print them.
func TestHelpIsNotHTMLEscaped(t *testing.T) {
	d, _, _ := hardDaemon(t)
	for _, req := range []string{`{"prefix": "help"}`, `{"prefix": "help", "format": "json"}`, `{"prefix": "get_command_descriptions"}`} {
		got, err := asokRaw(t, d.AsokPath(), []byte(req+"\x00"), false)
		require.NoError(t, err)
		require.Contains(t, got, "set <key> to value <val>", req)
		require.NotContains(t, got, `\u003c`, req)
	}
	c := api.NewClient(d.APIPath())
	defer c.Close()
	descs, err := c.Descriptions(context.Background())
	require.NoError(t, err)
	require.Contains(t, string(descs), "set <key> to value <val>")
}

// TestStartupWaitsForModules: commands and descriptions that arrive before
// the modules are registered wait for them and get real answers, on every
// socket.
func TestStartupWaitsForModules(t *testing.T) {
	results := make(chan string, 4)
	ready := func(d *Daemon) {
		// The sockets listen, the daemon has no manager yet: send, and wait
		// until the requests are inside the daemon before letting it start.
		go func() {
			c := api.NewClient(d.APIPath())
			defer c.Close()
			res, err := c.Command(context.Background(), map[string]any{"prefix": "slow quick"}, nil)
			results <- fmt.Sprintf("framed: %v %d %q %q", err, res.Retval, res.Stdout, res.Stderr)
		}()
		for _, req := range []string{`{"prefix": "get_command_descriptions"}`, `{"prefix": "slow quick"}`} {
			go func() {
				got, err := asokRaw(t, d.AsokPath(), []byte(req+"\x00"), false)
				if strings.HasPrefix(got, "{\"cmd000\"") && strings.Contains(got, `["slow","quick"]`) {
					got = "the descriptions"
				}
				results <- fmt.Sprintf("asok %s: %v %q", req, err, got)
			}()
		}
		go func() {
			c := api.NewClient(d.APIPath())
			defer c.Close()
			b, err := c.Descriptions(context.Background())
			results <- fmt.Sprintf("descriptions: %v %v", err, bytes.Contains(b, []byte(`["slow","quick"]`)))
		}()
		deadline := time.Now().Add(5 * time.Second)
		for (d.stats.apiRequests.Load() < 1 || d.stats.asokRequests.Load() < 2) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		require.Nil(t, d.manager(), "the daemon had started already")
	}
	runDaemon(t, Options{Ready: ready})
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, <-results)
	}
	require.ElementsMatch(t, []string{
		`framed: <nil> 0 "done\n" ""`,
		`asok {"prefix": "get_command_descriptions"}: <nil> "the descriptions"`,
		`asok {"prefix": "slow quick"}: <nil> "done\n"`,
		`descriptions: <nil> true`,
	}, got)
}

// TestStillStartingAnswersEAGAIN: a daemon still starting past StartWait
// (here a second daemon waiting to know whether it is the standby) answers
// -EAGAIN "starting" on every socket, descriptions included, instead of an
// empty command table.
func TestStillStartingAnswersEAGAIN(t *testing.T) {
	dir := testutil.ShortTempDir(t)
	data := filepath.Join(dir, "data")
	a, _, _, _ := runDaemon(t, Options{ID: "a", DataDir: data, RunDir: dir})
	active(t, a)
	b, _, _, _ := runDaemon(t, Options{ID: "b", DataDir: data, RunDir: dir, StandbyPoll: 5 * time.Second, StartWait: 100 * time.Millisecond})
	require.Equal(t, RoleStarting, b.Role())
	const msg = "mgr.b is starting; try again"

	got, err := asokRaw(t, b.AsokPath(), []byte(`{"prefix": "get_command_descriptions"}`+"\x00"), false)
	require.NoError(t, err)
	require.Equal(t, "ERROR: (11) Resource temporarily unavailable\n"+msg+"\n", got)
	got, err = asokRaw(t, b.AsokPath(), []byte(`{"prefix": "slow quick"}`+"\x00"), false)
	require.NoError(t, err)
	require.Equal(t, "ERROR: (11) Resource temporarily unavailable\n"+msg+"\n", got)

	c := api.NewClient(b.APIPath())
	defer c.Close()
	_, err = c.Descriptions(context.Background())
	require.Error(t, err)
	require.Equal(t, -int(syscall.EAGAIN), objectformat.ErrnoOf(err))
	require.Equal(t, msg, err.Error())
	res, err := c.Command(context.Background(), map[string]any{"prefix": "slow quick"}, nil)
	require.NoError(t, err)
	require.Equal(t, objectformat.Result{Retval: -int(syscall.EAGAIN), Stdout: []byte{}, Stderr: msg}, res)

	// The real ceph CLI cannot parse the error as a command table; it
	// shows the daemon's message and fails.
	if bin := cephCLI(t); bin != "" {
		r := testutil.Run(t, exec.Command(bin, "--admin-daemon", b.AsokPath(), "slow", "quick"))
		require.Equal(t, 22, r.Code)
		require.Contains(t, r.Stderr, msg)
	}
	require.Equal(t, RoleStarting, b.Role(), "the checks ran while it was starting")
}

// TestShutdownAnswersInFlight: on shutdown, commands that finish within
// the grace period get their result, the others -EAGAIN "daemon is
// shutting down" before their connection closes, on every transport.
func TestShutdownAnswersInFlight(t *testing.T) {
	d, s, cancel, done := runDaemon(t, Options{CommandTimeout: time.Minute, ShutdownGrace: time.Second})
	active(t, d)
	type result struct{ what, got string }
	results := make(chan result, 6)
	var wg sync.WaitGroup
	for _, name := range []string{"quick", "stuck"} {
		cmd := `{"prefix": "slow ` + name + `"}`
		wg.Add(3)
		go func() {
			defer wg.Done()
			got, err := asokRaw(t, d.AsokPath(), []byte(cmd+"\x00"), false)
			if err != nil {
				got = err.Error()
			}
			results <- result{"asok " + name, got}
		}()
		go func() {
			defer wg.Done()
			c := api.NewClient(d.APIPath())
			defer c.Close()
			res, err := c.CommandJSON(context.Background(), []byte(cmd), nil)
			results <- result{"framed " + name, fmt.Sprintf("%v %d %s%s", err, res.Retval, res.Stdout, res.Stderr)}
		}()
		go func() {
			defer wg.Done()
			resp, err := rawHTTP(d.APIPath()).Post("http://x/v1/command", "application/json", strings.NewReader(`{"cmd": `+cmd+`}`))
			if err != nil {
				results <- result{"http " + name, err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var r api.Reply
			_ = jsonUnmarshal(b, &r)
			results <- result{"http " + name, fmt.Sprintf("<nil> %d %s%s", r.Retval, r.Stdout, r.Stderr)}
		}()
	}
	s.started(t, 6)
	start := time.Now()
	cancel()
	replied := make(chan struct{})
	go func() { wg.Wait(); close(replied) }()
	select {
	case <-replied:
	case <-time.After(10 * time.Second):
		t.Fatal("clients still wait for an answer 10 s after the shutdown began")
	}
	close(results)
	stopping := "daemon is shutting down: command 'slow stuck' did not complete"
	want := map[string]string{
		"asok quick":   "done\n",
		"framed quick": "<nil> 0 done\n",
		"http quick":   "<nil> 0 done\n",
		"asok stuck":   "ERROR: (11) Resource temporarily unavailable\n",
		"framed stuck": "<nil> -11 " + stopping,
		"http stuck":   "<nil> -11 " + stopping,
	}
	for r := range results {
		if r.what == "asok stuck" {
			require.True(t, strings.HasPrefix(r.got, want[r.what]) && strings.Contains(r.got, "daemon is shutting down"), "%s: %q", r.what, r.got)
			continue
		}
		require.Equal(t, want[r.what], r.got, r.what)
	}
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	t.Logf("stopped in %s", time.Since(start))
}

// TestClientGoneCancelsCommand: a client that goes away (Ctrl-C) cancels
// its command in the module, on every transport, long before the command
// timeout.
func TestClientGoneCancelsCommand(t *testing.T) {
	d, s, _, _ := runDaemon(t, Options{CommandTimeout: time.Minute})
	active(t, d)
	ended := func(t *testing.T) error {
		t.Helper()
		select {
		case err := <-s.ended:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("the command still runs after its client went away")
		}
		return nil
	}
	t.Run("asok", func(t *testing.T) {
		c, err := net.Dial("unix", d.AsokPath())
		require.NoError(t, err)
		_, err = c.Write([]byte(`{"prefix": "slow wait"}` + "\x00"))
		require.NoError(t, err)
		s.started(t, 1)
		c.Close()
		require.Error(t, ended(t))
	})
	t.Run("framed", func(t *testing.T) {
		c := api.NewClient(d.APIPath())
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-s.running; cancel() }()
		_, err := c.Command(ctx, map[string]any{"prefix": "slow wait"}, nil)
		require.ErrorIs(t, err, context.Canceled)
		require.Error(t, ended(t))
	})
	t.Run("http", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-s.running; cancel() }()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://x/v1/command", strings.NewReader(`{"cmd": {"prefix": "slow wait"}}`))
		require.NoError(t, err)
		_, err = rawHTTP(d.APIPath()).Do(req)
		require.ErrorIs(t, err, context.Canceled)
		require.Error(t, ended(t))
	})
}

// TestIdleClientsDoNotStarve: thousands of idle and slow-drip connections
// on both sockets do not keep a new client waiting (measured from connect
// to reply), with the daemon's default 10 s client timeout.
func TestIdleClientsDoNotStarve(t *testing.T) {
	d, _, _, _ := runDaemon(t, Options{})
	active(t, d)
	n := asoktest.FDBudget(t, 2, 1800, 1200)
	asoktest.OpenIdle(t, d.AsokPath(), n, 10)
	asoktest.OpenIdle(t, d.APIPath(), n, 10)
	asokVersion := func() error {
		got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "version"}`+"\x00"), false)
		if err == nil && !strings.Contains(got, "version") {
			err = fmt.Errorf("reply %q", got)
		}
		return err
	}
	apiVersion := func() error {
		c := api.NewClient(d.APIPath())
		defer c.Close()
		res, err := c.Command(context.Background(), map[string]any{"prefix": "version"}, nil)
		if err == nil && res.Retval != 0 {
			err = fmt.Errorf("%s", res.Stderr)
		}
		return err
	}
	// The first requests wait behind the connections still in the listen
	// backlog; after that the server has them all.
	for _, call := range []func() error{asokVersion, apiVersion} {
		start := time.Now()
		require.NoError(t, call())
		require.Less(t, time.Since(start), 5*time.Second)
	}
	for i := 0; i < 5; i++ {
		for what, call := range map[string]func() error{"admin socket": asokVersion, "api socket": apiVersion} {
			start := time.Now()
			require.NoError(t, call())
			require.Less(t, time.Since(start), time.Second, "%s: a new client waited behind idle ones", what)
		}
	}
}

func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var vs = bytes.Repeat([]byte("v"), 1<<20)

// base64Body streams {"cmd": CMD, "inbuf": base64(size bytes of "v")}.
func base64Body(cmd string, size int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		chunk := vs
		pw.Write([]byte(`{"cmd": ` + cmd + `, "inbuf": "`))
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		for left := size; left > 0; left -= len(chunk) {
			enc.Write(chunk[:min(left, len(chunk))])
		}
		enc.Close()
		pw.Write([]byte(`"}`))
		pw.Close()
	}()
	return pr
}

// memoryCluster attaches a daemon to an in-memory backend whose store
// keeps values as given, so that a test sees the cost of the transport and
// the daemon alone.
type memoryCluster struct{ b *backend.MemoryBackend }

func (m memoryCluster) Open(context.Context, string, *slog.Logger) (backend.Backend, Election, error) {
	return m.b, soloElection{}, nil
}
func (memoryCluster) Describe() string { return "memory" }

type soloElection struct{}

func (soloElection) Campaign(context.Context) error { return nil }
func (soloElection) Lost() <-chan struct{}          { return nil }
func (soloElection) Publish(ActiveInfo) error       { return nil }
func (soloElection) Active() (ActiveInfo, error)    { return ActiveInfo{}, nil }
func (soloElection) Resign() error                  { return nil }

// postSized posts a command request body of the given length (-1: as
// http.NewRequest finds it, chunked for a stream).
func postSized(t *testing.T, path string, body io.Reader, length int64) (int, api.Reply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://x/v1/command", body)
	require.NoError(t, err)
	if length >= 0 {
		req.ContentLength = length
	}
	resp, err := rawHTTP(path).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var r api.Reply
	require.NoError(t, jsonUnmarshal(b, &r), "%s", b)
	return resp.StatusCode, r
}

// TestLargeRequestsCost: a refused request's input costs no memory (it is
// never read, on either transport), and a large write costs the transport
// and the daemon about its size once (a chunked HTTP body twice), not the
// several copies it did. Allocated bytes bound the growth of the heap's
// peak.
func TestLargeRequestsCost(t *testing.T) {
	const size = 24 << 20
	val := bytes.Repeat([]byte("v"), size)
	set := func(key string) string { return `{"prefix": "config-key set", "key": "` + key + `"}` }
	ctx := context.Background()
	const wsize = 4 << 20 // base64 under the race detector is slow
	wval := val[:wsize]

	t.Run("refused", func(t *testing.T) {
		d, _, _, _ := runDaemon(t, Options{ROSocketMode: 0o666})
		active(t, d)
		ro := api.NewClient(filepath.Join(filepath.Dir(d.APIPath()), "ceph-mgr.t.ro.api"))
		defer ro.Close()
		before := allocated()
		for i := 0; i < 5; i++ {
			res, err := ro.CommandJSON(ctx, []byte(set("k")), val)
			require.NoError(t, err)
			require.Equal(t, -int(syscall.EACCES), res.Retval, res.Stderr)
			code, r := postCommand(t, ro.Socket, base64Body(set("k"), size))
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, -int(syscall.EACCES), r.Retval, r.Stderr)
		}
		denied := allocated() - before
		t.Logf("10 refused %d MiB requests allocated %d KiB", size>>20, denied>>10)
		require.Less(t, denied, uint64(8<<20), "refused inputs were read")
	})

	t.Run("writes", func(t *testing.T) {
		mem := backend.NewMemoryBackend()
		d, _, _, _ := runDaemon(t, Options{Cluster: memoryCluster{mem}, ClientTimeout: time.Minute})
		active(t, d)
		rw := api.NewClient(d.APIPath())
		defer rw.Close()
		_, err := rw.Command(ctx, map[string]any{"prefix": "version"}, nil)
		require.NoError(t, err)
		cost := func(write func()) float64 {
			before := allocated()
			write()
			return float64(allocated()-before) / wsize
		}
		framed := cost(func() {
			res, err := rw.CommandJSON(ctx, []byte(set("framed")), wval)
			require.NoError(t, err)
			require.Zero(t, res.Retval, res.Stderr)
		})
		sized := cost(func() {
			body := `{"cmd": ` + set("sized") + `, "inbuf": "` + `"}`
			code, r := postSized(t, d.APIPath(), base64Body(set("sized"), wsize), int64(len(body)+base64.StdEncoding.EncodedLen(wsize)))
			require.Equal(t, http.StatusOK, code)
			require.Zero(t, r.Retval, r.Stderr)
		})
		chunked := cost(func() {
			code, r := postCommand(t, d.APIPath(), base64Body(set("chunked"), wsize))
			require.Equal(t, http.StatusOK, code)
			require.Zero(t, r.Retval, r.Stderr)
		})
		t.Logf("a %d MiB write allocated %.2fx its size framed, %.2fx over HTTP, %.2fx over chunked HTTP", wsize>>20, framed, sized, chunked)
		require.Less(t, framed, 1.25, "framed write")
		require.Less(t, sized, 1.25, "HTTP write")
		require.Less(t, chunked, 2.5, "chunked HTTP write")
		for _, key := range []string{"framed", "sized", "chunked"} {
			v, ok := mem.KVStore.Get(key)
			require.True(t, ok, key)
			require.True(t, v == string(wval), "%s: the value is stored whole", key)
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// cephCLI is the ceph CLI, or "" if it is not installed (a failure under
// CI=true).
func cephCLI(t *testing.T) string {
	bin, err := exec.LookPath("ceph")
	if err != nil {
		if testutil.CI() {
			t.Fatal("the ceph CLI is not installed (CI=true): apt-get install -y ceph-common")
		}
		t.Log("the ceph CLI is not installed: skipping its part of the test")
		return ""
	}
	return bin
}

func (slow) Init(*module.Handle) error { return nil }
