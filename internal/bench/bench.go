// Package bench holds the measurements behind `make bench`: the daemon's
// command round trip against a bare unix-socket echo server (the floor),
// dispatch cost as the number of commands grows, output formatting, and
// helpers for whole-process timings; the side-by-side comparisons with
// Python (sidebyside.go: the same commands, command lines and data given
// to python/sidebyside.py, which runs Pacific's own mgr_module.py,
// ceph_argparse, json and PyYAML, one request a line); the timing,
// interleaving and verdict helpers of the table (report.go); its plots
// (plot.go, with gonum/plot); and the prometheus scrape comparison of
// issue 14: synthetic clusters of N OSDs (promsynth.go), gomgr's
// prometheus module on a stand-in mgr fed one (promhost.go), the timing
// both sides' child processes share (promscrape.go: cmd/promscrape for
// Go, python/promscrape.py for Pacific's module.py) and the check that
// both texts hold the same samples (promcompare.go). The Go benchmarks (go test -bench) and
// the benchtable program share these functions, so both measure the same
// thing.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/daemon"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// EchoCommand is the command used for round trips: it echoes one word.
var EchoCommand = map[string]any{"prefix": "bench echo", "text": "x"}

type echoArgs struct {
	clicommand.Read `prefix:"bench echo" desc:"echo a word"`
	Text            string
}

type benchModule struct{}

func (benchModule) Init(*module.Handle) error { return nil }

func (benchModule) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(func(_ context.Context, a *echoArgs) objectformat.Result {
		return objectformat.OK(a.Text)
	})}
}

// Registry returns the modules a benchmark daemon runs: the given ones plus
// an always-on "bench" module with the echo command.
func Registry(infos ...module.Info) (*modhost.Registry, error) {
	reg := modhost.NewRegistry()
	infos = append(infos, module.Info{Name: "bench", AlwaysOn: true, New: func() module.Module { return benchModule{} }})
	for _, i := range infos {
		if err := reg.Register(i); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Daemon is an in-process daemon for benchmarks.
type Daemon struct {
	*daemon.Daemon
	dir    string
	cancel context.CancelFunc
	done   chan error
}

// StartDaemon runs a daemon in this process on a temporary directory.
func StartDaemon(reg *modhost.Registry) (*Daemon, error) {
	dir, err := os.MkdirTemp("", "gmbench")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{dir: dir, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan *daemon.Daemon, 1)
	go func() {
		d.done <- daemon.Run(ctx, daemon.Options{ID: "b", DataDir: filepath.Join(dir, "data"), RunDir: dir, Log: io.Discard,
			Registry: reg, Ready: func(x *daemon.Daemon) { ready <- x }})
	}()
	select {
	case d.Daemon = <-ready:
	case err := <-d.done:
		cancel()
		return nil, err
	}
	for d.Role() != daemon.RoleActive {
		time.Sleep(time.Millisecond)
	}
	return d, nil
}

// Stop stops the daemon and removes its directory.
func (d *Daemon) Stop() error {
	d.cancel()
	err := <-d.done
	os.RemoveAll(d.dir)
	return err
}

// Echo is a bare unix-socket echo server: the floor any command transport
// on this machine is compared with.
type Echo struct {
	Path string
	l    net.Listener
	dir  string
}

// StartEcho starts an echo server.
func StartEcho() (*Echo, error) {
	dir, err := os.MkdirTemp("", "gmecho")
	if err != nil {
		return nil, err
	}
	e := &Echo{Path: filepath.Join(dir, "echo.sock"), dir: dir}
	if e.l, err = net.Listen("unix", e.Path); err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := e.l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return e, nil
}

// Stop stops the echo server.
func (e *Echo) Stop() { e.l.Close(); os.RemoveAll(e.dir) }

// EchoClient sends messages of the size of a command request and waits
// for them to come back.
type EchoClient struct {
	c   net.Conn
	msg []byte
	buf []byte
}

// DialEcho connects to an echo server; msg is what each round trip sends.
func DialEcho(path string, msg []byte) (*EchoClient, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &EchoClient{c: c, msg: msg, buf: make([]byte, len(msg))}, nil
}

// RoundTrip sends one message and reads it back.
func (e *EchoClient) RoundTrip() error {
	if _, err := e.c.Write(e.msg); err != nil {
		return err
	}
	_, err := io.ReadFull(e.c, e.buf)
	return err
}

// Close closes the connection.
func (e *EchoClient) Close() { e.c.Close() }

// Result is a throughput measurement.
type Result struct {
	Ops      int
	Duration time.Duration
	Errors   int
}

// PerOp is the mean time per operation.
func (r Result) PerOp() time.Duration { return r.Duration / time.Duration(max(r.Ops, 1)) }

// OpsPerSec is the throughput.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Duration.Seconds() }

// Parallel runs op from conc goroutines, each with its own connection made
// by dial, for total operations.
func Parallel(conc, total int, dial func() (func() error, func(), error)) (Result, error) {
	ops := make([]func() error, conc)
	closers := make([]func(), conc)
	for i := range ops {
		op, cl, err := dial()
		if err != nil {
			return Result{}, err
		}
		ops[i], closers[i] = op, cl
		if err := op(); err != nil { // warm up the connection
			return Result{}, err
		}
	}
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := 0
	per := total / conc
	start := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(op func() error) {
			defer wg.Done()
			for j := 0; j < per; j++ {
				if op() != nil {
					mu.Lock()
					errs++
					mu.Unlock()
				}
			}
		}(ops[i])
	}
	wg.Wait()
	return Result{Ops: per * conc, Duration: time.Since(start), Errors: errs}, nil
}

// DaemonOp returns a dial function for Parallel that runs cmd on the
// daemon's API socket (one client, so one connection, per goroutine).
func DaemonOp(apiPath string, cmd map[string]any) func() (func() error, func(), error) {
	return func() (func() error, func(), error) {
		c := api.NewClient(apiPath)
		ctx := context.Background()
		cmdJSON, err := json.Marshal(cmd) // encoded once, as the echo client's message is
		if err != nil {
			return nil, nil, err
		}
		op := func() error {
			res, err := c.CommandJSON(ctx, cmdJSON, nil)
			if err == nil && res.Retval != 0 {
				err = fmt.Errorf("%s", res.Stderr)
			}
			return err
		}
		return op, c.Close, nil
	}
}

// EchoOp returns a dial function for Parallel against the echo floor with
// messages of size n.
func EchoOp(path string, n int) func() (func() error, func(), error) {
	return func() (func() error, func(), error) {
		c, err := DialEcho(path, make([]byte, n))
		if err != nil {
			return nil, nil, err
		}
		return c.RoundTrip, c.Close, nil
	}
}

// Median returns the median of durations.
func Median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
