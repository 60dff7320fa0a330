package mgrctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/privdir"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// conn is where commands go: a gomgr daemon's API socket or, with -c, a
// Ceph cluster.
type conn interface {
	// descriptions returns the command descriptions the CLI may use.
	descriptions(ctx context.Context) ([]cmddesc.Description, error)
	// command runs one JSON command; mgr routes it to the manager (a
	// command with the MGR flag) rather than the monitors. The error is
	// for transport failures; command failures are in the Result.
	command(ctx context.Context, cmd map[string]any, inbuf []byte, mgr bool) (objectformat.Result, error)
	// maxInput is the largest input buffer (-i) the other side accepts.
	maxInput(ctx context.Context) (int64, error)
	// refusal asks a standby daemon for its answer to words that match
	// none of its commands: ok reports that it is one, and res is its
	// refusal (a negative retval naming the active daemon).
	refusal(ctx context.Context, words []string) (res objectformat.Result, ok bool, err error)
	close()
}

// defaultMaxInput is the input limit when the daemon does not say (the
// API server's default request cap) and, with -c, mgrctl's own.
const defaultMaxInput = 64 << 20

// daemonConn talks to a gomgr daemon.
type daemonConn struct {
	c    *api.Client
	hint string // how to start the daemon, for connection errors
}

func (d *daemonConn) descriptions(ctx context.Context) ([]cmddesc.Description, error) {
	data, err := d.c.Descriptions(ctx)
	if err != nil {
		return nil, d.explain(err)
	}
	descs, err := cmddesc.ParseDescriptions(data, "cli")
	if err != nil {
		return nil, fmt.Errorf("daemon at %s: %w", d.c.Socket, err)
	}
	return descs, nil
}

func (d *daemonConn) command(ctx context.Context, cmd map[string]any, inbuf []byte, _ bool) (objectformat.Result, error) {
	res, err := d.c.Command(ctx, cmd, inbuf)
	if err != nil {
		return res, d.explain(err)
	}
	return res, nil
}

func (d *daemonConn) maxInput(ctx context.Context) (int64, error) {
	s, err := d.c.Status(ctx)
	if err != nil {
		return 0, d.explain(err)
	}
	if s.MaxRequest > 0 {
		return s.MaxRequest, nil
	}
	return defaultMaxInput, nil
}

// refusal: a standby describes only the commands it runs itself, so the
// words of any other command match nothing; the daemon's own answer
// (EAGAIN, "standby; the active daemon is mgr.X ...") says more than
// EINVAL. The words are sent as the prefix: a standby refuses a prefix
// that starts with a command of the active daemon with EAGAIN, naming what
// it was asked; words no daemon runs (EINVAL) are the user's mistake, left
// to the caller to explain.
func (d *daemonConn) refusal(ctx context.Context, words []string) (objectformat.Result, bool, error) {
	s, err := d.c.Status(ctx)
	if err != nil {
		return objectformat.Result{}, false, d.explain(err)
	}
	if s.Role != "standby" {
		return objectformat.Result{}, false, nil
	}
	res, err := d.c.Command(ctx, map[string]any{"prefix": strings.Join(words, " ")}, nil)
	if err != nil {
		return res, false, d.explain(err)
	}
	return res, res.Retval == -int(syscall.EAGAIN), nil
}

func (d *daemonConn) close() { d.c.Close() }

// explain adds how to start the daemon to a failure to reach it.
func (d *daemonConn) explain(err error) error {
	if d.hint == "" || errors.Is(err, context.Canceled) {
		return err
	}
	if _, serr := os.Stat(d.c.Socket); serr != nil || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w (is the daemon running? %s)", err, d.hint)
	}
	return err
}

// ClusterConn is a connection to a Ceph cluster: its monitors and its
// active manager. The methods have go-ceph's shapes, so a wrapper of
// *rados.Conn passes MonCommandWithInputBuffer(cmd, inbuf),
// MgrCommandWithInputBuffer([][]byte{cmd}, inbuf) and Shutdown() through.
// cmd is one JSON command and inbuf the input buffer (nil for none). They
// return the output buffer, the status string and, for a non-zero return
// value, an error carrying it as ErrorCode() int (as go-ceph's errors
// do: the value as returned, e.g. -22, or 2 for an eval command's
// "incomplete"). Other errors are mapped by objectformat.ErrnoOf (a
// syscall.Errno in the chain, else -EINVAL). See ClusterRetval.
type ClusterConn interface {
	MonCommand(cmd []byte, inbuf []byte) ([]byte, string, error)
	MgrCommand(cmd []byte, inbuf []byte) ([]byte, string, error)
	Close()
}

