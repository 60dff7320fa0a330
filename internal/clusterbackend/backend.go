package clusterbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomgr/gomgr/internal/cephopts"
	"github.com/gomgr/gomgr/internal/jsonval"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Options tune a Backend. Zero values take the defaults.
type Options struct {
	// ID is the daemon id: its configuration is the global, mgr and
	// mgr.<ID> sections of the configuration database.
	ID string
	// Hostname matches host:<name> masks of the configuration database
	// (os.Hostname() by default).
	Hostname string
	// Log receives the backend's messages (discarded if nil).
	Log *slog.Logger
	// PollInterval is how often `status` and `config dump` are polled
	// (1 s): the delay before changes made outside this daemon are seen
	// and notifications fire, and before a lost monitor connection is
	// noticed (plus OpTimeout).
	PollInterval time.Duration
	// KVRefresh is how often the config-key cache (mgr/...) is reloaded
	// (5 s).
	KVRefresh time.Duration
	// OpTimeout bounds calls made without a caller's context: polls, and
	// Store reads of uncached keys (5 s). The connection's own librados
	// timeouts should not be longer.
	OpTimeout time.Duration
	// Conf is the cluster's ceph.conf as read at attach: the Ceph option
	// values below the configuration database's (CephConf).
	Conf cephopts.Conf
}

func (o *Options) defaults() {
	if o.Hostname == "" {
		h, _ := os.Hostname()
		o.Hostname, _, _ = strings.Cut(h, ".")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.KVRefresh <= 0 {
		o.KVRefresh = 5 * time.Second
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 5 * time.Second
	}
}

// Backend is a backend.Backend on a Ceph cluster.
type Backend struct {
	conn Conn
	opts Options
	log  *slog.Logger
	fsid string

	config  *configStore
	kv      *kvStore
	cluster *cluster
	clog    *clusterLog

	connected atomic.Bool
	vmu       sync.RWMutex
	versions  map[string]string

	backend.Subscribers

	// onClose runs before the connection is closed (the election
	// releases its lock there).
	onClose   func()
	stop      chan struct{}
	done      chan struct{}
	clogDone  chan struct{}
	closeOnce sync.Once
}

var (
	_ backend.Backend       = (*Backend)(nil)
	_ backend.ClusterLogger = (*Backend)(nil)
)

// CephConf implements backend.CephConf.
func (b *Backend) CephConf() cephopts.Conf { return b.opts.Conf }

// New loads the configuration, the config-key cache and the cluster status
// through conn, then keeps them fresh in the background until Close. It
// fails if the monitors do not answer. The Backend owns conn.
func New(ctx context.Context, conn Conn, opts Options) (*Backend, error) {
	opts.defaults()
	b := &Backend{conn: conn, opts: opts, log: opts.Log, fsid: conn.FSID(), versions: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{}), clogDone: make(chan struct{})}
	b.config = newConfigStore(b)
	b.kv = newKVStore(b)
	b.cluster = newCluster(b)
	b.clog = newClusterLog(b)
	load := func(what string, f func(context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, b.opts.OpTimeout)
		defer cancel()
		if err := f(cctx); err != nil {
			return fmt.Errorf("load %s: %w", what, err)
		}
		return nil
	}
	err := errors.Join(
		load("the cluster status", func(ctx context.Context) error { _, err := b.pollStatus(ctx); return err }),
		load("the configuration database", func(ctx context.Context) error { _, err := b.config.refresh(ctx); return err }),
		load("the config-key store", b.kv.refresh),
	)
	if err != nil {
		conn.Close()
		return nil, err
	}
	b.connected.Store(true)
	go b.loop()
	go func() { defer close(b.clogDone); b.clog.run(b.stop) }()
	return b, nil
}

// Config implements backend.Backend: the monitors' configuration database.
func (b *Backend) Config() backend.Store { return b.config }

// KV implements backend.Backend: the config-key store.
func (b *Backend) KV() backend.Store { return b.kv }

// Cluster implements backend.Backend.
func (b *Backend) Cluster() backend.Cluster { return b.cluster }

// Close stops the background refresh, runs the close hook (the election's
// release) and closes the connection. It is idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		<-b.clogDone
		if b.onClose != nil {
			b.onClose()
		}
		b.conn.Close()
	})
	return nil
}

// mon sends a monitor command.
func (b *Backend) mon(ctx context.Context, cmd map[string]any, inbuf []byte) objectformat.Result {
	return command(ctx, b.conn.MonCommand, cmd, inbuf)
}

