package cmddesc

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Ceph argument type names. A descriptor's type must be one of these.
const (
	CephInt        = "CephInt"
	CephFloat      = "CephFloat"
	CephString     = "CephString"
	CephBool       = "CephBool"
	CephChoices    = "CephChoices"
	CephUUID       = "CephUUID"
	CephPoolname   = "CephPoolname"
	CephObjectname = "CephObjectname"
	CephName       = "CephName"
	CephOsdName    = "CephOsdName"
	CephPgid       = "CephPgid"
	CephIPAddr     = "CephIPAddr"
	CephEntityAddr = "CephEntityAddr"
	CephFilepath   = "CephFilepath"
	CephFragment   = "CephFragment"
	CephSocketpath = "CephSocketpath"
	CephPrefix     = "CephPrefix"
	CephSizeBytes  = "CephSizeBytes"
)

// cephTypes is the set of type names ParseArg accepts.
var cephTypes = map[string]bool{
	CephInt: true, CephFloat: true, CephString: true, CephBool: true, CephChoices: true,
	CephUUID: true, CephPoolname: true, CephObjectname: true, CephName: true,
	CephOsdName: true, CephPgid: true, CephIPAddr: true, CephEntityAddr: true,
	CephFilepath: true, CephFragment: true, CephSocketpath: true, CephPrefix: true,
	CephSizeBytes: true,
}

// Arg is one argument descriptor: the comma-separated key=value pairs of a
// Ceph command signature ("name=oid,type=CephString,req=false"). It keeps
// the pairs in the order they were written so a parsed descriptor prints
// back exactly as it came in.
type Arg struct {
	params []param
}

type param struct{ key, value string }

// canonicalOrder is the key order Ceph's Python framework writes: name,
// req, positional, n, the type-specific keys, and type last.
var canonicalOrder = map[string]int{"name": 0, "req": 1, "positional": 2, "n": 3, "type": 100}

// NewArg returns a descriptor with the given name and type. Further keys are
// added with Set; String writes them in Ceph's canonical order.
func NewArg(name, typ string) *Arg {
	a := &Arg{}
	a.Set("name", name)
	a.Set("type", typ)
	return a
}

// Get returns the raw value of key.
func (a *Arg) Get(key string) (string, bool) {
	for _, p := range a.params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// Set sets key to value. A new key is placed by Ceph's canonical order
// (name, req, positional, n, type-specific keys, type); an existing key
// keeps its position.
func (a *Arg) Set(key, value string) {
	for i := range a.params {
		if a.params[i].key == key {
			a.params[i].value = value
			return
		}
	}
	rank := func(k string) int {
		if r, ok := canonicalOrder[k]; ok {
			return r
		}
		return 50
	}
	at := len(a.params)
	for i, p := range a.params {
		if rank(p.key) > rank(key) {
			at = i
			break
		}
	}
	a.params = append(a.params, param{})
	copy(a.params[at+1:], a.params[at:])
	a.params[at] = param{key, value}
}

// Delete removes key.
func (a *Arg) Delete(key string) {
	for i, p := range a.params {
		if p.key == key {
			a.params = append(a.params[:i], a.params[i+1:]...)
			return
		}
	}
}

// Keys returns the keys in order.
func (a *Arg) Keys() []string {
	keys := make([]string, len(a.params))
	for i, p := range a.params {
		keys[i] = p.key
	}
	return keys
}

// Name is the argument's name: its key in the JSON command.
func (a *Arg) Name() string { v, _ := a.Get("name"); return v }

// Type is the Ceph type name ("CephString").
func (a *Arg) Type() string { v, _ := a.Get("type"); return v }

// Required reports whether the argument must be given. Like the ceph CLI,
// only "true" and "True" (or no req key) mean required.
func (a *Arg) Required() bool {
	v, ok := a.Get("req")
	return !ok || v == "true" || v == "True"
}

// Positional reports whether the argument may be given without --name.
func (a *Arg) Positional() bool {
	v, ok := a.Get("positional")
	return !ok || !(v == "false" || v == "False")
}

// Count returns how many values the argument takes: (1, false) by default,
// (k, false) for n=k and (1, true) for n=N, meaning "one or more".
func (a *Arg) Count() (n int, many bool) {
	v, ok := a.Get("n")
	if !ok {
		return 1, false
	}
	if v == "N" || v == "n" {
		return 1, true
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 {
		return 1, false
	}
	return k, false
}

// Choices returns the members of a CephChoices descriptor.
func (a *Arg) Choices() []string {
	v, ok := a.Get("strings")
	if !ok {
		return nil
	}
	return strings.Split(v, "|")
}

// String writes the descriptor in Ceph's cmd-string form.
func (a *Arg) String() string {
	var b strings.Builder
	for i, p := range a.params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// Clone returns an independent copy.
func (a *Arg) Clone() *Arg {
	return &Arg{params: append([]param(nil), a.params...)}
}

// MarshalJSON writes the descriptor as get_command_descriptions does: an
// object whose values are all strings, keys sorted.
func (a *Arg) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(a.params))
	for _, p := range a.params {
		m[p.key] = p.value
	}
	return json.Marshal(m)
}

// ParseArg parses one descriptor word ("name=x,type=CephInt,range=1|9") and
// checks it: every pair has a key and a value, no key repeats, name and type
// are present, the type is a Ceph type and its type-specific keys are well
// formed.
func ParseArg(word string) (*Arg, error) {
	if word == "" {
		return nil, fmt.Errorf("empty argument descriptor")
	}
	a := &Arg{}
	for _, pair := range strings.Split(word, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("descriptor %q: %q is not key=value", word, pair)
		}
		if _, dup := a.Get(k); dup {
			return nil, fmt.Errorf("descriptor %q: key %q given twice", word, k)
		}
		a.params = append(a.params, param{k, v})
	}
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("descriptor %q: %w", word, err)
	}
	return a, nil
}

