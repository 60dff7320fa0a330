package cmddesc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Command flag bits, as in Ceph's MonCommands.h.
const (
	FlagNoForward  = 1 << 0
	FlagObsolete   = 1 << 1
	FlagDeprecated = 1 << 2
	FlagMgr        = 1 << 3
	FlagPoll       = 1 << 4
	FlagHidden     = 1 << 5
)

// Spec is everything known about one command: its signature (prefix words
// and argument descriptors) with each argument's validator, help text,
// permission and flags. Package clicommand builds them from argument
// structs (and binds validated values onto the struct); ParseSpec builds
// one from a Ceph cmd string.
type Spec struct {
	// Sig is the command signature: literal words then descriptors.
	Sig Signature
	// Help is the description shown in usage and help output.
	Help string
	// Perm is "r", "w" or "rw".
	Perm string
	// Flags holds FlagPoll, FlagHidden, ... bits.
	Flags int
	// Module names the module the command belongs to ("" until registered).
	Module string

	prefix string
	// prefixV is prefix as an any, made once: every validated command's
	// values hold it.
	prefixV any
	args    []*Param
	byName  map[string]*Param
}

// Prefix is the command prefix: the literal words joined by spaces.
func (s *Spec) Prefix() string { return s.prefix }

// Poll reports whether the command is a polling command.
func (s *Spec) Poll() bool { return s.Flags&FlagPoll != 0 }

// CmdString is the command in Ceph's cmd-string form, as Python's
// dump_cmd writes it: the prefix, a space, the descriptors (so a command
// without arguments ends with a space).
func (s *Spec) CmdString() string {
	var parts []string
	for _, a := range s.Sig.Args() {
		parts = append(parts, a.String())
	}
	return s.prefix + " " + strings.Join(parts, " ")
}

// Param is one argument of a Spec: its descriptor and its validator.
type Param struct {
	lit        string // the literal word, for signature words that are not arguments
	arg        *Arg
	name       string
	typ        argType
	word       wordType // typ, when its value is the word itself
	required   bool
	n          int
	many       bool
	positional bool
}

// NewParam compiles descriptor a (checked with Arg.Check) into a Param.
func NewParam(a *Arg) (*Param, error) {
	t, err := newArgType(a)
	if err != nil {
		return nil, err
	}
	n, many := a.Count()
	w, _ := t.(wordType)
	return &Param{arg: a, name: a.Name(), typ: t, word: w, required: a.Required(), n: n, many: many, positional: a.Positional()}, nil
}

// Name is the argument's name.
func (b *Param) Name() string { return b.name }

// Arg is the argument's descriptor.
func (b *Param) Arg() *Arg { return b.arg }

// Required reports whether the argument must be given.
func (b *Param) Required() bool { return b.required }

// Repeated reports whether the argument takes several values (n=N or
// n=<count> above 1).
func (b *Param) Repeated() bool { return b.many || b.n > 1 }

// Valid validates one word as the argument's type reads it and returns
// its value (int64, float64, bool or string).
func (b *Param) Valid(word string) (any, error) { return b.typ.valid(word, false) }

// String is how Ceph names the argument in messages: "oid(<string>)",
// "[blackhole(<string>)]".
func (b *Param) String() string { return descString(b) }

