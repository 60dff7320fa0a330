// Package asok speaks the Ceph admin-socket protocol over a unix socket.
//
// A client connects, writes one request (a JSON command such as
// {"prefix": "get_command_descriptions"}) terminated by a NUL byte (a
// newline is accepted too), and reads the reply: a 4-byte big-endian length
// followed by that many bytes. The connection then closes. The protocol has
// no place for a return code; Server leaves the encoding of errors to its
// Handler.
//
// The package also holds what gomgr's sockets share: Dial, which checks
// who serves a socket before a client sends anything; Conns, which keeps
// idle and slow clients from crowding out new ones; and WatchHangup, which
// notices a client that went away while its command runs.
package asok

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Handler answers one request with the reply payload. Its context is
// cancelled when the client goes away (cause ErrClientGone) or when the
// server stops (cause ErrShuttingDown).
type Handler func(ctx context.Context, request []byte) []byte

// Server serves the admin-socket protocol.
type Server struct {
	// Handler answers requests.
	Handler Handler
	// MaxRequest caps the request size in bytes (default 1 MiB). A longer
	// request gets an error reply and the connection is closed.
	MaxRequest int
	// ReadTimeout bounds the time to receive a whole request (default 10 s),
	// so a slow or silent client cannot hold a connection.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time a client may take to read its reply:
	// WriteTimeout plus a second per MiB of reply (ReplyDeadline; default
	// 10 s). A client that does not read its reply by then loses it.
	WriteTimeout time.Duration
	// Replies, if set, holds replies larger than SmallReply until they
	// are written (or their client gives up), so that clients that never
	// read cannot pin unbounded memory; a reply it refuses is dropped and
	// ErrorReply(its error) sent instead.
	Replies ReplyBudget
	// MaxConns is the number of open connections past which the one idle
	// the longest (still sending its request) is closed to make room
	// (default DefaultMaxConns). Accepting is never held up, so a new
	// client is served however many idle or slow ones are connected.
	MaxConns int
	// ErrorReply formats protocol errors (oversized, unterminated or
	// malformed requests, ErrShuttingDown) as a reply payload; nil means
	// "ERROR: <text>\n".
	ErrorReply func(err error) []byte

	mu       sync.Mutex
	ls       map[net.Listener]bool
	conns    Conns
	closed   bool
	draining atomic.Bool
	ctx      context.Context
	cancel   context.CancelCauseFunc
}

// ErrRequestTooLarge is reported for requests past MaxRequest.
var ErrRequestTooLarge = errors.New("request too large")

// ErrShuttingDown is the cause of a handler's cancelled context, and the
// error replied, when the server stops with the command unfinished.
var ErrShuttingDown = errors.New("daemon is shutting down")

// ErrClientGone is the cause of a handler's cancelled context when its
// client closed the connection.
var ErrClientGone = errors.New("the client went away")

const (
	defaultMaxRequest   = 1 << 20
	defaultReadTimeout  = 10 * time.Second
	defaultWriteTimeout = 10 * time.Second
)

// ReplyBudget is a cap, shared by the servers of a daemon, on the bytes of
// replies waiting to be written (api.Budget is one).
type ReplyBudget interface {
	// ReserveReply takes n bytes, or returns the error the client gets
	// instead (one carrying its errno: -EBUSY, -E2BIG).
	ReserveReply(n int64) error
	// Release gives n reserved bytes back.
	Release(n int64)
}

// SmallReply is the size up to which a reply is written without asking the
// ReplyBudget: small replies cost little, and the fast path touches no
// shared counter.
const SmallReply = 64 << 10

// ReplyDeadline is the time a client has to read a reply of n bytes: base
// plus a second per MiB, so a large reply to a client on a busy machine
// is not cut off, and one nobody reads does not wait long.
func ReplyDeadline(base time.Duration, n int) time.Duration {
	return base + time.Duration(int64(n)*int64(time.Second)/(1<<20))
}

// Listen creates a unix socket at path with the given file mode, removing a
// stale socket file first (but refusing to remove anything that is not a
// socket, or a socket another process is still serving).
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process is serving this socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}

func (s *Server) init() {
	if s.ls == nil {
		s.ls = map[net.Listener]bool{}
		s.ctx, s.cancel = context.WithCancelCause(context.Background())
		s.conns.Max = s.MaxConns
	}
}

// Serve accepts connections until the listener is closed or Close is called.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.init()
	s.ls[l] = true
	ctx := s.ctx
	s.mu.Unlock()
	for {
		c, err := s.conns.Accept(l)
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		go s.serveConn(ctx, c)
	}
}

// Drain stops taking commands (new requests are answered with
// ErrShuttingDown), gives those running until grace to finish, then
// cancels the rest (cause ErrShuttingDown) and answers them with
// ErrShuttingDown. It returns once every reply is written or abandoned.
// Close still has to be called.
func (s *Server) Drain(grace time.Duration) {
	s.draining.Store(true)
	s.mu.Lock()
	s.init()
	s.mu.Unlock()
	if !s.conns.WaitIdle(time.Now().Add(grace)) {
		s.cancel(ErrShuttingDown)
		s.conns.WaitIdle(time.Now().Add(time.Second))
	}
}

