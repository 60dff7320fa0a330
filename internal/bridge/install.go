package bridge

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/modname"
)

//go:embed python/gomgr_bridge/__init__.py
var python embed.FS

// markerFile marks a module directory Install wrote, so a later install
// may replace it (and never a module of someone else's).
const markerFile = ".gomgr-bridge"

// PackageDir is the shared Python package's directory in the module path.
const PackageDir = "gomgr_bridge"

// InstallOptions say what Install writes where.
type InstallOptions struct {
	// ModulePath is the real mgr's `mgr module path` (or a directory the
	// test cluster links into it).
	ModulePath string
	// CheckPaths are other directories of Python modules the mgr loads
	// (the installed ones, /usr/share/ceph/mgr, when ModulePath is not
	// it): their module names and command prefixes are checked too.
	CheckPaths []string
	// Binary is the gomgr ceph-mgr binary the shims run (absolute).
	Binary string
	// Modules are the Go modules to install (all of Desc's if empty).
	Modules []string
	// Renames maps a Go module's name to the name it has in the real mgr;
	// PrefixRenames maps leading command words ("mgr self-test") to
	// others ("mgr goselftest"), for every installed module's commands.
	Renames, PrefixRenames map[string]string
}

// Installed is one module Install wrote.
type Installed struct {
	GoName, Name, Dir string
	Commands          []string // the prefixes the real mgr sees
}

// Install writes the shared package and a shim per module into
// o.ModulePath. It refuses, writing nothing, a module whose name is
// already a Python module's (in ModulePath or CheckPaths) that Install did
// not write, or whose command prefix is one a Python module there
// declares; the error says which flag renames it.
func Install(desc *Description, o InstallOptions) ([]Installed, error) {
	if !filepath.IsAbs(o.Binary) {
		return nil, fmt.Errorf("bridge: the binary path %q is not absolute", o.Binary)
	}
	if st, err := os.Stat(o.ModulePath); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("bridge: module path %s is not a directory", o.ModulePath)
	}
	byName := map[string]ModuleDesc{}
	for _, m := range desc.Modules {
		byName[m.Name] = m
	}
	names := o.Modules
	if len(names) == 0 {
		for _, m := range desc.Modules {
			names = append(names, m.Name)
		}
	}
	for old := range o.Renames {
		if _, ok := byName[old]; !ok {
			return nil, fmt.Errorf("bridge: --rename %s=...: the binary has no module %s", old, old)
		}
	}
	python, err := scanPython(append([]string{o.ModulePath}, o.CheckPaths...))
	if err != nil {
		return nil, err
	}
	var plan []Installed
	var problems []string
	taken := map[string]string{} // bridged name or prefix -> Go module
	for _, goName := range names {
		m, ok := byName[goName]
		if !ok {
			return nil, fmt.Errorf("bridge: the binary has no module %q (it has %s)", goName, strings.Join(moduleNames(desc), ", "))
		}
		name := goName
		if n, ok := o.Renames[goName]; ok {
			name = n
		}
		if !modname.Valid(name) || name == PackageDir {
			return nil, fmt.Errorf("bridge: %q is not a module name for the real mgr", name)
		}
		if where, ok := python.modules[name]; ok {
			problems = append(problems, fmt.Sprintf("module %s: the real mgr already has a Python module %s (%s); rename the Go one with --rename %s=NEWNAME",
				goName, name, where, goName))
		}
		if other, ok := taken[name]; ok {
			problems = append(problems, fmt.Sprintf("module %s: installed as %s, the name of Go module %s too", goName, name, other))
		}
		taken[name] = goName
		in := Installed{GoName: goName, Name: name, Dir: filepath.Join(o.ModulePath, name)}
		var clash, owners []string
		for _, c := range m.Commands {
			p := renamePrefix(c.Prefix, o.PrefixRenames)
			if owner, ok := python.prefixes[p]; ok {
				clash = append(clash, p)
				if !slices.Contains(owners, owner) {
					owners = append(owners, owner)
				}
			}
			if other, ok := taken["cmd:"+p]; ok && other != goName {
				problems = append(problems, fmt.Sprintf("module %s: command %q is also Go module %s's", goName, p, other))
			}
			taken["cmd:"+p] = goName
			in.Commands = append(in.Commands, p)
		}
		if len(clash) > 0 {
			problems = append(problems, fmt.Sprintf("module %s: Python module %s already has the command(s) %s; rename them with --rename-prefix %q",
				goName, strings.Join(owners, ", "), strings.Join(clash, ", "), commonWords(clash)+"=NEW WORDS"))
		}
		plan = append(plan, in)
	}
	// What Install would write over: only real directories (no links),
	// and a module directory only if it is one of Install's or new.
	if err := checkWritable(filepath.Join(o.ModulePath, PackageDir), false); err != nil {
		problems = append(problems, err.Error())
	}
	for _, in := range plan {
		if err := checkWritable(in.Dir, true); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, errors.New("bridge: not installed:\n  " + strings.Join(problems, "\n  "))
	}
	if err := writePackage(o.ModulePath); err != nil {
		return nil, err
	}
	for _, in := range plan {
		if err := writeShim(in, o); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

func moduleNames(d *Description) []string {
	var out []string
	for _, m := range d.Modules {
		out = append(out, m.Name)
	}
	return out
}

// sortedRenames are renames longest first (then in order), the order
// they are tried in.
func sortedRenames(renames map[string]string) [][2]string {
	out := make([][2]string, 0, len(renames))
	for old, new := range renames {
		out = append(out, [2]string{old, new})
	}
	sort.Slice(out, func(i, j int) bool {
		return len(out[i][0]) > len(out[j][0]) || len(out[i][0]) == len(out[j][0]) && out[i][0] < out[j][0]
	})
	return out
}

// renamePrefix renames the leading words of prefix by the first of
// renames (in sortedRenames' order) that matches.
func renamePrefix(prefix string, renames map[string]string) string {
	for _, r := range sortedRenames(renames) {
		if prefix == r[0] || strings.HasPrefix(prefix, r[0]+" ") {
			return r[1] + prefix[len(r[0]):]
		}
	}
	return prefix
}

// commonWords is the longest run of leading words the prefixes share (at
// least the first word of the first).
func commonWords(prefixes []string) string {
	common := strings.Fields(prefixes[0])
	for _, p := range prefixes[1:] {
		w := strings.Fields(p)
		n := 0
		for n < len(common) && n < len(w) && common[n] == w[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return strings.Fields(prefixes[0])[0]
	}
	return strings.Join(common, " ")
}

// pythonModules are the Python modules found in the checked paths.
type pythonModules struct {
	modules  map[string]string // name -> its directory
	prefixes map[string]string // command prefix -> module name
}

var (
	// @CLICommand('prefix', ...), @CLIReadCommand("prefix"), ...
	cliCommandRE = regexp.MustCompile(`@CLI(?:Read|Write)?Command\(\s*['"]([^'"]+)['"]`)
	// 'cmd': 'prefix name=...' in a COMMANDS list.
	cmdEntryRE = regexp.MustCompile(`['"]cmd['"]\s*:\s*['"]([^'"]+)['"]`)
)

// scanPython lists the module directories (those with a module.py, as
// the mgr probes them) of paths that Install did not write, and the
// command prefixes their Python sources declare.
func scanPython(paths []string) (*pythonModules, error) {
	out := &pythonModules{modules: map[string]string{}, prefixes: map[string]string{}}
	for _, dir := range paths {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bridge: %w", err)
		}
		for _, e := range entries {
			mdir := filepath.Join(dir, e.Name())
			st, err := os.Stat(mdir) // the test cluster's module path is links
			if err != nil || !st.IsDir() {
				continue
			}
			if _, err := os.Lstat(filepath.Join(mdir, markerFile)); err == nil {
				continue // ours
			}
			if _, err := os.Stat(filepath.Join(mdir, "module.py")); err != nil {
				continue
			}
			if _, seen := out.modules[e.Name()]; !seen {
				out.modules[e.Name()] = mdir
			}
			srcs, _ := filepath.Glob(filepath.Join(mdir, "*.py"))
			for _, f := range srcs {
				b, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				for _, m := range cliCommandRE.FindAllSubmatch(b, -1) {
					out.prefixes[strings.Join(strings.Fields(string(m[1])), " ")] = e.Name()
				}
				for _, m := range cmdEntryRE.FindAllSubmatch(b, -1) {
					var words []string
					for _, w := range strings.Fields(string(m[1])) {
						if strings.Contains(w, "=") {
							break
						}
						words = append(words, w)
					}
					if len(words) > 0 {
						out.prefixes[strings.Join(words, " ")] = e.Name()
					}
				}
			}
		}
	}
	return out, nil
}

// checkWritable refuses a path Install would write into that is a link or
// not a directory, or (module) a non-empty directory without Install's
// marker.
func checkWritable(dir string, module bool) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 || !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory (or is a link): refusing to write into it", dir)
	}
	if !module {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, markerFile)); err == nil {
		return nil
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and was not written by the bridge install: refusing to write into it", dir)
	}
	return nil
}

