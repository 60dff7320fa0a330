package bridge

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/jsonval"
	"github.com/gomgr/gomgr/internal/rawsock"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// maxFrame bounds one message of the bridge protocol (the spec's 64 MiB).
const maxFrame = 64 << 20

// message is one frame: a request (ID, Op, Args; ID 0 for one-way), or a
// reply to request Re (OK, or Err). A message may carry raw bytes (data):
// Raw says how many follow its frame on the stream (PROTOCOL.md, the
// raw_stdout feature).
type message struct {
	ID   int64           `json:"id,omitempty"`
	Op   string          `json:"op,omitempty"`
	Args json.RawMessage `json:"args,omitempty"`
	Re   int64           `json:"re,omitempty"`
	OK   json.RawMessage `json:"ok,omitempty"`
	Err  *wireError      `json:"err,omitempty"`
	Raw  int             `json:"raw,omitempty"`

	data []byte // the Raw bytes
}

// rawReply is a handler's result that carries raw bytes after its frame:
// OK (encoded by this package) and the data.
type rawReply struct {
	ok   preencoded
	data []byte
}

// rawReceiver is a call's result that takes the raw bytes of its reply.
type rawReceiver interface{ setRaw([]byte) }

// wireError is a failed request: a negative errno and a message.
type wireError struct {
	Errno int    `json:"errno"`
	Msg   string `json:"msg"`
}

func (e *wireError) Error() string  { return e.Msg }
func (e *wireError) ErrorCode() int { return e.Errno }

// errClosed answers the requests of a connection that has gone.
var errClosed = objectformat.NewErrorResponseCode("gomgr bridge: the connection to the real mgr's module is closed", -int(syscall.ENOTCONN))

// handlerFunc serves a request from the other side; its result is the
// reply (an error with an errno, objectformat's ErrorCode, keeps it).
type handlerFunc func(ctx context.Context, op string, args json.RawMessage) (any, error)

// peer is one connection speaking the protocol in both directions.
type peer struct {
	c      net.Conn
	r      *bufio.Reader
	handle handlerFunc

	wmu sync.Mutex // serialises frames on c

	mu      sync.Mutex
	next    int64
	pending map[int64]chan message

	// inlineNow is the command running on the reader, if any.
	inlineNow atomic.Pointer[inlineRun]
	closed    bool
	done      chan struct{}

	// maxWorkers bounds the requests of the other side being served at
	// once.
	maxWorkers int

	// features are the protocol features of the shim (hello's), set
	// before the peer is published to the backend and not changed after.
	features map[string]bool
	// perf is the shim's perf_counters counters this side keeps (under
	// mu; perf.go).
	perf *perfSchemas
}

func newPeer(c net.Conn, handle handlerFunc) *peer {
	c = rawsock.Wrap(c) // no wake of the runtime's monitor a message
	return &peer{c: c, r: bufio.NewReaderSize(c, 64<<10), handle: handle, pending: map[int64]chan message{},
		done: make(chan struct{}), maxWorkers: 32}
}

// preencoded is a handler's result already encoded as JSON by this
// package (so valid and compact): the reply carries it as it is.
type preencoded []byte

