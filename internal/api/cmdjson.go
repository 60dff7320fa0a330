package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeCommand decodes a command object: the shape every Ceph client
// sends, {"prefix": "...", "key": value, ...} with string, number, boolean,
// null and list values. Numbers become json.Number, as with a Decoder set
// to UseNumber. Commands are small and flat, so a direct scan is several
// times cheaper than encoding/json; anything it does not handle (nested
// objects, unusual spacing it cannot parse) is left to encoding/json, so
// both accept exactly the same inputs.
func decodeCommand(data []byte) (map[string]any, error) {
	if m, ok := fastDecode(data); ok {
		return m, nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null is not a command object")
	}
	if dec.More() {
		return nil, errors.New("data after the command object")
	}
	return m, nil
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func fastDecode(data []byte) (map[string]any, bool) {
	s := &scanner{b: data}
	s.ws()
	if s.peek() != '{' {
		return nil, false
	}
	s.i++
	m := make(map[string]any, 8)
	s.ws()
	if s.peek() == '}' {
		s.i++
		s.ws()
		return m, s.i == len(s.b)
	}
	for {
		s.ws()
		k, ok := s.str()
		if !ok {
			return nil, false
		}
		s.ws()
		if s.peek() != ':' {
			return nil, false
		}
		s.i++
		s.ws()
		v, ok := s.value(true)
		if !ok {
			return nil, false
		}
		m[k] = v // like encoding/json, a repeated key keeps the last value
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.ws()
			return m, s.i == len(s.b)
		default:
			return nil, false
		}
	}
}

// value scans a scalar, or (when lists is set) a list of scalars.
func (s *scanner) value(lists bool) (any, bool) {
	switch c := s.peek(); {
	case c == '"':
		return s.str()
	case c == 't':
		return true, s.lit("true")
	case c == 'f':
		return false, s.lit("false")
	case c == 'n':
		return nil, s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	case c == '[' && lists:
		s.i++
		out := []any{}
		s.ws()
		if s.peek() == ']' {
			s.i++
			return out, true
		}
		for {
			s.ws()
			v, ok := s.value(false)
			if !ok {
				return nil, false
			}
			out = append(out, v)
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return out, true
			default:
				return nil, false
			}
		}
	}
	return nil, false
}

func (s *scanner) lit(w string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.i += len(w)
		return true
	}
	return false
}

// num scans a JSON number (RFC 8259 grammar).
func (s *scanner) num() (any, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
		}
	default:
		return nil, false
	}
	if s.peek() == '.' {
		s.i++
		if c := s.peek(); c < '0' || c > '9' {
			return nil, false
		}
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if c := s.peek(); c < '0' || c > '9' {
			return nil, false
		}
		for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
			s.i++
		}
	}
	return json.Number(s.b[start:s.i]), true
}

// str scans a string, unescaping it as encoding/json does (invalid UTF-8
// and lone surrogates become U+FFFD).
func (s *scanner) str() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			out := string(s.b[start:s.i])
			s.i++
			if !utf8.ValidString(out) {
				return "", false // let encoding/json apply its replacement rules
			}
			return out, true
		}
		if c == '\\' {
			return s.strSlow(start)
		}
		if c < 0x20 {
			return "", false
		}
		s.i++
	}
	return "", false
}

func (s *scanner) strSlow(start int) (string, bool) {
	buf := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			s.i++
			continue
		}
		s.i++
		if s.i >= len(s.b) {
			return "", false
		}
		e := s.b[s.i]
		s.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// Pairs and lone surrogates: leave to encoding/json.
				return "", false
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(v), true
}
