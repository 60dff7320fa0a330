package objectformat

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---- reference encodings ----

// encResult is one encoder's output or error text.
type encResult struct {
	Out string
	Err string
}

func newEncResult(b []byte, err error) encResult {
	if err != nil {
		return encResult{Err: err.Error()}
	}
	return encResult{Out: string(b)}
}

// encodings is what the three public encodings give for one value.
type encodings struct {
	JSON2, JSONLine, YAML encResult
}

func encodeAll(v any) encodings {
	return encodings{
		JSON2:    newEncResult(EncodeJSON(v, 2)),
		JSONLine: newEncResult(EncodeJSON(v, -1)),
		YAML:     newEncResult(EncodeYAML(v)),
	}
}

// treeEncodings encodes the tree tr (or reports treeErr for all three).
func treeEncodings(tr any, treeErr error) encodings {
	if treeErr != nil {
		r := encResult{Err: treeErr.Error()}
		return encodings{r, r, r}
	}
	return encodeAll(tr)
}

// slowTree is the conversion the encoders applied to a struct-shaped value
// before the fast path existed: simplifier.value with integer keys kept.
// EncodeJSON(v) and EncodeYAML(v) of a value that reaches the encoders'
// generic branch at the top level were exactly the encoding of this tree
// (or this error).
func slowTree(v any) (out any, err error) {
	defer recoverAsError(&err)
	s := simplifier{keepIntKeys: true}
	return s.value(v, 0)
}

func newTestYAMLEmitter() pyYAMLEmitter {
	return pyYAMLEmitter{whitespace: true, indention: true, indent: -1, simp: simplifier{keepIntKeys: true}}
}

// requireFastEquivalent checks that the encoders give for v exactly what
// they give for its tree: the pre-fast-path tree (always) and Simplify's
// tree (unless the value holds integer-keyed maps, which Simplify turns into
// string keys while the encoders keep them as Python ints). It returns the
// encodings.
func requireFastEquivalent(t testing.TB, v any, intKeys bool) encodings {
	t.Helper()
	got := encodeAll(v)
	want := treeEncodings(slowTree(v))
	require.Equal(t, want, got, "fast path differs from the Simplify path for %#v", v)
	if !intKeys {
		require.Equal(t, treeEncodings(Simplify(v)), got, "fast path differs from encoding Simplify(v) for %#v", v)
	}
	if fastTopPlan(v) != nil {
		// A successful encoding must come from the fast path itself, not
		// from its fallback.
		je := pyJSONEncoder{indent: 2, simp: simplifier{keepIntKeys: true}}
		require.Equal(t, got.JSON2.Err == "", je.encodeFast(v, 0), "JSON fast path fell back: %s", got.JSON2.Err)
		if got.JSON2.Err == "" {
			require.Equal(t, got.JSON2.Out, string(je.buf))
		}
		ye := newTestYAMLEmitter()
		require.Equal(t, got.YAML.Err == "", ye.encodeFast(v, yamlCtxRoot, 0), "YAML fast path fell back: %s", got.YAML.Err)
	}
	return got
}

// ---- types ----

type fpItem struct {
	ID   int     `json:"id"`
	Name string  `json:"name"`
	Size float64 `json:"size"`
}

type fpState string
type fpCount uint16
type fpRatio float32
type fpBlob []byte
type fpByte uint8

type fpKinds struct {
	B        bool    `json:"b"`
	I        int     `json:"i"`
	I8       int8    `json:"i8"`
	I16      int16   `json:"i16"`
	I32      int32   `json:"i32"`
	I64      int64   `json:"i64"`
	U        uint    `json:"u"`
	U8       uint8   `json:"u8"`
	U16      uint16  `json:"u16"`
	U32      uint32  `json:"u32"`
	U64      uint64  `json:"u64"`
	UP       uintptr `json:"up"`
	F32      float32 `json:"f32"`
	F64      float64 `json:"f64"`
	S        string  `json:"s"`
	St       fpState `json:"st"`
	C        fpCount `json:"c"`
	R        fpRatio `json:"r"`
	Untagged string
}

// fpOmit has omitempty and omitzero on every kind of field.
type fpOmit struct {
	B    bool                       `json:"b,omitempty"`
	I    int                        `json:"i,omitempty"`
	U    uint64                     `json:"u,omitempty"`
	F    float64                    `json:"f,omitempty"`
	F32  float32                    `json:"f32,omitempty"`
	S    string                     `json:"s,omitempty"`
	P    *int                       `json:"p,omitempty"`
	Sl   []int                      `json:"sl,omitempty"`
	Arr  [2]int                     `json:"arr,omitempty"`
	Arr0 [0]int                     `json:"arr0,omitempty"`
	St   fpItem                     `json:"st,omitempty"` // never omitted by omitempty
	If   any                        `json:"if,omitempty"`
	By   []byte                     `json:"by,omitempty"`
	PP   **fpItem                   `json:"pp,omitempty"`
	ZB   bool                       `json:"zb,omitzero"`
	ZI   int8                       `json:"zi,omitzero"`
	ZU   uint16                     `json:"zu,omitzero"`
	ZF   float64                    `json:"zf,omitzero"` // -0.0 is not zero for IsZero
	ZS   string                     `json:"zs,omitzero"`
	ZP   *string                    `json:"zp,omitzero"`
	ZSl  []string                   `json:"zsl,omitzero"` // empty non-nil is not zero
	ZArr [2]bool                    `json:"zarr,omitzero"`
	ZSt  fpItem                     `json:"zst,omitzero"`
	ZIf  any                        `json:"zif,omitzero"`
	ZZ   fpZeroer                   `json:"zz,omitzero"`
	ZPZ  fpPtrZeroer                `json:"zpz,omitzero"`
	ZZP  *fpZeroer                  `json:"zzp,omitzero"`
	ZIZ  interface{ IsZero() bool } `json:"ziz,omitzero"`
	BZ   fpItem                     `json:"bz,omitempty,omitzero"`
}

