package objectformat

// Reflection fast paths: EncodeJSON and EncodeYAML write Go structs (and
// pointers, slices and arrays of them, and their fields of basic kinds)
// directly, without building the map[string]any / []any tree of Simplify.
//
// The output is, byte for byte, what encoding the Simplify tree gives. This
// holds by construction:
//   - only types whose whole encoding is known statically take the fast path
//     (a per-type plan decides it before any byte is written): no
//     json.Marshaler, encoding.TextMarshaler or ToSimplified method (value
//     or pointer receiver) anywhere in the type, no ",string" option, no
//     maps, channels, functions, complex numbers or json.Number;
//   - the fast path mirrors simplifier.reflectValue step by step (same
//     reflect operations, so the same addressability; same depth counting,
//     so the same depth limit) and writes what the encoders write for the
//     resulting tree node (struct = map with keys sorted as sortedKeys does,
//     slice or array = list, nil pointer or slice = null, float32 widened
//     by widenFloat32, []byte = JSON error / YAML !!binary);
//   - interface-typed fields (and elements) hand their dynamic value to the
//     existing path: simplifier.reflectValue on the very same reflect.Value,
//     then the tree encoder;
//   - any error or panic on the fast path discards what it wrote and encodes
//     the value again through Simplify, so that errors (their order and
//     text) are exactly those of the Simplify path. Errors are the rare
//     case, so encoding twice there costs nothing that matters.

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

type fastKind uint8

const (
	fastNo fastKind = iota // not eligible: Simplify path
	fastBool
	fastInt
	fastUint
	fastFloat32
	fastFloat64
	fastString
	fastInterface // dynamic value through the Simplify path
	fastBytes     // []byte: JSON error, YAML !!binary
	fastPointer
	fastSlice
	fastArray
	fastStruct
)

// fastPlan is the cached encoding plan of one reflect.Type.
type fastPlan struct {
	kind   fastKind
	elem   *fastPlan   // fastPointer, fastSlice, fastArray
	fields []fastField // fastStruct: the JSON fields, in key order
}

// fastField is one JSON field of a struct plan (from jsonCachedFields).
type fastField struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool
	plan      *fastPlan
	jsonKey   []byte             // the quoted key and ": "
	yamlKey   yamlScalarAnalysis // analyzeYAMLScalar(name)
}

var (
	fastPlans   sync.Map // reflect.Type -> *fastPlan (final)
	fastPlansMu sync.Mutex

	intKeyMapType = reflect.TypeFor[intKeyMap]()
)

// fastTopPlan returns the plan of v's type when v can take the fast path:
// an eligible struct, pointer, slice or array (scalars gain nothing).
func fastTopPlan(v any) *fastPlan {
	t := reflect.TypeOf(v)
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Pointer, reflect.Slice, reflect.Array:
	default:
		return nil
	}
	p := fastPlanOf(t)
	if p.kind < fastPointer {
		return nil
	}
	return p
}

// fastPlanOf returns t's plan, building (under a lock) the plans of t and of
// every type it reaches that is not cached yet.
func fastPlanOf(t reflect.Type) *fastPlan {
	if p, ok := fastPlans.Load(t); ok {
		return p.(*fastPlan)
	}
	fastPlansMu.Lock()
	defer fastPlansMu.Unlock()
	if p, ok := fastPlans.Load(t); ok {
		return p.(*fastPlan)
	}
	b := fastPlanBuilder{plans: map[reflect.Type]*fastPlan{}}
	root := b.build(t)
	// Recursive types were built optimistically (a type under construction
	// counts as eligible): propagate ineligibility until nothing changes.
	for changed := true; changed; {
		changed = false
		for _, p := range b.plans {
			if p.kind != fastNo && p.reachesIneligible() {
				p.kind = fastNo
				changed = true
			}
		}
	}
	for t, p := range b.plans {
		if p.kind == fastNo {
			p.elem, p.fields = nil, nil
		}
		fastPlans.Store(t, p)
	}
	return root
}

func (p *fastPlan) reachesIneligible() bool {
	switch p.kind {
	case fastPointer, fastSlice, fastArray:
		return p.elem.kind == fastNo
	case fastStruct:
		for i := range p.fields {
			if p.fields[i].plan.kind == fastNo {
				return true
			}
		}
	}
	return false
}

