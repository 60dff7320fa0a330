package module

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Health severities.
const (
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// HealthCheck is one health check a module raises (set_health_checks).
type HealthCheck struct {
	// Severity is "warning" or "error".
	Severity string `json:"severity"`
	// Summary is the one-line text.
	Summary string `json:"summary"`
	// Count is how many things are affected.
	Count int `json:"count"`
	// Detail lines, shown by "health detail".
	Detail []string `json:"detail"`
}

// Validate checks a health check the way the mgr does: a known severity and
// a summary.
func (c HealthCheck) Validate() error {
	if c.Severity != SeverityWarning && c.Severity != SeverityError {
		return fmt.Errorf("severity %q is not %q or %q", c.Severity, SeverityWarning, SeverityError)
	}
	if c.Summary == "" {
		return fmt.Errorf("empty summary")
	}
	return nil
}

// Health is the daemon's health report, shaped like the monitor's
// (src/mon/HealthMonitor.cc): the overall status, the checks by name and
// the mutes. Its renderings match the monitor's byte for byte: Plain is
// "ceph health [detail]", JSON is "ceph health [detail] -f json[-pretty]",
// and MarshalJSON is JSON(true, false).
type Health struct {
	Status string
	Checks map[string]HealthReport
	Mutes  []HealthMute
}

// HealthReport is one check in a Health report.
type HealthReport struct {
	// Severity is HealthWarn or HealthErr.
	Severity string
	// Summary is the one-line text with its count.
	Summary HealthMessage
	// Detail lines (their Count is not used).
	Detail []HealthMessage
	// Muted checks are left out of the status and the summary line.
	Muted bool
	// Module names the module that raised the check.
	Module string
}

// HealthMessage is a message with a count, as Ceph writes them.
type HealthMessage struct {
	Message string
	Count   int
}

// HealthMute is a muted check, as "ceph health mute CODE [--sticky]"
// records it (without a ttl: gomgr's mutes do not expire).
type HealthMute struct {
	Code    string
	Sticky  bool
	Summary string
	Count   int
}

// Health status values.
const (
	HealthOK   = "HEALTH_OK"
	HealthWarn = "HEALTH_WARN"
	HealthErr  = "HEALTH_ERR"
)

// buildHealth merges checks into a report: the checks a mute names are
// muted (and no others), and the status is the worst severity of the
// others.
func buildHealth(checks map[string]HealthReport, mutes ...HealthMute) Health {
	h := Health{Status: HealthOK, Checks: checks, Mutes: slices.Clone(mutes)}
	slices.SortFunc(h.Mutes, func(a, b HealthMute) int { return strings.Compare(a.Code, b.Code) })
	for name, c := range checks {
		_, c.Muted = h.mute(name)
		checks[name] = c
		if c.Muted {
			continue
		}
		switch c.Severity {
		case HealthErr:
			h.Status = HealthErr
		case HealthWarn:
			if h.Status == HealthOK {
				h.Status = HealthWarn
			}
		}
	}
	if h.Mutes == nil {
		h.Mutes = []HealthMute{}
	}
	return h
}

func (h Health) mute(code string) (HealthMute, bool) {
	for _, m := range h.Mutes {
		if m.Code == code {
			return m, true
		}
	}
	return HealthMute{}, false
}

func severityStatus(sev string) string {
	if sev == SeverityError {
		return HealthErr
	}
	return HealthWarn
}

// shortSeverity is Ceph's short_health_string: WRN, ERR.
func shortSeverity(status string) string {
	switch status {
	case HealthWarn:
		return "WRN"
	case HealthErr:
		return "ERR"
	}
	return strings.TrimPrefix(status, "HEALTH_")
}

// Summary is the report's first line as the monitor builds it: the
// status, then the summaries of the checks that are not muted (in name
// order), the first preceded by first and the others by sep, then
// "(muted: CODE ...)" if anything is muted. "ceph health" uses " " and
// "; "; "ceph status" puts each on its own line: "\n" and 12 spaces.
func (h Health) Summary(first, sep string) string {
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
func (h Health) Plain(detail bool) string {
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
func (h Health) JSON(detail, pretty bool) []byte {
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
func (h Health) MarshalJSON() ([]byte, error) { return h.JSON(true, false), nil }

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

func sortedChecks(m map[string]HealthCheck) []string { return sortedKeys(m) }
