package clicommand

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// Meta is embedded in an argument struct to declare the command. Its tag
// carries the command's metadata:
//
//	type sendArgs struct {
//		clicommand.Meta `prefix:"antigravity send to blackhole" perm:"rw" desc:"Send the object to a black hole"`
//		OID       string
//		Blackhole *string
//	}
//
// Tag keys: prefix (required, the command words), desc (help text), perm
// ("r", "w", "rw"; default "rw"), poll ("true" marks a polling command),
// flags (comma-separated: hidden, deprecated, obsolete, noforward).
type Meta struct{}

// Read is Meta with perm "r" (Python's CLIReadCommand).
type Read struct{}

// Write is Meta with perm "w" (Python's CLIWriteCommand).
type Write struct{}

// EndPositional is a zero-size marker field: every argument after it may
// only be given as --name (Python's _end_positional_ parameter).
type EndPositional struct{}

// Chooser is implemented by string types whose values are a fixed set; a
// field of such a type becomes a CephChoices argument.
//
//	type Mode string
//	func (Mode) Choices() []string { return []string{"fast", "slow"} }
type Chooser interface {
	Choices() []string
}

// Command flag bits, as in Ceph's MonCommands.h.
const (
	FlagNoForward  = 1 << 0
	FlagObsolete   = 1 << 1
	FlagDeprecated = 1 << 2
	FlagMgr        = 1 << 3
	FlagPoll       = 1 << 4
	FlagHidden     = 1 << 5
)

var flagNames = map[string]int{
	"noforward": FlagNoForward, "obsolete": FlagObsolete, "deprecated": FlagDeprecated,
	"hidden": FlagHidden, "poll": FlagPoll,
}

// Spec is everything known about one command: its signature (prefix words
// and argument descriptors), help text, permission and flags, and, for
// struct-registered commands, how to bind a JSON command onto the struct.
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

	prefix  string
	args    []*boundArg
	byName  map[string]*boundArg
	typ     reflect.Type // the argument struct type; nil for Legacy commands
	inbuf   []int        // field index of the inbuf field, nil if none
	inbufT  reflect.Type
	format  []int // field index of a declared format field, nil if none
	formatT reflect.Type
}

// Prefix is the command prefix: the literal words joined by spaces.
func (s *Spec) Prefix() string { return s.prefix }

// Poll reports whether the command is a polling command.
func (s *Spec) Poll() bool { return s.Flags&FlagPoll != 0 }

// AcceptsInbuf reports whether the command takes an input file (-i).
func (s *Spec) AcceptsInbuf() bool { return s.inbuf != nil || s.typ == nil }

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

// boundArg is one descriptor plus how to check and store its values.
type boundArg struct {
	lit        string // the literal word, for signature words that are not arguments
	arg        *Arg
	name       string
	typ        argType
	required   bool
	n          int
	many       bool
	positional bool
	field      []int        // struct field index; nil for Legacy commands
	ftype      reflect.Type // the field's type
	def        any          // converted default value, nil if none
	hasDef     bool
}

// specError reports a mistake in an argument struct definition.
type specError struct {
	typ   reflect.Type
	field string
	msg   string
}

func (e *specError) Error() string {
	if e.field == "" {
		return fmt.Sprintf("clicommand: %s: %s", e.typ, e.msg)
	}
	return fmt.Sprintf("clicommand: %s.%s: %s", e.typ, e.field, e.msg)
}

var (
	metaType          = reflect.TypeOf(Meta{})
	readType          = reflect.TypeOf(Read{})
	writeType         = reflect.TypeOf(Write{})
	endPositionalType = reflect.TypeOf(EndPositional{})
	byteSliceType     = reflect.TypeOf([]byte(nil))
	chooserType       = reflect.TypeOf((*Chooser)(nil)).Elem()
)

// SpecOf derives the Spec of an argument struct type.
func SpecOf(t reflect.Type) (*Spec, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("clicommand: argument type %s is not a struct", t)
	}
	s := &Spec{typ: t, Perm: "rw", byName: map[string]*boundArg{}}
	fail := func(f string, format string, args ...any) error {
		return &specError{typ: t, field: f, msg: fmt.Sprintf(format, args...)}
	}
	var meta *reflect.StructField
	positional := true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case f.Anonymous && (f.Type == metaType || f.Type == readType || f.Type == writeType):
			if meta != nil {
				return nil, fail(f.Name, "a command struct embeds only one of Meta, Read or Write")
			}
			meta = &f
			continue
		case f.Type == endPositionalType:
			positional = false
			continue
		case f.Tag.Get("ceph") == "-":
			continue
		}
		if !f.IsExported() {
			return nil, fail(f.Name, "unexported field; export it or tag it `ceph:\"-\"`")
		}
		tag := f.Tag.Get("ceph")
		if tag == "inbuf" || (tag == "" && f.Name == "Inbuf") {
			if s.inbuf != nil {
				return nil, fail(f.Name, "a second inbuf field")
			}
			switch f.Type {
			case byteSliceType, reflect.TypeOf(""), reflect.TypeOf((*string)(nil)):
			default:
				return nil, fail(f.Name, "inbuf field must be string, *string or []byte, not %s", f.Type)
			}
			s.inbuf, s.inbufT = f.Index, f.Type
			continue
		}
		b, err := bindField(f, tag, &positional)
		if err != nil {
			return nil, fail(f.Name, "%v", err)
		}
		if _, dup := s.byName[b.name]; dup {
			return nil, fail(f.Name, "argument name %q used twice", b.name)
		}
		if b.name == "format" {
			s.format, s.formatT = f.Index, f.Type
		}
		s.byName[b.name] = b
		s.args = append(s.args, b)
	}
	if meta == nil {
		return nil, fail("", "no embedded clicommand.Meta, Read or Write field declaring the command prefix")
	}
	if err := s.applyMeta(meta); err != nil {
		return nil, fail(meta.Name, "%v", err)
	}
	return s, nil
}

