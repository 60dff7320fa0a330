// Package health is the daemon's health report: the checks its modules and
// its backend raise, merged with the mutes into what "health [detail]"
// prints, byte for byte as the monitor prints it.
package health

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gomgr/gomgr/pkg/module"
)

// Report is the daemon's health report, shaped like the monitor's
// (src/mon/HealthMonitor.cc): the overall status, the checks by name and
// the mutes. Its renderings match the monitor's byte for byte: Plain is
// "ceph health [detail]", JSON is "ceph health [detail] -f json[-pretty]",
// and MarshalJSON is JSON(true, false).
type Report struct {
	Status string
	Checks map[string]Check
	Mutes  []Mute
}

// Check is one check in a Report report.
type Check struct {
	// Severity is Warn or Err.
	Severity string
	// Summary is the one-line text with its count.
	Summary Message
	// Detail lines (their Count is not used).
	Detail []Message
	// Muted checks are left out of the status and the summary line.
	Muted bool
	// Module names the module that raised the check.
	Module string
}

// Message is a message with a count, as Ceph writes them.
type Message struct {
	Message string
	Count   int
}

// Mute is a muted check, as "ceph health mute CODE [--sticky]"
// records it (without a ttl: gomgr's mutes do not expire).
type Mute struct {
	Code    string
	Sticky  bool
	Summary string
	Count   int
}

// Report status values.
const (
	OK   = module.HealthOK
	Warn = module.HealthWarn
	Err  = module.HealthErr
)

// Build merges checks into a report: the checks a mute names are
// muted (and no others), and the status is the worst severity of the
// others.
func Build(checks map[string]Check, mutes ...Mute) Report {
	h := Report{Status: OK, Checks: checks, Mutes: slices.Clone(mutes)}
	slices.SortFunc(h.Mutes, func(a, b Mute) int { return strings.Compare(a.Code, b.Code) })
	for name, c := range checks {
		_, c.Muted = h.mute(name)
		checks[name] = c
		if c.Muted {
			continue
		}
		switch c.Severity {
		case Err:
			h.Status = Err
		case Warn:
			if h.Status == OK {
				h.Status = Warn
			}
		}
	}
	if h.Mutes == nil {
		h.Mutes = []Mute{}
	}
	return h
}

func (h Report) mute(code string) (Mute, bool) {
	for _, m := range h.Mutes {
		if m.Code == code {
			return m, true
		}
	}
	return Mute{}, false
}

func SeverityStatus(sev string) string {
	if sev == module.SeverityError {
		return Err
	}
	return Warn
}

// shortSeverity is Ceph's short_health_string: WRN, ERR.
func shortSeverity(status string) string {
	switch status {
	case Warn:
		return "WRN"
	case Err:
		return "ERR"
	}
	return strings.TrimPrefix(status, "HEALTH_")
}

