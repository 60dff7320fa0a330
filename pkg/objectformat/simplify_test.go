package objectformat

import (
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type sfInner struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
}

type sfDeep struct {
	D int
}

type sfEmbedded struct {
	sfDeep
	E int `json:"e"`
}

type sfOuter struct {
	Name     string         `json:"name"`
	Skip     string         `json:"-"`
	Dash     string         `json:"-,"` //lint:ignore SA5008 encoding/json names this field "-"
	Empty    string         `json:"empty,omitempty"`
	ZeroTime time.Time      `json:"zt,omitzero"`
	Zero     int            `json:"zero,omitzero"`
	Quoted   int            `json:"quoted,string"`
	QStr     string         `json:"qstr,string"`
	Ptr      *int           `json:"ptr"`
	Inner    sfInner        `json:"inner"`
	Map      map[string]int `json:"map"`
	IntMap   map[int]string `json:"intmap"`
	Bytes    []byte         `json:"bytes"`
	Arr      [2]byte        `json:"arr"`
	Iface    any            `json:"iface"`
	Untagged int
	private  int               // must be skipped
	Raw      json.RawMessage   `json:"raw"`
	Strs     []string          `json:"strs"`
	Nested   map[string][]bool `json:"nested"`
	*sfEmbedded
	sfInner2
}

type sfInner2 struct {
	Promoted string `json:"promoted"`
}

type sfMarshaler struct{ v int }

func (m sfMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(`{"marshaled": ` + strings.Repeat("1", m.v) + `, "f": 1.5, "big": 123456789012345678901234567890}`), nil
}

type sfPtrMarshaler struct{ v string }

func (m *sfPtrMarshaler) MarshalJSON() ([]byte, error) { return json.Marshal("ptr:" + m.v) }

type sfText struct{ a, b int }

func (t sfText) MarshalText() ([]byte, error) {
	return []byte(strings.Repeat("x", t.a) + "-" + strings.Repeat("y", t.b)), nil
}

type sfSimple struct{ name string }

func (s sfSimple) ToSimplified() any {
	return struct {
		Version int    `json:"version"`
		Name    string `json:"name"`
	}{1, s.name}
}

type sfBadJSON struct{}

func (sfBadJSON) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

type sfErrJSON struct{}

func (sfErrJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("boom") }

type sfPanicJSON struct{}

func (sfPanicJSON) MarshalJSON() ([]byte, error) { panic("kaboom") }

type sfName string

type sfCycle struct {
	Next *sfCycle `json:"next"`
}

func TestSimplifyStruct(t *testing.T) {
	seven := 7
	v := sfOuter{
		Name: "n", Skip: "s", Dash: "d", Quoted: 5, QStr: "q", Ptr: &seven,
		Inner:  sfInner{A: 1},
		Map:    map[string]int{"k": 1},
		IntMap: map[int]string{10: "ten", 9: "nine"},
		Bytes:  []byte("hi"), Arr: [2]byte{1, 2},
		Iface:      sfInner{A: 2, B: "b"},
		Untagged:   3,
		private:    6,
		Raw:        json.RawMessage(`[1, 2.0, "x"]`),
		Nested:     map[string][]bool{"x": {true}},
		sfEmbedded: &sfEmbedded{sfDeep: sfDeep{D: 4}, E: 5},
		sfInner2:   sfInner2{Promoted: "p"},
	}
	got, err := Simplify(v)
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"name":     "n",
		"-":        "d",
		"quoted":   "5",
		"qstr":     `"q"`,
		"ptr":      int64(7),
		"inner":    map[string]any{"a": int64(1)},
		"map":      map[string]any{"k": int64(1)},
		"intmap":   map[string]any{"10": "ten", "9": "nine"},
		"bytes":    []byte("hi"),
		"arr":      []any{uint64(1), uint64(2)},
		"iface":    map[string]any{"a": int64(2), "b": "b"},
		"Untagged": int64(3),
		"raw":      []any{int64(1), 2.0, "x"},
		"strs":     nil,
		"nested":   map[string]any{"x": []any{true}},
		"D":        int64(4),
		"e":        int64(5),
		"promoted": "p",
	}, got)

	// A nil embedded pointer hides its fields.
	got, err = Simplify(sfOuter{})
	require.NoError(t, err)
	m := got.(map[string]any)
	require.NotContains(t, m, "D")
	require.NotContains(t, m, "e")
	require.Contains(t, m, "promoted")
}

