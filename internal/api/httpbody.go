package api

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// httpRequest is a POST /v1/command body as read so far.
type httpRequest struct {
	cmd      map[string]any
	inbuf    []byte
	reserved int64                // in-flight budget held for inbuf
	refusal  *objectformat.Result // the reply when refused before the inbuf
}

// readBody reads {"cmd": {...}, "inbuf": "<base64>"} as a stream, so the
// request is decided on (permission, in-flight budget) before its inbuf
// is read, and the inbuf costs its decoded size once, not the body's
// several times: "cmd" must come before "inbuf". Unknown members are
// skipped; anything after the object but white space is an error, and so
// is invalid UTF-8 in the command. The body is read to its end unless the
// request is refused.
func (s *Server) readBody(ctx context.Context, body io.Reader, length int64, perm string) (req httpRequest, err error) {
	p := &bodyParser{ctx: ctx, r: bufio.NewReaderSize(body, connBufSize)}
	if c, err := p.next(); err != nil {
		return req, err
	} else if c != '{' {
		return req, fmt.Errorf("invalid character %q looking for the request object", c)
	}
	seen := map[string]bool{}
	for first := true; ; first = false {
		c, err := p.next()
		if err != nil {
			return req, err
		}
		if c == '}' && first {
			break
		}
		if c != '"' {
			return req, fmt.Errorf("invalid character %q looking for a member name", c)
		}
		key, err := p.key()
		if err != nil {
			return req, err
		}
		if seen[key] {
			return req, fmt.Errorf("member %q given twice", key)
		}
		seen[key] = true
		if c, err := p.next(); err != nil {
			return req, err
		} else if c != ':' {
			return req, fmt.Errorf("invalid character %q after member name %q", c, key)
		}
		switch key {
		case "cmd":
			raw, err := p.value(maxFrameCmd)
			if err != nil {
				return req, err
			}
			if string(raw) != "null" {
				if req.cmd, err = DecodeCommand(raw); err != nil {
					var u *InvalidUTF8Error
					if errors.As(err, &u) {
						return req, err
					}
					return req, fmt.Errorf("the command is not a JSON object: %w", err)
				}
			}
		case "inbuf":
			if req.cmd == nil {
				return req, errors.New(`"cmd" must come before "inbuf"`)
			}
			if req.inbuf, err = s.readInbuf(p, &req, length, perm); err != nil || req.refusal != nil {
				return req, err
			}
		default:
			raw, err := p.value(maxFrameCmd)
			if err != nil {
				return req, err
			}
			if !json.Valid(raw) {
				return req, fmt.Errorf("member %q is not valid JSON", key)
			}
		}
		c, err = p.next()
		if err != nil {
			return req, err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return req, fmt.Errorf("invalid character %q after member %q", c, key)
		}
	}
	if _, err := p.next(); err == nil {
		return req, errTrailingRequest
	} else if !errors.Is(err, io.ErrUnexpectedEOF) {
		return req, err
	}
	if req.cmd == nil {
		return req, errors.New(`no "cmd" object`)
	}
	return req, nil
}

// readInbuf asks Permit and the budget, then decodes the base64 (or null)
// inbuf value straight into a buffer of its size.
func (s *Server) readInbuf(p *bodyParser, req *httpRequest, length int64, perm string) ([]byte, error) {
	c, err := p.next()
	if err != nil {
		return nil, err
	}
	if c == 'n' {
		p.r.UnreadByte()
		raw, err := p.value(8)
		if err == nil && string(raw) != "null" {
			err = errors.New(`"inbuf" must be a base64 string`)
		}
		return nil, err
	}
	if c != '"' {
		return nil, errors.New(`"inbuf" must be a base64 string`)
	}
	if res, ok := s.h.Permit(p.ctx, req.cmd, perm); !ok {
		req.refusal = &res
		return nil, nil
	}
	// The decoded inbuf is at most 3/4 of the body: with the body's length
	// it is decoded into one buffer of that size. Without (a chunked body)
	// it is decoded into chunks (of 1 MiB past the first few) joined at
	// the end, which costs about twice its size.
	size := int64(64 << 10)
	if length > 0 {
		size = int64(base64.StdEncoding.DecodedLen(int(length)))
	}
	reserve := func(n int64) bool {
		res, ok := s.o.Inflight.reserve(n)
		if ok {
			req.reserved += n
		} else {
			req.refusal = &res
		}
		return ok
	}
	if !reserve(size) {
		return nil, nil
	}
	out := make([]byte, 0, size)
	var chunks [][]byte
	var chunk [4 << 10]byte // base64 text awaiting decoding, a multiple of 4 when full
	n, seen, padded := 0, int64(0), false
	flush := func(final bool) error {
		k := n
		if !final {
			k -= n % 4
		}
		if k == 0 {
			return nil
		}
		if padded {
			return fmt.Errorf("illegal base64 data at input byte %d", seen)
		}
		if need := base64.StdEncoding.DecodedLen(k); len(out)+need > cap(out) {
			next := max(int64(need), min(4*int64(cap(out)), 1<<20))
			if !reserve(next) {
				return errRefused
			}
			chunks = append(chunks, out)
			out = make([]byte, 0, next)
		}
		m, err := base64.StdEncoding.Decode(out[len(out):cap(out)], chunk[:k])
		if err != nil {
			var ce base64.CorruptInputError
			if errors.As(err, &ce) {
				return fmt.Errorf("illegal base64 data at input byte %d", seen+int64(ce))
			}
			return err
		}
		out = out[:len(out)+m]
		padded = chunk[k-1] == '='
		seen += int64(k)
		n = copy(chunk[:], chunk[k:n])
		return nil
	}
	join := func() []byte {
		if len(chunks) == 0 {
			return out
		}
		total := len(out)
		for _, c := range chunks {
			total += len(c)
		}
		all := make([]byte, 0, total)
		for _, c := range chunks {
			all = append(all, c...)
		}
		return append(all, out...)
	}
	for {
		if k := p.plainRun(chunk[n:]); k > 0 {
			if n += k; n == len(chunk) {
				if err := flush(false); err != nil {
					if errors.Is(err, errRefused) {
						return nil, nil
					}
					return nil, err
				}
			}
			continue
		}
		b, err := p.r.ReadByte()
		if err != nil {
			return nil, unexpected(err)
		}
		switch {
		case b == '"':
			if err := flush(true); err != nil {
				if errors.Is(err, errRefused) {
					return nil, nil
				}
				return nil, err
			}
			return join(), nil
		case b == '\\':
			r, err := p.escape()
			if err != nil {
				return nil, err
			}
			if r == '\n' || r == '\r' {
				continue // ignored by base64, as encoding/json's decoding does
			}
			if r >= 0x80 {
				return nil, fmt.Errorf("illegal base64 data at input byte %d", seen+int64(n))
			}
			b = byte(r)
		case b < 0x20:
			return nil, fmt.Errorf("invalid control character %q in string", b)
		}
		chunk[n] = b
		n++
		if n == len(chunk) {
			if err := flush(false); err != nil {
				if errors.Is(err, errRefused) {
					return nil, nil
				}
				return nil, err
			}
		}
	}
}

