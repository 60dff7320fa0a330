package module

import "github.com/gomgr/gomgr/internal/optschema"

// OptionType is the type of a module option (MODULE_OPTIONS "type").
type OptionType string

// Option types, as Ceph names them.
const (
	Str   OptionType = "str"
	Int   OptionType = "int"
	Uint  OptionType = "uint"
	Float OptionType = "float"
	Bool  OptionType = "bool"
	Secs  OptionType = "secs"
	Size  OptionType = "size"
	Addr  OptionType = "addr"
	UUID  OptionType = "uuid"
)

// OptionLevel is how visible an option is (Ceph's OptionLevel). The zero
// value is LevelAdvanced, Ceph's default.
type OptionLevel int

// Option levels.
const (
	LevelAdvanced OptionLevel = iota
	LevelBasic
	LevelDev
)

// String returns "basic", "advanced" or "dev".
func (l OptionLevel) String() string {
	switch l {
	case LevelBasic:
		return "basic"
	case LevelDev:
		return "dev"
	}
	return "advanced"
}

// Option declares a module option. Values are typed: Str, Addr and UUID
// options hold a string, Int, Uint and Size an int64, Float and Secs a
// float64 (seconds for Secs), Bool a bool. Text is read as Ceph reads it;
// for a Bool that is Option::parse_value's rule: "true" or "false" in any
// case, else an integer (nonzero is true), so "yes" and "on" are refused.
type Option struct {
	Name string
	// Type defaults to Str.
	Type OptionType
	// Level defaults to LevelAdvanced.
	Level OptionLevel
	// Default is the value of an unset option; nil means an unset option
	// reads as nil. It may be given as a Go value or as text, and must be a
	// value the option could be set to: one of EnumAllowed if that is set,
	// within Min and Max (Register refuses the module otherwise).
	Default any
	// Min and Max bound numeric options (nil: unbounded); Min may not be
	// above Max.
	Min, Max any
	// EnumAllowed lists the allowed values (as text). Include "" to let an
	// enum be set to (or default to) the empty string.
	EnumAllowed []string
	Desc        string
	LongDesc    string
	Tags        []string
	SeeAlso     []string
	// Runtime options may change while the module runs.
	Runtime bool
}

// spec is o in the schema compiler's terms.
func (o Option) spec() optschema.Spec {
	return optschema.Spec{
		Name: o.Name, Type: optschema.Type(o.Type), Level: optschema.Level(o.Level),
		Default: o.Default, Min: o.Min, Max: o.Max, EnumAllowed: o.EnumAllowed,
		Desc: o.Desc, LongDesc: o.LongDesc, Tags: o.Tags, SeeAlso: o.SeeAlso, Runtime: o.Runtime,
	}
}

// compileOptions checks a module's declared options (with the built-in
// log options every module has) and returns their schema.
func compileOptions(module string, decl []Option) (optschema.Schema, error) {
	specs := make([]optschema.Spec, len(decl))
	for i, o := range decl {
		specs[i] = o.spec()
	}
	return optschema.Compile(module, specs)
}
