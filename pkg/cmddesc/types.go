package cmddesc

// Client-side validators for the Ceph argument types (ceph_argparse's
// CephInt ... CephUUID, plus CephSizeBytes from newer Ceph). Each validator
// reproduces what the Python class accepts, the value it produces and its
// error text; where the Python code is broken (CephFragment, CephIPAddr,
// CephSocketpath, newer CephPgid) the validator does what the code was
// meant to do. See the surface spec, section 2.2.

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// newArgType returns the validator of descriptor a. CephPrefix literals are
// matched by the matcher itself, so CephPrefix is an error here, as is an
// unknown type or a malformed type-specific key.
func newArgType(a *Arg) (argType, error) {
	switch typ := a.Type(); typ {
	case CephInt:
		return newArgInt(a)
	case CephFloat:
		return newArgFloat(a)
	case CephString:
		return newArgString(a)
	case CephSocketpath:
		return argSocketpath{}, nil
	case CephIPAddr:
		return argIPAddr{}, nil
	case CephEntityAddr:
		return argEntityAddr{}, nil
	case CephPoolname:
		return argAny{label: "<poolname>"}, nil
	case CephObjectname:
		return argAny{label: "<objectname>"}, nil
	case CephPgid:
		return argPgid{}, nil
	case CephName:
		return argName{}, nil
	case CephOsdName:
		return argOsdName{}, nil
	case CephChoices:
		v, ok := a.Get("strings")
		if !ok {
			return nil, fmt.Errorf("%s needs strings=a|b|c", CephChoices)
		}
		return argChoices{strings: strings.Split(v, "|")}, nil
	case CephBool:
		return argBool{}, nil
	case CephFilepath:
		return argFilepath{}, nil
	case CephFragment:
		return argFragment{}, nil
	case CephUUID:
		return argUUID{}, nil
	case CephSizeBytes:
		return newArgSizeBytes(a)
	case CephPrefix:
		return nil, fmt.Errorf("%s is matched literally, it has no validator", CephPrefix)
	default:
		return nil, fmt.Errorf("unknown type %s", typ)
	}
}

// ---------------------------------------------------------------------------
// Python number syntax

// pyDecimalValue returns the value of a Unicode decimal digit (category Nd),
// or -1. Decimal digits are encoded in contiguous runs of ten, zero first.
func pyDecimalValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if !unicode.Is(unicode.Nd, r) {
		return -1
	}
	z := r
	for unicode.Is(unicode.Nd, z-1) {
		z--
	}
	return int(r-z) % 10
}

// pyToASCII does what CPython does to a str before int() or float() parse
// it: ASCII stays as is, Unicode white space becomes ' ' and Unicode
// decimal digits become their ASCII digit. Anything else (or invalid
// UTF-8) makes the string unparsable.
func pyToASCII(s string) (string, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 127:
			b = append(b, byte(r))
		case r == utf8.RuneError:
			return "", false
		case unicode.IsSpace(r):
			b = append(b, ' ')
		default:
			d := pyDecimalValue(r)
			if d < 0 {
				return "", false
			}
			b = append(b, byte('0'+d))
		}
	}
	return string(b), true
}

