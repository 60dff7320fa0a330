package clicommand

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// envelopeKeys are keys Ceph clients put into every command besides the
// arguments; they are accepted and ignored unless a command declares them.
var envelopeKeys = map[string]bool{
	"prefix": true, "format": true, "target": true, "poll": true,
	"width": true, "print_header": true,
}

// bound is the outcome of binding a JSON command onto a Spec.
type bound struct {
	args   any            // pointer to the argument struct, nil for Legacy commands
	values map[string]any // validated argument values by name, plus "prefix"
}

// invalid returns the -EINVAL error the server reports for a bad command.
func invalid(format string, args ...any) error {
	return &ArgumentError{Kind: ArgValid, Msg: "Invalid command: " + fmt.Sprintf(format, args...)}
}

// bind validates cmd against the spec (the server-side check the Python mgr
// never did) and, for struct commands, fills a new argument struct.
func (s *Spec) bind(cmd map[string]any, inbuf []byte) (*bound, error) {
	for k := range cmd {
		if _, ok := s.byName[k]; !ok && !envelopeKeys[k] {
			return nil, invalid("unknown argument '%s' for '%s'%s", k, s.prefix, s.takes())
		}
	}
	out := &bound{values: make(map[string]any, len(s.args)+1)}
	out.values["prefix"] = s.prefix
	var dst reflect.Value
	if s.typ != nil {
		dst = reflect.New(s.typ)
		out.args = dst.Interface()
		dst = dst.Elem()
	}
	for _, b := range s.args {
		raw, present := cmd[b.name]
		if !present || raw == nil {
			if b.required {
				return nil, invalid("missing required parameter %s", descString(b))
			}
			if b.hasDef && dst.IsValid() && b.field != nil {
				if err := storeField(dst.FieldByIndex(b.field), b.def); err != nil {
					return nil, invalid("argument '%s': %v", b.name, err)
				}
			}
			continue
		}
		v, err := b.fromJSON(raw)
		if err != nil {
			return nil, err
		}
		out.values[b.name] = v
		if dst.IsValid() && b.field != nil {
			if err := storeField(dst.FieldByIndex(b.field), v); err != nil {
				return nil, invalid("argument '%s': %v", b.name, err)
			}
		}
	}
	if len(inbuf) > 0 && s.typ != nil && s.inbuf == nil {
		return nil, invalid("Input file data (-i) not supported")
	}
	if s.inbuf != nil && len(inbuf) > 0 {
		f := dst.FieldByIndex(s.inbuf)
		switch s.inbufT.Kind() {
		case reflect.String:
			f.SetString(string(inbuf))
		case reflect.Pointer:
			str := string(inbuf)
			f.Set(reflect.ValueOf(&str))
		default:
			f.SetBytes(inbuf)
		}
	}
	return out, nil
}

// takes lists the argument names for an "unknown argument" message.
func (s *Spec) takes() string {
	if len(s.args) == 0 {
		return ", which takes no arguments"
	}
	names := make([]string, len(s.args))
	for i, b := range s.args {
		names[i] = b.name
	}
	sort.Strings(names)
	return " (it takes " + strings.Join(names, ", ") + ")"
}

// fromJSON validates a JSON value for this argument. Strings are checked
// with the type's validator; numbers and booleans by their text, so "5" and
// 5 are both a CephInt 5 and "false" is false (Ceph's server cast made it
// true). Repeated arguments take a JSON array, or a single value; non-string
// single values are split on commas as the ceph CLI does.
func (b *boundArg) fromJSON(raw any) (any, error) {
	if !b.many && b.n == 1 {
		if _, isList := raw.([]any); isList {
			return nil, invalid("argument '%s' takes one value, not a list", b.name)
		}
		return b.one(raw)
	}
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case string:
		if b.arg.Type() != CephString {
			for _, part := range strings.Split(x, ",") {
				items = append(items, part)
			}
		} else {
			items = []any{x}
		}
	default:
		items = []any{x}
	}
	vals := make([]any, 0, len(items))
	for _, it := range items {
		if _, isList := it.([]any); isList {
			return nil, invalid("argument '%s': nested lists are not allowed", b.name)
		}
		v, err := b.one(it)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	switch {
	case b.many && len(vals) < 1:
		return nil, invalid("saw 0 of %s, expected at least 1", descString(b))
	case !b.many && len(vals) != b.n:
		return nil, invalid("saw %d of %s, expected %d", len(vals), descString(b), b.n)
	}
	return vals, nil
}

