package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"

	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// LocalMonCommand answers the monitor commands that make sense without
// monitors, on local stores: config-key get/set/put/rm/del/exists/ls/list/
// dump on kv, and config get/set/rm for mgr options on config. ok is false
// for every other command. Backends without a cluster (the embedded store,
// MemoryBackend) use it so modules' MonCommand calls work the same there.
// It applies the daemon's key rules (see CheckKey and RefuseReserved): the
// daemon's own keys (ReservedKVPrefix) read as absent and cannot be
// written, and a key written must be valid UTF-8. A module's option
// values are checked against its schema before they get here, by
// Handle.MonCommand.
func LocalMonCommand(ctx context.Context, config, kv Store, cmd map[string]any, inbuf []byte) (res objectformat.Result, ok bool) {
	prefix, _ := cmd["prefix"].(string)
	str := func(k string) string { s, _ := cmd[k].(string); return s }
	if res, refused := KVCommandRule(cmd); refused {
		return res, true
	}
	switch prefix {
	case "config-key get":
		v, found := kv.Get(str("key"))
		if !found {
			return kvAbsent(str("key")), true
		}
		return objectformat.OK(v), true
	case "config-key set", "config-key put":
		val := str("val")
		if len(inbuf) > 0 {
			val = string(inbuf)
		}
		if err := kv.Set(ctx, str("key"), val); err != nil {
			return objectformat.ResultOf(err), true
		}
		return objectformat.Result{Stderr: "set " + str("key")}, true
	case "config-key rm", "config-key del":
		if err := kv.Delete(ctx, str("key")); err != nil {
			return objectformat.ResultOf(err), true
		}
		return objectformat.Result{Stderr: "key deleted"}, true
	case "config-key exists":
		if _, found := kv.Get(str("key")); !found {
			return kvNotExists(str("key")), true
		}
		return objectformat.Result{Stderr: fmt.Sprintf("key '%s' exists", str("key"))}, true
	case "config-key ls", "config-key list":
		keys := sortedKeys(VisibleKVList(kv, ""))
		b, _ := json.MarshalIndent(keys, "", "    ")
		return objectformat.Result{Stdout: b}, true
	case "config-key dump":
		b, _ := json.MarshalIndent(VisibleKVList(kv, str("key")), "", "    ")
		return objectformat.Result{Stdout: b}, true
	case "config get":
		if v, found := config.Get(str("key")); found && strings.HasPrefix(str("who"), "mgr") {
			return objectformat.OK(v + "\n"), true
		}
		return objectformat.Failed(-int(syscall.ENOENT), fmt.Sprintf("unrecognized key '%s'", str("key"))), true
	case "config set":
		if err := kvkeys.CheckKey("name", str("name")); err != nil {
			return objectformat.ResultOf(err), true
		}
		if err := config.Set(ctx, str("name"), str("value")); err != nil {
			return objectformat.ResultOf(err), true
		}
		return objectformat.Result{}, true
	case "config rm":
		if err := config.Delete(ctx, str("name")); err != nil {
			return objectformat.ResultOf(err), true
		}
		return objectformat.Result{}, true
	}
	return objectformat.Result{}, false
}

// NoMonitor is the reply of a backend without monitors to commands it
// cannot run.
func NoMonitor(target module.Target, cmd map[string]any) objectformat.Result {
	name := target.Type
	if target.ID != "" {
		name += "." + target.ID
	}
	return objectformat.Failed(-int(syscall.ENOTCONN), fmt.Sprintf(
		"no monitor connection: '%v' for %s needs a Ceph cluster, and this daemon runs on its embedded state (start it with -c ceph.conf to attach one)",
		cmd["prefix"], name))
}