func TestSimplifyEmbeddingConflicts(t *testing.T) {
	type A struct{ X, Y int }
	type B struct {
		X int
		Y int `json:"Y"`
	}
	type C struct {
		A
		B
		Z int
	}
	got, err := Simplify(C{A{1, 2}, B{3, 4}, 5})
	require.NoError(t, err)
	// X is ambiguous and dropped; the tagged Y wins.
	require.Equal(t, map[string]any{"Y": int64(4), "Z": int64(5)}, got)

	// encoding/json agrees.
	b, err := json.Marshal(C{A{1, 2}, B{3, 4}, 5})
	require.NoError(t, err)
	require.JSONEq(t, string(b), `{"Y": 4, "Z": 5}`)
}

func TestSimplifyHooks(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"ToSimplified", sfSimple{"bob"}, map[string]any{"version": int64(1), "name": "bob"}},
		{"ToSimplified in a list", []sfSimple{{"a"}}, []any{map[string]any{"version": int64(1), "name": "a"}}},
		{"Marshaler", sfMarshaler{2}, map[string]any{"marshaled": int64(11), "f": 1.5,
			"big": json.Number("123456789012345678901234567890")}},
		{"pointer Marshaler via addressable slice element", []sfPtrMarshaler{{"a"}}, []any{"ptr:a"}},
		{"pointer Marshaler via pointer", &sfPtrMarshaler{"b"}, "ptr:b"},
		{"TextMarshaler value", sfText{1, 2}, "x-yy"},
		{"TextMarshaler keys", map[sfText]int{{1, 1}: 1}, map[string]any{"x-y": int64(1)}},
		{"net.IP", net.IPv4(10, 0, 0, 1), "10.0.0.1"},
		{"time.Time", time.Date(2020, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600)), "2020-05-06T07:08:09+01:00"},
		{"*time.Time", func() *time.Time { t := time.Unix(0, 0).UTC(); return &t }(), "1970-01-01T00:00:00Z"},
		{"big.Int", big.NewInt(0).Lsh(big.NewInt(1), 100), json.Number("1267650600228229401496703205376")},
		{"json.Number int", json.Number("-12"), int64(-12)},
		{"json.Number uint", json.Number("18446744073709551615"), uint64(18446744073709551615)},
		{"json.Number float", json.Number("1.25e2"), 125.0},
		{"json.Number empty", json.Number(""), int64(0)},
		{"nil pointer", (*sfInner)(nil), nil},
		{"nil Marshaler pointer", (*sfPtrMarshaler)(nil), nil},
		{"nil map", map[string]int(nil), nil},
		{"float32", float32(0.1), 0.1},
		{"int kinds", []any{int8(-1), uint16(2), uintptr(3)}, []any{int64(-1), uint64(2), uint64(3)}},
		{"named string", sfName("x"), "x"},
		{"interface keys", map[any]int{"a": 1, "b": 2}, map[string]any{"a": int64(1), "b": int64(2)}},
		{"interface int keys", map[any]int{1: 1, int8(2): 2}, map[string]any{"1": int64(1), "2": int64(2)}},
		{"negative int keys", map[int8]bool{-128: true}, map[string]any{"-128": true}},
		{"typed fast paths", map[string]any{"a": []string{"x"}, "b": map[string]string{"k": "v"}, "c": []int{1},
			"d": map[string]float64{"f": 1}, "e": map[string]bool{"t": true}, "f": []map[string]any{{"g": 1}},
			"h": map[string]int64{"i": 2}, "j": []float64{3}, "k": []int64{4}, "l": map[string]int{"m": 5}},
			map[string]any{"a": []any{"x"}, "b": map[string]any{"k": "v"}, "c": []any{int64(1)},
				"d": map[string]any{"f": 1.0}, "e": map[string]any{"t": true}, "f": []any{map[string]any{"g": int64(1)}},
				"h": map[string]any{"i": int64(2)}, "j": []any{3.0}, "k": []any{int64(4)}, "l": map[string]any{"m": int64(5)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Simplify(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSimplifyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"chan", make(chan int), "objectformat: cannot encode value of type chan int"},
		{"func", func() {}, "objectformat: cannot encode value of type func()"},
		{"complex", complex64(1), "objectformat: cannot encode value of type complex64"},
		{"nested func", map[string]any{"a": []any{func() {}}}, "objectformat: cannot encode value of type func()"},
		{"struct field", struct{ C chan int }{make(chan int)}, "objectformat: cannot encode value of type chan int"},
		{"float keys", map[float64]int{1: 1}, "objectformat: cannot encode map with key type float64"},
		{"bad json.Number", json.Number("0x10"), `objectformat: invalid number literal "0x10"`},
		{"invalid MarshalJSON", sfBadJSON{}, "objectformat: MarshalJSON of objectformat.sfBadJSON returned invalid JSON: unexpected EOF"},
		{"failing MarshalJSON", sfErrJSON{}, "objectformat: MarshalJSON of objectformat.sfErrJSON: boom"},
		{"panicking MarshalJSON", sfPanicJSON{}, "objectformat: panic while encoding: kaboom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Simplify(tc.in)
			require.EqualError(t, err, tc.want)
			_, err = EncodeJSON(tc.in, 2)
			require.Error(t, err)
			_, err = EncodeYAML(tc.in)
			require.Error(t, err)
		})
	}
}

