package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// historyKey is the KV key of the health-check history (Pacific's
// HealthHistory.kv_name).
const historyKey = "health_history"

// storeTimeout bounds a write of the history to the KV store.
const storeTimeout = 10 * time.Second

// healthCheckEvent is what the module remembers of a health check it
// saw: Pacific's HealthCheckEvent. The times are seconds since the epoch
// as Python's time.time() gives them (float64), or as a stored history
// had them (float64 or int64).
type healthCheckEvent struct {
	name      string
	severity  any // the check's severity text; nil if it had none
	firstSeen any
	lastSeen  any
	count     int64
	active    bool
}

// healthHistory is Pacific's HealthHistory: the health checks seen, in
// the order first seen (the order of its JSON), kept in the module's KV
// store (health_history) so that it survives restarts.
type healthHistory struct {
	mu     sync.Mutex
	events map[string]*healthCheckEvent
	order  []string
	dirty  bool // changed since the last successful save
	now    func() float64
	loc    *time.Location // of the times ls prints (Pacific: local time)
}

func newHealthHistory() *healthHistory {
	return &healthHistory{events: map[string]*healthCheckEvent{}, loc: time.Local, now: func() float64 {
		return float64(time.Now().UnixNano()) / 1e9
	}}
}

// load reads the stored history as Pacific's _load does: none, or one
// that is not JSON, resets it (and stores "{}"); a field an entry lacks
// takes Pacific's default.
func (hh *healthHistory) load(ctx context.Context, h *module.Handle) {
	data, ok := h.Store(historyKey)
	if ok && data != "" {
		if err := hh.decode(data); err == nil {
			return
		}
		h.Log().Warn(fmt.Sprintf("INVALID data read from mgr/%s/%s. Resetting", h.Name(), historyKey))
	}
	if err := hh.reset(ctx, h); err != nil {
		h.Log().Error("resetting the health check history", "err", err)
	}
}

// decode replaces the history with the stored JSON data.
func (hh *healthHistory) decode(data string) error {
	if !json.Valid([]byte(data)) {
		return fmt.Errorf("the history is not JSON")
	}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("the history is not a JSON object")
	}
	events := map[string]*healthCheckEvent{}
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("health check %q: %w", name, err)
		}
		ev := &healthCheckEvent{name: name, severity: v["severity"], firstSeen: int64(0), lastSeen: int64(0), count: 1, active: true}
		if t, ok := v["first_seen"]; ok {
			ev.firstSeen = number(t)
		}
		if t, ok := v["last_seen"]; ok {
			ev.lastSeen = number(t)
		}
		if c, ok := v["count"]; ok {
			ev.count = int64(asFloat(c))
		}
		if a, ok := v["active"].(bool); ok {
			ev.active = a
		}
		if _, seen := events[name]; !seen {
			order = append(order, name)
		}
		events[name] = ev
	}
	hh.mu.Lock()
	defer hh.mu.Unlock()
	hh.events, hh.order, hh.dirty = events, order, false
	return nil
}

// number is a stored time as Python reads it: an integer stays one.
func number(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return asFloat(v)
}

// reset stores the history empty and then empties it (Pacific's reset);
// if the store fails, the history is kept.
func (hh *healthHistory) reset(ctx context.Context, h *module.Handle) error {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := h.SetStore(ctx, historyKey, "{}"); err != nil {
		return err
	}
	hh.events, hh.order, hh.dirty = map[string]*healthCheckEvent{}, nil, false
	return nil
}

// check is Pacific's HealthHistory.check: the checks no longer raised
// become inactive, new ones are recorded, and one raised again counts
// once more. It reports whether the history changed (it is then to be
// saved).
func (hh *healthHistory) check(checks map[string]any) bool {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	changed := false
	for _, name := range hh.order {
		ev := hh.events[name]
		if _, ok := checks[name]; ev.active && !ok {
			ev.active = false
			changed = true
		}
	}
	now := hh.now()
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		ev := hh.events[name]
		switch {
		case ev == nil:
			hh.events[name] = &healthCheckEvent{name: name, severity: asMap(checks[name])["severity"],
				firstSeen: now, lastSeen: now, count: 1, active: true}
			hh.order = append(hh.order, name)
			changed = true
		case !ev.active:
			ev.lastSeen, ev.active = now, true
			ev.count++
			changed = true
		}
	}
	hh.dirty = hh.dirty || changed
	return changed
}

