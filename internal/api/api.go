// Package api is the daemon's own command API for mgrctl and for standby
// daemons, over a unix socket, carrying what the Ceph admin socket cannot:
// the return value, stdout and stderr separately, and an input buffer
// (ceph -i). The socket speaks HTTP/1.1, easy to use from any tool
// (curl --unix-socket), and a lean framed protocol for commands (see
// frame.go) that Client uses:
//
//	POST /v1/command               {"cmd": {...}, "inbuf": "<base64>"} → Reply
//	GET  /v1/command-descriptions  get_command_descriptions (full form)
//	GET  /v1/status                Status
//	GET  /v1/snapshot              Snapshot (standbys read options from it)
//
// Errors of the transport itself (bad JSON, a request over the size cap)
// are also answered with a Reply carrying a negative errno, so a client
// always gets (retval, stdout, stderr).
//
// A request is decided on before its input is read: "cmd" must come before
// "inbuf" in the HTTP body; a request the client may not run, or one past
// the bytes-in-flight budget (-EBUSY, -E2BIG), is refused without reading
// its input. Command text must be valid UTF-8 (no escaped lone
// surrogates), with nothing after the object; both are refused with
// -EINVAL otherwise (Client refuses such text before sending it). Commands
// whose client goes away are cancelled, and at shutdown (Drain)
// unfinished ones are answered -EAGAIN "daemon is shutting down".
//
// Replies are bounded too (see reply.go): one over 64 KiB holds its size
// of the same in-flight budget until written, and is answered -EBUSY
// instead when the budget cannot hold it; a client has the write timeout
// plus a second per MiB to read it. A return value that does not fit 32
// bits is sent as -EINVAL with a note (FitRetval), on every transport.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Request is the body of POST /v1/command.
type Request struct {
	Cmd   map[string]any `json:"cmd"`
	Inbuf []byte         `json:"inbuf,omitempty"`
}

// Reply is the result of a command.
type Reply struct {
	Retval int    `json:"retval"`
	Stdout []byte `json:"stdout"`
	Stderr string `json:"stderr"`
}

// Result converts the reply.
func (r Reply) Result() objectformat.Result {
	return objectformat.Result{Retval: r.Retval, Stdout: r.Stdout, Stderr: r.Stderr}
}

// Status describes a daemon.
type Status struct {
	ID      string `json:"id"`
	Role    string `json:"role"` // "active" or "standby"
	PID     int    `json:"pid"`
	Version string `json:"version"`
	Backend string `json:"backend"`
	API     string `json:"api_socket"`
	Asok    string `json:"admin_socket"`
	// Active names the active daemon (for a standby).
	Active string `json:"active,omitempty"`
	// MaxRequest is the largest request, and so -i input, the daemon
	// accepts (ceph-mgr --max-api-request; 0: the server's default).
	MaxRequest int64 `json:"max_request,omitempty"`
}

// Snapshot is the state a standby daemon reads from the active one.
type Snapshot struct {
	Config   map[string]string `json:"config"`
	KV       map[string]string `json:"kv"`
	Services map[string]string `json:"services"`
	Enabled  []string          `json:"enabled_modules"`
}

// PermHeader lets a client ask for fewer permissions than its socket
// grants ("r" for read-only).
const PermHeader = "X-Gomgr-Perm"

// Handler is what a Server serves.
type Handler interface {
	// Command runs a command. It may block past ctx's deadline; the
	// server answers -ETIMEDOUT at the deadline either way. ctx is also
	// cancelled when the client goes away (cause asok.ErrClientGone) and
	// when the server gives up on it while stopping (cause
	// asok.ErrShuttingDown). inbuf is the handler's to keep: the server
	// allocates it for this request and never touches it again.
	Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result
	// Permit is asked, before a request's input buffer is read, whether a
	// client with perm may run cmd; if not (ok false) deny is the reply
	// and the input is skipped unread. It is only asked for requests with
	// an input buffer.
	Permit(ctx context.Context, cmd map[string]any, perm string) (deny objectformat.Result, ok bool)
	// Descriptions answers get_command_descriptions; an error carries its
	// errno (objectformat.ErrnoOf) to the client.
	Descriptions(ctx context.Context) ([]byte, error)
	Status(ctx context.Context) Status
	Snapshot(ctx context.Context) (Snapshot, error)
}

