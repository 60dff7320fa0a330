package objectformat

// A JSON encoder that reproduces Python's
//
//	json.dumps(data, indent=indent, sort_keys=True)   # ensure_ascii=True
//
// byte for byte, as Ceph's mgr object_format.Responder prints results.
//
// Python details reproduced here:
//   - keys sorted by code point (Go's byte order on UTF-8 strings is the same
//     order); Go maps with integer keys sort numerically, as Python's int keys
//     do, and then print as strings;
//   - with an indent: "," + newline + indent*level spaces between items and
//     ": " after keys; without (indent < 0, Python's indent=None): ", " and ": ";
//     empty containers are always "{}" / "[]"; no trailing newline;
//   - strings: everything outside 0x20..0x7E is escaped; \n \r \t \b \f use
//     the short forms, other control characters and all non-ASCII use \uXXXX
//     with lowercase hex (surrogate pairs above U+FFFF); '"' and '\' are
//     escaped; '/', '<', '>', '&' are not. Invalid UTF-8 bytes (which a
//     Python str cannot hold) print as \ufffd, one per byte, like
//     encoding/json;
//   - floats as Python's repr(float): shortest round-trip digits, "1.0" for
//     integral values, exponent form ("1e+16", "1e-05") when the decimal
//     exponent is < -4 or >= 16; NaN, Infinity and -Infinity as Python's
//     allow_nan=True writes them;
//   - integers exactly (json.Number integers beyond 64 bits digit for digit).
//
// []byte cannot be encoded (Python raises TypeError); EncodeJSON returns an
// error that callers turn into -EINVAL.

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// errJSONBytes is what Python's "Object of type bytes is not JSON
// serializable" TypeError becomes.
var errJSONBytes = errors.New("objectformat: cannot encode bytes as JSON")

// EncodeJSON writes v like Python json.dumps(v, indent=indent, sort_keys=True);
// indent < 0 means Python's indent=None (one line). It calls Simplify first
// unless v is already a tree (common generic types are encoded directly,
// without reflection or an intermediate tree; so are eligible structs and
// slices, arrays and pointers of them, see fastpath.go).
func EncodeJSON(v any, indent int) (out []byte, err error) {
	defer recoverAsError(&err)
	e := pyJSONEncoder{indent: indent, simp: simplifier{keepIntKeys: true}}
	e.buf = make([]byte, 0, 512)
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type pyJSONEncoder struct {
	buf    []byte
	indent int
	simp   simplifier
	keys   keyScratch
}

// keyScratch hands out one reusable key slice per nesting level.
type keyScratch struct {
	levels [][]string
}

func (k *keyScratch) get(level, n int) []string {
	for len(k.levels) <= level {
		k.levels = append(k.levels, nil)
	}
	if cap(k.levels[level]) < n {
		k.levels[level] = make([]string, 0, max(n, 8))
	}
	return k.levels[level][:0]
}

func (k *keyScratch) put(level int, s []string) {
	clear(s) // do not pin the strings
	k.levels[level] = s[:0]
}

// sortedKeys returns m's keys in Python's sorted() order.
func sortedKeys[V any](ks *keyScratch, level int, m map[string]V) []string {
	keys := ks.get(level, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) <= 12 {
		// Insertion sort: faster than the generic sort for the small maps
		// that dominate command results.
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
	} else {
		slices.Sort(keys)
	}
	return keys
}

func (e *pyJSONEncoder) newline(level int) {
	e.buf = append(e.buf, '\n')
	for n := e.indent * level; n > 0; n-- {
		e.buf = append(e.buf, ' ')
	}
}

// item writes the separator before the i-th element of a container.
func (e *pyJSONEncoder) item(i, level int) {
	if i > 0 {
		e.buf = append(e.buf, ',')
		if e.indent < 0 {
			e.buf = append(e.buf, ' ')
		}
	}
	if e.indent >= 0 {
		e.newline(level)
	}
}

func (e *pyJSONEncoder) close(c byte, level int) {
	if e.indent >= 0 {
		e.newline(level)
	}
	e.buf = append(e.buf, c)
}

func (e *pyJSONEncoder) key(i int, k string, level int) {
	e.item(i, level+1)
	e.buf = appendPyJSONString(e.buf, k)
	e.buf = append(e.buf, ':', ' ')
}

func (e *pyJSONEncoder) value(v any, level int) error {
	if level > simplifyMaxDepth {
		return errNestedTooDeep
	}
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendPyJSONString(e.buf, x)
	case bool:
		if x {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case float64:
		e.buf = appendPyJSONFloat(e.buf, x)
	case float32:
		e.buf = appendPyJSONFloat(e.buf, widenFloat32(x))
	case json.Number:
		n, err := numberValue(x)
		if err != nil {
			return err
		}
		if big, ok := n.(json.Number); ok {
			e.buf = append(e.buf, big...)
			return nil
		}
		return e.value(n, level)
	case []byte:
		return errJSONBytes
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '{', '}')
			return nil
		}
		e.buf = append(e.buf, '{')
		keys := sortedKeys(&e.keys, level, x)
		for i, k := range keys {
			e.key(i, k, level)
			if err := e.value(x[k], level+1); err != nil {
				return err
			}
		}
		e.keys.put(level, keys)
		e.close('}', level)
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			if err := e.value(el, level+1); err != nil {
				return err
			}
		}
		e.close(']', level)
	case []map[string]any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			if err := e.value(el, level+1); err != nil {
				return err
			}
		}
		e.close(']', level)
	case []string:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			e.buf = appendPyJSONString(e.buf, el)
		}
		e.close(']', level)
	case []int:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			e.buf = strconv.AppendInt(e.buf, int64(el), 10)
		}
		e.close(']', level)
	case []int64:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			e.buf = strconv.AppendInt(e.buf, el, 10)
		}
		e.close(']', level)
	case []float64:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range x {
			e.item(i, level+1)
			e.buf = appendPyJSONFloat(e.buf, el)
		}
		e.close(']', level)
	case map[string]string:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '{', '}')
			return nil
		}
		e.buf = append(e.buf, '{')
		keys := sortedKeys(&e.keys, level, x)
		for i, k := range keys {
			e.key(i, k, level)
			e.buf = appendPyJSONString(e.buf, x[k])
		}
		e.keys.put(level, keys)
		e.close('}', level)
	case map[string]int:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(x) == 0 {
			e.buf = append(e.buf, '{', '}')
			return nil
		}
		e.buf = append(e.buf, '{')
		keys := sortedKeys(&e.keys, level, x)
		for i, k := range keys {
			e.key(i, k, level)
			e.buf = strconv.AppendInt(e.buf, int64(x[k]), 10)
		}
		e.keys.put(level, keys)
		e.close('}', level)
	case intKeyMap:
		if len(x.keys) == 0 {
			e.buf = append(e.buf, '{', '}')
			return nil
		}
		e.buf = append(e.buf, '{')
		for i, k := range x.keys {
			e.item(i, level+1)
			e.buf = append(e.buf, '"')
			e.buf = k.appendTo(e.buf)
			e.buf = append(e.buf, '"', ':', ' ')
			if err := e.value(x.vals[i], level+1); err != nil {
				return err
			}
		}
		e.close('}', level)
	default:
		if e.encodeFast(v, level) {
			return nil
		}
		t, err := e.simp.value(v, level)
		if err != nil {
			return err
		}
		return e.value(t, level)
	}
	return nil
}

