// Package asoktest starts a unix socket server run by another user, for
// tests that check gomgr's clients refuse to talk to one: the attack of a
// user who owns the directory a socket lives in and replaces the socket.
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