func TestSimplifyCycles(t *testing.T) {
	c := &sfCycle{}
	c.Next = c
	done := make(chan error, 3)
	go func() {
		_, err := Simplify(c)
		done <- err
		_, err = EncodeJSON(c, 2)
		done <- err
		_, err = EncodeYAML(c)
		done <- err
	}()
	for range 3 {
		select {
		case err := <-done:
			require.ErrorIs(t, err, errNestedTooDeep)
		case <-time.After(10 * time.Second):
			t.Fatal("cyclic value hangs")
		}
	}

	m := map[string]any{}
	m["a"], m["b"] = m, m
	l := []any{nil}
	l[0] = l
	for _, v := range []any{m, l} {
		_, err := Simplify(v)
		require.ErrorIs(t, err, errNestedTooDeep)
		_, err = EncodeJSON(v, -1)
		require.ErrorIs(t, err, errNestedTooDeep)
		_, err = EncodeYAML(v)
		require.ErrorIs(t, err, errNestedTooDeep)
	}
}

func TestSimplifyIntKeysInEncoders(t *testing.T) {
	v := map[string]any{"osds": map[int]map[string]bool{0: {"up": true}, 11: {"up": false}, 2: {"up": true}}}
	// Simplify loses the int-ness of the keys ...
	s, err := Simplify(v)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"osds": map[string]any{
		"0": map[string]any{"up": true}, "11": map[string]any{"up": false}, "2": map[string]any{"up": true}}}, s)
	// ... while the encoders keep Python's int-key semantics.
	j, err := EncodeJSON(v, -1)
	require.NoError(t, err)
	require.Equal(t, `{"osds": {"0": {"up": true}, "2": {"up": true}, "11": {"up": false}}}`, string(j))
	y, err := EncodeYAML(v)
	require.NoError(t, err)
	require.Equal(t, "osds:\n  0:\n    up: true\n  2:\n    up: true\n  11:\n    up: false\n", string(y))
	// The simplified tree prints as Python would print str keys.
	j, err = EncodeJSON(s, -1)
	require.NoError(t, err)
	require.Equal(t, `{"osds": {"0": {"up": true}, "11": {"up": false}, "2": {"up": true}}}`, string(j))
	y, err = EncodeYAML(s)
	require.NoError(t, err)
	require.Equal(t, "osds:\n  '0':\n    up: true\n  '11':\n    up: false\n  '2':\n    up: true\n", string(y))
}

func TestEncodersAgreeWithSimplify(t *testing.T) {
	v := []any{sfSimple{"x"}, map[string]sfInner{"k": {A: 1, B: "b"}}, &sfPtrMarshaler{"p"}}
	s, err := Simplify(v)
	require.NoError(t, err)
	for _, indent := range []int{-1, 2} {
		a, err := EncodeJSON(v, indent)
		require.NoError(t, err)
		b, err := EncodeJSON(s, indent)
		require.NoError(t, err)
		require.Equal(t, string(b), string(a))
	}
	a, err := EncodeYAML(v)
	require.NoError(t, err)
	b, err := EncodeYAML(s)
	require.NoError(t, err)
	require.Equal(t, string(b), string(a))
}
