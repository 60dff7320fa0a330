package clicommand

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"syscall"

	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// bound is the outcome of binding a JSON command onto a command.
type bound struct {
	args   any                   // pointer to the argument struct, nil for Legacy commands
	req    *objectformat.Request // the request to fill, allocated with args; nil for Legacy commands
	values map[string]any        // validated argument values by name, plus "prefix"; nil when argsOnly
}

// invalid returns the -EINVAL error the server reports for a bad command.
func invalid(format string, args ...any) error {
	return &cmddesc.ArgumentError{Kind: cmddesc.ArgValid, Msg: "Invalid command: " + fmt.Sprintf(format, args...)}
}

// bindCall validates cmd against the command's spec and, for struct
// commands, fills a new argument struct.
func (c *Command) bindCall(cmd map[string]any, inbuf []byte) (bound, error) {
	bd := c.bind
	if bd == nil {
		values, err := c.spec.Validate(cmd) // a Legacy command: the handler reads req.Cmd
		if err != nil {
			return bound{}, err
		}
		return bound{values: values}, nil
	}
	// The request and the argument struct in one allocation.
	both := reflect.New(bd.both).Elem()
	out := bound{req: both.Field(0).Addr().Interface().(*objectformat.Request)}
	dst := both.Field(1)
	out.args = dst.Addr().Interface()
	next := 0 // bd.fields follow the spec's params, a struct's own ones only
	store := func(p *cmddesc.Param, v any, present bool) error {
		var f *field
		if next < len(bd.fields) && bd.fields[next].p == p {
			f = bd.fields[next]
			next++
		} else {
			for _, x := range bd.fields {
				if x.p == p {
					f = x
					break
				}
			}
		}
		switch {
		case f == nil: // an argument the struct does not hold (a Responder's format)
			return nil
		case present:
		case f.hasDef:
			v = f.def
		default:
			return nil
		}
		if err := storeField(dst.FieldByIndex(f.index), v); err != nil {
			return invalid("argument '%s': %v", p.Name(), err)
		}
		return nil
	}
	var err error
	if c.argsOnly {
		err = c.spec.Check(cmd, store)
	} else {
		out.values, err = c.spec.ValidateEach(cmd, store)
	}
	if err != nil {
		return bound{}, err
	}
	if len(inbuf) > 0 && bd.inbuf == nil {
		return bound{}, invalid("Input file data (-i) not supported")
	}
	if bd.hasNonempty {
		var err error
		if inbuf, err = checkNonempty(inbuf, bd.nonempty); err != nil {
			return bound{}, err
		}
	}
	if bd.inbuf != nil && len(inbuf) > 0 {
		f := dst.FieldByIndex(bd.inbuf)
		switch bd.inbufT.Kind() {
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

// storeField assigns a validated value to a struct field.
func storeField(f reflect.Value, v any) error {
	// The usual cases, set in place (convertForField does the same through
	// a new value).
	switch f.Kind() {
	case reflect.String:
		if x, ok := v.(string); ok {
			f.SetString(x)
			return nil
		}
	case reflect.Bool:
		if x, ok := v.(bool); ok {
			f.SetBool(x)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if x, ok := v.(int64); ok && !f.OverflowInt(x) {
			f.SetInt(x)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		if x, ok := v.(float64); ok && !f.OverflowFloat(x) {
			f.SetFloat(x)
			return nil
		}
	}
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

// checkNonempty is Python's CLICheckNonemptyFileInput(desc): no input file
// and one that holds only white space are -EINVAL errors that say what
// the file should hold; the newlines an editor leaves at its end are
// dropped.
func checkNonempty(inbuf []byte, desc string) ([]byte, error) {
	if len(inbuf) == 0 {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf(
			"Input file not specified: Please specify the file containing %s with \"-i\" option", desc), -int(syscall.EINVAL))
	}
	inbuf = bytes.TrimRight(inbuf, "\r\n")
	if len(bytes.TrimSpace(inbuf)) == 0 {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("Empty input file: Please add %s to the file", desc), -int(syscall.EINVAL))
	}
	return inbuf, nil
}
