// Package moduletest runs a module in a test, as the daemon runs it: with
// the daemon's built-in commands (`mgr module ls`, `config set`,
// `config-key get`, `health`...), on an in-memory backend, commands given
// as the words a user types and matched by the ceph CLI's matcher:
//
//	func TestQuota(t *testing.T) {
//		h := moduletest.Start(t, "quota") // registered by the package's init
//		h.Must("quota add a 3")
//		require.Equal(t, `"a: 3"`, h.Out("quota get a")) // JSON, the default format
//		require.Equal(t, -22, h.Run("quota add a -1").Retval)
//		require.NoError(t, h.SetOption("max", 20))
//	}
//
// The module runs in a real daemon (internal/daemon) in the test's
// process, whose sockets live in a private temporary directory; it stops
// when the test ends. Its Handle.Rados is the embedded object store (in a
// temporary data file), so a module that keeps state in RADOS objects is
// tested as it runs embedded.
package moduletest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/embedded"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Harness is a running module and its daemon.
type Harness struct {
	t    testing.TB
	name string
	d    *daemon.Daemon
	mem  *backend.MemoryBackend

	mu       sync.Mutex
	instance any
}

// Option changes how Start starts the module.
type Option func(*config)

type config struct {
	modules []module.Info
	options map[string]string
	log     io.Writer
}

// WithModules makes infos the modules the daemon knows (the one Start
// names among them), instead of those the program registered with
// module.Register: for a test's own modules, defined in the test.
func WithModules(infos ...module.Info) Option {
	return func(c *config) { c.modules = append(c.modules, infos...) }
}

// WithOption sets an option (its name in the module, its value as `ceph
// config set` takes it) before the module starts.
func WithOption(name, value string) Option {
	return func(c *config) { c.options[name] = value }
}

// WithLog sends the daemon's and the module's log to w (default: the
// test's log, shown when it fails or with -v).
func WithLog(w io.Writer) Option { return func(c *config) { c.log = w } }

// Start starts the registered module name, enabled, in a daemon of its own
// on an in-memory backend. The daemon stops when the test ends.
func Start(t testing.TB, name string, opts ...Option) *Harness {
	t.Helper()
	c := config{options: map[string]string{}, log: testLog{t}}
	for _, o := range opts {
		o(&c)
	}
	from := modhost.Default()
	if c.modules != nil {
		from = modhost.NewRegistry()
		for _, info := range c.modules {
			if err := from.Register(info); err != nil {
				t.Fatalf("moduletest: %v", err)
			}
		}
	}
	info, ok := from.Lookup(name)
	if !ok {
		t.Fatalf("moduletest: no module %q is registered (is its package imported?)", name)
	}
	h := &Harness{t: t, name: name, mem: backend.NewMemoryBackend()}
	newInstance := info.New
	info.New = func() module.Module {
		v := newInstance()
		h.mu.Lock()
		h.instance = v
		h.mu.Unlock()
		return v
	}
	reg := modhost.NewRegistry()
	if err := reg.Register(info); err != nil {
		t.Fatalf("moduletest: %v", err)
	}
	for k, v := range c.options {
		if err := h.mem.ConfigStore.Set(context.Background(), "mgr/"+name+"/"+k, v); err != nil {
			t.Fatalf("moduletest: option %s: %v", k, err)
		}
	}
	dir, err := os.MkdirTemp("", "mt") // short: unix socket paths are limited
	if err != nil {
		t.Fatalf("moduletest: %v", err)
	}
	// Handle.Rados is the embedded backend's object store, as in a
	// daemon without a cluster, in a data file of its own.
	objects, err := embedded.Open(filepath.Join(dir, "objects"), embedded.Options{})
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("moduletest: the object store: %v", err)
	}
	h.mem.ObjectStore = objects.Objects()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *daemon.Daemon, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{ID: "x", DataDir: filepath.Join(dir, "data"), RunDir: dir, Registry: reg,
			Log: c.log, Cluster: memoryAttacher{h.mem}, Ready: func(d *daemon.Daemon) { ready <- d }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("moduletest: the daemon stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("moduletest: the daemon did not stop within 30s")
		}
		if err := objects.Close(); err != nil {
			t.Errorf("moduletest: close the object store: %v", err)
		}
		os.RemoveAll(dir)
	})
	select {
	case h.d = <-ready:
	case err := <-done:
		t.Fatalf("moduletest: the daemon did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("moduletest: the daemon did not start within 30s")
	}
	for deadline := time.Now().Add(30 * time.Second); h.d.Role() != daemon.RoleActive; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("moduletest: the daemon did not become active within 30s")
		}
	}
	if !info.AlwaysOn {
		h.Must("mgr module enable " + name)
	}
	return h
}

// Run runs a command given as the words a user types after `ceph` (or
// `mgrctl`), split like a shell splits them (quotes group words), with
// full permissions; an optional inbuf is its -i input. The words are
// matched against the daemon's command descriptions by the ceph CLI's
// matcher: words that match no command answer -EINVAL with the CLI's
// explanation, as `ceph` prints it.
func (h *Harness) Run(line string, inbuf ...[]byte) objectformat.Result {
	h.t.Helper()
	words, err := Split(line)
	if err != nil {
		return objectformat.Failed(syscall.EINVAL, err.Error())
	}
	return h.RunWords(words, inbuf...)
}

