// Package api is the daemon's own command API for mgrctl and for standby
// daemons: HTTP/1.1 over a unix socket, carrying what the Ceph admin socket
// cannot: the return value, stdout and stderr separately, and an input
// buffer (ceph -i).
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

// NewServer returns an http.Server serving h.
func NewServer(h Handler, o ServerOptions) *http.Server {
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
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: o.ReadTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
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

func writeReply(w http.ResponseWriter, code int, r Reply) { writeJSON(w, code, r) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Client talks to a daemon's API socket.
type Client struct {
	// Socket is the API socket path.
	Socket string
	// Perm, if set, asks for fewer permissions ("r").
	Perm string
	hc   *http.Client
}

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
func (c *Client) Close() { c.hc.CloseIdleConnections() }

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
	body, err := json.Marshal(Request{Cmd: cmd, Inbuf: inbuf})
	if err != nil {
		return objectformat.Result{}, fmt.Errorf("encode command: %w", err)
	}
	data, _, err := c.do(ctx, http.MethodPost, "/v1/command", body)
	if err != nil {
		return objectformat.Result{}, err
	}
	var r Reply
	if err := json.Unmarshal(data, &r); err != nil {
		return objectformat.Result{}, fmt.Errorf("bad reply from %s: %w", c.Socket, err)
	}
	return r.Result(), nil
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