// encodeFrame is m as one frame: its length, then m as JSON (the fields
// of message, omitempty). Args and OK are JSON this package encoded
// (json.Marshal, preencoded), copied as they are: json.Marshal of a
// RawMessage would validate and compact it again, a second pass over
// every byte of a large reply.
func encodeFrame(m message) ([]byte, error) {
	b := make([]byte, 4, 4+64+len(m.Op)+len(m.Args)+len(m.OK))
	b = append(b, '{')
	field := func(name string) {
		if len(b) > 5 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if m.ID != 0 {
		field("id")
		b = strconv.AppendInt(b, m.ID, 10)
	}
	if m.Op != "" {
		op, err := json.Marshal(m.Op)
		if err != nil {
			return nil, err
		}
		field("op")
		b = append(b, op...)
	}
	if len(m.Args) > 0 {
		field("args")
		b = append(b, m.Args...)
	}
	if m.Re != 0 {
		field("re")
		b = strconv.AppendInt(b, m.Re, 10)
	}
	if len(m.OK) > 0 {
		field("ok")
		b = append(b, m.OK...)
	}
	if m.Err != nil {
		e, err := json.Marshal(m.Err)
		if err != nil {
			return nil, err
		}
		field("err")
		b = append(b, e...)
	}
	if len(m.data) > 0 {
		if len(m.data) > maxFrame {
			return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %d raw bytes are over the %d byte limit", len(m.data), maxFrame), -int(syscall.E2BIG))
		}
		field("raw")
		b = strconv.AppendInt(b, int64(len(m.data)), 10)
	}
	b = append(b, '}')
	n := len(b) - 4
	if n > maxFrame {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: a message of %d bytes is over the %d byte limit", n, maxFrame), -int(syscall.E2BIG))
	}
	binary.BigEndian.PutUint32(b, uint32(n))
	return b, nil
}

// readFrame reads one message.
func (p *peer) readFrame() (message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return message{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return message{}, fmt.Errorf("gomgr bridge: a frame of %d bytes (the limit is %d)", n, maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(p.r, buf); err != nil {
		return message{}, err
	}
	m, err := decodeMessage(buf)
	if err != nil {
		return message{}, fmt.Errorf("gomgr bridge: a bad frame: %w", err)
	}
	if m.Raw < 0 || m.Raw > maxFrame {
		return message{}, fmt.Errorf("gomgr bridge: a frame with %d raw bytes (the limit is %d)", m.Raw, maxFrame)
	}
	if m.Raw > 0 {
		m.data = make([]byte, m.Raw)
		if _, err := io.ReadFull(p.r, m.data); err != nil {
			return message{}, err
		}
	}
	return m, nil
}

// decodeMessage is json.Unmarshal(frame, &m) (the same message, the
// same frames refused) in one pass over the frame: Args and OK are the
// frame's own bytes, not copies, and are not scanned again
// (json.Unmarshal checks the whole frame before it decodes, then copies
// each json.RawMessage). Keys match the fields as encoding/json matches
// them (exactly, else case-insensitively); a key given twice, its last
// value (err's into the same struct).
func decodeMessage(frame []byte) (message, error) {
	var m message
	var typeErr error
	setInt := func(dst *int64, key string, text []byte) {
		if text[0] == 'n' { // null leaves it
			return
		}
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil && typeErr == nil {
			typeErr = fmt.Errorf("json: cannot unmarshal %.20q into the %s of a message", text, key)
		}
		if err == nil {
			*dst = n
		}
	}
	_, err := jsonval.Members(frame, func(key string, text []byte) error {
		switch {
		case key == "id" || strings.EqualFold(key, "id"):
			setInt(&m.ID, "id", text)
		case key == "re" || strings.EqualFold(key, "re"):
			setInt(&m.Re, "re", text)
		case key == "raw" || strings.EqualFold(key, "raw"):
			var n int64
			setInt(&n, "raw", text)
			if text[0] != 'n' {
				m.Raw = int(n)
			}
		case key == "op" || strings.EqualFold(key, "op"):
			switch text[0] {
			case 'n':
			case '"':
				v, err := jsonval.Decode(text)
				if err != nil {
					return err
				}
				m.Op = v.(string)
			default:
				if typeErr == nil {
					typeErr = fmt.Errorf("json: cannot unmarshal %.20q into the op of a message", text)
				}
			}
		case key == "args" || strings.EqualFold(key, "args"):
			m.Args = text
		case key == "ok" || strings.EqualFold(key, "ok"):
			m.OK = text
		case key == "err" || strings.EqualFold(key, "err"):
			if text[0] == 'n' {
				m.Err = nil
				return nil
			}
			if m.Err == nil {
				m.Err = &wireError{}
			}
			if err := json.Unmarshal(text, m.Err); err != nil && typeErr == nil {
				typeErr = err
			}
		}
		return nil
	})
	if err != nil {
		return message{}, err
	}
	if typeErr != nil {
		return message{}, typeErr
	}
	return m, nil
}

// write sends one message, within writeTimeout.
func (p *peer) write(m message) error { return p.writeBy(m, time.Now().Add(writeTimeout)) }

// writeBy sends one message; a write not done by deadline drops the
// connection (its peer does not read).
func (p *peer) writeBy(m message, deadline time.Time) error {
	frame, err := encodeFrame(m)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.c.SetWriteDeadline(deadline)
	if len(m.data) > 0 {
		bufs := net.Buffers{frame, m.data} // one writev, no copy of the data
		_, err = bufs.WriteTo(p.c)
	} else {
		_, err = p.c.Write(frame)
	}
	if err != nil {
		p.close() // a peer that does not read is gone: nothing waits on it
	}
	return err
}

// writeTimeout bounds one frame's write: a peer that reads nothing for
// that long is dropped.
const writeTimeout = 30 * time.Second

// minWriteTime is the least time a call's frame gets to be written.
const minWriteTime = time.Second

// ordered reports whether a request is handled in arrival order, on the
// connection's one ordered lane: hello (everything else waits for it) and
// the one-way messages (config changes must apply in order). Requests with
// a reply run concurrently, at most maxWorkers at once.
func ordered(m message) bool { return m.ID == 0 || m.Op == "hello" }

// inlined reports whether the reader runs a request itself (answerInline)
// rather than handing it to a worker: the real mgr's commands, which it
// sends one at a time and waits for. A hand-off to a worker goroutine
// wakes another thread of the process and costs more CPU than a short
// command's own work.
func inlined(m message) bool { return m.Op == "command" }

// watchInterval is how often a connection's watchdog looks at the
// command running on its reader: one seen twice is handed off
// (answerInline), so the connection's other frames wait at most about two
// intervals behind a command that neither ends nor calls the other side.
var watchInterval = 5 * time.Millisecond

// maxOrdered bounds the ordered lane's queue; a peer that floods it is
// dropped.
const maxOrdered = 1024

// readState is what the goroutines reading a connection in turn share
// (one at a time reads; see answerInline).
type readState struct {
	handlers sync.WaitGroup
	lane     chan message // the ordered lane
	work     chan message // unbuffered: taken only by an idle worker
	end      chan error   // the last reader's error (nil at EOF)
	inline   atomic.Int32 // requests running inline, handed off or not
	watching atomic.Bool  // the watchdog runs
	cancel   context.CancelFunc

	// workers is how many worker goroutines there are; only the goroutine
	// reading uses it.
	workers int
}

// run reads frames until the connection ends: replies go to their
// callers, requests to handle. The reader never blocks on a handler: a
// request past the concurrency limit is answered -EBUSY at once. Handlers
// get a context that ends with the connection, and run returns only once
// they all have. Requests run on worker goroutines that stay for the
// connection (started as needed, up to maxWorkers), whose stacks have
// grown once: a goroutine per request would grow a new stack each time;
// commands run on the reader itself (inlined), which hands the reading to
// a new goroutine should one not end at once.
func (p *peer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	st := &readState{lane: make(chan message, maxOrdered), work: make(chan message), end: make(chan error, 1), cancel: cancel}
	st.handlers.Add(1)
	go func() {
		defer st.handlers.Done()
		for m := range st.lane {
			p.answer(ctx, m)
		}
	}()
	defer func() {
		p.close()
		cancel()
		close(st.lane)
		close(st.work)
		st.handlers.Wait()
	}()
	p.read(ctx, st)
	return <-st.end
}

// read reads frames and dispatches them until the connection ends (its
// error goes to st.end) or until this goroutine has handed the reading to
// another one (answerInline).
func (p *peer) read(ctx context.Context, st *readState) {
	for {
		m, err := p.readFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				err = nil
			}
			p.stop(st, err)
			return
		}
		busy := int(st.inline.Load()) + st.workers
		switch {
		case m.Re != 0:
			p.mu.Lock()
			ch := p.pending[m.Re]
			delete(p.pending, m.Re)
			p.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case ordered(m):
			select {
			case st.lane <- m:
			default:
				p.stop(st, fmt.Errorf("gomgr bridge: more than %d messages waiting on the ordered lane", maxOrdered))
				return
			}
		case inlined(m) && busy < p.maxWorkers:
			if !p.answerInline(ctx, st, m) {
				return
			}
		default:
			select {
			case st.work <- m:
			default:
				if busy < p.maxWorkers {
					st.workers++
					st.handlers.Add(1)
					go func(m message) {
						defer st.handlers.Done()
						p.answer(ctx, m)
						for m := range st.work {
							p.answer(ctx, m)
						}
					}(m)
					break
				}
				st.handlers.Add(1)
				go func(id int64) { // a write may block: not on the reader
					defer st.handlers.Done()
					_ = p.write(message{Re: id, Err: &wireError{Errno: -int(syscall.EBUSY), Msg: fmt.Sprintf("gomgr bridge: more than %d requests at once", p.maxWorkers)}})
				}(m.ID)
			}
		}
	}
}

// stop ends the connection from its last reader: handlers (one may be
// running on run's own goroutine, handed off) see it at once.
func (p *peer) stop(st *readState, err error) {
	p.close()
	st.cancel()
	st.end <- err
}

// inlineRun is a request running on the goroutine that read it.
type inlineRun struct {
	p     *peer
	ctx   context.Context // the connection's, for the next reader
	st    *readState
	state atomic.Int32 // runInline, runHandedOff, runDone
}

const (
	runInline    = iota // running; this goroutine still holds the reading
	runHandedOff        // another goroutine reads now
	runDone             // ended in time: this goroutine reads on
)

// handOff starts another goroutine reading, once; from then on the
// request is as one a worker runs.
func (r *inlineRun) handOff() {
	if r.state.CompareAndSwap(runInline, runHandedOff) {
		r.st.handlers.Add(1)
		go func() {
			defer r.st.handlers.Done()
			r.p.read(r.ctx, r.st)
		}()
	}
}

// answerInline runs request m on the reading goroutine, and reports
// whether that goroutine still holds the reading. While m runs nothing
// else of the connection is read, so the reading goes on elsewhere
// (handOff) as soon as anything waits for a reply of the other side (a
// call, before m or while it runs: only the reader delivers replies), or
// once the watchdog has seen m run for an interval.
func (p *peer) answerInline(ctx context.Context, st *readState, m message) bool {
	st.inline.Add(1)
	defer st.inline.Add(-1)
	r := &inlineRun{p: p, ctx: ctx, st: st}
	p.inlineNow.Store(r)
	p.mu.Lock()
	waiting := len(p.pending) > 0 // call stores its pending entry, then looks at inlineNow
	p.mu.Unlock()
	if waiting {
		r.handOff()
	}
	if st.watching.CompareAndSwap(false, true) {
		st.handlers.Add(1)
		go p.watch(st)
	}
	p.answer(ctx, m)
	p.inlineNow.CompareAndSwap(r, nil)
	return r.state.CompareAndSwap(runInline, runDone)
}

// watch is a connection's watchdog while commands run on its reader: it
// hands off a command it sees running for a whole interval, and stops
// after two intervals without one.
func (p *peer) watch(st *readState) {
	defer st.handlers.Done()
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	var last *inlineRun
	for idle := 0; ; {
		select {
		case <-p.done:
			st.watching.Store(false)
			return
		case <-tick.C:
		}
		if r := p.inlineNow.Load(); r != nil {
			if r == last {
				r.handOff()
			}
			last, idle = r, 0
			continue
		}
		if idle++; idle < 2 {
			continue
		}
		st.watching.Store(false)
		// a command started since the Load relies on this watchdog unless
		// it started one of its own
		if p.inlineNow.Load() == nil || !st.watching.CompareAndSwap(false, true) {
			return
		}
		idle = 0
	}
}

// answer runs a request and writes its reply (none for one-way ones).
func (p *peer) answer(ctx context.Context, m message) {
	res, err := p.serve(ctx, m)
	if m.ID == 0 {
		return
	}
	reply := message{Re: m.ID}
	if raw, ok := res.(preencoded); ok && err == nil {
		reply.OK = json.RawMessage(raw)
	} else if r, ok := res.(rawReply); ok && err == nil {
		reply.OK, reply.data = json.RawMessage(r.ok), r.data
	} else if err != nil {
		reply.Err = &wireError{Errno: objectformat.ErrnoOf(err), Msg: err.Error()}
	} else if reply.OK, err = json.Marshal(res); err != nil {
		reply.OK, reply.Err = nil, &wireError{Errno: -int(syscall.EIO), Msg: err.Error()}
	}
	_ = p.write(reply)
}

// serve runs one request with panics turned into -EIO.
func (p *peer) serve(ctx context.Context, m message) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %s panicked: %v", m.Op, r), -int(syscall.EIO))
		}
	}()
	return p.handle(ctx, m.Op, m.Args)
}

