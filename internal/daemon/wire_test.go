package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// TestUnreadRepliesAreBounded: clients that ask for a large reply and
// never read it cannot grow the daemon's heap past its in-flight budgets,
// on any socket: past a budget their replies are dropped for -EBUSY, and
// the daemon keeps serving others. (Forty such `config-key get` of a
// 27 MB value took a daemon from 115 to 1060 MiB.) Read-only clients fill
// only the read-only socket's budget: the administrators' large replies
// are still served (ten unread replies on the read-only socket made every
// large admin command EBUSY).
func TestUnreadRepliesAreBounded(t *testing.T) {
	const size, budget = 1 << 20, 6 << 20
	d, _, _, _ := runDaemon(t, Options{ROSocketMode: 0o666, MaxInflight: budget})
	active(t, d)
	ctx := context.Background()
	rw := api.NewClient(d.APIPath())
	defer rw.Close()
	res, err := rw.Command(ctx, map[string]any{"prefix": "config-key set", "key": "big"}, bytes.Repeat([]byte("v"), size))
	require.NoError(t, err)
	require.Zero(t, res.Retval, res.Stderr)
	roPath := filepath.Join(filepath.Dir(d.APIPath()), "ceph-mgr.t.ro.api")
	before := testutil.HeapInuse()

	var conns []net.Conn
	dial := func(path string) net.Conn {
		c := testutil.DialUnix(t, path)
		conns = append(conns, c)
		return c
	}
	const perKind = 8
	apiBefore, asokBefore := d.stats.apiRequests.Load(), d.stats.asokRequests.Load()
	for i := 0; i < perKind; i++ {
		for _, cmd := range []string{`{"prefix": "config-key get", "key": "big"}`, `{"prefix": "config-key dump"}`} {
			var b bytes.Buffer
			b.WriteString("GMR1\x00")
			binary.Write(&b, binary.BigEndian, uint32(len(cmd)))
			b.WriteString(cmd)
			binary.Write(&b, binary.BigEndian, uint32(0))
			_, err := dial(roPath).Write(b.Bytes())
			require.NoError(t, err)
		}
		body := `{"cmd": {"prefix": "config-key dump"}}`
		_, err := fmt.Fprintf(dial(roPath), "POST /v1/command HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return d.stats.apiRequests.Load()-apiBefore >= 3*perKind && d.roInflight.InUse() > budget-2*size
	}, 20*time.Second, 5*time.Millisecond, "the unread replies do not hold the read-only budget (%d bytes in use)", d.roInflight.InUse())
	ro := api.NewClient(roPath)
	defer ro.Close()
	res, err = ro.Command(ctx, map[string]any{"prefix": "config-key dump"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval, "read-only clients share theirs")
	require.Regexp(t, `^reply of \d+ bytes does not fit the daemon's in-flight memory budget; try again$`, res.Stderr)
	res, err = rw.Command(ctx, map[string]any{"prefix": "config-key dump"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, "the read-only clients starve the administrators: %s", res.Stderr)
	// (The reply's bytes go back once it is written, which the client can
	// see a moment before the server gives them back.)
	require.Eventually(t, func() bool { return d.inflight.InUse() == 0 }, 10*time.Second, time.Millisecond,
		"the read-only clients hold %d bytes of the administrators' budget", d.inflight.InUse())

	// Admin-socket clients that do the same fill the budget they share
	// with the read-write API socket.
	for i := 0; i < perKind; i++ {
		_, err = dial(d.AsokPath()).Write([]byte(`{"prefix": "config-key dump"}` + "\x00"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return d.stats.asokRequests.Load()-asokBefore >= perKind && d.inflight.InUse() > budget-2*size
	}, 20*time.Second, 5*time.Millisecond, "the unread replies do not hold the budget (%d bytes in use)", d.inflight.InUse())
	var grown int64
	require.Eventually(t, func() bool {
		grown = testutil.HeapInuse() - before
		return grown < 2*budget+6<<20
	}, 20*time.Second, 50*time.Millisecond, "%d unread replies of %d KiB grew the heap by %d KiB (budgets 2 x %d KiB)", 4*perKind, size>>10, grown>>10, budget>>10)
	t.Logf("heap grown by %d KiB for %d unread replies of %d KiB (budgets 2 x %d KiB)", grown>>10, 4*perKind, size>>10, budget>>10)

	// Others are served: small replies at once, large ones refused for
	// now with a message saying why.
	res, err = rw.Command(ctx, map[string]any{"prefix": "config-key exists", "key": "big"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, res.Stderr)
	res, err = rw.Command(ctx, map[string]any{"prefix": "config-key dump"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval)
	require.Regexp(t, `^reply of \d+ bytes does not fit the daemon's in-flight memory budget; try again$`, res.Stderr)
	got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "config-key dump"}`+"\x00"), false)
	require.NoError(t, err)
	require.Regexp(t, `^ERROR: \(16\) Device or resource busy\nreply of \d+ bytes does not fit the daemon's in-flight memory budget; try again\n$`, got)

	// Once the clients go, so does what they held.
	for _, c := range conns {
		c.Close()
	}
	require.Eventually(t, func() bool { return d.inflight.InUse() == 0 && d.roInflight.InUse() == 0 }, 20*time.Second, 5*time.Millisecond)
	res, err = rw.Command(ctx, map[string]any{"prefix": "config-key get", "key": "big"}, nil)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte("v"), size), res.Stdout)
}

// wide is a module whose command returns a return value wider than 32
// bits.
type wide struct{}

type wideArgs struct {
	clicommand.Read `prefix:"wide retval"`
}

func (wide) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *wideArgs) objectformat.Result {
			return objectformat.Result{Retval: -1 << 32, Stderr: "boom"}
		}),
	}
}

