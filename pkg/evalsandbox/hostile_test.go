package evalsandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeWorker is a worker played by a goroutine of the test over a socket
// pair, with the parent's real framing and decoding.
type fakeWorker struct {
	conn     net.Conn
	msgs     chan *message
	rerr     error
	killOnce sync.Once
	mu       sync.Mutex
	why      error
	ended    chan struct{}
}

// useFakeWorker makes the sessions of this test spawn play(child end).
func useFakeWorker(t *testing.T, play func(c net.Conn)) *[]*fakeWorker {
	t.Helper()
	var spawned []*fakeWorker
	var mu sync.Mutex
	old := spawnFunc
	spawnFunc = func(string) (worker, error) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		parent, err := fileConn(fds[0])
		if err != nil {
			return nil, err
		}
		child, err := fileConn(fds[1])
		if err != nil {
			return nil, err
		}
		w := &fakeWorker{conn: parent, msgs: make(chan *message, 1), ended: make(chan struct{})}
		go func() {
			defer close(w.msgs)
			for {
				m, err := readFrame(parent, maxChildFrame)
				if err != nil {
					w.rerr = err
					return
				}
				w.msgs <- m
			}
		}()
		go func() {
			defer close(w.ended)
			defer child.Close()
			play(child)
		}()
		mu.Lock()
		spawned = append(spawned, w)
		mu.Unlock()
		return w, nil
	}
	t.Cleanup(func() { spawnFunc = old })
	return &spawned
}

