package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// stdDecode is the reference: encoding/json with UseNumber, refusing
// null and anything but white space after the object.
func stdDecode(data []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil || len(bytes.Trim(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errSentinel
	}
	return m, nil
}

// badText reports whether a JSON text that encoding/json accepts has a
// string that it decodes with replacements: invalid UTF-8, or an escaped
// surrogate that is not half of a pair. (Outside strings encoding/json
// accepts only ASCII, so any invalid byte is in a string.)
func badText(data []byte) bool {
	if !utf8.Valid(data) {
		return true
	}
	inStr := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case !inStr:
			inStr = c == '"'
		case c == '"':
			inStr = false
		case c == '\\' && data[i+1] == 'u':
			r, _ := strconv.ParseUint(string(data[i+2:i+6]), 16, 32)
			i += 5
			switch {
			case r >= 0xdc00 && r <= 0xdfff:
				return true // a low half with no high half before it
			case r >= 0xd800 && r < 0xdc00:
				if i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
					return true
				}
				lo, _ := strconv.ParseUint(string(data[i+3:i+7]), 16, 32)
				if lo < 0xdc00 || lo > 0xdfff {
					return true
				}
				i += 6
			}
		case c == '\\':
			i++ // any other escape is two bytes
		}
	}
	return false
}

var errSentinel = json.Unmarshal([]byte("x"), new(any))

var cmdSeeds = []string{
	`{"prefix": "hello"}`, `{"prefix":"count","num":3}`, ` { "a" : [1, -2.5e3, "x", true, null] , "b":false } `,
	`{"s": "esc \" \\ \/ \b\f\n\r\t \u00e9 \u20ac"}`, `{"s": "\ud83d\ude00"}`, `{"s": "\udc00"}`, `{}`, `{"a":{}}`,
	`{"a": [[1]]}`, `{"a": 01}`, `{"a": 1.}`, `{"a": -}`, `{"a": 1e}`, `{"a": "x"} x`, `null`, `[1]`, `{"a":1,}`,
	`{"a" 1}`, `{"dup": 1, "dup": 2}`, "{\"a\": \"\xff\"}", `{"a": "tab	in"}`, `{"a": 123456789012345678901234567890}`,
	`{"a": tru}`, `{"a": [1 2]}`, `{"a": []}`, `{"a": ""}`,
	// Invalid text is refused, never replaced; only white space may follow.
	"{\"key\": \"k\xff\"}", "{\"k\xfe\": 1}", `{"key": "k\udcff"}`, `{"key": "\ud800x"}`, `{"key": "\ud800\u0041"}`,
	`{"key": "\ud83d\ude00\udc00"}`, `{"a": {"b": ["\udfff"]}}`, `{"a": 1}}`, `{"a": 1} {}`, `{"a": 1}` + "\t\r\n ",
	`{"a": {"b": {"c": [true, {"d": null}]}}}`, `{"k": "\ufffd"}`, "{\"k\": \"\xef\xbf\xbd\"}",
}

// TestDecodeCommandMatchesEncodingJSON: the fast path decodes exactly what
// encoding/json (UseNumber) does, and rejects what it rejects; text that
// encoding/json would decode with replacements is refused.
func TestDecodeCommandMatchesEncodingJSON(t *testing.T) {
	for _, in := range cmdSeeds {
		checkSameDecode(t, []byte(in))
	}
	deep := strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1)
	checkSameDecode(t, []byte(`{"a": `+deep+`}`))
	checkSameDecode(t, []byte(`{"a": [`+deep+`]}`))
}

// TestDecodeCommandNamesInvalidText: the error names the argument.
func TestDecodeCommandNamesInvalidText(t *testing.T) {
	for in, want := range map[string]string{
		"{\"prefix\": \"config-key set\", \"key\": \"k\xff\"}": "invalid UTF-8 in argument 'key'",
		`{"prefix": "config-key set", "key": "k\udcfe"}`:       "invalid UTF-8 in argument 'key'",
		`{"prefix": "x", "val": ["a", "\ud800"]}`:              "invalid UTF-8 in argument 'val'",
		"{\"k\xff\": 1}": "invalid UTF-8 in an argument name",
	} {
		_, err := DecodeCommand([]byte(in))
		var u *InvalidUTF8Error
		require.ErrorAs(t, err, &u, in)
		require.EqualError(t, err, want, in)
	}
	_, err := DecodeCommand([]byte(`{"prefix": "x"} junk`))
	require.Error(t, err, "trailing bytes are refused")
}

func checkSameDecode(t *testing.T, in []byte) {
	t.Helper()
	got, err := DecodeCommand(in)
	want, werr := stdDecode(in)
	if werr != nil {
		require.Error(t, err, "%q: encoding/json rejects it (%v) but we got %v", in, werr, got)
		return
	}
	if badText(in) {
		var u *InvalidUTF8Error
		require.ErrorAs(t, err, &u, "%q: encoding/json replaces invalid text, we must refuse it", in)
		return
	}
	require.NoError(t, err, "%q", in)
	require.Equal(t, want, got, "%q", in)
}

func FuzzDecodeCommand(f *testing.F) {
	for _, s := range cmdSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSameDecode(t, in) })
}

func BenchmarkDecodeCommand(b *testing.B) {
	in := []byte(`{"prefix": "bench echo", "text": "x", "n": 42, "ids": [1, 2, 3]}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := DecodeCommand(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := stdDecode(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