var errRefused = errors.New("refused")

// errTrailingRequest refuses a body with more than white space after the
// request object.
var errTrailingRequest = errors.New("trailing data after the request object")

// bodyParser reads the tokens of a request body.
type bodyParser struct {
	ctx context.Context
	r   *bufio.Reader
}

// plainRun copies into dst the string text buffered next, up to the first
// quote, backslash or control character, and returns its length (0 when
// such a byte is next, or at the end of the body).
func (p *bodyParser) plainRun(dst []byte) int {
	if p.r.Buffered() == 0 {
		if _, err := p.r.Peek(1); err != nil {
			return 0
		}
	}
	buf, _ := p.r.Peek(min(p.r.Buffered(), len(dst)))
	i := 0
	for i < len(buf) && buf[i] != '"' && buf[i] != '\\' && buf[i] >= 0x20 {
		i++
	}
	copy(dst, buf[:i])
	_, _ = p.r.Discard(i)
	return i
}

// next returns the next byte that is not white space.
func (p *bodyParser) next() (byte, error) {
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return 0, unexpected(err)
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b, nil
	}
}

// unexpected reports the end of the body inside the request as
// io.ErrUnexpectedEOF, and passes other read errors (such as
// *http.MaxBytesError) on.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// key reads a member name whose opening quote was read.
func (p *bodyParser) key() (string, error) {
	p.r.UnreadByte()
	raw, err := p.value(64 << 10)
	if err != nil {
		return "", err
	}
	return decodeString(raw)
}

// escape reads the rest of an escape sequence after its backslash.
func (p *bodyParser) escape() (rune, error) {
	e, err := p.r.ReadByte()
	if err != nil {
		return 0, unexpected(err)
	}
	switch e {
	case '"', '\\', '/':
		return rune(e), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		var h [4]byte
		if _, err := io.ReadFull(p.r, h[:]); err != nil {
			return 0, unexpected(err)
		}
		var r rune
		for _, c := range h {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, fmt.Errorf("invalid character %q in \\u escape", c)
			}
		}
		return r, nil
	}
	return 0, fmt.Errorf("invalid escape character %q in string", e)
}

// value reads one JSON value verbatim, at most limit bytes: strings,
// objects and arrays by their delimiters, other values up to the next
// delimiter. Its content is checked by whoever decodes it.
func (p *bodyParser) value(limit int) ([]byte, error) {
	var out []byte
	add := func(b byte) error {
		if len(out) >= limit {
			return fmt.Errorf("%w: value longer than %d bytes", errTooLarge, limit)
		}
		out = append(out, b)
		return nil
	}
	first, err := p.next()
	if err != nil {
		return nil, err
	}
	if first != '{' && first != '[' && first != '"' {
		if err := add(first); err != nil {
			return nil, err
		}
		for {
			b, err := p.r.ReadByte()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return out, nil
				}
				return nil, err
			}
			switch b {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				p.r.UnreadByte()
				return out, nil
			}
			if err := add(b); err != nil {
				return nil, err
			}
		}
	}
	depth, inStr, esc := 0, false, false
	b := first
	for {
		if err := add(b); err != nil {
			return nil, err
		}
		switch {
		case esc:
			esc = false
		case inStr:
			switch b {
			case '\\':
				esc = true
			case '"':
				inStr = false
			}
		case b == '"':
			inStr = true
		case b == '{' || b == '[':
			depth++
		case b == '}' || b == ']':
			depth--
		}
		if depth == 0 && !inStr && !esc {
			return out, nil
		}
		if b, err = p.r.ReadByte(); err != nil {
			return nil, unexpected(err)
		}
	}
}