func (w *fakeWorker) send(m *message, deadline time.Time) error {
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return writeFrame(w.conn, m, maxParentFrame)
}
func (w *fakeWorker) messages() <-chan *message { return w.msgs }
func (w *fakeWorker) readErr() error            { return w.rerr }
func (w *fakeWorker) pid() int                  { return -1 }
func (w *fakeWorker) kill(why error) {
	w.killOnce.Do(func() {
		w.mu.Lock()
		w.why = why
		w.mu.Unlock()
		w.conn.Close()
	})
}
func (w *fakeWorker) exited(deadline time.Time) *exitInfo {
	select {
	case <-w.ended:
	case <-time.After(time.Until(deadline)):
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return &exitInfo{killedFor: w.why, state: "fake worker ended", code: 1}
}

// drain reads and discards the parent's frames until the socket ends.
func drain(c net.Conn, got chan<- *message) {
	for {
		m, err := readFrame(c, maxParentFrame)
		if err != nil {
			return
		}
		if got != nil {
			got <- m
		}
	}
}

func rawFrame(body []byte) []byte {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	return append(hdr[:], body...)
}

func jsonFrame(t *testing.T, m *message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return rawFrame(b)
}

// TestHostileWorker: whatever a worker sends, the parent answers within
// the time limit and its grace, with -EIO or -ETIMEDOUT, and kills it.
func TestHostileWorker(t *testing.T) {
	ready := func(t *testing.T) []byte { return jsonFrame(t, &message{Op: opReady}) }
	deep := strings.Repeat(`{"k":"list","e":[`, 20000) + strings.Repeat("]}", 20000)
	for _, c := range []struct {
		name  string
		after func(t *testing.T) []byte // sent after the first request
		errno syscall.Errno
		msg   string
	}{
		{"huge frame", func(*testing.T) []byte { return []byte{0xff, 0xff, 0xff, 0xff} }, syscall.EIO, "frame too large"},
		{"limit plus one", func(*testing.T) []byte {
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], maxChildFrame+1)
			return hdr[:]
		}, syscall.EIO, "frame too large"},
		{"garbage", func(*testing.T) []byte { return rawFrame([]byte("\x00not json")) }, syscall.EIO, "bad message"},
		{"trailing data", func(*testing.T) []byte { return rawFrame([]byte(`{"op":"result","id":1} {}`)) }, syscall.EIO, "trailing data"},
		{"unknown field", func(*testing.T) []byte { return rawFrame([]byte(`{"op":"result","id":1,"x":1}`)) }, syscall.EIO, "unknown field"},
		{"no op", func(*testing.T) []byte { return rawFrame([]byte(`{"id":1}`)) }, syscall.EIO, "no op"},
		{"wrong id", func(t *testing.T) []byte { return jsonFrame(t, &message{Op: opResult, ID: 99}) }, syscall.EIO, "unexpected \"result\""},
		{"unknown op", func(t *testing.T) []byte { return jsonFrame(t, &message{Op: "shell", ID: 1}) }, syscall.EIO, "unexpected \"shell\""},
		{"candidates for an eval", func(t *testing.T) []byte {
			return jsonFrame(t, &message{Op: opResult, ID: 1, Candidates: [][]byte{[]byte("x")}})
		}, syscall.EIO, "malformed"},
		{"nested too deep for JSON", func(*testing.T) []byte {
			return rawFrame([]byte(`{"op":"call","id":5,"obj":"host","attr":"echo","args":[` + deep + `]}`))
		}, syscall.EIO, "bad message"},
		{"truncated frame then silence", func(*testing.T) []byte {
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], 1000)
			return append(hdr[:], `{"op":`...)
		}, syscall.ETIMEDOUT, "timeout: eval ran longer than test_timeout (300ms); the session was reset"},
		{"silence", func(*testing.T) []byte { return nil }, syscall.ETIMEDOUT, "timeout"},
		{"closes", nil, syscall.EIO, "eval session ended unexpectedly (fake worker ended)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			workers := useFakeWorker(t, func(conn net.Conn) {
				if _, err := readFrame(conn, maxParentFrame); err != nil { // init
					return
				}
				_, _ = conn.Write(ready(t))
				if _, err := readFrame(conn, maxParentFrame); err != nil { // the eval
					return
				}
				if c.after == nil {
					return
				}
				_, _ = conn.Write(c.after(t))
				drain(conn, nil)
			})
			s, _ := newTestSession(t, withLimits(Limits{Timeout: 300 * time.Millisecond}))
			start := time.Now()
			wantErr(t, s, "1", c.errno, c.msg)
			if d := time.Since(start); d > 300*time.Millisecond+time.Second {
				t.Errorf("answered after %s", d)
			}
			w := (*workers)[0]
			select {
			case <-w.ended:
			case <-time.After(2 * time.Second):
				t.Errorf("the worker was not killed")
			}
			if s.WorkerPID() != 0 {
				t.Errorf("the session kept the worker")
			}
		})
	}
}