// fpZeroer decides its own zero (value receiver).
type fpZeroer struct{ N int }

func (z fpZeroer) IsZero() bool { return z.N < 0 }

// fpPtrZeroer decides its own zero (pointer receiver).
type fpPtrZeroer struct{ N int }

func (z *fpPtrZeroer) IsZero() bool { return z.N == 7 }

type fpBase struct {
	ID   int    `json:"id"`
	Kind string `json:"kind"`
}

type fpMeta struct {
	Owner string `json:"owner"`
	ID    int    `json:"meta_id"`
}

type fpunexported struct {
	Visible string `json:"visible"`
	Iface   any    `json:"iface"`
}

type fpEmbed struct {
	fpBase
	*fpMeta
	fpunexported
	Name   string `json:"name"`
	Kind   string `json:"kind"` // shadows fpBase.Kind
	hidden int
	Skip   string `json:"-"`
	Dash   string `json:"-,"` //lint:ignore SA5008 encoding/json names this field "-"
}

type fpConflictA struct{ X, Y int }
type fpConflictB struct {
	X int
	Y int `json:"Y"`
}
type fpConflict struct {
	fpConflictA
	fpConflictB
	Z int
}

type fpNested struct {
	Title  string       `json:"title"`
	Item   fpItem       `json:"item"`
	PItem  *fpItem      `json:"pitem"`
	Items  []fpItem     `json:"items"`
	PItems []*fpItem    `json:"pitems"`
	Arr    [2]fpItem    `json:"arr"`
	Grid   [][]int32    `json:"grid"`
	Tags   []string     `json:"tags"`
	Bytes  [3]byte      `json:"bytes"`
	Any    any          `json:"any"`
	Anys   []any        `json:"anys"`
	Deep   ***fpItem    `json:"deep"`
	Empty  struct{}     `json:"empty"`
	Opt    fpOmit       `json:"opt"`
	Err    error        `json:"err"`
	Str    fmt.Stringer `json:"str"`
}

type fpBytes struct {
	B  []byte   `json:"b"`
	NB fpBlob   `json:"nb"`
	EB []fpByte `json:"eb"`
}

type fpList struct {
	V    int     `json:"v"`
	Next *fpList `json:"next,omitempty"`
}

type fpTree struct {
	Name string   `json:"name"`
	Kids []fpTree `json:"kids,omitempty"`
}

type fpBox struct {
	X any `json:"x"`
}

type fpCycle struct {
	S []*fpCycle `json:"s"`
}

// Mutually recursive types where one of them is ineligible (a map field).
type fpMutA struct {
	B *fpMutB `json:"b"`
	N int     `json:"n"`
}
type fpMutB struct {
	A *fpMutA        `json:"a"`
	M map[string]int `json:"m"`
}

// fpCycA and fpCycB reach an ineligible type (time.Time) through a cycle.
type fpCycA struct {
	B *fpCycB `json:"b"`
	N int     `json:"n"`
}
type fpCycB struct {
	A    *fpCycA   `json:"a"`
	When time.Time `json:"when"`
}

// Hook types.
type fpJSONM struct{ V int }

func (m fpJSONM) MarshalJSON() ([]byte, error) {
	return []byte(`{"m": ` + strconv.Itoa(m.V) + `, "l": [1, 2.5, "x"]}`), nil
}

type fpPtrJSONM struct{ V int }

func (m *fpPtrJSONM) MarshalJSON() ([]byte, error) { return []byte(strconv.Itoa(m.V * 100)), nil }

type fpTextM struct{ V string }

func (m fpTextM) MarshalText() ([]byte, error) { return []byte("text:" + m.V), nil }

type fpPtrTextM struct{ V string }

func (m *fpPtrTextM) MarshalText() ([]byte, error) { return []byte("ptext:" + m.V), nil }

type fpSimp struct{ V int }

func (s fpSimp) ToSimplified() any { return map[string]any{"simplified": s.V} }

type fpPtrSimp struct{ V int }

func (s *fpPtrSimp) ToSimplified() any { return []any{"psimp", s.V} }

type fpErrJSON struct{}

func (fpErrJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("fp boom") }

type fpPanicJSON struct{}

func (fpPanicJSON) MarshalJSON() ([]byte, error) { panic("fp kaboom") }

type fpWithHook[T any] struct {
	Name string `json:"name"`
	H    T      `json:"h"`
}