func (b *boundArg) one(raw any) (any, error) {
	word, err := jsonWord(raw)
	if err != nil {
		return nil, invalid("argument '%s': %v", b.name, err)
	}
	v, err := b.typ.valid(word, false)
	if err != nil {
		return nil, invalid("argument '%s': %v", b.name, err)
	}
	return v, nil
}

// jsonWord turns a decoded JSON scalar into the word a CLI user would type.
func jsonWord(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	}
	return "", fmt.Errorf("unsupported JSON value %v (%T)", raw, raw)
}

// storeField assigns a validated value to a struct field.
func storeField(f reflect.Value, v any) error {
	rv, err := convertForField(v, f.Type())
	if err != nil {
		return err
	}
	f.Set(rv)
	return nil
}

// convertForField converts a validated value (int64, float64, bool, string
// or []any of those) to a value of type t.
func convertForField(v any, t reflect.Type) (reflect.Value, error) {
	switch t.Kind() {
	case reflect.Pointer:
		inner, err := convertForField(v, t.Elem())
		if err != nil {
			return reflect.Value{}, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(inner)
		return p, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := v.(string)
			if !ok {
				return reflect.Value{}, fmt.Errorf("cannot store %T in %s", v, t)
			}
			return reflect.ValueOf([]byte(s)).Convert(t), nil
		}
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := reflect.MakeSlice(t, len(list), len(list))
		for i, it := range list {
			ev, err := convertForField(it, t.Elem())
			if err != nil {
				return reflect.Value{}, err
			}
			out.Index(i).Set(ev)
		}
		return out, nil
	case reflect.Array:
		list, ok := v.([]any)
		if !ok || len(list) != t.Len() {
			return reflect.Value{}, fmt.Errorf("want %d values", t.Len())
		}
		out := reflect.New(t).Elem()
		for i, it := range list {
			ev, err := convertForField(it, t.Elem())
			if err != nil {
				return reflect.Value{}, err
			}
			out.Index(i).Set(ev)
		}
		return out, nil
	}
	out := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			out.SetString(x)
		case int64:
			out.SetString(strconv.FormatInt(x, 10))
		default:
			return reflect.Value{}, fmt.Errorf("cannot store %T in %s", v, t)
		}
	case reflect.Bool:
		x, ok := v.(bool)
		if !ok {
			return reflect.Value{}, fmt.Errorf("cannot store %T in %s", v, t)
		}
		out.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := v.(int64)
		if !ok {
			return reflect.Value{}, fmt.Errorf("%v is not an integer", v)
		}
		if out.OverflowInt(x) {
			return reflect.Value{}, fmt.Errorf("%d does not fit in %s", x, t)
		}
		out.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, ok := v.(int64)
		if !ok {
			return reflect.Value{}, fmt.Errorf("%v is not an integer", v)
		}
		if x < 0 || out.OverflowUint(uint64(x)) {
			return reflect.Value{}, fmt.Errorf("%d does not fit in %s", x, t)
		}
		out.SetUint(uint64(x))
	case reflect.Float32, reflect.Float64:
		x, ok := v.(float64)
		if !ok {
			return reflect.Value{}, fmt.Errorf("%v is not a number", v)
		}
		if out.OverflowFloat(x) {
			return reflect.Value{}, fmt.Errorf("%v does not fit in %s", x, t)
		}
		out.SetFloat(x)
	default:
		return reflect.Value{}, fmt.Errorf("cannot store %T in %s", v, t)
	}
	return out, nil
}