// TestHostileWorkerCalls: calls the parent does not offer get an error
// reply, not a crash.
func TestHostileWorkerCalls(t *testing.T) {
	replies := make(chan *message, 16)
	calls := []*message{
		{Op: opCall, ID: 10, Obj: "nosuch", Attr: "x"},
		{Op: opCall, ID: 11, Obj: "host", Attr: "label"},     // an attribute, not a method
		{Op: opAttr, ID: 12, Obj: "host", Attr: "echo"},      // a method, not an attribute
		{Op: opCall, ID: 13, Obj: "host", Attr: "__class__"}, // not advertised
		{Op: opCall, ID: 14, Obj: "host", Attr: "echo", KwKeys: []string{"a"}},
		{Op: opCall, ID: 15, Obj: "host", Attr: "echo", Args: []wval{{K: "int", T: "12345678901234567890123"}}},
		{Op: opCall, ID: 16, Obj: "host", Attr: "echo", Args: []wval{{K: "dict", E: []wval{{K: "list"}, {K: "none"}}}}},
		{Op: opCall, ID: 17, Obj: "host", Attr: "echo", Args: []wval{{K: "weird"}}},
		{Op: opCall, ID: 18, Obj: "answer"}, // a plain value is not callable
		{Op: opCall, ID: 19, Obj: "host", Attr: "echo", Args: []wval{{K: "int", T: "-0x" + strings.Repeat("f", 100000)}}},
	}
	useFakeWorker(t, func(conn net.Conn) {
		if _, err := readFrame(conn, maxParentFrame); err != nil {
			return
		}
		_, _ = conn.Write(jsonFrame(t, &message{Op: opReady}))
		req, err := readFrame(conn, maxParentFrame)
		if err != nil {
			return
		}
		for _, c := range calls {
			_, _ = conn.Write(jsonFrame(t, c))
			rep, err := readFrame(conn, maxParentFrame)
			if err != nil {
				return
			}
			replies <- rep
		}
		_, _ = conn.Write(jsonFrame(t, &message{Op: opResult, ID: req.ID, Stdout: []byte("done\n")}))
		drain(conn, nil)
	})
	s, _ := newTestSession(t)
	wantOut(t, s, "1", "done\n", "")
	for i, c := range calls {
		rep := <-replies
		if rep.ID != c.ID || rep.Op != opReply {
			t.Errorf("call %d: reply %+v", i, rep)
			continue
		}
		if c.ID == 19 {
			if rep.Err != nil || rep.Value == nil || len(rep.Value.T) < 100000 {
				t.Errorf("big int: %q", rep.Err)
			}
			continue
		}
		if rep.Err == nil {
			t.Errorf("call %+v: no error", c)
		}
	}
}

// TestHostileWorkerNeverReady: a worker that never says it is ready is
// given up when the command ends.
func TestHostileWorkerNeverReady(t *testing.T) {
	useFakeWorker(t, func(conn net.Conn) { drain(conn, nil) })
	s, _ := newTestSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.Eval(ctx, "1")
	var e *Error
	if !errors.As(err, &e) || e.Errno != syscall.ECANCELED {
		t.Errorf("got %v", err)
	}
}

// FuzzChildMessage feeds arbitrary worker output to the parent's reader
// and to what the parent does with a decoded call: it must not panic, and
// it allocates no more than a frame's limit.
func FuzzChildMessage(f *testing.F) {
	for _, seed := range []string{
		`{"op":"ready"}`,
		`{"op":"result","id":1,"stdout":"aGk=","stderr":""}`,
		`{"op":"call","id":2,"obj":"host","attr":"echo","args":[{"k":"int","t":"1"},{"k":"str","t":"x"},{"k":"list","e":[{"k":"none"}]}],"kwkeys":["a"],"kwvals":[{"k":"dict","e":[{"k":"str","t":"k"},{"k":"float","t":"NaN"}]}]}`,
		`{"op":"attr","id":3,"obj":"host","attr":"label"}`,
		`{"op":"call","id":4,"obj":"twice","args":[{"k":"int","t":"0x10"}]}`,
		`{"op":"call","id":5,"obj":"host","attr":"echo","args":[{"k":"tuple","e":[{"k":"bytes","r":"/w=="},{"k":"str","r":"/w=="},{"k":"bool","b":true}]}]}`,
	} {
		f.Add(rawFrame([]byte(seed)))
	}
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	h := &host{}
	_, objects, err := buildGlobals(testGlobals(h))
	if err != nil {
		f.Fatal(err)
	}
	l := &live{objects: objects}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			m, err := readFrame(r, maxChildFrame)
			if err != nil {
				return
			}
			if m.Op == opCall || m.Op == opAttr {
				if m.Obj == "host" && (m.Attr == "block" || m.Attr == "panic" || m.Attr == "big") {
					continue // they wait for the request's end, panic or allocate on purpose
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				rep := l.serve(ctx, "fuzz", m)
				cancel()
				if rep.Op != opReply || rep.ID != m.ID || (rep.Err == nil) == (rep.Value == nil) {
					t.Fatalf("reply %+v to %+v", rep, m)
				}
			}
			if m.Value != nil {
				_, _ = decode(m.Value, 0)
			}
		}
	})
}
