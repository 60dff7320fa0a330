package cmddesc

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// fuzzTypeDescs are the descriptors FuzzArgTypes feeds every word to: each
// validator type, with and without its type-specific keys.
var fuzzTypeDescs = [][]string{
	{CephInt},
	{CephInt, "range", "1|42"},
	{CephInt, "range", "-5"},
	{CephFloat},
	{CephFloat, "range", "0.0|1.0"},
	{CephString},
	{CephString, "goodchars", "[A-Za-z0-9-_.]"},
	{CephSocketpath},
	{CephIPAddr},
	{CephEntityAddr},
	{CephPoolname},
	{CephObjectname},
	{CephPgid},
	{CephName},
	{CephOsdName},
	{CephChoices, "strings", "red|blue-ish"},
	{CephBool},
	{CephFilepath},
	{CephFragment},
	{CephUUID},
	{CephSizeBytes},
	{CephSizeBytes, "default_unit", "KB"},
}

func FuzzArgTypes(f *testing.F) {
	for _, s := range []string{
		"", "5", "-5", "0x10", "0o17", "0b11", "1_000", " 5", "010", "5.0", "9223372036854775808",
		"nan", "-inf", "1e3", ".5", "1e500", "0x1p-2", "my_fs.1", "bad fs!", "章鱼",
		"1.2.3.4:6789/123", "[::1]:6789/0", "v2:1.2.3.4:3300", "[::1]", "[::1", "1.2.3.4/-1",
		"1.1a", "x.1", "osd.1", "client.admin", "mgr", "*", "osd.x", "-1", "red", "blu", "true", "FALSE",
		"/tmp", "0x1/3", "12345678-1234-5678-1234-567812345678", "100KB", "8192PB", "\u0663",
	} {
		f.Add(s)
	}
	types := make([]argType, len(fuzzTypeDescs))
	for i, d := range fuzzTypeDescs {
		types[i] = newTestType(f, d[0], d[1:]...)
	}
	f.Fuzz(func(t *testing.T, word string) {
		for i, at := range types {
			typ := fuzzTypeDescs[i][0]
			for _, partial := range []bool{false, true} {
				v, err := at.valid(word, partial)
				if err != nil {
					var ae *ArgumentError
					if !errors.As(err, &ae) || ae.Msg == "" {
						t.Fatalf("%s %q: error %#v is not an *ArgumentError with a message", at, word, err)
					}
					if v != nil {
						t.Fatalf("%s %q: both value %#v and error %v", at, word, v, err)
					}
					continue
				}
				if v == nil {
					t.Fatalf("%s %q: neither value nor error", at, word)
				}
				checkFuzzValue(t, typ, at, word, v)
			}
			_ = at.complete(word)
			if at.String() == "" {
				t.Fatalf("%s: empty String()", typ)
			}
		}
	})
}

// checkFuzzValue checks the type of an accepted value and that accepted
// numbers round-trip through their printed form.
func checkFuzzValue(t *testing.T, typ string, at argType, word string, v any) {
	switch typ {
	case CephInt:
		n, ok := v.(int64)
		if !ok {
			t.Fatalf("%s %q: value %#v is not int64", at, word, v)
		}
		s := strconv.FormatInt(n, 10)
		v2, err := at.valid(s, false)
		if err != nil || v2 != n {
			t.Fatalf("%s %q -> %d: re-validating %q gave %#v, %v", at, word, n, s, v2, err)
		}
	case CephFloat:
		x, ok := v.(float64)
		if !ok {
			t.Fatalf("%s %q: value %#v is not float64", at, word, v)
		}
		s := objectformat.PyFloatRepr(x)
		v2, err := at.valid(s, false)
		if err != nil {
			t.Fatalf("%s %q -> %v: re-validating %q failed: %v", at, word, x, s, err)
		}
		y := v2.(float64)
		if !(math.IsNaN(x) && math.IsNaN(y)) && math.Float64bits(x) != math.Float64bits(y) {
			t.Fatalf("%s %q -> %v: re-validating %q gave %v", at, word, x, s, y)
		}
	case CephSizeBytes:
		if n, ok := v.(int64); !ok || n < 0 {
			t.Fatalf("%s %q: value %#v is not a non-negative int64", at, word, v)
		}
	case CephBool:
		if _, ok := v.(bool); !ok {
			t.Fatalf("%s %q: value %#v is not bool", at, word, v)
		}
	case CephOsdName:
		switch x := v.(type) {
		case int64:
			if x < 0 {
				t.Fatalf("%s %q: negative id %d", at, word, x)
			}
		case string:
			if x != "*" {
				t.Fatalf("%s %q: string value %q is not *", at, word, x)
			}
		default:
			t.Fatalf("%s %q: value %#v is neither int64 nor *", at, word, v)
		}
	default:
		if _, ok := v.(string); !ok {
			t.Fatalf("%s %q: value %#v is not a string", at, word, v)
		}
	}
}