// ServerOptions limit a Server.
type ServerOptions struct {
	// Perm is what clients of this socket may do ("rw", or "r" for a
	// read-only socket).
	Perm string
	// MaxRequest caps a request body (default 64 MiB).
	MaxRequest int64
	// ReadTimeout bounds reading a whole request (default 30 s);
	// CommandTimeout bounds a command (default 5 min; the handler should
	// honour its context, the client gets -ETIMEDOUT either way).
	ReadTimeout, CommandTimeout time.Duration
	// WriteTimeout bounds the time a client may take to read its reply:
	// WriteTimeout plus a second per MiB of reply (asok.ReplyDeadline;
	// default 10 s). A client that does not read its reply by then loses
	// it (and its connection).
	WriteTimeout time.Duration
	// IdleTimeout is how long a connection may wait for its next request
	// (default 2 min).
	IdleTimeout time.Duration
	// MaxConns is the number of open connections past which the one idle
	// the longest is closed to make room (default asok.DefaultMaxConns).
	MaxConns int
	// Inflight caps the request bytes in flight and the bytes of replies
	// (over asok.SmallReply) waiting to be written; servers of one daemon
	// share it. Nil means a budget of its own of MaxInflight bytes
	// (default DefaultMaxInflight).
	Inflight    *Budget
	MaxInflight int64
	// MaxRunning caps the commands the server runs at once (0: no cap);
	// past it a command waits up to ReadTimeout for one to finish, then
	// gets -EBUSY. It bounds the memory of replies being built, which the
	// in-flight budget sees only once they are built.
	MaxRunning int
}

// Server serves the API on a listener: HTTP, and the framed protocol for
// clients that open with its magic.
type Server struct {
	http  *http.Server
	h     Handler
	o     ServerOptions
	conns asok.Conns

	draining, aborted, sweeping atomic.Bool
	abortOnce, closeOnce        sync.Once
	abortCh, closed             chan struct{}
	mu                          sync.Mutex
	framed                      map[*watchdog]struct{}
	running                     *running
}

// Serve accepts connections until Close.
func (s *Server) Serve(l net.Listener) error {
	return s.http.Serve(newSniffListener(l, s))
}

// Close stops the server and closes every connection.
func (s *Server) Close() error {
	err := s.http.Close()
	s.closeConns()
	return err
}

// Shutdown stops accepting, waits for HTTP requests in flight, and closes
// every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.closeConns()
	return err
}

func (s *Server) closeConns() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.conns.Close()
}

// Drain stops taking commands (new ones are answered -EAGAIN "daemon is
// shutting down"), gives those running until grace to finish with their
// real result, then cancels the rest (cause asok.ErrShuttingDown) and
// answers them -EAGAIN "daemon is shutting down" on every transport. It
// returns once those replies are written (bounded); Shutdown or Close
// still has to be called.
func (s *Server) Drain(grace time.Duration) {
	s.draining.Store(true)
	if s.conns.WaitIdle(time.Now().Add(grace)) {
		return
	}
	s.aborted.Store(true)
	s.abortOnce.Do(func() { close(s.abortCh) })
	s.mu.Lock()
	wds := make([]*watchdog, 0, len(s.framed))
	for wd := range s.framed {
		wds = append(wds, wd)
	}
	s.mu.Unlock()
	for _, wd := range wds {
		wd.abort()
	}
	s.conns.WaitIdle(time.Now().Add(time.Second))
}

func (s *Server) trackFramed(wd *watchdog, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.framed[wd] = struct{}{}
	} else {
		delete(s.framed, wd)
	}
}

