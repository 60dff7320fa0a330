package evalsandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment of a worker: envWorker marks worker mode (with the socket on
// workerFD); nothing else of the parent's environment is passed on.
const (
	envWorker   = "GOMGR_EVALSANDBOX_WORKER"
	workerMagic = "1"
	workerFD    = 3
)

// exitCPU is the exit status of a worker that went past its CPU limit.
const exitCPU = 86

// stderrKeep is how much of a worker's stderr the parent keeps (the
// runtime's "fatal error: ..." line comes first).
const stderrKeep = 4096

// worker is a running worker process as the parent sees it.
type worker interface {
	// send writes a message, giving up at the deadline.
	send(m *message, deadline time.Time) error
	// messages delivers the worker's messages; it is closed when the
	// worker's socket ends or sends garbage (see readErr).
	messages() <-chan *message
	readErr() error
	// kill ends the worker (idempotent) and records why.
	kill(why error)
	// exited waits for the worker's end, up to the deadline, and describes
	// it; nil means it has not ended (or was never a process).
	exited(deadline time.Time) *exitInfo
	pid() int
}

// exitInfo is how a worker ended.
type exitInfo struct {
	killedFor error  // why the parent killed it, if it did
	state     string // exit status or signal
	signal    syscall.Signal
	code      int
	stderr    string // the start of its stderr
}

// spawnFunc starts a worker; tests replace it.
var spawnFunc = spawnProcess

// procWorker is a worker process: the same executable, re-executed.
type procWorker struct {
	cmd  *exec.Cmd
	conn net.Conn

	msgs   chan *message
	rerr   error // set before msgs is closed
	done   chan struct{}
	stderr chan string

	killOnce sync.Once
	mu       sync.Mutex
	why      error
	infoOnce sync.Once
	info     *exitInfo
}

// spawnProcess starts /proc/self/exe in worker mode: a new process group,
// SIGKILL if the parent dies, "/" as working directory, stdin and stdout
// on /dev/null, stderr on a pipe, the socket on fd 3, and only envWorker
// and GOMAXPROCS=1 in its environment.
func spawnProcess(name string) (worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	childEnd := os.NewFile(uintptr(fds[1]), "evalsandbox-worker")
	defer childEnd.Close()
	conn, err := fileConn(fds[0])
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	defer errW.Close()
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{workerArg0(name)},
		Env:        []string{envWorker + "=" + workerMagic, "GOMAXPROCS=1"},
		Dir:        "/",
		Stderr:     errW,
		ExtraFiles: []*os.File{childEnd},
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if err := startOnSpawnerThread(cmd); err != nil {
		conn.Close()
		errR.Close()
		return nil, fmt.Errorf("start the eval worker: %w", err)
	}
	w := &procWorker{cmd: cmd, conn: conn, msgs: make(chan *message, 1), done: make(chan struct{}), stderr: make(chan string, 1)}
	go w.readLoop()
	go w.readStderr(errR)
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// fileConn makes a net.Conn (with deadlines) of a socket descriptor, which
// it takes over.
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "evalsandbox")
	defer f.Close()
	return net.FileConn(f)
}

// workerArg0 is the worker's argv[0], which ps shows.
func workerArg0(name string) string {
	base := "gomgr"
	if len(os.Args) > 0 {
		base = os.Args[0]
	}
	if name == "" {
		name = "eval"
	}
	return fmt.Sprintf("%s [evalsandbox: %s]", base, name)
}

// spawnReq asks the spawner thread to start a command.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

// startOnSpawnerThread starts cmd from one goroutine locked to its OS
// thread for the life of the process. Pdeathsig fires when the thread that
// forked the child ends, not the process; Go may end a thread only when a
// goroutine locked to it exits, and this one never does.
func startOnSpawnerThread(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go func() {
			runtime.LockOSThread()
			for r := range spawnCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnCh <- spawnReq{cmd, done}
	return <-done
}

func (w *procWorker) pid() int { return w.cmd.Process.Pid }

func (w *procWorker) readLoop() {
	defer close(w.msgs)
	for {
		m, err := readFrame(w.conn, maxChildFrame)
		if err != nil {
			w.rerr = err
			return
		}
		w.msgs <- m
	}
}

// readStderr keeps the first stderrKeep bytes of the worker's stderr and
// drains the rest until the worker ends.
func (w *procWorker) readStderr(r *os.File) {
	defer r.Close()
	var keep []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if room := stderrKeep - len(keep); room > 0 {
			keep = append(keep, buf[:min(n, room)]...)
		}
		if err != nil {
			break
		}
	}
	w.stderr <- string(keep)
}

func (w *procWorker) messages() <-chan *message { return w.msgs }

func (w *procWorker) readErr() error { return w.rerr }

func (w *procWorker) send(m *message, deadline time.Time) error {
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return writeFrame(w.conn, m, maxParentFrame)
}

// kill sends SIGKILL to the worker's process group and closes the socket.
func (w *procWorker) kill(why error) {
	w.killOnce.Do(func() {
		w.mu.Lock()
		w.why = why
		w.mu.Unlock()
		pid := w.cmd.Process.Pid
		select {
		case <-w.done: // reaped: the pid may be reused
		default:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = w.cmd.Process.Kill()
		}
		w.conn.Close()
	})
}

func (w *procWorker) exited(deadline time.Time) *exitInfo {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		return nil
	}
	w.infoOnce.Do(func() {
		w.mu.Lock()
		why := w.why
		w.mu.Unlock()
		st := w.cmd.ProcessState
		info := &exitInfo{killedFor: why, state: st.String(), code: st.ExitCode()}
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			info.signal = ws.Signal()
		}
		// The pipe ends with the process, which held its only write end.
		select {
		case info.stderr = <-w.stderr:
		case <-time.After(time.Second):
		}
		w.info = info
	})
	return w.info
}

// memoryMarkers are what the Go runtime (and the race detector's runtime)
// print when an allocation fails or a stack cannot grow. A thread's stack
// counts against RLIMIT_DATA too, so near the limit a new thread fails
// ("runtime/cgo: pthread_create failed: Resource temporarily
// unavailable"); a worker runs one interpreter thread (GOMAXPROCS=1), so
// a host's thread limit is not what it meets first.
var memoryMarkers = []string{"out of memory", "cannot allocate memory", "failed to allocate", "stack overflow", "stack exceeds", "errno: 12",
	"pthread_create failed"}

// signalCrashes start the report of a Go runtime that crashed on a fault.
// When the kernel refuses memory the runtime does not always throw "out of
// memory": some of its internal allocations (the garbage collector's
// queues) then fault on a nil pointer. A worker runs nothing but the
// interpreter, which is memory-safe Go, so such a crash is the memory
// limit.
var signalCrashes = []string{"SIGSEGV", "SIGBUS", "unexpected signal", "unexpected fault address"}

// outOfMemory reports whether the worker died for lack of memory.
func (e *exitInfo) outOfMemory() bool {
	for _, m := range memoryMarkers {
		if strings.Contains(e.stderr, m) {
			return true
		}
	}
	first := e.firstLine()
	for _, p := range signalCrashes {
		if strings.HasPrefix(first, p) {
			return true
		}
	}
	return false
}

// firstLine is the first non-empty line of the worker's stderr.
func (e *exitInfo) firstLine() string {
	for _, l := range strings.Split(e.stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
