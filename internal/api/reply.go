package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Replies hold memory until their client reads them. Those larger than
// asok.SmallReply take their size of the in-flight budget (Budget) until
// written; one that cannot have it is dropped and answered -EBUSY (or
// -E2BIG if it could never fit). A client must read its reply within the
// write timeout plus a second per MiB (asok.ReplyDeadline), or it loses
// it and the connection; while a reply waits, its connection can be shed
// for room (asok.Conn.Writing).

// FitRetval returns res with a return value every transport can carry:
// the framed protocol sends it as a 32-bit integer, and truncating one
// that does not fit could turn a failure into success (-1<<32 into 0) or
// into another errno. Such a value is replaced by -EINVAL, with a note
// naming it after the command's own message; it is the command's bug,
// and clamping would make up an errno it did not return.
func FitRetval(res objectformat.Result) objectformat.Result {
	if v := int64(res.Retval); v >= math.MinInt32 && v <= math.MaxInt32 {
		return res
	}
	note := fmt.Sprintf("(the command returned %d, which does not fit a 32-bit return value; reported as EINVAL)", res.Retval)
	if res.Stderr != "" {
		note = res.Stderr + " " + note
	}
	res.Retval, res.Stderr = -int(syscall.EINVAL), note
	return res
}

// budgetReply takes the in-flight budget for a reply larger than
// asok.SmallReply: it returns the reply to send (the refusal when the
// budget cannot hold it) and the bytes to Release once it is written.
func (s *Server) budgetReply(res objectformat.Result) (objectformat.Result, int64) {
	n := int64(len(res.Stdout)) + int64(len(res.Stderr))
	if n <= asok.SmallReply {
		return res, 0
	}
	if refusal, ok := s.o.Inflight.reserveReply(n); !ok {
		return refusal, 0
	}
	return res, n
}

// connKey is the context key of an HTTP request's connection.
type connKey struct{}

// withConn is the http.Server's ConnContext: it lets handlers find their
// tracked connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// sendHTTP writes a reply of n bytes with write, within the reply deadline
// and holding the in-flight budget for it (refuse, when the budget cannot
// hold it, writes the refusal instead). The connection may be shed for
// room while it waits to be read.
func (s *Server) sendHTTP(w http.ResponseWriter, r *http.Request, n int64, write func() error, refuse func(objectformat.Result) error) {
	if n > asok.SmallReply {
		refusal, ok := s.o.Inflight.reserveReply(n)
		if !ok {
			write, n = func() error { return refuse(refusal) }, 0
		}
		defer s.o.Inflight.Release(n)
	}
	now := time.Now()
	if c, _ := r.Context().Value(connKey{}).(net.Conn); c != nil {
		if tc := tracked(c); tc != nil {
			tc.Writing(now)
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(now.Add(asok.ReplyDeadline(s.o.WriteTimeout, int(n))))
	if write() != nil || rc.Flush() != nil {
		return // the connection is broken; net/http closes it
	}
	// The next request on the connection has a deadline of its own.
	_ = rc.SetWriteDeadline(time.Time{})
}

// reply answers an HTTP request with a command's result.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, code int, res objectformat.Result) {
	s.sendHTTP(w, r, int64(len(res.Stdout))+int64(len(res.Stderr)),
		func() error { return writeReplyJSON(w, code, res) },
		func(refusal objectformat.Result) error { return writeReplyJSON(w, code, refusal) })
}

// replyJSON answers an HTTP request with v in JSON.
func (s *Server) replyJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := marshalPlain(v)
	if err != nil {
		s.reply(w, r, http.StatusInternalServerError, objectformat.Failed(-int(syscall.EINVAL), err.Error()))
		return
	}
	s.sendRaw(w, r, code, b)
}

// sendRaw answers an HTTP request with a JSON document.
func (s *Server) sendRaw(w http.ResponseWriter, r *http.Request, code int, b []byte) {
	s.sendHTTP(w, r, int64(len(b)), func() error {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(code)
		_, err := w.Write(b)
		return err
	}, func(refusal objectformat.Result) error {
		return writeReplyJSON(w, http.StatusServiceUnavailable, refusal)
	})
}

// marshalPlain encodes v as encoding/json does, without escaping <, > and
// & (stderr such as "<key>" reads as it is), ending with a newline.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// b64Chunk is the stdout read per base64 piece (a multiple of 3, so the
// pieces join into one base64 text).
const b64Chunk = 48 << 10

var b64Bufs = sync.Pool{New: func() any { b := make([]byte, base64.StdEncoding.EncodedLen(b64Chunk)); return &b }}

// writeReplyJSON writes res as the Reply encoding/json would write (HTML
// characters unescaped), {"retval":N,"stdout":"<base64>","stderr":"..."}
// and a newline, with its Content-Length: stdout is encoded piece by
// piece, so a large reply costs its own size and not a second, larger,
// encoded copy as well.
func writeReplyJSON(w http.ResponseWriter, code int, res objectformat.Result) error {
	res = FitRetval(res)
	stderr, err := marshalPlain(res.Stderr)
	if err != nil {
		return err
	}
	head := `{"retval":` + strconv.Itoa(res.Retval) + `,"stdout":`
	tail := append(append([]byte(`,"stderr":`), stderr[:len(stderr)-1]...), "}\n"...)
	size := len(head) + len(tail) + len("null")
	if res.Stdout != nil {
		size = len(head) + len(tail) + 2 + base64.StdEncoding.EncodedLen(len(res.Stdout))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(code)
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	if res.Stdout == nil {
		_, err = io.WriteString(w, "null")
	} else {
		err = writeBase64String(w, res.Stdout)
	}
	if err == nil {
		_, err = w.Write(tail)
	}
	return err
}

// writeBase64String writes b as a quoted base64 JSON string.
func writeBase64String(w io.Writer, b []byte) error {
	bp := b64Bufs.Get().(*[]byte)
	defer b64Bufs.Put(bp)
	buf := *bp
	if _, err := io.WriteString(w, `"`); err != nil {
		return err
	}
	for len(b) > 0 {
		piece := b[:min(len(b), b64Chunk)]
		b = b[len(piece):]
		n := base64.StdEncoding.EncodedLen(len(piece))
		base64.StdEncoding.Encode(buf[:n], piece)
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, `"`)
	return err
}
