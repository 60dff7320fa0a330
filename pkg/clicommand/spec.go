package clicommand

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
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

// binding is how a struct command's validated values are stored in a new
// value of its argument struct.
type binding struct {
	typ    reflect.Type // the argument struct type
	both   reflect.Type // struct { Req objectformat.Request; Args <typ> }: one allocation for a call
	fields []*field     // in the order of the spec's params
	inbuf  []int        // field index of the inbuf field, nil if none
	inbufT reflect.Type
	// nonempty is the inbuf field's nonempty:"..." tag (what the file
	// holds, for the errors), set when the input must not be empty.
	nonempty    string
	hasNonempty bool
	format      []int // field index of a declared format field, nil if none
	formatT     reflect.Type
}

// field is where one argument goes.
type field struct {
	p      *cmddesc.Param
	index  []int        // struct field index
	ftype  reflect.Type // the field's type
	def    any          // converted default value, nil if none
	hasDef bool
}

var flagNames = map[string]int{
	"noforward": cmddesc.FlagNoForward, "obsolete": cmddesc.FlagObsolete, "deprecated": cmddesc.FlagDeprecated,
	"hidden": cmddesc.FlagHidden, "poll": cmddesc.FlagPoll,
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

// specOf derives the Spec of an argument struct type and how to bind
// onto it.
func specOf(t reflect.Type) (*cmddesc.Spec, *binding, error) {
	if t.Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("clicommand: argument type %s is not a struct", t)
	}
	bd := &binding{typ: t, both: reflect.StructOf([]reflect.StructField{
		{Name: "Req", Type: reflect.TypeFor[objectformat.Request]()},
		{Name: "Args", Type: t},
	})}
	fail := func(f string, format string, args ...any) error {
		return &specError{typ: t, field: f, msg: fmt.Sprintf(format, args...)}
	}
	var meta *reflect.StructField
	positional := true
	seen := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case f.Anonymous && (f.Type == metaType || f.Type == readType || f.Type == writeType):
			if meta != nil {
				return nil, nil, fail(f.Name, "a command struct embeds only one of Meta, Read or Write")
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
			return nil, nil, fail(f.Name, "unexported field; export it or tag it `ceph:\"-\"`")
		}
		tag := f.Tag.Get("ceph")
		if tag == "inbuf" || (tag == "" && f.Name == "Inbuf") {
			if bd.inbuf != nil {
				return nil, nil, fail(f.Name, "a second inbuf field")
			}
			switch f.Type {
			case byteSliceType, reflect.TypeOf(""), reflect.TypeOf((*string)(nil)):
			default:
				return nil, nil, fail(f.Name, "inbuf field must be string, *string or []byte, not %s", f.Type)
			}
			bd.inbuf, bd.inbufT = f.Index, f.Type
			bd.nonempty, bd.hasNonempty = f.Tag.Lookup("nonempty")
			if bd.hasNonempty && strings.TrimSpace(bd.nonempty) == "" {
				return nil, nil, fail(f.Name, `nonempty:"..." says what the input file holds ("the note's text"), for the error that asks for it`)
			}
			continue
		}
		b, err := bindField(f, tag, &positional)
		if err != nil {
			return nil, nil, fail(f.Name, "%v", err)
		}
		name := b.p.Name()
		if seen[name] {
			return nil, nil, fail(f.Name, "argument name %q used twice", name)
		}
		seen[name] = true
		if name == "format" {
			bd.format, bd.formatT = f.Index, f.Type
		}
		bd.fields = append(bd.fields, b)
	}
	if meta == nil {
		return nil, nil, fail("", "no embedded clicommand.Meta, Read or Write field declaring the command prefix")
	}
	s, err := applyMeta(meta, bd)
	if err != nil {
		return nil, nil, fail(meta.Name, "%v", err)
	}
	return s, bd, nil
}

