package module

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gomgr/gomgr/internal/optschema"
)

// Options declared as a struct, the way commands are: one field per
// option, its name and declaration in tags, read back as a typed snapshot
// of the struct. A misspelt option is then a compile error, and reading one
// has no error to handle:
//
//	type Config struct {
//		Place    string `option:"place" default:"world" desc:"a place in the world" runtime:"true"`
//		Emphatic bool   `option:"emphatic" default:"true" runtime:"true"`
//		Foo      string `option:"foo" default:"a" enum:"a|b|c"`
//		Interval time.Duration `option:"interval" default:"60" min:"1"`
//	}
//
//	var options = module.NewOptions[Config]()
//
//	module.Register(module.Info{Name: "hello", Options: options.Declare(), ...})
//	cfg := options.Get(h) // a Config
//
// The option's type follows the field's Go type: string is Str, bool
// Bool, the signed integers Int, the unsigned ones Uint, float64 Float,
// time.Duration Secs; tag type= picks Size (an integer field), Addr or
// UUID (a string field) instead. The tags: option (the name; required),
// default, min, max, enum (values separated by '|'), desc, long_desc,
// runtime ("true"), level ("basic", "advanced", "dev"). Default, min and
// max are text, read as `ceph config set` reads the option's values.

// TypedOptions are the options of a module declared by the struct T.
type TypedOptions[T any] struct {
	decl   []Option
	fields []typedField
}

type typedField struct {
	index []int
	name  string
	kind  OptionType
}

// NewOptions reads T's option declarations; it panics on a malformed one
// (call it at package level or in init, like Register), naming the field.
func NewOptions[T any]() *TypedOptions[T] {
	t, err := newTypedOptions[T]()
	if err != nil {
		panic(err)
	}
	snapshots.Store(reflect.TypeFor[T](), func(h *Handle) any { return t.Get(h) })
	return t
}

// snapshots maps each struct type given to NewOptions to a reader of its
// snapshot (func(*Handle) any), for TypedConfigNotifier.
var snapshots sync.Map

var contextType = reflect.TypeFor[context.Context]()

// typedConfigNotify returns the call of mod's ConfigNotify(ctx, T) with a
// fresh snapshot of T, nil if mod has no such method (it may be a plain
// ConfigNotifier), or an error if T is not declared with NewOptions.
func typedConfigNotify(mod any) (func(ctx context.Context, h *Handle), error) {
	m := reflect.ValueOf(mod).MethodByName("ConfigNotify")
	if !m.IsValid() {
		return nil, nil
	}
	mt := m.Type()
	if mt.NumIn() != 2 || mt.NumOut() != 0 || mt.In(0) != contextType {
		if _, plain := mod.(ConfigNotifier); plain {
			return nil, nil
		}
		return nil, fmt.Errorf("ConfigNotify has the signature %s: want func(context.Context) or func(context.Context, T) with T a NewOptions struct", mt)
	}
	read, ok := snapshots.Load(mt.In(1))
	if !ok {
		return nil, fmt.Errorf("ConfigNotify(ctx, %s): %s is not declared with module.NewOptions", mt.In(1), mt.In(1))
	}
	return func(ctx context.Context, h *Handle) {
		m.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(read.(func(*Handle) any)(h))})
	}, nil
}

func newTypedOptions[T any]() (*TypedOptions[T], error) {
	rt := reflect.TypeFor[T]()
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("module.NewOptions: %s is not a struct", rt)
	}
	out := &TypedOptions[T]{}
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, ok := f.Tag.Lookup("option")
		if !ok {
			continue
		}
		where := fmt.Sprintf("module.NewOptions[%s]: field %s", rt.Name(), f.Name)
		if !f.IsExported() {
			return nil, fmt.Errorf("%s: an option field must be exported", where)
		}
		kind, err := fieldType(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		o := Option{Name: name, Type: kind, Desc: f.Tag.Get("desc"), LongDesc: f.Tag.Get("long_desc")}
		if d, ok := f.Tag.Lookup("default"); ok {
			// Typed, as a Go declaration would give it (config help and
			// mgr module ls show it so).
			if o.Default, err = boundOf(kind, d); err != nil {
				return nil, fmt.Errorf("%s: default: %w", where, err)
			}
		}
		if v, ok := f.Tag.Lookup("min"); ok {
			if o.Min, err = boundOf(kind, v); err != nil {
				return nil, fmt.Errorf("%s: min: %w", where, err)
			}
		}
		if v, ok := f.Tag.Lookup("max"); ok {
			if o.Max, err = boundOf(kind, v); err != nil {
				return nil, fmt.Errorf("%s: max: %w", where, err)
			}
		}
		if v, ok := f.Tag.Lookup("enum"); ok {
			o.EnumAllowed = strings.Split(v, "|")
		}
		switch v := f.Tag.Get("runtime"); v {
		case "", "false":
		case "true":
			o.Runtime = true
		default:
			return nil, fmt.Errorf("%s: runtime must be \"true\" or \"false\", not %q", where, v)
		}
		switch v := f.Tag.Get("level"); v {
		case "", "advanced":
		case "basic":
			o.Level = LevelBasic
		case "dev":
			o.Level = LevelDev
		default:
			return nil, fmt.Errorf("%s: level must be basic, advanced or dev, not %q", where, v)
		}
		out.decl = append(out.decl, o)
		out.fields = append(out.fields, typedField{index: f.Index, name: name, kind: kind})
	}
	// The declarations get the checks Register gives them (names,
	// defaults within bounds and enum), here, with the struct named.
	if _, err := compileOptions(rt.Name(), out.decl); err != nil {
		return nil, fmt.Errorf("module.NewOptions[%s]: %w", rt.Name(), err)
	}
	return out, nil
}