const lowerHex = "0123456789abcdef"

// appendPyJSONString appends s as Python's json.dumps(s, ensure_ascii=True).
func appendPyJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default: // other control characters and DEL
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r >= 0x10000 {
				r -= 0x10000
				b = appendU4(b, 0xd800+(r>>10))
				b = appendU4(b, 0xdc00+(r&0x3ff))
			} else {
				b = appendU4(b, r) // RuneError (U+FFFD) for invalid bytes
			}
			i += size
		}
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU4(b []byte, r rune) []byte {
	return append(b, '\\', 'u', lowerHex[r>>12&0xf], lowerHex[r>>8&0xf], lowerHex[r>>4&0xf], lowerHex[r&0xf])
}

// appendPyJSONFloat appends f as Python's json module writes floats.
func appendPyJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return appendPyFloatRepr(b, f)
}

// appendPyFloatRepr appends Python's repr(f) for a finite f: the shortest
// digits that round-trip (strconv and CPython both produce them), laid out
// as float_repr_style 'short' does: positional when the decimal exponent x
// satisfies -4 <= x < 16 (with ".0" for integral values), otherwise
// d[.ddd]e±XX with at least two exponent digits.
func appendPyFloatRepr(b []byte, f float64) []byte {
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // e.g. -1.2345e+06
	if s[0] == '-' {
		b = append(b, '-')
		s = s[1:]
	}
	epos := 0
	for s[epos] != 'e' {
		epos++
	}
	// Mantissa digits without the point.
	var digs [24]byte
	d := append(digs[:0], s[0])
	if epos > 1 {
		d = append(d, s[2:epos]...)
	}
	exp := 0
	for _, c := range s[epos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[epos+1] == '-' {
		exp = -exp
	}
	switch {
	case exp < -4 || exp >= 16:
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(exp), 10)
	case exp >= 0:
		if len(d) <= exp+1 {
			b = append(b, d...)
			for n := exp + 1 - len(d); n > 0; n-- {
				b = append(b, '0')
			}
			b = append(b, '.', '0')
		} else {
			b = append(b, d[:exp+1]...)
			b = append(b, '.')
			b = append(b, d[exp+1:]...)
		}
	default: // -4 <= exp < 0
		b = append(b, '0', '.')
		for n := -exp - 1; n > 0; n-- {
			b = append(b, '0')
		}
		b = append(b, d...)
	}
	return b
}
