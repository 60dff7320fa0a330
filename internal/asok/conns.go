package asok

import (
	"cmp"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/rawsock"
)

// Conns tracks the connections of a server so that idle and slow clients
// cannot crowd out new ones: nothing limits accepting, and past Max open
// connections the one idle the longest (waiting for, or still receiving,
// a request, or with its reply still unread since the longest) is closed
// to make room. Connections running a command are never closed for room.
// It is safe for concurrent use.
type Conns struct {
	// Max is the number of connections past which idle ones are shed
	// (DefaultMaxConns if 0).
	Max int

	mu     sync.Mutex
	set    map[*Conn]struct{}
	closed bool
	busy   atomic.Int64
	wg     sync.WaitGroup
	shed   atomic.Int64
}

// DefaultMaxConns is the default of Conns.Max.
const DefaultMaxConns = 1024

// Conn is a tracked connection: idle until Busy, idle again after Idle.
// Between the two, Writing marks it as sending its reply: it still counts
// as busy (Conns.Busy, WaitIdle) but can be shed for room like an idle
// one, so that clients that never read their replies cannot pile up.
type Conn struct {
	net.Conn
	owner *Conns
	state atomic.Int32
	since atomic.Int64 // when it last became idle, unix nanoseconds
	once  sync.Once
}

const (
	stateIdle int32 = iota
	stateBusy
	stateWriting
	stateShed
)

// Accept accepts the next connection and tracks it. Running out of file
// descriptors sheds an idle connection (or waits a moment) rather than
// failing; other errors, such as the listener's closing, are returned.
func (s *Conns) Accept(l net.Listener) (*Conn, error) {
	for {
		c, err := l.Accept()
		if err == nil {
			if tc := s.add(c); tc != nil {
				return tc, nil
			}
			continue // the set is closed; c was closed
		}
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
			if !s.shedOne(true) {
				time.Sleep(20 * time.Millisecond)
			}
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		return nil, err
	}
}

func (s *Conns) max() int {
	if s.Max > 0 {
		return s.Max
	}
	return DefaultMaxConns
}

func (s *Conns) add(c net.Conn) *Conn {
	tc := &Conn{Conn: rawsock.Wrap(c), owner: s}
	tc.since.Store(time.Now().UnixNano())
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return nil
	}
	if s.set == nil {
		s.set = map[*Conn]struct{}{}
	}
	if len(s.set) >= s.max() {
		// Shed a batch, so that a flood of connections costs one scan
		// per batch rather than one per connection.
		s.shedLocked(max(1, s.max()/16))
	}
	s.set[tc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	return tc
}

// shedOne closes the connection idle the longest; with force it does so
// whatever the number of connections.
func (s *Conns) shedOne(force bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && len(s.set) < s.max() {
		return false
	}
	return s.shedLocked(1) > 0
}

// shedLocked closes the n connections idle the longest, and returns how
// many it closed.
func (s *Conns) shedLocked(n int) int {
	type entry struct {
		c     *Conn
		since int64
	}
	idle := make([]entry, 0, len(s.set))
	for c := range s.set {
		if st := c.state.Load(); st == stateIdle || st == stateWriting {
			idle = append(idle, entry{c, c.since.Load()})
		}
	}
	if len(idle) > n {
		slices.SortFunc(idle, func(a, b entry) int { return cmp.Compare(a.since, b.since) })
	}
	shed := 0
	for _, e := range idle {
		if shed == n {
			break
		}
		if e.c.shed() {
			delete(s.set, e.c)
			_ = e.c.Conn.Close()
			shed++
		}
	}
	s.shed.Add(int64(shed))
	return shed
}

// Busy marks the connection as running a command, so it is not shed. It
// reports false if the connection was already shed (and closed).
func (c *Conn) Busy() bool {
	if c.state.CompareAndSwap(stateIdle, stateBusy) {
		c.owner.busy.Add(1)
		return true
	}
	return c.state.Load() == stateBusy
}

// Writing marks a busy connection as sending its reply since now: it may
// be shed (closed) for room until Idle. A client that reads its reply
// keeps its connection unless the server is full of others.
func (c *Conn) Writing(now time.Time) {
	c.since.Store(now.UnixNano())
	c.state.CompareAndSwap(stateBusy, stateWriting)
}

// Idle marks the connection as waiting for its next request since now.
func (c *Conn) Idle(now time.Time) {
	c.since.Store(now.UnixNano())
	if c.state.CompareAndSwap(stateBusy, stateIdle) || c.state.CompareAndSwap(stateWriting, stateIdle) {
		c.owner.busy.Add(-1)
	}
}

// shed marks an idle or writing connection as shed, reporting whether it
// was one; the caller closes it.
func (c *Conn) shed() bool {
	if c.state.CompareAndSwap(stateIdle, stateShed) {
		return true
	}
	if c.state.CompareAndSwap(stateWriting, stateShed) {
		c.owner.busy.Add(-1)
		return true
	}
	return false
}

// CloseWrite shuts the writing side down, when the connection has one.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Raw is the underlying connection.
func (c *Conn) Raw() net.Conn { return c.Conn }

// Close closes the connection and stops tracking it.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if st := c.state.Swap(stateShed); st == stateBusy || st == stateWriting {
			c.owner.busy.Add(-1)
		}
		c.owner.mu.Lock()
		delete(c.owner.set, c)
		c.owner.mu.Unlock()
		c.owner.wg.Done()
	})
	return err
}

// Busy is the number of connections running a command or writing its
// reply.
func (s *Conns) Busy() int { return int(s.busy.Load()) }

// Len is the number of open connections.
func (s *Conns) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.set)
}

// Shed is the number of connections closed to make room so far.
func (s *Conns) Shed() int64 { return s.shed.Load() }

// CloseIdle closes the connections waiting for a request.
func (s *Conns) CloseIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.set {
		if c.state.CompareAndSwap(stateIdle, stateShed) {
			delete(s.set, c)
			_ = c.Conn.Close()
		}
	}
}

// Close refuses new connections and closes every open one.
func (s *Conns) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.set {
		_ = c.Conn.Close()
	}
	s.mu.Unlock()
}

// Wait waits until every tracked connection is closed by its owner.
func (s *Conns) Wait() { s.wg.Wait() }

// WaitIdle waits until no connection runs a command or writes its reply,
// or until the deadline; it reports whether none does.
func (s *Conns) WaitIdle(deadline time.Time) bool {
	for s.Busy() > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
