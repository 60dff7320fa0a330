package embedded

import (
	"context"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// cluster answers cluster-state questions from the embedded state.
type cluster struct{ b *Backend }

func (c cluster) FSID() string            { return c.b.fsid }
func (c cluster) HaveMonConnection() bool { return false }

// Get answers from backend.EmptyClusterMap: skeletons of the maps of a
// cluster with no daemons, marked "gomgr_embedded". "config",
// "config_options", "health" and "mgr_map" are the module runtime's (see
// internal/modhost).
func (c cluster) Get(_ context.Context, name string) (any, error) {
	return backend.EmptyClusterMap(name, c.b.fsid), nil
}

// corrupt is the -EIO error for a monitor command that reads one key
// whose stored value fails its checksum.
func (c cluster) corrupt(cmd map[string]any) error {
	str := func(k string) string { s, _ := cmd[k].(string); return s }
	switch cmd["prefix"] {
	case "config-key get", "config-key exists":
		return c.b.kv.Corrupt(str("key"))
	case "config get":
		return c.b.config.Corrupt(str("key"))
	}
	return nil
}

// Command runs the monitor commands that make sense without monitors
// (config and config-key on the local database, see
// backend.LocalMonCommand) and fails all others with -ENOTCONN. Reading a
// key whose stored value fails its checksum fails with -EIO.
func (c cluster) Command(ctx context.Context, target module.Target, cmd map[string]any, inbuf []byte) objectformat.Result {
	if target.Type == "mon" {
		if err := c.corrupt(cmd); err != nil {
			return objectformat.ResultOf(err)
		}
		if res, ok := backend.LocalMonCommand(ctx, c.b.config, c.b.kv, cmd, inbuf); ok {
			return res
		}
	}
	return backend.NoMonitor(target, cmd)
}
