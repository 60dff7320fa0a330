package scaffold

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// allGo is modules/all/all.go as the repository has it.
const allGo = `// Package all compiles the built-in modules into a binary.
package all

import (
	// gomgr:modules:begin
	_ "github.com/gomgr/gomgr/modules/hello"
	_ "github.com/gomgr/gomgr/modules/zeta"
	// gomgr:modules:end
)
`

// combos are the flag combinations with one golden file each.
func combos() []Options {
	var out []Options
	for i := 0; i < 8; i++ {
		out = append(out, Options{Name: "antigravity", Serve: i&1 != 0, Options: i&2 != 0, Eval: i&4 != 0})
	}
	return out
}

func goldenName(o Options) string {
	name := "antigravity"
	if o.Serve {
		name += "_serve"
	}
	if o.Options {
		name += "_options"
	}
	if o.Eval {
		name += "_eval"
	}
	return filepath.Join("testdata", "golden", name+".txtar")
}

// fakeRepo makes a gomgr repository skeleton and returns its modules dir.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/gomgr/gomgr\n\ngo 1.26.0\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "modules", "all"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "modules", "all", "all.go"), []byte(allGo), 0o644))
	return filepath.Join(root, "modules")
}

// TestGolden renders every flag combination into a fake repository and
// compares the module's files and the updated all.go with a txtar golden
// file (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, o := range combos() {
		t.Run(strings.TrimSuffix(filepath.Base(goldenName(o)), ".txtar"), func(t *testing.T) {
			o.Dir = fakeRepo(t)
			p, err := NewPlan(o)
			require.NoError(t, err)
			require.NotNil(t, p.AllGo)
			assert.Equal(t, "github.com/gomgr/gomgr/modules/antigravity", p.ImportPath)
			ar := &txtar.Archive{Comment: []byte("mgrctl new-module golden output; regenerate with go test ./internal/mgrctl/scaffold -update\n")}
			for _, f := range append(p.Files, *p.AllGo) {
				ar.Files = append(ar.Files, txtar.File{Name: f.Path, Data: f.Data})
			}
			got := string(txtar.Format(ar))
			path := goldenName(o)
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create the golden file")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestGenerateWritesAndIsIdempotent(t *testing.T) {
	dir := fakeRepo(t)
	p, err := Generate(Options{Name: "my-mod", Dir: dir, Eval: true})
	require.NoError(t, err)
	for _, f := range []string{"my-mod/my-mod.go", "my-mod/my-mod_test.go", "my-mod/README.md"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	// The eval command comes from pkg/evalcmd: no eval code of its own.
	assert.NoFileExists(t, filepath.Join(dir, "my-mod", "eval.go"))
	src, err := os.ReadFile(filepath.Join(dir, "my-mod", "my-mod.go"))
	require.NoError(t, err)
	assert.Contains(t, string(src), "package my_mod\n")
	assert.Equal(t, 1, strings.Count(string(src), "evalcmd."), "one line of Info adds the eval mixin")
	assert.NotContains(t, string(src), "m.eval", "the module holds no eval state")
	all, err := os.ReadFile(filepath.Join(dir, "all", "all.go"))
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(allGo, "\t_ \"github.com/gomgr/gomgr/modules/zeta\"",
		"\t_ \"github.com/gomgr/gomgr/modules/my-mod\"\n\t_ \"github.com/gomgr/gomgr/modules/zeta\"", 1), string(all))
	assert.Len(t, p.Files, 3)

	_, err = Generate(Options{Name: "my-mod", Dir: dir})
	require.ErrorContains(t, err, "already exists (use --force")

	p, err = Generate(Options{Name: "my-mod", Dir: dir, Eval: true, Force: true})
	require.NoError(t, err)
	assert.Empty(t, p.Files, "every file is as generated")
	assert.Len(t, p.Unchanged, 3)
	assert.Nil(t, p.AllGo, "all.go already imports the module")
	assert.True(t, p.HasAllGo)
	all2, err := os.ReadFile(filepath.Join(dir, "all", "all.go"))
	require.NoError(t, err)
	assert.Equal(t, string(all), string(all2))
}

// TestForceKeepsEdits: --force adds missing files, leaves identical ones
// and refuses (writing nothing) when one differs; --overwrite replaces it.
// In the tree and standalone.
func TestForceKeepsEdits(t *testing.T) {
	for name, base := range map[string]func(t *testing.T) (Options, string){
		"in tree": func(t *testing.T) (Options, string) {
			dir := fakeRepo(t)
			return Options{Name: "my-mod", Dir: dir}, filepath.Join(dir, "my-mod")
		},
		"standalone": func(t *testing.T) (Options, string) {
			dir := filepath.Join(t.TempDir(), "mine")
			return Options{Name: "my-mod", Dir: dir, Standalone: &Standalone{}}, dir
		},
	} {
		t.Run(name, func(t *testing.T) {
			o, root := base(t)
			_, err := Generate(o)
			require.NoError(t, err)
			code := filepath.Join(root, "my-mod", "my-mod.go")
			if o.Standalone == nil {
				code = filepath.Join(root, "my-mod.go")
			}
			readme := filepath.Join(filepath.Dir(code), "README.md")
			edited := []byte("package my_mod // the author's edit\n")
			require.NoError(t, os.WriteFile(code, edited, 0o644))
			require.NoError(t, os.Remove(readme))

			_, err = Generate(o)
			require.ErrorContains(t, err, "already exists (use --force")
			o.Force = true
			_, err = Generate(o)
			var de *DifferError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, []string{"my-mod/my-mod.go"}, de.Paths)
			assert.ErrorContains(t, err, "use --overwrite")
			assert.NoFileExists(t, readme, "nothing written on refusal")
			got, err := os.ReadFile(code)
			require.NoError(t, err)
			assert.Equal(t, string(edited), string(got), "the edit is kept")

			// Other flags change the generated file: refused too.
			o.Serve = true
			_, err = Generate(o)
			require.ErrorAs(t, err, &de)
			o.Serve = false

			// Without the edit, --force adds only the missing README.
			o.Overwrite = true
			_, err = Generate(o)
			require.NoError(t, err)
			got, err = os.ReadFile(code)
			require.NoError(t, err)
			assert.NotEqual(t, string(edited), string(got), "--overwrite replaced it")
			require.NoError(t, os.Remove(readme))
			o.Overwrite = false
			p, err := Generate(o)
			require.NoError(t, err)
			require.Len(t, p.Files, 1)
			assert.Equal(t, "my-mod/README.md", p.Files[0].Path)
			assert.FileExists(t, readme)
		})
	}
}

