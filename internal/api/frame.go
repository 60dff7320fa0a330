package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The framed protocol is the fast path for commands on the same socket: a
// client that opens a connection with the 4-byte magic "GMR1" speaks it
// instead of HTTP, and keeps the connection for many commands.
//
//	hello:    "GMR1" | u8 n | perm (n bytes, "" for the socket's own)
//	request:  u32 n | command JSON (n bytes) | u32 m | inbuf (m bytes)
//	reply:    i32 retval | u32 n | stdout | u32 m | stderr
//
// Integers are big-endian. Data travels raw (no base64), so large inbufs
// and outputs cost no more than their size.
const frameMagic = "GMR1"

// maxFrameCmd caps the command JSON of one framed request.
const maxFrameCmd = 1 << 20

// sniffListener hands HTTP connections to an http.Server and serves framed
// ones itself.
type sniffListener struct {
	net.Listener
	conns chan net.Conn
	serve func(net.Conn)
	read  time.Duration
	once  sync.Once
	done  chan struct{}
}

func newSniffListener(l net.Listener, readTimeout time.Duration, serve func(net.Conn)) *sniffListener {
	s := &sniffListener{Listener: l, conns: make(chan net.Conn), serve: serve, read: readTimeout, done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *sniffListener) loop() {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			s.once.Do(func() { close(s.done) })
			return
		}
		go s.classify(c)
	}
}

func (s *sniffListener) classify(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(s.read))
	br := bufio.NewReaderSize(c, 64<<10)
	head, err := br.Peek(len(frameMagic))
	if err == nil && string(head) == frameMagic {
		_, _ = br.Discard(len(frameMagic))
		s.serve(&bufConn{Conn: c, r: br})
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case s.conns <- &bufConn{Conn: c, r: br}:
	case <-s.done:
		c.Close()
	}
}

// Accept returns the next HTTP connection.
func (s *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// bufConn is a connection whose first bytes were already buffered.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// serveFramed answers framed requests on one connection until it closes.
func serveFramed(c net.Conn, h Handler, o ServerOptions) {
	defer c.Close()
	r := c.(*bufConn).r
	perm, err := readHello(r)
	if err != nil {
		return
	}
	if perm == "" {
		perm = o.Perm
	} else {
		perm = narrow(o.Perm, perm)
	}
	w := bufio.NewWriterSize(c, 64<<10)
	wd := newWatchdog(c, w, o.CommandTimeout)
	defer wd.stop()
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		cmdJSON, inbuf, err := readFrame(r, o.MaxRequest, func() { _ = c.SetReadDeadline(time.Now().Add(o.ReadTimeout)) })
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			res := objectformat.Failed(-int(syscall.EINVAL), "bad request: "+err.Error())
			if errors.Is(err, errTooLarge) {
				res = objectformat.Failed(-int(syscall.E2BIG), err.Error())
			}
			_ = writeReplyFrame(w, res)
			_ = w.Flush()
			return
		}
		cmd, err := decodeCommand(cmdJSON)
		if err != nil {
			if reply(c, w, objectformat.Failed(-int(syscall.EINVAL), "bad request: the command is not a JSON object")) != nil {
				return
			}
			continue
		}
		// The command runs in this goroutine (no hand-off on the fast
		// path); a watchdog answers -ETIMEDOUT and drops the connection if
		// it overruns, leaving a stuck handler behind but not the client.
		// The watchdog cancels the command's context when it fires; no
		// per-command timer is needed.
		ctx, cancel := context.WithCancel(context.Background())
		wd.start(cmd["prefix"], cancel)
		res := h.Command(ctx, cmd, inbuf, perm)
		cancel()
		if !wd.finish() || reply(c, w, res) != nil {
			return
		}
	}
}

// watchdog answers -ETIMEDOUT and drops the connection when a command
// overruns; one timer serves all the commands of a connection.
type watchdog struct {
	c       net.Conn
	w       *bufio.Writer
	limit   time.Duration
	t       *time.Timer
	mu      sync.Mutex
	running bool
	gone    bool
	prefix  any
	started time.Time
	cancel  context.CancelFunc
}

func newWatchdog(c net.Conn, w *bufio.Writer, limit time.Duration) *watchdog {
	wd := &watchdog{c: c, w: w, limit: limit}
	wd.t = time.AfterFunc(time.Hour, wd.fire)
	wd.t.Stop()
	return wd
}

func (wd *watchdog) start(prefix any, cancel context.CancelFunc) {
	wd.mu.Lock()
	wd.running, wd.prefix, wd.started, wd.cancel = true, prefix, time.Now(), cancel
	wd.mu.Unlock()
	wd.t.Reset(wd.limit)
}

