package objectformat

// Conversion of arbitrary Go values into the small generic tree that the
// Python-compatible encoders (pyjson.go, pyyaml.go) print.
//
// The tree is what Python's json / yaml modules would see after a Ceph mgr
// module returned a plain dict/list/str/int/float/bool/None/bytes value:
//
//	nil, bool, int64, uint64, float64, string, []byte, []any, map[string]any
//
// plus json.Number, used only for integer literals that do not fit in 64 bits
// (Python ints are unbounded, so they are printed digit for digit).
//
// Struct handling follows encoding/json (the field-selection code below is a
// port of encoding/json's jsonTypeFields).

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// simplifyMaxDepth bounds nesting (containers and pointers). Deeper values are
// rejected with an error instead of recursing forever on cyclic data.
const simplifyMaxDepth = 1000

// errNestedTooDeep is returned for values nested deeper than simplifyMaxDepth.
var errNestedTooDeep = fmt.Errorf("objectformat: value nested deeper than %d levels (cyclic data?)", simplifyMaxDepth)

// Simplify converts a Go value into the generic tree the encoders print:
// nil, bool, int64, uint64, float64, string, []byte, []any, map[string]any
// (and json.Number for integers that do not fit in 64 bits).
//
// Structs follow encoding/json rules (json tags: name, "-", omitempty,
// omitzero, string; embedded structs promoted; unexported fields skipped).
// Maps need string keys, integer keys or keys implementing
// encoding.TextMarshaler; all keys become strings, as Python's json does for
// int keys. Note that EncodeJSON and EncodeYAML, given the original value,
// keep integer keys as integers like Python would (numeric sort order, plain
// YAML keys), which a tree returned by Simplify can no longer express.
// Slices and arrays become []any, except []byte which is kept as bytes.
// Pointers and interfaces are followed (nil becomes nil). json.Number becomes
// its number. Values implementing `interface{ ToSimplified() any }` are
// replaced by the (recursively simplified) result; json.Marshaler and
// encoding.TextMarshaler are honoured (a Marshaler's output is decoded with
// UseNumber into the tree), so time.Time prints as its MarshalJSON string.
// float32 values are widened through their shortest decimal form (float32(0.1)
// becomes 0.1, as encoding/json prints it).
//
// Unsupported kinds (chan, func, complex, unsafe pointers) and values nested
// deeper than 1000 levels return an error; Simplify never panics on its own
// account (a panic inside a user's MarshalJSON / ToSimplified is turned into
// an error too).
func Simplify(v any) (out any, err error) {
	defer recoverAsError(&err)
	s := simplifier{}
	return s.value(v, 0)
}

// toSimplifier is the hook a value can implement to choose its own
// representation.
type toSimplifier interface{ ToSimplified() any }

var (
	toSimplifierType  = reflect.TypeFor[toSimplifier]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
)

// recoverAsError turns a panic (e.g. from a user's MarshalJSON) into an error
// so that the public entry points never panic.
func recoverAsError(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("objectformat: panic while encoding: %v", r)
	}
}

// intKey is an integer map key: the value is -mag when neg, else mag.
type intKey struct {
	neg bool
	mag uint64
}

func intKeyOf(i int64) intKey {
	if i < 0 {
		return intKey{neg: true, mag: uint64(-(i + 1)) + 1}
	}
	return intKey{mag: uint64(i)}
}

func compareIntKeys(a, b intKey) int {
	switch {
	case a.neg && !b.neg:
		return -1
	case !a.neg && b.neg:
		return 1
	case a.neg:
		return cmp.Compare(b.mag, a.mag)
	default:
		return cmp.Compare(a.mag, b.mag)
	}
}

func (k intKey) appendTo(b []byte) []byte {
	if k.neg {
		b = append(b, '-')
	}
	return strconv.AppendUint(b, k.mag, 10)
}

func (k intKey) String() string { return string(k.appendTo(nil)) }

