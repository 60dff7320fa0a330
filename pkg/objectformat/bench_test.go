package objectformat

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"
)

// benchSizes are the result sizes of the formatting benchmarks.
var benchSizes = []struct {
	name string
	n    int
}{{"10", 10}, {"10k", 10_000}, {"1M", 1_000_000}}

var (
	benchMu   sync.Mutex
	benchData = map[int][]any{}
)

// benchResult is a typical command result: a list of small objects, as a
// generic tree ([]any of map[string]any), built once per size.
func benchResult(n int) []any {
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchData[n]; ok {
		return d
	}
	d := make([]any, n)
	for i := range d {
		d[i] = map[string]any{
			"id":   i,
			"name": "obj-" + strconv.Itoa(i),
			"size": float64(i) * 1.5,
		}
	}
	benchData[n] = d
	return d
}

type benchObject struct {
	ID   int     `json:"id"`
	Name string  `json:"name"`
	Size float64 `json:"size"`
}

var benchStructData = map[int][]benchObject{}

// benchStructs is the same result as benchResult as a Go slice of structs,
// the usual shape of a module command's return value.
func benchStructs(n int) []benchObject {
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchStructData[n]; ok {
		return d
	}
	d := make([]benchObject, n)
	for i := range d {
		d[i] = benchObject{ID: i, Name: "obj-" + strconv.Itoa(i), Size: float64(i) * 1.5}
	}
	benchStructData[n] = d
	return d
}

// benchEncode runs enc over every benchmark size, on the generic tree
// ("tree/<size>") and on the []benchObject form ("structs/<size>").
func benchEncode(b *testing.B, enc func(any) ([]byte, error)) {
	for _, shape := range []struct {
		name string
		data func(int) any
	}{
		{"tree", func(n int) any { return benchResult(n) }},
		{"structs", func(n int) any { return benchStructs(n) }},
	} {
		for _, sz := range benchSizes {
			b.Run(shape.name+"/"+sz.name, func(b *testing.B) {
				data := shape.data(sz.n)
				b.ReportAllocs()
				var out []byte
				for b.Loop() {
					var err error
					out, err = enc(data)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(out)))
			})
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	benchEncode(b, func(v any) ([]byte, error) { return EncodeJSON(v, 2) })
}

func BenchmarkEncodeYAML(b *testing.B) {
	benchEncode(b, EncodeYAML)
}

// BenchmarkStdlibMarshalIndent is the point of comparison: encoding/json's
// MarshalIndent on the same data (which does not produce Python's bytes).
func BenchmarkStdlibMarshalIndent(b *testing.B) {
	benchEncode(b, func(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") })
}