type fpDeepHook[T any] struct {
	Outer string          `json:"outer"`
	In    []fpWithHook[T] `json:"in"`
}

type fpEmbedsHook struct {
	fpJSONM
	X int `json:"x"`
}

type fpEmbedsTime struct {
	time.Time
	X int `json:"x"`
}

type fpTimes struct {
	At   time.Time  `json:"at"`
	PAt  *time.Time `json:"pat"`
	Name string     `json:"name"`
}

type fpQuoted struct {
	N int `json:"n,string"`
}

type fpMapField struct {
	M map[string]string `json:"m"`
}

type fpChanField struct {
	Name string   `json:"name"`
	C    chan int `json:"c"`
}

type fpUnexportedChan struct {
	Name string `json:"name"`
	c    chan int
}

type fpNumber struct {
	N json.Number `json:"n"`
}

type fpFuncField struct {
	F func() `json:"f"`
}

type fpComplexField struct {
	C complex128 `json:"c"`
}

type fpNetIP struct {
	IP net.IP `json:"ip"`
}

type fpRaw struct {
	Raw json.RawMessage `json:"raw"`
}

type fpKeys struct {
	Yes     string `json:"yes"`
	Num     string `json:"123"`
	Space   string `json:"a b"`
	Punct   string `json:"-x: #y"`
	Unicode string `json:"größe"`
	Long    string `json:"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"`
	Invalid string `json:"in'valid"` //lint:ignore SA5008 deliberately not a valid name: encoding/json uses the Go name
	Upper   string `json:"Z"`
	Lower   string `json:"z"`
	Tilde   string `json:"~"`
}

type fpStrings struct {
	A []string `json:"a"`
}

// ---- the table ----

func fpPtr[T any](v T) *T { return &v }

func fpLongList(n int) *fpList {
	var l *fpList
	for i := n; i > 0; i-- {
		l = &fpList{V: i, Next: l}
	}
	return l
}

func fpDeepTree(n int) fpTree {
	t := fpTree{Name: "leaf"}
	for i := 0; i < n; i++ {
		t = fpTree{Name: strconv.Itoa(i), Kids: []fpTree{t}}
	}
	return t
}

func fpDeepBox(n int) fpBox {
	b := fpBox{X: "bottom"}
	for i := 0; i < n; i++ {
		b = fpBox{X: b}
	}
	return b
}

type fpCase struct {
	name    string
	v       any
	fast    bool // the fast path applies to the top-level value
	intKeys bool // the value holds integer-keyed maps
}