// intKeyMap is the encoders' internal form of a Go map with integer keys,
// sorted by key. Python keeps such keys as ints: json.dumps(sort_keys=True)
// orders them numerically before turning them into strings, and
// yaml.safe_dump prints them as plain ints. Simplify never returns it.
type intKeyMap struct {
	keys []intKey
	vals []any
}

// simplifier converts values; keepIntKeys selects intKeyMap for integer-keyed
// maps (used by the encoders) instead of map[string]any (used by Simplify).
type simplifier struct {
	keepIntKeys bool
}

// value is the type-switch fast path; anything unusual goes to reflectValue.
func (s *simplifier) value(v any, depth int) (any, error) {
	if depth > simplifyMaxDepth {
		return nil, errNestedTooDeep
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, nil
	case bool:
		return x, nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint:
		return uint64(x), nil
	case uint64:
		return x, nil
	case uint32:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case uintptr:
		return uint64(x), nil
	case float64:
		return x, nil
	case float32:
		return widenFloat32(x), nil
	case []byte:
		if x == nil {
			return nil, nil
		}
		return x, nil
	case json.Number:
		return numberValue(x)
	case map[string]any:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			se, err := s.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = se
		}
		return out, nil
	case []any:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			se, err := s.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = se
		}
		return out, nil
	case []string:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]string:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case []map[string]any:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			se, err := s.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = se
		}
		return out, nil
	case []int:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = int64(e)
		}
		return out, nil
	case []int64:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case []float64:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]int:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = int64(e)
		}
		return out, nil
	case map[string]int64:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case map[string]float64:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case map[string]bool:
		if x == nil {
			return nil, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	case intKeyMap:
		vals := make([]any, len(x.vals))
		for i, e := range x.vals {
			se, err := s.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = se
		}
		if s.keepIntKeys {
			return intKeyMap{keys: x.keys, vals: vals}, nil
		}
		out := make(map[string]any, len(vals))
		for i, k := range x.keys {
			out[k.String()] = vals[i]
		}
		return out, nil
	case time.Time:
		b, err := x.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("objectformat: time.Time: %w", err)
		}
		// RFC 3339 text never needs JSON escaping: strip the quotes.
		return string(b[1 : len(b)-1]), nil
	}
	return s.reflectValue(reflect.ValueOf(v), depth)
}

// reflectValue handles every other Go value, following encoding/json.
func (s *simplifier) reflectValue(rv reflect.Value, depth int) (any, error) {
	if depth > simplifyMaxDepth {
		return nil, errNestedTooDeep
	}
	if !rv.IsValid() {
		return nil, nil
	}
	t := rv.Type()
	k := rv.Kind()
	if (k == reflect.Pointer || k == reflect.Interface) && rv.IsNil() {
		return nil, nil
	}
	if h := typeHooksOf(t); h != 0 && rv.CanInterface() {
		addr := k != reflect.Pointer && rv.CanAddr()
		switch {
		case h&hookSimplifier != 0:
			return s.value(rv.Interface().(toSimplifier).ToSimplified(), depth+1)
		case h&hookPtrSimplifier != 0 && addr:
			return s.value(rv.Addr().Interface().(toSimplifier).ToSimplified(), depth+1)
		case h&hookMarshaler != 0:
			return s.marshaled(rv.Interface().(json.Marshaler), t, depth)
		case h&hookPtrMarshaler != 0 && addr:
			return s.marshaled(rv.Addr().Interface().(json.Marshaler), t, depth)
		case h&hookText != 0:
			return marshaledText(rv.Interface().(encoding.TextMarshaler), t)
		case h&hookPtrText != 0 && addr:
			return marshaledText(rv.Addr().Interface().(encoding.TextMarshaler), t)
		}
	}
	switch k {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32:
		return widenFloat32(float32(rv.Float())), nil
	case reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		if t == jsonNumberType {
			return numberValue(json.Number(rv.String()))
		}
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		return s.reflectValue(rv.Elem(), depth+1)
	case reflect.Slice:
		if rv.IsNil() {
			return nil, nil
		}
		et := t.Elem()
		if et.Kind() == reflect.Uint8 {
			pt := reflect.PointerTo(et)
			if !pt.Implements(jsonMarshalerType) && !pt.Implements(textMarshalerType) {
				return bytes.Clone(rv.Bytes()), nil
			}
		}
		return s.list(rv, depth)
	case reflect.Array:
		return s.list(rv, depth)
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		return s.mapValue(rv, depth)
	case reflect.Struct:
		return s.structValue(rv, depth)
	}
	return nil, fmt.Errorf("objectformat: cannot encode value of type %s", t)
}

