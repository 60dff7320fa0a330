// Package radosproc runs librados in a helper process, gomgr-rados, and
// talks to it over a pipe. ceph-mgr and mgrctl stay pure Go: linking
// librados (and the Ceph libraries it pulls in) into them would cost every
// start about 8 ms and every process some 17 MiB of resident memory, even
// when no cluster is used. With -c they start the helper, which is the only
// binary that links go-ceph (internal/cephrados); its Conn implements
// cephconn.Conn, so the backend and mgrctl cannot tell the
// difference. A crash or hang in librados also stays in the helper.
//
// The protocol is a stream of frames (a 4-byte big-endian length and a
// JSON object) in each direction. The first request is "dial"; then any
// number of requests, each with an id, may be in flight at once; replies
// carry the id and come back in any order. Besides commands and the
// election's locks, "obj" carries the modules' object-store operations
// (an objstore.Op, checked again by the helper, whose objstore.Result
// comes back) and "addrs" asks for the client's addresses; a panic in a
// request fails that request with -EIO, not the helper.
package radosproc

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/objstore"
)

// HelperName is the helper binary's name.
const HelperName = "gomgr-rados"

// HelperEnv names an environment variable that overrides where the helper
// binary is.
const HelperEnv = "GOMGR_RADOS"

// request is one call to the helper.
type request struct {
	ID       uint64                `json:"id"`
	Op       string                `json:"op"`
	Dial     *cephconn.DialOptions `json:"dial,omitempty"`
	Cmd      []byte                `json:"cmd,omitempty"`
	Inbuf    []byte                `json:"inbuf,omitempty"`
	OSD      int                   `json:"osd,omitempty"`
	PGID     string                `json:"pgid,omitempty"`
	Pool     string                `json:"pool,omitempty"`
	OID      string                `json:"oid,omitempty"`
	Name     string                `json:"name,omitempty"`
	Cookie   string                `json:"cookie,omitempty"`
	Desc     string                `json:"desc,omitempty"`
	Duration time.Duration         `json:"duration,omitempty"`
	Flags    cephconn.LockFlags    `json:"flags,omitempty"`
	Data     []byte                `json:"data,omitempty"`
	// Obj is an object-store operation (op "obj").
	Obj *objstore.Op `json:"obj,omitempty"`
}

// reply is the helper's answer.
type reply struct {
	ID      uint64   `json:"id"`
	Out     []byte   `json:"out,omitempty"`
	Status  string   `json:"status,omitempty"`
	Errno   int      `json:"errno,omitempty"`
	Err     string   `json:"err,omitempty"`
	Cookies []string `json:"cookies,omitempty"`
	FSID    string   `json:"fsid,omitempty"`
	// Obj is an object-store operation's result.
	Obj *objstore.Result `json:"objres,omitempty"`
	// Addrs are the connection's client addresses (op "addrs").
	Addrs string `json:"addrs,omitempty"`
}

// Error is an error reported by the helper; it keeps librados' errno.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// ErrorCode returns the negative errno (the go-ceph convention).
func (e *Error) ErrorCode() int { return e.Code }

// maxFrame caps a frame: command outputs can be large (pg dump), but not
// this large.
const maxFrame = 1 << 30

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes is too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("truncated frame: %w", err)
	}
	return json.Unmarshal(b, v)
}

// Serve is the helper's main loop: it reads requests from r, runs them on
// a connection made with dial (the first request) and writes replies to w.
// Requests run concurrently. It returns when r ends.
func Serve(r io.Reader, w io.Writer, dial cephconn.DialFunc) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var first request
	if err := readFrame(br, &first); err != nil {
		return fmt.Errorf("read the dial request: %w", err)
	}
	var wmu sync.Mutex
	send := func(rep reply) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = writeFrame(w, rep)
	}
	if first.Op != "dial" || first.Dial == nil {
		send(reply{ID: first.ID, Errno: -int(syscall.EINVAL), Err: "the first request must be dial"})
		return errors.New("no dial request")
	}
	conn, err := dial(context.Background(), *first.Dial)
	if err != nil {
		send(failure(first.ID, err))
		return err
	}
	defer conn.Close()
	send(reply{ID: first.ID, FSID: conn.FSID()})
	var wg sync.WaitGroup
	defer waitBounded(&wg, serveDrain)
	for {
		var req request
		if err := readFrame(br, &req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if req.Op == "close" {
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(call(conn, req))
		}()
	}
}

