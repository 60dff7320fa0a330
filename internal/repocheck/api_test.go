package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authorAPI is every exported top-level name of pkg/module: what a module
// author sees. The module runtime (Manager, its Config and Registry), the
// backend contracts (Backend, Store, Cluster, MemoryBackend...) and the
// daemon's health report live in internal packages; a name added here is
// a decision about the authors' API.
var authorAPI = []string{
	"Addr", "Bool", "CommandResult", "Commander", "ConfigNotifier", "ErrMethodNotFound", "ErrModuleNotFound",
	"Exporter", "Export", "Fields", "Float", "Handle", "HealthCheck", "HealthErr", "HealthOK", "HealthWarn", "Info",
	"Int", "LegacyCommand", "LegacyCommander", "LevelAdvanced", "LevelBasic", "LevelCritical",
	"LevelDev", "MaxFieldsDepth", "MaxGetMany", "Mixin", "Module", "MonCommandError", "NewOptions", "Notification", "Notifier", "NotifyClog", "NotifyCommand", "NotifyFSMap",
	"NotifyHealth", "NotifyMgrMap", "NotifyMonMap", "NotifyOSDMap", "NotifyPGSummary", "NotifyType",
	"Option", "OptionLevel", "OptionType", "Register", "RemoteError", "RemoteFunc", "ReservedPrefixes",
	"Secs", "Server", "SeverityError", "SeverityWarning", "Shutdowner", "Size", "StandbyHandle",
	"StandbyModule", "Str", "Target", "TypedConfigNotifier", "TypedOptions", "UUID", "Uint", "ValidName",
	// perf counters (perf.go)
	"PerfCounterCounter", "PerfCounterHistogram", "PerfCounterLongRunAvg", "PerfCounterTime", "PerfCounterU64",
	"PerfHistoryLen", "PerfUnitBytes", "PerfUnitNone", "PrioCritical", "PrioDebugOnly", "PrioInteresting",
	"PrioUninteresting", "PrioUseful",
	// the typed perf counters (perfcounters.go) and OSD perf queries (osdperf.go)
	"DaemonPerf", "PerfCounter", "PerfCounterInfo", "PerfCountersFromPython", "PerfCountersToPython",
	"ErrOSDPerfQueryUnsupported", "OSDPerfCounters", "OSDPerfGroup", "OSDPerfLimit", "OSDPerfQuery", "OSDPerfSubKey",
	// Handle.Rados (Python's self.rados).
	"IOContext", "Rados", "RadosAllNamespaces", "RadosMaxList", "RadosMaxObjectSize", "RadosObject",
	"RadosObjectStat", "RadosPool", "RadosPoolStats",
}

// TestModuleShowsOnlyTheAuthorsAPI: `go doc ./pkg/module` lists the
// authors' names and nothing of the host's.
func TestModuleShowsOnlyTheAuthorsAPI(t *testing.T) {
	names := exportedNames(t, filepath.Join(root(t), "pkg", "module"))
	want := slices.Clone(authorAPI)
	slices.Sort(want)
	require.Equal(t, want, names, "pkg/module's exported names (update authorAPI only for a name authors need)")
}

// TestPublicPackagesDoNotExposeInternalTypes: no exported declaration of
// a pkg/ package names a type of an internal package, which an author
// could hold but not name or read the docs of.
func TestPublicPackagesDoNotExposeInternalTypes(t *testing.T) {
	top := root(t)
	entries, err := os.ReadDir(filepath.Join(top, "internal"))
	require.NoError(t, err)
	var internal []string
	for _, e := range entries {
		if e.IsDir() {
			internal = append(internal, regexp.QuoteMeta(e.Name()))
		}
	}
	ref := regexp.MustCompile(`\b(` + strings.Join(internal, "|") + `)\.[A-Z]\w*`)
	list := exec.Command("go", "list", "-f", "{{.Dir}}", "./pkg/...")
	list.Dir = top
	out, err := list.Output()
	require.NoError(t, err)
	for _, dir := range strings.Fields(string(out)) {
		doc := exec.Command("go", "doc", "-all", ".")
		doc.Dir = dir
		text, err := doc.Output()
		if err != nil {
			continue // no exported API (a main-only or test-only package)
		}
		for _, line := range strings.Split(string(text), "\n") {
			if m := ref.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				assert.Failf(t, "internal type in a public API", "%s: %s (in %q)", dir, m, strings.TrimSpace(line))
			}
		}
	}
}

// exportedNames are the exported top-level names declared by the non-test
// Go files of dir, sorted.
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}
