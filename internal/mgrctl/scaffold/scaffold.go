// Package scaffold writes new gomgr modules: `mgrctl new-module NAME`
// renders a module package from templates (text/template over an
// embedded tree; Go output run through go/format).
//
// Inside the gomgr repository the package goes to modules/NAME and its
// import between the "gomgr:modules:begin" and "gomgr:modules:end"
// markers of modules/all/all.go, so the next ceph-mgr build compiles it
// in. A standalone module (Options.Standalone) is a Go module of the
// author's own instead: go.mod requiring github.com/gomgr/gomgr, the
// module package in NAME/, a cmd/ceph-mgr host calling pkg/mgr's Main, a
// Makefile (make run, make test), a README and a .gitignore.
//
// Everything is rendered and checked in memory first; nothing is written
// when the name is invalid, the target exists (without Force), all.go
// lacks its markers, or an existing file differs from the one generated
// (without Overwrite): Force only adds missing files and leaves identical
// ones alone, so re-running new-module never loses an author's edits
// unless Overwrite says so.
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
	"regexp"
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
	// Force accepts an existing target (the module directory, or a
	// standalone module's root): missing files are written, files
	// identical to the generated ones are left alone, and files that
	// differ make NewPlan fail, listing them.
	Force bool
	// Overwrite (which implies Force) replaces the files that differ too:
	// the author's edits in them are lost.
	Overwrite bool
	// Standalone, when set, makes Dir the root of a Go module of the
	// author's own rather than a modules directory.
	Standalone *Standalone
}

// Standalone describes the Go module around a standalone module.
type Standalone struct {
	// ModulePath is the module's path in go.mod (default
	// example.com/NAME).
	ModulePath string
	// GomgrVersion is the required version of github.com/gomgr/gomgr
	// (default v0.0.0; see RequireVersion).
	GomgrVersion string
	// GomgrDir, when set, is a gomgr checkout that go.mod replaces
	// github.com/gomgr/gomgr with, for local development; it must be an
	// absolute path.
	GomgrDir string
}

// GoVersion is the go line of the generated go.mod: the one of gomgr's own
// go.mod (TestGoVersion keeps them equal), which a module requiring gomgr
// needs at least.
const GoVersion = "1.26.0"

// DefaultModulePath is a standalone module's path when none is given.
func DefaultModulePath(name string) string { return "example.com/" + name }

// RequireVersion is the version of github.com/gomgr/gomgr a standalone
// module requires when built by a gomgr of version v (buildinfo.Version,
// with or without its "v"): v itself when it is a release (vX.Y.Z, or
// a -alpha/-beta/-rc pre-release of one), else v0.0.0, which resolves
// only with a replace (Standalone.GomgrDir).
func RequireVersion(v string) string {
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if releaseVersion.MatchString(v) {
		return v
	}
	return "v0.0.0"
}

// plainPath is a path go.mod holds unquoted.
var plainPath = regexp.MustCompile(`^[A-Za-z0-9/._+~-]+$`)

