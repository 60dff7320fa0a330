package bridge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/buildinfo"
	"github.com/gomgr/gomgr/internal/cephconn"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/internal/privdir"
	"github.com/gomgr/gomgr/internal/radosproc"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// SocketName is the socket the Go side serves in its run directory.
const SocketName = "bridge.sock"

// RunOptions configure the Go side of the bridge.
type RunOptions struct {
	// RunDir is the private directory (mode 0700, owned by this user) the
	// shims and this process meet in.
	RunDir string
	// MgrID is the real mgr daemon's id.
	MgrID string
	// Registry holds the Go modules (always-on ones run only when enabled
	// in the real mgr, like its other modules).
	Registry *modhost.Registry
	// Log receives the process's log (and the modules').
	Log io.Writer
	// Idle is how long the process waits with no shim connected before it
	// exits (60 s); the process also exits when its parent goes.
	Idle time.Duration
	// Binary is this program's file (default os.Executable()): when it
	// changes (an upgrade installed a new one), the process refuses new
	// shims and exits, so that they start the new one.
	Binary string
	// Dial connects the modules' Handle.Rados to the cluster, with the
	// real mgr's identity (default radosproc.Dial, the gomgr-rados
	// helper next to this program).
	Dial cephconn.DialFunc
}

// Run serves the shims of one real mgr until ctx ends, the last shim has
// been gone for o.Idle, or the parent process (the real mgr) goes. A
// second Run on the same directory finds the first one's lock and returns
// nil at once.
func Run(ctx context.Context, o RunOptions) error {
	if o.Idle <= 0 {
		o.Idle = time.Minute
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(o.Log, nil)).With("mgr", o.MgrID)
	if err := privdir.Check("bridge run directory", o.RunDir); err != nil {
		return err
	}
	lock, err := privdir.OpenFile(filepath.Join(o.RunDir, "bridged.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			log.Info("another gomgr bridge serves this mgr already")
			return nil
		}
		return fmt.Errorf("gomgr bridge: lock: %w", err)
	}
	sock := filepath.Join(o.RunDir, SocketName)
	if st, err := os.Lstat(sock); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("gomgr bridge: %s exists and is not a socket", sock)
		}
		_ = os.Remove(sock) // a stale one (we hold the lock)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", sock)
	syscall.Umask(old)
	if err != nil {
		return fmt.Errorf("gomgr bridge: %w", err)
	}
	defer os.Remove(sock)

	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return fmt.Errorf("gomgr bridge: %w", err)
		}
	}
	exe, err := os.Stat(o.Binary)
	if err != nil {
		return fmt.Errorf("gomgr bridge: %w", err)
	}

	reg := modhost.NewRegistry()
	for _, info := range o.Registry.List() {
		info.AlwaysOn = false // the real mgr decides what runs
		if err := reg.Register(info); err != nil {
			return err
		}
	}
	if o.Dial == nil {
		o.Dial = radosproc.Dial
	}
	b := newMgrBackend(o.MgrID)
	b.rados = &radosClient{b: b, dial: o.Dial, log: log}
	defer b.rados.close() // after the managers close: the modules have stopped
	s := &server{log: log, b: b, pushes: map[string]*healthPush{}, names: map[string]string{}, uris: map[string]string{},
		binary: o.Binary, exe: exe, open: map[*peer]bool{}}
	s.m, err = modhost.NewManager(modhost.Config{MgrID: o.MgrID, Version: buildinfo.Full(), ReleaseName: buildinfo.Release,
		Registry: reg, Backend: s.b, Log: log, LogWriter: o.Log,
		DebugLevel: 2, // modules log at info unless their log_level says otherwise
		OnHealth:   s.pushHealth, OnFail: s.failed, OnURI: s.setURI, ClusterLog: s.clusterLog, ModuleLog: s.moduleLog})
	if err != nil {
		return err
	}
	// The standby variants, for the shims of a standby mgr (the real mgr
	// runs a module's StandbyModule there).
	s.sm, err = modhost.NewManager(modhost.Config{MgrID: o.MgrID, Version: buildinfo.Full(), ReleaseName: buildinfo.Release,
		Registry: reg, Backend: s.b, Log: log, LogWriter: o.Log, DebugLevel: 2, Standby: true,
		ActiveURI: s.activeURI, ModuleLog: s.moduleLog})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.stop = cancel
	if err := s.m.Start(ctx); err != nil {
		return err
	}
	defer s.m.Close()
	if err := s.sm.Start(ctx); err != nil {
		return err
	}
	defer s.sm.Close()
	var wg sync.WaitGroup
	defer func() { // before the manager closes: every connection ends first
		ln.Close()
		s.closeAll()
		waited := make(chan struct{})
		go func() { wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(time.Minute):
			log.Warn("connections still closing; exiting anyway")
		}
	}()
	go func() { <-ctx.Done(); ln.Close() }()
	go s.watch(ctx, cancel, o.Idle)
	log.Info("gomgr bridge serving", "socket", sock, "modules", reg.Names())
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and the like pass: the modules attached keep running.
			log.Warn("accept", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		uid, err := asok.PeerUID(c)
		if err != nil || uid != os.Geteuid() {
			log.Warn("refused a connection from another user", "uid", uid, "err", err)
			c.Close()
			continue
		}
		s.conns.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.conns.Add(-1)
			s.serveConn(ctx, c)
		}()
	}
}