func (s *Spec) applyMeta(f *reflect.StructField) error {
	prefix := strings.Join(strings.Fields(f.Tag.Get("prefix")), " ")
	if prefix == "" {
		return fmt.Errorf("missing prefix tag")
	}
	for _, w := range strings.Fields(prefix) {
		if strings.ContainsAny(w, "=,") {
			return fmt.Errorf("prefix word %q contains '=' or ','", w)
		}
	}
	s.prefix = prefix
	switch f.Type {
	case readType:
		s.Perm = "r"
	case writeType:
		s.Perm = "w"
	}
	if p, ok := f.Tag.Lookup("perm"); ok {
		if f.Type != metaType {
			return fmt.Errorf("perm tag on %s; use Meta to set perm", f.Type.Name())
		}
		if err := checkPerm(p); err != nil {
			return err
		}
		s.Perm = p
	}
	s.Help = f.Tag.Get("desc")
	switch f.Tag.Get("poll") {
	case "", "false":
	case "true":
		s.Flags |= FlagPoll
	default:
		return fmt.Errorf("poll tag %q: want true or false", f.Tag.Get("poll"))
	}
	if fl := f.Tag.Get("flags"); fl != "" {
		for _, name := range strings.Split(fl, ",") {
			bit, ok := flagNames[strings.TrimSpace(name)]
			if !ok {
				return fmt.Errorf("unknown flag %q (want hidden, deprecated, obsolete, noforward, poll)", name)
			}
			s.Flags |= bit
		}
	}
	for _, w := range strings.Fields(prefix) {
		s.Sig = append(s.Sig, Word{Literal: w})
	}
	for _, b := range s.args {
		s.Sig = append(s.Sig, Word{Arg: b.arg})
	}
	return nil
}

func checkPerm(p string) error {
	switch p {
	case "r", "w", "rw", "x", "rx", "wx", "rwx":
		return nil
	}
	return fmt.Errorf("perm %q: want r, w or rw", p)
}

// addFormatArg declares the optional, non-positional "format" argument
// that Responder commands accept, unless the struct declares one itself.
func (s *Spec) addFormatArg() {
	if _, ok := s.byName["format"]; ok {
		return
	}
	a := NewArg("format", CephString)
	a.Set("req", "false")
	a.Set("positional", "false")
	typ, _ := newArgType(a)
	b := &boundArg{arg: a, name: "format", typ: typ, n: 1, positional: false}
	s.args = append(s.args, b)
	s.byName["format"] = b
	s.Sig = append(s.Sig, Word{Arg: a})
}

