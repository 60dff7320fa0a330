package jsonval

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json's
// does.
const maxDepth = 10000

// decoder is Decode's one pass over the text: it builds the values as it
// reads them (encoding/json's Decoder with UseNumber scans a value twice,
// copies it, and leaves numbers as strings for a second walk).
type decoder struct {
	data  []byte
	off   int
	depth int
	// keys interns the object keys read (Ceph's maps repeat theirs in
	// every entry of a list): one string a distinct key, bounded.
	keys map[string]string
}

// maxKeys bounds a decoder's interned keys.
const maxKeys = 1024

// syntaxError is a malformed text, at an offset.
func (d *decoder) syntaxError(what string) error {
	if d.off >= len(d.data) {
		return fmt.Errorf("unexpected end of JSON input (%s)", what)
	}
	return fmt.Errorf("invalid character %q at offset %d (%s)", d.data[d.off], d.off, what)
}

func (d *decoder) space() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

func (d *decoder) value() (any, error) {
	if d.off >= len(d.data) {
		return nil, d.syntaxError("looking for a value")
	}
	switch c := d.data[d.off]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.string()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.syntaxError("looking for a value")
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.off < len(word) || string(d.data[d.off:d.off+len(word)]) != word {
		for i := 0; i < len(word) && d.off < len(d.data) && d.data[d.off] == word[i]; i++ {
			d.off++
		}
		return d.syntaxError("in literal " + word)
	}
	d.off += len(word)
	return nil
}

func (d *decoder) enter() error {
	if d.depth++; d.depth > maxDepth {
		return fmt.Errorf("exceeded max depth (%d) at offset %d", maxDepth, d.off)
	}
	return nil
}

