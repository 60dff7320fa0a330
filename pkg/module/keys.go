package module

import (
	"fmt"
	"syscall"
	"unicode/utf8"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The rules on KV and configuration keys, in one place for every path
// that reaches the stores: the daemon's config-key and config commands
// (internal/daemon), LocalMonCommand (the monitor commands of a backend
// without monitors), and a module's Handle (its store and option setters,
// and the monitor commands it sends, which reach the real monitors when
// the daemon is attached to a cluster).
//
//   - Keys must be valid UTF-8: encoding/json, the ceph CLI and the
//     transports would turn an invalid byte into U+FFFD, so "k\xff" and
//     "k\xfe" would be one key to every client. Writing such a key is
//     refused with -EINVAL; values may hold any bytes. Reading or removing
//     one is allowed, so a key an older daemon let in can be cleaned up.
//   - Keys under ReservedKVPrefix hold the daemon's own state: they read
//     as absent (get, exists, ls, dump) and writing or removing one is
//     refused with -EPERM.

// CheckKey returns nil for a valid key and an -EINVAL error naming it
// (what says which argument: "key", "name") for one that is not valid
// UTF-8.
func CheckKey(what, key string) error {
	if utf8.ValidString(key) {
		return nil
	}
	return objectformat.NewErrorResponseCode(fmt.Sprintf("invalid UTF-8 in %s %+q: keys must be valid UTF-8 (values may hold any bytes)", what, key), -int(syscall.EINVAL))
}

// RefuseReserved returns the -EPERM refusal of op ("config-key set",
// "config-key rm", ...) on a key under ReservedKVPrefix, nil for any other
// key.
func RefuseReserved(op, key string) error {
	if !IsReservedKey(key) {
		return nil
	}
	return objectformat.NewErrorResponseCode(fmt.Sprintf("%s '%s': keys under '%s' hold the daemon's own state and cannot be changed with config-key (use `mgr module enable|disable` for the enabled module list)",
		op, key, ReservedKVPrefix), -int(syscall.EPERM))
}

// CheckKVWrite is the check of a config-key write (op "config-key set",
// "config-key put") of key: valid UTF-8, not reserved.
func CheckKVWrite(op, key string) error {
	if err := CheckKey("key", key); err != nil {
		return err
	}
	return RefuseReserved(op, key)
}

// VisibleKV reads key from kv as the config-key commands show it: a
// reserved key reads as absent.
func VisibleKV(kv Store, key string) (string, bool) {
	if IsReservedKey(key) {
		return "", false
	}
	return kv.Get(key)
}

// VisibleKVList lists the entries of kv under prefix that the config-key
// commands show (the reserved keys left out).
func VisibleKVList(kv Store, prefix string) map[string]string {
	out := kv.List(prefix)
	for k := range out {
		if IsReservedKey(k) {
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

// kvCommandRule applies the key rules to a config-key monitor command;
// refused is true when res is the answer (the command must not run).
func kvCommandRule(cmd map[string]any) (res objectformat.Result, refused bool) {
	prefix, _ := cmd["prefix"].(string)
	key, _ := cmd["key"].(string)
	switch prefix {
	case "config-key set", "config-key put":
		if err := CheckKVWrite(prefix, key); err != nil {
			return objectformat.ResultOf(err), true
		}
	case "config-key rm", "config-key del":
		if err := RefuseReserved(prefix, key); err != nil {
			return objectformat.ResultOf(err), true
		}
	case "config-key get":
		if IsReservedKey(key) {
			return kvAbsent(key), true
		}
	case "config-key exists":
		if IsReservedKey(key) {
			return kvNotExists(key), true
		}
	}
	return objectformat.Result{}, false
}