// TestRetvalFitsEveryTransport: a return value that does not fit 32 bits
// is -EINVAL with a note on every transport (framed, HTTP, admin socket),
// never a truncation (-1<<32 arrived as 0 over the framed protocol).
func TestRetvalFitsEveryTransport(t *testing.T) {
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "wide", AlwaysOn: true, New: func() module.Module { return wide{} }}))
	d, _, _, _ := runDaemon(t, Options{Registry: reg})
	active(t, d)
	const msg = "boom (the command returned -4294967296, which does not fit a 32-bit return value; reported as EINVAL)"
	c := api.NewClient(d.APIPath())
	defer c.Close()
	res, err := c.Command(context.Background(), map[string]any{"prefix": "wide retval"}, nil)
	require.NoError(t, err)
	require.Equal(t, [2]any{-int(syscall.EINVAL), msg}, [2]any{res.Retval, res.Stderr}, "framed")
	code, r := postCommand(t, d.APIPath(), strings.NewReader(`{"cmd": {"prefix": "wide retval"}}`))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, [2]any{-int(syscall.EINVAL), msg}, [2]any{r.Retval, r.Stderr}, "HTTP")
	got, err := asokRaw(t, d.AsokPath(), []byte(`{"prefix": "wide retval"}`+"\x00"), false)
	require.NoError(t, err)
	require.Equal(t, "ERROR: (22) Invalid argument\n"+msg+"\n", got, "admin socket")
}

// failingKV is a config-key store whose writes fail, as the cluster
// backend's do (their errors name the monitor command) or as the
// embedded store's do (theirs name only the key).
type failingKV struct {
	*backend.MemoryStore
	err error
}

func (f failingKV) Set(context.Context, string, string) error { return f.err }
func (f failingKV) Delete(context.Context, string) error      { return f.err }

type failingBackend struct {
	*backend.MemoryBackend
	kv failingKV
}

func (b failingBackend) KV() backend.Store { return b.kv }

type failingCluster struct{ b failingBackend }

func (f failingCluster) Open(context.Context, string, *slog.Logger) (backend.Backend, Election, error) {
	return f.b, soloElection{}, nil
}
func (failingCluster) Describe() string { return "failing" }