var releaseVersion = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(alpha|beta|rc)(\.?[0-9]+)*)?$`)

// CheckModulePath checks a standalone module's path: slash-separated
// elements of letters, digits and "-._~", none empty, "." or "..", none
// starting or ending with a dot.
func CheckModulePath(mp string) error {
	bad := func(why string) error { return fmt.Errorf("invalid module path %q: %s", mp, why) }
	if mp == "" {
		return bad("it is empty")
	}
	if len(mp) > 256 {
		return bad("it is longer than 256 bytes")
	}
	for _, el := range strings.Split(mp, "/") {
		switch {
		case el == "":
			return bad("an element is empty (leading, trailing or doubled '/')")
		case strings.HasPrefix(el, ".") || strings.HasSuffix(el, "."):
			return bad(fmt.Sprintf("element %q starts or ends with a dot", el))
		}
		for _, r := range el {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return bad(fmt.Sprintf("element %q has the character %q (use letters, digits and -._~)", el, r))
			}
		}
	}
	if mp == GomgrModule || strings.HasPrefix(mp, GomgrModule+"/") {
		return bad("it is gomgr's own (a standalone module is outside it)")
	}
	return nil
}

// File is a generated file; Path is relative to the modules directory
// (a standalone module's root).
type File struct {
	Path string
	Data []byte
}

// Plan is what Generate writes.
type Plan struct {
	// Dir is the modules directory, or a standalone module's root.
	Dir string
	// Standalone says Dir is a standalone module's root.
	Standalone bool
	// Files are the files to write: all of them for a new module; with
	// Force, those missing (or, with Overwrite, differing).
	Files []File
	// Unchanged are the paths of existing files identical to the
	// generated ones, which are left alone.
	Unchanged []string
	// ImportPath is the module package's import path ("" when Dir is not
	// inside a Go module).
	ImportPath string
	// HasAllGo says Dir/all/all.go exists (never for a standalone
	// module); AllGo is its new content, nil when there is none or it
	// already imports the module.
	HasAllGo bool
	AllGo    *File
}

// data is what the templates see.
type data struct {
	Name, Package        string
	Serve, Options, Eval bool
	// Flags are the new-module flags that chose the variant.
	Flags string
	// Standalone and the fields after it describe a standalone module.
	Standalone                                     bool
	ModulePath, ImportPath, GomgrVersion, GomgrDir string
	GoVersion                                      string
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

// Render renders the module's files in memory, Go files formatted: the
// module package under NAME/ and, for a standalone module, the files
// around it.
func Render(o Options) ([]File, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	d := data{Name: o.Name, Package: packageName(o.Name), Serve: o.Serve, Options: o.Options, Eval: o.Eval, GoVersion: GoVersion}
	for _, f := range []struct {
		on   bool
		flag string
	}{{o.Serve, " --serve"}, {o.Options, " --options"}, {o.Eval, " --eval"}} {
		if f.on {
			d.Flags += f.flag
		}
	}
	type out struct{ tmpl, file string }
	outs := []out{
		{"module.go.tmpl", path.Join(o.Name, o.Name+".go")},
		{"module_test.go.tmpl", path.Join(o.Name, o.Name+"_test.go")},
		{"README.md.tmpl", path.Join(o.Name, "README.md")},
	}
	if sa := o.Standalone; sa != nil {
		d.Standalone = true
		d.ModulePath = sa.ModulePath
		if d.ModulePath == "" {
			d.ModulePath = DefaultModulePath(o.Name)
		}
		if err := CheckModulePath(d.ModulePath); err != nil {
			return nil, err
		}
		d.ImportPath = d.ModulePath + "/" + o.Name
		d.GomgrVersion = sa.GomgrVersion
		if d.GomgrVersion == "" {
			d.GomgrVersion = "v0.0.0"
		}
		if !releaseVersion.MatchString(d.GomgrVersion) && d.GomgrVersion != "v0.0.0" {
			return nil, fmt.Errorf("invalid gomgr version %q (want vX.Y.Z)", d.GomgrVersion)
		}
		if sa.GomgrDir != "" {
			if !filepath.IsAbs(sa.GomgrDir) {
				return nil, fmt.Errorf("gomgr directory %q is not an absolute path", sa.GomgrDir)
			}
			if strings.ContainsAny(sa.GomgrDir, "\n\r\"`") {
				return nil, fmt.Errorf("gomgr directory %q has a character go.mod cannot hold", sa.GomgrDir)
			}
			d.GomgrDir = sa.GomgrDir
			if !plainPath.MatchString(d.GomgrDir) {
				d.GomgrDir = strconv.Quote(d.GomgrDir)
			}
		}
		outs = append(outs,
			out{"go.mod.tmpl", "go.mod"},
			out{"main.go.tmpl", "cmd/ceph-mgr/main.go"},
			out{"Makefile.tmpl", "Makefile"},
			out{"standalone_README.md.tmpl", "README.md"},
			out{"gitignore.tmpl", ".gitignore"},
		)
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
		files = append(files, File{Path: x.file, Data: b})
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
	if o.Standalone != nil {
		return standalonePlan(o, dir, files)
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("modules directory %s is not a directory", dir)
	}
	p := &Plan{Dir: dir}
	target := filepath.Join(dir, o.Name)
	if err := p.keep(o, target, files); err != nil {
		return nil, err
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
	p.HasAllGo = true
	updated, changed, err := AddImport(src, p.ImportPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", allPath, err)
	}
	if changed {
		p.AllGo = &File{Path: path.Join("all", "all.go"), Data: updated}
	}
	return p, nil
}