// pySpace is the white space C Python strips around numbers (Py_ISSPACE).
const pySpace = " \t\n\v\f\r"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// pyParseInt parses s as Python's int(s, base) does for base 0, 10 or 16:
// surrounding white space, one sign, a 0x/0o/0b prefix (base 0; 0x also for
// base 16), single underscores between digits (and one right after a
// prefix), and for base 0 no leading zeros on a non-zero decimal. ok is
// false where Python raises ValueError.
func pyParseInt(s string, base int) (v *big.Int, ok bool) {
	t, ok := pyToASCII(s)
	if !ok {
		return nil, false
	}
	t = strings.Trim(t, pySpace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	zeroOnly := false
	if base == 0 {
		switch {
		case len(t) < 2 || t[0] != '0':
			base = 10
		case t[1] == 'x' || t[1] == 'X':
			base = 16
		case t[1] == 'o' || t[1] == 'O':
			base = 8
		case t[1] == 'b' || t[1] == 'B':
			base = 2
		default:
			base, zeroOnly = 10, true
		}
	}
	if len(t) >= 2 && t[0] == '0' {
		p := t[1] | 0x20
		if base == 16 && p == 'x' || base == 8 && p == 'o' || base == 2 && p == 'b' {
			t = t[2:]
			if t != "" && t[0] == '_' {
				t = t[1:]
			}
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' {
		return nil, false
	}
	digits := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '_' {
			if t[i-1] == '_' {
				return nil, false
			}
			continue
		}
		if digitValue(c) >= base {
			return nil, false
		}
		digits = append(digits, c)
	}
	if zeroOnly && strings.Trim(string(digits), "0") != "" {
		return nil, false
	}
	v, ok = new(big.Int).SetString(string(digits), base)
	if !ok {
		return nil, false
	}
	if neg {
		v.Neg(v)
	}
	return v, true
}

// validFloatSyntax reports whether s (ASCII, no underscores, trimmed) is a
// decimal float literal: [sign] (digits [. [digits]] | . digits) [e [sign] digits].
func validFloatSyntax(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	mant := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		mant++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			mant++
		}
	}
	if mant == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// pyParseFloat parses s as Python's float(s) does: white space, decimal
