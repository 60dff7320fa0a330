package optschema

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// The number syntaxes of Ceph's Option::parse_value (Pacific 16.2), with
// its error texts, for the option types that take integers: Int and Uint
// (strict_si_cast), Size (strict_iecstrtoll), Secs (parse_timespan), and
// Bool's integer form (strict_strtol). The vectors in cephnum_test.go are
// the real monitor's answers.

// cSpace is C's isspace in the C locale.
const cSpace = " \t\n\v\f\r"

// firstNotIn returns the index of the first byte of s that is not in set,
// or -1 (C++'s find_first_not_of).
func firstNotIn(s, set string) int {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return i
		}
	}
	return -1
}

// strictStrtoll is Ceph's strict_strtoll(str, 10): strtoll's syntax
// (leading C white space, an optional sign, decimal digits) taking the
// whole of text, within int64.
func strictStrtoll(text string) (int64, error) {
	i := 0
	for i < len(text) && strings.IndexByte(cSpace, text[i]) >= 0 {
		i++
	}
	start := i
	if i < len(text) && (text[i] == '+' || text[i] == '-') {
		i++
	}
	digits := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	if i == digits || i != len(text) {
		//lint:ignore ST1005 Ceph's message, capitalised as the monitor writes it
		return 0, fmt.Errorf("Expected option value to be integer, got '%s'", text)
	}
	n, err := strconv.ParseInt(text[start:], 10, 64)
	if err != nil {
		//lint:ignore ST1005 Ceph's message, capitalised as the monitor writes it
		return 0, fmt.Errorf("The option value '%s' seems to be invalid", text)
	}
	return n, nil
}

// strictStrtol is Ceph's strict_strtol(str, 10): strict_strtoll within
// C's int.
func strictStrtol(text string) (int64, error) {
	n, err := strictStrtoll(text)
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		//lint:ignore ST1005 Ceph's message, capitalised as the monitor writes it
		return 0, fmt.Errorf("The option value '%s' seems to be invalid", text)
	}
	return n, nil
}

// errInt64 refuses a value Ceph's unsigned types hold but gomgr's int64
// option values cannot (from 2^63 to 2^64-1).
func errInt64(ceph string) error {
	return fmt.Errorf("%s (gomgr holds integer options as int64: at most %d)", ceph, int64(math.MaxInt64))
}

// strictSICast is Ceph's strict_si_cast<int64_t> (unsigned false: Int)
// or <uint64_t> (unsigned true: Uint): a base-10 integer, optionally
// followed by one of the SI suffixes K, M, G, T, P, E (powers of 1000,
// upper case only). Text holding anything but digits and signs must end
// in a suffix ("B" is accepted as a suffix there, but is then left in the
// number, which fails); the rest is read by strict_strtoll, so white space
// may lead a number with a suffix (" 5K") but not one without (" 5").
func strictSICast(text string, unsigned bool) (int64, error) {
	if text == "" {
		return 0, errors.New("strict_sistrtoll: value not specified")
	}
	n, exp := text, 0
	if firstNotIn(text, "0123456789+-") >= 0 {
		switch text[len(text)-1] {
		case 'K':
			exp = 3
		case 'M':
			exp = 6
		case 'G':
			exp = 9
		case 'T':
			exp = 12
		case 'P':
			exp = 15
		case 'E':
			exp = 18
		case 'B':
		default:
			return 0, errors.New("strict_si_cast: unit prefix not recognized")
		}
		if exp > 0 {
			n = text[:len(text)-1]
		}
	}
	ll, err := strictStrtoll(n)
	if err != nil {
		return 0, err
	}
	if unsigned && ll < 0 {
		return 0, errors.New("strict_sistrtoll: value should not be negative")
	}
	coef := int64(1)
	for range exp {
		coef *= 10
	}
	outOfRange := errors.New("strict_sistrtoll: value out of range")
	if unsigned {
		if uint64(ll) > math.MaxUint64/uint64(coef) {
			return 0, outOfRange
		}
		if hi, lo := bits.Mul64(uint64(ll), uint64(coef)); hi != 0 || lo > math.MaxInt64 {
			return 0, errInt64(outOfRange.Error())
		}
		return ll * coef, nil
	}
	if ll < math.MinInt64/coef || ll > math.MaxInt64/coef {
		return 0, outOfRange
	}
	return ll * coef, nil
}

