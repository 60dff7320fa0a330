package api

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/rawsock"
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
// and outputs cost no more than their size. The server decides on a
// request (permission, size, in-flight budget) before reading its inbuf;
// a refused request's inbuf is skipped unread and the connection stays
// usable.
const frameMagic = "GMR1"

// maxFrameCmd caps the command JSON of one framed request (and of an HTTP
// request's "cmd").
const maxFrameCmd = 1 << 20

// smallCmd is the size of command JSON read without asking the in-flight
// budget (the fast path does not touch it).
const smallCmd = 16 << 10

// watchAfter is how long a framed command runs before a watcher starts
// looking for its client going away. Shorter commands cost nothing: a
// sweeper, running only while commands do, looks at the running commands
// every watchAfter, so no command arms a short timer (which would wake the
// runtime's network poller each time).
var watchAfter = 10 * time.Millisecond

// connBufSize is each connection's read buffer: requests are small, large
// inbufs are read straight into their own buffer.
const connBufSize = 4 << 10

// sniffListener hands HTTP connections to an http.Server and serves framed
// ones itself.
type sniffListener struct {
	net.Listener
	s     *Server
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newSniffListener(l net.Listener, s *Server) *sniffListener {
	sl := &sniffListener{Listener: l, s: s, conns: make(chan net.Conn), done: make(chan struct{})}
	go sl.loop()
	return sl
}

func (sl *sniffListener) loop() {
	defer sl.once.Do(func() { close(sl.done) })
	for {
		c, err := sl.s.conns.Accept(sl.Listener)
		if err != nil {
			return
		}
		go sl.classify(c)
	}
}

func (sl *sniffListener) classify(c *asok.Conn) {
	// A connection that has sent nothing yet is idle (and can be shed for
	// room); one that goes quiet before its first four bytes is no client
	// of either protocol. Only what starts otherwise than the magic is
	// handed to HTTP: a framed client slow to send (a busy machine) must
	// not get an HTTP reply.
	_ = c.SetReadDeadline(time.Now().Add(sl.s.o.IdleTimeout))
	br := bufio.NewReaderSize(c, connBufSize)
	if _, err := br.Peek(1); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(sl.s.o.ReadTimeout))
	head, err := br.Peek(len(frameMagic))
	if err != nil {
		c.Close()
		return
	}
	if string(head) == frameMagic {
		_, _ = br.Discard(len(frameMagic))
		sl.s.serveFramed(c, br)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case sl.conns <- &bufConn{Conn: c, r: br}:
	case <-sl.done:
		c.Close()
	}
}

// Accept returns the next HTTP connection.
func (sl *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-sl.conns:
		return c, nil
	case <-sl.done:
		return nil, net.ErrClosed
	}
}

