// Package clicommand is how a module author declares commands: from Go
// structs, in the styles of Python's object_format decorators. The Ceph
// command language underneath (argument descriptors, descriptions,
// validation, the ceph CLI's word matcher) is package cmddesc.
//
// A command is one struct and one function. The struct embeds Meta (or Read
// or Write, for read-only or write commands) whose tag names the command;
// each exported field is an argument whose Ceph type follows from its Go
// type:
//
//	type countArgs struct {
//		clicommand.Read `prefix:"antigravity count" desc:"Count things"`
//		N     int                 // name=n,type=CephInt (required)
//		Force bool                // name=force,req=false,positional=false,type=CephBool
//		Mode  *Mode               // a Chooser type: CephChoices, optional
//		Tags  []string            // n=N
//		Pool  string `ceph:"type=CephPoolname"`
//		Inbuf []byte              // the -i input file
//	}
//
//	func (m *Module) count(ctx context.Context, a *countArgs) (Report, error)
//
//	clicommand.Responder(m.count) // a *Command
//
// Go types map to Ceph types as string → CephString, integers → CephInt
// (unsigned adds range=0), floats → CephFloat, bool → CephBool (always an
// optional --flag), a string type with a Choices() method → CephChoices,
// slices → n=N, arrays [k]T → n=k. A pointer, a default:"..." tag or
// req=false makes an argument optional. The ceph:"..." tag uses the
// descriptor grammar itself (name=, type=, req=, n=, range=, goodchars=,
// strings=, positional=) to override or add to what the Go type implies;
// ceph:"-" skips a field. The inbuf field (named Inbuf, or tagged
// ceph:"inbuf") receives the -i file; with nonempty:"the note's text" the
// command refuses a missing or blank file with -EINVAL and a text that
// says what it should hold (Python's CLICheckNonemptyFileInput). As in Ceph, an argument named format, a bool, or
// an EndPositional marker field makes it and every later argument
// non-positional (only --name value is accepted).
//
// The constructors mirror Python's object_format decorators: Responder
// (return a value, rendered as JSON or YAML; adds --format),
// ErrorResponseHandler (return your own Result), EmptyResponder (print
// nothing on success) and Func (plain Result). Legacy registers a Python
// style COMMANDS entry from a cmd string.
//
// Command.Call runs a command for a JSON command (the daemon looks the
// prefix up first): it checks the caller's permission, validates every
// argument (cmddesc.Spec.Validate: the check the Python mgr left to the
// client: no bool("false") == True, no strings split into characters,
// unknown and missing arguments refused with -EINVAL and a message naming
// the argument), binds the struct and runs the handler with panics
// recovered.
package clicommand
