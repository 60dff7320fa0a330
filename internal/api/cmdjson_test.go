package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func stdDecode(data []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil || dec.More() {
		return nil, errSentinel
	}
	return m, nil
}

var errSentinel = json.Unmarshal([]byte("x"), new(any))

var cmdSeeds = []string{
	`{"prefix": "hello"}`, `{"prefix":"count","num":3}`, ` { "a" : [1, -2.5e3, "x", true, null] , "b":false } `,
	`{"s": "esc \" \\ \/ \b\f\n\r\t \u00e9 \u20ac"}`, `{"s": "\ud83d\ude00"}`, `{"s": "\udc00"}`, `{}`, `{"a":{}}`,
	`{"a": [[1]]}`, `{"a": 01}`, `{"a": 1.}`, `{"a": -}`, `{"a": 1e}`, `{"a": "x"} x`, `null`, `[1]`, `{"a":1,}`,
	`{"a" 1}`, `{"dup": 1, "dup": 2}`, "{\"a\": \"\xff\"}", `{"a": "tab	in"}`, `{"a": 123456789012345678901234567890}`,
	`{"a": tru}`, `{"a": [1 2]}`, `{"a": []}`, `{"a": ""}`,
}

// TestDecodeCommandMatchesEncodingJSON: the fast path decodes exactly what
// encoding/json (UseNumber) does, and rejects what it rejects.
func TestDecodeCommandMatchesEncodingJSON(t *testing.T) {
	for _, in := range cmdSeeds {
		checkSameDecode(t, []byte(in))
	}
}

func checkSameDecode(t *testing.T, in []byte) {
	t.Helper()
	got, err := decodeCommand(in)
	want, werr := stdDecode(in)
	if werr != nil {
		require.Error(t, err, "%q: encoding/json rejects it (%v) but we got %v", in, werr, got)
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
			if _, err := decodeCommand(in); err != nil {
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
