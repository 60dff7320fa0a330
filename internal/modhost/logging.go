package modhost

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

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
func (l *moduleLog) configure(level string, debug int, toFile bool) error {
	if lv, ok := levelFromOption(level); ok {
		l.level.Set(lv)
	} else {
		l.level.Set(LevelFromDebug(debug))
	}
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
	if l.handler != nil {
		return slog.New(l.handler(l.name, &l.level))
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
	return slog.New(h).With("module", l.name)
}