// Method sets a type (or its pointer type) has that change its encoding.
const (
	hookSimplifier = 1 << iota
	hookPtrSimplifier
	hookMarshaler
	hookPtrMarshaler
	hookText
	hookPtrText
)

var typeHooksCache sync.Map // reflect.Type -> int

// typeHooksOf caches the Implements checks, which dominate the reflection
// path's cost otherwise.
func typeHooksOf(t reflect.Type) int {
	if h, ok := typeHooksCache.Load(t); ok {
		return h.(int)
	}
	h := 0
	pt := reflect.PointerTo(t)
	for _, c := range []struct {
		iface    reflect.Type
		val, ptr int
	}{
		{toSimplifierType, hookSimplifier, hookPtrSimplifier},
		{jsonMarshalerType, hookMarshaler, hookPtrMarshaler},
		{textMarshalerType, hookText, hookPtrText},
	} {
		if t.Implements(c.iface) {
			h |= c.val
		} else if t.Kind() != reflect.Pointer && pt.Implements(c.iface) {
			h |= c.ptr
		}
	}
	typeHooksCache.Store(t, h)
	return h
}

func (s *simplifier) list(rv reflect.Value, depth int) (any, error) {
	n := rv.Len()
	out := make([]any, n)
	for i := range n {
		e, err := s.reflectValue(rv.Index(i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// marshaled decodes a json.Marshaler's output into the tree.
func (s *simplifier) marshaled(m json.Marshaler, t reflect.Type, depth int) (any, error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("objectformat: MarshalJSON of %s: %w", t, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("objectformat: MarshalJSON of %s returned invalid JSON: %w", t, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("objectformat: MarshalJSON of %s returned invalid JSON: trailing data", t)
	}
	return s.value(x, depth+1)
}

func marshaledText(m encoding.TextMarshaler, t reflect.Type) (any, error) {
	b, err := m.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("objectformat: MarshalText of %s: %w", t, err)
	}
	return string(b), nil
}

// mapValue converts a map with string, integer or TextMarshaler keys.
func (s *simplifier) mapValue(rv reflect.Value, depth int) (any, error) {
	t := rv.Type()
	kt := t.Key()
	n := rv.Len()
	keyKind := kt.Kind()
	switch {
	case keyKind == reflect.String:
		out := make(map[string]any, n)
		it := rv.MapRange()
		for it.Next() {
			e, err := s.reflectValue(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = e
		}
		return out, nil
	case kt.Implements(textMarshalerType):
		out := make(map[string]any, n)
		it := rv.MapRange()
		for it.Next() {
			key, err := mapKeyString(it.Key())
			if err != nil {
				return nil, err
			}
			e, err := s.reflectValue(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = e
		}
		return out, nil
	case isIntKind(keyKind) || keyKind == reflect.Interface:
		keys := make([]intKey, 0, n)
		vals := make([]any, 0, n)
		var strKeys map[string]any // set once a non-integer key shows up
		mixed := false             // an integer key came after a non-integer one
		it := rv.MapRange()
		for it.Next() {
			kv := it.Key()
			for kv.Kind() == reflect.Interface && !kv.IsNil() {
				kv = kv.Elem()
			}
			e, err := s.reflectValue(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			ik, isInt := intKeyValue(kv)
			if isInt && strKeys == nil {
				keys = append(keys, ik)
				vals = append(vals, e)
				continue
			}
			if isInt {
				mixed = true
			}
			// Not (or no longer) all integers: fall back to string keys.
			key, err := mapKeyString(kv)
			if err != nil {
				return nil, err
			}
			if strKeys == nil {
				strKeys = make(map[string]any, n)
				for i, k := range keys {
					strKeys[k.String()] = vals[i]
				}
			}
			strKeys[key] = e
		}
		if strKeys != nil {
			if s.keepIntKeys && (len(keys) > 0 || mixed) {
				// Python's sort_keys raises TypeError comparing int and str
				// (and PyYAML falls back to insertion order, which a Go map
				// does not have).
				return nil, fmt.Errorf("objectformat: cannot sort map keys of mixed types (%s)", t)
			}
			return strKeys, nil
		}
		if s.keepIntKeys {
			sortIntKeyMap(keys, vals)
			return intKeyMap{keys: keys, vals: vals}, nil
		}
		out := make(map[string]any, len(keys))
		for i, k := range keys {
			out[k.String()] = vals[i]
		}
		return out, nil
	}
	return nil, fmt.Errorf("objectformat: cannot encode map with key type %s", kt)
}

func sortIntKeyMap(keys []intKey, vals []any) {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return compareIntKeys(keys[a], keys[b]) })
	k2 := make([]intKey, len(keys))
	v2 := make([]any, len(vals))
	for i, j := range idx {
		k2[i], v2[i] = keys[j], vals[j]
	}
	copy(keys, k2)
	copy(vals, v2)
}

func isIntKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func intKeyValue(kv reflect.Value) (intKey, bool) {
	if !kv.IsValid() {
		return intKey{}, false
	}
	if kv.Kind() != reflect.String && kv.Type().Implements(textMarshalerType) {
		return intKey{}, false
	}
	switch kv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intKeyOf(kv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return intKey{mag: kv.Uint()}, true
	}
	return intKey{}, false
}

// mapKeyString renders one map key as encoding/json would.
func mapKeyString(kv reflect.Value) (string, error) {
	for kv.IsValid() && kv.Kind() == reflect.Interface && !kv.IsNil() {
		kv = kv.Elem()
	}
	if !kv.IsValid() || (kv.Kind() == reflect.Interface && kv.IsNil()) {
		return "", errors.New("objectformat: cannot encode nil map key")
	}
	if kv.Kind() == reflect.String {
		return kv.String(), nil
	}
	if kv.Type().Implements(textMarshalerType) {
		if kv.Kind() == reflect.Pointer && kv.IsNil() {
			return "", nil
		}
		if !kv.CanInterface() {
			return "", fmt.Errorf("objectformat: cannot encode map key of type %s", kv.Type())
		}
		b, err := kv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", fmt.Errorf("objectformat: MarshalText of map key %s: %w", kv.Type(), err)
		}
		return string(b), nil
	}
	if ik, ok := intKeyValue(kv); ok {
		return ik.String(), nil
	}
	return "", fmt.Errorf("objectformat: cannot encode map key of type %s", kv.Type())
}

// structValue converts a struct into a map following encoding/json.
func (s *simplifier) structValue(rv reflect.Value, depth int) (any, error) {
	fields := jsonCachedFields(rv.Type())
	out := make(map[string]any, len(fields))
FieldLoop:
	for i := range fields {
		f := &fields[i]
		fv := rv
		for _, idx := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue FieldLoop
				}
				fv = fv.Elem()
			}
			fv = fv.Field(idx)
		}
		if f.omitEmpty && jsonIsEmptyValue(fv) {
			continue
		}
		if f.omitZero && ((f.isZero == nil && fv.IsZero()) || (f.isZero != nil && f.isZero(fv))) {
			continue
		}
		if f.quoted {
			q, err := quotedField(fv)
			if err != nil {
				return nil, err
			}
			out[f.name] = q
			continue
		}
		e, err := s.reflectValue(fv, depth+1)
		if err != nil {
			return nil, err
		}
		out[f.name] = e
	}
	return out, nil
}

// quotedField implements the ",string" tag option: the value is printed as
// encoding/json would, inside a string.
func quotedField(fv reflect.Value) (any, error) {
	for fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return nil, nil
		}
		fv = fv.Elem()
	}
	switch fv.Kind() {
	case reflect.String:
		b, err := json.Marshal(fv.String())
		if err != nil {
			return nil, fmt.Errorf("objectformat: %w", err)
		}
		return string(b), nil
	case reflect.Bool:
		return strconv.FormatBool(fv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(fv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(fv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		bits := 64
		if fv.Kind() == reflect.Float32 {
			bits = 32
		}
		f := fv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("objectformat: unsupported value %v in string-tagged field", f)
		}
		var v any = f
		if bits == 32 {
			v = float32(f)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("objectformat: %w", err)
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("objectformat: cannot encode value of type %s", fv.Type())
}

func jsonIsEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// widenFloat32 converts through the shortest decimal form of the float32, so
// float32(0.1) becomes 0.1 rather than 0.10000000149011612.
func widenFloat32(f float32) float64 {
	g, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return g
}

// numberValue turns a JSON number literal into int64, uint64, float64 or (for
// integers beyond 64 bits) a canonical json.Number.
func numberValue(n json.Number) (any, error) {
	s := string(n)
	if s == "" {
		return int64(0), nil // encoding/json prints an empty Number as 0
	}
	isInt, ok := scanJSONNumber(s)
	if !ok {
		return nil, fmt.Errorf("objectformat: invalid number literal %q", s)
	}
	if isInt {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		return json.Number(s), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || !errors.Is(ne.Err, strconv.ErrRange) {
			return nil, fmt.Errorf("objectformat: invalid number literal %q", s)
		}
		// Out of range: ParseFloat returned ±Inf or ±0, as Python's float().
	}
	return f, nil
}

// scanJSONNumber validates s against the JSON number grammar and reports
// whether it is an integer literal (no fraction or exponent).
func scanJSONNumber(s string) (isInt, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false, false
		}
	}
	return isInt, i == len(s)
}

// ---- struct fields (port of encoding/json's jsonTypeFields) ----

type structField struct {
	name      string
	tagged    bool
	index     []int
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool
	quoted    bool
}

var jsonFieldCache sync.Map // reflect.Type -> []structField

func jsonCachedFields(t reflect.Type) []structField {
	if f, ok := jsonFieldCache.Load(t); ok {
		return f.([]structField)
	}
	f, _ := jsonFieldCache.LoadOrStore(t, jsonTypeFields(t))
	return f.([]structField)
}

func jsonTypeFields(t reflect.Type) []structField {
	current := []structField{}
	next := []structField{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []structField

	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !jsonIsValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i

				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if jsonTagHasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64,
						reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					field := structField{
						name:      name,
						tagged:    tagged,
						index:     index,
						typ:       ft,
						omitEmpty: jsonTagHasOption(opts, "omitempty"),
						omitZero:  jsonTagHasOption(opts, "omitzero"),
						quoted:    quoted,
					}
					if field.omitZero {
						field.isZero = jsonIsZeroFunc(sf.Type)
					}
					fields = append(fields, field)
					if count[f.typ] > 1 {
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, structField{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}

	slices.SortFunc(fields, func(a, b structField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields); advance++ {
			if fields[i+advance].name != fi.name {
				break
			}
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		// Dominant field: the shallowest; ties are resolved by a json tag,
		// otherwise the name is dropped altogether.
		dup := fields[i : i+advance]
		if len(dup[0].index) == len(dup[1].index) && dup[0].tagged == dup[1].tagged {
			continue
		}
		out = append(out, dup[0])
	}
	fields = out
	slices.SortFunc(fields, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	return fields
}

func jsonIsZeroFunc(t reflect.Type) func(reflect.Value) bool {
	type isZeroer interface{ IsZero() bool }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() ||
				(v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				!v.CanInterface() || v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || !v.CanInterface() || v.Interface().(isZeroer).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanInterface() {
				return v.IsZero()
			}
			return v.Interface().(isZeroer).IsZero()
		}
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanInterface() {
				return v.IsZero()
			}
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}

func jsonTagHasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

func jsonIsValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
