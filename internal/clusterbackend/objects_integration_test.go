package clusterbackend_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/clusterbackend"
	"github.com/gomgr/gomgr/internal/objstore/objstoretest"
	"github.com/gomgr/gomgr/internal/testutil"
)

// The object-store conformance table (the embedded store passes the same
// one, internal/embedded) against librados, through the gomgr-rados
// helper as an attached daemon uses it.
func TestClusterObjectsConformance(t *testing.T) {
	c := needCluster(t)
	b, _, err := c.attacher(clusterbackend.AttachOptions{}).Open(context.Background(), "objconf", slog.New(slog.NewTextHandler(newLogBuffer(t), nil)))
	require.NoError(t, err)
	defer b.Close()
	s := backend.ObjectStore(b)
	require.NotNil(t, s, "the attached backend has an object store")
	start := time.Now()
	objstoretest.Run(t, s, fmt.Sprintf("gomgr-conformance-%d", os.Getpid()))
	t.Logf("conformance table in %s", time.Since(start).Round(time.Millisecond))
}

// rados runs the real rados CLI against the cluster.
func (c *testCluster) rados(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.NeedTool(t, "rados", "ceph-common"), args...)
	cmd.Env = append(os.Environ(), "CEPH_CONF="+c.conf, "CEPH_KEYRING="+c.keyring)
	r := testutil.Run(t, cmd)
	require.Zero(t, r.Code, "rados %s: %s", strings.Join(args, " "), r.Stderr)
	return r.Stdout
}

// TestClusterNotes runs the notes module, unchanged from embedded
// (modules/notes' tests), attached to the cluster: its notes are RADOS
// objects the rados CLI sees, and what the CLI writes the module reads.
func TestClusterNotes(t *testing.T) {
	c := needCluster(t)
	asok := startDaemon(t, c, "nt")
	must := func(args ...string) string {
		t.Helper()
		out, stderr, rc := asok(args...)
		require.Zero(t, rc, "%s: %s", strings.Join(args, " "), stderr)
		return out
	}
	must("mgr", "module", "enable", "notes")
	pool := fmt.Sprintf("notes-%d", os.Getpid())
	must("config", "set", "mgr", "mgr/notes/pool", pool)
	require.Eventually(t, func() bool {
		out, _, _ := asok("config", "get", "mgr", "mgr/notes/pool")
		return strings.TrimSpace(out) == pool
	}, eventually, 50*time.Millisecond)
	must("notes", "add", "shopping", "milk", "and", "eggs")
	must("notes", "append", "shopping", "bread")
	require.Equal(t, "milk and eggs\nbread", strings.TrimSpace(must("notes", "get", "shopping")))
	// The admin socket's CLI prints a command's error and exits 0.
	require.Equal(t, "ERROR: (17) File exists\nnote 'shopping' exists: notes append to it, or notes rm it first\n", must("notes", "add", "shopping", "again"))

	// The cluster's view: the pool was created, the note and the index
	// are objects of namespace notes, the index an omap.
	require.Equal(t, []string{"index", "note/shopping"}, sortedLines(c.rados(t, "-p", pool, "-N", "notes", "ls")))
	require.Equal(t, "milk and eggs\nbread", c.rados(t, "-p", pool, "-N", "notes", "get", "note/shopping", "-"))
	require.Equal(t, []string{"shopping"}, sortedLines(c.rados(t, "-p", pool, "-N", "notes", "listomapkeys", "index")))
	require.Equal(t, "mgr.nt", c.rados(t, "-p", pool, "-N", "notes", "getxattr", "note/shopping", "author"))

	// A note written with the rados CLI is read by the module.
	c.rados(t, "-p", pool, "-N", "notes", "setomapval", "index", "cli", "2026-01-01T00:00:00Z")
	in := filepath.Join(t.TempDir(), "note")
	require.NoError(t, os.WriteFile(in, []byte("from the CLI"), 0o600))
	c.rados(t, "-p", pool, "-N", "notes", "put", "note/cli", in)
	require.Equal(t, "from the CLI", strings.TrimSpace(must("notes", "get", "cli")))
	var notes []struct {
		Name string `json:"name"`
		Size uint64 `json:"size"`
	}
	require.NoError(t, json.Unmarshal([]byte(must("notes", "ls")), &notes))
	require.Len(t, notes, 2)
	require.Equal(t, "cli", notes[0].Name)
	require.Equal(t, uint64(len("from the CLI")), notes[0].Size)

	must("notes", "rm", "shopping")
	require.Equal(t, []string{"index", "note/cli"}, sortedLines(c.rados(t, "-p", pool, "-N", "notes", "ls")))
}

func sortedLines(s string) []string {
	lines := strings.Fields(s)
	slices.Sort(lines)
	return lines
}
