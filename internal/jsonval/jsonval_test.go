package jsonval

import (
	"math"
	"reflect"
	"testing"
)

func TestDecodeKeepsPythonsNumberTypes(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`4540138314316775423`, int64(4540138314316775423)},
		{`18446744073709551615`, uint64(math.MaxUint64)},
		{`184467440737095516150`, 1.8446744073709552e20},
		{`-9223372036854775808`, int64(math.MinInt64)},
		{`1`, int64(1)},
		{`1.0`, 1.0},
		{`1e3`, 1000.0},
		{`-0.5`, -0.5},
		{`{"a": [1, 2.5, {"b": 3}], "c": null, "d": "x", "e": true}`,
			map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": int64(3)}}, "c": nil, "d": "x", "e": true}},
	}
	for _, tc := range tests {
		got, err := Decode([]byte(tc.in))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Decode(%s) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	for _, in := range []string{``, `{`, `1 2`, `{"a":1}x`, `nul`} {
		if v, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) = %#v, want an error", in, v)
		}
	}
	if _, err := DecodeObject([]byte(`[1]`)); err == nil {
		t.Error("DecodeObject([1]) did not fail")
	}
	if m, err := DecodeObject([]byte(` null `)); err != nil || m != nil {
		t.Errorf("DecodeObject(null) = %v, %v", m, err)
	}
}

func TestFloatAndInt(t *testing.T) {
	for _, v := range []any{int64(3), 3.0, uint64(3), 3} {
		if f, ok := Float(v); !ok || f != 3 {
			t.Errorf("Float(%#v) = %v, %v", v, f, ok)
		}
		if i, ok := Int(v); !ok || i != 3 {
			t.Errorf("Int(%#v) = %v, %v", v, i, ok)
		}
	}
	if _, ok := Int(2.5); ok {
		t.Error("Int(2.5) ok")
	}
	if _, ok := Int(uint64(math.MaxUint64)); ok {
		t.Error("Int(MaxUint64) ok")
	}
	if _, ok := Float("3"); ok {
		t.Error("Float(\"3\") ok")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,-3e2,18446744073709551616]}`, `"x"`, `null`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes, decodes again the same way from its own
		// encoding with Python's types (no json.Number left behind).
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case nil, bool, string, int64, uint64, float64:
			default:
				t.Fatalf("Decode left a %T", v)
			}
		}
		walk(v)
	})
}