// server is the Go side: the modules' manager and the shims' connections.
type server struct {
	log   *slog.Logger
	b     *mgrBackend
	m     *modhost.Manager // the modules of an active mgr's shims
	sm    *modhost.Manager // the standby variants, for a standby mgr's shims
	conns connCount

	hmu    sync.Mutex
	locks  map[string]*sync.Mutex // per module: attach and detach
	pushes map[string]*healthPush
	names  map[string]string   // Go module -> its name in the real mgr
	uris   map[string]string   // Go module -> the active URI its standby shim last gave
	lanes  map[string]*cmdLane // lane token -> its connection's lane target

	cmu     sync.Mutex
	open    map[*peer]bool // every connection, for closeAll
	closing bool

	draining atomic.Bool // the binary was replaced: no new modules

	binary string      // this program's file
	exe    os.FileInfo // as it was when the process started
	stop   func()      // ends Run
}

// closeAll closes every shim's connection (the process is stopping).
func (s *server) closeAll() {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.closing = true
	for p := range s.open {
		p.close()
	}
}

// track records an open connection (false: the process is stopping, and
// p was closed at once).
func (s *server) track(p *peer, open bool) bool {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if !open {
		delete(s.open, p)
		return true
	}
	if s.closing {
		p.close()
		return false
	}
	s.open[p] = true
	return true
}

// upgraded reports whether the program's file is no longer the one this
// process runs (a new binary was installed in its place).
func (s *server) upgraded() bool {
	now, err := os.Stat(s.binary)
	return err != nil || !os.SameFile(now, s.exe) || !now.ModTime().Equal(s.exe.ModTime()) || now.Size() != s.exe.Size()
}

// connCount counts connections, and when the count last fell to zero.
type connCount struct {
	mu   sync.Mutex
	n    int
	zero time.Time
}

func (a *connCount) Add(d int) {
	a.mu.Lock()
	a.n += d
	if a.n == 0 {
		a.zero = time.Now()
	}
	a.mu.Unlock()
}

func (a *connCount) idleFor() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n > 0 {
		return 0
	}
	return time.Since(a.zero)
}

// watch ends the process when no shim has been connected for idle, or
// when the parent process (the real mgr) has gone.
func (s *server) watch(ctx context.Context, stop func(), idle time.Duration) {
	s.conns.Add(0) // the idle clock starts now
	parent := os.Getppid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch {
		case os.Getppid() != parent:
			s.log.Info("the real mgr has gone; stopping")
			stop()
			return
		case s.draining.Load() && s.b.attached() == 0:
			s.log.Info("the last module of the old binary has gone; stopping")
			stop()
			return
		case s.conns.idleFor() >= idle:
			s.log.Info("no module of the real mgr connected; stopping", "idle", idle)
			stop()
			return
		}
	}
}

// hello is the shim's first message.
type hello struct {
	Module    string             `json:"module"`
	GoName    string             `json:"go_name"`
	MgrID     string             `json:"mgr_id"`
	Options   map[string]*string `json:"options"`
	Localized map[string]*string `json:"localized"`
	// Native are the values of the module's NATIVE_OPTIONS (Ceph options).
	Native map[string]*string `json:"native"`
	Store  map[string]string  `json:"store"`
	// Role is "standby" for the shim of a module's standby variant (which
	// cannot list its store: Store is empty and keys are read one by one).
	Role string `json:"role"`
	// Features are the protocol extensions the shim takes (raw_stdout,
	// lane).
	Features []string `json:"features"`
	// Lane, in the hello of a lane (PROTOCOL.md, the lane feature), is the
	// token its shim's connection got in its hello's reply; nothing else
	// is set then.
	Lane string `json:"lane"`
}