// strictIECStrtoll is Ceph's strict_iecstrtoll (Size): a base-10
// integer, optionally followed by a unit of at most two characters whose
// first is K, M, G, T, P or E (powers of 1024) or B (bytes): "4K", "4Ki",
// "4KB", "4B". The number is what precedes the first character that is
// not a digit or a sign, read by strict_strtoll.
func strictIECStrtoll(text string) (int64, error) {
	if text == "" {
		return 0, errors.New("strict_iecstrtoll: value not specified")
	}
	n, shift := text, 0
	if u := firstNotIn(text, "0123456789-+"); u >= 0 {
		n = text[:u]
		unit := text[u:]
		if unit[len(unit)-1] == 'i' && unit[0] == 'B' {
			return 0, errors.New(`strict_iecstrtoll: illegal prefix "Bi"`)
		}
		if len(unit) > 2 {
			return 0, errors.New("strict_iecstrtoll: illegal prefix (length > 2)")
		}
		switch unit[0] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		case 'P':
			shift = 50
		case 'E':
			shift = 60
		case 'B':
		default:
			return 0, errors.New("strict_iecstrtoll: unit prefix not recognized")
		}
	}
	ll, err := strictStrtoll(n)
	if err != nil {
		return 0, err
	}
	if ll < 0 {
		return 0, errors.New("strict_iecstrtoll: value should not be negative")
	}
	if uint64(ll) > math.MaxUint64>>shift {
		return 0, errors.New("strict_iecstrtoll: value seems to be too large")
	}
	if ll > math.MaxInt64>>shift {
		return 0, errInt64("strict_iecstrtoll: value seems to be too large")
	}
	return ll << shift, nil
}

// timespanUnits are parse_timespan's units, in seconds.
var timespanUnits = map[string]int64{
	"s": 1, "sec": 1, "second": 1, "seconds": 1,
	"m": 60, "min": 60, "minute": 60, "minutes": 60,
	"h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
	"d": 86400, "day": 86400, "days": 86400,
	"w": 7 * 86400, "wk": 7 * 86400, "week": 7 * 86400, "weeks": 7 * 86400,
	"mo": 30 * 86400, "month": 30 * 86400, "months": 30 * 86400,
	"y": 365 * 86400, "yr": 365 * 86400, "year": 365 * 86400, "years": 365 * 86400,
}

// parseTimespan is Ceph's parse_timespan (Secs): a sum of terms, each
// decimal digits, optional white space and an optional unit ("1h 30m",
// "90s", "2d", "10"), white space around them; the empty text is 0. Ceph
// counts whole seconds. gomgr's Secs options hold float seconds, so a
// text that is one non-negative decimal number with a fractional part
// ("0.25", "2.5") is also accepted (Ceph refuses it: "unexpected trailing
// '.5'"), for sub-second limits; every text Ceph accepts gives Ceph's
// value.
func parseTimespan(text string) (float64, error) {
	if f, ok := fractionalSeconds(strings.Trim(text, cSpace)); ok {
		return f, nil
	}
	var total int64
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isAlpha := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	skipSpace := func(i int) int {
		for i < len(text) && strings.IndexByte(cSpace, text[i]) >= 0 {
			i++
		}
		return i
	}
	for pos := 0; pos < len(text); {
		if pos = skipSpace(pos); pos >= len(text) {
			break
		}
		start := pos
		for pos < len(text) && isDigit(text[pos]) {
			pos++
		}
		if start == pos {
			return 0, errors.New("expected digit")
		}
		val, err := strictStrtoll(text[start:pos])
		if err != nil {
			return 0, err
		}
		pos = skipSpace(pos)
		ustart := pos
		for pos < len(text) && isAlpha(text[pos]) {
			pos++
		}
		if ustart != pos {
			mult, ok := timespanUnits[text[ustart:pos]]
			if !ok {
				return 0, fmt.Errorf("unrecogized unit '%s'", text[ustart:pos]) // sic: Ceph's text
			}
			if val > math.MaxInt64/mult {
				return 0, fmt.Errorf("the time span '%s' is too long", text)
			}
			val *= mult
		} else if pos < len(text) {
			return 0, fmt.Errorf("unexpected trailing '%s'", text[pos:])
		}
		if total > math.MaxInt64-val {
			return 0, fmt.Errorf("the time span '%s' is too long", text)
		}
		total += val
	}
	if total > maxExactSecs {
		return 0, fmt.Errorf("the time span '%s' is too long (gomgr holds seconds as a float64: at most %d)", text, int64(maxExactSecs))
	}
	return float64(total), nil
}

// maxExactSecs is the largest whole number of seconds a float64 holds
// exactly, so its canonical text reads back.
const maxExactSecs = 1 << 53

// fractionalSeconds reads "D.D", "D." or ".D" (decimal digits, one dot).
func fractionalSeconds(s string) (float64, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if !dot || whole+frac == "" || firstNotIn(whole+frac, "0123456789") >= 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && f <= maxExactSecs
}

// formatSecs is the canonical text of a Secs value: decimal seconds
// without an exponent ("5400", "0.25"), which parseTimespan reads back.
func formatSecs(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