// TestStoreErrorsNameTheCommandOnce: a failed config-key set or rm names
// the command once ("config-key set a: config-key set a: timed out" when
// the cluster backend's error already named it).
func TestStoreErrorsNameTheCommandOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    func(op string) error
		want   func(op string) string
		retval syscall.Errno
	}{
		{"cluster", func(op string) error {
			return objectformat.NewErrorResponseCode(op+": timed out (ETIMEDOUT)", -int(syscall.ETIMEDOUT))
		}, func(op string) string { return op + ": timed out (ETIMEDOUT)" }, syscall.ETIMEDOUT},
		{"embedded", func(string) error { return fmt.Errorf("write a: %w", syscall.ENOSPC) },
			func(op string) string { return op + ": write a: no space left on device" }, syscall.ENOSPC},
	} {
		for _, op := range []string{"config-key set a", "config-key rm a"} {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				mem := backend.NewMemoryBackend()
				b := failingBackend{MemoryBackend: mem, kv: failingKV{MemoryStore: mem.KVStore, err: tc.err(op)}}
				d, _, _, _ := runDaemon(t, Options{Cluster: failingCluster{b}})
				active(t, d)
				c := api.NewClient(d.APIPath())
				defer c.Close()
				cmd := map[string]any{"prefix": strings.TrimSuffix(op, " a"), "key": "a"}
				if strings.HasPrefix(op, "config-key set") {
					cmd["val"] = "v"
				}
				res, err := c.Command(context.Background(), cmd, nil)
				require.NoError(t, err)
				require.Equal(t, tc.want(op), res.Stderr)
				require.Equal(t, -int(tc.retval), res.Retval)
			})
		}
	}
}

// holder is a module whose read command waits until released.
type holder struct {
	started atomic.Int64
	release chan struct{}
}

type holdArgs struct {
	clicommand.Read `prefix:"hold wait"`
}

func (h *holder) Commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *holdArgs) objectformat.Result {
			h.started.Add(1)
			<-h.release
			return objectformat.OK("released")
		}),
	}
}

// TestReadOnlySocketCapsRunningCommands: the read-only socket runs at most
// roMaxRunning commands at once (a hundred concurrent `config-key dump`
// of a 27 MB store from a read-only user took the daemon past 2 GB while
// the replies were built, before the budget saw them); past it a command
// gets -EBUSY after --client-timeout, while the read-write socket is
// served.
func TestReadOnlySocketCapsRunningCommands(t *testing.T) {
	h := &holder{release: make(chan struct{})}
	reg := modhost.NewRegistry()
	require.NoError(t, reg.Register(module.Info{Name: "hold", AlwaysOn: true, New: func() module.Module { return h }}))
	d, _, _, _ := runDaemon(t, Options{Registry: reg, ROSocketMode: 0o666, ClientTimeout: 300 * time.Millisecond})
	active(t, d)
	ctx := context.Background()
	roPath := filepath.Join(filepath.Dir(d.APIPath()), "ceph-mgr.t.ro.api")
	done := make(chan objectformat.Result, roMaxRunning)
	for range roMaxRunning {
		c := api.NewClient(roPath)
		defer c.Close()
		go func() {
			res, _ := c.Command(ctx, map[string]any{"prefix": "hold wait"}, nil)
			done <- res
		}()
	}
	require.Eventually(t, func() bool { return h.started.Load() == roMaxRunning }, 10*time.Second, time.Millisecond)

	ro := api.NewClient(roPath)
	defer ro.Close()
	res, err := ro.Command(ctx, map[string]any{"prefix": "config-key ls"}, nil)
	require.NoError(t, err)
	require.Equal(t, -int(syscall.EBUSY), res.Retval, res.Stderr)
	require.Contains(t, res.Stderr, fmt.Sprintf("%d commands from this socket's clients are running", roMaxRunning))
	rw := api.NewClient(d.APIPath())
	defer rw.Close()
	res, err = rw.Command(ctx, map[string]any{"prefix": "config-key ls"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, "the read-write socket is not capped by the read-only one: %s", res.Stderr)

	close(h.release)
	for range roMaxRunning {
		require.Zero(t, (<-done).Retval)
	}
	res, err = ro.Command(ctx, map[string]any{"prefix": "config-key ls"}, nil)
	require.NoError(t, err)
	require.Zero(t, res.Retval, res.Stderr)
}

func (wide) Init(*module.Handle) error { return nil }

func (*holder) Init(*module.Handle) error { return nil }