// literals with single underscores between digits, inf/infinity/nan in any
// case with a sign. Hexadecimal and other Go-only forms are rejected.
// Overflow gives ±Inf, as in Python.
func pyParseFloat(s string) (float64, bool) {
	t, ok := pyToASCII(s)
	if !ok {
		return 0, false
	}
	if strings.IndexByte(t, '_') >= 0 {
		b := make([]byte, 0, len(t))
		var prev byte
		for i := 0; i < len(t); i++ {
			c := t[i]
			if c == '_' {
				if !isDigit(prev) {
					return 0, false
				}
			} else {
				if prev == '_' && !isDigit(c) {
					return 0, false
				}
				b = append(b, c)
			}
			prev = c
		}
		if prev == '_' {
			return 0, false
		}
		t = string(b)
	}
	t = strings.Trim(t, pySpace)
	body, sign := t, 1.0
	if body != "" && (body[0] == '+' || body[0] == '-') {
		if body[0] == '-' {
			sign = -1
		}
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return math.Inf(int(sign)), true
	case "nan":
		return math.Copysign(math.NaN(), sign), true
	}
	if !validFloatSyntax(t) {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func errOutOfRange64(s string) *ArgumentError {
	return argErr(ArgValid, fmt.Sprintf("%s is out of range for a 64-bit integer", s))
}

// ---------------------------------------------------------------------------
// CephInt

type argInt struct {
	bounds []int64 // none, [min] or [min, max]
}

func newArgInt(a *Arg) (argType, error) {
	t := argInt{}
	r, ok := a.Get("range")
	if !ok || r == "" {
		return t, nil
	}
	parts := strings.Split(r, "|")
	if len(parts) > 2 {
		return nil, fmt.Errorf("range=%s: want min or min|max", r)
	}
	for _, p := range parts {
		v, ok := pyParseInt(p, 10)
		if !ok || !v.IsInt64() {
			return nil, fmt.Errorf("range=%s: %q is not a 64-bit integer", r, p)
		}
		t.bounds = append(t.bounds, v.Int64())
	}
	return t, nil
}

func (t argInt) valid(word string, _ bool) (any, error) {
	v, ok := pyParseInt(word, 0)
	if !ok {
		return nil, argErr(ArgValid, fmt.Sprintf("%s doesn't represent an int", word))
	}
	// Python ints are unbounded: a value beyond int64 is outside any
	// range, and without a range it is an error of ours.
	if len(t.bounds) > 0 && !v.IsInt64() ||
		len(t.bounds) > 0 && v.Int64() < t.bounds[0] ||
		len(t.bounds) == 2 && v.Int64() > t.bounds[1] {
		strs := make([]string, len(t.bounds))
		for i, b := range t.bounds {
			strs[i] = strconv.FormatInt(b, 10)
		}
		return nil, argErr(ArgValid, fmt.Sprintf("%s not in range [%s]", v, strings.Join(strs, ", ")))
	}
	if !v.IsInt64() {
		return nil, errOutOfRange64(word)
	}
	return v.Int64(), nil
}

func (t argInt) String() string {
	switch len(t.bounds) {
	case 1:
		return fmt.Sprintf("<int[%d-]>", t.bounds[0])
	case 2:
		return fmt.Sprintf("<int[%d-%d]>", t.bounds[0], t.bounds[1])
	}
	return "<int>"
}

func (argInt) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephFloat

type argFloat struct {
	bounds []float64
}

func newArgFloat(a *Arg) (argType, error) {
	t := argFloat{}
	r, ok := a.Get("range")
	if !ok || r == "" {
		return t, nil
	}
	parts := strings.Split(r, "|")
	if len(parts) > 2 {
		return nil, fmt.Errorf("range=%s: want min or min|max", r)
	}
	for _, p := range parts {
		v, ok := pyParseFloat(p)
		if !ok {
			return nil, fmt.Errorf("range=%s: %q is not a float", r, p)
		}
		t.bounds = append(t.bounds, v)
	}
	return t, nil
}

func (t argFloat) valid(word string, _ bool) (any, error) {
	v, ok := pyParseFloat(word)
	if !ok {
		return nil, argErr(ArgValid, fmt.Sprintf("%s doesn't represent a float", word))
	}
	if len(t.bounds) > 0 && v < t.bounds[0] || len(t.bounds) == 2 && v > t.bounds[1] {
		strs := make([]string, len(t.bounds))
		for i, b := range t.bounds {
			strs[i] = objectformat.PyFloatRepr(b)
		}
		return nil, argErr(ArgValid, fmt.Sprintf("%s not in range [%s]", objectformat.PyFloatRepr(v), strings.Join(strs, ", ")))
	}
	return v, nil
}

func (t argFloat) String() string {
	switch len(t.bounds) {
	case 1:
		return fmt.Sprintf("<float[%s-]>", objectformat.PyFloatRepr(t.bounds[0]))
	case 2:
		return fmt.Sprintf("<float[%s-%s]>", objectformat.PyFloatRepr(t.bounds[0]), objectformat.PyFloatRepr(t.bounds[1]))
	}
	return "<float>"
}

func (argFloat) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephString

// pyPrintable is Python's string.printable.
const pyPrintable = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" +
	"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + " \t\n\r\v\f"

type argString struct {
	goodchars string
	good      [128]bool // allowed characters; all are ASCII
	anyGood   bool      // at least one printable character is allowed
}

// newArgString computes the allowed set as Ceph does: the characters of
// string.printable that the goodchars expression matches at their start.
// If goodchars matches no printable character, Ceph's check is skipped and
// everything passes; so here.
//
// Without goodchars every string is accepted. Ceph's client compares even a
// plain CephString against string.printable (its empty pattern matches
// every printable character), so `ceph` refuses any non-ASCII word; that is
// a side effect of the goodchars check, not a rule, and a server taking
// JSON from any client must accept names like "café".
func newArgString(a *Arg) (argType, error) {
	gc, _ := a.Get("goodchars")
	if gc == "" {
		return &argString{}, nil
	}
	re, err := regexp.Compile(`^(?:` + gc + `)`)
	if err != nil {
		return nil, fmt.Errorf("goodchars %q is not a valid regular expression", gc)
	}
	t := argString{goodchars: gc}
	for i := 0; i < len(pyPrintable); i++ {
		c := pyPrintable[i]
		if re.MatchString(pyPrintable[i : i+1]) {
			t.good[c] = true
			t.anyGood = true
		}
	}
	return &t, nil
}

func (t *argString) valid(word string, _ bool) (any, error) {
	if err := t.check(word); err != nil {
		return nil, err
	}
	return word, nil
}

func (t *argString) check(word string) error {
	if !t.anyGood {
		return nil
	}
	var bad []string
	seen := map[string]bool{}
	for i, r := range word {
		if r < 128 && t.good[r] {
			continue
		}
		_, size := utf8.DecodeRuneInString(word[i:])
		c := word[i : i+size]
		if !seen[c] {
			seen[c] = true
			bad = append(bad, c)
		}
	}
	if bad != nil {
		return argErr(ArgFormat, fmt.Sprintf("invalid chars %s in %s", strings.Join(bad, ""), word))
	}
	return nil
}

func (t *argString) String() string {
	if t.goodchars != "" {
		return fmt.Sprintf("<string(goodchars %s)>", t.goodchars)
	}
	return "<string>"
}

func (t *argString) complete(word string) []string {
	if word == "" {
		return nil
	}
	return []string{word}
}

// ---------------------------------------------------------------------------
// CephSocketpath

type argSocketpath struct{}

// valid stats the path. Ceph lets os.stat's FileNotFoundError escape; a
// missing path is reported here as a clean validation error.
func (argSocketpath) valid(word string, _ bool) (any, error) {
	st, err := os.Stat(word)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, argErr(ArgValid, fmt.Sprintf("socket path %s does not exist", word))
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, argErr(ArgValid, fmt.Sprintf("socket path %s cannot be checked: %v", word, err))
	case st.Mode()&fs.ModeSocket == 0:
		return nil, argErr(ArgValid, fmt.Sprintf("socket path %s is not a socket", word))
	}
	return word, nil
}

func (argSocketpath) String() string           { return "<admin-socket-path>" }
func (argSocketpath) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephIPAddr

type argIPAddr struct{}

// inetPton4 accepts what glibc's inet_pton(AF_INET) accepts: exactly four
// dotted decimal octets, each 0-255 without leading zeros.
func inetPton4(a string) bool {
	parts := strings.Split(a, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || len(p) > 1 && p[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

// inetPton6 accepts what inet_pton(AF_INET6) accepts: an IPv6 address,
// possibly ending in dotted IPv4, without zone.
func inetPton6(a string) bool {
	if strings.ContainsAny(a, "%[]") {
		return false
	}
	ip, err := netip.ParseAddr(a)
	return err == nil && ip.Is6() && ip.Zone() == ""
}

// pyPort parses a port as Python's int(p) would and checks 0..65535.
func pyPort(p string) (int64, bool) {
	v, ok := pyParseInt(p, 10)
	if !ok || v.Sign() < 0 || v.Cmp(big.NewInt(65535)) > 0 {
		return 0, false
	}
	return v.Int64(), true
}

// valid follows Ceph's CephIPAddr with its bugs fixed: "v2:" followed by
// an IPv4 address is IPv4 (Ceph forced IPv6), a prefix may be followed by
// a bracketed IPv6 address, a bracketed address needs no port ("[::1]"
// made Ceph raise IndexError), the whole port is parsed (Ceph read one
// character), a non-numeric or negative IPv4 port is a validation error
// (Ceph raised a bare ValueError or accepted it) and garbage after "]" is
// rejected. The value is the word as given.
func (argIPAddr) valid(word string, _ bool) (any, error) {
	if err := checkIPAddr(word); err != nil {
		return nil, err
	}
	return word, nil
}

func checkIPAddr(word string) error {
	s := word
	v4 := false
	switch {
	case strings.HasPrefix(s, "v1:"):
		s = s[3:]
		v4 = !strings.HasPrefix(s, "[")
	case strings.HasPrefix(s, "any:"):
		s = s[4:]
		v4 = !strings.HasPrefix(s, "[")
	case strings.HasPrefix(s, "v2:"):
		s = s[3:]
		v4 = !strings.HasPrefix(s, "[") && strings.Contains(s, ".")
	case strings.HasPrefix(s, "["):
	default:
		v4 = strings.Contains(s, ".")
	}
	if v4 {
		a := s
		if i := strings.IndexByte(s, ':'); i >= 0 {
			a = s[:i]
			p := s[i+1:]
			if _, ok := pyPort(p); !ok {
				return argErr(ArgValid, fmt.Sprintf("%s: invalid IPv4 port", p))
			}
		}
		if !inetPton4(a) {
			return argErr(ArgValid, fmt.Sprintf("%s: invalid IPv4 address", a))
		}
		return nil
	}
	a := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return argErr(ArgFormat, fmt.Sprintf("%s missing terminating ]", s))
		}
		a = s[1:end]
		rest := s[end+1:]
		switch {
		case rest == "":
		case rest[0] == ':':
			p := rest[1:]
			v, ok := pyParseInt(p, 10)
			if !ok || v.Sign() < 0 {
				return argErr(ArgValid, fmt.Sprintf("%s: bad port number", s))
			}
			if _, ok := pyPort(p); !ok {
				return argErr(ArgValid, fmt.Sprintf("%s not a valid port number", p))
			}
		default:
			return argErr(ArgValid, fmt.Sprintf("%s not valid IPv6 address", s))
		}
	}
	if !inetPton6(a) {
		return argErr(ArgValid, fmt.Sprintf("%s not valid IPv6 address", s))
	}
	return nil
}

func (argIPAddr) String() string           { return "<IPaddr[:port]>" }
func (argIPAddr) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephEntityAddr

type argEntityAddr struct{}

// valid accepts ip[/nonce]. Like Ceph, a nonce ending in "]" gives the "]"
// back to the address and an empty nonce is accepted; unlike Ceph (which
// crashed on a second "/"), everything after the first "/" is the nonce.
func (argEntityAddr) valid(word string, _ bool) (any, error) {
	ip, nonce, hasNonce := strings.Cut(word, "/")
	if hasNonce && strings.HasSuffix(nonce, "]") {
		nonce = nonce[:len(nonce)-1]
		ip += "]"
	}
	if err := checkIPAddr(ip); err != nil {
		return nil, err
	}
	if nonce != "" {
		if v, ok := pyParseInt(nonce, 10); !ok || v.Sign() < 0 {
			return nil, argErr(ArgValid, fmt.Sprintf("%s: invalid entity, nonce %s not integer > 0", word, nonce))
		}
	}
	return word, nil
}

func (argEntityAddr) String() string           { return "<EntityAddr>" }
func (argEntityAddr) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephPoolname, CephObjectname: anything goes.

type argAny struct{ label string }

func (argAny) valid(word string, _ bool) (any, error) { return word, nil }
func (argAny) check(string) error                     { return nil }
func (t argAny) String() string                       { return t.label }
func (argAny) complete(string) []string               { return nil }

// ---------------------------------------------------------------------------
// CephPgid

type argPgid struct{}

// valid accepts <pool>.<hex pgnum>. The messages are the intended ones,
// which Pacific prints; the newest Ceph formats unbound variables there.
func (argPgid) valid(word string, _ bool) (any, error) {
	pool, pgnum, ok := strings.Cut(word, ".")
	if !ok {
		return nil, argErr(ArgFormat, "pgid has no .")
	}
	pv, ok := pyParseInt(pool, 10)
	if !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("pool %s not integer", pool))
	}
	if pv.Sign() < 0 {
		return nil, argErr(ArgFormat, fmt.Sprintf("pool %s < 0", pv))
	}
	if _, ok := pyParseInt(pgnum, 16); !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("pgnum %s not hex integer", pgnum))
	}
	return word, nil
}