// NewServer returns a Server for h.
func NewServer(h Handler, o ServerOptions) *Server {
	if o.MaxRequest <= 0 {
		o.MaxRequest = 64 << 20
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.Perm == "" {
		o.Perm = "rw"
	}
	if o.Inflight == nil {
		o.Inflight = NewBudget(o.MaxInflight)
	}
	s := &Server{h: h, o: o, abortCh: make(chan struct{}), closed: make(chan struct{}), framed: map[*watchdog]struct{}{},
		running: newRunning(o.MaxRunning, o.ReadTimeout)}
	s.conns.Max = o.MaxConns
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/command", s.serveHTTPCommand)
	mux.HandleFunc("GET /v1/command-descriptions", func(w http.ResponseWriter, r *http.Request) {
		b, err := h.Descriptions(r.Context())
		if err != nil {
			s.reply(w, r, http.StatusServiceUnavailable, objectformat.Failed(objectformat.ErrnoOf(err), err.Error()))
			return
		}
		s.sendRaw(w, r, http.StatusOK, b)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		s.replyJSON(w, r, http.StatusOK, h.Status(r.Context()))
	})
	mux.HandleFunc("GET /v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		snap, err := h.Snapshot(r.Context())
		if err != nil {
			s.reply(w, r, http.StatusServiceUnavailable, objectformat.Failed(objectformat.ErrnoOf(err), err.Error()))
			return
		}
		s.replyJSON(w, r, http.StatusOK, snap)
	})
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: o.ReadTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       withConn,
		ConnState: func(c net.Conn, st http.ConnState) {
			if tc := tracked(c); tc != nil {
				switch st {
				case http.StateActive:
					tc.Busy()
				case http.StateIdle:
					tc.Idle(time.Now())
				}
			}
		},
	}
	return s
}

// serveHTTPCommand answers POST /v1/command.
func (s *Server) serveHTTPCommand(w http.ResponseWriter, r *http.Request) {
	perm := s.o.Perm
	if p := r.Header.Get(PermHeader); p != "" {
		perm = narrow(perm, p)
	}
	if s.draining.Load() {
		s.reply(w, r, http.StatusServiceUnavailable, ShuttingDown(nil))
		return
	}
	tooLarge := objectformat.Failed(-int(syscall.E2BIG), fmt.Sprintf("request larger than the %d byte limit", s.o.MaxRequest))
	if r.ContentLength > s.o.MaxRequest {
		s.reply(w, r, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.o.MaxRequest)
	req, err := s.readBody(r.Context(), body, r.ContentLength, perm)
	defer func() { s.o.Inflight.Release(req.reserved) }()
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.reply(w, r, http.StatusRequestEntityTooLarge, tooLarge)
		default:
			s.reply(w, r, http.StatusBadRequest, objectformat.Failed(-int(syscall.EINVAL), "bad request: "+err.Error()))
		}
		return
	}
	if req.refusal != nil {
		s.reply(w, r, http.StatusOK, *req.refusal)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.o.CommandTimeout)
	defer cancel()
	cctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	if busy, ok := s.running.acquire(cctx); !ok {
		s.reply(w, r, http.StatusOK, busy)
		return
	}
	done := make(chan objectformat.Result, 1)
	go func() {
		defer s.running.release()
		done <- s.h.Command(cctx, req.cmd, req.inbuf, perm)
	}()
	select {
	case res := <-done:
		// The input is the handler's now; its budget goes back before
		// the reply takes its own.
		s.o.Inflight.Release(req.reserved)
		req.reserved = 0
		s.reply(w, r, http.StatusOK, res)
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return // the client went away; its command is cancelled
		}
		s.reply(w, r, http.StatusOK, TimedOut(req.cmd["prefix"], s.o.CommandTimeout))
	case <-s.abortCh:
		abort(asok.ErrShuttingDown)
		s.reply(w, r, http.StatusServiceUnavailable, ShuttingDown(req.cmd["prefix"]))
	}
}

// narrow returns the permissions in both a and b.
func narrow(a, b string) string {
	var out strings.Builder
	for _, c := range a {
		if strings.ContainsRune(b, c) {
			out.WriteRune(c)
		}
	}
	if out.Len() == 0 {
		return "-" // no permission at all, never empty (empty means unlimited)
	}
	return out.String()
}

// Client talks to a daemon's API socket. Commands use the framed protocol
// over pooled connections; the rest uses HTTP. It is safe for concurrent
// use.
type Client struct {
	// Socket is the API socket path.
	Socket string
	// Perm, if set, asks for fewer permissions ("r"). Set it before the
	// first command.
	Perm string
	// TrustedUIDs are the users the daemon may run as (nil: root and the
	// caller's own user, asok.DefaultTrusted). Every connection checks the
	// peer with SO_PEERCRED before sending a byte and fails with an
	// *asok.PeerError otherwise. Set it before the first call.
	TrustedUIDs []int
	hc          *http.Client

	mu   sync.Mutex
	idle []*framedConn
}