// call sends a request and waits for its reply, decoding it into out.
func (p *peer) call(ctx context.Context, op string, args, out any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// Not written at all: a frame written past the caller's deadline
		// would fail half-sent and cost the connection.
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: %s not sent to the real mgr: %v", op, err), -int(syscall.ETIMEDOUT))
	}
	ch := make(chan message, 1)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errClosed
	}
	p.next++
	id := p.next
	p.pending[id] = ch
	p.mu.Unlock()
	if r := p.inlineNow.Load(); r != nil {
		r.handOff() // the reply needs a reader (answerInline)
	}
	defer func() {
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
	}()
	// The write honours the caller's deadline, but not below a second:
	// a write cut short by it leaves half a frame, which ends the
	// connection for every caller.
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
		if least := time.Now().Add(minWriteTime); d.Before(least) {
			deadline = least
		}
	}
	if err := p.writeBy(message{ID: id, Op: op, Args: raw}, deadline); err != nil {
		return errClosed
	}
	select {
	case m := <-ch:
		if m.Err != nil {
			return m.Err
		}
		if r, ok := out.(rawReceiver); ok && m.data != nil {
			r.setRaw(m.data)
		}
		if out == nil || len(m.OK) == 0 {
			return nil
		}
		if err := decodeInto(m.OK, out); err != nil {
			return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: a bad reply to %s: %v", op, err), -int(syscall.EIO))
		}
		return nil
	case <-p.done:
		return errClosed
	case <-ctx.Done():
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: no reply to %s from the real mgr: %v", op, ctx.Err()), -int(syscall.ETIMEDOUT))
	}
}