func (argPgid) String() string           { return "<pgid>" }
func (argPgid) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephName

type argName struct{}

func (argName) valid(word string, _ bool) (any, error) {
	switch word {
	case "*", "mgr", "mon":
		return word, nil
	}
	t, id, ok := strings.Cut(word, ".")
	if !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("CephName: no . in %s", word))
	}
	switch t {
	case "osd", "mon", "client", "mds", "mgr":
	default:
		return nil, argErr(ArgValid, "unknown type "+t)
	}
	if t == "osd" && id != "*" {
		if _, ok := pyParseInt(id, 10); !ok {
			return nil, argErr(ArgFormat, "osd id "+id+" not integer")
		}
	}
	return word, nil
}

func (argName) String() string           { return "<name (type.id)>" }
func (argName) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephOsdName

type argOsdName struct{}

// valid accepts *, <id> or osd.<id>; the value is the id as int64, or "*".
func (argOsdName) valid(word string, _ bool) (any, error) {
	if word == "*" {
		return word, nil
	}
	id := word
	if t, rest, ok := strings.Cut(word, "."); ok {
		if t != "osd" {
			return nil, argErr(ArgValid, "unknown type "+t)
		}
		id = rest
	}
	v, ok := pyParseInt(id, 10)
	if !ok {
		return nil, argErr(ArgFormat, "osd id "+id+" not integer")
	}
	if v.Sign() < 0 {
		return nil, argErr(ArgFormat, fmt.Sprintf("osd id %s is less than 0", v))
	}
	if !v.IsInt64() {
		return nil, errOutOfRange64(id)
	}
	return v.Int64(), nil
}