// Summary is the report's first line as the monitor builds it: the
// status, then the summaries of the checks that are not muted (in name
// order), the first preceded by first and the others by sep, then
// "(muted: CODE ...)" if anything is muted. "ceph health" uses " " and
// "; "; "ceph status" puts each on its own line: "\n" and 12 spaces.
func (h Report) Summary(first, sep string) string {
	var b strings.Builder
	b.WriteString(h.Status)
	n := 0
	for _, name := range sortedKeys(h.Checks) {
		c := h.Checks[name]
		if c.Muted {
			continue
		}
		if n == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(sep)
		}
		b.WriteString(c.Summary.Message)
		n++
	}
	if len(h.Mutes) > 0 {
		if n == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(sep)
		}
		b.WriteString("(muted:")
		for _, m := range h.Mutes {
			b.WriteString(" " + m.Code)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Plain renders the report as the monitor's "ceph health" does, or with
// detail as "ceph health detail": the summary line, then per check
// "[WRN] NAME: summary" ("[ERR]" for errors, prefixed with "(MUTED) " or
// "(MUTED, STICKY) " when muted) and its detail lines indented by four
// spaces. Every line ends with a newline.
func (h Report) Plain(detail bool) string {
	var b strings.Builder
	b.WriteString(h.Summary(" ", "; "))
	b.WriteByte('\n')
	if !detail {
		return b.String()
	}
	for _, name := range sortedKeys(h.Checks) {
		c := h.Checks[name]
		if c.Muted {
			m, _ := h.mute(name)
			b.WriteString("(MUTED")
			if m.Sticky {
				b.WriteString(", STICKY")
			}
			b.WriteString(") ")
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", shortSeverity(c.Severity), name, c.Summary.Message)
		for _, d := range c.Detail {
			b.WriteString("    " + d.Message + "\n")
		}
	}
	return b.String()
}

// JSON renders the report as the monitor's "ceph health -f json" does
// (pretty: "-f json-pretty"), detail adding each check's detail list as
// "ceph health detail" does. The bytes are the monitor's: keys in its
// order, four-space indentation and a final newline when pretty, strings
// escaped as Ceph's escape_json_attr does. (Check names are escaped too,
// where Ceph writes them raw and so would print invalid JSON for a name
// with a quote in it.)
func (h Report) JSON(detail, pretty bool) []byte {
	w := &cephJSON{pretty: pretty}
	w.open("", '{')
	w.str("status", h.Status)
	w.open("checks", '{')
	for _, name := range sortedKeys(h.Checks) {
		c := h.Checks[name]
		w.open(name, '{')
		w.str("severity", c.Severity)
		w.open("summary", '{')
		w.str("message", c.Summary.Message)
		w.raw("count", strconv.Itoa(c.Summary.Count))
		w.close()
		if detail {
			w.open("detail", '[')
			for _, d := range c.Detail {
				w.open("detail_item", '{')
				w.str("message", d.Message)
				w.close()
			}
			w.close()
		}
		w.raw("muted", strconv.FormatBool(c.Muted))
		w.close()
	}
	w.close()
	w.open("mutes", '[')
	for _, m := range h.Mutes {
		w.open("mute", '{')
		w.str("code", m.Code)
		w.raw("sticky", strconv.FormatBool(m.Sticky))
		w.str("summary", m.Summary)
		w.raw("count", strconv.Itoa(m.Count))
		w.close()
	}
	w.close()
	w.close()
	if pretty {
		w.b = append(w.b, '\n')
	}
	return w.b
}

// MarshalJSON is JSON(true, false), the form the mgr hands its modules.
func (h Report) MarshalJSON() ([]byte, error) { return h.JSON(true, false), nil }

// cephJSON writes JSON as Ceph's JSONFormatter lays it out.
type cephJSON struct {
	b      []byte
	pretty bool
	stack  []cephSection
}

type cephSection struct {
	array bool
	n     int
}

// name starts a member of the innermost open section (nothing at the top).
func (w *cephJSON) name(key string) {
	if len(w.stack) == 0 {
		return
	}
	top := &w.stack[len(w.stack)-1]
	if top.n > 0 {
		w.b = append(w.b, ',')
	}
	if w.pretty {
		w.b = append(w.b, '\n')
		w.b = append(w.b, strings.Repeat("    ", len(w.stack))...)
	}
	if !top.array {
		w.b = appendCephString(w.b, key)
		w.b = append(w.b, ':')
		if w.pretty {
			w.b = append(w.b, ' ')
		}
	}
	top.n++
}

func (w *cephJSON) open(key string, brace byte) {
	w.name(key)
	w.b = append(w.b, brace)
	w.stack = append(w.stack, cephSection{array: brace == '['})
}

func (w *cephJSON) close() {
	top := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if w.pretty && top.n > 0 {
		w.b = append(w.b, '\n')
		w.b = append(w.b, strings.Repeat("    ", len(w.stack))...)
	}
	if top.array {
		w.b = append(w.b, ']')
	} else {
		w.b = append(w.b, '}')
	}
}

func (w *cephJSON) str(key, v string) {
	w.name(key)
	w.b = appendCephString(w.b, v)
}

func (w *cephJSON) raw(key, v string) {
	w.name(key)
	w.b = append(w.b, v...)
}

// appendCephString quotes s as Ceph's escape_json_attr does: '"', '\\',
// tab and newline by name, other bytes below 0x20 and DEL as \u00xx, every
// other byte (UTF-8 included) as it is.
func appendCephString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// FromCheck is a module's check as a report entry (module "" is the
// daemon's own).
func FromCheck(mod string, c module.HealthCheck) Check {
	r := Check{Severity: SeverityStatus(c.Severity), Summary: Message{Message: c.Summary, Count: c.Count}, Module: mod, Detail: []Message{}}
	for _, d := range c.Detail {
		r.Detail = append(r.Detail, Message{Message: d})
	}
	return r
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