// send sends a one-way request.
func (p *peer) send(op string, args any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	return p.write(message{Op: op, Args: raw})
}

// isClosed reports whether the connection has ended.
func (p *peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close ends the connection; waiting callers get errClosed.
func (p *peer) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
	_ = p.c.Close()
}

// decodeInto decodes a reply's value into out. A plain value (*any, or a
// map or slice of them) keeps Python's number types (jsonval): the real
// mgr's integers are exact, and 64-bit ones (feature bits) do not survive
// a float64.
func decodeInto(data []byte, out any) error {
	switch o := out.(type) {
	case *any:
		v, err := jsonval.Decode(data)
		if err != nil {
			return err
		}
		*o = v
		return nil
	case *map[string]any:
		v, err := jsonval.DecodeObject(data)
		if err != nil {
			return err
		}
		*o = v
		return nil
	case *[]map[string]any:
		v, err := jsonval.Decode(data)
		if err != nil {
			return err
		}
		if v == nil {
			*o = nil
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a JSON array, got %T", v)
		}
		res := make([]map[string]any, len(list))
		for i, e := range list {
			if e == nil {
				continue
			}
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("want an array of objects, element %d is %T", i, e)
			}
			res[i] = m
		}
		*o = res
		return nil
	}
	return json.Unmarshal(data, out)
}