func (argOsdName) String() string           { return "<osdname (id|osd.id)>" }
func (argOsdName) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephChoices

type argChoices struct {
	strings []string
}

func (t argChoices) valid(word string, partial bool) (any, error) {
	for _, c := range t.strings {
		if c == word || partial && strings.HasPrefix(c, word) {
			return word, nil
		}
	}
	return nil, argErr(ArgValid, fmt.Sprintf("%s not in %s", word, t))
}

func (t argChoices) String() string { return strings.Join(t.strings, "|") }

func (t argChoices) complete(word string) []string {
	var out []string
	for _, c := range t.strings {
		if strings.HasPrefix(c, word) {
			out = append(out, c)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// CephBool

type argBool struct{}

func (argBool) valid(word string, _ bool) (any, error) {
	switch strings.ToLower(word) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return nil, argErr(ArgValid, fmt.Sprintf("%s not one of 'true', 'false'", word))
}

func (argBool) String() string           { return "<bool>" }
func (argBool) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephFilepath

type argFilepath struct{}

func accessOK(path string, mode uint32) bool { return syscall.Access(path, mode) == nil }

const (
	accessR = 0x4 // R_OK
	accessW = 0x2 // W_OK
)

// valid makes the path absolute; a readable path is fine, otherwise it
// must be a writable regular file or be creatable in a writable
// directory. The value is the absolute path.
func (argFilepath) valid(word string, _ bool) (any, error) {
	p, err := filepath.Abs(word)
	if err != nil {
		return nil, argErr(ArgValid, fmt.Sprintf("cannot make %s absolute: %v", word, err))
	}
	if accessOK(p, accessR) {
		return p, nil
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && !st.Mode().IsRegular():
		return nil, argErr(ArgValid, fmt.Sprintf("%s is not file", p))
	case err == nil:
		if !accessOK(p, accessW) {
			return nil, argErr(ArgValid, fmt.Sprintf("%s is not writable", p))
		}
	default:
		dir := filepath.Dir(p)
		if !accessOK(dir, accessW) {
			return nil, argErr(ArgValid, fmt.Sprintf("cannot create file in %s", dir))
		}
	}
	return p, nil
}

func (argFilepath) String() string           { return "<outfilename>" }
func (argFilepath) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephFragment

type argFragment struct{}

// valid accepts 0x<hex>/<bits>. Ceph checks the value with int() in base
// 10, so it rejects every fragment; here the value is read in base 16 as
// intended. Everything after the first "/" is the bit count (Ceph crashed
// on a second "/").
func (argFragment) valid(word string, _ bool) (any, error) {
	val, bits, ok := strings.Cut(word, "/")
	if !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("%s: no /", word))
	}
	if !strings.HasPrefix(val, "0x") {
		return nil, argErr(ArgFormat, fmt.Sprintf("%s not a hex integer", val))
	}
	if _, ok := pyParseInt(val, 16); !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("can't convert %s to integer", val))
	}
	if _, ok := pyParseInt(bits, 10); !ok {
		return nil, argErr(ArgFormat, fmt.Sprintf("can't convert %s to integer", bits))
	}
	return word, nil
}

