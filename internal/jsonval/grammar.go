package jsonval

// The pieces of JSON's grammar (RFC 8259) both of the project's scanners
// read alike: Decode's here, and internal/api's command decoder, which
// decodes to other types and refuses what this package replaces.

// NumberEnd scans the number at b[i:]: end is the offset just past it,
// integer whether it has neither a fraction nor an exponent; ok is false
// where b[i:] does not start with a number (end is then where it stops
// being one).
func NumberEnd(b []byte, i int) (end int, integer, ok bool) {
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return i, false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		i++
		if !digits() {
			return i, false, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false, false
		}
	}
	return i, integer, true
}

// Hex4 is the value of the four hexadecimal digits of a \u escape at
// b[i:]; ok is false where there are not four.
func Hex4(b []byte, i int) (r rune, ok bool) {
	if i+4 > len(b) {
		return 0, false
	}
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// Unescape is the character a one-letter escape (\" \\ \/ \b \f \n \r
// \t) stands for, given the letter; ok is false for any other (\u's
// included).
func Unescape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}
