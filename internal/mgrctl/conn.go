package mgrctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// conn is where commands go: a gomgr daemon's API socket or, with -c, a
// Ceph cluster.
type conn interface {
	// descriptions returns the command descriptions the CLI may use.
	descriptions(ctx context.Context) ([]clicommand.Description, error)
	// command runs one JSON command; mgr routes it to the manager (a
	// command with the MGR flag) rather than the monitors. The error is
	// for transport failures; command failures are in the Result.
	command(ctx context.Context, cmd map[string]any, inbuf []byte, mgr bool) (objectformat.Result, error)
	close()
}

// daemonConn talks to a gomgr daemon.
type daemonConn struct {
	c    *api.Client
	hint string // how to start the daemon, for connection errors
}

func (d *daemonConn) descriptions(ctx context.Context) ([]clicommand.Description, error) {
	data, err := d.c.Descriptions(ctx)
	if err != nil {
		return nil, d.explain(err)
	}
	descs, err := clicommand.ParseDescriptions(data, "cli")
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
// (name, e.g. "client.admin"; keyring "" for the one ceph.conf names).
// cmd/mgrctl injects it (see WithClusterDialer), so only the binary links
// librados.
type ClusterDialer func(conf, name, keyring string) (ClusterConn, error)

// clusterConn sends commands to a Ceph cluster.
type clusterConn struct {
	cc ClusterConn
}

func (c *clusterConn) descriptions(ctx context.Context) ([]clicommand.Description, error) {
	res, err := c.run(ctx, map[string]any{"prefix": "get_command_descriptions"}, nil, false)
	if err != nil {
		return nil, err
	}
	if res.Retval < 0 {
		return nil, fmt.Errorf("get_command_descriptions: %s: %s", objectformat.ErrnoName(res.Retval), res.Stderr)
	}
	descs, err := clicommand.ParseDescriptions(res.Stdout, "cli")
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
	b, err := json.Marshal(cmd)
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("encode command: %w", err)
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

// DefaultRunDir is where ceph-mgr puts its sockets by default:
// $XDG_RUNTIME_DIR/gomgr, or /tmp/gomgr-<uid>.
func DefaultRunDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "gomgr")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("gomgr-%d", os.Getuid()))
}