// maxIdleFramed is how many idle framed connections a Client keeps.
const maxIdleFramed = 64

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	c := &Client{Socket: path}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return asok.Dial(ctx, path, c.TrustedUIDs)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	c.hc = &http.Client{Transport: tr}
	return c
}

// Close releases idle connections.
func (c *Client) Close() {
	c.hc.CloseIdleConnections()
	c.mu.Lock()
	for _, f := range c.idle {
		f.c.Close()
	}
	c.idle = nil
	c.mu.Unlock()
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://gomgr"+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if c.Perm != "" {
		req.Header.Set(PermHeader, c.Perm)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, dialError(c.Socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read reply from %s: %w", c.Socket, err)
	}
	return data, resp.StatusCode, nil
}

// Command runs one command. A command holding text that is not valid
// UTF-8 is not sent: the error is the daemon's *InvalidUTF8Error (-EINVAL;
// see EncodeCommand).
func (c *Client) Command(ctx context.Context, cmd map[string]any, inbuf []byte) (objectformat.Result, error) {
	cmdJSON, err := EncodeCommand(cmd)
	if err != nil {
		return objectformat.Result{}, err
	}
	return c.CommandJSON(ctx, cmdJSON, inbuf)
}

// CommandJSON runs a command given as JSON.
func (c *Client) CommandJSON(ctx context.Context, cmdJSON, inbuf []byte) (objectformat.Result, error) {
	for attempt := 0; ; attempt++ {
		f, reused, err := c.conn(ctx)
		if err != nil {
			return objectformat.Result{}, err
		}
		res, err := f.roundTrip(ctx, cmdJSON, inbuf)
		if err == nil {
			c.put(f)
			return res, nil
		}
		f.c.Close()
		if cerr := asok.ContextError(ctx, err); cerr != nil {
			return objectformat.Result{}, cerr
		}
		// A pooled connection may have been closed by the daemon while
		// idle; retry once on a fresh one.
		var pe *asok.PeerError
		if !reused || attempt > 0 || errors.As(err, &pe) {
			return objectformat.Result{}, fmt.Errorf("command to %s: %w", c.Socket, err)
		}
	}
}

func (c *Client) conn(ctx context.Context) (*framedConn, bool, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		f := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return f, true, nil
	}
	c.mu.Unlock()
	f, err := dialFramed(ctx, c.Socket, c.Perm, c.TrustedUIDs)
	return f, false, err
}

func (c *Client) put(f *framedConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) >= maxIdleFramed {
		f.c.Close()
		return
	}
	c.idle = append(c.idle, f)
}

// Descriptions fetches get_command_descriptions. A daemon that cannot
// answer (starting: -EAGAIN) gives an error carrying its errno
// (objectformat.ErrnoOf) and message.
func (c *Client) Descriptions(ctx context.Context) ([]byte, error) {
	data, code, err := c.do(ctx, http.MethodGet, "/v1/command-descriptions", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, replyError("command descriptions", data)
	}
	return data, nil
}

// replyError turns an error Reply into an error with its errno.
func replyError(what string, data []byte) error {
	var r Reply
	if err := json.Unmarshal(data, &r); err != nil || r.Retval >= 0 {
		return fmt.Errorf("%s: %s", what, strings.TrimSpace(string(data)))
	}
	return objectformat.NewErrorResponseCode(r.Stderr, r.Retval)
}

// Status fetches the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	data, _, err := c.do(ctx, http.MethodGet, "/v1/status", nil)
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	return s, err
}

// Snapshot fetches the state a standby reads.
func (c *Client) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	data, code, err := c.do(ctx, http.MethodGet, "/v1/snapshot", nil)
	if err != nil {
		return s, err
	}
	if code != http.StatusOK {
		return s, replyError("snapshot", data)
	}
	return s, json.Unmarshal(data, &s)
}
