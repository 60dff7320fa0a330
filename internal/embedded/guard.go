package embedded

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"syscall"
)

// panicError is a panic (or a memory fault on the mapped file) inside
// bbolt, caught at this package's boundary.
type panicError struct{ value any }

func (e panicError) Error() string { return fmt.Sprintf("bbolt failed reading it: %v", e.value) }

// Unwrap makes the error an I/O error (-EIO) for command replies.
func (e panicError) Unwrap() error { return syscall.EIO }

func isPanic(err error) bool {
	var pe panicError
	return errors.As(err, &pe)
}

// guard runs fn, turning a bbolt panic, or a fault reading the mapped
// file (a page beyond its end, for instance), into an error. Every call
// into bbolt that reads pages goes through it.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return fn()
}

// howToStartOver says how to start a new store on purpose, and where to
// look first.
func howToStartOver(path string) string {
	dir := filepath.Dir(path)
	return fmt.Sprintf("ceph-mgr --check-store --data %s reports on it; to start a new, empty store on purpose, move the file aside (mv %s %s.bad) and start ceph-mgr again", dir, path, path)
}

// damaged describes a store file that cannot be used.
func damaged(path string, err error) error {
	return fmt.Errorf("%s is damaged: %w; %s", path, err, howToStartOver(path))
}

// notAStore describes a file that is not a usable store.
func notAStore(path string, err error) error {
	return fmt.Errorf("%s is not a usable gomgr store: %w; %s", path, err, howToStartOver(path))
}
