// Package asoktest helps tests of gomgr's sockets: a unix socket server
// run by another user, for tests that check clients refuse to talk to one
// (the attack of a user who owns the directory a socket lives in and
// replaces the socket), and crowds of idle and slow-drip connections.
package asoktest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const envSocket = "GOMGR_ASOKTEST_FOREIGN_SOCKET"

// ServeIfHelper must be the first thing TestMain does: in the helper
// process started by StartForeign it serves the socket and exits. For each
// connection it prints "received N" with the number of bytes the client
// sent before closing (or before a 3 s silence).
func ServeIfHelper() {
	path := os.Getenv(envSocket)
	if path == "" {
		return
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	_ = os.Chmod(path, 0o777)
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		fmt.Println("received", n)
	}
}

// Foreign is a server run by another user.
type Foreign struct {
	// Path is its socket, in a directory anyone may write to.
	Path  string
	UID   int
	lines chan string
}

// StartForeign starts the test binary again, as uid, serving a socket in a
// new world-writable directory; TestMain must call ServeIfHelper. It needs
// root (to run a process as another user): ok is false otherwise, and the
// caller tests the refusal another way.
func StartForeign(t testing.TB, uid int) (f *Foreign, ok bool) {
	t.Helper()
	if os.Getuid() != 0 {
		return nil, false
	}
	dir, err := os.MkdirTemp("", "gomgr-foreign")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// The test binary may sit in a directory only root can enter: run a
	// copy from the shared one.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	if err := copyFile(exe, bin); err != nil {
		t.Fatal(err)
	}
	f = &Foreign{Path: filepath.Join(dir, "s.sock"), UID: uid, lines: make(chan string, 16)}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), envSocket+"="+f.Path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a server as uid %d: %v", uid, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
		close(f.lines)
	}()
	if l := f.next(t); l != "ready" {
		t.Fatalf("server as uid %d: %s", uid, l)
	}
	return f, true
}

func (f *Foreign) next(t testing.TB) string {
	t.Helper()
	select {
	case l, ok := <-f.lines:
		if !ok {
			t.Fatal("the foreign server exited")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no word from the foreign server")
	}
	return ""
}

// Received waits for the next connection to end and returns the number of
// bytes its client sent.
func (f *Foreign) Received(t testing.TB) int {
	t.Helper()
	l := f.next(t)
	n, err := strconv.Atoi(strings.TrimPrefix(l, "received "))
	if err != nil {
		t.Fatalf("foreign server: %q", l)
	}
	return n
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// FDBudget returns how many connections to each of sockets servers a test
// may open with both ends in this process (at most want, and failing the
// test below least), raising the soft file limit to the hard one first.
func FDBudget(t testing.TB, sockets, want, least int) int {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	n := min(want, (int(lim.Cur)-512)/(2*sockets))
	t.Logf("file limit %d: %d connections to each socket", lim.Cur, n)
	if n < least {
		t.Fatalf("the file limit (%d) is too low for this test: raise it (ulimit -n) to %d", lim.Cur, 2*sockets*least+512)
	}
	return n
}

// OpenIdle opens n connections to the unix socket at path, closed at the
// end of the test: idle ones that never send, and every slowEvery-th (0:
// none) a slow drip that sends a byte every 100 ms.
func OpenIdle(t testing.TB, path string, n, slowEvery int) {
	t.Helper()
	stop := make(chan struct{})
	var conns []net.Conn
	t.Cleanup(func() {
		close(stop)
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if slowEvery > 0 && i%slowEvery == 0 {
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := c.Write([]byte("{")); err != nil {
							return
						}
					}
				}
			}()
		}
	}
}
