package clicommand

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Registry holds commands by prefix. It is a value with no package-level
// state: the daemon owns one for all enabled modules, a test owns its own.
// It is safe for concurrent use; Dispatch costs one map lookup whatever the
// number of commands.
type Registry struct {
	mu       sync.RWMutex
	byPrefix map[string]*entry
}

type entry struct {
	module string
	cmd    *Command
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{byPrefix: map[string]*entry{}} }

// Add registers commands for a module. It fails, adding none of them, if a
// command has a definition error or its prefix is already taken (the error
// names both modules).
func (r *Registry) Add(module string, cmds ...*Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range cmds {
		if c == nil {
			return fmt.Errorf("module %s: nil command", module)
		}
		if c.err != nil {
			return fmt.Errorf("module %s: %w", module, c.err)
		}
		p := c.spec.prefix
		if old, ok := r.byPrefix[p]; ok {
			return fmt.Errorf("module %s: command %q is already registered by module %s", module, p, old.module)
		}
		if seen[p] {
			return fmt.Errorf("module %s: command %q registered twice", module, p)
		}
		seen[p] = true
	}
	for _, c := range cmds {
		r.byPrefix[c.spec.prefix] = &entry{module: module, cmd: c}
	}
	return nil
}

// MustAdd is Add that panics on error, for tests and examples.
func (r *Registry) MustAdd(module string, cmds ...*Command) {
	if err := r.Add(module, cmds...); err != nil {
		panic(err)
	}
}

// Remove drops every command of a module.
func (r *Registry) Remove(module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, e := range r.byPrefix {
		if e.module == module {
			delete(r.byPrefix, p)
		}
	}
}

// Lookup finds a command by exact prefix and returns it with its module.
func (r *Registry) Lookup(prefix string) (*Command, string, bool) {
	r.mu.RLock()
	e, ok := r.byPrefix[prefix]
	r.mu.RUnlock()
	if !ok {
		return nil, "", false
	}
	return e.cmd, e.module, true
}

// Len returns the number of commands.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byPrefix)
}

// Entry is a registered command with its module.
type Entry struct {
	Module  string
	Command *Command
}

// Entries returns all commands sorted by prefix.
func (r *Registry) Entries() []Entry {
	r.mu.RLock()
	out := make([]Entry, 0, len(r.byPrefix))
	for _, e := range r.byPrefix {
		out = append(out, Entry{Module: e.module, Command: e.cmd})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Command.spec.prefix, b.Command.spec.prefix) })
	return out
}

// Call is one command invocation.
type Call struct {
	// Cmd is the decoded JSON command; "prefix" selects the command.
	Cmd map[string]any
	// Inbuf is the input file (-i), nil if none.
	Inbuf []byte
	// Perm is what the caller may do: "r", "w", "rw". It fails closed: the
	// zero value grants nothing (only commands that need no permission
	// run).
	Perm string
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

// Dispatch finds the command named by call.Cmd["prefix"], checks the
// caller's permission, validates and binds the arguments, and runs the
// handler with panics recovered. Every failure is a Result with a negative
// errno: -EINVAL for a missing or unknown prefix ("No handler found for
// '<prefix>'", as the mgr says) and bad arguments, -EACCES for a missing
// permission.
func (r *Registry) Dispatch(ctx context.Context, call Call) objectformat.Result {
	prefix, _ := call.Cmd["prefix"].(string)
	if prefix == "" {
		return objectformat.Failed(-int(syscall.EINVAL), "command has no prefix")
	}
	c, _, ok := r.Lookup(prefix)
	if !ok {
		return objectformat.Failed(-int(syscall.EINVAL), fmt.Sprintf("No handler found for '%s'", prefix))
	}
	return c.Call(ctx, call)
}

// Call runs this command (Dispatch after the lookup).
func (c *Command) Call(ctx context.Context, call Call) objectformat.Result {
	if !Allowed(call.Perm, c.spec.Perm) {
		return objectformat.Failed(-int(syscall.EACCES),
			fmt.Sprintf("access denied: '%s' needs '%s' permission, caller has '%s'", c.spec.prefix, c.spec.Perm, call.Perm))
	}
	b, err := c.spec.bind(call.Cmd, call.Inbuf)
	if err != nil {
		return objectformat.Failed(-int(syscall.EINVAL), err.Error())
	}
	format, _ := call.Cmd["format"].(string)
	req := &objectformat.Request{
		Prefix: c.spec.prefix,
		Format: objectformat.Format(format),
		Inbuf:  call.Inbuf,
		Cmd:    b.values,
		Args:   b.args,
	}
	if format != "" {
		b.values["format"] = format
	}
	return c.recovered.ServeCommand(ctx, req)
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

// Describe returns every command's description, sorted by prefix.
func (r *Registry) Describe(opts DescribeOptions) []Description {
	entries := r.Entries()
	out := make([]Description, len(entries))
	for i, e := range entries {
		out[i] = e.Command.spec.Describe(e.Module, opts)
	}
	return out
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
