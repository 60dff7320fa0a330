package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"syscall"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gomgr/gomgr/internal/jsonval"
)

// DecodeCommand decodes a command object: the shape every Ceph client
// sends, {"prefix": "...", "key": value, ...}. Values decode as
// encoding/json (with UseNumber) decodes them into an any: numbers become
// json.Number, objects map[string]any, lists []any. It accepts exactly
// what encoding/json accepts, with two differences: nothing may follow the
// object but white space, and a string holding invalid UTF-8, or an
// escaped UTF-16 surrogate that is not part of a pair, is refused with an
// *InvalidUTF8Error naming the argument (encoding/json would turn it into
// U+FFFD, so "k\xff" and "k\xfe" would be the same key). A direct scan is
// several times cheaper than encoding/json for the small, flat commands
// clients send; encoding/json is only asked for the message of a syntax
// error.
func DecodeCommand(data []byte) (map[string]any, error) { return decodeCommand(data, nil) }

// decodeCommand is DecodeCommand, taking the strings of the command's
// top-level members from memo where they are those of the previous
// command decoded with it, and leaving its own there.
func decodeCommand(data []byte, memo *memo) (map[string]any, error) {
	s := &scanner{b: data, memo: memo}
	s.ws()
	if s.peek() == '{' {
		if m, ok := s.object(1, true); ok {
			s.ws()
			if s.i == len(s.b) {
				return m, nil
			}
			return nil, ErrTrailingData
		}
	}
	if s.bad != nil {
		return nil, s.bad
	}
	return nil, syntaxError(data)
}

// syntaxError explains why data is not a command object, in encoding/json's
// words where it has them.
func syntaxError(data []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("null is not a command object")
	}
	return ErrTrailingData
}

// ErrTrailingData refuses a command followed by more than white space.
var ErrTrailingData = errors.New("trailing data after the command")

// InvalidUTF8Error refuses a command whose text is not valid UTF-8.
type InvalidUTF8Error struct {
	// Arg is the (top-level) argument whose value holds the invalid text;
	// "" when it is in an argument's name.
	Arg string
}

func (e *InvalidUTF8Error) Error() string {
	if e.Arg == "" {
		return "invalid UTF-8 in an argument name"
	}
	return fmt.Sprintf("invalid UTF-8 in argument '%s'", e.Arg)
}

// ErrorCode makes objectformat.ErrnoOf report -EINVAL.
func (e *InvalidUTF8Error) ErrorCode() int { return -int(syscall.EINVAL) }