func (argFragment) String() string           { return "<CephFS fragment ID (0xvvv/bbb)>" }
func (argFragment) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephUUID

type argUUID struct{}

// valid accepts what Python's uuid.UUID(hex) accepts: "urn:" and "uuid:"
// removed, braces stripped from both ends, dashes removed, then 32
// characters that int(x, 16) reads. The messages are Python's: "badly
// formed hexadecimal UUID string" for a wrong length, int()'s complaint
// for 32 characters that are not hex.
func (argUUID) valid(word string, _ bool) (any, error) {
	h := strings.ReplaceAll(word, "urn:", "")
	h = strings.ReplaceAll(h, "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if !utf8.ValidString(h) || utf8.RuneCountInString(h) != 32 {
		return nil, errBadUUID(word)
	}
	if _, ok := pyParseInt(h, 16); !ok {
		// Python's message comes from int(h, 16) here.
		return nil, argErr(ArgFormat, fmt.Sprintf("invalid UUID %s: invalid literal for int() with base 16: %s", word, pyQuote(h)))
	}
	return word, nil
}

func errBadUUID(word string) error {
	return argErr(ArgFormat, fmt.Sprintf("invalid UUID %s: badly formed hexadecimal UUID string", word))
}

// pyQuote writes s as Python's repr(str) does.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	b := []byte{q}
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r < ' ' || r == 0x7f:
			b = fmt.Appendf(b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b = utf8.AppendRune(b, r)
		case r <= 0xff:
			b = fmt.Appendf(b, `\x%02x`, r)
		case r <= 0xffff:
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = fmt.Appendf(b, `\U%08x`, r)
		}
	}
	return string(append(b, q))
}