// featureLane is the hello feature of a shim that sends its commands over
// a lane of their own when it can (PROTOCOL.md).
const featureLane = "lane"

// cmdLane is what a shim connection's command lanes (the lane feature)
// share: the connection and module their commands are for, and the lanes
// open, which end with the connection.
type cmdLane struct {
	main      *peer
	name      string
	rawStdout bool

	mu    sync.Mutex
	peers map[*peer]bool // open lanes, closed with main
	done  bool
}

// add records an open lane; false if main has ended (l is closed then).
func (l *cmdLane) add(p *peer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return false
	}
	l.peers[p] = true
	return true
}

func (l *cmdLane) remove(p *peer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.peers, p)
}

// end closes every lane of main, which has ended.
func (l *cmdLane) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	for p := range l.peers {
		p.close()
	}
}

// newLaneToken is a token a lane's hello presents: 128 random bits.
func newLaneToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("gomgr bridge: a lane token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// standby reports whether h is a standby shim's hello; an unknown role is
// an error.
func (h hello) standby() (bool, error) {
	switch h.Role {
	case "", "active":
		return false, nil
	case "standby":
		return true, nil
	}
	return false, objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: unknown role %q", h.Role), -int(syscall.EINVAL))
}

// serveConn serves one shim until its connection ends; its module is
// disabled then (unless a newer connection of the same shim has taken
// over). A connection whose hello names a lane serves only that lane's
// commands, and ends with its shim's connection.
func (s *server) serveConn(ctx context.Context, c net.Conn) {
	var mu sync.Mutex
	var name string // set once hello has succeeded
	var standby, rawStdout bool
	var own, target *cmdLane // own: this connection's lanes; target: this lane's connection
	var p *peer
	p = newPeer(c, func(ctx context.Context, op string, args json.RawMessage) (any, error) {
		mu.Lock()
		attached, isStandby, raw, to := name, standby, rawStdout, target
		mu.Unlock()
		if op == "hello" { // on the ordered lane: one at a time
			var h hello
			if err := json.Unmarshal(args, &h); err != nil {
				return nil, objectformat.NewErrorResponseCode("gomgr bridge: bad hello: "+err.Error(), -int(syscall.EINVAL))
			}
			if attached != "" {
				return nil, objectformat.NewErrorResponseCode("gomgr bridge: hello twice", -int(syscall.EINVAL))
			}
			if h.Lane != "" {
				l := s.cmdLane(h.Lane)
				if l == nil || !l.add(p) {
					return nil, objectformat.NewErrorResponseCode("gomgr bridge: no connection has that lane", -int(syscall.ENOENT))
				}
				mu.Lock()
				name, rawStdout, target = l.name, l.rawStdout, l
				mu.Unlock()
				return map[string]any{}, nil
			}
			if err := s.attach(ctx, p, h); err != nil {
				return nil, err
			}
			reply := map[string]any{}
			var l *cmdLane
			if isStandby, _ := h.standby(); !isStandby && slices.Contains(h.Features, featureLane) {
				token, err := newLaneToken()
				if err != nil {
					return nil, err
				}
				l = &cmdLane{main: p, name: h.GoName, rawStdout: slices.Contains(h.Features, featureRawStdout), peers: map[*peer]bool{}}
				s.hmu.Lock()
				if s.lanes == nil {
					s.lanes = map[string]*cmdLane{}
				}
				s.lanes[token] = l
				s.hmu.Unlock()
				reply["lane"] = token
				context.AfterFunc(ctx, func() { // ctx ends with the connection
					s.hmu.Lock()
					delete(s.lanes, token)
					s.hmu.Unlock()
				})
			}
			mu.Lock()
			name, rawStdout, own = h.GoName, slices.Contains(h.Features, featureRawStdout), l
			standby, _ = h.standby()
			mu.Unlock()
			return reply, nil
		}
		if attached == "" {
			return nil, objectformat.NewErrorResponseCode("gomgr bridge: "+op+" before hello", -int(syscall.EINVAL))
		}
		if to != nil {
			if op != "command" {
				return nil, objectformat.NewErrorResponseCode("gomgr bridge: a lane takes only commands, not "+op, -int(syscall.EINVAL))
			}
			return s.handle(ctx, to.main, attached, false, raw, op, args)
		}
		return s.handle(ctx, p, attached, isStandby, raw, op, args)
	})
	if !s.track(p, true) {
		return
	}
	defer s.track(p, false)
	if err := p.run(ctx); err != nil {
		s.log.Warn("connection to a shim ended", "module", name, "err", err)
	}
	// run has waited for every handler, hello included: the fields are final.
	switch {
	case target != nil:
		target.remove(p)
	case name != "":
		if own != nil {
			own.end()
		}
		s.detach(name, p)
	}
}

// cmdLane is the lane target of token, or nil.
func (s *server) cmdLane(token string) *cmdLane {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.lanes[token]
}

// moduleLock serialises attaching and detaching one module.
func (s *server) moduleLock(name string) *sync.Mutex {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l := s.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[name] = l
	}
	return l
}