// Close stops accepting, cancels the context of running handlers (cause
// ErrShuttingDown), closes every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.init()
	for l := range s.ls {
		l.Close()
	}
	s.cancel(ErrShuttingDown)
	s.mu.Unlock()
	s.conns.Close()
	s.conns.Wait()
	return nil
}

func (s *Server) serveConn(ctx context.Context, c *Conn) {
	defer c.Close()
	rt := s.ReadTimeout
	if rt <= 0 {
		rt = defaultReadTimeout
	}
	wt := s.WriteTimeout
	if wt <= 0 {
		wt = defaultWriteTimeout
	}
	_ = c.SetReadDeadline(time.Now().Add(rt))
	req, err := ReadRequest(bufio.NewReaderSize(c, 512), s.maxRequest())
	var reply []byte
	switch {
	case err != nil:
		if errors.Is(err, io.EOF) && len(req) == 0 {
			return // a probe that connected and went away
		}
		reply = s.errorReply(err)
	case s.draining.Load():
		reply = s.errorReply(ErrShuttingDown)
	default:
		if !c.Busy() {
			return // shed while its request arrived
		}
		var ok bool
		if reply, ok = s.handle(ctx, c, req); !ok {
			return
		}
	}
	if n := int64(len(reply)); n > SmallReply && s.Replies != nil {
		if err := s.Replies.ReserveReply(n); err != nil {
			reply = s.errorReply(err)
		} else {
			defer s.Replies.Release(n)
		}
	}
	now := time.Now()
	c.Writing(now)
	_ = c.SetWriteDeadline(now.Add(ReplyDeadline(wt, len(reply))))
	_ = WriteReply(c, reply)
}

// handle runs the handler, cancelling it if the client goes away or the
// server stops; ok is false if there is nobody left to answer.
func (s *Server) handle(ctx context.Context, c *Conn, req []byte) (reply []byte, ok bool) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := WatchHangup(c.Raw(), func() { cancel(ErrClientGone) })
	defer stop()
	done := make(chan []byte, 1)
	go func() { done <- s.Handler(ctx, req) }()
	select {
	case reply = <-done:
		return reply, true
	case <-ctx.Done():
		if err := context.Cause(ctx); !errors.Is(err, ErrClientGone) {
			return s.errorReply(err), true
		}
		return nil, false
	}
}

func (s *Server) maxRequest() int {
	if s.MaxRequest > 0 {
		return s.MaxRequest
	}
	return defaultMaxRequest
}

func (s *Server) errorReply(err error) []byte {
	if s.ErrorReply != nil {
		return s.ErrorReply(err)
	}
	return []byte("ERROR: " + err.Error() + "\n")
}

// ReadRequest reads one request up to its NUL or newline terminator. A
// request starting with a NUL byte is Ceph's legacy binary form: exactly
// four bytes (a big-endian command number), returned as they are.
func ReadRequest(r *bufio.Reader, max int) ([]byte, error) {
	var buf bytes.Buffer
	if first, err := r.Peek(1); err == nil && first[0] == 0 {
		legacy := make([]byte, 4)
		if _, err := io.ReadFull(r, legacy); err != nil {
			return nil, fmt.Errorf("legacy request: %w", io.ErrUnexpectedEOF)
		}
		return legacy, nil
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return buf.Bytes(), fmt.Errorf("request not complete after the read timeout")
			}
			if errors.Is(err, io.EOF) {
				if buf.Len() == 0 {
					return nil, io.EOF
				}
				return buf.Bytes(), fmt.Errorf("request not terminated by a NUL byte: %w", io.ErrUnexpectedEOF)
			}
			return buf.Bytes(), fmt.Errorf("read request: %w", err)
		}
		if b == 0 || b == '\n' {
			return buf.Bytes(), nil
		}
		if buf.Len() >= max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrRequestTooLarge, max)
		}
		buf.WriteByte(b)
	}
}

// WriteReply writes the length-prefixed reply: a small one in one write, a
// large one after its header, not copied.
func WriteReply(w io.Writer, payload []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	var err error
	if len(payload) <= SmallReply {
		_, err = w.Write(append(hdr[:], payload...))
	} else if _, err = w.Write(hdr[:]); err == nil {
		_, err = w.Write(payload)
	}
	if err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	return nil
}

// Call sends one request to the socket at path and returns the reply.
// maxReply caps the accepted reply size (0: 1 GiB). The socket must be
// served by root or the caller's user (see Dial); nothing is sent
// otherwise.
func Call(ctx context.Context, path string, request []byte, maxReply int) ([]byte, error) {
	c, err := Dial(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to admin socket: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.Write(append(append([]byte(nil), request...), 0)); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		if cerr := ContextError(ctx, err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("no reply from admin socket: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if maxReply <= 0 {
		maxReply = 1 << 30
	}
	if int64(n) > int64(maxReply) {
		return nil, fmt.Errorf("reply of %d bytes exceeds the %d byte limit", n, maxReply)
	}
	reply := make([]byte, n)
	if _, err := io.ReadFull(c, reply); err != nil {
		if cerr := ContextError(ctx, err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("short reply from admin socket: %w", err)
	}
	return reply, nil
}

// ContextError returns the context's error when err is the socket
// deadline that mirrors it (the socket may time out a moment before the
// context records its own deadline), and nil otherwise.
func ContextError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}