// serveDrain is how long Serve waits, once its input has ended, for the
// requests still running: past it, a call stuck in librados or libcephfs
// (an MDS command has no time limit there) does not keep the helper alive.
var serveDrain = 10 * time.Second

// waitBounded waits for wg, at most d.
func waitBounded(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// failure encodes an error. A librados return code is kept as it is,
// sign included: a mgr module may return a positive value (2 for an
// incomplete eval input), which the caller must see unchanged.
func failure(id uint64, err error) reply {
	code := cephconn.Errno(err)
	var coded interface{ ErrorCode() int }
	if errors.As(err, &coded) && coded.ErrorCode() != 0 {
		code = coded.ErrorCode()
	}
	return reply{ID: id, Errno: code, Err: err.Error()}
}

// namedCommand sends a command to the daemon req.Name names: a monitor
// ("mon_target") or an MDS ("mds"), if the connection can reach one.
func namedCommand(conn cephconn.Conn, req request) ([]byte, string, error) {
	var send func(name string, cmd, inbuf []byte) ([]byte, string, error)
	what := "one monitor"
	if req.Op == "mds" {
		if t, ok := conn.(cephconn.MDSCommander); ok {
			send = t.MDSCommand
		}
		what = "an MDS"
	} else if t, ok := conn.(cephconn.MonTargeter); ok {
		send = t.MonTargetCommand
	}
	if send == nil {
		return nil, "", fmt.Errorf("this connection cannot send a command to %s: %w", what, syscall.EOPNOTSUPP)
	}
	return send(req.Name, req.Cmd, req.Inbuf)
}

// call runs one request on the connection. A panic in a call (in
// go-ceph) fails that request with -EIO instead of the helper.
func call(conn cephconn.Conn, req request) (rep reply) {
	rep = reply{ID: req.ID}
	var err error
	defer func() {
		if r := recover(); r != nil {
			rep = reply{ID: req.ID, Errno: -int(syscall.EIO), Err: fmt.Sprintf("the librados helper failed on %s: %v", req.Op, r)}
		}
	}()
	switch req.Op {
	case "mon":
		rep.Out, rep.Status, err = conn.MonCommand(req.Cmd, req.Inbuf)
	case "mgr":
		rep.Out, rep.Status, err = conn.MgrCommand(req.Cmd, req.Inbuf)
	case "mon_target", "mds":
		rep.Out, rep.Status, err = namedCommand(conn, req)
	case "osd":
		rep.Out, rep.Status, err = conn.OsdCommand(req.OSD, req.Cmd, req.Inbuf)
	case "pg":
		rep.Out, rep.Status, err = conn.PGCommand(req.PGID, req.Cmd, req.Inbuf)
	case "obj":
		rep.Obj, err = objectOp(conn, req.Obj)
	case "addrs":
		a, ok := conn.(cephconn.AddrsReporter)
		if !ok {
			err = fmt.Errorf("this connection cannot tell its addresses: %w", syscall.EOPNOTSUPP)
			break
		}
		rep.Addrs, err = a.Addrs()
	case "lock", "unlock", "lockers", "write", "read":
		var p cephconn.Pool
		if p, err = conn.Pool(req.Pool); err == nil {
			switch req.Op {
			case "lock":
				err = p.LockExclusive(req.OID, req.Name, req.Cookie, req.Desc, req.Duration, req.Flags)
			case "unlock":
				err = p.Unlock(req.OID, req.Name, req.Cookie)
			case "lockers":
				rep.Cookies, err = p.LockerCookies(req.OID, req.Name)
			case "write":
				err = p.WriteFull(req.OID, req.Data)
			case "read":
				rep.Out, err = p.Read(req.OID)
			}
		}
	default:
		err = &Error{Code: -int(syscall.EINVAL), Msg: "unknown operation " + req.Op}
	}
	if err != nil {
		f := failure(req.ID, err)
		rep.Errno, rep.Err = f.Errno, f.Err
		var oe *objstore.Error
		if errors.As(err, &oe) {
			rep.Err = oe.Msg // the client names the operation again
		}
	}
	return rep
}

// objectOp runs an object-store operation, checked first: the helper
// trusts no request to be well formed.
func objectOp(conn cephconn.Conn, op *objstore.Op) (*objstore.Result, error) {
	if op == nil {
		return nil, &Error{Code: -int(syscall.EINVAL), Msg: "obj request without an operation"}
	}
	if err := objstore.Check(*op); err != nil {
		return nil, err
	}
	s, ok := conn.(cephconn.ObjectStore)
	if !ok {
		return nil, objstore.Fail(op.Kind, syscall.EOPNOTSUPP, "this connection has no object store")
	}
	res, err := s.ObjectOp(*op)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// HelperPath finds the helper binary: $GOMGR_RADOS, then next to the
// running executable, then $PATH.
func HelperPath() (string, error) {
	if p := os.Getenv(HelperEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), HelperName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(HelperName)
	if err != nil {
		return "", fmt.Errorf("%s (the librados helper) is neither next to this program nor in $PATH; build it with `make build` or set %s", HelperName, HelperEnv)
	}
	return p, nil
}

// Conn is a connection to a cluster through the helper. It implements
// cephconn.Conn and is safe for concurrent use.
type Conn struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	fsid string

	wmu     sync.Mutex
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan reply
	err     error // set once the helper is gone
	done    chan struct{}
}

var _ cephconn.Conn = (*Conn)(nil)

// Dial starts the helper and connects it to the cluster. It is a
// cephconn.DialFunc.
func Dial(ctx context.Context, o cephconn.DialOptions) (cephconn.Conn, error) {
	path, err := HelperPath()
	if err != nil {
		return nil, err
	}
	return DialHelper(ctx, path, o)
}

// DialHelper is Dial with an explicit helper binary.
func DialHelper(ctx context.Context, path string, o cephconn.DialOptions) (*Conn, error) {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	c := &Conn{cmd: cmd, in: in, pending: map[uint64]chan reply{}, done: make(chan struct{})}
	go c.readLoop(bufio.NewReaderSize(out, 64<<10))
	rep, err := c.roundTrip(ctx, request{Op: "dial", Dial: &o})
	if err == nil && rep.Errno != 0 {
		err = &Error{Code: rep.Errno, Msg: rep.Err}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.fsid = rep.FSID
	return c, nil
}

func (c *Conn) readLoop(r io.Reader) {
	for {
		var rep reply
		if err := readFrame(r, &rep); err != nil {
			c.fail(fmt.Errorf("the librados helper exited: %w", err))
			return
		}
		c.mu.Lock()
		ch := c.pending[rep.ID]
		delete(c.pending, rep.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// fail ends every pending and later call with err.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = &Error{Code: -int(syscall.ENOTCONN), Msg: err.Error()}
	for id, ch := range c.pending {
		ch <- reply{ID: id, Errno: -int(syscall.ENOTCONN), Err: c.err.Error()}
		delete(c.pending, id)
	}
	close(c.done)
}

func (c *Conn) roundTrip(ctx context.Context, req request) (reply, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return reply{}, c.err
	}
	c.next++
	req.ID = c.next
	c.pending[req.ID] = ch
	c.mu.Unlock()
	c.wmu.Lock()
	err := writeFrame(c.in, req)
	c.wmu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		return reply{}, &Error{Code: -int(syscall.ENOTCONN), Msg: "write to the librados helper: " + err.Error()}
	}
	select {
	case rep := <-ch:
		return rep, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		return reply{}, ctx.Err()
	}
}

// do runs a request; librados' own timeouts (sent with dial) bound it
// (MDS commands, which they do not bound, have their own: MDSCommand).
func (c *Conn) do(req request) (reply, error) {
	rep, err := c.roundTrip(context.Background(), req)
	if err != nil {
		return rep, err
	}
	if rep.Errno != 0 {
		return rep, &Error{Code: rep.Errno, Msg: rep.Err}
	}
	return rep, nil
}

func (c *Conn) command(req request) ([]byte, string, error) {
	rep, err := c.do(req)
	return rep.Out, rep.Status, err
}

// MonCommand implements cephconn.Conn.
func (c *Conn) MonCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return c.command(request{Op: "mon", Cmd: cmd, Inbuf: inbuf})
}

// MonTargetCommand implements cephconn.MonTargeter: the helper's
// connection must implement it too (-EOPNOTSUPP otherwise).
func (c *Conn) MonTargetCommand(name string, cmd, inbuf []byte) ([]byte, string, error) {
	return c.command(request{Op: "mon_target", Name: name, Cmd: cmd, Inbuf: inbuf})
}

// MDSCommand implements cephconn.MDSCommander: the helper's connection
// must implement it too (-EOPNOTSUPP otherwise).
// No librados timeout bounds an MDS command; the helper gives up after
// cephconn.MDSCommandTimeout, and this side a little later still.
func (c *Conn) MDSCommand(spec string, cmd, inbuf []byte) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cephconn.MDSCommandTimeout+10*time.Second)
	defer cancel()
	rep, err := c.roundTrip(ctx, request{Op: "mds", Name: spec, Cmd: cmd, Inbuf: inbuf})
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, "", &Error{Code: -int(syscall.ETIMEDOUT), Msg: fmt.Sprintf("mds.%s: the librados helper did not answer", spec)}
	case err != nil:
		return nil, "", err
	case rep.Errno != 0:
		return rep.Out, rep.Status, &Error{Code: rep.Errno, Msg: rep.Err}
	}
	return rep.Out, rep.Status, nil
}

