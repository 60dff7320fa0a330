package jsonval

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// reference is what Decode returned before it had its own decoder:
// encoding/json with UseNumber, then Numbers. Decode must give the same
// values, and fail where it fails.
func reference(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return Numbers(v), nil
}

// sameAsReference fails t where Decode and reference disagree on data.
func sameAsReference(t *testing.T, data []byte) {
	t.Helper()
	want, werr := reference(data)
	got, gerr := Decode(data)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("Decode(%q): error %v, encoding/json's %v", data, gerr, werr)
	}
	if werr == nil && !equalValues(got, want) {
		t.Fatalf("Decode(%q) = %#v, encoding/json's %#v", data, got, want)
	}
}

// equalValues is reflect.DeepEqual but for NaN-free float equality
// (JSON has no NaN) and -0 against 0 (both read "-0.0" alike).
func equalValues(a, b any) bool {
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && (fa == fb || math.IsNaN(fa) && math.IsNaN(fb))
	}
	return reflect.DeepEqual(a, b)
}

// TestDecodeMatchesEncodingJSON: a table of the grammar's corners, each
// decoded as encoding/json with UseNumber and Numbers decodes it.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`0`, `-0`, `-0.0`, `1`, `-1`, `123456789012345678`, `-123456789012345678`, `1234567890123456789`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`,
		`18446744073709551615`, `18446744073709551616`, `1e400`, `-1e400`, `1.5`, `1e5`, `1E+5`, `1e-5`, `0.0`,
		`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1_000`, `--1`,
		`""`, `"a"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`,
		`"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\ud83d\u12"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\`, `"a`, "\"\x01\"",
		"\"\xff\"", "\"caf\xc3\xa9\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\x80\"", "\"\xed\xa0\x80\"",
		`true`, `false`, `null`, `tru`, `nul`, `nulll`, `True`,
		`[]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[[[]]]`,
		`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,}`, `{a:1}`, `{"a" 1}`, `{"a":}`, `{"a":1 "b":2}`, `{`, `}`,
		` {"a" : [ 1 , { "b" : null } ] } `, "\t\n\r 1 \t\n\r", ``, ` `, `1 2`, `{}x`, `[] []`, "\x00", `1/`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat("}", 10001),
	} {
		sameAsReference(t, []byte(in))
	}
}

func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-3e2,18446744073709551616]}`, `"\ud83d\ude00\u00e9"`, "\"\xff\"",
		`{"a":{"b":[true,false,null]},"a":0}`, `-0.0e-0`, `[`, `"\ud83d\u12"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsReference(t, data) })
}

// BenchmarkDecode: a mgr-map-like object of nested maps, lists,
// integers, floats and strings, against the encoding/json decoding it
// replaces.
func BenchmarkDecode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"epoch": 42, "pools": [`)
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"pool": 1, "pool_name": "rbd-pool", "size": 3, "crush_rule": 0, "pg_num": 128, "flags": 8193, "ratio": 0.875, "flags_names": "hashpspool,selfmanaged_snaps", "options": {}, "application_metadata": {"rbd": {}}, "bytes": 18446744073709551615}`)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	for _, bc := range []struct {
		name string
		fn   func([]byte) (any, error)
	}{{"jsonval", Decode}, {"encoding-json", reference}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.fn(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// membersAsMap is Members' members as encoding/json would give them in a
// map[string]json.RawMessage (a key given twice: its last text).
func membersAsMap(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	null, err := Members(data, func(k string, text []byte) error {
		if m == nil {
			m = map[string]json.RawMessage{}
		}
		m[k] = text
		return nil
	})
	if err == nil && !null && m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, err
}

// sameMembers fails t where Members and json.Unmarshal into a
// map[string]json.RawMessage disagree on data.
func sameMembers(t *testing.T, data []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	werr := json.Unmarshal(data, &want)
	got, gerr := membersAsMap(data)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("Members(%q): error %v, encoding/json's %v", data, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("Members(%q) = %q, encoding/json's %q", data, got, want)
	}
}

// TestMembers: each member's text as it is in the data, checked whole.
func TestMembers(t *testing.T) {
	for _, in := range []string{
		`{}`, `null`, ` null `, `{"a":1}`, `{"a" : [1, {"b":"\u00e9"}] , "c":"x"}`, `{"a":1,"a":2}`, `{"\u0061":true}`,
		`{"a":1,}`, `{"a":[1,]}`, `{"a":"\x"}`, `{"a":"\ud83d\u12"}`, `{"a":tru}`, `{"a":01}`, `[1]`, `1`, `"s"`, `true`,
		``, `{`, `{"a":1} x`, `nul`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
		`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	} {
		sameMembers(t, []byte(in))
	}
	_, err := Members([]byte(`{"a":1,"b":2}`), func(k string, _ []byte) error {
		if k == "b" {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("fn's error: %v", err)
	}
}

func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"id":1,"ok":{"a":[1,2]},"err":null}`, `null`, `{"a":"\ud83d\ude00"}`, `[{}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameMembers(t, data) })
}
