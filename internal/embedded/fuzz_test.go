package embedded

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen: whatever a database file holds, Open and Check return (an
// error or a store) without crashing, and a file that passes inspect
// never makes bbolt panic or fault while the store loads: inspect proves
// every page id and element offset bbolt follows.
func FuzzOpen(f *testing.F) {
	for _, n := range []int{0, 3, 60} {
		f.Add(fillN(f, f.TempDir(), n))
	}
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