// finish reports whether the command finished before the watchdog fired.
func (wd *watchdog) finish() bool {
	wd.t.Stop()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	wd.running = false
	return !wd.gone
}

func (wd *watchdog) fire() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	// A late firing armed for the previous command finds the current one
	// younger than the limit and leaves it alone.
	if !wd.running || wd.gone || time.Since(wd.started) < wd.limit {
		return
	}
	wd.gone = true
	wd.cancel()
	_ = reply(wd.c, wd.w, objectformat.Failed(-int(syscall.ETIMEDOUT),
		fmt.Sprintf("command '%v' did not complete within %s", wd.prefix, wd.limit)))
	wd.c.Close()
}

func (wd *watchdog) stop() { wd.t.Stop() }

// reply writes one reply frame.
func reply(c net.Conn, w *bufio.Writer, res objectformat.Result) error {
	_ = c.SetWriteDeadline(time.Now().Add(time.Minute))
	if err := writeReplyFrame(w, res); err != nil {
		return err
	}
	return w.Flush()
}

const idleTimeout = 2 * time.Minute

var errTooLarge = errors.New("request too large")

func readHello(r *bufio.Reader) (string, error) {
	n, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return "", err
	}
	return string(p), nil
}

// readFrame reads one request; started is called once its first byte has
// arrived (to switch from the idle to the read timeout).
func readFrame(r *bufio.Reader, maxInbuf int64, started func()) ([]byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, nil, err
	}
	started()
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return nil, nil, fmt.Errorf("truncated frame: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrameCmd {
		return nil, nil, fmt.Errorf("%w: command of %d bytes (limit %d)", errTooLarge, n, maxFrameCmd)
	}
	cmd := make([]byte, n)
	if _, err := io.ReadFull(r, cmd); err != nil {
		return nil, nil, fmt.Errorf("truncated frame: %w", err)
	}
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("truncated frame: %w", err)
	}
	m := binary.BigEndian.Uint32(hdr[:])
	if int64(m) > maxInbuf {
		return nil, nil, fmt.Errorf("%w: input of %d bytes (limit %d)", errTooLarge, m, maxInbuf)
	}
	var inbuf []byte
	if m > 0 {
		inbuf = make([]byte, m)
		if _, err := io.ReadFull(r, inbuf); err != nil {
			return nil, nil, fmt.Errorf("truncated frame: %w", err)
		}
	}
	return cmd, inbuf, nil
}

func writeReplyFrame(w *bufio.Writer, res objectformat.Result) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(int32(res.Retval)))
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(res.Stdout)))
	w.Write(hdr[:])
	w.Write(res.Stdout)
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(res.Stderr)))
	w.Write(hdr[:4])
	_, err := w.WriteString(res.Stderr)
	return err
}

// framedConn is a client connection speaking the framed protocol.
type framedConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialFramed(ctx context.Context, path, perm string) (*framedConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the daemon at %s: %w", path, err)
	}
	fc := &framedConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
	fc.w.WriteString(frameMagic)
	fc.w.WriteByte(byte(len(perm)))
	fc.w.WriteString(perm)
	return fc, nil
}

func (f *framedConn) roundTrip(ctx context.Context, cmdJSON, inbuf []byte) (objectformat.Result, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = f.c.SetDeadline(dl)
	} else {
		_ = f.c.SetDeadline(time.Time{})
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = f.c.SetDeadline(time.Now()) })
		defer stop()
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(cmdJSON)))
	f.w.Write(hdr[:4])
	f.w.Write(cmdJSON)
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(inbuf)))
	f.w.Write(hdr[:4])
	f.w.Write(inbuf)
	if err := f.w.Flush(); err != nil {
		return objectformat.Result{}, err
	}
	if _, err := io.ReadFull(f.r, hdr[:]); err != nil {
		return objectformat.Result{}, err
	}
	res := objectformat.Result{Retval: int(int32(binary.BigEndian.Uint32(hdr[:4])))}
	n := binary.BigEndian.Uint32(hdr[4:])
	res.Stdout = make([]byte, n)
	if _, err := io.ReadFull(f.r, res.Stdout); err != nil {
		return objectformat.Result{}, err
	}
	if _, err := io.ReadFull(f.r, hdr[:4]); err != nil {
		return objectformat.Result{}, err
	}
	errb := make([]byte, binary.BigEndian.Uint32(hdr[:4]))
	if _, err := io.ReadFull(f.r, errb); err != nil {
		return objectformat.Result{}, err
	}
	res.Stderr = string(errb)
	return res, nil
}