func fpCases() []fpCase {
	seven := 7
	item := fpItem{ID: 1, Name: "one", Size: 1.5}
	pitem := &item
	ppitem := &pitem
	strs := []string{
		"", "plain", "with space", " lead", "trail ", "multi\nline", "tab\tx", "yes", "No", "null", "~",
		"123", "0x1F", "1.5", "1e3", "09", "2001-12-14", "-", "- x", "a: b", "#c", "a #c", "key:", "'q'", `"dq"`,
		"é", "€uro", "😀", "\u2028", "\ufeff", "\x00\x07\x1b", "\x7f", "bad\xffutf8", "---", "...", "<<", "=",
		strings.Repeat("long words ", 12), strings.Repeat("x", 100), strings.Repeat("é ", 50),
		"trailing\n", "\nleading", "a\n\nb", "a \nb", "a\n b",
	}
	var cases []fpCase
	add := func(name string, v any, fast bool) { cases = append(cases, fpCase{name: name, v: v, fast: fast}) }
	addInt := func(name string, v any, fast bool) {
		cases = append(cases, fpCase{name: name, v: v, fast: fast, intKeys: true})
	}

	add("item", item, true)
	add("*item", &item, true)
	add("nil *item", (*fpItem)(nil), true)
	add("**item", ppitem, true)
	add("[]item", []fpItem{item, {ID: -2, Name: "two", Size: math.Copysign(0, -1)}, {}}, true)
	add("empty []item", []fpItem{}, true)
	add("nil []item", []fpItem(nil), true)
	add("[]*item", []*fpItem{&item, nil, {ID: 3}}, true)
	add("[2]item", [2]fpItem{item, {}}, true)
	add("[0]item", [0]fpItem{}, true)
	add("[][]item", [][]fpItem{{item}, {}, nil}, true)
	// []any is a slice of interfaces to the planner (the encoders' type
	// switch takes it first; requireFastEquivalent runs both).
	add("[]any of items", []any{item, &item, map[string]any{"k": []fpItem{item}}, []*fpItem{nil}}, true)
	add("map of items", map[string]any{"a": item, "b": []fpItem{item}}, false)
	add("anonymous struct", struct {
		A int `json:"a"`
		b int
	}{1, 2}, true)
	add("empty struct", struct{}{}, true)
	add("only unexported", struct{ a, b int }{1, 2}, true)
	add("[]int32", []int32{1, -2, 3}, true)
	add("[]uint16", []uint16{1, 65535}, true)
	add("[]int64 (YAML default branch)", []int64{1, 2}, true)
	add("[]float32", []float32{0.1, 3.4e38, float32(math.Inf(-1))}, true)
	add("*int root", fpPtr(42), true)
	add("*string root", fpPtr("x"), true)
	add("*string root needing quotes", fpPtr("123"), true)
	add("*float root", fpPtr(1e17), true)
	add("*bool root", fpPtr(true), true)
	add("nil *int root", (*int)(nil), true)
	add("[]*int", []*int{&seven, nil}, true)

	add("kinds zero", fpKinds{}, true)
	add("kinds max", fpKinds{
		B: true, I: math.MaxInt, I8: math.MinInt8, I16: math.MaxInt16, I32: math.MinInt32, I64: math.MinInt64,
		U: math.MaxUint, U8: 255, U16: 65535, U32: math.MaxUint32, U64: math.MaxUint64, UP: 12345,
		F32: math.MaxFloat32, F64: math.MaxFloat64, S: "s", St: "state", C: 9, R: 0.1, Untagged: "u",
	}, true)
	for _, f := range []float64{0, math.Copysign(0, -1), 0.1, 1.5, 1e16, 1e17, 1e-5, 1e-4, 123456789.125, 5e-324,
		math.NaN(), math.Inf(1), math.Inf(-1), -2.5e-310, 1e22, 9007199254740993} {
		add(fmt.Sprintf("float64 %v", f), fpKinds{F64: f, F32: float32(f), R: fpRatio(f)}, true)
	}
	for _, f := range []float32{0.1, 3.4e38, 1e-45, 16777217, 0.3, 1.1, 1e10, 1e-10, float32(math.NaN()),
		float32(math.Inf(1))} {
		add(fmt.Sprintf("float32 %v", f), fpKinds{F32: f, R: fpRatio(f)}, true)
	}
	for i, s := range strs {
		add(fmt.Sprintf("string %d %q", i, s), fpKinds{S: s, St: fpState(s)}, true)
		add(fmt.Sprintf("string in list %d", i), fpStrings{A: []string{s, s}}, true)
		add(fmt.Sprintf("string in nested list %d", i), []fpTree{{Name: s, Kids: []fpTree{{Name: s}}}}, true)
	}

	zero := 0
	empty := ""
	add("omit all empty", fpOmit{}, true)
	add("omit empty non-nil", fpOmit{P: &zero, Sl: []int{}, By: []byte{}, ZP: &empty, ZSl: []string{}, If: 0,
		ZIf: "", ZF: math.Copysign(0, -1), ZZ: fpZeroer{N: 0}, ZPZ: fpPtrZeroer{N: 0}, ZZP: &fpZeroer{N: -1},
		ZIZ: fpZeroer{N: 3}}, true)
	add("omit custom zero", fpOmit{ZZ: fpZeroer{N: -1}, ZPZ: fpPtrZeroer{N: 7}, ZIZ: fpZeroer{N: -5},
		ZZP: &fpZeroer{N: 1}}, true)
	add("omit custom zero via pointer (addressable)", &fpOmit{ZPZ: fpPtrZeroer{N: 7}}, true)
	add("omit custom zero in slice (addressable)", []fpOmit{{ZPZ: fpPtrZeroer{N: 7}}, {ZPZ: fpPtrZeroer{N: 8}}}, true)
	add("omit nil pointer in interface", fpOmit{ZIZ: (*fpZeroer)(nil)}, true)
	add("omit set", fpOmit{B: true, I: -1, U: 1, F: 0.5, F32: 0.25, S: "s", P: &seven, Sl: []int{1}, Arr: [2]int{0, 1},
		St: item, If: map[string]any{"k": "v"}, By: []byte("x"), PP: &pitem, ZB: true, ZI: 1, ZU: 1, ZF: 1, ZS: "z",
		ZP: &empty, ZSl: []string{"a"}, ZArr: [2]bool{false, true}, ZSt: item, ZIf: false, BZ: item}, true)
	add("omit set without bytes", fpOmit{B: true, I: -1, Arr: [2]int{0, 1}, ZArr: [2]bool{true}, ZSt: fpItem{Name: "x"},
		PP: new(*fpItem)}, true)

	add("embedded", fpEmbed{
		fpBase:       fpBase{ID: 1, Kind: "base"},
		fpMeta:       &fpMeta{Owner: "me", ID: 9},
		fpunexported: fpunexported{Visible: "v", Iface: fpJSONM{V: 3}},
		Name:         "n", Kind: "outer", hidden: 5, Skip: "skip", Dash: "dash",
	}, true)
	add("embedded nil pointer", fpEmbed{Name: "n"}, true)
	add("embedded unexported with hook pointers", fpEmbed{fpunexported: fpunexported{Iface: &fpPtrJSONM{V: 2}}}, true)
	add("embedded unexported with non-addressable pointer hook", fpEmbed{fpunexported: fpunexported{Iface: fpPtrJSONM{V: 2}}}, true)
	add("embedding conflicts", fpConflict{fpConflictA{1, 2}, fpConflictB{3, 4}, 5}, true)
	add("pointer to embedded", &fpEmbed{fpMeta: &fpMeta{}}, true)

	nested := fpNested{
		Title:  "t",
		Item:   item,
		PItem:  &item,
		Items:  []fpItem{item, {}},
		PItems: []*fpItem{nil, &item},
		Arr:    [2]fpItem{item},
		Grid:   [][]int32{{1, 2}, {}, nil},
		Tags:   []string{"a", "b c"},
		Bytes:  [3]byte{1, 2, 255},
		Any:    map[string]any{"x": []any{1, "y", nil, map[string]any{}}},
		Anys:   []any{nil, 1.5, item, []int{1}, fpSimp{V: 1}, &fpPtrSimp{V: 2}, fpTextM{V: "t"}, time.Unix(0, 0).UTC()},
		Deep:   &ppitem,
		Opt:    fpOmit{S: "s"},
		Err:    errors.New("an error is a struct without exported fields"),
		Str:    net.IPv4(1, 2, 3, 4),
	}
	add("nested", nested, true)
	add("nested pointer", &nested, true)
	add("nested zero", fpNested{}, true)
	add("nested in slice", []fpNested{nested, {}}, true)
	add("nested in []any", []any{nested, &nested}, true)
	add("nested deep nil", fpNested{Deep: new(**fpItem)}, true)

	addInt("interface int-keyed map", fpBox{X: map[int]string{10: "a", 9: "b", -1: "c"}}, true)
	addInt("interface int-keyed map of structs", fpNested{Any: map[uint8]fpItem{2: item, 1: {}}}, true)
	add("interface nil", fpBox{}, true)
	add("interface struct", fpBox{X: item}, true)
	add("interface pointer struct", fpBox{X: &item}, true)
	add("interface map of structs", fpBox{X: map[string]fpItem{"b": item, "a": {}}}, true)
	add("interface time", fpBox{X: time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)}, true)
	add("interface Marshaler", fpBox{X: fpJSONM{V: 1}}, true)
	add("interface pointer Marshaler", fpBox{X: &fpPtrJSONM{V: 1}}, true)
	add("interface non-addressable pointer Marshaler", fpBox{X: fpPtrJSONM{V: 1}}, true)
	add("interface ToSimplified", fpBox{X: fpSimp{V: 4}}, true)
	add("interface TextMarshaler", fpBox{X: fpTextM{V: "x"}}, true)
	add("interface bytes", fpBox{X: []byte("bin")}, true)
	add("interface json.Number", fpBox{X: json.Number("123456789012345678901234567890")}, true)
	add("interface bad json.Number", fpBox{X: json.Number("0x1")}, true)
	add("interface chan", fpBox{X: make(chan int)}, true)
	add("interface failing Marshaler", fpBox{X: fpErrJSON{}}, true)
	add("interface panicking Marshaler", fpBox{X: fpPanicJSON{}}, true)
	addInt("interface mixed keys", fpBox{X: map[any]int{1: 1, "a": 2}}, true)
	add("interfaces in slice", []fpBox{{X: 1}, {X: "s"}, {X: []any{}}, {X: map[string]any{}}}, true)

	add("bytes nil", fpBytes{}, true)
	add("bytes empty", fpBytes{B: []byte{}, NB: fpBlob{}, EB: []fpByte{}}, true)
	add("bytes set", fpBytes{B: []byte("hello"), NB: fpBlob(strings.Repeat("x", 100)), EB: []fpByte{1, 2}}, true)
	add("bytes only named", fpBytes{NB: fpBlob{0, 255}}, true)
	add("top-level named bytes", fpBlob("abc"), false) // scalars and bytes keep the type switch
	add("top-level nil named bytes", fpBlob(nil), false)
	add("bytes before error", struct {
		A []byte `json:"a"`
		Z any    `json:"z"`
	}{[]byte("a"), make(chan int)}, true)
	add("error before bytes", struct {
		A any    `json:"a"`
		Z []byte `json:"z"`
	}{func() {}, []byte("z")}, true)
	add("two errors in index order", struct {
		Z any `json:"z"`
		A any `json:"a"`
	}{make(chan int), complex(1, 2)}, true)

	add("keys", fpKeys{Yes: "y", Num: "n", Space: "s", Punct: "p", Unicode: "u", Long: "l", Invalid: "i", Upper: "U",
		Lower: "l", Tilde: "~"}, true)
	add("keys in list", []fpKeys{{}, {Long: strings.Repeat("v ", 60)}}, true)

	add("list 10", fpLongList(10), true)
	add("tree", fpDeepTree(5), true)
	add("[]tree", []fpTree{fpDeepTree(2), {}, fpDeepTree(1)}, true)
	for _, n := range []int{498, 499, 500, 501, 502} {
		add(fmt.Sprintf("list depth %d", n), *fpLongList(n), true)
		add(fmt.Sprintf("list pointer depth %d", n), fpLongList(n), true)
		add(fmt.Sprintf("tree depth %d", n), fpDeepTree(n), true)
		add(fmt.Sprintf("box depth %d", n), fpDeepBox(n), true)
		add(fmt.Sprintf("box pointer depth %d", n), fpPtr(fpDeepBox(n)), true) // the other parity
		add(fmt.Sprintf("list in []any depth %d", n), []any{fpLongList(n)}, true)
	}
	for _, n := range []int{497, 498, 499, 500} {
		b := []any{fpDeepBox(n)}
		add(fmt.Sprintf("box in list depth %d", n), map[string]any{"l": b}, false)
	}
	cyc := &fpList{V: 1}
	cyc.Next = cyc
	add("cyclic list", cyc, true)
	cyc2 := &fpCycle{}
	cyc2.S = []*fpCycle{nil, cyc2}
	add("cyclic slice", cyc2, true)
	box := &fpBox{}
	box.X = box
	add("cyclic interface", box, true)

	// Ineligible types: the whole value takes the Simplify path.
	add("mutual recursion with a map", fpMutA{B: &fpMutB{A: &fpMutA{N: 2}, M: map[string]int{"a": 1}}, N: 1}, true)
	add("mutual recursion, other side", &fpMutB{}, true)
	add("a cycle through time.Time", fpCycA{B: &fpCycB{A: &fpCycA{N: 2}}, N: 1}, false)
	add("time field", fpTimes{At: time.Date(2021, 2, 3, 4, 5, 6, 7, time.FixedZone("x", -3600)), Name: "t"}, false)
	add("time pointer field", fpTimes{PAt: fpPtr(time.Unix(1, 0).UTC())}, false)
	add("time in slice", []time.Time{time.Unix(0, 0).UTC()}, false)
	add("embeds time", fpEmbedsTime{Time: time.Unix(5, 0).UTC(), X: 1}, false)
	add("embeds marshaler", fpEmbedsHook{fpJSONM{V: 2}, 3}, false)
	add("quoted field", fpQuoted{N: 5}, false)
	add("map field", fpMapField{M: map[string]string{"b": "2", "a": "1"}}, true) // the map itself takes the Simplify path
	add("chan field", fpChanField{Name: "x", C: make(chan int)}, false)
	add("nil chan field", fpChanField{Name: "x"}, false)
	add("unexported chan is skipped", fpUnexportedChan{Name: "x", c: make(chan int)}, true)
	add("func field", fpFuncField{}, false)
	add("complex field", fpComplexField{C: 1i}, false)
	add("json.Number field", fpNumber{N: "12.50"}, false)
	add("net.IP field", fpNetIP{IP: net.IPv4(10, 0, 0, 1)}, false)
	add("RawMessage field", fpRaw{Raw: json.RawMessage(`{"b": 1, "a": [true]}`)}, false)
	add("[]time", []*time.Time{nil}, false)
	add("Marshaler top", fpJSONM{V: 1}, false)
	add("Marshaler slice", []fpJSONM{{V: 1}}, false)
	add("pointer Marshaler slice (addressable)", []fpPtrJSONM{{V: 1}}, false)
	add("pointer Marshaler top (not addressable)", fpPtrJSONM{V: 1}, false)
	add("TextMarshaler slice", []fpTextM{{V: "a"}}, false)
	add("pointer TextMarshaler slice", []fpPtrTextM{{V: "a"}}, false)
	add("ToSimplified slice", []fpSimp{{V: 1}}, false)
	add("pointer ToSimplified slice", []fpPtrSimp{{V: 1}}, false)
	add("pointer ToSimplified pointers", []*fpPtrSimp{{V: 1}, nil}, false)
	add("hook field", fpWithHook[fpJSONM]{Name: "n", H: fpJSONM{V: 2}}, false)
	add("pointer hook field", fpWithHook[*fpPtrJSONM]{Name: "n", H: &fpPtrJSONM{V: 2}}, false)
	add("pointer hook field by value", fpWithHook[fpPtrJSONM]{Name: "n", H: fpPtrJSONM{V: 2}}, false)
	add("pointer hook field by value, addressable", &fpWithHook[fpPtrJSONM]{Name: "n", H: fpPtrJSONM{V: 2}}, false)
	add("text hook field", fpWithHook[fpPtrTextM]{H: fpPtrTextM{V: "p"}}, false)
	add("simplifier hook field", fpWithHook[fpSimp]{H: fpSimp{V: 3}}, false)
	add("pointer simplifier hook field", &fpWithHook[fpPtrSimp]{H: fpPtrSimp{V: 3}}, false)
	add("deep hook", fpDeepHook[fpTextM]{Outer: "o", In: []fpWithHook[fpTextM]{{Name: "a", H: fpTextM{V: "x"}}}}, false)
	add("deep pointer hook", &fpDeepHook[fpPtrJSONM]{In: []fpWithHook[fpPtrJSONM]{{H: fpPtrJSONM{V: 4}}}}, false)
	add("deep failing hook", fpDeepHook[fpErrJSON]{In: []fpWithHook[fpErrJSON]{{}}}, false)
	add("deep panicking hook", fpDeepHook[fpPanicJSON]{In: []fpWithHook[fpPanicJSON]{{}}}, false)
	add("hook interface field", fpWithHook[json.Marshaler]{H: fpJSONM{V: 5}}, false)
	add("nil hook interface field", fpWithHook[json.Marshaler]{}, false)
	add("[]complex", []complex64{1}, false)
	add("[]map", []map[string]fpItem{{"a": item}}, true)
	return cases
}