// MgrCommand implements cephconn.Conn.
func (c *Conn) MgrCommand(cmd, inbuf []byte) ([]byte, string, error) {
	return c.command(request{Op: "mgr", Cmd: cmd, Inbuf: inbuf})
}

// OsdCommand implements cephconn.Conn.
func (c *Conn) OsdCommand(osd int, cmd, inbuf []byte) ([]byte, string, error) {
	return c.command(request{Op: "osd", OSD: osd, Cmd: cmd, Inbuf: inbuf})
}

// PGCommand implements cephconn.Conn.
func (c *Conn) PGCommand(pgid string, cmd, inbuf []byte) ([]byte, string, error) {
	return c.command(request{Op: "pg", PGID: pgid, Cmd: cmd, Inbuf: inbuf})
}

// FSID implements cephconn.Conn.
func (c *Conn) FSID() string { return c.fsid }

// Pool implements cephconn.Conn.
func (c *Conn) Pool(name string) (cephconn.Pool, error) { return pool{c, name}, nil }

// ObjectOp implements cephconn.ObjectStore.
func (c *Conn) ObjectOp(op objstore.Op) (objstore.Result, error) {
	rep, err := c.roundTrip(context.Background(), request{Op: "obj", Obj: &op})
	if err != nil {
		return objstore.Result{}, err
	}
	if rep.Errno != 0 {
		return objstore.Result{}, &objstore.Error{Kind: op.Kind, Code: rep.Errno, Msg: rep.Err}
	}
	if rep.Obj == nil {
		return objstore.Result{}, &Error{Code: -int(syscall.EIO), Msg: "the librados helper sent no object-store result"}
	}
	return *rep.Obj, nil
}