func (argUUID) String() string           { return "<uuid>" }
func (argUUID) complete(string) []string { return nil }

// ---------------------------------------------------------------------------
// CephSizeBytes

// sizeUnits are CephSizeBytes' 1024-based units, by upper-case name.
var sizeUnits = map[string]int64{
	"B": 1,
	"K": 1 << 10, "KB": 1 << 10,
	"M": 1 << 20, "MB": 1 << 20,
	"G": 1 << 30, "GB": 1 << 30,
	"T": 1 << 40, "TB": 1 << 40,
	"P": 1 << 50, "PB": 1 << 50,
}

type argSizeBytes struct {
	defUnit int64
}

// newArgSizeBytes reads the optional default_unit key. Ceph's conversion
// helper refuses a plain number when no default unit is given; for a
// command-line argument a plain number without default_unit is taken as
// bytes, which is what the newest Ceph's handlers expect (vector 37 sends
// "5242880" and gets 5242880).
func newArgSizeBytes(a *Arg) (argType, error) {
	t := argSizeBytes{defUnit: 1}
	if u, ok := a.Get("default_unit"); ok {
		m, ok := sizeUnits[strings.ToUpper(u)]
		if !ok {
			return nil, fmt.Errorf("default_unit=%s: want B, K, KB, M, MB, G, GB, T, TB, P or PB", u)
		}
		t.defUnit = m
	}
	return t, nil
}

// valid accepts decimal digits followed by an optional unit.
func (t argSizeBytes) valid(word string, _ bool) (any, error) {
	i := 0
	for i < len(word) && isDigit(word[i]) {
		i++
	}
	num, unit := word[:i], word[i:]
	mult := t.defUnit
	if unit != "" {
		m, ok := sizeUnits[strings.ToUpper(unit)]
		if !ok {
			return nil, argErr(ArgValid, fmt.Sprintf("%s is not a valid size", word))
		}
		mult = m
	}
	if num == "" {
		return nil, argErr(ArgValid, fmt.Sprintf("%s is not a valid size", word))
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return nil, errOutOfRange64(word)
	}
	return n * mult, nil
}

func (argSizeBytes) String() string           { return "<size>" }
func (argSizeBytes) complete(string) []string { return nil }
