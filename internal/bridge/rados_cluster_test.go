package bridge

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/testutil"
)

// activeMgr is the name of the cluster's active mgr ("" if none).
func activeMgr(t *testing.T, ceph func(args ...string) (string, string, int)) string {
	t.Helper()
	dump, e, rc := ceph("mgr", "dump", "-f", "json")
	require.Zero(t, rc, e)
	var mm struct {
		Active string `json:"active_name"`
	}
	require.NoError(t, json.Unmarshal([]byte(dump), &mm))
	return mm.Active
}

// checkBridgedRados checks, after the Go selftest's run used Handle.Rados
// in the real mgr: that its librados client is the mgr's (registered with
// the mgr, as self.rados registers its own, so the monitors blocklist it
// on failover), and that the notes module, unchanged, keeps its notes in
// RADOS objects there too.
func checkBridgedRados(t *testing.T, cluster *testutil.CephCluster, ceph func(args ...string) (string, string, int)) {
	t.Helper()
	// The log is the bridge process's of the active mgr of the moment:
	// enabling a module respawns the active mgr, and the monitors may make
	// the standby active meanwhile (then x comes back as the standby);
	// after a respawn the line comes once the new process is active.
	var active string
	var logData []byte
	var m [][]byte
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		if active = activeMgr(t, ceph); active != "" {
			var err error
			logData, err = os.ReadFile(filepath.Join(cluster.Dir, "run", "gomgr-bridge-"+active, "bridged.log"))
			if err != nil && !os.IsNotExist(err) {
				require.NoError(t, err)
			}
			connected := regexp.MustCompile(`msg="librados connected for the modules".* name=mgr\.` + regexp.QuoteMeta(active) + ` addrs=\S*/(\d+)`)
			m = connected.FindSubmatch(logData)
		}
		if m != nil || time.Now().After(deadline) {
			break
		}
	}
	require.NotNil(t, m, "the bridge of the active mgr (%q) connected librados as its mgr:\n%s", active, logData)
	nonce := string(m[1])
	// The mgr reports its clients in its beacons (every few seconds).
	var clients string
	registered := regexp.MustCompile(`"nonce":` + nonce + `\b`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		dump, e, rc := ceph("mgr", "dump", "-f", "json")
		require.Zero(t, rc, e)
		var mm struct {
			Clients json.RawMessage `json:"active_clients"`
		}
		require.NoError(t, json.Unmarshal([]byte(dump), &mm))
		clients = string(mm.Clients)
		if registered.MatchString(strings.ReplaceAll(clients, " ", "")) || time.Now().After(deadline) {
			break
		}
	}
	assert.Regexp(t, registered, strings.ReplaceAll(clients, " ", ""),
		"the mgr map's active_clients has the bridge's librados client (nonce %s)", nonce)

	_, e, rc := ceph("mgr", "module", "enable", "notes")
	require.Zero(t, rc, e)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, e, rc = ceph("notes", "add", "bridged", "a", "note")
		if rc == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Zero(t, rc, "notes add in the real mgr: %s", e)
	o, e, rc := ceph("notes", "get", "bridged")
	require.Zero(t, rc, e)
	assert.Equal(t, "a note", strings.TrimSpace(o))
	rados := exec.Command(testutil.NeedTool(t, "rados", "ceph-common"), "-c", cluster.Conf, "-p", ".mgr", "-N", "notes", "ls")
	r := testutil.Run(t, rados)
	require.Zero(t, r.Code, r.Stderr)
	objs := strings.Fields(r.Stdout)
	slices.Sort(objs)
	assert.Equal(t, []string{"index", "note/bridged"}, objs, "the notes are RADOS objects of the cluster")
	rados = exec.Command(testutil.NeedTool(t, "rados", "ceph-common"), "-c", cluster.Conf, "-p", ".mgr", "-N", "notes", "getxattr", "note/bridged", "author")
	r = testutil.Run(t, rados)
	require.Zero(t, r.Code, r.Stderr)
	assert.Equal(t, "mgr."+active, r.Stdout, "written by the real mgr's module")
}