// bufConn is a connection whose first bytes were already buffered.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite lets net/http shut the writing side down before it closes a
// connection whose client is still sending (a request over the size
// limit), so the client reads the reply before it sees the close.
func (b *bufConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tracked returns the tracked connection under an HTTP connection.
func tracked(c net.Conn) *asok.Conn {
	if b, ok := c.(*bufConn); ok {
		tc, _ := b.Conn.(*asok.Conn)
		return tc
	}
	return nil
}

// serveFramed answers framed requests on one connection until it closes.
func (s *Server) serveFramed(c *asok.Conn, r *bufio.Reader) {
	defer c.Close()
	perm, err := readHello(r)
	if err != nil {
		return
	}
	if perm == "" {
		perm = s.o.Perm
	} else {
		perm = narrow(s.o.Perm, perm)
	}
	ss := newSession(s, c, r)
	wd := newWatchdog(s, c, s.o.CommandTimeout)
	s.trackFramed(wd, true)
	defer s.trackFramed(wd, false)
	defer wd.stop()
	for {
		now := time.Now()
		c.Idle(now)
		if ss.waitRequest(now) != nil {
			return // closed, or idle too long, between requests
		}
		cmd, inbuf, refusal, err := ss.readRequest(perm)
		if err != nil {
			res := objectformat.Failed(-int(syscall.EINVAL), "bad request: "+err.Error())
			if errors.Is(err, errTooLarge) {
				res = objectformat.Failed(-int(syscall.E2BIG), err.Error())
			}
			// A client that shut its sending side down still reads this.
			_ = ss.reply(res)
			return
		}
		if refusal != nil {
			if ss.reply(*refusal) != nil || s.draining.Load() {
				return
			}
			continue
		}
		if !c.Busy() {
			s.o.Inflight.Release(int64(len(inbuf)))
			return // shed for room while its request arrived
		}
		// The command runs in this goroutine (no hand-off on the fast
		// path); a watchdog answers -ETIMEDOUT and drops the connection if
		// it overruns, leaving a stuck handler behind but not the client,
		// and watches for the client going away once the command has run
		// for a while (see sweeper). It cancels the command's context when
		// it fires; one timer per connection serves all its commands.
		if busy, ok := s.running.acquire(context.Background()); !ok {
			s.o.Inflight.Release(int64(len(inbuf)))
			if ss.reply(busy) != nil {
				return
			}
			continue
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		wd.start(cmd["prefix"], cancel)
		s.sweeper()
		res := s.h.Command(ctx, cmd, inbuf, perm)
		s.running.release()
		cancel(nil)
		s.o.Inflight.Release(int64(len(inbuf)))
		if !wd.finish() {
			return
		}
		res, held := s.budgetReply(res)
		err = ss.reply(res)
		s.o.Inflight.Release(held)
		if err != nil {
			return
		}
	}
}

// session is the server's side of one framed connection. Its waits are
// bounded as those of a connection that set a deadline before every read
// and write, but it sets one only when a wait could otherwise outlast it:
// a request that has arrived whole is read from the buffer with no
// deadline; the idle deadline is left as it is when it ends the wait no
// later than the idle timeout allows (one that ends it sooner is moved on
// when it passes, so a connection that runs many commands sets it about
// once per IdleTimeout); and a reply is written with one attempt that
// cannot block, the write deadline set only for what the socket did not
// take at once.
type session struct {
	s *Server
	c *asok.Conn
	r *bufio.Reader
	// rdl is the read deadline set on c (zero until the first one);
	// reqDL is the one of the request being read.
	rdl, reqDL time.Time

	// raw, when set, makes the first attempt at writing a reply with
	// write, which takes what the socket accepts of pending without
	// waiting (wn bytes, werr).
	raw     syscall.RawConn
	write   func(fd uintptr) bool
	pending []byte
	wn      int
	werr    error
	// wsize is the size of the reply being written, wdl whether its write
	// deadline is set.
	wsize int
	wdl   bool
	// wbuf holds the frames of small replies.
	wbuf []byte
	memo memo
}

// smallFrame is the largest reply frame written from the connection's
// own buffer; larger ones go through a pooled writer (writers).
const smallFrame = 512

func newSession(s *Server, c *asok.Conn, r *bufio.Reader) *session {
	ss := &session{s: s, c: c, r: r, wbuf: make([]byte, 0, smallFrame)}
	if sc, ok := c.Raw().(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			ss.raw = raw
			ss.write = func(fd uintptr) bool {
				// never wait: a write that would block gets a deadline
				ss.wn, ss.werr = rawsock.WriteFD(fd, ss.pending)
				return true
			}
		}
	}
	return ss
}

func (ss *session) setReadDeadline(t time.Time) {
	_ = ss.c.SetReadDeadline(t)
	ss.rdl = t
}

// waitRequest waits for the first byte of the next request, for at most
// the idle timeout after idleSince.
func (ss *session) waitRequest(idleSince time.Time) error {
	if ss.r.Buffered() > 0 {
		return nil
	}
	limit := idleSince.Add(ss.s.o.IdleTimeout)
	if ss.rdl.IsZero() || ss.rdl.After(limit) || !ss.rdl.After(idleSince) {
		ss.setReadDeadline(limit)
	}
	for {
		_, err := ss.r.Peek(1)
		if err == nil || ss.rdl.Equal(limit) || !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		// The deadline of an earlier wait passed first: wait on.
		ss.setReadDeadline(limit)
	}
}

// arm sets the request's read deadline before a read that may wait.
func (ss *session) arm(n int) {
	if ss.r.Buffered() < n && !ss.rdl.Equal(ss.reqDL) {
		ss.setReadDeadline(ss.reqDL)
	}
}

// peek returns the next n (at most the buffer's size) bytes of the request.
func (ss *session) peek(n int) ([]byte, error) {
	ss.arm(n)
	b, err := ss.r.Peek(n)
	if err != nil {
		return nil, truncated(err)
	}
	return b, nil
}

func (ss *session) readFull(p []byte) error {
	ss.arm(len(p))
	if _, err := io.ReadFull(ss.r, p); err != nil {
		return truncated(err)
	}
	return nil
}

func (ss *session) discard(n uint32) error {
	ss.arm(int(min(n, 1<<30)))
	if _, err := ss.r.Discard(int(n)); err != nil {
		return truncated(err)
	}
	return nil
}

func (ss *session) readLen() (uint32, error) {
	b, err := ss.peek(4)
	if err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(b)
	_, _ = ss.r.Discard(4)
	return n, nil
}

// skip skips an inbuf of m bytes and refuses its request with res.
func (ss *session) skip(m uint32, res objectformat.Result) (map[string]any, []byte, *objectformat.Result, error) {
	if err := ss.discard(m); err != nil {
		return nil, nil, nil, err
	}
	return nil, nil, &res, nil
}

// readRequest reads one request, whose first byte has arrived. A request
// refused before its inbuf is read (bad command, permission, size, budget,
// shutdown) comes back as a refusal, with the inbuf skipped; err is a
// broken connection or frame, to answer. The request has the read timeout
// from its first byte to its last. A returned inbuf holds its size of the
// in-flight budget.
func (ss *session) readRequest(perm string) (cmd map[string]any, inbuf []byte, refusal *objectformat.Result, err error) {
	s := ss.s
	ss.reqDL = time.Now().Add(s.o.ReadTimeout)
	b, err := ss.peek(4)
	if err != nil {
		return nil, nil, nil, err
	}
	n := binary.BigEndian.Uint32(b)
	if n > maxFrameCmd {
		return nil, nil, nil, fmt.Errorf("%w: command of %d bytes (limit %d)", errTooLarge, n, maxFrameCmd)
	}
	var m uint32
	var decodeErr error
	busy, ok := objectformat.Result{}, true
	if 4+int(n)+4 <= ss.r.Size() {
		// The usual request: the command and the inbuf's length are
		// decoded where they are in the buffer (DecodeCommand keeps no
		// reference to its input).
		b, err := ss.peek(4 + int(n) + 4)
		if err != nil {
			return nil, nil, nil, err
		}
		if m = binary.BigEndian.Uint32(b[4+n:]); int64(m) <= s.o.MaxRequest {
			cmd, decodeErr = decodeCommand(b[4:4+n], &ss.memo)
		}
		_, _ = ss.r.Discard(4 + int(n) + 4)
	} else {
		_, _ = ss.r.Discard(4)
		if n > smallCmd {
			if busy, ok = s.o.Inflight.reserve(int64(n)); ok {
				defer s.o.Inflight.Release(int64(n))
			}
		}
		var cmdJSON []byte
		if ok {
			cmdJSON = make([]byte, n)
			err = ss.readFull(cmdJSON)
		} else {
			err = ss.discard(n)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if m, err = ss.readLen(); err != nil {
			return nil, nil, nil, err
		}
		if ok && int64(m) <= s.o.MaxRequest {
			cmd, decodeErr = decodeCommand(cmdJSON, &ss.memo)
		}
	}
	if int64(m) > s.o.MaxRequest {
		return nil, nil, nil, fmt.Errorf("%w: input of %d bytes (limit %d)", errTooLarge, m, s.o.MaxRequest)
	}
	if !ok {
		return ss.skip(m, busy)
	}
	if decodeErr != nil {
		return ss.skip(m, badCommand(decodeErr))
	}
	if s.draining.Load() {
		return ss.skip(m, ShuttingDown(cmd["prefix"]))
	}
	if m == 0 {
		return cmd, nil, nil, nil
	}
	if res, ok := s.h.Permit(context.Background(), cmd, perm); !ok {
		return ss.skip(m, res)
	}
	if res, ok := s.o.Inflight.reserve(int64(m)); !ok {
		return ss.skip(m, res)
	}
	inbuf = make([]byte, m)
	if err := ss.readFull(inbuf); err != nil {
		s.o.Inflight.Release(int64(m))
		return nil, nil, nil, err
	}
	return cmd, inbuf, nil, nil
}

// reply writes one reply frame; the client has the reply deadline to take
// it, and the connection may be shed for room while it does not
// (asok.Conn.Writing).
func (ss *session) reply(res objectformat.Result) error {
	res = FitRetval(res)
	ss.wsize, ss.wdl = len(res.Stdout)+len(res.Stderr), false
	var err error
	if 12+ss.wsize <= cap(ss.wbuf) {
		b := binary.BigEndian.AppendUint32(ss.wbuf[:0], uint32(int32(res.Retval)))
		b = binary.BigEndian.AppendUint32(b, uint32(len(res.Stdout)))
		b = append(b, res.Stdout...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(res.Stderr)))
		b = append(b, res.Stderr...)
		_, err = ss.Write(b)
	} else {
		w := writers.Get().(*bufio.Writer)
		w.Reset(ss)
		if err = writeReplyFrame(w, res); err == nil {
			err = w.Flush()
		}
		w.Reset(nil)
		writers.Put(w)
	}
	if ss.wdl && ss.raw != nil {
		// The next reply's first attempt must not find this deadline.
		_ = ss.c.SetWriteDeadline(time.Time{})
	}
	return err
}

// Write writes part of the reply being sent (for reply's pooled writer).
func (ss *session) Write(p []byte) (int, error) {
	done := 0
	if ss.raw != nil && !ss.wdl {
		ss.pending = p
		err := ss.raw.Write(ss.write)
		ss.pending = nil
		if err != nil {
			return 0, err
		}
		if done = ss.wn; done == len(p) {
			return done, nil
		}
		if ss.werr != nil && ss.werr != syscall.EAGAIN {
			return done, ss.werr
		}
	}
	if !ss.wdl {
		now := time.Now()
		ss.c.Writing(now)
		_ = ss.c.SetWriteDeadline(now.Add(asok.ReplyDeadline(ss.s.o.WriteTimeout, ss.wsize)))
		ss.wdl = true
	}
	n, err := ss.c.Write(p[done:])
	return done + n, err
}

// truncated reports a request cut off inside its frame: the end of the
// stream there (even exactly at a length field) is io.ErrUnexpectedEOF,
// never io.EOF, so that it is answered rather than taken for a clean
// close.
func truncated(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("truncated frame: %w", err)
}

// badCommand is the reply to command JSON that does not decode.
func badCommand(err error) objectformat.Result {
	var u *InvalidUTF8Error
	if errors.As(err, &u) {
		return objectformat.Failed(-int(syscall.EINVAL), u.Error())
	}
	if errors.Is(err, ErrTrailingData) {
		return objectformat.Failed(-int(syscall.EINVAL), "bad request: "+err.Error())
	}
	return objectformat.Failed(-int(syscall.EINVAL), "bad request: the command is not a JSON object")
}

// ShuttingDown is the reply to a command the daemon will not finish
// because it is stopping: -EAGAIN, so scripts retry (against the daemon
// that takes over, or once this one is back) as they do for a starting or
// standby daemon.
func ShuttingDown(prefix any) objectformat.Result {
	if prefix == nil {
		return objectformat.Failed(-int(syscall.EAGAIN), asok.ErrShuttingDown.Error())
	}
	return objectformat.Failed(-int(syscall.EAGAIN), fmt.Sprintf("%s: command '%v' did not complete", asok.ErrShuttingDown, prefix))
}

// DefaultCommandTimeout is how long a command may run unless configured
// otherwise (ceph-mgr --command-timeout): one default for every transport.
const DefaultCommandTimeout = 5 * time.Minute

// TimedOut is the reply to a command that ran past limit, the same from
// every transport: -ETIMEDOUT "command '<prefix>' did not complete within
// <limit>".
func TimedOut(prefix any, limit time.Duration) objectformat.Result {
	return objectformat.Failed(-int(syscall.ETIMEDOUT), fmt.Sprintf("command '%v' did not complete within %s", prefix, limit))
}

// watchdog ends a command that overruns (answering -ETIMEDOUT and dropping
// the connection), cancels one whose client went away, and one the server
// gives up on as it stops (answering shuttingDown); one timer serves all
// the commands of a connection. The timer is armed only for commands that
// run longer than watchAfter (by the sweeper, for the rest of their
// limit), or at once when the limit is short (armAtOnce): most commands
// end before the sweeper sees them and cost no timer.
type watchdog struct {
	s       *Server
	c       *asok.Conn
	limit   time.Duration
	t       *time.Timer
	mu      sync.Mutex
	running bool
	armed   bool // t is set for the running command
	gone    bool
	prefix  any
	started time.Time
	cancel  context.CancelCauseFunc
	unwatch func()
}

// armAtOnce is the command limit under which a command's timer is armed
// when it starts: the sweeper's ticks are not precise enough for it.
const armAtOnce = time.Second

func newWatchdog(s *Server, c *asok.Conn, limit time.Duration) *watchdog {
	wd := &watchdog{s: s, c: c, limit: limit}
	wd.t = time.AfterFunc(time.Hour, wd.fire)
	wd.t.Stop()
	return wd
}

func (wd *watchdog) start(prefix any, cancel context.CancelCauseFunc) {
	now := time.Now()
	wd.mu.Lock()
	wd.running, wd.armed, wd.prefix, wd.started, wd.cancel = true, false, prefix, now, cancel
	if wd.limit < armAtOnce {
		wd.arm(now)
	}
	wd.mu.Unlock()
	if wd.s.aborted.Load() {
		wd.abort()
	}
}

// arm sets the timer for what is left of the running command's limit;
// wd.mu is held.
func (wd *watchdog) arm(now time.Time) {
	if wd.running && !wd.gone && !wd.armed {
		wd.armed = true
		wd.t.Reset(wd.limit - now.Sub(wd.started))
	}
}

// finish reports whether the command finished before the watchdog ended
// it (then the reply is the caller's to write).
func (wd *watchdog) finish() bool {
	wd.mu.Lock()
	wd.running = false
	armed := wd.armed
	unwatch := wd.unwatch
	wd.unwatch = nil
	gone := wd.gone
	wd.mu.Unlock()
	if armed {
		wd.t.Stop()
	}
	if unwatch != nil {
		unwatch()
	}
	return !gone
}

func (wd *watchdog) fire() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if !wd.running || wd.gone {
		return
	}
	// A late firing armed for the previous command finds the current one
	// younger than the limit and leaves it alone.
	if time.Since(wd.started) < wd.limit {
		return
	}
	wd.end(TimedOut(wd.prefix, wd.limit), context.DeadlineExceeded)
}

