package embedded

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpen: whatever a database file holds, Open and Check return (an
// error or a store) without crashing, and a file that passes inspect
// never makes bbolt panic or fault while the store loads: inspect proves
// every page id and element offset bbolt follows.
func FuzzOpen(f *testing.F) {
	for _, n := range []int{0, 3, 60} {
		f.Add(fillN(f, f.TempDir(), n))
	}
	f.Add(fillLong(f, f.TempDir()))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, DBName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = Check(dir, io.Discard)
		b, err := Open(dir, Options{})
		if err == nil {
			b.KV().List("")
			b.HealthChecks()
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
		if _, ierr := inspectPath(filepath.Join(dir, DBName)); ierr == nil && isPanic(err) {
			t.Fatalf("the file passed inspect, but bbolt failed on it: %v", err)
		}
	})
}

// fillLong writes a store holding a value stored out of line (in one
// chunk, the shortest there is; it replaced another) and a short one, and
// returns the database file's bytes.
func fillLong(t testing.TB, dir string) []byte {
	t.Helper()
	b, err := Open(dir, Options{})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, b.KV().Set(ctx, "short", "v"))
	require.NoError(t, b.KV().Set(ctx, "long", randomValue(inlineMax+1, 1)))
	require.NoError(t, b.KV().Set(ctx, "long", randomValue(inlineMax+2, 2)))
	require.NoError(t, b.Close())
	return usedPages(t, dir)
}