type fastPlanBuilder struct {
	plans map[reflect.Type]*fastPlan // built by this call, not yet published
}

func (b *fastPlanBuilder) build(t reflect.Type) *fastPlan {
	if p, ok := fastPlans.Load(t); ok {
		return p.(*fastPlan)
	}
	if p, ok := b.plans[t]; ok {
		return p
	}
	p := &fastPlan{}
	b.plans[t] = p
	if typeHooksOf(t) != 0 || t == jsonNumberType || t == intKeyMapType {
		return p
	}
	switch t.Kind() {
	case reflect.Bool:
		p.kind = fastBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.kind = fastInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.kind = fastUint
	case reflect.Float32:
		p.kind = fastFloat32
	case reflect.Float64:
		p.kind = fastFloat64
	case reflect.String:
		p.kind = fastString
	case reflect.Interface, reflect.Map:
		// Maps, like interface values, go through the Simplify path on
		// their own; the struct around them stays on the fast path.
		p.kind = fastInterface
	case reflect.Pointer:
		p.elem = b.build(t.Elem())
		p.kind = fastPointer
	case reflect.Slice:
		et := t.Elem()
		if et.Kind() == reflect.Uint8 {
			// simplifier.reflectValue's []byte test, plus (to be safe) no
			// hook at all on the element type.
			pt := reflect.PointerTo(et)
			if typeHooksOf(et) != 0 || pt.Implements(jsonMarshalerType) || pt.Implements(textMarshalerType) {
				return p
			}
			p.kind = fastBytes
			return p
		}
		p.elem = b.build(et)
		p.kind = fastSlice
	case reflect.Array:
		p.elem = b.build(t.Elem())
		p.kind = fastArray
	case reflect.Struct:
		fields, ok := b.structFields(t)
		if ok {
			p.fields = fields
			p.kind = fastStruct
		}
	}
	return p
}

// structFields turns jsonCachedFields(t) into fast fields sorted by key.
func (b *fastPlanBuilder) structFields(t reflect.Type) ([]fastField, bool) {
	sfs := jsonCachedFields(t)
	out := make([]fastField, 0, len(sfs))
	for i := range sfs {
		sf := &sfs[i]
		if sf.quoted {
			return nil, false
		}
		// The declared type of the field (sf.typ has unnamed pointers
		// removed), checking the embedded structs on the way.
		ft := t
		for j, idx := range sf.index {
			if j > 0 {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() != reflect.Struct || typeHooksOf(ft) != 0 {
					return nil, false
				}
			}
			ft = ft.Field(idx).Type
		}
		name := sf.name
		out = append(out, fastField{
			name:      name,
			index:     sf.index,
			omitEmpty: sf.omitEmpty,
			omitZero:  sf.omitZero,
			isZero:    sf.isZero,
			plan:      b.build(ft),
			jsonKey:   append(appendPyJSONString(nil, name), ':', ' '),
			yamlKey:   analyzeYAMLScalar(name),
		})
	}
	// The order sortedKeys gives the keys of the map Simplify would build
	// (field names are unique: jsonTypeFields drops conflicts).
	slices.SortFunc(out, func(a, b fastField) int { return strings.Compare(a.name, b.name) })
	return out, true
}

// fieldValue is the field of struct value rv, or false when the field is
// absent from the struct's map: behind a nil embedded pointer, or omitted by
// omitempty / omitzero (simplifier.structValue's tests, in the same terms).
func (f *fastField) fieldValue(rv reflect.Value) (reflect.Value, bool) {
	var fv reflect.Value
	if len(f.index) == 1 {
		fv = rv.Field(f.index[0])
	} else {
		fv = rv
		for _, idx := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					return fv, false
				}
				fv = fv.Elem()
			}
			fv = fv.Field(idx)
		}
	}
	if f.omitEmpty && jsonIsEmptyValue(fv) {
		return fv, false
	}
	if f.omitZero && ((f.isZero == nil && fv.IsZero()) || (f.isZero != nil && f.isZero(fv))) {
		return fv, false
	}
	return fv, true
}

