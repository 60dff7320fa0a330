package repocheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientsDoNotLinkTheDaemon: mgrctl and the gomgr-rados helper are
// small clients; they share contracts with the daemon through leaf
// packages (internal/api, internal/cephconn, internal/modname) and must not
// link the daemon, its store, the module runtime, the eval interpreter or
// the Prometheus exposition libraries (modules/prometheus).
// (internal/clusterbackend imported internal/daemon for three types, so
// both linked the daemon and bbolt, and mgrctl was 15.7 MB.)
func TestClientsDoNotLinkTheDaemon(t *testing.T) {
	top := root(t)
	forbidden := []string{
		"github.com/gomgr/gomgr/internal/daemon",
		"github.com/gomgr/gomgr/internal/embedded",
		"github.com/gomgr/gomgr/internal/clusterbackend",
		"github.com/gomgr/gomgr/internal/modhost",
		"github.com/gomgr/gomgr/internal/cmdroute",
		"github.com/gomgr/gomgr/pkg/clicommand",
		"github.com/gomgr/gomgr/pkg/module",
		"github.com/gomgr/gomgr/pkg/evalsandbox",
		"go.etcd.io/bbolt",
		"go.starlark.net",
		"gonum.org/v1/plot", // make bench's plots only
		// modules/prometheus' exposition (and its protobuf) only
		"github.com/prometheus/client_golang",
		"github.com/prometheus/common",
		"github.com/prometheus/client_model",
		"google.golang.org/protobuf",
	}
	for _, cmd := range []string{"./cmd/mgrctl", "./cmd/gomgr-rados"} {
		t.Run(cmd, func(t *testing.T) {
			c := exec.Command("go", "list", "-deps", cmd)
			c.Dir = top
			c.Env = append(os.Environ(), "GOFLAGS=-tags=pacific")
			out, err := c.Output()
			require.NoError(t, err, "go list -deps %s", cmd)
			deps := strings.Fields(string(out))
			require.Contains(t, deps, "github.com/gomgr/gomgr/pkg/objectformat", "the listing is of the real graph")
			for _, dep := range deps {
				for _, f := range forbidden {
					assert.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "%s links %s", cmd, dep)
				}
			}
		})
	}
}
