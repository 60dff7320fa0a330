// Package cmdroute is the daemon's command table: the commands of every
// enabled module (and the daemon's own) by prefix, dispatched by one map
// lookup to clicommand.Command.Call, and described for
// get_command_descriptions.
package cmdroute

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
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
	cmd    *clicommand.Command
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{byPrefix: map[string]*entry{}} }

// Add registers commands for a module. It fails, adding none of them, if a
// command has a definition error or its prefix is already taken (the error
// names both modules).
func (r *Registry) Add(module string, cmds ...*clicommand.Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range cmds {
		if c == nil {
			return fmt.Errorf("module %s: nil command", module)
		}
		if c.Err() != nil {
			return fmt.Errorf("module %s: %w", module, c.Err())
		}
		p := c.Prefix()
		if old, ok := r.byPrefix[p]; ok {
			return fmt.Errorf("module %s: command %q is already registered by module %s", module, p, old.module)
		}
		if seen[p] {
			return fmt.Errorf("module %s: command %q registered twice", module, p)
		}
		seen[p] = true
	}
	for _, c := range cmds {
		r.byPrefix[c.Prefix()] = &entry{module: module, cmd: c}
	}
	return nil
}

// MustAdd is Add that panics on error, for tests and examples.
func (r *Registry) MustAdd(module string, cmds ...*clicommand.Command) {
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
func (r *Registry) Lookup(prefix string) (*clicommand.Command, string, bool) {
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
	Command *clicommand.Command
}

// Entries returns all commands sorted by prefix.
func (r *Registry) Entries() []Entry {
	r.mu.RLock()
	out := make([]Entry, 0, len(r.byPrefix))
	for _, e := range r.byPrefix {
		out = append(out, Entry{Module: e.module, Command: e.cmd})
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Command.Prefix(), b.Command.Prefix()) })
	return out
}

// Dispatch finds the command named by call.Cmd["prefix"], checks the
// caller's permission, validates and binds the arguments, and runs the
// handler with panics recovered. Every failure is a Result with a negative
// errno: -EINVAL for a missing or unknown prefix ("No handler found for
// '<prefix>'", as the mgr says) and bad arguments, -EACCES for a missing
// permission.
func (r *Registry) Dispatch(ctx context.Context, call clicommand.Call) objectformat.Result {
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

// Describe returns every command's description, sorted by prefix.
func (r *Registry) Describe(opts cmddesc.DescribeOptions) []cmddesc.Description {
	entries := r.Entries()
	out := make([]cmddesc.Description, len(entries))
	for i, e := range entries {
		out[i] = e.Command.Spec().Describe(e.Module, opts)
	}
	return out
}
