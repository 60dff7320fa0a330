package objectformat

import (
	"fmt"
	"math"
	"strings"
)

// PyStrRepr is Python's repr() of a str: single quotes unless the text
// holds a single quote and no double quote, with backslash escapes for the
// quote, backslashes and control characters. Ceph's messages embed it
// ("unused arguments: ['c']").
func PyStrRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// PyFloatRepr is Python's repr() of a float: the shortest digits that
// round-trip, "1.0" for integral values, exponent form below 1e-4 and from
// 1e16 on ("1e-05", "1e+16"), and nan, inf, -inf. Ceph's messages embed it
// ("1e-05 not in range [0.5]").
func PyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return string(appendPyFloatRepr(nil, f))
}
