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

func benchStructs(n int) []benchObject {
	d := make([]benchObject, n)
	for i := range d {
		d[i] = benchObject{ID: i, Name: "obj-" + strconv.Itoa(i), Size: float64(i) * 1.5}
	}
	return d
}

func BenchmarkEncodeJSON(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			data := benchResult(sz.n)
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				var err error
				out, err = EncodeJSON(data, 2)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(out)))
		})
	}
	b.Run("structs-10k", func(b *testing.B) {
		data := benchStructs(10_000)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeJSON(data, 2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeYAML(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			data := benchResult(sz.n)
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				var err error
				out, err = EncodeYAML(data)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(out)))
		})
	}
	b.Run("structs-10k", func(b *testing.B) {
		data := benchStructs(10_000)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeYAML(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStdlibMarshalIndent is the point of comparison: encoding/json's
// MarshalIndent on the same data (which does not produce Python's bytes).
func BenchmarkStdlibMarshalIndent(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			data := benchResult(sz.n)
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				var err error
				out, err = json.MarshalIndent(data, "", "  ")
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(out)))
		})
	}
}