var durationType = reflect.TypeFor[time.Duration]()

// fieldType is the option type of a field: from its Go type, or its type
// tag.
func fieldType(f reflect.StructField) (OptionType, error) {
	tag := f.Tag.Get("type")
	k := f.Type.Kind()
	switch {
	case f.Type == durationType:
		if tag != "" && tag != string(Secs) {
			return "", fmt.Errorf("a time.Duration is a secs option, not %s", tag)
		}
		return Secs, nil
	case tag == string(Size):
		if k < reflect.Int || k > reflect.Int64 {
			return "", fmt.Errorf("a size option needs a signed integer field, not %s", f.Type)
		}
		return Size, nil
	case tag == string(Addr) || tag == string(UUID):
		if k != reflect.String {
			return "", fmt.Errorf("an %s option needs a string field, not %s", tag, f.Type)
		}
		return OptionType(tag), nil
	case tag != "":
		return "", fmt.Errorf("type %q: the tag names only size, addr, uuid or secs (the rest follow the field's Go type)", tag)
	}
	switch k {
	case reflect.String:
		return Str, nil
	case reflect.Bool:
		return Bool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Uint, nil
	case reflect.Float32, reflect.Float64:
		return Float, nil
	}
	return "", fmt.Errorf("no option type holds a %s", f.Type)
}

// boundOf reads a default, min or max tag as the option's type reads
// text.
func boundOf(kind OptionType, text string) (any, error) {
	c := &optschema.Option{Spec: optschema.Spec{Type: optschema.Type(kind)}}
	v, err := c.Parse(text)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Declare returns the declarations, for Info.Options.
func (t *TypedOptions[T]) Declare() []Option {
	out := make([]Option, len(t.decl))
	copy(out, t.decl)
	return out
}

// Get reads every option of the module h belongs to into a T: its value
// set in the configuration, else its default, else the field's zero
// value. A value the option's schema refuses reads as its default (see
// Handle.Option).
func (t *TypedOptions[T]) Get(h *Handle) T {
	return t.read(func(name string) any { v, _ := h.Option(name); return v })
}

// GetStandby is Get for a standby module.
func (t *TypedOptions[T]) GetStandby(h *StandbyHandle) T {
	return t.read(func(name string) any { v, _ := h.Option(name); return v })
}

// Defaults is a T of every option's declared default (a field's zero
// value where it has none): what Get reads where nothing is set. It needs
// no handle, so a module can fall back on it outside Init.
func (t *TypedOptions[T]) Defaults() T {
	defs := make(map[string]any, len(t.decl))
	for _, o := range t.decl {
		defs[o.Name] = o.Default
	}
	return t.read(func(name string) any { return defs[name] })
}

func (t *TypedOptions[T]) read(option func(string) any) T {
	var out T
	rv := reflect.ValueOf(&out).Elem()
	for _, f := range t.fields {
		setField(rv.FieldByIndex(f.index), option(f.name))
	}
	return out
}

// setField stores an option's typed value (string, bool, int64, float64,
// or nil) in its field.
func setField(fv reflect.Value, v any) {
	switch x := v.(type) {
	case nil:
	case string:
		fv.SetString(x)
	case bool:
		fv.SetBool(x)
	case int64:
		switch {
		case fv.CanInt() && !fv.OverflowInt(x):
			fv.SetInt(x)
		case fv.CanUint() && x >= 0 && !fv.OverflowUint(uint64(x)):
			fv.SetUint(uint64(x))
		}
	case float64:
		switch {
		case fv.Type() == durationType:
			if d := x * float64(time.Second); d < math.MaxInt64 {
				fv.SetInt(int64(d))
			} else {
				fv.SetInt(math.MaxInt64)
			}
		case fv.CanFloat():
			fv.SetFloat(x)
		}
	}
}
