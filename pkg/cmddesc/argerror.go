package cmddesc

// ArgErrorKind classifies argument errors the way Ceph's ceph_argparse
// does; the matcher uses the kind to decide whether to try the next
// candidate command or to report the error.
type ArgErrorKind int

// Argument error kinds, named after ceph_argparse's exception classes.
const (
	// ArgInvalid is a plain ArgumentError (e.g. "unused arguments").
	ArgInvalid ArgErrorKind = iota
	// ArgNumber: wrong number of values for a repeated argument.
	ArgNumber
	// ArgFormat: the value has the wrong shape (ArgumentFormat).
	ArgFormat
	// ArgMissing: a required argument is missing.
	ArgMissing
	// ArgValid: the value is otherwise invalid (ArgumentValid).
	ArgValid
	// ArgTooFew: fewer words than required descriptors.
	ArgTooFew
	// ArgPrefix: a literal word does not match (not reported to users).
	ArgPrefix
)

// ArgumentError is a validation failure with Ceph's exact message text.
type ArgumentError struct {
	Kind ArgErrorKind
	Msg  string
}

func (e *ArgumentError) Error() string { return e.Msg }

func argErr(kind ArgErrorKind, msg string) *ArgumentError {
	return &ArgumentError{Kind: kind, Msg: msg}
}

// argType validates words for one descriptor. It is built from an *Arg by
// newArgType (types.go); CephPrefix literals are handled by the matcher.
type argType interface {
	// valid checks one word and returns its converted value: int64 for
	// CephInt and CephSizeBytes, float64 for CephFloat, bool for CephBool,
	// int64 (or the string "*") for CephOsdName, string otherwise. Errors
	// are *ArgumentError with Ceph's message text. partial accepts a
	// prefix of a valid word where Ceph does (CephChoices).
	valid(word string, partial bool) (any, error)
	// String is the type as Ceph prints it inside messages: "<int>",
	// "<int[1-42]>", "<float[0.0-1.0]>", "<string(goodchars [a-z])>",
	// "red|blue-ish", "<bool>", "<osdname (id|osd.id)>", ...
	String() string
	// complete returns the completions of a partial word (Ceph's
	// CephArgtype.complete: choices matching the prefix, a non-empty
	// string echoed for CephString, nothing otherwise).
	complete(word string) []string
}

// wordType is an argType whose valid value is always the word itself (a
// string): check is valid without the value, so a word already held in an
// any needs no new one.
type wordType interface {
	argType
	check(word string) error
}
