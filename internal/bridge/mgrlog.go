package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gomgr/gomgr/pkg/module"
)

// mgrLog is the handler of a Go module's log under the bridge: each record
// goes to the real mgr's log through the module's shim ("log", one-way:
// it never waits), as the mgr logs its Python modules; while the shim is
// not connected, to the Go side's own log.
type mgrLog struct {
	s     *server
	name  string
	level slog.Leveler
	attrs string // "k=v k=v" of WithAttrs
	group string
}

func (s *server) moduleLog(name string, level slog.Leveler) slog.Handler {
	return &mgrLog{s: s, name: name, level: level}
}

func (h *mgrLog) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *mgrLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	if h.attrs != "" {
		b.WriteString(" " + h.attrs)
	}
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + h.key(a.Key) + "=" + fmt.Sprint(a.Value.Any()))
		return true
	})
	msg := b.String()
	p, err := h.s.b.peerOf(h.name)
	if err == nil {
		err = p.send("log", map[string]any{"level": mgrLevel(r.Level), "msg": msg})
	}
	if err != nil {
		h.s.log.Log(context.Background(), r.Level, msg, "module", h.name)
	}
	return nil
}

func (h *mgrLog) key(k string) string {
	if h.group != "" {
		return h.group + "." + k
	}
	return k
}

func (h *mgrLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		if c.attrs != "" {
			c.attrs += " "
		}
		c.attrs += h.key(a.Key) + "=" + fmt.Sprint(a.Value.Any())
	}
	return &c
}

func (h *mgrLog) WithGroup(name string) slog.Handler {
	c := *h
	c.group = h.key(name)
	return &c
}

// mgrLevel is a slog level as the name of a Python logger's method.
func mgrLevel(l slog.Level) string {
	switch {
	case l >= module.LevelCritical:
		return "critical"
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}
