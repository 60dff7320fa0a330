package optschema

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type is the type of a module option (MODULE_OPTIONS "type").
type Type string

// Option types, as Ceph names them.
const (
	Str   Type = "str"
	Int   Type = "int"
	Uint  Type = "uint"
	Float Type = "float"
	Bool  Type = "bool"
	Secs  Type = "secs"
	Size  Type = "size"
	Addr  Type = "addr"
	UUID  Type = "uuid"
)

// Level is how visible an option is (Ceph's OptionLevel); the zero value
// is advanced, Ceph's default.
type Level int

// Spec declares an option: package module's Option, field for field (see
// there for what each means).
type Spec struct {
	Name        string
	Type        Type
	Level       Level
	Default     any
	Min, Max    any
	EnumAllowed []string
	Desc        string
	LongDesc    string
	Tags        []string
	SeeAlso     []string
	Runtime     bool
}

// Builtins are appended to every module's options, as Python's
// _register_options does.
var Builtins = []Spec{
	{Name: "log_level", Type: Str, Default: "", EnumAllowed: []string{"info", "debug", "critical", "error", "warning", ""}, Runtime: true,
		Desc: "log level of this module (empty: follow the daemon's debug level)"},
	{Name: "log_to_file", Type: Bool, Default: false, Runtime: true, Desc: "write this module's log to its own file"},
	{Name: "log_to_cluster", Type: Bool, Default: false, Runtime: true, Desc: "send this module's log to the cluster log"},
	{Name: "log_to_cluster_level", Type: Str, Default: "info", EnumAllowed: []string{"info", "debug", "critical", "error", "warning", ""}, Runtime: true,
		Desc: "lowest level sent to the cluster log"},
}

// Option is a Spec with its default and bounds parsed.
type Option struct {
	Spec
	// Def is the parsed default (nil: none).
	Def      any
	min, max *float64
}

// Schema is a module's options by name.
type Schema map[string]*Option

// Compile checks a module's declared options and returns its schema:
// decl followed by the Builtins it does not declare itself. Errors name
// the module and the option.
func Compile(module string, decl []Spec) (Schema, error) {
	out := Schema{}
	all := append(append([]Spec(nil), decl...), Builtins...)
	for _, o := range all {
		if o.Name == "" || !utf8.ValidString(o.Name) || strings.ContainsFunc(o.Name, func(r rune) bool { return r == '/' || unicode.IsSpace(r) }) {
			return nil, fmt.Errorf("module %s: invalid option name %q", module, o.Name)
		}
		if _, dup := out[o.Name]; dup {
			if IsBuiltin(o.Name) {
				continue // the module declared it itself (Python: log_to_cluster)
			}
			return nil, fmt.Errorf("module %s: option %q declared twice", module, o.Name)
		}
		if o.Type == "" {
			o.Type = Str
		}
		switch o.Type {
		case Str, Int, Uint, Float, Bool, Secs, Size, Addr, UUID:
		default:
			return nil, fmt.Errorf("module %s: option %q: unknown type %q", module, o.Name, o.Type)
		}
		c := &Option{Spec: o}
		for _, b := range []struct {
			v   any
			dst **float64
			n   string
		}{{o.Min, &c.min, "min"}, {o.Max, &c.max, "max"}} {
			if b.v == nil {
				continue
			}
			f, err := toFloat(b.v)
			if err != nil {
				return nil, fmt.Errorf("module %s: option %q: %s: %v", module, o.Name, b.n, err)
			}
			*b.dst = &f
		}
		if c.min != nil && c.max != nil && *c.min > *c.max {
			return nil, fmt.Errorf("module %s: option %q: min %s is above max %s", module, o.Name, fmtNum(*c.min), fmtNum(*c.max))
		}
		if o.Default != nil {
			text, err := c.ValueText(o.Default)
			if err != nil {
				return nil, fmt.Errorf("module %s: option %q: default: %v", module, o.Name, err)
			}
			v, err := c.Parse(text)
			if err != nil {
				return nil, fmt.Errorf("module %s: option %q: default %q: %v", module, o.Name, text, err)
			}
			// A default must be a value the option could be set to (Ceph does
			// not check; its modules' defaults all are). A nil Default is the
			// way to say "unset"; an enum that allows "" may default to "".
			switch kind, limit := c.Violation(c.Canonical(text, v), v); kind {
			case "enum":
				return nil, fmt.Errorf("module %s: option %q: default %q is not one of the permitted values: %s (use a nil Default for none)",
					module, o.Name, text, c.Permitted())
			case "min":
				return nil, fmt.Errorf("module %s: option %q: default %s is below minimum %s", module, o.Name, text, limit)
			case "max":
				return nil, fmt.Errorf("module %s: option %q: default %s exceeds maximum %s", module, o.Name, text, limit)
			}
			c.Def = v
		}
		out[o.Name] = c
	}
	return out, nil
}

// IsBuiltin reports whether name is one of the Builtins.
func IsBuiltin(name string) bool {
	for _, b := range Builtins {
		if b.Name == name {
			return true
		}
	}
	return false
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

// ValueText turns a Go value into option text.
func ValueText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case time.Duration:
		return strconv.FormatFloat(x.Seconds(), 'g', -1, 64), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("unsupported value type %T", v)
}

