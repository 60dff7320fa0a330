package modhost

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/gomgr/gomgr/internal/modbridge"
	"github.com/gomgr/gomgr/pkg/module"
)

// Registry holds module Infos by name: the modules a Manager can run.
// Default is the program's (what module.Register was given); tests build
// their own with NewRegistry.
type Registry struct {
	mu    sync.RWMutex
	infos map[string]module.Info
	// program makes the registry read module.Register's modules.
	program bool
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{infos: map[string]module.Info{}} }

// Default returns the registry of the modules the program registered with
// module.Register (read when it is used, so modules registered after the
// call are in it).
func Default() *Registry { return &Registry{program: true} }

// Register adds a module after the checks module.Register makes (see
// there); it refuses a duplicate name. Every error names the module and
// the option or command at fault.
func (r *Registry) Register(info module.Info) error {
	if r.program {
		return fmt.Errorf("module %s: the program's registry is filled by module.Register", info.Name)
	}
	if err := modbridge.Check(info); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.infos[info.Name]; dup {
		return fmt.Errorf("module %s: registered twice (is the package imported twice, or two modules share a name?)", info.Name)
	}
	r.infos[info.Name] = info
	return nil
}

// all returns the registry's modules by name.
func (r *Registry) all() map[string]module.Info {
	if r.program {
		out := map[string]module.Info{}
		for _, i := range modbridge.Registered() {
			info := i.(module.Info)
			out[info.Name] = info
		}
		return out
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]module.Info, len(r.infos))
	for n, i := range r.infos {
		out[n] = i
	}
	return out
}

// Lookup returns a module's Info.
func (r *Registry) Lookup(name string) (module.Info, bool) {
	i, ok := r.all()[name]
	return i, ok
}

// Names returns the registered module names, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(r.all())) }

// List returns all Infos sorted by name (one snapshot: modules registered
// meanwhile are in it or not, whole).
func (r *Registry) List() []module.Info {
	all := r.all()
	var out []module.Info
	for _, n := range slices.Sorted(maps.Keys(all)) {
		out = append(out, all[n])
	}
	return out
}
