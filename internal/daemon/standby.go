package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// runStandby campaigns for the active role. If it is not won at once, the
// daemon runs as a standby (standby modules only) until it is, or until
// ctx ends.
func (d *Daemon) runStandby(ctx context.Context) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	won := make(chan error, 1)
	go func() { won <- d.election.Campaign(cctx) }()
	select {
	case err := <-won:
		return campaignResult(ctx, err)
	case <-time.After(2 * d.opts.StandbyPoll):
	}

	d.log.Info("standby: another daemon is active, or the active role cannot be taken yet", "data", d.opts.DataDir)
	_ = registerStandby(d.opts.DataDir, d.opts.ID)
	defer unregisterStandby(d.opts.DataDir, d.opts.ID)

	b := d.backend
	var snap *snapshotBackend
	if d.opts.Cluster == nil {
		snap = newSnapshotBackend(d.election)
		defer snap.Close()
		b = snap
	}
	m, err := d.newManager(b, true, func() map[string]string {
		info, err := d.election.Active()
		if err != nil {
			return nil
		}
		return info.Services
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.mgr = m
	d.mu.Unlock()
	if err := m.Start(ctx); err != nil {
		return err
	}
	d.role.Store(RoleStandby)
	defer func() {
		m.Close()
		d.mu.Lock()
		d.mgr = nil
		d.mu.Unlock()
	}()
	beat := time.NewTicker(5 * time.Second)
	defer beat.Stop()
	for {
		select {
		case err := <-won:
			if err == nil {
				d.log.Info("standby: taking over")
			}
			return campaignResult(ctx, err)
		case <-beat.C:
			_ = registerStandby(d.opts.DataDir, d.opts.ID)
		}
	}
}

func campaignResult(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

type standbyStatusArgs struct {
	clicommand.Read `prefix:"status" desc:"show cluster status"`
}

// standbyCommands are the commands a standby answers itself.
func (bi *builtins) standbyCommands() []*clicommand.Command {
	d := bi.d
	return []*clicommand.Command{
		clicommand.Func(func(context.Context, *standbyStatusArgs) objectformat.Result {
			active := "unknown"
			if info, err := d.election.Active(); err == nil {
				active = "mgr." + info.ID
			}
			return objectformat.OK(fmt.Sprintf("  mgr.%s: standby (active: %s)\n", d.opts.ID, active))
		}),
		clicommand.Responder(bi.version),
		clicommand.Responder(bi.help),
	}
}

// activeRuns reports whether the active daemon has a command that prefix
// names: one of its built-in commands or a compiled-in module's, given as
// the prefix or followed by arguments (mgrctl sends a standby the words of
// a command it cannot match, "config-key get k", to get its refusal).
func (d *Daemon) activeRuns(m *modhost.Manager, prefix string) bool {
	words := strings.Fields(prefix)
	for n := len(words); n > 0; n-- {
		p := strings.Join(words[:n], " ")
		if m.ModuleCommand(p) != "" || d.isBuiltin(p) {
			return true
		}
	}
	return false
}

// isBuiltin reports whether prefix is one of the active daemon's built-in
// commands.
func (d *Daemon) isBuiltin(prefix string) bool {
	d.builtinOnce.Do(func() {
		d.builtinPrefixes = map[string]bool{}
		for _, c := range (&builtins{d: d}).commands() { // the prefixes only
			d.builtinPrefixes[c.Prefix()] = true
		}
	})
	return d.builtinPrefixes[prefix]
}

// standbyRefusal is the reply to commands a standby cannot run.
func (d *Daemon) standbyRefusal(prefix string) objectformat.Result {
	where := ""
	if info, err := d.election.Active(); err == nil {
		where = fmt.Sprintf("; the active daemon is mgr.%s (admin socket %s, api %s)", info.ID, info.Asok, info.API)
	}
	return objectformat.Failed(-int(syscall.EAGAIN), fmt.Sprintf("mgr.%s is a standby and cannot run '%s'%s", d.opts.ID, prefix, where))
}

// snapshotBackend is a standby's read-only view of the active daemon's
// state, refreshed from its API every second.
type snapshotBackend struct {
	election Election
	config   *snapStore
	kv       *snapStore
	stop     chan struct{}
	wg       sync.WaitGroup
}

func newSnapshotBackend(e Election) *snapshotBackend {
	b := &snapshotBackend{election: e, config: &snapStore{}, kv: &snapStore{}, stop: make(chan struct{})}
	b.refresh()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.refresh()
			}
		}
	}()
	return b
}

func (b *snapshotBackend) refresh() {
	info, err := b.election.Active()
	if err != nil {
		return
	}
	c := api.NewClient(info.API)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.Snapshot(ctx)
	if err != nil {
		return
	}
	b.config.set(s.Config)
	b.kv.set(s.KV)
}

func (b *snapshotBackend) Config() backend.Store                { return b.config }
func (b *snapshotBackend) KV() backend.Store                    { return b.kv }
func (b *snapshotBackend) Cluster() backend.Cluster             { return standbyCluster{} }
func (b *snapshotBackend) Subscribe(func(backend.Event)) func() { return func() {} }
func (b *snapshotBackend) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.wg.Wait()
	return nil
}

// snapStore is a read-only Store refreshed from snapshots.
type snapStore struct{ backend.StringMap }

func (s *snapStore) set(m map[string]string) { s.Replace(m) }

var errReadOnly = objectformat.NewErrorResponseCode("a standby daemon cannot change state", -int(syscall.EROFS))

func (s *snapStore) Set(context.Context, string, string) error { return errReadOnly }
func (s *snapStore) Delete(context.Context, string) error      { return errReadOnly }

type standbyCluster struct{}

func (standbyCluster) FSID() string                             { return "" }
func (standbyCluster) HaveMonConnection() bool                  { return false }
func (standbyCluster) Get(context.Context, string) (any, error) { return nil, nil }
func (standbyCluster) Command(context.Context, module.Target, map[string]any, []byte) objectformat.Result {
	return objectformat.Failed(-int(syscall.EAGAIN), "a standby daemon sends no commands")
}