// Parse converts option text to the typed value (no enum or bound check).
// Int, Uint, Size, Secs and Bool read text as Ceph's Option::parse_value
// does, with its error texts (see cephnum.go).
func (c *Option) Parse(text string) (any, error) {
	s := strings.TrimSpace(text)
	switch c.Type {
	case Int, Uint:
		return strictSICast(text, c.Type == Uint)
	case Float:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		return v, nil
	case Secs:
		return parseTimespan(text)
	case Size:
		return strictIECStrtoll(text)
	case Bool:
		return parseBool(text)
	case Addr:
		host := s
		if h, _, err := net.SplitHostPort(s); err == nil {
			host = h
		}
		if net.ParseIP(strings.Trim(host, "[]")) == nil {
			return nil, fmt.Errorf("%q is not an IP address", text)
		}
		return s, nil
	case UUID:
		if !isUUID(s) {
			return nil, fmt.Errorf("%q is not a UUID", text)
		}
		return strings.ToLower(s), nil
	}
	return text, nil
}

// parseBool reads a bool option as Ceph's Option::parse_value does:
// "true" or "false" in any (ASCII) case, else an integer as strict_strtol
// reads it, nonzero meaning true. The errors are Ceph's texts.
func parseBool(text string) (bool, error) {
	switch {
	case asciiEqualFold(text, "true"):
		return true, nil
	case asciiEqualFold(text, "false"):
		return false, nil
	}
	n, err := strictStrtol(text)
	if err != nil {
		return false, err
	}
	return n != 0, nil
}

// asciiEqualFold is C's strcasecmp(s, t) == 0: case folded in ASCII only.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// Validate parses text and checks the enum and bounds; it returns the
// canonical text to store and the typed value. The errors are the
// monitor's texts.
func (c *Option) Validate(text string) (string, any, error) {
	v, err := c.Parse(text)
	if err != nil {
		return "", nil, fmt.Errorf("error parsing value: %v", err)
	}
	canon := c.Canonical(text, v)
	switch kind, limit := c.Violation(canon, v); kind {
	case "enum":
		return "", nil, fmt.Errorf("error parsing value: '%s' is not one of the permitted values: %s", text, c.Permitted())
	case "min":
		return "", nil, fmt.Errorf("error parsing value: Value '%s' is below minimum %s", text, limit)
	case "max":
		return "", nil, fmt.Errorf("error parsing value: Value '%s' exceeds maximum %s", text, limit)
	}
	return canon, v, nil
}

// Canonical is the text stored for a parsed value: a Str as given, any
// other type as its value prints (as Ceph normalises it: "10K" is stored
// as 10000, "1h 30m" as 5400).
func (c *Option) Canonical(text string, v any) string {
	if c.Type == Str {
		return text
	}
	canon, _ := c.ValueText(v)
	return canon
}

// ValueText is ValueText for this option: a number given for a Secs
// option is written as decimal seconds, which parse reads back (Go's
// shortest form of 1e6 has an exponent, which parse_timespan refuses).
func (c *Option) ValueText(v any) (string, error) {
	if c.Type == Secs {
		switch x := v.(type) {
		case time.Duration:
			return formatSecs(x.Seconds()), nil
		case float64, float32, int, int32, int64, uint, uint64:
			f, err := toFloat(x)
			if err == nil {
				return formatSecs(f), nil
			}
		}
	}
	return ValueText(v)
}

// Violation reports which rule a parsed value breaks: "enum" (canon is
// not in EnumAllowed), "min" or "max" (with the bound as text), or "".
func (c *Option) Violation(canon string, v any) (kind, limit string) {
	if len(c.EnumAllowed) > 0 && !slices.Contains(c.EnumAllowed, canon) {
		return "enum", ""
	}
	// An integer value is compared with integer bounds exactly (a float64
	// holds integers exactly only up to 2^53).
	n, isInt := v.(int64)
	f, err := toFloat(v)
	if err != nil {
		return "", ""
	}
	check := func(bound any, fb *float64, below bool) (string, bool) {
		if fb == nil {
			return "", false
		}
		if b, exact := exactInt(bound); exact && isInt {
			return strconv.FormatInt(b, 10), below && n < b || !below && n > b
		}
		return fmtNum(*fb), below && f < *fb || !below && f > *fb
	}
	if limit, out := check(c.Min, c.min, true); out {
		return "min", limit
	}
	if limit, out := check(c.Max, c.max, false); out {
		return "max", limit
	}
	return "", ""
}

// exactInt is a bound given as a Go integer (not as a float or text), as
// an int64.
func exactInt(bound any) (int64, bool) {
	switch x := bound.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(min(uint64(x), math.MaxInt64)), true
	case uint64:
		return int64(min(x, math.MaxInt64)), true
	}
	return 0, false
}

// Permitted lists EnumAllowed sorted, as the monitor's error does.
func (c *Option) Permitted() string {
	allowed := slices.Clone(c.EnumAllowed)
	slices.Sort(allowed)
	return strings.Join(allowed, ", ")
}

// fmtNum prints a bound as the monitor does: a whole number in full
// ("68719476736", not "6.8719476736e+10"), else in Go's shortest form.
func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