// RunWords is Run for words already split.
func (h *Harness) RunWords(words []string, inbuf ...[]byte) objectformat.Result {
	h.t.Helper()
	matcher, err := cmddesc.NewMatcher(h.d.Describe(cmddesc.DescribeOptions{}))
	if err != nil {
		h.t.Fatalf("moduletest: command descriptions: %v", err)
	}
	m, err := matcher.Match(words)
	if err != nil {
		msg := err.Error()
		if me, ok := err.(*cmddesc.MatchError); ok {
			msg = strings.Join(append(me.Lines, "invalid command"), "\n")
		}
		return objectformat.Failed(syscall.EINVAL, msg)
	}
	var in []byte
	if len(inbuf) > 0 {
		in = inbuf[0]
	}
	return h.d.Command(context.Background(), m.Cmd, in, "rw")
}

// Must is Run that fails the test unless the command succeeds; it returns
// the command's output.
func (h *Harness) Must(line string, inbuf ...[]byte) string {
	h.t.Helper()
	res := h.Run(line, inbuf...)
	if res.Retval != 0 {
		h.t.Fatalf("moduletest: %s: %s", line, res.String())
	}
	return string(res.Stdout)
}

// Out is Must's output without its trailing newline.
func (h *Harness) Out(line string, inbuf ...[]byte) string {
	h.t.Helper()
	return strings.TrimSuffix(h.Must(line, inbuf...), "\n")
}

// SetOption sets one of the module's options as `ceph config set mgr
// mgr/<module>/<name> <value>` does, checked against its declaration.
func (h *Harness) SetOption(name string, value any) error {
	res := h.RunWords([]string{"config", "set", "mgr", "mgr/" + h.name + "/" + name, fmt.Sprint(value)})
	if res.Retval != 0 {
		return objectformat.NewErrorResponseCode(res.Stderr, res.Retval)
	}
	return nil
}

// Notify sends the module a notification, as a change of the cluster
// map typ would (typ's ID names the object, as Python's notify_id).
func (h *Harness) Notify(typ module.NotifyType, id string) {
	h.mem.Emit(backend.Event{Kind: backend.ClusterNotify, Notification: module.Notification{Type: typ, ID: id}})
}

// KV reads the daemon's config-key store directly: key is the whole key
// ("mgr/<module>/<key>" for what the module stores with SetStore).
func (h *Harness) KV(key string) (string, bool) { return h.mem.KVStore.Get(key) }

// SetMap sets the cluster map (or other cluster data) name that the
// module's Get(ctx, name) returns, as decoded JSON would hold it.
func (h *Harness) SetMap(name string, value any) { h.mem.SetMap(name, value) }

// Module returns the running module value (what Info.New returned), for
// the module's own test to inspect; the test asserts its type.
func (h *Harness) Module() any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.instance
}

// Health is the daemon's health: its status (module.HealthOK, HealthWarn
// or HealthErr) and every check raised, by the module or by the daemon
// (MGR_MODULE_ERROR...), as `health detail` shows them.
type Health struct {
	Status string
	Checks map[string]module.HealthCheck
}

// Health returns the daemon's health now.
func (h *Harness) Health() Health {
	r := h.d.Health()
	out := Health{Status: r.Status, Checks: map[string]module.HealthCheck{}}
	for code, c := range r.Checks {
		hc := module.HealthCheck{Severity: module.SeverityWarning, Summary: c.Summary.Message, Count: c.Summary.Count, Detail: []string{}}
		if c.Severity == health.Err {
			hc.Severity = module.SeverityError
		}
		for _, d := range c.Detail {
			hc.Detail = append(hc.Detail, d.Message)
		}
		out.Checks[code] = hc
	}
	return out
}

// WaitHealth waits up to timeout for the health check named check (e.g.
// "MGR_MODULE_ERROR", or one the module raises) to be raised, and returns
// it; it fails the test if it is not.
func (h *Harness) WaitHealth(check string, timeout time.Duration) module.HealthCheck {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if c, ok := h.Health().Checks[check]; ok {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("moduletest: no health check %s within %s (health: %+v)", check, timeout, h.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Split splits a command line into words as a POSIX shell does for plain
// words and quotes: white space separates words, '...' and "..." group
// them (a backslash escapes the next character outside single quotes).
func Split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\\' && quote != '\'':
			if i+1 == len(line) {
				return nil, fmt.Errorf("a backslash ends %q", line)
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// memoryAttacher runs the daemon on an in-memory backend, alone: it is
// active at once.
type memoryAttacher struct{ b *backend.MemoryBackend }

func (a memoryAttacher) Open(context.Context, string, *slog.Logger) (backend.Backend, daemon.Election, error) {
	return a.b, &soleElection{lost: make(chan struct{})}, nil
}

func (memoryAttacher) Describe() string { return "an in-memory backend (moduletest)" }

// soleElection is won at once and never lost.
type soleElection struct {
	mu   sync.Mutex
	info daemon.ActiveInfo
	lost chan struct{}
}

func (e *soleElection) Campaign(context.Context) error { return nil }
func (e *soleElection) Lost() <-chan struct{}          { return e.lost }
func (e *soleElection) Resign() error                  { return nil }

func (e *soleElection) Publish(info daemon.ActiveInfo) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.info = info
	return nil
}

func (e *soleElection) Active() (daemon.ActiveInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.info, nil
}

// testLog writes to the test's log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