// bindField derives the descriptor of one struct field.
func bindField(f reflect.StructField, tag string, positional *bool) (*boundArg, error) {
	a := &Arg{}
	if tag != "" {
		for _, pair := range strings.Split(tag, ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("ceph tag %q: %q is not key=value", tag, pair)
			}
			if _, dup := a.Get(k); dup {
				return nil, fmt.Errorf("ceph tag %q: key %q given twice", tag, k)
			}
			a.Set(k, v)
		}
	}
	name, ok := a.Get("name")
	if !ok {
		name = snakeCase(f.Name)
		a.Set("name", name)
	}
	t := f.Type
	optional := false
	if t.Kind() == reflect.Pointer {
		optional = true
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && t != byteSliceType:
		if _, ok := a.Get("n"); !ok {
			a.Set("n", "N")
		}
		t = t.Elem()
	case t.Kind() == reflect.Array:
		if tn, ok := a.Get("n"); ok && tn != fmt.Sprint(t.Len()) {
			return nil, fmt.Errorf("n=%s does not fit field type %s", tn, f.Type)
		}
		a.Set("n", fmt.Sprint(t.Len()))
		t = t.Elem()
	default:
		if tn, ok := a.Get("n"); ok {
			return nil, fmt.Errorf("n=%s needs a slice or array field, not %s", tn, f.Type)
		}
	}
	typ, hasType := a.Get("type")
	inferred, err := inferType(t)
	if !hasType {
		if err != nil {
			return nil, err
		}
		typ = inferred
		if ch, ok := choicesOf(t); ok {
			if len(ch) == 0 {
				return nil, fmt.Errorf("%s.Choices() is empty", t)
			}
			if _, ok := a.Get("strings"); !ok {
				a.Set("strings", strings.Join(ch, "|"))
			}
		}
		if _, ok := a.Get("strings"); ok && typ == CephString {
			typ = CephChoices
		}
		a.Set("type", typ)
	} else if err := typeFitsField(typ, t); err != nil {
		return nil, err
	}
	if (typ == CephInt) && isUnsigned(t) {
		if _, ok := a.Get("range"); !ok {
			a.Set("range", "0")
		}
	}
	if typ == CephBool || name == "format" {
		*positional = false
	}
	if v, ok := a.Get("positional"); ok {
		switch v {
		case "true", "True":
			// Explicit opt-out of the cascade: positional is the default,
			// so the key is not written.
			a.Delete("positional")
		case "false", "False":
			*positional = false
		}
	} else if !*positional {
		a.Set("positional", "false")
	}
	def, hasDef := f.Tag.Lookup("default")
	req, hasReq := a.Get("req")
	switch {
	case hasReq && (req == "true" || req == "True"):
		if optional || hasDef {
			return nil, fmt.Errorf("req=true contradicts a pointer field or a default")
		}
		a.Delete("req") // required is the default and is not written
	case hasReq:
		optional = true
	case optional || hasDef || typ == CephBool:
		optional = true
		a.Set("req", "false")
	}
	if optional {
		a.Set("req", "false")
	}
	if err := a.Check(); err != nil {
		return nil, err
	}
	at, err := newArgType(a)
	if err != nil {
		return nil, err
	}
	cnt, many := a.Count()
	b := &boundArg{
		arg: a, name: a.Name(), typ: at, required: !optional, n: cnt, many: many,
		positional: a.Positional(), field: f.Index, ftype: f.Type,
	}
	if hasDef {
		if many || cnt > 1 {
			return nil, fmt.Errorf("default on a repeated argument")
		}
		v, err := at.valid(def, false)
		if err != nil {
			return nil, fmt.Errorf("default %q: %v", def, err)
		}
		b.def, b.hasDef = v, true
	}
	// Check once that every value this type produces fits the field.
	if err := checkAssignable(b); err != nil {
		return nil, err
	}
	return b, nil
}

// choicesOf returns the members of a Chooser type.
func choicesOf(t reflect.Type) ([]string, bool) {
	switch {
	case t.Implements(chooserType):
		return reflect.Zero(t).Interface().(Chooser).Choices(), true
	case reflect.PointerTo(t).Implements(chooserType):
		return reflect.New(t).Interface().(Chooser).Choices(), true
	}
	return nil, false
}

func isUnsigned(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// inferType maps a Go element type to a Ceph type.
func inferType(t reflect.Type) (string, error) {
	switch t.Kind() {
	case reflect.String:
		return CephString, nil
	case reflect.Bool:
		return CephBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return CephInt, nil
	case reflect.Float32, reflect.Float64:
		return CephFloat, nil
	}
	return "", fmt.Errorf("unsupported field type %s (use string, bool, integers, floats, pointers or slices of them)", t)
}

// typeFitsField checks an explicit type= tag against the field's Go type.
func typeFitsField(typ string, t reflect.Type) error {
	k := t.Kind()
	isInt := k >= reflect.Int && k <= reflect.Uint64
	switch typ {
	case CephInt, CephSizeBytes:
		if isInt {
			return nil
		}
	case CephFloat:
		if k == reflect.Float32 || k == reflect.Float64 {
			return nil
		}
	case CephBool:
		if k == reflect.Bool {
			return nil
		}
	case CephOsdName:
		if isInt || k == reflect.String {
			return nil
		}
	case CephPrefix:
		return fmt.Errorf("type=CephPrefix is for literal words; put them in the prefix tag")
	default:
		if k == reflect.String {
			return nil
		}
	}
	return fmt.Errorf("type=%s does not fit field type %s", typ, t)
}

// checkAssignable verifies at definition time that values of the argument's
// type can be stored in the field (so binding never fails for type reasons).
func checkAssignable(b *boundArg) error {
	if b.hasDef {
		if _, err := convertForField(b.def, b.ftype); err != nil {
			return fmt.Errorf("default: %v", err)
		}
	}
	return nil
}

// snakeCase turns a Go field name into a Ceph argument name:
// PersonName → person_name, OID → oid, PoolID → pool_id.
func snakeCase(s string) string {
	runes := []rune(s)
	var b strings.Builder
	for i, r := range runes {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1]) ||
				(i+1 < len(runes) && unicode.IsLower(runes[i+1]) && unicode.IsUpper(runes[i-1]) && !pluralS(runes, i+1))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pluralS reports whether runes[i] is a lone plural "s" after an acronym
// (the s of IDs, OSDs), which must not start a new word.
func pluralS(runes []rune, i int) bool {
	return runes[i] == 's' && (i+1 == len(runes) || unicode.IsUpper(runes[i+1]))
}