// ClusterDialer connects to the cluster of a ceph.conf as a cephx user
// (name, e.g. "client.admin"; keyring "" for the one ceph.conf names),
// giving up when ctx ends (its deadline is --connect-timeout's).
// cmd/mgrctl injects RadosDialer (see WithClusterDialer).
type ClusterDialer func(ctx context.Context, conf, name, keyring string) (ClusterConn, error)

// dialWithin runs dial, returning when ctx ends even if dial does not; a
// connection that arrives late is closed.
func dialWithin(ctx context.Context, dial ClusterDialer, conf, name, keyring string) (ClusterConn, error) {
	type dialed struct {
		cc  ClusterConn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		cc, err := dial(ctx, conf, name, keyring)
		done <- dialed{cc, err}
	}()
	select {
	case d := <-done:
		return d.cc, d.err
	case <-ctx.Done():
		go func() {
			if d := <-done; d.cc != nil {
				d.cc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// clusterConn sends commands to a Ceph cluster.
type clusterConn struct {
	cc ClusterConn
}

func (c *clusterConn) descriptions(ctx context.Context) ([]cmddesc.Description, error) {
	res, err := c.run(ctx, map[string]any{"prefix": "get_command_descriptions"}, nil, false)
	if err != nil {
		return nil, err
	}
	if res.Retval < 0 {
		return nil, objectformat.NewErrorResponseCode("get_command_descriptions: "+res.Stderr, res.Retval)
	}
	descs, err := cmddesc.ParseDescriptions(res.Stdout, "cli")
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return descs, nil
}

func (c *clusterConn) command(ctx context.Context, cmd map[string]any, inbuf []byte, mgr bool) (objectformat.Result, error) {
	return c.run(ctx, cmd, inbuf, mgr)
}

// run sends a command and waits for it or for ctx (librados calls cannot
// be cancelled; an abandoned call finishes in the background).
func (c *clusterConn) run(ctx context.Context, cmd map[string]any, inbuf []byte, mgr bool) (objectformat.Result, error) {
	b, err := api.EncodeCommand(cmd) // refuses invalid UTF-8, as for a daemon
	if err != nil {
		return objectformat.Result{}, err
	}
	send := c.cc.MonCommand
	if mgr {
		send = c.cc.MgrCommand
	}
	done := make(chan objectformat.Result, 1)
	go func() {
		out, status, err := send(b, inbuf)
		done <- objectformat.Result{Retval: ClusterRetval(err), Stdout: out, Stderr: statusText(status, err)}
	}()
	select {
	case res := <-done:
		return res, nil
	case <-ctx.Done():
		select {
		case res := <-done:
			return res, nil
		default:
			return objectformat.Result{}, ctx.Err()
		}
	}
}

func (c *clusterConn) maxInput(context.Context) (int64, error) { return defaultMaxInput, nil }

// refusal: a cluster has no standby answering for the active mgr.
func (c *clusterConn) refusal(context.Context, []string) (objectformat.Result, bool, error) {
	return objectformat.Result{}, false, nil
}

func (c *clusterConn) close() { c.cc.Close() }

// ClusterRetval is the return value a ClusterConn error stands for: its
// ErrorCode() as is (go-ceph reports librados' ret unchanged, negative
// errnos and positive values alike), otherwise objectformat.ErrnoOf(err);
// 0 for nil.
func ClusterRetval(err error) int {
	if err == nil {
		return 0
	}
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) {
		return coded.ErrorCode()
	}
	return objectformat.ErrnoOf(err)
}

// statusText is the status string, or the error text when the cluster
// gave none and the call failed.
func statusText(status string, err error) string {
	if status == "" && err != nil {
		var coded interface{ ErrorCode() int }
		if !errors.As(err, &coded) {
			return err.Error()
		}
	}
	return status
}

// DefaultRunDir is where ceph-mgr puts its sockets by default (see
// privdir.DefaultRunDir): $XDG_RUNTIME_DIR/gomgr, /run/gomgr for root, and
// "" when there is no safe default.
func DefaultRunDir(getenv func(string) string) string {
	d, _ := privdir.DefaultRunDir(getenv)
	return d
}
