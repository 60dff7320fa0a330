package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProgressAndPlots(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, 2)
	p.section("round trips")
	p.step("1 client")
	p.series("throughput", "gomgr", 1, 60000)
	p.series("throughput", "gomgr", 16, 90000)
	p.series("throughput", "echo floor", 1, 120000)
	p.section("formatting")
	p.series("formatting", "gomgr json", 10, 5e-6)
	require.Contains(t, out.String(), "(1/2) round trips")
	require.Contains(t, out.String(), "(2/2) formatting")
	require.Contains(t, out.String(), "1 client")

	dir := t.TempDir()
	files, err := p.writePlots(dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "bench-throughput.svg"), filepath.Join(dir, "bench-formatting.svg")}, files)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	for _, s := range []string{"gomgr", "echo floor", "concurrent clients"} {
		require.Contains(t, string(b), s)
	}
	b, err = os.ReadFile(files[1])
	require.NoError(t, err)
	require.True(t, strings.Contains(string(b), "gomgr json"))

	// No data, no file.
	empty := newProgress(&out, 1)
	files, err = empty.writePlots(t.TempDir())
	require.NoError(t, err)
	require.Empty(t, files)
}
