// Package modname is the rule for mgr module names, shared by the module
// runtime (pkg/module, which registers modules) and mgrctl's scaffolding
// (which creates them) without mgrctl linking the runtime.
package modname

import "regexp"

// nameRE: a lower-case letter, then up to 63 lower-case letters, digits,
// '_' or '-'.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Valid reports whether s is a valid module name.
func Valid(s string) bool { return nameRE.MatchString(s) }