// monValue runs a monitor command with format json and decodes its output.
func (b *Backend) monValue(ctx context.Context, prefix string, args map[string]any) (any, error) {
	return monValue(ctx, b.conn, prefix, args)
}

func monValue(ctx context.Context, conn Conn, prefix string, args map[string]any) (any, error) {
	cmd := map[string]any{"prefix": prefix, "format": "json"}
	for k, v := range args {
		cmd[k] = v
	}
	res := command(ctx, conn.MonCommand, cmd, nil)
	if err := resultError(prefix, res); err != nil {
		return nil, err
	}
	v, err := jsonval.Decode(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: decode: %w", prefix, err)
	}
	return v, nil
}

// version returns the current version of a dependency ("" if unknown).
func (b *Backend) version(dep string) string {
	b.vmu.RLock()
	defer b.vmu.RUnlock()
	return b.versions[dep]
}

// statusVersions extracts the dependency versions from `status -f json`.
func statusVersions(out []byte) (map[string]string, error) {
	var s map[string]json.RawMessage
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	epoch := func(k string) string {
		var m struct {
			Epoch  json.RawMessage `json:"epoch"`
			OSDMap *struct {
				Epoch json.RawMessage `json:"epoch"`
			} `json:"osdmap"` // Octopus nests osdmap in osdmap
		}
		if json.Unmarshal(s[k], &m) != nil {
			return string(s[k])
		}
		if m.Epoch == nil && m.OSDMap != nil {
			return string(m.OSDMap.Epoch)
		}
		return string(m.Epoch)
	}
	return map[string]string{
		depOSDMap:     epoch("osdmap"),
		depMonMap:     epoch("monmap"),
		depFSMap:      epoch("fsmap"),
		depServiceMap: epoch("servicemap"),
		depQuorum:     string(s["election_epoch"]) + " " + string(s["quorum"]),
		depMgrMap:     string(s["mgrmap"]),
		depHealth:     string(s["health"]),
		depPGMap:      string(s["pgmap"]),
	}, nil
}

// pollStatus runs `status` and records the new versions; it returns the
// dependencies that changed (none on the first poll).
func (b *Backend) pollStatus(ctx context.Context) ([]string, error) {
	res := b.mon(ctx, map[string]any{"prefix": "status", "format": "json"}, nil)
	if err := resultError("status", res); err != nil {
		return nil, err
	}
	vers, err := statusVersions(res.Stdout)
	if err != nil {
		return nil, err
	}
	b.vmu.Lock()
	defer b.vmu.Unlock()
	var changed []string
	if len(b.versions) > 0 {
		for dep, v := range vers {
			if b.versions[dep] != v {
				changed = append(changed, dep)
			}
		}
	}
	b.versions = vers
	slices.Sort(changed)
	return changed, nil
}

// loop polls until Close.
func (b *Backend) loop() {
	defer close(b.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(b.opts.PollInterval)
	defer t.Stop()
	lastKV := time.Now()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		reconnected := b.poll(ctx)
		if ctx.Err() != nil {
			return
		}
		if b.connected.Load() && (reconnected || time.Since(lastKV) >= b.opts.KVRefresh) {
			cctx, ccancel := context.WithTimeout(ctx, b.opts.OpTimeout)
			if err := b.kv.refresh(cctx); err != nil {
				b.log.Warn("refresh the config-key cache", "err", err)
			} else {
				lastKV = time.Now()
			}
			ccancel()
		}
	}
}

// poll runs one status and config refresh, tracks the monitor connection
// and emits the events. It reports whether the connection came back.
func (b *Backend) poll(ctx context.Context) (reconnected bool) {
	cctx, cancel := context.WithTimeout(ctx, b.opts.OpTimeout)
	changed, err := b.pollStatus(cctx)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		if b.connected.Swap(false) {
			b.log.Warn("lost the monitor connection; serving cached state", "err", err)
			b.Emit(backend.Event{Kind: backend.ConnectionChanged})
		}
		return false
	}
	if !b.connected.Swap(true) {
		reconnected = true
		b.log.Info("monitor connection is back")
		b.Emit(backend.Event{Kind: backend.ConnectionChanged})
	}
	cctx, cancel = context.WithTimeout(ctx, b.opts.OpTimeout)
	keys, err := b.config.refresh(cctx)
	cancel()
	if err != nil {
		b.log.Warn("refresh the configuration", "err", err)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.Emit(backend.Event{Kind: backend.ConfigChanged, Key: k})
	}
	for _, dep := range changed {
		if t, ok := notifyOf[dep]; ok {
			b.Emit(backend.Event{Kind: backend.ClusterNotify, Notification: module.Notification{Type: t}})
		}
	}
	return reconnected
}
