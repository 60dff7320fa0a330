// Package privdir keeps the daemon's files out of other local users'
// reach: it creates and verifies private directories (the run directory
// with the sockets, the data directory with the store), opens files
// without following symbolic links, and picks default locations that no
// other user can claim first.
//
// A directory is private when it is owned by the effective user, is not
// writable by group or others, and every directory above it is owned by
// root or that user and, if others may write to it, has the sticky bit
// (as /tmp does), so nobody else can rename or replace any part of the
// path. This is the rule OpenSSH's StrictModes applies to ~/.ssh, with one
// allowance: group write permission is fine when the group is the user's
// private group (Debian's adduser gives each user one, with umask 002).
package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoDefault is returned by DefaultRunDir when no safe default exists.
var ErrNoDefault = errors.New("no safe default run directory: $XDG_RUNTIME_DIR is not set, and a directory under the shared /tmp could be created first by another user; pass --run-dir DIR (a directory only you can write)")

// DefaultRunDir is where ceph-mgr puts its sockets unless told otherwise,
// and where mgrctl looks for them: $XDG_RUNTIME_DIR/gomgr (a per-user
// directory the login manager creates 0700), /run/gomgr for root, and
// otherwise nothing (ErrNoDefault).
func DefaultRunDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "gomgr"), nil
	}
	if os.Geteuid() == 0 {
		return "/run/gomgr", nil
	}
	return "", ErrNoDefault
}

// Ensure creates dir (and missing parents) with mode 0700 if it does not
// exist, then checks that it is private (see Check). Nothing is created
// below a directory that fails the checks: the deepest existing directory
// on the path is checked first. what names the directory in errors ("run
// directory", "data directory").
func Ensure(what, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: no path given", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	var missing []string
	base := abs
	for {
		if _, err := os.Lstat(base); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %s: %w", what, dir, err)
		}
		missing = append(missing, filepath.Base(base))
		base = filepath.Dir(base)
	}
	if len(missing) > 0 {
		uid := os.Geteuid()
		real, err := resolve(base, uid)
		if err == nil {
			err = checkChain(real, uid)
		}
		if err != nil {
			return fmt.Errorf("%s %s: refusing to create it: %w", what, dir, err)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			real = filepath.Join(real, missing[i])
			// EEXIST: someone made it since we looked; Check judges it.
			if err := os.Mkdir(real, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create %s: %w", what, err)
			}
		}
	}
	return Check(what, dir)
}

// Check verifies that dir is private: a directory owned by the effective
// user with no group or other write permission, below directories that
// only root or the user can change (others' write access is tolerated
// only with the sticky bit). Symbolic links in the path are followed only
// if root or the user owns them and their directory passes the same test,
// so nobody else can redirect the path later.
func Check(what, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	uid := os.Geteuid()
	real, err := resolve(abs, uid)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	st, err := lstat(real)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	mode := fs.FileMode(st.Mode & 0o7777)
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		return fmt.Errorf("%s %s is not a directory", what, dir)
	case int(st.Uid) != uid:
		return fmt.Errorf("%s %s is owned by uid %d, not by this user (uid %d): refusing to use it; pass a directory you own (mode 0700)", what, dir, st.Uid, uid)
	case othersMayWrite(st):
		return fmt.Errorf("%s %s is writable by group or others (mode %04o): refusing to use it; run chmod go-w %s, or pass a private directory (mode 0700)", what, dir, mode, dir)
	}
	if err := checkChain(filepath.Dir(real), uid); err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	return nil
}

// checkChain checks dir and every directory above it: owned by root or
// uid, and not writable by others unless sticky.
func checkChain(dir string, uid int) error {
	for p := dir; ; p = filepath.Dir(p) {
		st, err := lstat(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(st.Mode & 0o7777)
		if int(st.Uid) != 0 && int(st.Uid) != uid {
			return fmt.Errorf("%s is owned by uid %d, who could replace what is in it: refusing to use it", p, st.Uid)
		}
		if othersMayWrite(st) && st.Mode&syscall.S_ISVTX == 0 {
			return fmt.Errorf("%s is writable by group or others without the sticky bit (mode %04o), so another user could replace what is in it: refusing to use it", p, mode)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// maxLinks bounds the symbolic links followed while resolving a path
// (Linux's own limit).
const maxLinks = 40

// resolve follows the symbolic links of an absolute path, one component
// at a time, accepting only links that root or uid owns in directories
// that pass checkChain.
func resolve(path string, uid int) (string, error) {
	resolved := "/"
	rest := strings.Split(path, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		st, err := lstat(next)
		if err != nil {
			return "", err
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
			resolved = next
			continue
		}
		if int(st.Uid) != 0 && int(st.Uid) != uid {
			return "", fmt.Errorf("%s is a symbolic link owned by uid %d, who could redirect it: refusing to follow it", next, st.Uid)
		}
		if err := checkChain(resolved, uid); err != nil {
			return "", fmt.Errorf("symbolic link %s: %w", next, err)
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: %w", path, syscall.ELOOP)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return resolved, nil
}

// othersMayWrite reports whether someone other than the owner may write
// to the file: others' write bit, or the group's for any group but the
// user's private group (the group of the same name that is the user's
// primary group, as Debian's adduser makes them; umask 002 is the usual
// companion, so group-writable directories are common and harmless there).
func othersMayWrite(st *unix.Stat_t) bool {
	if st.Mode&0o002 != 0 {
		return true
	}
	return st.Mode&0o020 != 0 && !(int(st.Uid) == os.Geteuid() && privateGroup(st.Gid))
}

var upg struct {
	once sync.Once
	gid  uint32
	ok   bool
}

// privateGroup reports whether gid is the effective user's private group.
func privateGroup(gid uint32) bool {
	upg.once.Do(func() {
		u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
		if err != nil {
			return
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil || g.Name != u.Username {
			return
		}
		n, err := strconv.ParseUint(g.Gid, 10, 32)
		upg.gid, upg.ok = uint32(n), err == nil
	})
	return upg.ok && gid == upg.gid
}

func lstat(path string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// OpenFile opens path like os.OpenFile but never follows a symbolic link
// in its last component (O_NOFOLLOW) and refuses anything that is not a
// regular file (a FIFO or device planted there), without blocking on it.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("open %s: is a symbolic link; refusing to follow it", path)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file (%s); refusing to use it", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("open %s: owned by uid %d, not by this user (uid %d); refusing to use it", path, st.Uid, os.Geteuid())
	}
	// O_NONBLOCK only guarded the open; regular files ignore it, but clear
	// it so the descriptor behaves as usual.
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

// CheckNotSymlink returns an error if path exists and is a symbolic link
// (or anything but a regular file); a missing path is fine.
func CheckNotSymlink(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; refusing to follow it", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s); refusing to use it", path, fi.Mode().Type())
	}
	return nil
}

// MkdirPrivate makes sure dir/name is a real directory (not a symbolic
// link) with mode 0700, creating it if needed, and returns its path.
func MkdirPrivate(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create %s: %w", p, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory (%s); refusing to use it", p, fi.Mode().Type())
	}
	return p, nil
}
