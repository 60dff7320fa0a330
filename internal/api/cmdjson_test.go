package api

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// checkMemoDecode: decoding b with a memo left by a decodes it as
// DecodeCommand does, value and error alike.
func checkMemoDecode(t *testing.T, a, b []byte) {
	t.Helper()
	var m memo
	_, _ = decodeCommand(a, &m)
	got, err := decodeCommand(b, &m)
	want, werr := DecodeCommand(b)
	require.Equal(t, fmt.Sprint(werr), fmt.Sprint(err), "%q after %q", b, a)
	require.Equal(t, want, got, "%q after %q", b, a)
	if err == nil {
		again, err := decodeCommand(b, &m)
		require.NoError(t, err)
		require.Equal(t, want, again, "%q twice after %q", b, a)
	}
}

// TestDecodeCommandMemo: a connection's memo of its previous command
// changes nothing but the allocations: every pair of the seeds, and
// commands that differ from the previous one in a member's name, value or
// type, or in their escapes, decode as without it.
func TestDecodeCommandMemo(t *testing.T) {
	seeds := append([]string{
		`{"prefix": "bench echo", "text": "x"}`, `{"prefix": "bench echo", "text": "y"}`,
		`{"prefix": "bench echo", "txet": "x"}`, `{"prefix": "bench echo", "text": 5}`, `{"prefix": "bench echo", "text": "5"}`,
		`{"prefix": "bench echo", "text": 50}`, `{"prefix": "bench echo", "text": "\u0078"}`, `{"prefix": "bench echo", "text": ""}`,
		`{"text": "x", "prefix": "bench echo"}`, `{"prefix": "bench echo", "text": ["x"]}`, `{"prefix": "bench echo", "text": null}`,
		"{\"prefix\": \"bench echo\", \"text\": \"x\xff\"}", `{"prefix": "bench echo"}`, `{"": ""}`, `{"": 1}`,
	}, cmdSeeds...)
	for _, a := range seeds {
		for _, b := range seeds {
			checkMemoDecode(t, []byte(a), []byte(b))
		}
	}
	var m memo
	in := []byte(`{"prefix": "bench echo", "text": "x", "n": 42}`)
	first, err := decodeCommand(in, &m)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() { _, _ = decodeCommand(in, &m) })
	again, _ := decodeCommand(in, &m)
	require.Equal(t, first, again)
	require.LessOrEqual(t, allocs, 3.0, "a repeated command's strings are taken from the memo")
}

func FuzzDecodeCommandMemo(f *testing.F) {
	for i, s := range cmdSeeds {
		f.Add([]byte(s), []byte(cmdSeeds[(i+1)%len(cmdSeeds)]))
		f.Add([]byte(s), []byte(s))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) { checkMemoDecode(t, a, b) })
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
	b.Run("memo", func(b *testing.B) {
		var m memo
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := decodeCommand(in, &m); err != nil {
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