// attach makes p the connection of its module's shim and starts the
// module (again, if it had failed). On failure the previous connection, if
// still open, stays the module's.
func (s *server) attach(ctx context.Context, p *peer, h hello) error {
	if s.draining.Load() || s.upgraded() {
		if !s.draining.Swap(true) {
			s.log.Info("the binary was replaced: serving the modules attached until they go, then stopping for the shims to start the new one", "binary", s.binary)
		}
		return objectformat.NewErrorResponseCode("gomgr bridge: the Go side's binary was upgraded; it is restarting", -int(syscall.EAGAIN))
	}
	if _, ok := s.m.Options(h.GoName); !ok {
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: this binary has no Go module %q", h.GoName), -int(syscall.ENOENT))
	}
	standby, err := h.standby()
	if err != nil {
		return err
	}
	l := s.moduleLock(h.GoName)
	l.Lock()
	defer l.Unlock()
	s.b.mu.Lock()
	old, oldStandby := s.b.peers[h.GoName], s.b.standby[h.GoName]
	s.b.mu.Unlock()
	if old != nil && oldStandby != standby {
		// The mgr changed roles (a standby became active): the other
		// variant goes first, while its shim is still the module's (its
		// Shutdown reads through it).
		s.stopModule(h.GoName, oldStandby)
	}
	feats := make(map[string]bool, len(h.Features))
	for _, f := range h.Features {
		feats[f] = true
	}
	s.b.mu.Lock()
	p.features = feats
	s.b.peers[h.GoName] = p // before old closes: its detach then finds it is not current
	s.b.standby[h.GoName] = standby
	s.b.mu.Unlock()
	s.hmu.Lock()
	s.names[h.GoName] = h.Module
	s.hmu.Unlock()
	s.b.load(h.GoName, h.Options, h.Localized, h.Store)
	s.b.loadNative(h.GoName, h.Native)
	s.b.mu.Lock()
	needFSID := s.b.fsid == ""
	s.b.mu.Unlock()
	if needFSID && !standby { // a standby module's get knows mgr_ips only
		var mm map[string]any
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := p.call(cctx, "get", map[string]any{"name": "mon_map"}, &mm); err == nil {
			if f, ok := mm["fsid"].(string); ok {
				s.b.mu.Lock()
				s.b.fsid = f
				s.b.mu.Unlock()
			}
		}
		cancel()
	}
	if standby {
		err = s.sm.StartStandby(ctx, h.GoName)
	} else {
		err = s.start(ctx, h.GoName)
	}
	if err != nil {
		s.b.mu.Lock()
		if s.b.peers[h.GoName] == p {
			if old != nil && !old.isClosed() && oldStandby == standby {
				s.b.peers[h.GoName] = old
			} else {
				delete(s.b.peers, h.GoName)
				delete(s.b.standby, h.GoName)
			}
		}
		s.b.mu.Unlock()
		return err
	}
	if old != nil && old != p {
		old.close()
	}
	s.log.Info("module attached", "module", h.GoName, "as", h.Module, "standby", standby)
	return nil
}