// Addrs implements cephconn.AddrsReporter.
func (c *Conn) Addrs() (string, error) {
	rep, err := c.do(request{Op: "addrs"})
	return rep.Addrs, err
}

// Close asks the helper to disconnect and exit, and waits for it (killing
// it after a few seconds).
func (c *Conn) Close() {
	c.wmu.Lock()
	_ = writeFrame(c.in, request{Op: "close"})
	_ = c.in.Close()
	c.wmu.Unlock()
	exited := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-exited
	}
	c.fail(errors.New("connection closed"))
}

type pool struct {
	c    *Conn
	name string
}

func (p pool) LockExclusive(oid, name, cookie, desc string, d time.Duration, flags cephconn.LockFlags) error {
	_, err := p.c.do(request{Op: "lock", Pool: p.name, OID: oid, Name: name, Cookie: cookie, Desc: desc, Duration: d, Flags: flags})
	return err
}

func (p pool) Unlock(oid, name, cookie string) error {
	_, err := p.c.do(request{Op: "unlock", Pool: p.name, OID: oid, Name: name, Cookie: cookie})
	return err
}

func (p pool) LockerCookies(oid, name string) ([]string, error) {
	rep, err := p.c.do(request{Op: "lockers", Pool: p.name, OID: oid, Name: name})
	return rep.Cookies, err
}

func (p pool) WriteFull(oid string, data []byte) error {
	_, err := p.c.do(request{Op: "write", Pool: p.name, OID: oid, Data: data})
	return err
}

func (p pool) Read(oid string) ([]byte, error) {
	rep, err := p.c.do(request{Op: "read", Pool: p.name, OID: oid})
	return rep.Out, err
}