// TestNothingWrittenOnFailure checks that failures leave the tree as it
// was.
func TestNothingWrittenOnFailure(t *testing.T) {
	for name, tc := range map[string]struct {
		opts   Options
		allGo  string
		errMsg string
	}{
		"bad name":     {Options{Name: "Bad"}, allGo, "invalid module name \"Bad\": use lower case letters"},
		"leading dash": {Options{Name: "-x"}, allGo, "invalid module name"},
		"reserved":     {Options{Name: "all"}, allGo, "reserved"},
		"keyword":      {Options{Name: "func"}, allGo, "Go keyword"},
		"no markers":   {Options{Name: "good"}, "package all\n", "no \"// gomgr:modules:begin\""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := fakeRepo(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "all", "all.go"), []byte(tc.allGo), 0o644))
			tc.opts.Dir = dir
			_, err := Generate(tc.opts)
			require.ErrorContains(t, err, tc.errMsg)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "only all/ remains")
			got, err := os.ReadFile(filepath.Join(dir, "all", "all.go"))
			require.NoError(t, err)
			assert.Equal(t, tc.allGo, string(got))
		})
	}
}

func TestAddImport(t *testing.T) {
	out, changed, err := AddImport([]byte(allGo), "github.com/gomgr/gomgr/modules/alpha")
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Contains(t, string(out), "// gomgr:modules:begin\n\t_ \"github.com/gomgr/gomgr/modules/alpha\"\n\t_ \"github.com/gomgr/gomgr/modules/hello\"\n")
	again, changed, err := AddImport(out, "github.com/gomgr/gomgr/modules/alpha")
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, string(out), string(again))

	// An unsorted, duplicated block is normalised.
	messy := strings.Replace(allGo, "\t_ \"github.com/gomgr/gomgr/modules/hello\"\n",
		"\t_ \"github.com/gomgr/gomgr/modules/zeta\"\n\n\t_ \"github.com/gomgr/gomgr/modules/hello\"\n", 1)
	out, _, err = AddImport([]byte(messy), "github.com/gomgr/gomgr/modules/hello")
	require.NoError(t, err)
	assert.Equal(t, allGo, string(out))

	_, _, err = AddImport([]byte("package all\n// gomgr:modules:end\n// gomgr:modules:begin\n"), "x")
	require.Error(t, err)
}

func TestNoAllGo(t *testing.T) {
	dir := t.TempDir()
	p, err := Generate(Options{Name: "solo", Dir: dir})
	require.NoError(t, err)
	assert.Nil(t, p.AllGo)
	assert.FileExists(t, filepath.Join(dir, "solo", "solo.go"))
}

func TestFindModulesDir(t *testing.T) {
	dir := fakeRepo(t)
	deep := filepath.Join(dir, "all")
	got, err := FindModulesDir(deep)
	require.NoError(t, err)
	assert.Equal(t, dir, got)
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/x\n"), 0o644))
	_, err = FindModulesDir(other)
	require.ErrorContains(t, err, "not inside the gomgr repository")
}