// save stores the history if it changed since it was last stored; a
// failed write is retried at the next save.
func (hh *healthHistory) save(ctx context.Context, h *module.Handle) error {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	if !hh.dirty {
		return nil
	}
	data, err := hh.jsonLocked(false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := h.SetStore(ctx, historyKey, string(data)); err != nil {
		return fmt.Errorf("saving the health check history: %w", err)
	}
	hh.dirty = false
	return nil
}

// severityText is str(severity) as Pacific labels health_detail with it.
func severityText(sev any) string {
	if sev == nil {
		return "None"
	}
	return asString(sev)
}

// detail calls fn for each check of the history, with its severity
// text and whether it is active.
func (hh *healthHistory) detail(fn func(name, severity string, active bool)) {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	for _, name := range hh.order {
		ev := hh.events[name]
		fn(name, severityText(ev.severity), ev.active)
	}
}

// fields are an event's members in Pacific's order (its __dict__).
func (ev *healthCheckEvent) fields() [][2]any {
	return [][2]any{{"name", ev.name}, {"severity", ev.severity}, {"first_seen", ev.firstSeen},
		{"last_seen", ev.lastSeen}, {"count", ev.count}, {"active", ev.active}}
}

// JSON is Pacific's as_json: the events by name in the order first seen,
// their members in Pacific's order, indented by 2 when pretty.
func (hh *healthHistory) JSON(pretty bool) ([]byte, error) {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	return hh.jsonLocked(pretty)
}

func (hh *healthHistory) jsonLocked(pretty bool) ([]byte, error) {
	if len(hh.order) == 0 {
		return []byte("{}"), nil
	}
	var b bytes.Buffer
	nl := func(level int) {
		if pretty {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", level))
		}
	}
	sep := func(level int) {
		b.WriteByte(',')
		if !pretty {
			b.WriteByte(' ')
		}
		nl(level)
	}
	scalar := func(v any) error {
		out, err := objectformat.EncodeJSON(v, -1)
		if err != nil {
			return err
		}
		b.Write(out)
		return nil
	}
	b.WriteByte('{')
	nl(1)
	for i, name := range hh.order {
		if i > 0 {
			sep(1)
		}
		if err := scalar(name); err != nil {
			return nil, err
		}
		b.WriteString(": {")
		nl(2)
		for j, f := range hh.events[name].fields() {
			if j > 0 {
				sep(2)
			}
			if err := scalar(f[0]); err != nil {
				return nil, err
			}
			b.WriteString(": ")
			if err := scalar(f[1]); err != nil {
				return nil, fmt.Errorf("health check %q: %w", name, err)
			}
		}
		nl(1)
		b.WriteByte('}')
	}
	nl(0)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// YAML is Pacific's as_yaml: yaml.safe_dump with explicit_start and
// block style (keys sorted).
func (hh *healthHistory) YAML() ([]byte, error) {
	hh.mu.Lock()
	tree := map[string]any{}
	for name, ev := range hh.events {
		m := map[string]any{}
		for _, f := range ev.fields() {
			m[f[0].(string)] = f[1]
		}
		tree[name] = m
	}
	hh.mu.Unlock()
	out, err := objectformat.EncodeYAML(tree)
	if err != nil {
		return nil, err
	}
	// explicit_start: "---" before the document, on its own line before a
	// block collection, followed by a space before a flow one ("{}").
	if bytes.HasPrefix(out, []byte("{")) {
		return append([]byte("--- "), out...), nil
	}
	return append([]byte("---\n"), out...), nil
}

// historyDateFormat is Pacific's date_format, "%Y/%m/%d %H:%M:%S", of
// local time as its time.localtime.
const historyDateFormat = "2006/01/02 15:04:05"

// localTime is time.strftime(date_format, time.localtime(t)), in loc.
func localTime(t any, loc *time.Location) string {
	sec := asFloat(t)
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9)).In(loc).Format(historyDateFormat)
}

// center is Python's format spec "^width": the text centred, the odd
// space on the right.
func center(s string, width int) string {
	pad := width - len([]rune(s))
	if pad <= 0 {
		return s
	}
	return strings.Repeat(" ", pad/2) + s + strings.Repeat(" ", pad-pad/2)
}

// historyRow is Pacific's HealthHistory.titles format.
func historyRow(name, first, last, count, active string) string {
	return fmt.Sprintf("%-24s  %-20s  %-20s  %5s  %s", name, first, last, count, center(active, 6))
}

// String is Pacific's HealthHistory.__str__: a table of the checks,
// sorted by name, and their number.
func (hh *healthHistory) String() string {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	if len(hh.order) == 0 {
		return "No healthchecks have been recorded"
	}
	out := []string{historyRow("Healthcheck Name", "First Seen (UTC)", "Last seen (UTC)", "Count", "Active")}
	for _, name := range slices.Sorted(slices.Values(hh.order)) {
		ev := hh.events[name]
		active := "No"
		if ev.active {
			active = "Yes"
		}
		out = append(out, historyRow(ev.name, localTime(ev.firstSeen, hh.loc), localTime(ev.lastSeen, hh.loc), fmt.Sprint(ev.count), active))
	}
	out = append(out, fmt.Sprintf("%d health check(s) listed", len(hh.order)), "")
	return strings.Join(out, "\n")
}