// Check validates the descriptor's keys and values.
func (a *Arg) Check() error {
	name, ok := a.Get("name")
	if !ok || name == "" {
		return fmt.Errorf("no name")
	}
	if !validArgName(name) {
		return fmt.Errorf("name %q must be letters, digits, '_' or '-'", name)
	}
	typ, ok := a.Get("type")
	if !ok {
		return fmt.Errorf("no type")
	}
	if !cephTypes[typ] {
		return fmt.Errorf("unknown type %s", typ)
	}
	for _, p := range a.params {
		switch p.key {
		case "name", "type":
		case "req", "positional":
			// Like the ceph CLI, any value other than true/True means
			// false: real command tables contain "req=fasle".
		case "n":
			if p.value != "N" && p.value != "n" {
				if k, err := strconv.Atoi(p.value); err != nil || k < 1 {
					return fmt.Errorf("n=%s: want N or a positive count", p.value)
				}
			}
		case "range":
			if err := checkRange(typ, p.value); err != nil {
				return err
			}
		case "goodchars":
			if typ != CephString {
				return fmt.Errorf("goodchars is only for CephString")
			}
			if _, err := regexp.Compile(p.value); err != nil {
				return fmt.Errorf("goodchars %q is not a valid regular expression", p.value)
			}
		case "strings":
			if typ != CephChoices && typ != CephBool {
				return fmt.Errorf("strings is only for CephChoices")
			}
			if p.value == "" {
				return fmt.Errorf("strings is empty")
			}
		}
	}
	if typ == CephChoices {
		if _, ok := a.Get("strings"); !ok {
			return fmt.Errorf("CephChoices needs strings=a|b|c")
		}
	}
	return nil
}

func validArgName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func checkRange(typ, v string) error {
	if typ != CephInt && typ != CephFloat {
		return fmt.Errorf("range is only for CephInt and CephFloat")
	}
	parts := strings.Split(v, "|")
	if len(parts) > 2 || v == "" {
		return fmt.Errorf("range=%s: want min or min|max", v)
	}
	var bounds []float64
	for _, p := range parts {
		var f float64
		var err error
		if typ == CephInt {
			var i int64
			i, err = strconv.ParseInt(p, 10, 64)
			f = float64(i)
		} else {
			f, err = strconv.ParseFloat(p, 64)
		}
		if err != nil {
			return fmt.Errorf("range=%s: %q is not a number", v, p)
		}
		bounds = append(bounds, f)
	}
	if len(bounds) == 2 && bounds[0] > bounds[1] {
		return fmt.Errorf("range=%s: min is above max", v)
	}
	return nil
}

// Word is one word of a signature: a literal (part of the command prefix)
// or an argument descriptor.
type Word struct {
	Literal string
	Arg     *Arg
}