// sweep arms the timer of a command that has run for watchAfter and
// starts watching for its client going away.
func (wd *watchdog) sweep(now time.Time) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.running && !wd.gone && now.Sub(wd.started) >= watchAfter {
		wd.arm(now)
		if wd.unwatch == nil {
			wd.unwatch = asok.WatchHangup(wd.c.Raw(), wd.hangup)
		}
	}
}

// sweeper makes sure the sweeper runs: it arms the watchdogs of framed
// commands that run longer than watchAfter and starts their hangup
// watchers, and stops once no command has run for a while (or the server
// closed), arming the timer of every command still running as it goes.
func (s *Server) sweeper() {
	if s.sweeping.Load() || !s.sweeping.CompareAndSwap(false, true) {
		return
	}
	go func() {
		t := time.NewTicker(watchAfter)
		defer t.Stop()
		quiet := 0
		for {
			select {
			case <-s.closed:
				// A command starting after this starts another sweeper,
				// which arms it and ends.
				s.sweeping.Store(false)
				s.armAll()
				return
			case now := <-t.C:
				if s.conns.Busy() == 0 {
					if quiet++; quiet < 100 {
						continue
					}
					s.sweeping.Store(false)
					s.armAll()
					if s.conns.Busy() == 0 || !s.sweeping.CompareAndSwap(false, true) {
						return
					}
				}
				quiet = 0
				s.mu.Lock()
				for wd := range s.framed {
					wd.sweep(now)
				}
				s.mu.Unlock()
			}
		}
	}()
}

