package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomgr/gomgr/internal/privdir"
)

// fileElection elects the active daemon among those sharing a data
// directory with an exclusive flock on DATA/mgr.lock. The kernel drops the
// lock when the holder exits, even on kill -9, so a standby takes over at
// once. The active daemon's details are published in DATA/active.json.
type fileElection struct {
	dir  string
	id   string
	poll time.Duration

	mu   sync.Mutex
	f    *os.File
	lost chan struct{}
}

func newFileElection(dir, id string, poll time.Duration) *fileElection {
	return &fileElection{dir: dir, id: id, poll: poll, lost: make(chan struct{})}
}

func (e *fileElection) Campaign(ctx context.Context) error {
	path := filepath.Join(e.dir, "mgr.lock")
	f, err := privdir.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			e.mu.Lock()
			e.f = f
			e.mu.Unlock()
			_ = f.Truncate(0)
			_, _ = f.WriteAt([]byte(fmt.Sprintf("%s %d\n", e.id, os.Getpid())), 0)
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		case <-time.After(e.poll):
		}
	}
}

// Lost never fires: a held flock cannot be taken away.
func (e *fileElection) Lost() <-chan struct{} { return e.lost }

func (e *fileElection) Publish(info ActiveInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(e.dir, "active.json"), b)
}

func (e *fileElection) Active() (ActiveInfo, error) {
	var info ActiveInfo
	b, err := os.ReadFile(filepath.Join(e.dir, "active.json"))
	if err != nil {
		return info, fmt.Errorf("no active daemon has published itself: %w", err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("read active.json: %w", err)
	}
	if !processAlive(info.PID) {
		return info, fmt.Errorf("the last active daemon (mgr.%s, pid %d) is gone", info.ID, info.PID)
	}
	return info, nil
}

func (e *fileElection) Resign() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.f == nil {
		return nil
	}
	_ = os.Remove(filepath.Join(e.dir, "active.json"))
	err := e.f.Close() // closing drops the flock
	e.f = nil
	return err
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// standby registration: DATA/standby/<id> holds "<pid> <unix time>".

func standbyFile(dir, id string) string { return filepath.Join(dir, "standby", id) }

func registerStandby(dir, id string) error {
	if _, err := privdir.MkdirPrivate(dir, "standby"); err != nil {
		return err
	}
	return writeFileAtomic(standbyFile(dir, id), []byte(fmt.Sprintf("%d %d\n", os.Getpid(), time.Now().Unix())))
}

func unregisterStandby(dir, id string) { _ = os.Remove(standbyFile(dir, id)) }

// listStandbys returns the ids of live standbys (fresh heartbeat, live pid).
func listStandbys(dir, self string) []string {
	ents, err := os.ReadDir(filepath.Join(dir, "standby"))
	if err != nil {
		return []string{}
	}
	out := []string{}
	for _, e := range ents {
		if e.Name() == self || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "standby", e.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		ts, _ := strconv.ParseInt(f[1], 10, 64)
		if processAlive(pid) && time.Since(time.Unix(ts, 0)) < 30*time.Second {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// lockID makes sure only one daemon runs as mgr.<id> on a data directory:
// it holds an exclusive flock on DATA/mgr.<id>.pid (which records its pid)
// for as long as the daemon runs. The kernel drops it when the process
// exits, even on kill -9; a clean exit also removes the file.
func lockID(dir, id string) (unlock func(), err error) {
	path := filepath.Join(dir, "mgr."+id+".pid")
	for attempt := 0; ; attempt++ {
		f, err := privdir.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("daemon id lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			defer f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				holder := "another process"
				if b, rerr := io.ReadAll(io.LimitReader(f, 64)); rerr == nil {
					if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
						holder = fmt.Sprintf("pid %d", pid)
					}
				}
				return nil, fmt.Errorf("mgr.%s is already running on data directory %s (%s): refusing to start a second daemon with the same id; pick another -i ID", id, dir, holder)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// A daemon that was exiting may have removed the file between our
		// open and our lock: then the lock is on a file nobody else will
		// see; start over on the one at path.
		if !samePath(f, path) && attempt < 10 {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return func() {
			_ = os.Remove(path)
			f.Close()
		}, nil
	}
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}
