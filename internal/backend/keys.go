package backend

import (
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// VisibleKV reads key from kv as the config-key commands show it: a
// reserved key reads as absent.
func VisibleKV(kv Store, key string) (string, bool) {
	if kvkeys.IsReservedKey(key) {
		return "", false
	}
	return kv.Get(key)
}

// VisibleKVList lists the entries of kv under prefix that the config-key
// commands show (the reserved keys left out).
func VisibleKVList(kv Store, prefix string) map[string]string {
	out := kv.List(prefix)
	for k := range out {
		if kvkeys.IsReservedKey(k) {
			delete(out, k)
		}
	}
	return out
}

// kvAbsent is the monitor's reply to config-key get of a missing key.
func kvAbsent(key string) objectformat.Result {
	return objectformat.Failed(syscall.ENOENT, fmt.Sprintf("error obtaining '%s': (2) No such file or directory", key))
}

// kvNotExists is the monitor's reply to config-key exists of a missing key.
func kvNotExists(key string) objectformat.Result {
	return objectformat.Failed(syscall.ENOENT, fmt.Sprintf("key '%s' doesn't exist", key))
}

// KVCommandRule applies the key rules to a config-key monitor command;
// refused is true when res is the answer (the command must not run).
func KVCommandRule(cmd map[string]any) (res objectformat.Result, refused bool) {
	prefix, _ := cmd["prefix"].(string)
	key, _ := cmd["key"].(string)
	switch prefix {
	case "config-key set", "config-key put":
		if err := kvkeys.CheckKVWrite(prefix, key); err != nil {
			return objectformat.ResultOf(err), true
		}
	case "config-key rm", "config-key del":
		if err := kvkeys.RefuseReserved(prefix, key); err != nil {
			return objectformat.ResultOf(err), true
		}
	case "config-key get":
		if kvkeys.IsReservedKey(key) {
			return kvAbsent(key), true
		}
	case "config-key exists":
		if kvkeys.IsReservedKey(key) {
			return kvNotExists(key), true
		}
	}
	return objectformat.Result{}, false
}