// NewSpec makes the Spec of the command prefix with params, in order; its
// Sig is the prefix words then the params' descriptors. Perm is "rw" until
// set. It fails if two params share a name.
func NewSpec(prefix string, params ...*Param) (*Spec, error) {
	p := strings.Join(strings.Fields(prefix), " ")
	s := &Spec{Perm: "rw", prefix: p, prefixV: p, byName: map[string]*Param{}}
	for _, w := range strings.Fields(prefix) {
		s.Sig = append(s.Sig, Word{Literal: w})
	}
	for _, p := range params {
		if err := s.Add(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add appends an argument.
func (s *Spec) Add(p *Param) error {
	if _, dup := s.byName[p.name]; dup {
		return fmt.Errorf("argument name %q used twice", p.name)
	}
	s.args = append(s.args, p)
	s.byName[p.name] = p
	s.Sig = append(s.Sig, Word{Arg: p.arg})
	return nil
}

// Params are the arguments, in order.
func (s *Spec) Params() []*Param { return s.args }

// Param returns the argument named name.
func (s *Spec) Param(name string) (*Param, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// CheckPerm checks a command's permission string.
func CheckPerm(p string) error {
	switch p {
	case "r", "w", "rw", "x", "rx", "wx", "rwx":
		return nil
	}
	return fmt.Errorf("perm %q: want r, w or rw", p)
}

// Allowed reports whether a caller with perm callerPerm may run a command
// that needs cmdPerm: every letter of cmdPerm must be in callerPerm (so
// an empty callerPerm may run only commands that need nothing).
func Allowed(callerPerm, cmdPerm string) bool {
	for _, c := range cmdPerm {
		if !strings.ContainsRune(callerPerm, c) {
			return false
		}
	}
	return true
}

// ParseSpec builds a Spec from a Ceph cmd string ("foobar
// name=myarg,type=CephString"), as a Python module's COMMANDS entry
// declares a command.
func ParseSpec(cmd string) (*Spec, error) {
	sig, err := ParseSignature(cmd)
	if err != nil {
		return nil, err
	}
	p := sig.Prefix()
	s := &Spec{Sig: sig, Perm: "rw", prefix: p, prefixV: p, byName: map[string]*Param{}}
	for _, a := range sig.Args() {
		b, err := NewParam(a)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", cmd, err)
		}
		s.args = append(s.args, b)
		s.byName[b.name] = b
	}
	return s, nil
}

// envelopeKeys are keys Ceph clients put into every command besides the
// arguments; they are accepted and ignored unless a command declares them.
var envelopeKeys = map[string]bool{
	"prefix": true, "format": true, "target": true, "poll": true,
	"width": true, "print_header": true,
}

// invalid returns the -EINVAL error the server reports for a bad command.
func invalid(format string, args ...any) error {
	return &ArgumentError{Kind: ArgValid, Msg: "Invalid command: " + fmt.Sprintf(format, args...)}
}

// Validate checks a JSON command against the spec (the server-side check
// the Python mgr never did): no unknown arguments (besides the keys every
// Ceph client sends), every required one present, each value valid for
// its type. It returns the validated values by name (int64, float64, bool,
// string, or []any of those for repeated arguments) with "prefix"; absent
// optional arguments are left out. Errors are *ArgumentError texts
// starting "Invalid command: ".
func (s *Spec) Validate(cmd map[string]any) (map[string]any, error) { return s.ValidateEach(cmd, nil) }

// ValidateEach is Validate calling each, if set, for every argument in
// order right after it is checked (present: it was given, v its value),
// so that a caller storing the values reports the first failing argument
// in order; an error from each ends the validation with it.
func (s *Spec) ValidateEach(cmd map[string]any, each func(p *Param, v any, present bool) error) (map[string]any, error) {
	return s.validate(cmd, each, true)
}

// Check is ValidateEach for a caller that needs only each: it makes no
// map of the values.
func (s *Spec) Check(cmd map[string]any, each func(p *Param, v any, present bool) error) error {
	_, err := s.validate(cmd, each, false)
	return err
}

func (s *Spec) validate(cmd map[string]any, each func(p *Param, v any, present bool) error, build bool) (map[string]any, error) {
	// The arguments' values are looked up first: when they and the
	// prefix are all cmd holds (the usual command), there is no need to
	// go through its keys for unknown ones.
	type arg struct {
		raw     any
		present bool
	}
	var buf [8]arg
	fast := false // buf holds the arguments, and cmd nothing else but the prefix
	if len(s.args) <= len(buf) {
		n, named := 0, false // named: an argument is called "prefix"
		for i, b := range s.args {
			if buf[i].raw, buf[i].present = cmd[b.name]; buf[i].present {
				n++
			}
			named = named || b.name == "prefix"
		}
		_, hasPrefix := cmd["prefix"]
		fast = hasPrefix && n+1 == len(cmd) && !named
	}
	if !fast {
		for k := range cmd {
			if _, ok := s.byName[k]; !ok && !envelopeKeys[k] {
				return nil, invalid("unknown argument '%s' for '%s'%s", k, s.prefix, s.takes())
			}
		}
	}
	var values map[string]any
	if build {
		values = make(map[string]any, len(s.args)+1)
		values["prefix"] = s.prefixV
	}
	for i, b := range s.args {
		var raw any
		var present bool
		if fast {
			raw, present = buf[i].raw, buf[i].present
		} else {
			raw, present = cmd[b.name]
		}
		var v any
		if present && raw != nil {
			var err error
			if v, err = b.fromJSON(raw); err != nil {
				return nil, err
			}
			if build {
				values[b.name] = v
			}
		} else {
			present = false
			if b.required {
				return nil, invalid("missing required parameter %s", descString(b))
			}
		}
		if each != nil {
			if err := each(b, v, present); err != nil {
				return nil, err
			}
		}
	}
	return values, nil
}

// takes lists the argument names for an "unknown argument" message.
func (s *Spec) takes() string {
	if len(s.args) == 0 {
		return ", which takes no arguments"
	}
	names := make([]string, len(s.args))
	for i, b := range s.args {
		names[i] = b.name
	}
	sort.Strings(names)
	return " (it takes " + strings.Join(names, ", ") + ")"
}

// fromJSON validates a JSON value for this argument. Strings are checked
// with the type's validator; numbers and booleans by their text, so "5" and
// 5 are both a CephInt 5 and "false" is false (Ceph's server cast made it
// true). Repeated arguments take a JSON array, or a single value; non-string
// single values are split on commas as the ceph CLI does.
func (b *Param) fromJSON(raw any) (any, error) {
	if !b.many && b.n == 1 {
		if _, isList := raw.([]any); isList {
			return nil, invalid("argument '%s' takes one value, not a list", b.name)
		}
		return b.one(raw)
	}
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case string:
		if b.arg.Type() != CephString {
			for _, part := range strings.Split(x, ",") {
				items = append(items, part)
			}
		} else {
			items = []any{x}
		}
	default:
		items = []any{x}
	}
	vals := make([]any, 0, len(items))
	for _, it := range items {
		if _, isList := it.([]any); isList {
			return nil, invalid("argument '%s': nested lists are not allowed", b.name)
		}
		v, err := b.one(it)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	switch {
	case b.many && len(vals) < 1:
		return nil, invalid("saw 0 of %s, expected at least 1", descString(b))
	case !b.many && len(vals) != b.n:
		return nil, invalid("saw %d of %s, expected %d", len(vals), descString(b), b.n)
	}
	return vals, nil
}

func (b *Param) one(raw any) (any, error) {
	if w, ok := raw.(string); ok && b.word != nil {
		// The value is the word: raw already holds it.
		if err := b.word.check(w); err != nil {
			return nil, invalid("argument '%s': %v", b.name, err)
		}
		return raw, nil
	}
	word, err := jsonWord(raw)
	if err != nil {
		return nil, invalid("argument '%s': %v", b.name, err)
	}
	v, err := b.typ.valid(word, false)
	if err != nil {
		return nil, invalid("argument '%s': %v", b.name, err)
	}
	return v, nil
}

// jsonWord turns a decoded JSON scalar into the word a CLI user would type.
func jsonWord(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	}
	return "", fmt.Errorf("unsupported JSON value %v (%T)", raw, raw)
}

// Description is one entry of get_command_descriptions.
type Description struct {
	Sig    Signature `json:"sig"`
	Help   string    `json:"help"`
	Module string    `json:"module"`
	Perm   string    `json:"perm"`
	Flags  int       `json:"flags"`
	Avail  string    `json:"avail,omitempty"`
}

// DescribeOptions adjusts descriptions for the client that reads them.
type DescribeOptions struct {
	// PacificCompat writes descriptors the Pacific (16.x) ceph CLI can
	// parse: it drops keys its type classes do not accept (positional,
	// default_unit, ...) and describes CephSizeBytes as CephString.
	PacificCompat bool
	// ExtraFlags are OR'ed into every command's flags (e.g. FlagMgr).
	ExtraFlags int
}

// pacificKeys lists the descriptor keys the Pacific CLI passes to each
// type's constructor without a TypeError.
var pacificKeys = map[string]map[string]bool{
	CephInt:     {"range": true},
	CephFloat:   {"range": true},
	CephString:  {"goodchars": true},
	CephChoices: {"strings": true},
	CephBool:    {"strings": true},
}

// Describe returns the command's description.
func (s *Spec) Describe(module string, opts DescribeOptions) Description {
	sig := s.Sig
	if opts.PacificCompat {
		sig = make(Signature, len(s.Sig))
		for i, w := range s.Sig {
			if w.Arg == nil {
				sig[i] = w
				continue
			}
			a := w.Arg.Clone()
			if a.Type() == CephSizeBytes {
				a.Set("type", CephString)
			}
			for _, k := range a.Keys() {
				switch k {
				case "name", "type", "req", "n":
				default:
					if !pacificKeys[a.Type()][k] {
						a.Delete(k)
					}
				}
			}
			sig[i] = Word{Arg: a}
		}
	}
	return Description{Sig: sig, Help: s.Help, Module: module, Perm: s.Perm, Flags: s.Flags | opts.ExtraFlags}
}

// DescriptionsJSON writes descriptions as the get_command_descriptions
// object: {"cmd000": {...}, "cmd001": {...}, ...} in the given order, with
// help texts' < > & as they are (as Ceph writes them), not escaped.
func DescriptionsJSON(descs []Description) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, d := range descs {
		if i > 0 {
			buf.WriteString(", ")
		}
		fmt.Fprintf(&buf, "\"cmd%03d\": ", i)
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("describe %q: %w", d.Sig.Prefix(), err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