// EncodeCommand encodes a command object as encoding/json does, but
// refuses text that is not valid UTF-8 with the *InvalidUTF8Error the
// daemon would answer (naming the first such argument in the encoded
// order): encoding/json would silently send U+FFFD instead, so "k\xff"
// and "k\xfe" would reach the daemon as one key.
func EncodeCommand(cmd map[string]any) ([]byte, error) {
	bad := false
	for k, v := range cmd {
		if !utf8.ValidString(k) || !validText(reflect.ValueOf(v), 0) {
			bad = true
			break
		}
	}
	if bad {
		keys := make([]string, 0, len(cmd))
		for k := range cmd {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch {
			case !utf8.ValidString(k):
				return nil, &InvalidUTF8Error{}
			case !validText(reflect.ValueOf(cmd[k]), 0):
				return nil, &InvalidUTF8Error{Arg: k}
			}
		}
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	return b, nil
}

// validText reports whether the strings that encoding/json would encode
// from v (values, map keys, struct fields) are valid UTF-8. Past
// encoding/json's own nesting limit it stops looking: encoding/json then
// fails on the cycle.
func validText(v reflect.Value, depth int) bool {
	if depth > maxDepth {
		return true
	}
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Interface, reflect.Pointer:
		return v.IsNil() || validText(v.Elem(), depth+1)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return true // base64
		}
		fallthrough
	case reflect.Array:
		for i := range v.Len() {
			if !validText(v.Index(i), depth+1) {
				return false
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if !validText(it.Key(), depth+1) || !validText(it.Value(), depth+1) {
				return false
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !validText(v.Field(i), depth+1) {
				return false
			}
		}
	}
	return true
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type scanner struct {
	b    []byte
	i    int
	arg  string // the top-level argument being read
	key  bool   // reading a top-level argument's name
	bad  *InvalidUTF8Error
	memo *memo
}

// memo holds the names and the string and number values of the top-level
// members of the previous command on a connection, by position: a client
// that sends the same command again, as most do, gets them again rather
// than new copies. It holds at most memoMembers members of memoLen bytes.
type memo struct {
	keys [memoMembers]string
	vals [memoMembers]any // string or json.Number; nil for other values
}

const (
	memoMembers = 16
	memoLen     = 128
)

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

// object scans an object at its '{'; top is the command itself.
func (s *scanner) object(depth int, top bool) (map[string]any, bool) {
	s.i++
	size := 4
	if top {
		size = 8
	}
	m := make(map[string]any, size)
	s.ws()
	if s.peek() == '}' {
		s.i++
		return m, true
	}
	for member := 0; ; member++ {
		var mk string
		var mv any
		memoized := top && s.memo != nil && member < memoMembers
		if memoized {
			mk, mv = s.memo.keys[member], s.memo.vals[member]
		}
		s.ws()
		s.key = top
		k, _, ok := s.strAs(mk)
		s.key = false
		if !ok {
			return nil, false
		}
		if top {
			s.arg = k
		}
		s.ws()
		if s.peek() != ':' {
			return nil, false
		}
		s.i++
		s.ws()
		var v any
		if mv != nil {
			v, ok = s.valueAs(mv, depth)
		} else {
			v, ok = s.value(depth)
		}
		if !ok {
			return nil, false
		}
		if memoized {
			s.memo.keys[member], s.memo.vals[member] = "", nil
			if len(k) <= memoLen {
				s.memo.keys[member] = k
			}
			switch x := v.(type) {
			case string:
				if len(x) <= memoLen {
					s.memo.vals[member] = v
				}
			case json.Number:
				if len(x) <= memoLen {
					s.memo.vals[member] = v
				}
			}
		}
		m[k] = v // like encoding/json, a repeated key keeps the last value
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// valueAs scans a top-level member's value, returning memo itself when
// the value is the string or number it holds.
func (s *scanner) valueAs(memo any, depth int) (any, bool) {
	switch c := s.peek(); {
	case c == '"':
		cand, isStr := memo.(string)
		v, hit, ok := s.strAs(cand)
		if hit && isStr {
			return memo, ok
		}
		return v, ok
	case c == '-' || (c >= '0' && c <= '9'):
		raw, ok := s.numText()
		if !ok {
			return nil, false
		}
		if cand, isNum := memo.(json.Number); isNum && string(raw) == string(cand) {
			return memo, true
		}
		return json.Number(raw), true
	}
	return s.value(depth)
}

// value scans any value inside a container at depth.
func (s *scanner) value(depth int) (any, bool) {
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
	case c == '{':
		if depth >= maxDepth {
			return nil, false
		}
		return s.object(depth+1, false)
	case c == '[':
		if depth >= maxDepth {
			return nil, false
		}
		return s.array(depth + 1)
	}
	return nil, false
}

func (s *scanner) array(depth int) (any, bool) {
	s.i++
	out := []any{}
	s.ws()
	if s.peek() == ']' {
		s.i++
		return out, true
	}
	for {
		s.ws()
		v, ok := s.value(depth)
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

func (s *scanner) lit(w string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.i += len(w)
		return true
	}
	return false
}

// num scans a JSON number (RFC 8259 grammar).
func (s *scanner) num() (any, bool) {
	raw, ok := s.numText()
	if !ok {
		return nil, false
	}
	return json.Number(raw), true
}

// numText scans a JSON number and returns its text.
func (s *scanner) numText() ([]byte, bool) {
	start := s.i
	end, _, ok := jsonval.NumberEnd(s.b, s.i)
	s.i = end
	return s.b[start:end], ok
}

// invalid records invalid text in the string being scanned.
func (s *scanner) invalid() {
	if s.bad == nil {
		if s.key {
			s.bad = &InvalidUTF8Error{}
		} else {
			s.bad = &InvalidUTF8Error{Arg: s.arg}
		}
	}
}

// str scans a string, unescaping it as encoding/json does, and refuses
// invalid UTF-8 and lone surrogates.
func (s *scanner) str() (string, bool) {
	v, _, ok := s.strAs("")
	return v, ok
}

// strAs is str, returning cand itself (hit) when the string, written
// without escapes, is cand (valid text, as it was decoded before).
func (s *scanner) strAs(cand string) (v string, hit, ok bool) {
	if s.peek() != '"' {
		return "", false, false
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			raw := s.b[start:s.i]
			s.i++
			if string(raw) == cand {
				return cand, true, true
			}
			if !utf8.Valid(raw) {
				s.invalid()
				return "", false, false
			}
			return string(raw), false, true
		}
		if c == '\\' {
			v, ok := s.strSlow(start)
			return v, false, ok
		}
		if c < 0x20 {
			return "", false, false
		}
		s.i++
	}
	return "", false, false
}

func (s *scanner) strSlow(start int) (string, bool) {
	buf := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			// Escapes add whole, valid sequences, so the text is valid
			// exactly when its unescaped parts are.
			if !utf8.Valid(buf) {
				s.invalid()
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
		if c, ok := jsonval.Unescape(e); ok {
			buf = append(buf, c)
			continue
		}
		switch e {
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				lo, ok := s.lowSurrogate()
				if !ok || r >= 0xdc00 {
					s.invalid() // a lone surrogate has no UTF-8 form
					return "", false
				}
				r = utf16.DecodeRune(r, lo)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

// lowSurrogate scans the "\uDC00"-"\uDFFF" escape completing a pair.
func (s *scanner) lowSurrogate() (rune, bool) {
	if s.i+6 > len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
		return 0, false
	}
	save := s.i
	s.i += 2
	r, ok := s.hex4()
	if !ok || r < 0xdc00 || r > 0xdfff {
		s.i = save
		return 0, false
	}
	return r, true
}

func (s *scanner) hex4() (rune, bool) {
	r, ok := jsonval.Hex4(s.b, s.i)
	if ok {
		s.i += 4
	}
	return r, ok
}

// decodeString decodes one JSON string (a member name of an HTTP request).
func decodeString(raw []byte) (string, error) {
	s := &scanner{b: raw, key: true}
	v, ok := s.str()
	switch {
	case s.bad != nil:
		return "", s.bad
	case !ok || s.i != len(raw):
		return "", fmt.Errorf("invalid member name %s", strconv.Quote(string(raw)))
	}
	return v, nil
}