// TestFastPathEquivalence requires the fast path to encode every value
// exactly as the Simplify path does (same bytes, same errors).
func TestFastPathEquivalence(t *testing.T) {
	for _, tc := range fpCases() {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.fast, fastTopPlan(tc.v) != nil, "fast path eligibility")
			requireFastEquivalent(t, tc.v, tc.intKeys)
		})
	}
}

// TestFastPathOutputs pins a few outputs (the equivalence test alone would
// accept a change of both paths).
func TestFastPathOutputs(t *testing.T) {
	items := []fpItem{{ID: 1, Name: "a", Size: 1}, {ID: 2, Name: "yes", Size: 0.1}}
	got := requireFastEquivalent(t, items, false)
	require.Equal(t, "[\n  {\n    \"id\": 1,\n    \"name\": \"a\",\n    \"size\": 1.0\n  },\n"+
		"  {\n    \"id\": 2,\n    \"name\": \"yes\",\n    \"size\": 0.1\n  }\n]", got.JSON2.Out)
	require.Equal(t, `[{"id": 1, "name": "a", "size": 1.0}, {"id": 2, "name": "yes", "size": 0.1}]`, got.JSONLine.Out)
	require.Equal(t, "- id: 1\n  name: a\n  size: 1.0\n- id: 2\n  name: 'yes'\n  size: 0.1\n", got.YAML.Out)

	got = requireFastEquivalent(t, fpOmit{}, false)
	// zpz: a pointer-receiver IsZero on a copy (the value is not
	// addressable); zzp: a nil pointer is zero; zz: N < 0 is zero.
	require.Equal(t, `{"arr": [0, 0], "st": {"id": 0, "name": "", "size": 0.0}, "zpz": {"N": 0}, "zz": {"N": 0}}`,
		got.JSONLine.Out)

	got = requireFastEquivalent(t, struct {
		F float32 `json:"f"`
		B []byte  `json:"b"`
		E struct{}
	}{F: 0.1, B: []byte("hi")}, false)
	require.Equal(t, encResult{Err: errJSONBytes.Error()}, got.JSON2)
	require.Equal(t, "E: {}\nb: !!binary |\n  aGk=\nf: 0.1\n", got.YAML.Out)

	got = requireFastEquivalent(t, fpPtr("123"), false)
	require.Equal(t, "'123'\n", got.YAML.Out)
	got = requireFastEquivalent(t, fpPtr(int8(5)), false)
	require.Equal(t, "5\n...\n", got.YAML.Out)
}