func (d *decoder) object() (any, error) {
	m := map[string]any{}
	err := d.fields(true, func(k string) error {
		v, err := d.value()
		m[k] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// fields reads an object (d.data[d.off] is its brace): member reads each
// member's value, given its key (read only with readKey, else "").
func (d *decoder) fields(readKey bool, member func(key string) error) error {
	return d.members('{', '}', func() error {
		if d.off >= len(d.data) || d.data[d.off] != '"' {
			return d.syntaxError("looking for an object key")
		}
		var k string
		var err error
		if readKey {
			k, err = d.key()
		} else {
			err = d.skipString()
		}
		if err != nil {
			return err
		}
		d.space()
		if d.off >= len(d.data) || d.data[d.off] != ':' {
			return d.syntaxError("after an object key")
		}
		d.off++
		d.space()
		return member(k)
	})
}

func (d *decoder) array() (any, error) {
	a := []any{}
	err := d.members('[', ']', func() error {
		v, err := d.value()
		a = append(a, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// members reads an object or an array (d.data[d.off] is open): member
// reads each of its members, separated by commas, up to close.
func (d *decoder) members(open, close byte, member func() error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.off++ // open
	d.space()
	if d.off < len(d.data) && d.data[d.off] == close {
		d.off++
		d.depth--
		return nil
	}
	for {
		if err := member(); err != nil {
			return err
		}
		d.space()
		if d.off < len(d.data) {
			switch d.data[d.off] {
			case ',':
				d.off++
				d.space()
				continue
			case close:
				d.off++
				d.depth--
				return nil
			}
		}
		return d.syntaxError("after a member of " + string(open))
	}
}

// number reads a number as JSON's grammar has it and converts it as
// Number does.
func (d *decoder) number() (any, error) {
	text, integer, err := d.scanNumber()
	if err != nil {
		return nil, err
	}
	if integer && len(text) < 19 { // fits an int64 whatever the digits
		var n int64
		i := 0
		if text[0] == '-' {
			i = 1
		}
		for ; i < len(text); i++ {
			n = n*10 + int64(text[i]-'0')
		}
		if text[0] == '-' {
			n = -n
		}
		return n, nil
	}
	return Number(string(text)), nil
}

// scanNumber reads a number's text; integer is whether it has neither a
// fraction nor an exponent.
func (d *decoder) scanNumber() (text []byte, integer bool, err error) {
	start := d.off
	end, integer, ok := NumberEnd(d.data, d.off)
	d.off = end
	if !ok {
		return nil, false, d.syntaxError("in a number")
	}
	return d.data[start:end], integer, nil
}

// skip reads a value as value does, building nothing: its syntax and
// its depth are checked.
func (d *decoder) skip() error {
	if d.off >= len(d.data) {
		return d.syntaxError("looking for a value")
	}
	switch c := d.data[d.off]; {
	case c == '{':
		return d.fields(false, func(string) error { return d.skip() })
	case c == '[':
		return d.members('[', ']', d.skip)
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, err := d.scanNumber()
		return err
	}
	return d.syntaxError("looking for a value")
}

// skipString reads a string literal as string does, building nothing.
func (d *decoder) skipString() error {
	d.off++ // '"'
	for d.off < len(d.data) {
		switch c := d.data[d.off]; {
		case c == '"':
			d.off++
			return nil
		case c < 0x20:
			return d.syntaxError("in a string literal")
		case c == '\\':
			if _, err := d.escape(nil); err != nil {
				return err
			}
		default:
			d.off++
		}
	}
	return d.syntaxError("in a string literal")
}

// Members calls fn with the key and the text of each member of the JSON
// object data holds, in order (a key given twice, twice), and reports
// whether data is null instead (fn is then not called). All of data is
// checked as Decode checks it, the members' values without being built;
// the texts are data's bytes, not copies. Another value than an object
// or null is an error, as is fn's first.
func Members(data []byte, fn func(key string, text []byte) error) (null bool, err error) {
	d := decoder{data: data}
	d.space()
	switch {
	case d.off < len(d.data) && d.data[d.off] == 'n':
		if err := d.literal("null"); err != nil {
			return false, err
		}
		null = true
	case d.off < len(d.data) && d.data[d.off] == '{':
		err := d.fields(true, func(k string) error {
			start := d.off
			if err := d.skip(); err != nil {
				return err
			}
			return fn(k, d.data[start:d.off])
		})
		if err != nil {
			return false, err
		}
	default:
		if err := d.skip(); err != nil {
			return false, err
		}
		return false, fmt.Errorf("want a JSON object")
	}
	d.space()
	if d.off < len(d.data) {
		return false, d.syntaxError("after the top-level JSON value")
	}
	return null, nil
}

// key reads an object key, interned where it has no escape.
func (d *decoder) key() (string, error) {
	start := d.off + 1
	for i := start; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			raw := d.data[start:i]
			if k, ok := d.keys[string(raw)]; ok { // no allocation
				d.off = i + 1
				return k, nil
			}
			k := string(raw)
			if d.keys == nil {
				d.keys = make(map[string]string, 8)
			}
			if len(d.keys) < maxKeys {
				d.keys[k] = k
			}
			d.off = i + 1
			return k, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	v, err := d.string()
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// string reads a string literal (d.data[d.off] is its quote), decoded as
// encoding/json decodes one: escapes, a \u surrogate pair as one rune,
// a lone surrogate and invalid UTF-8 as U+FFFD.
func (d *decoder) string() (any, error) {
	d.off++ // '"'
	start := d.off
	for d.off < len(d.data) {
		c := d.data[d.off]
		if c == '"' {
			s := string(d.data[start:d.off])
			d.off++
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.off++
	}
	b := make([]byte, d.off-start, d.off-start+16)
	copy(b, d.data[start:d.off])
	for d.off < len(d.data) {
		c := d.data[d.off]
		switch {
		case c == '"':
			d.off++
			return string(b), nil
		case c < 0x20:
			return nil, d.syntaxError("in a string literal")
		case c == '\\':
			var err error
			if b, err = d.escape(b); err != nil {
				return nil, err
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.off++
		default:
			r, size := utf8.DecodeRune(d.data[d.off:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[d.off:d.off+size]...)
			}
			d.off += size
		}
	}
	return nil, d.syntaxError("in a string literal")
}

// escape appends the character of the escape at d.off.
func (d *decoder) escape(b []byte) ([]byte, error) {
	if d.off+1 >= len(d.data) {
		d.off = len(d.data)
		return nil, d.syntaxError("in a string escape")
	}
	d.off++
	c := d.data[d.off]
	if e, ok := Unescape(c); ok {
		d.off++
		return append(b, e), nil
	}
	if c != 'u' {
		return nil, d.syntaxError("in a string escape")
	}
	d.off++
	r, ok := d.hex4()
	if !ok {
		return nil, d.syntaxError("in a \\u escape")
	}
	if utf16.IsSurrogate(r) {
		// A pair is one rune; anything else leaves the first a U+FFFD
		// and the next escape read for itself.
		if d.off+6 <= len(d.data) && d.data[d.off] == '\\' && d.data[d.off+1] == 'u' {
			if r2, ok := Hex4(d.data, d.off+2); ok {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					d.off += 6
					return utf8.AppendRune(b, dec), nil
				}
			}
		}
		r = utf8.RuneError
	}
	return utf8.AppendRune(b, r), nil
}

// hex4 reads the four hexadecimal digits of a \u escape.
func (d *decoder) hex4() (rune, bool) {
	r, ok := Hex4(d.data, d.off)
	if !ok {
		if d.off+4 > len(d.data) {
			d.off = len(d.data)
		}
		return 0, false
	}
	d.off += 4
	return r, true
}