// armAll arms the timers of every running framed command, for a sweeper
// that stops.
func (s *Server) armAll() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for wd := range s.framed {
		wd.mu.Lock()
		wd.arm(now)
		wd.mu.Unlock()
	}
}

// hangup cancels the command of a client that went away.
func (wd *watchdog) hangup() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.running && !wd.gone {
		wd.gone = true
		wd.cancel(asok.ErrClientGone)
		wd.c.Close()
	}
}

// abort ends a running command because the server stops.
func (wd *watchdog) abort() {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	if wd.running && !wd.gone {
		wd.end(ShuttingDown(wd.prefix), asok.ErrShuttingDown)
	}
}

// end answers for the running command and drops the connection; wd.mu is
// held.
func (wd *watchdog) end(res objectformat.Result, cause error) {
	wd.gone = true
	wd.cancel(cause)
	_ = wd.s.writeFrameReply(wd.c, res)
	wd.c.Close()
}

func (wd *watchdog) stop() { wd.t.Stop() }

// writers buffer replies: a connection holds a buffer only while it
// writes.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// writeFrameReply writes one reply frame within the reply deadline; the
// connection may be shed for room meanwhile (asok.Conn.Writing).
func (s *Server) writeFrameReply(c *asok.Conn, res objectformat.Result) error {
	now := time.Now()
	c.Writing(now)
	_ = c.SetWriteDeadline(now.Add(asok.ReplyDeadline(s.o.WriteTimeout, len(res.Stdout)+len(res.Stderr))))
	w := writers.Get().(*bufio.Writer)
	w.Reset(c)
	err := writeReplyFrame(w, res)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil)
	writers.Put(w)
	return err
}