// TestFastPathCycles: cyclic values still fail with errNestedTooDeep, and
// quickly (the fast path and the fallback each stop at the depth limit).
func TestFastPathCycles(t *testing.T) {
	cyc := &fpList{V: 1}
	cyc.Next = cyc
	done := make(chan error, 3)
	go func() {
		_, err := EncodeJSON(cyc, 2)
		done <- err
		_, err = EncodeJSON([]*fpList{cyc}, -1)
		done <- err
		_, err = EncodeYAML(*cyc)
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
}

// TestFastPathFailureRestoresState: a failing fast path inside a larger
// document leaves no trace (bytes or YAML writer state) before the
// fallback.
func TestFastPathFailureRestoresState(t *testing.T) {
	v := map[string]any{
		"a": []any{fpBox{X: fpItem{ID: 1}}, fpBytes{B: []byte("x")}, "after"},
		"b": fpBytes{NB: fpBlob("y")},
		"c": &fpBox{X: []any{"z", fpItem{Name: "in any"}}},
	}
	want := treeEncodings(slowTree(v))
	require.Equal(t, want, encodeAll(v))
	require.Contains(t, want.YAML.Out, "!!binary")

	je := pyJSONEncoder{indent: 2, simp: simplifier{keepIntKeys: true}}
	je.buf = append(je.buf, "prefix"...)
	require.False(t, je.encodeFast(fpBox{X: make(chan int)}, 0))
	require.Equal(t, "prefix", string(je.buf))
	require.False(t, je.encodeFast(fpBox{X: fpPanicJSON{}}, 0))
	require.Equal(t, "prefix", string(je.buf))

	ye := newTestYAMLEmitter()
	ye.buf = append(ye.buf, "prefix"...)
	ye.column = 6
	before := ye.saveState()
	require.False(t, ye.encodeFast([]fpBox{{X: 1}, {X: fpPanicJSON{}}}, yamlCtxRoot, 0))
	require.Equal(t, before, ye.saveState())
	require.Equal(t, "prefix", string(ye.buf))
}

// TestFastPathResponder: the fast path is what module commands returning
// structs get through the default formatter.
func TestFastPathResponder(t *testing.T) {
	items := []fpItem{{ID: 1, Name: "x", Size: 2}}
	for _, f := range []Format{JSON, JSONPretty, YAML} {
		got, err := ObjectFormatter{}.Format(items, f)
		require.NoError(t, err)
		tr, err := Simplify(items)
		require.NoError(t, err)
		want, err := ObjectFormatter{}.Format(tr, f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}

// TestFastPathPlans checks eligibility decisions on their own, including
// recursive types and plans built concurrently for fresh types.
func TestFastPathPlans(t *testing.T) {
	require.Equal(t, fastStruct, fastPlanOf(reflect.TypeFor[fpTree]()).kind)
	require.Equal(t, fastPointer, fastPlanOf(reflect.TypeFor[*fpList]()).kind)
	require.Equal(t, fastStruct, fastPlanOf(reflect.TypeFor[fpMutA]()).kind, "map fields are delegated, not refused")
	require.Equal(t, fastPointer, fastPlanOf(reflect.TypeFor[*fpMutB]()).kind)
	require.Equal(t, fastStruct, fastPlanOf(reflect.TypeFor[fpMutB]()).kind)
	require.Equal(t, fastNo, fastPlanOf(reflect.TypeFor[fpCycA]()).kind, "ineligible through a cycle")
	require.Equal(t, fastNo, fastPlanOf(reflect.TypeFor[*fpCycB]()).kind)
	require.Equal(t, fastNo, fastPlanOf(reflect.TypeFor[json.Number]()).kind)
	require.Equal(t, fastNo, fastPlanOf(reflect.TypeFor[intKeyMap]()).kind)
	require.Equal(t, fastBytes, fastPlanOf(reflect.TypeFor[fpBlob]()).kind)
	require.Equal(t, fastArray, fastPlanOf(reflect.TypeFor[[4]byte]()).kind)
	require.Equal(t, fastNo, fastPlanOf(reflect.TypeFor[net.IP]()).kind)
	require.Nil(t, fastTopPlan(nil))
	require.Nil(t, fastTopPlan(3)) // scalars keep the type-switch path

	// Struct fields are sorted as the encoders sort map keys.
	p := fastPlanOf(reflect.TypeFor[fpKeys]())
	var names []string
	for _, f := range p.fields {
		names = append(names, f.name)
	}
	require.IsIncreasing(t, names)

	// Fresh types built from many goroutines at once (run with -race).
	type pair struct {
		v         any
		got, want encodings
	}
	results := make(chan pair, 8*20*2)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				self := reflect.StructOf([]reflect.StructField{
					{Name: "A", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(fmt.Sprintf(`json:"a%d"`, i))},
					{Name: "B", Type: reflect.TypeFor[[]fpTree](), Tag: `json:"b,omitempty"`},
					{Name: "C", Type: reflect.TypeFor[*fpList]()},
				})
				v := reflect.New(self).Elem()
				v.Field(0).SetInt(int64(g))
				for _, x := range []any{v.Interface(), reflect.MakeSlice(reflect.SliceOf(self), 2, 2).Interface()} {
					results <- pair{x, encodeAll(x), treeEncodings(slowTree(x))}
				}
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		require.NotNil(t, fastTopPlan(r.v))
		require.Equal(t, r.want, r.got)
		require.Empty(t, r.got.JSON2.Err)
	}
}

// TestFastPathAllocs: no allocation per element for a slice of structs with
// scalar fields.
func TestFastPathAllocs(t *testing.T) {
	small := make([]fpItem, 10)
	big := make([]fpItem, 1000)
	for i := range big {
		big[i] = fpItem{ID: i, Name: "obj-" + strconv.Itoa(i), Size: float64(i) / 3}
		small[i%10] = big[i]
	}
	for _, enc := range []struct {
		name string
		f    func(any) ([]byte, error)
	}{
		{"json", func(v any) ([]byte, error) { return EncodeJSON(v, 2) }},
		{"yaml", EncodeYAML},
	} {
		a := testing.AllocsPerRun(20, func() { _, _ = enc.f(small) })
		b := testing.AllocsPerRun(20, func() { _, _ = enc.f(big) })
		// Only the output buffer grows (a handful of allocations).
		require.Less(t, b, a+20, "%s: allocations grow with the element count (%v for 10, %v for 1000)", enc.name, a, b)
	}
}

// TestFastPathPresize: a slice long enough to be presized encodes as the
// Simplify path does, and its output buffer is allocated about once (not
// grown a quarter at a time: some five times the output in all).
func TestFastPathPresize(t *testing.T) {
	long := make([]fpItem, 3*presizeMin)
	for i := range long {
		long[i] = fpItem{ID: i * 997, Name: "obj-" + strconv.Itoa(i*i), Size: float64(i) / 3}
	}
	got := requireFastEquivalent(t, long, false)
	for _, enc := range []struct {
		name string
		out  string
		f    func() ([]byte, error)
	}{
		{"json", got.JSON2.Out, func() ([]byte, error) { return EncodeJSON(long, 2) }},
		{"yaml", got.YAML.Out, func() ([]byte, error) { return EncodeYAML(long) }},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := enc.f()
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		allocated := after.TotalAlloc - before.TotalAlloc
		require.Less(t, allocated, uint64(2.5*float64(len(enc.out))), "%s: %d bytes allocated for %d of output", enc.name, allocated, len(enc.out))
	}
	for _, c := range []struct{ n, at int }{{10, -1}, {presizeMin - 1, -1}, {presizeMin, presizeMin / 8}, {1000000, 125000}} {
		require.Equal(t, c.at, presizeAt(c.n), c.n)
	}
	buf := make([]byte, 100)
	grown := presize(buf, 0, 10, 100) // 10 bytes an element: 1000, and an eighth
	require.Equal(t, 100, len(grown))
	require.Equal(t, 1125, cap(grown))
	require.Equal(t, cap(grown), cap(presize(grown, 0, 10, 100)), "no second copy when there is room")
}
