// Package kvkeys holds the rules on KV and configuration keys that every
// path to the stores applies: valid UTF-8, and the daemon's reserved prefix.
package kvkeys

import (
	"fmt"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// ReservedKVPrefix is the part of the KV store that holds the daemon's own
// state (the enabled module list). The daemon's config-key commands hide
// it and refuse to write it; modules cannot reach it (their keys are
// mgr/<module>/..., and no module name starts with a dot).
const ReservedKVPrefix = "mgr/.gomgr/"

// IsReservedKey reports whether key is under ReservedKVPrefix.
func IsReservedKey(key string) bool { return strings.HasPrefix(key, ReservedKVPrefix) }

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