// defaultIdleTimeout is ServerOptions.IdleTimeout's default.
const defaultIdleTimeout = 2 * time.Minute

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

func writeReplyFrame(w *bufio.Writer, res objectformat.Result) error {
	res = FitRetval(res)
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
	// dl is the deadline set on c (the zero time: none).
	dl time.Time
}

func dialFramed(ctx context.Context, path, perm string, trusted []int) (*framedConn, error) {
	c, err := asok.Dial(ctx, path, trusted)
	if err != nil {
		return nil, dialError(path, err)
	}
	fc := &framedConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
	fc.w.WriteString(frameMagic)
	fc.w.WriteByte(byte(len(perm)))
	fc.w.WriteString(perm)
	return fc, nil
}

// dialError describes a failed connection; a refused peer stays a
// *asok.PeerError (with its errno) for the caller.
func dialError(path string, err error) error {
	var pe *asok.PeerError
	if errors.As(err, &pe) {
		return pe
	}
	return fmt.Errorf("cannot reach the daemon at %s: %w", path, err)
}

func (f *framedConn) roundTrip(ctx context.Context, cmdJSON, inbuf []byte) (objectformat.Result, error) {
	if dl, _ := ctx.Deadline(); !dl.Equal(f.dl) {
		_ = f.c.SetDeadline(dl)
		f.dl = dl
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = f.c.SetDeadline(time.Now()) })
		defer stop()
		defer func() { f.dl = aLongTimeAgo }() // unknown: it may have fired
	}
	f.w.Write(binary.BigEndian.AppendUint32(f.w.AvailableBuffer(), uint32(len(cmdJSON))))
	f.w.Write(cmdJSON)
	f.w.Write(binary.BigEndian.AppendUint32(f.w.AvailableBuffer(), uint32(len(inbuf))))
	f.w.Write(inbuf)
	if err := f.w.Flush(); err != nil {
		// The daemon may have refused the request (too large) and closed
		// before taking all of it: its answer is worth more than the
		// broken pipe.
		if res, rerr := f.readReply(); rerr == nil {
			return res, nil
		}
		return objectformat.Result{}, err
	}
	return f.readReply()
}

