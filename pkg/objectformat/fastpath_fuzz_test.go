package objectformat

import (
	"math"
	"strings"
	"testing"
)

type fzLeaf struct {
	S string  `json:"s"`
	T fpState `json:"t,omitempty"`
	I int64   `json:"i,omitempty"`
	J int8    `json:"j"`
	U uint64  `json:"u,omitzero"`
	V uint16  `json:"v"`
	F float64 `json:"f"`
	G float32 `json:"g,omitempty"`
	B bool    `json:"b"`
	P *string `json:"p,omitempty"`
	X any     `json:"x,omitempty"`
}

type fzInner struct {
	Owner string `json:"owner"`
	Rank  int    `json:"rank,omitzero"`
}

type fzNode struct {
	Name   string     `json:"name"`
	Leaf   fzLeaf     `json:"leaf"`
	Leaves []fzLeaf   `json:"leaves"`
	Ptrs   []*fzLeaf  `json:"ptrs,omitempty"`
	Arr    [2]float32 `json:"arr"`
	Strs   []string   `json:"strs,omitempty"`
	Raw    []byte     `json:"raw,omitempty"`
	Next   *fzNode    `json:"next,omitempty"`
	*fzInner
	Dash   string `json:"-,"` //lint:ignore SA5008 encoding/json names this field "-"
	hidden string
}

// fzBuild turns fuzz inputs into struct values; the bits of shape choose
// which optional parts are present. It reports whether the value holds an
// integer-keyed map.
func fzBuild(s1, s2 string, i int64, u uint64, f float64, g float32, b bool, shape uint32) (fzNode, bool) {
	bit := func(n uint) bool { return shape&(1<<n) != 0 }
	intKeys := false
	leaf := func(k int) fzLeaf {
		l := fzLeaf{S: s1, T: fpState(s2), I: i + int64(k), J: int8(i), U: u, V: uint16(u), F: f, G: g, B: b}
		if bit(0) {
			l.P = &s2
		}
		switch (shape>>1&7 + uint32(k)) % 8 {
		case 1:
			l.X = s2
		case 2:
			l.X = map[string]any{s1: s2, "f": f, "g": g}
		case 3:
			l.X = fzLeaf{S: s2, F: float64(g)}
		case 4:
			l.X = []any{f, g, s1, nil, b}
		case 5:
			l.X = map[int64]string{i: s1, int64(u >> 1): s2}
			intKeys = true
		case 6:
			if bit(13) {
				l.X = map[string]any{s1: []byte(s2)} // JSON error, YAML !!binary
			}
		case 7:
			l.X = fpItem{ID: int(i), Name: s2, Size: f}
		}
		return l
	}
	n := fzNode{Name: s2, Leaf: leaf(0), Arr: [2]float32{g, float32(f)}, Dash: s1, hidden: s2}
	for k := range int(shape >> 5 & 3) {
		n.Leaves = append(n.Leaves, leaf(k+1))
	}
	if n.Leaves == nil && !bit(7) {
		n.Leaves = []fzLeaf{}
	}
	if bit(4) {
		n.Raw = []byte(s1) // JSON error, YAML !!binary
	}
	if bit(8) {
		n.fzInner = &fzInner{Owner: s1, Rank: int(i % 3)}
	}
	if bit(11) {
		l := leaf(5)
		n.Ptrs = []*fzLeaf{nil, &l}
	}
	if bit(12) {
		n.Strs = []string{s1, s2, strings.Repeat(s1+" ", 3)}
	}
	next := &n
	for k := range int(shape >> 9 & 3) {
		c := fzNode{Name: s1, Leaf: leaf(k + 2), Arr: [2]float32{float32(k), g}}
		next.Next = &c
		next = &c
	}
	return n, intKeys
}

// FuzzStructFastPath checks that struct values built from the fuzz inputs
// encode exactly as their Simplify trees do (JSON indented and one-line,
// YAML), alone, through a pointer, in slices and inside generic containers.
func FuzzStructFastPath(f *testing.F) {
	f.Add("name", "value", int64(1), uint64(2), 1.5, float32(0.1), true, uint32(0))
	f.Add("", "", int64(0), uint64(0), 0.0, float32(0), false, uint32(0xffff))
	f.Add("é 😀\n", "yes", int64(-1), uint64(math.MaxUint64), math.Inf(1), float32(3.4e38), true, uint32(0x1ffe))
	f.Add("- x: y", "123", int64(math.MinInt64), uint64(1<<63), math.NaN(), float32(math.Inf(-1)), false, uint32(0x0b6a))
	f.Add(strings.Repeat("word ", 30), "a\xffb", int64(7), uint64(9), 1e-7, float32(16777217), true, uint32(0x0d2c))
	f.Fuzz(func(t *testing.T, s1, s2 string, i int64, u uint64, x float64, g float32, b bool, shape uint32) {
		n, intKeys := fzBuild(s1, s2, i, u, x, g, b, shape)
		if fastTopPlan(n) == nil {
			t.Fatal("fzNode must take the fast path")
		}
		requireFastEquivalent(t, n, intKeys)
		requireFastEquivalent(t, &n, intKeys)
		requireFastEquivalent(t, []fzNode{n, {}, n}, intKeys)
		requireFastEquivalent(t, []*fzNode{&n, nil}, intKeys)
		requireFastEquivalent(t, n.Leaf, intKeys)
		requireFastEquivalent(t, map[string]any{s1: n, "list": []any{&n.Leaf, n.Leaves}}, intKeys)
	})
}
