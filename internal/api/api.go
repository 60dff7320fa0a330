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
	"syscall"
	"time"

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
	// server answers -ETIMEDOUT at the deadline either way.
	Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result
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
}

// Server serves the API on a listener: HTTP, and the framed protocol for
// clients that open with its magic.
type Server struct {
	http *http.Server
	h    Handler
	o    ServerOptions
}

// Serve accepts connections until Close.
func (s *Server) Serve(l net.Listener) error {
	sl := newSniffListener(l, s.o.ReadTimeout, func(c net.Conn) { serveFramed(c, s.h, s.o) })
	return s.http.Serve(sl)
}

// Close stops the server; Shutdown waits for HTTP requests in flight.
func (s *Server) Close() error { return s.http.Close() }

// Shutdown stops accepting and waits for HTTP requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// NewServer returns a Server for h.
func NewServer(h Handler, o ServerOptions) *Server {
	if o.MaxRequest <= 0 {
		o.MaxRequest = 64 << 20
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.Perm == "" {
		o.Perm = "rw"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/command", func(w http.ResponseWriter, r *http.Request) {
		perm := o.Perm
		if p := r.Header.Get(PermHeader); p != "" {
			perm = narrow(perm, p)
		}
		var req Request
		body := http.MaxBytesReader(w, r.Body, o.MaxRequest)
		dec := json.NewDecoder(body)
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeReply(w, http.StatusRequestEntityTooLarge, Reply{Retval: -int(syscall.E2BIG),
					Stderr: fmt.Sprintf("request larger than the %d byte limit", o.MaxRequest)})
				return
			}
			writeReply(w, http.StatusBadRequest, Reply{Retval: -int(syscall.EINVAL), Stderr: "bad request: " + err.Error()})
			return
		}
		if req.Cmd == nil {
			writeReply(w, http.StatusBadRequest, Reply{Retval: -int(syscall.EINVAL), Stderr: "bad request: no \"cmd\" object"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), o.CommandTimeout)
		defer cancel()
		done := make(chan objectformat.Result, 1)
		go func() { done <- h.Command(ctx, req.Cmd, req.Inbuf, perm) }()
		select {
		case res := <-done:
			writeReply(w, http.StatusOK, Reply{Retval: res.Retval, Stdout: res.Stdout, Stderr: res.Stderr})
		case <-ctx.Done():
			writeReply(w, http.StatusOK, Reply{Retval: -int(syscall.ETIMEDOUT),
				Stderr: fmt.Sprintf("command did not complete within %s", o.CommandTimeout)})
		}
	})
	mux.HandleFunc("GET /v1/command-descriptions", func(w http.ResponseWriter, r *http.Request) {
		b, err := h.Descriptions(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.Status(r.Context()))
	})
	mux.HandleFunc("GET /v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		s, err := h.Snapshot(r.Context())
		if err != nil {
			writeReply(w, http.StatusServiceUnavailable, Reply{Retval: objectformat.ErrnoOf(err), Stderr: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	return &Server{h: h, o: o, http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: o.ReadTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
	}}
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

func writeReply(w http.ResponseWriter, code int, r Reply) { writeJSON(w, code, r) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
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
	hc   *http.Client

	mu   sync.Mutex
	idle []*framedConn
}

// maxIdleFramed is how many idle framed connections a Client keeps.
const maxIdleFramed = 64

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{Socket: path, hc: &http.Client{Transport: tr}}
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
		return nil, 0, fmt.Errorf("cannot reach the daemon at %s: %w", c.Socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read reply from %s: %w", c.Socket, err)
	}
	return data, resp.StatusCode, nil
}

// Command runs one command.
func (c *Client) Command(ctx context.Context, cmd map[string]any, inbuf []byte) (objectformat.Result, error) {
	cmdJSON, err := json.Marshal(cmd)
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("encode command: %w", err)
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
		if ctx.Err() != nil {
			return objectformat.Result{}, ctx.Err()
		}
		// A pooled connection may have been closed by the daemon while
		// idle; retry once on a fresh one.
		if !reused || attempt > 0 {
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
	f, err := dialFramed(ctx, c.Socket, c.Perm)
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

// Descriptions fetches get_command_descriptions.
func (c *Client) Descriptions(ctx context.Context) ([]byte, error) {
	data, code, err := c.do(ctx, http.MethodGet, "/v1/command-descriptions", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("command descriptions: %s", strings.TrimSpace(string(data)))
	}
	return data, nil
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
		var r Reply
		_ = json.Unmarshal(data, &r)
		return s, objectformat.NewErrorResponseCode(r.Stderr, r.Retval)
	}
	return s, json.Unmarshal(data, &s)
}
