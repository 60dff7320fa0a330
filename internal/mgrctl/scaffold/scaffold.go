// Package scaffold writes new gomgr modules: `mgrctl new-module NAME`
// renders a module package from templates (text/template over an
// embedded tree; Go output run through go/format) and adds its import
// between the "gomgr:modules:begin" and "gomgr:modules:end" markers of
// modules/all/all.go, so the next ceph-mgr build compiles it in.
//
// Everything is rendered and checked in memory first; nothing is written
// when the name is invalid, a file exists (without Force), or all.go
// lacks its markers.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/gomgr/gomgr/internal/modname"
)

// GomgrModule is the module path of the gomgr repository.
const GomgrModule = "github.com/gomgr/gomgr"

// The markers in modules/all/all.go between which module imports live.
const (
	BeginMarker = "// gomgr:modules:begin"
	EndMarker   = "// gomgr:modules:end"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").ParseFS(templateFS, "templates/*.tmpl"))

// reserved are names that cannot be modules: the modules/all package and
// the daemon's own command word.
var reserved = map[string]string{
	"all": "modules/all is the list of compiled-in modules",
	"mgr": "the daemon's built-in commands use the name mgr",
	// The go command's special directory names (names starting with '.'
	// or '_', which it ignores too, are not valid module names).
	"testdata": "the go command leaves directories named testdata out of ./..., so go test ./... would never run the module's tests",
	"vendor":   "the go command takes a directory named vendor for vendored packages (at a module's root it builds in vendor mode)",
}

// Options describe a module to generate.
type Options struct {
	// Name is the module name (modname.Valid).
	Name string
	// Dir is the modules directory: the module goes to Dir/Name and its
	// import into Dir/all/all.go (when that file exists).
	Dir string
	// Serve adds a background loop; Options adds module options; Eval
	// adds an eval command speaking the REPL protocol.
	Serve, Options, Eval bool
	// Force overwrites an existing module directory's files.
	Force bool
}

// File is a generated file; Path is relative to the modules directory.
type File struct {
	Path string
	Data []byte
}

// Plan is what Generate writes.
type Plan struct {
	// Dir is the modules directory.
	Dir string
	// Files are the module's files.
	Files []File
	// ImportPath is the module package's import path ("" when Dir is not
	// inside a Go module).
	ImportPath string
	// AllGo is the new modules/all/all.go; nil when there is none or it
	// already imports the module.
	AllGo *File
}

// data is what the templates see.
type data struct {
	Name, Package        string
	Serve, Options, Eval bool
}

// CheckName validates a module name. Besides modname.Valid (which
// refuses names starting with '.' or '_', which the go command ignores) and
// the reserved names (among them testdata and vendor, directory names the
// go command treats specially), the module's Go package name (the name
// with '-' as '_')
// must be an ordinary package: not a Go keyword or predeclared identifier,
// not main (a command, which cannot be imported), and not ending in _test
// (Go's suffix for test packages and files) or in _GOOS or _GOARCH
// (NAME.go and NAME_test.go would build only on that system).
func CheckName(name string) error {
	if !modname.Valid(name) {
		return fmt.Errorf("invalid module name %q: use lower case letters, digits, '_' and '-', starting with a letter (at most 64 characters)", name)
	}
	if why, ok := reserved[name]; ok {
		return fmt.Errorf("invalid module name %q: it is reserved (%s)", name, why)
	}
	pkg := packageName(name)
	switch {
	case token.IsKeyword(pkg):
		return fmt.Errorf("invalid module name %q: %s is a Go keyword and cannot name its package", name, pkg)
	case types.Universe.Lookup(pkg) != nil:
		return fmt.Errorf("invalid module name %q: %s is a predeclared Go identifier and must not name its package", name, pkg)
	case pkg == "main":
		return fmt.Errorf("invalid module name %q: package main is a command and cannot be imported into the daemon", name)
	}
	if i := strings.LastIndexByte(pkg, '_'); i >= 0 {
		switch suffix := pkg[i+1:]; {
		case suffix == "test":
			return fmt.Errorf("invalid module name %q: %s ends in _test, which Go reserves for test files and packages", name, pkg)
		case KnownOS[suffix], KnownArch[suffix]:
			return fmt.Errorf("invalid module name %q: %s ends in _%s, a GOOS/GOARCH suffix (files named after it build only for %s)", name, pkg, suffix, suffix)
		}
	}
	return nil
}

// KnownOS and KnownArch are the GOOS and GOARCH values the go command
// recognises in file name suffixes (go/build's lists, which include some
// that no longer have a port; TestKnownSystems keeps them in line with
// the toolchain's).
var (
	KnownOS = setOf("aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
		"linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos")
	KnownArch = setOf("386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64",
		"mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
		"riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm")
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// packageName is the Go package name for a module name.
func packageName(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Render renders the module's files in memory, Go files formatted.
func Render(o Options) ([]File, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	d := data{Name: o.Name, Package: packageName(o.Name), Serve: o.Serve, Options: o.Options, Eval: o.Eval}
	type out struct{ tmpl, file string }
	outs := []out{
		{"module.go.tmpl", o.Name + ".go"},
		{"module_test.go.tmpl", o.Name + "_test.go"},
		{"README.md.tmpl", "README.md"},
	}
	if o.Eval {
		outs = append(outs, out{"eval.go.tmpl", "eval.go"})
	}
	var files []File
	for _, x := range outs {
		var buf bytes.Buffer
		if err := templates.ExecuteTemplate(&buf, x.tmpl, d); err != nil {
			return nil, fmt.Errorf("render %s: %w", x.file, err)
		}
		b := buf.Bytes()
		if strings.HasSuffix(x.file, ".go") {
			formatted, err := format.Source(b)
			if err != nil {
				return nil, fmt.Errorf("format %s: %w", x.file, err)
			}
			b = formatted
		}
		files = append(files, File{Path: path.Join(o.Name, x.file), Data: b})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// NewPlan renders the module and works out the all.go update, checking
// that writing can succeed; it writes nothing.
func NewPlan(o Options) (*Plan, error) {
	files, err := Render(o)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, errors.New("no modules directory given")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("modules directory %s is not a directory", dir)
	}
	p := &Plan{Dir: dir, Files: files}
	target := filepath.Join(dir, o.Name)
	if _, err := os.Stat(target); err == nil && !o.Force {
		return nil, fmt.Errorf("%s already exists (use --force to overwrite its files)", target)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("check %s: %w", target, err)
	}
	if modRoot, modPath, err := findGoMod(dir); err == nil {
		rel, err := filepath.Rel(modRoot, target)
		if err != nil {
			return nil, fmt.Errorf("import path of %s: %w", target, err)
		}
		p.ImportPath = modPath + "/" + filepath.ToSlash(rel)
	}
	allPath := filepath.Join(dir, "all", "all.go")
	src, err := os.ReadFile(allPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", allPath, err)
	case p.ImportPath == "":
		return nil, fmt.Errorf("%s exists but %s is not inside a Go module, so the import path is unknown", allPath, dir)
	}
	updated, changed, err := AddImport(src, p.ImportPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", allPath, err)
	}
	if changed {
		p.AllGo = &File{Path: path.Join("all", "all.go"), Data: updated}
	}
	return p, nil
}

// Apply writes the plan. If writing a module file fails, the files
// written so far (and a directory it created) are removed.
func (p *Plan) Apply() error {
	var created []string
	var madeDir string
	undo := func() {
		for _, f := range created {
			_ = os.Remove(f)
		}
		if madeDir != "" {
			_ = os.Remove(madeDir)
		}
	}
	for _, f := range p.Files {
		full := filepath.Join(p.Dir, filepath.FromSlash(f.Path))
		dir := filepath.Dir(full)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				undo()
				return fmt.Errorf("create %s: %w", dir, err)
			}
			madeDir = dir
		}
		if _, err := os.Stat(full); errors.Is(err, fs.ErrNotExist) {
			created = append(created, full)
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			undo()
			return fmt.Errorf("write %s: %w", full, err)
		}
	}
	if p.AllGo != nil {
		full := filepath.Join(p.Dir, filepath.FromSlash(p.AllGo.Path))
		if err := writeAtomic(full, p.AllGo.Data); err != nil {
			undo()
			return err
		}
	}
	return nil
}

// Generate plans and writes a module.
func Generate(o Options) (*Plan, error) {
	p, err := NewPlan(o)
	if err != nil {
		return nil, err
	}
	if err := p.Apply(); err != nil {
		return nil, err
	}
	return p, nil
}

func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".all.go.*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// AddImport adds a blank import of importPath between the markers of
// all.go's source, keeping the block sorted and free of duplicates. It
// reports whether the source changed.
func AddImport(src []byte, importPath string) ([]byte, bool, error) {
	lines := strings.SplitAfter(string(src), "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case BeginMarker:
			if begin >= 0 {
				return nil, false, fmt.Errorf("%q appears twice", BeginMarker)
			}
			begin = i
		case EndMarker:
			if end >= 0 {
				return nil, false, fmt.Errorf("%q appears twice", EndMarker)
			}
			end = i
		}
	}
	if begin < 0 || end < 0 || end < begin {
		return nil, false, fmt.Errorf("no %q ... %q block", BeginMarker, EndMarker)
	}
	indent := lines[begin][:len(lines[begin])-len(strings.TrimLeft(lines[begin], " \t"))]
	type entry struct{ key, line string }
	seen := map[string]bool{}
	var entries []entry
	add := func(key, line string) {
		if !seen[key] {
			seen[key] = true
			entries = append(entries, entry{key, line})
		}
	}
	for _, l := range lines[begin+1 : end] {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		key := t
		if f := strings.Fields(t); len(f) == 2 && f[0] == "_" {
			if p, err := strconv.Unquote(f[1]); err == nil {
				key = p
			}
		}
		add(key, indent+t+"\n")
	}
	add(importPath, indent+"_ "+strconv.Quote(importPath)+"\n")
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	var b strings.Builder
	for _, l := range lines[:begin+1] {
		b.WriteString(l)
	}
	for _, e := range entries {
		b.WriteString(e.line)
	}
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		return nil, false, fmt.Errorf("format: %w", err)
	}
	return out, !bytes.Equal(out, src), nil
}

// findGoMod finds the go.mod at or above dir and returns its directory
// and module path.
func findGoMod(dir string) (root, modPath string, err error) {
	for d := dir; ; {
		if mp, err := readModulePath(filepath.Join(d, "go.mod")); err == nil {
			return d, mp, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", fmt.Errorf("no go.mod at or above %s: %w", dir, fs.ErrNotExist)
		}
		d = parent
	}
}

func readModulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", gomod, err)
	}
	return "", fmt.Errorf("%s has no module line", gomod)
}

// FindModulesDir returns the modules directory of the gomgr repository
// containing start: it walks up to the go.mod whose module is
// github.com/gomgr/gomgr.
func FindModulesDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find the gomgr repository: %w", err)
	}
	for d := dir; ; {
		if mp, err := readModulePath(filepath.Join(d, "go.mod")); err == nil && mp == GomgrModule {
			return filepath.Join(d, "modules"), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%s is not inside the gomgr repository (no go.mod with module %s above it); use --dir", dir, GomgrModule)
		}
		d = parent
	}
}