func standalonePlan(o Options, dir string, files []File) (*Plan, error) {
	if st, err := os.Stat(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("module directory %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("module directory %s: %s is not a directory", dir, filepath.Dir(dir))
	}
	mp := o.Standalone.ModulePath
	if mp == "" {
		mp = DefaultModulePath(o.Name)
	}
	p := &Plan{Dir: dir, Standalone: true, ImportPath: mp + "/" + o.Name}
	if err := p.keep(o, dir, files); err != nil {
		return nil, err
	}
	return p, nil
}

// keep decides which files to write into p.Dir when target (the module
// directory, or a standalone module's root) may exist: all of them when it
// does not (or is an empty directory); with Force, those missing, or with
// Overwrite those that differ too.
func (p *Plan) keep(o Options, target string, files []File) error {
	st, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.Files = files
		return nil
	case err != nil:
		return fmt.Errorf("check %s: %w", target, err)
	case !st.IsDir():
		return fmt.Errorf("%s exists and is not a directory", target)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return fmt.Errorf("check %s: %w", target, err)
	}
	if len(entries) > 0 && !o.Force && !o.Overwrite {
		return fmt.Errorf("%s already exists (use --force to add the files it lacks)", target)
	}
	var differ []string
	for _, f := range files {
		full := filepath.Join(p.Dir, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(full)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.Files = append(p.Files, f)
		case err != nil:
			return fmt.Errorf("check %s: %w", full, err)
		case bytes.Equal(old, f.Data):
			p.Unchanged = append(p.Unchanged, f.Path)
		case o.Overwrite:
			p.Files = append(p.Files, f)
		default:
			differ = append(differ, f.Path)
		}
	}
	if len(differ) > 0 {
		return &DifferError{Dir: p.Dir, Paths: differ}
	}
	return nil
}

// DifferError is NewPlan's refusal to replace existing files that differ
// from the generated ones (without Overwrite).
type DifferError struct {
	// Dir is the plan's directory; Paths are relative to it.
	Dir   string
	Paths []string
}

func (e *DifferError) Error() string {
	return fmt.Sprintf("not replacing %d file(s) in %s that differ from what new-module writes (your edits?): %s; nothing written (use --overwrite to replace them)",
		len(e.Paths), e.Dir, strings.Join(e.Paths, ", "))
}

// Apply writes the plan. If writing a file fails, the files it created
// (and the directories it made) are removed.
func (p *Plan) Apply() error {
	var created, madeDirs []string
	undo := func() {
		for _, f := range created {
			_ = os.Remove(f)
		}
		for i := len(madeDirs) - 1; i >= 0; i-- {
			_ = os.Remove(madeDirs[i])
		}
	}
	for _, f := range p.Files {
		full := filepath.Join(p.Dir, filepath.FromSlash(f.Path))
		made, err := mkdirs(filepath.Dir(full))
		madeDirs = append(madeDirs, made...)
		if err != nil {
			undo()
			return err
		}
		if _, err := os.Lstat(full); errors.Is(err, fs.ErrNotExist) {
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

// mkdirs makes dir and its missing parents and returns the ones it made,
// outermost first.
func mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil {
			return made, fmt.Errorf("create %s: %w", missing[i], err)
		}
		made = append(made, missing[i])
	}
	return made, nil
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

// GomgrCheckout checks that dir is a gomgr checkout (its go.mod's module
// is github.com/gomgr/gomgr) and returns its absolute path.
func GomgrCheckout(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("gomgr checkout %s: %w", dir, err)
	}
	mp, err := readModulePath(filepath.Join(abs, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("gomgr checkout %s: %w", dir, err)
	}
	if mp != GomgrModule {
		return "", fmt.Errorf("%s is not a gomgr checkout: its go.mod is module %s, not %s", dir, mp, GomgrModule)
	}
	return abs, nil
}

// ErrNoRepository is FindModulesDir's error when no gomgr repository
// contains the start directory.
var ErrNoRepository = errors.New("no gomgr repository")

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
			return "", fmt.Errorf("%s is not inside the gomgr repository (no go.mod with module %s above it): %w", dir, GomgrModule, ErrNoRepository)
		}
		d = parent
	}
}
