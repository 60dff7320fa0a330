package scaffold

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStandaloneGolden renders standalone modules (the defaults, and
// every flag with a module path, a release version and a gomgr checkout)
// and compares every file with a txtar golden file (go test -update
// rewrites them).
func TestStandaloneGolden(t *testing.T) {
	for name, o := range map[string]Options{
		"standalone": {Name: "antigravity", Standalone: &Standalone{}},
		"standalone_serve_options_eval": {Name: "antigravity", Serve: true, Options: true, Eval: true, Standalone: &Standalone{
			ModulePath: "example.org/me/mgr-modules", GomgrVersion: "v1.2.3", GomgrDir: "/home/me/src/gomgr"}},
	} {
		t.Run(name, func(t *testing.T) {
			o.Dir = filepath.Join(t.TempDir(), "ag")
			p, err := NewPlan(o)
			require.NoError(t, err)
			assert.True(t, p.Standalone)
			assert.False(t, p.HasAllGo)
			assert.Nil(t, p.AllGo)
			assert.Empty(t, p.Unchanged)
			ar := &txtar.Archive{Comment: []byte("mgrctl new-module --standalone golden output; regenerate with go test ./internal/mgrctl/scaffold -update\n")}
			for _, f := range p.Files {
				ar.Files = append(ar.Files, txtar.File{Name: f.Path, Data: f.Data})
			}
			got := string(txtar.Format(ar))
			path := filepath.Join("testdata", "golden", "antigravity_"+name+".txtar")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create the golden file")
			assert.Equal(t, string(want), got)
		})
	}
}

// TestStandaloneLayout checks what the goldens encode: the module
// package is the in-tree one, the host imports it, go.mod requires and
// replaces as asked.
func TestStandaloneLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	p, err := Generate(Options{Name: "my-mod", Dir: dir, Standalone: &Standalone{GomgrDir: "/src/go mgr"}})
	require.NoError(t, err)
	assert.Equal(t, "example.com/my-mod/my-mod", p.ImportPath)
	files := map[string]string{}
	for _, f := range p.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		files[f.Path] = string(b)
	}
	assert.ElementsMatch(t, []string{".gitignore", "Makefile", "README.md", "cmd/ceph-mgr/main.go", "go.mod",
		"my-mod/README.md", "my-mod/my-mod.go", "my-mod/my-mod_test.go"}, fileNames(files))
	inTree, err := Render(Options{Name: "my-mod"})
	require.NoError(t, err)
	for _, f := range inTree {
		if f.Path != "my-mod/README.md" {
			assert.Equal(t, string(f.Data), files[f.Path], "%s is the in-tree file", f.Path)
		}
	}
	assert.Contains(t, files["cmd/ceph-mgr/main.go"], "\t_ \"example.com/my-mod/my-mod\"\n")
	assert.Contains(t, files["cmd/ceph-mgr/main.go"], "func main() { mgr.Main() }\n")
	assert.Equal(t, "module example.com/my-mod\n\ngo "+GoVersion+"\n\nrequire github.com/gomgr/gomgr v0.0.0\n\n"+
		"// Local development: build against this gomgr checkout.\nreplace github.com/gomgr/gomgr => \"/src/go mgr\"\n", files["go.mod"])
	assert.Regexp(t, regexp.MustCompile(`(?m)^run: build\n.*\n\t\./bin/ceph-mgr -i \$\(ID\) --data \./run/data --run-dir \./run$`), files["Makefile"])
	assert.Regexp(t, regexp.MustCompile(`(?m)^test: go.sum\n\t\$\(GO\) test \./\.\.\.$`), files["Makefile"])
	assert.NotContains(t, files["my-mod/README.md"], "modules/")
}

func fileNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestStandaloneTarget(t *testing.T) {
	// An empty directory is not in the way.
	dir := t.TempDir()
	_, err := Generate(Options{Name: "solo", Dir: dir, Standalone: &Standalone{}})
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "go.mod"))

	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = Generate(Options{Name: "solo", Dir: file, Standalone: &Standalone{}})
	require.ErrorContains(t, err, "is not a directory")
	_, err = Generate(Options{Name: "solo", Dir: filepath.Join(t.TempDir(), "a", "b"), Standalone: &Standalone{}})
	require.ErrorContains(t, err, "no such file or directory", "the parent must exist")
	_, err = Generate(Options{Name: "solo", Dir: t.TempDir(), Standalone: &Standalone{GomgrDir: "rel/path"}})
	require.ErrorContains(t, err, "not an absolute path")
	_, err = Generate(Options{Name: "solo", Dir: t.TempDir(), Standalone: &Standalone{ModulePath: "github.com/gomgr/gomgr/contrib/x"}})
	require.ErrorContains(t, err, "gomgr's own")
}

func TestRequireVersion(t *testing.T) {
	for in, want := range map[string]string{
		"0.1.0-dev": "v0.0.0", "1.2.3": "v1.2.3", "v1.2.3": "v1.2.3", "v1.2.3-rc.1": "v1.2.3-rc.1",
		"(devel)": "v0.0.0", "": "v0.0.0", "v0.0.0-20260101000000-0123456789ab": "v0.0.0",
		"v1.2.3+dirty": "v0.0.0", "v01.2.3": "v0.0.0", "1.2": "v0.0.0",
	} {
		assert.Equal(t, want, RequireVersion(in), in)
	}
}

func TestCheckModulePath(t *testing.T) {
	for mp, bad := range map[string]string{
		"example.com/x": "", "x": "", "github.com/me/my-mgr_v2~": "",
		"": "empty", "a//b": "empty", "/a": "empty", "a/": "empty", "a/../b": "dot", ".a": "dot",
		"a b": "character", "a\nb": "character", "github.com/gomgr/gomgr": "gomgr's own",
	} {
		err := CheckModulePath(mp)
		if bad == "" {
			assert.NoError(t, err, mp)
		} else {
			assert.ErrorContains(t, err, bad, mp)
		}
	}
}

// TestGoVersion: the generated go line is gomgr's own.
func TestGoVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	require.NotNil(t, m)
	assert.Equal(t, string(m[1]), GoVersion)
}

func TestGomgrCheckout(t *testing.T) {
	dir := filepath.Dir(fakeRepo(t))
	got, err := GomgrCheckout(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	other := t.TempDir()
	_, err = GomgrCheckout(other)
	require.ErrorContains(t, err, "go.mod")
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/x\n"), 0o644))
	_, err = GomgrCheckout(other)
	require.ErrorContains(t, err, "is not a gomgr checkout")
}