// applyMeta makes the Spec from the Meta (Read, Write) field's tags and
// the fields' params.
func applyMeta(f *reflect.StructField, bd *binding) (*cmddesc.Spec, error) {
	prefix := strings.Join(strings.Fields(f.Tag.Get("prefix")), " ")
	if prefix == "" {
		return nil, fmt.Errorf("missing prefix tag")
	}
	for _, w := range strings.Fields(prefix) {
		if strings.ContainsAny(w, "=,") {
			return nil, fmt.Errorf("prefix word %q contains '=' or ','", w)
		}
	}
	params := make([]*cmddesc.Param, len(bd.fields))
	for i, fl := range bd.fields {
		params[i] = fl.p
	}
	s, err := cmddesc.NewSpec(prefix, params...)
	if err != nil {
		return nil, err
	}
	switch f.Type {
	case readType:
		s.Perm = "r"
	case writeType:
		s.Perm = "w"
	}
	if p, ok := f.Tag.Lookup("perm"); ok {
		if f.Type != metaType {
			return nil, fmt.Errorf("perm tag on %s; use Meta to set perm", f.Type.Name())
		}
		if err := cmddesc.CheckPerm(p); err != nil {
			return nil, err
		}
		s.Perm = p
	}
	s.Help = f.Tag.Get("desc")
	switch f.Tag.Get("poll") {
	case "", "false":
	case "true":
		s.Flags |= cmddesc.FlagPoll
	default:
		return nil, fmt.Errorf("poll tag %q: want true or false", f.Tag.Get("poll"))
	}
	if fl := f.Tag.Get("flags"); fl != "" {
		for _, name := range strings.Split(fl, ",") {
			bit, ok := flagNames[strings.TrimSpace(name)]
			if !ok {
				return nil, fmt.Errorf("unknown flag %q (want hidden, deprecated, obsolete, noforward, poll)", name)
			}
			s.Flags |= bit
		}
	}
	return s, nil
}

// addFormatArg declares the optional, non-positional "format" argument
// that Responder commands accept, unless the struct declares one itself.
func addFormatArg(s *cmddesc.Spec) {
	if _, ok := s.Param("format"); ok {
		return
	}
	a := cmddesc.NewArg("format", cmddesc.CephString)
	a.Set("req", "false")
	a.Set("positional", "false")
	p, err := cmddesc.NewParam(a)
	if err != nil {
		panic(err) // a CephString descriptor always compiles
	}
	_ = s.Add(p)
}

// bindField derives the descriptor of one struct field.
func bindField(f reflect.StructField, tag string, positional *bool) (*field, error) {
	a := &cmddesc.Arg{}
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
		if _, ok := a.Get("strings"); ok && typ == cmddesc.CephString {
			typ = cmddesc.CephChoices
		}
		a.Set("type", typ)
	} else if err := typeFitsField(typ, t); err != nil {
		return nil, err
	}
	if (typ == cmddesc.CephInt) && isUnsigned(t) {
		if _, ok := a.Get("range"); !ok {
			a.Set("range", "0")
		}
	}
	if typ == cmddesc.CephBool || name == "format" {
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
	case optional || hasDef || typ == cmddesc.CephBool:
		optional = true
		a.Set("req", "false")
	}
	if optional {
		a.Set("req", "false")
	}
	if err := a.Check(); err != nil {
		return nil, err
	}
	p, err := cmddesc.NewParam(a)
	if err != nil {
		return nil, err
	}
	b := &field{p: p, index: f.Index, ftype: f.Type}
	if hasDef {
		if p.Repeated() {
			return nil, fmt.Errorf("default on a repeated argument")
		}
		v, err := p.Valid(def)
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
		return cmddesc.CephString, nil
	case reflect.Bool:
		return cmddesc.CephBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cmddesc.CephInt, nil
	case reflect.Float32, reflect.Float64:
		return cmddesc.CephFloat, nil
	}
	return "", fmt.Errorf("unsupported field type %s (use string, bool, integers, floats, pointers or slices of them)", t)
}

// typeFitsField checks an explicit type= tag against the field's Go type.
func typeFitsField(typ string, t reflect.Type) error {
	k := t.Kind()
	isInt := k >= reflect.Int && k <= reflect.Uint64
	switch typ {
	case cmddesc.CephInt, cmddesc.CephSizeBytes:
		if isInt {
			return nil
		}
	case cmddesc.CephFloat:
		if k == reflect.Float32 || k == reflect.Float64 {
			return nil
		}
	case cmddesc.CephBool:
		if k == reflect.Bool {
			return nil
		}
	case cmddesc.CephOsdName:
		if isInt || k == reflect.String {
			return nil
		}
	case cmddesc.CephPrefix:
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
func checkAssignable(b *field) error {
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