// writePackage writes the shared gomgr_bridge package.
func writePackage(modulePath string) error {
	dir := filepath.Join(modulePath, PackageDir)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("bridge: %w", err)
	}
	if err := checkWritable(dir, false); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	src, err := python.ReadFile("python/gomgr_bridge/__init__.py")
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	return writeFile(filepath.Join(dir, "__init__.py"), src)
}

// writeShim writes the module directory of one Go module.
func writeShim(in Installed, o InstallOptions) error {
	if err := os.Mkdir(in.Dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("bridge: %w", err)
	}
	if err := checkWritable(in.Dir, true); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	renames := sortedRenames(o.PrefixRenames)
	lit := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	pyRenames := "["
	for i, r := range renames {
		if i > 0 {
			pyRenames += ", "
		}
		pyRenames += "(" + lit(r[0]) + ", " + lit(r[1]) + ")"
	}
	pyRenames += "]"
	module := fmt.Sprintf(`# Written by "ceph-mgr bridge install" (gomgr): the Go module %s of
# %s
# as the ceph-mgr module %s. Run the install again to update it; remove
# this directory to remove the module.
from gomgr_bridge import module_classes

# StandbyModule is None unless the Go module has a standby variant.
Module, StandbyModule = module_classes(%s, %s, %s)
`, in.GoName, o.Binary, in.Name, lit(o.Binary), lit(in.GoName), pyRenames)
	// The marker first: a directory with a half-written shim is still
	// Install's to finish.
	for _, f := range [][2]string{
		{markerFile, "written by ceph-mgr bridge install (gomgr); Go module " + in.GoName + "\n"},
		{"__init__.py", "from .module import Module, StandbyModule  # noqa: F401\n"},
		{"module.py", module},
	} {
		if err := writeFile(filepath.Join(in.Dir, f[0]), []byte(f[1])); err != nil {
			return err
		}
	}
	return nil
}

// writeFile replaces path with data (through a temporary file, so the
// mgr never imports half a file).
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp) // a stale one (Remove does not follow a link)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bridge: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bridge: %w", err)
	}
	return nil
}