// stopModule stops a module's active or standby variant.
func (s *server) stopModule(name string, standby bool) {
	if standby {
		s.sm.StopStandby(name)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.m.Disable(ctx, name); err != nil {
		s.log.Warn("module disable", "module", name, "err", err)
	}
}

// activeURI is the standby manager's ActiveURI: the real mgr's answer to
// the module's standby shim (get_active_uri), "" when it has none. When the
// shim cannot answer (it is going), the last answer stands.
func (s *server) activeURI(name string) string {
	s.hmu.Lock()
	last := s.uris[name]
	s.hmu.Unlock()
	p, err := s.b.peerOf(name)
	if err != nil {
		return last
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var uri string
	if err := p.call(ctx, "get_active_uri", map[string]any{}, &uri); err != nil {
		s.log.Warn("get_active_uri", "module", name, "err", err)
		return last
	}
	s.hmu.Lock()
	s.uris[name] = uri
	s.hmu.Unlock()
	return uri
}

// start runs module name: enabled, or stopped and enabled again if it had
// failed. A module that fails to start is an error (-EIO, its failure).
func (s *server) start(ctx context.Context, name string) error {
	if running, failure := s.m.Running(name); running && failure == "" {
		return nil
	} else if failure != "" {
		_, _ = s.m.Disable(ctx, name)
	}
	s.clearFailure(name)
	if _, err := s.m.Enable(ctx, name, false); err != nil {
		return err
	}
	if running, failure := s.m.Running(name); !running || failure != "" {
		if failure == "" {
			failure = "it did not start"
		}
		_, _ = s.m.Disable(ctx, name) // the next hello tries again
		return objectformat.NewErrorResponseCode(fmt.Sprintf("gomgr bridge: module %s failed: %s", name, failure), -int(syscall.EIO))
	}
	return nil
}

// detach forgets a shim's connection and stops its module, unless a newer
// connection has taken the module over.
func (s *server) detach(name string, p *peer) {
	l := s.moduleLock(name)
	l.Lock()
	defer l.Unlock()
	s.b.mu.Lock()
	current, standby := s.b.peers[name] == p, s.b.standby[name]
	if current {
		delete(s.b.peers, name)
		delete(s.b.standby, name)
	}
	s.b.mu.Unlock()
	if !current {
		return
	}
	s.stopModule(name, standby)
	s.log.Info("module detached", "module", name)
}

// handle serves a request of p, the shim of module name (a standby one's
// if standby), after its hello; rawStdout says whether the shim takes a
// command's stdout raw.
func (s *server) handle(ctx context.Context, p *peer, name string, standby, rawStdout bool, op string, args json.RawMessage) (any, error) {
	switch op {
	case "command":
		if standby {
			return nil, objectformat.NewErrorResponseCode("gomgr bridge: a standby module takes no commands", -int(syscall.EOPNOTSUPP))
		}
		var a struct {
			Cmd   map[string]any `json:"cmd"`
			Inbuf string         `json:"inbuf_b64"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, objectformat.NewErrorResponseCode("gomgr bridge: bad command: "+err.Error(), -int(syscall.EINVAL))
		}
		inbuf, err := base64.StdEncoding.DecodeString(a.Inbuf)
		if err != nil {
			return nil, objectformat.NewErrorResponseCode("gomgr bridge: bad inbuf: "+err.Error(), -int(syscall.EINVAL))
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		res := s.m.Dispatch(ctx, clicommand.Call{Cmd: a.Cmd, Inbuf: inbuf, Perm: "rw"})
		if rawStdout && len(res.Stdout) >= rawStdoutMin {
			return encodeRawCommandReply(res), nil
		}
		return encodeCommandReply(res), nil
	case "notify":
		var a struct{ Type, ID string }
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		s.m.NotifyModule(name, module.Notification{Type: module.NotifyType(a.Type), ID: a.ID}) // the real mgr notifies each module itself
		return nil, nil
	case "config":
		var a struct {
			Options   map[string]*string `json:"options"`
			Localized map[string]*string `json:"localized"`
			Native    map[string]*string `json:"native"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		s.b.load(name, a.Options, a.Localized, nil)
		s.b.loadNative(name, a.Native)
		return nil, nil
	case "shutdown":
		l := s.moduleLock(name)
		l.Lock()
		defer l.Unlock()
		s.b.mu.Lock()
		current := s.b.peers[name] == p
		s.b.mu.Unlock()
		switch {
		case !current: // a connection taken over: its shutdown is not the module's
		case standby:
			s.sm.StopStandby(name)
		default:
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if _, err := s.m.Disable(ctx, name); err != nil {
				return nil, err
			}
		}
		return map[string]any{}, nil
	}
	return nil, objectformat.NewErrorResponseCode("gomgr bridge: unknown op "+op, -int(syscall.EOPNOTSUPP))
}

// healthPush hands a module's latest health checks to its shim, newest
// first: a push started later wins over one still waiting.
type healthPush struct {
	send    sync.Mutex // one push at a time, so none overtakes a newer one
	mu      sync.Mutex
	seq     uint64
	latest  map[string]module.HealthCheck
	failure string // the module's failure, reported as MGR_MODULE_ERROR
}

// pushHealth is modhost's OnHealth: it must not block, so the checks go
// to the shim in a goroutine.
func (s *server) pushHealth(name string, checks map[string]module.HealthCheck) {
	s.push(name, func(hp *healthPush) { hp.latest = checks })
}

// failed is modhost's OnFail: the real mgr shows a failed Go module as it
// shows a failed Python one, with MGR_MODULE_ERROR.
func (s *server) failed(name, why string) {
	s.push(name, func(hp *healthPush) { hp.failure = why })
}

// clearFailure forgets a module's failure (it is starting again).
func (s *server) clearFailure(name string) {
	s.hmu.Lock()
	hp := s.pushes[name]
	s.hmu.Unlock()
	if hp != nil {
		hp.mu.Lock()
		hp.failure = ""
		hp.mu.Unlock()
	}
}

// push changes what is pushed for a module and pushes it.
func (s *server) push(name string, change func(*healthPush)) {
	s.hmu.Lock()
	hp := s.pushes[name]
	if hp == nil {
		hp = &healthPush{}
		s.pushes[name] = hp
	}
	s.hmu.Unlock()
	hp.mu.Lock()
	hp.seq++
	seq := hp.seq
	change(hp)
	hp.mu.Unlock()
	go func() {
		hp.send.Lock()
		defer hp.send.Unlock()
		hp.mu.Lock()
		if hp.seq != seq {
			hp.mu.Unlock()
			return // a newer push carries the newer checks
		}
		c := maps.Clone(hp.latest)
		failure := hp.failure
		hp.mu.Unlock()
		if c == nil {
			c = map[string]module.HealthCheck{}
		}
		if failure != "" {
			s.hmu.Lock()
			shown := s.names[name]
			s.hmu.Unlock()
			if shown == "" {
				shown = name
			}
			c["MGR_MODULE_ERROR"] = module.HealthCheck{Severity: module.SeverityError,
				Summary: fmt.Sprintf("Module '%s' has failed: %s", shown, failure), Count: 1, Detail: []string{}}
		}
		p, err := s.b.peerOf(name)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := p.call(ctx, "set_health_checks", map[string]any{"checks": c}, nil); err != nil {
			s.log.Warn("health checks to the real mgr", "module", name, "err", err)
		}
	}()
}

// clusterLog sends a module's cluster log entry to the real mgr's cluster
// log (one-way: it never waits).
func (s *server) clusterLog(name, channel string, prio slog.Level, msg string) {
	p, err := s.b.peerOf(name)
	if err != nil {
		s.log.Warn("cluster log entry of a module not connected", "module", name, "channel", channel, "msg", msg)
		return
	}
	if err := p.send("cluster_log", map[string]any{"channel": channel, "priority": clogPriority(prio), "msg": msg}); err != nil {
		s.log.Warn("cluster log to the real mgr", "module", name, "err", err)
	}
}

// clogPriority is a slog level as Ceph's ClusterLogPrio: DEBUG 0, INFO 1,
// WARN 3, ERROR 4 (SEC, 2, has no slog level of its own).
func clogPriority(l slog.Level) int {
	switch {
	case l < slog.LevelInfo:
		return 0
	case l < slog.LevelWarn:
		return 1
	case l < slog.LevelError:
		return 3
	}
	return 4
}

// setURI publishes a module's URI in the real mgr (`ceph mgr services`).
func (s *server) setURI(name, uri string) {
	p, err := s.b.peerOf(name)
	if err != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := p.call(ctx, "set_uri", map[string]any{"uri": uri}, nil); err != nil {
			s.log.Warn("set_uri in the real mgr", "module", name, "err", err)
		}
	}()
}