// Signature is a parsed command signature: literal words then descriptors,
// as in "antigravity send to blackhole name=oid,type=CephString".
type Signature []Word

// ParseSignature parses a Ceph command string (the cmd of a COMMANDS entry
// or of MonCommands.h). Words are separated by spaces; a word containing
// '=' is a descriptor, any other word a literal.
func ParseSignature(cmd string) (Signature, error) {
	if !utf8.ValidString(cmd) {
		return nil, fmt.Errorf("command signature %q is not valid UTF-8", cmd)
	}
	fields := strings.Fields(cmd)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty command signature")
	}
	sig := make(Signature, 0, len(fields))
	names := map[string]bool{}
	for _, f := range fields {
		if !strings.Contains(f, "=") {
			sig = append(sig, Word{Literal: f})
			continue
		}
		a, err := ParseArg(f)
		if err != nil {
			return nil, err
		}
		if names[a.Name()] {
			return nil, fmt.Errorf("argument %q declared twice", a.Name())
		}
		if a.Name() == "prefix" {
			return nil, fmt.Errorf("argument name \"prefix\" is reserved")
		}
		names[a.Name()] = true
		sig = append(sig, Word{Arg: a})
	}
	if sig[0].Arg != nil {
		return nil, fmt.Errorf("signature %q starts with an argument, not a command word", cmd)
	}
	return sig, nil
}

// String writes the signature in cmd-string form. A signature without
// arguments keeps no trailing space; Python's dump_cmd form is in
// Spec.CmdString.
func (s Signature) String() string {
	parts := make([]string, len(s))
	for i, w := range s {
		if w.Arg != nil {
			parts[i] = w.Arg.String()
		} else {
			parts[i] = w.Literal
		}
	}
	return strings.Join(parts, " ")
}

// Prefix is the literal words joined by spaces: the "prefix" of the JSON
// command.
func (s Signature) Prefix() string {
	var parts []string
	for _, w := range s {
		if w.Arg == nil {
			parts = append(parts, w.Literal)
		}
	}
	return strings.Join(parts, " ")
}

// Args returns the descriptors in order.
func (s Signature) Args() []*Arg {
	var out []*Arg
	for _, w := range s {
		if w.Arg != nil {
			out = append(out, w.Arg)
		}
	}
	return out
}

// MarshalJSON writes the "sig" array of get_command_descriptions.
func (s Signature) MarshalJSON() ([]byte, error) {
	out := make([]any, len(s))
	for i, w := range s {
		if w.Arg != nil {
			out[i] = w.Arg
		} else {
			out[i] = w.Literal
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a "sig" array leniently: literal words are strings;
// descriptor values may be strings, booleans or numbers (Pacific mons write
// "req": "false", newer code may write true/false).
func (s *Signature) UnmarshalJSON(data []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("sig: %w", err)
	}
	sig := make(Signature, 0, len(raw))
	for _, r := range raw {
		var lit string
		if err := json.Unmarshal(r, &lit); err == nil {
			sig = append(sig, Word{Literal: lit})
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(r, &obj); err != nil {
			return fmt.Errorf("sig element %s: want a string or an object", r)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		a := &Arg{}
		for _, k := range keys {
			var v string
			switch x := obj[k].(type) {
			case string:
				v = x
			case bool:
				v = strconv.FormatBool(x)
			case float64:
				v = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				return fmt.Errorf("sig element %s: value of %q is not a string", r, k)
			}
			a.Set(k, v)
		}
		if err := a.Check(); err != nil {
			return fmt.Errorf("sig element %s: %w", r, err)
		}
		sig = append(sig, Word{Arg: a})
	}
	*s = sig
	return nil
}

// Equal reports whether two signatures have the same words and the same
// descriptor keys and values; the order of keys inside a descriptor does
// not matter (JSON descriptions do not keep it).
func (s Signature) Equal(o Signature) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		a, b := s[i].Arg, o[i].Arg
		if a == nil || b == nil {
			if a != b || s[i].Literal != o[i].Literal {
				return false
			}
			continue
		}
		if len(a.params) != len(b.params) {
			return false
		}
		for _, p := range a.params {
			if v, ok := b.Get(p.key); !ok || v != p.value {
				return false
			}
		}
	}
	return true
}
