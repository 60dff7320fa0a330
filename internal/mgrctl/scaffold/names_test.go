package scaffold

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckName refuses the names whose package or files would break or
// change the daemon's build, with a message saying why.
func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"main":          "package main is a command",
		"func":          "func is a Go keyword",
		"type":          "Go keyword",
		"string":        "string is a predeclared Go identifier",
		"len":           "predeclared",
		"nil":           "predeclared",
		"any":           "predeclared",
		"iota":          "predeclared",
		"x_test":        "x_test ends in _test",
		"x-test":        "x_test ends in _test",
		"foo_windows":   "foo_windows ends in _windows, a GOOS/GOARCH suffix",
		"x_amd64":       "x_amd64 ends in _amd64",
		"a_linux_arm64": "ends in _arm64",
		"b_zos":         "ends in _zos",
		"c-wasip1":      "ends in _wasip1",
		"d_mips64p32le": "ends in _mips64p32le",
		"all":           "reserved",
		"Bad":           "use lower case letters",
		"testdata":      "leaves directories named testdata out of ./...",
		"vendor":        "directory named vendor for vendored packages",
		"_x":            "starting with a letter",
		".x":            "starting with a letter",
		"_":             "starting with a letter",
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckName(name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
			assert.Contains(t, err.Error(), strconv.Quote(name))
		})
	}
	for _, name := range []string{"hello", "my-mod", "linux", "windows", "amd64", "test", "x_tests", "testing", "mainly", "x_linuxy", "testdata2", "x_testdata", "vendored"} {
		assert.NoError(t, CheckName(name), name)
	}
}

// TestAcceptedNamesBuildEverywhere checks CheckName against go/build
// itself: for names it accepts, NAME.go is an ordinary file and it and
// NAME_test.go build for every GOOS/GOARCH pair of the toolchain.
func TestAcceptedNamesBuildEverywhere(t *testing.T) {
	pairs := distList(t)
	dir := t.TempDir()
	var names []string
	for _, base := range []string{"x", "my-mod", "linux", "amd64", "test"} {
		names = append(names, base)
		for _, s := range []string{"test", "tests", "main"} {
			names = append(names, base+"_"+s)
		}
		for goos := range KnownOS {
			names = append(names, base+"_"+goos)
		}
		for arch := range KnownArch {
			names = append(names, base+"_"+arch, base+"_linux_"+arch)
		}
	}
	refused := 0
	for _, name := range names {
		if CheckName(name) != nil {
			refused++
			continue
		}
		for _, f := range []string{name + ".go", name + "_test.go"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("package x\n"), 0o644))
			for _, p := range pairs {
				ctx := build.Default
				ctx.GOOS, ctx.GOARCH = p[0], p[1]
				ok, err := ctx.MatchFile(dir, f)
				require.NoError(t, err)
				assert.True(t, ok, "%s builds for %s/%s", f, p[0], p[1])
			}
		}
		assert.False(t, strings.HasSuffix(name+".go", "_test.go"), name)
	}
	assert.Greater(t, refused, len(names)/2, "most of the names are suffixed ones")
}

// TestKnownSystems keeps KnownOS and KnownArch in line with the
// toolchain: every pair of `go tool dist list` is known, and the lists
// equal go/build's own (internal/syslist in GOROOT).
func TestKnownSystems(t *testing.T) {
	for _, p := range distList(t) {
		assert.True(t, KnownOS[p[0]], "GOOS %s of go tool dist list is in KnownOS", p[0])
		assert.True(t, KnownArch[p[1]], "GOARCH %s of go tool dist list is in KnownArch", p[1])
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	src := filepath.Join(strings.TrimSpace(string(goroot)), "src", "internal", "syslist", "syslist.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	require.NoError(t, err, "go/build's lists of known systems")
	lists := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, e := range lit.Elts {
			kv := e.(*ast.KeyValueExpr)
			k, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
			require.NoError(t, err)
			lists[vs.Names[0].Name] = append(lists[vs.Names[0].Name], k)
		}
		return false
	})
	require.NotEmpty(t, lists["KnownOS"])
	require.NotEmpty(t, lists["KnownArch"])
	assert.Equal(t, sorted(lists["KnownOS"]), keys(KnownOS))
	assert.Equal(t, sorted(lists["KnownArch"]), keys(KnownArch))
}

// distList returns the GOOS/GOARCH pairs of `go tool dist list`.
func distList(t *testing.T) [][2]string {
	t.Helper()
	out, err := exec.Command("go", "tool", "dist", "list").Output()
	require.NoError(t, err, "go tool dist list")
	var pairs [][2]string
	for _, l := range strings.Fields(string(out)) {
		goos, goarch, ok := strings.Cut(l, "/")
		require.True(t, ok, l)
		pairs = append(pairs, [2]string{goos, goarch})
	}
	require.NotEmpty(t, pairs)
	return pairs
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}
