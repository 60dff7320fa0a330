package modhost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomgr/gomgr/internal/privdir"
	"github.com/gomgr/gomgr/pkg/module"
)

// levelFromOption maps a log_level option value to a slog level; ok is
// false for "" (follow the daemon).
func levelFromOption(v string) (slog.Level, bool) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	case "critical":
		return module.LevelCritical, true
	}
	return 0, false
}

// LevelFromDebug maps Ceph's debug_mgr level ("2/5" takes 2) to a module
// log level as the Python framework does: <=0 critical, <=1 warning, <=4
// info, above that debug.
func LevelFromDebug(debug int) slog.Level {
	switch {
	case debug <= 0:
		return module.LevelCritical
	case debug <= 1:
		return slog.LevelWarn
	case debug <= 4:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// moduleLog is a module's log: it goes to the daemon log, or only to the
// module's own file while log_to_file is on, at the level log_level (or
// the daemon's debug level) selects.
type moduleLog struct {
	name   string
	level  slog.LevelVar
	daemon io.Writer
	path   string
	// handler, if set (Config.ModuleLog), receives the module's records
	// instead of the text lines to daemon (or the log_to_file file).
	handler func(module string, level slog.Leveler) slog.Handler

	// clog sends to the cluster log (the handle's ClusterLog); records at
	// clogLevel and above go there too while toCluster is on
	// (log_to_cluster, log_to_cluster_level).
	clog      func(channel string, level slog.Level, msg string)
	toCluster atomic.Bool
	clogLevel slog.LevelVar

	mu   sync.Mutex
	file *os.File
}

func newModuleLog(name string, daemon io.Writer, logDir, mgrID string) *moduleLog {
	l := &moduleLog{name: name, daemon: daemon}
	if logDir != "" {
		l.path = filepath.Join(logDir, fmt.Sprintf("ceph-mgr.%s.%s.log", mgrID, name))
	}
	return l
}

// Write sends a formatted record to the current destination.
func (l *moduleLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		return l.file.Write(p)
	}
	if l.daemon == nil {
		return len(p), nil
	}
	return l.daemon.Write(p)
}

// configure applies the module's logging options.
func (l *moduleLog) configure(level string, debug int, toFile, toCluster bool, clusterLevel string) error {
	if lv, ok := levelFromOption(level); ok {
		l.level.Set(lv)
	} else {
		l.level.Set(LevelFromDebug(debug))
	}
	cl, ok := levelFromOption(clusterLevel)
	if !ok {
		cl = slog.LevelDebug // "": every record, as Python's handler at NOTSET
	}
	l.clogLevel.Set(cl)
	l.toCluster.Store(toCluster)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case toFile && l.file == nil:
		if l.path == "" {
			return fmt.Errorf("log_to_file: the daemon has no log directory")
		}
		f, err := privdir.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return fmt.Errorf("log_to_file: %w", err)
		}
		l.file = f
	case !toFile && l.file != nil:
		l.file.Close()
		l.file = nil
	}
	return nil
}

func (l *moduleLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

func (l *moduleLog) logger() *slog.Logger {
	return slog.New(&clusterTee{inner: l.baseHandler(), l: l})
}

func (l *moduleLog) baseHandler() slog.Handler {
	if l.handler != nil {
		return l.handler(l.name, &l.level)
	}
	h := slog.NewTextHandler(l, &slog.HandlerOptions{
		Level: &l.level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey && a.Value.Any() == module.LevelCritical {
				return slog.String(slog.LevelKey, "CRITICAL")
			}
			return a
		},
	})
	return h.WithAttrs([]slog.Attr{slog.String("module", l.name)})
}

// clusterTee is a module logger's handler: its records go to the module's
// log, and, while log_to_cluster is on, those at log_to_cluster_level and
// above also to the cluster log, on the module's channel, as Python's
// ClusterLogHandler sends them (the message, here with its attributes).
type clusterTee struct {
	inner slog.Handler
	l     *moduleLog
	attrs []slog.Attr
	group string
}

func (t *clusterTee) toCluster(level slog.Level) bool {
	return t.l.clog != nil && t.l.toCluster.Load() && level >= t.l.clogLevel.Level()
}

func (t *clusterTee) Enabled(ctx context.Context, level slog.Level) bool {
	return t.inner.Enabled(ctx, level) || t.toCluster(level)
}

func (t *clusterTee) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.inner.Enabled(ctx, r.Level) {
		err = t.inner.Handle(ctx, r)
	}
	if t.toCluster(r.Level) {
		var b strings.Builder
		b.WriteString(r.Message)
		add := func(a slog.Attr) bool {
			if t.group != "" {
				a.Key = t.group + "." + a.Key
			}
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		}
		for _, a := range t.attrs {
			add(a)
		}
		r.Attrs(add)
		t.l.clog(t.l.name, r.Level, b.String())
	}
	return err
}

func (t *clusterTee) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *t
	c.inner = t.inner.WithAttrs(attrs)
	c.attrs = append(slices.Clone(t.attrs), attrs...)
	return &c
}

func (t *clusterTee) WithGroup(name string) slog.Handler {
	c := *t
	c.inner = t.inner.WithGroup(name)
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
