// Package jsonval decodes JSON into plain Go values with the number types
// Python's json module gives: a number written without a fraction or an
// exponent is an integer (int64, or uint64 above math.MaxInt64, or
// float64 only beyond that), any other number a float64. encoding/json's
// plain decoding turns every number into a float64, which loses the low
// digits of the 64-bit integers Ceph's maps are full of (feature bits,
// object counts in bytes, ...), so values decoded that way cannot equal
// what a Python module reads.
package jsonval

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Decode decodes one JSON value from data: objects as map[string]any,
// arrays as []any, numbers as Number describes, strings, bools and nil;
// the same values as encoding/json with UseNumber and then Numbers, in
// one pass (decode.go). Trailing data other than white space is an
// error, as is nesting deeper than encoding/json's 10,000.
func Decode(data []byte) (any, error) {
	d := decoder{data: data}
	d.space()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.space()
	if d.off < len(d.data) {
		return nil, d.syntaxError("after the top-level JSON value")
	}
	return v, nil
}

// DecodeObject is Decode for a JSON object (null gives a nil map).
func DecodeObject(data []byte) (map[string]any, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", kind(v))
	}
	return m, nil
}

// Numbers replaces, in place where it can, every json.Number in v (as a
// decoder with UseNumber leaves them) by its Python-typed value, and
// returns the result.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return Number(string(x))
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
	}
	return v
}

// Number converts the text of a valid JSON number: an integer literal to
// int64 (uint64 when it is above math.MaxInt64, float64 when it does not
// fit either), anything else to float64.
func Number(s string) any {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// Float returns a decoded number as a float64; ok is false for values that
// are not numbers.
func Float(v any) (f float64, ok bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// Int returns a decoded number as an int64 when it is a whole number that
// fits; ok is false otherwise.
func Int(v any) (i int64, ok bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint64:
		if n <= 1<<63-1 {
			return int64(n), true
		}
	case float64:
		if n == float64(int64(n)) && n >= -(1<<63) && n < 1<<63 {
			return int64(n), true
		}
	}
	return 0, false
}

func kind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a bool"
	}
	return "a number"
}