// aLongTimeAgo is a deadline that is not the one set on a connection.
var aLongTimeAgo = time.Unix(1, 0)

func (f *framedConn) readReply() (objectformat.Result, error) {
	hdr, err := f.r.Peek(8)
	if err != nil {
		return objectformat.Result{}, eof(hdr, err)
	}
	res := objectformat.Result{Retval: int(int32(binary.BigEndian.Uint32(hdr[:4])))}
	n := int(binary.BigEndian.Uint32(hdr[4:]))
	if 8+n+4 <= f.r.Size() {
		// A small reply: read where it is in the buffer.
		b, err := f.r.Peek(8 + n + 4)
		if err != nil {
			return objectformat.Result{}, eof(b, err)
		}
		m := int(binary.BigEndian.Uint32(b[8+n:]))
		if 12+n+m <= f.r.Size() {
			if b, err = f.r.Peek(12 + n + m); err != nil {
				return objectformat.Result{}, eof(b, err)
			}
			res.Stdout = append(make([]byte, 0, n), b[8:8+n]...)
			res.Stderr = string(b[12+n:])
			_, _ = f.r.Discard(12 + n + m)
			return res, nil
		}
	}
	_, _ = f.r.Discard(8)
	res.Stdout = make([]byte, n)
	if _, err := io.ReadFull(f.r, res.Stdout); err != nil {
		return objectformat.Result{}, err
	}
	if hdr, err = f.r.Peek(4); err != nil {
		return objectformat.Result{}, eof(hdr, err)
	}
	m := binary.BigEndian.Uint32(hdr)
	_, _ = f.r.Discard(4)
	errb := make([]byte, m)
	if _, err := io.ReadFull(f.r, errb); err != nil {
		return objectformat.Result{}, err
	}
	res.Stderr = string(errb)
	return res, nil
}

// eof is the error of a Peek that got only part of what it asked, as
// io.ReadFull reports it: io.EOF before the first byte,
// io.ErrUnexpectedEOF after it.
func eof(got []byte, err error) error {
	if err == io.EOF && len(got) > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}