// ---- JSON ----

// encodeFast writes v through its fast plan and reports true, or reports
// false having written nothing: v's type is not eligible, or the fast path
// failed (error or panic) and the Simplify path must produce the error.
func (e *pyJSONEncoder) encodeFast(v any, level int) (ok bool) {
	p := fastTopPlan(v)
	if p == nil {
		return false
	}
	start := len(e.buf)
	defer func() {
		if recover() != nil {
			ok = false
		}
		if !ok {
			e.buf = e.buf[:start]
		}
	}()
	// simplifier.value(v, level) starts reflectValue at depth level.
	return e.fast(p, reflect.ValueOf(v), level, level) == nil
}

// fast writes rv (of plan p) as EncodeJSON writes simplifier.reflectValue(rv,
// depth) at the given tree level.
func (e *pyJSONEncoder) fast(p *fastPlan, rv reflect.Value, level, depth int) error {
	if depth > simplifyMaxDepth {
		return errNestedTooDeep
	}
	switch p.kind {
	case fastBool:
		if rv.Bool() {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case fastInt:
		e.buf = strconv.AppendInt(e.buf, rv.Int(), 10)
	case fastUint:
		e.buf = strconv.AppendUint(e.buf, rv.Uint(), 10)
	case fastFloat32:
		e.buf = appendPyJSONFloat(e.buf, widenFloat32(float32(rv.Float())))
	case fastFloat64:
		e.buf = appendPyJSONFloat(e.buf, rv.Float())
	case fastString:
		e.buf = appendPyJSONString(e.buf, rv.String())
	case fastInterface:
		t, err := e.simp.reflectValue(rv, depth)
		if err != nil {
			return err
		}
		return e.value(t, level)
	case fastBytes:
		if !rv.IsNil() {
			return errJSONBytes
		}
		e.buf = append(e.buf, "null"...)
	case fastPointer:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.fast(p.elem, rv.Elem(), level, depth+1)
	case fastSlice, fastArray:
		if p.kind == fastSlice && rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		n := rv.Len()
		if n == 0 {
			e.buf = append(e.buf, '[', ']')
			return nil
		}
		e.buf = append(e.buf, '[')
		start := len(e.buf)
		at := presizeAt(n)
		for i := range n {
			if i == at {
				e.buf = presize(e.buf, start, i, n)
			}
			e.item(i, level+1)
			if err := e.fast(p.elem, rv.Index(i), level+1, depth+1); err != nil {
				return err
			}
		}
		e.close(']', level)
	case fastStruct:
		start := len(e.buf)
		e.buf = append(e.buf, '{')
		n := 0
		for i := range p.fields {
			f := &p.fields[i]
			fv, ok := f.fieldValue(rv)
			if !ok {
				continue
			}
			e.item(n, level+1)
			e.buf = append(e.buf, f.jsonKey...)
			n++
			if err := e.fast(f.plan, fv, level+1, depth+1); err != nil {
				return err
			}
		}
		if n == 0 {
			e.buf = append(e.buf[:start], '{', '}')
			return nil
		}
		e.close('}', level)
	default:
		panic("objectformat: fast path on an ineligible type") // recovered by encodeFast
	}
	return nil
}

// ---- YAML ----

// yamlWriterState is the part of the emitter a failed fast path restores.
type yamlWriterState struct {
	n, column, indent                int
	whitespace, indention, openEnded bool
}

func (e *pyYAMLEmitter) saveState() yamlWriterState {
	return yamlWriterState{len(e.buf), e.column, e.indent, e.whitespace, e.indention, e.openEnded}
}

func (e *pyYAMLEmitter) restoreState(s yamlWriterState) {
	e.buf = e.buf[:s.n]
	e.column, e.indent = s.column, s.indent
	e.whitespace, e.indention, e.openEnded = s.whitespace, s.indention, s.openEnded
}

// encodeFast is pyJSONEncoder.encodeFast for YAML.
func (e *pyYAMLEmitter) encodeFast(v any, ctx, depth int) (ok bool) {
	p := fastTopPlan(v)
	if p == nil {
		return false
	}
	saved := e.saveState()
	defer func() {
		if recover() != nil {
			ok = false
		}
		if !ok {
			e.restoreState(saved)
		}
	}()
	return e.fast(p, reflect.ValueOf(v), ctx, depth, depth) == nil
}

// fast writes rv (of plan p) as EncodeYAML writes simplifier.reflectValue(rv,
// sdepth) as a node of tree depth depth in context ctx.
func (e *pyYAMLEmitter) fast(p *fastPlan, rv reflect.Value, ctx, depth, sdepth int) error {
	if sdepth > simplifyMaxDepth {
		return errNestedTooDeep
	}
	switch p.kind {
	case fastBool:
		if rv.Bool() {
			e.plainScalar("true", ctx)
		} else {
			e.plainScalar("false", ctx)
		}
	case fastInt:
		e.intScalar(rv.Int(), ctx)
	case fastUint:
		var tmp [24]byte
		e.plainScalar(string(strconv.AppendUint(tmp[:0], rv.Uint(), 10)), ctx)
	case fastFloat32:
		e.floatScalar(widenFloat32(float32(rv.Float())), ctx)
	case fastFloat64:
		e.floatScalar(rv.Float(), ctx)
	case fastString:
		e.strScalar(rv.String(), ctx)
	case fastInterface:
		t, err := e.simp.reflectValue(rv, sdepth)
		if err != nil {
			return err
		}
		return e.node(t, ctx, depth)
	case fastBytes:
		if rv.IsNil() {
			e.plainScalar("null", ctx)
			return nil
		}
		e.binaryScalar(rv.Bytes())
	case fastPointer:
		if rv.IsNil() {
			e.plainScalar("null", ctx)
			return nil
		}
		return e.fast(p.elem, rv.Elem(), ctx, depth, sdepth+1)
	case fastSlice, fastArray:
		if p.kind == fastSlice && rv.IsNil() {
			e.plainScalar("null", ctx)
			return nil
		}
		n := rv.Len()
		if n == 0 {
			e.emptyFlow("[", "]")
			return nil
		}
		saved := e.beginSeq(ctx)
		start := len(e.buf)
		at := presizeAt(n)
		for i := range n {
			if i == at {
				e.buf = presize(e.buf, start, i, n)
			}
			e.seqItem()
			if err := e.fast(p.elem, rv.Index(i), 0, depth+1, sdepth+1); err != nil {
				return err
			}
		}
		e.indent = saved
	case fastStruct:
		// increaseIndent only moves e.indent, so it can wait for the first
		// present field (a struct with none prints as "{}").
		saved, open := 0, false
		for i := range p.fields {
			f := &p.fields[i]
			fv, ok := f.fieldValue(rv)
			if !ok {
				continue
			}
			if !open {
				saved, open = e.increaseIndent(false, false), true
			}
			e.mapKeyAnalyzed(f.name, &f.yamlKey)
			if err := e.fast(f.plan, fv, yamlCtxMapping, depth+1, sdepth+1); err != nil {
				return err
			}
		}
		if !open {
			e.emptyFlow("{", "}")
			return nil
		}
		e.indent = saved
	default:
		panic("objectformat: fast path on an ineligible type") // recovered by encodeFast
	}
	return nil
}

// A long slice's output is sized once, from its first eighth (slices
// of presizeMin elements or more): append alone grows a large buffer by a
// quarter at a time, so a 100 MB result was allocated and copied some
// five times over (about 400 MB for a million elements), and the garbage
// collector's and the page faults' share of that made the time of large
// results vary widely between runs. An eighth is long enough to estimate
// the rest (later elements can be longer: larger numbers) and short
// enough to copy.
const presizeMin = 4096

// presizeAt is the index at which a slice of n elements is presized (-1:
// never).
func presizeAt(n int) int {
	if n < presizeMin {
		return -1
	}
	return n / 8
}

// presize returns buf with room for the rest of a slice of n elements
// whose first done elements took buf[start:], plus an eighth.
func presize(buf []byte, start, done, n int) []byte {
	per := (len(buf) - start) / done
	want := len(buf) + per*(n-done)
	want += want / 8
	if want <= cap(buf) || per <= 0 {
		return buf
	}
	grown := make([]byte, len(buf), want)
	copy(grown, buf)
	return grown
}
