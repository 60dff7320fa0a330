// Package crash is a Go port of Ceph's "crash" mgr module: daemons post
// their crash reports to it (`crash post -i report.json`), it keeps them
// in its KV store (key crash/<crash_id>, the report's JSON as the value),
// lists, shows, archives and prunes them, and raises RECENT_CRASH for
// crashes newer than warn_recent_interval that are not archived.
//
// It is written in the legacy style on purpose, as the Python module is:
// its commands are Ceph cmd strings (LegacyCommands, Python's COMMANDS)
// and one HandleCommand dispatches them on cmd["prefix"] (Python's
// handle_command). It is the example of module.LegacyCommander.
package crash

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

const (
	day = 24 * time.Hour

	// The serve loop's period bounds in seconds (MAX_WAIT, MIN_WAIT).
	maxWait = 600.0
	minWait = 60.0

	// storePrefix is where crashes live in the module's KV store.
	storePrefix = "crash/"

	// maxDetail is how many crashes RECENT_CRASH names.
	maxDetail = 30
)

func init() {
	module.Register(module.Info{
		Name: "crash",
		Desc: "Crash report collection and health warnings",
		New:  func() module.Module { return &Module{wake: make(chan struct{}, 1)} },
		Options: []module.Option{
			{Name: "warn_recent_interval", Type: module.Secs, Default: 60 * 60 * 24 * 14, Runtime: true,
				Desc: "time interval in which to warn about recent crashes"},
			{Name: "retain_interval", Type: module.Secs, Default: 60 * 60 * 24 * 365, Runtime: true,
				Desc: "how long to retain crashes before pruning them"},
		},
	})
}

// Module is the crash module.
type Module struct {
	mgr  *module.Handle
	wake chan struct{} // ConfigNotify wakes the serve loop

	mu      sync.Mutex
	crashes map[string]*meta // by crash id; nil or empty: (re)load from the store
	order   []string         // crash ids in load-then-post order (Python's dict order)
}

// Init keeps the handle.
func (m *Module) Init(h *module.Handle) error {
	m.mgr = h
	return nil
}

// LegacyCommands is the module's COMMANDS list.
func (m *Module) LegacyCommands() []module.LegacyCommand {
	return []module.LegacyCommand{
		{Cmd: "crash info name=id,type=CephString", Desc: "show crash dump metadata", Perm: "r"},
		{Cmd: "crash ls", Desc: "Show new and archived crash dumps", Perm: "r"},
		{Cmd: "crash ls-new", Desc: "Show new crash dumps", Perm: "r"},
		{Cmd: "crash post", Desc: "Add a crash dump (use -i <jsonfile>)", Perm: "rw"},
		{Cmd: "crash prune name=keep,type=CephString", Desc: "Remove crashes older than <keep> days", Perm: "rw"},
		{Cmd: "crash rm name=id,type=CephString", Desc: "Remove a saved crash <id>", Perm: "rw"},
		{Cmd: "crash stat", Desc: "Summarize recorded crashes", Perm: "r"},
		{Cmd: "crash json_report name=hours,type=CephString", Desc: "Crashes in the last <hours> hours", Perm: "r"},
		{Cmd: "crash archive name=id,type=CephString", Desc: "Acknowledge a crash and silence health warning(s)", Perm: "w"},
		{Cmd: "crash archive-all", Desc: "Acknowledge all new crashes and silence health warning(s)", Perm: "w"},
	}
}

// HandleCommand runs one of the module's commands (Python's
// handle_command): it dispatches on cmd["prefix"].
func (m *Module) HandleCommand(ctx context.Context, inbuf []byte, cmd map[string]any) objectformat.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadIfEmpty()
	prefix, _ := cmd["prefix"].(string)
	id, _ := cmd["id"].(string)
	var err error
	switch prefix {
	case "crash info":
		return m.info(id)
	case "crash ls", "crash ls-new":
		format, _ := cmd["format"].(string)
		return m.ls(prefix == "crash ls", format)
	case "crash post":
		err = m.post(ctx, inbuf)
	case "crash prune":
		keep, _ := cmd["keep"].(string)
		days, ok := pyInt(keep)
		if !ok {
			return refuse("keep argument must be integer")
		}
		err = m.prune(ctx, time.Now().UTC().AddDate(0, 0, -int(days)))
	case "crash rm":
		err = m.rm(ctx, id)
	case "crash stat":
		return objectformat.OK(m.stat(time.Now()))
	case "crash json_report":
		hours, _ := cmd["hours"].(string)
		if _, ok := pyInt(hours); !ok {
			return refuse("<hours> argument must be integer")
		}
		return m.jsonReport()
	case "crash archive":
		return m.archive(ctx, id)
	case "crash archive-all":
		err = m.archiveAll(ctx)
	default:
		return refuse("unknown command " + prefix)
	}
	var r refusal
	if errors.As(err, &r) {
		return refuse(string(r))
	}
	if err != nil {
		return objectformat.ResultOf(err)
	}
	return objectformat.Result{}
}

// Serve refreshes the health check and prunes old crashes periodically
// (every warn_recent_interval/100, within 60s..600s) and whenever an option
// changes.
func (m *Module) Serve(ctx context.Context) error {
	for {
		m.mu.Lock()
		m.refreshHealth()
		retain, err := m.mgr.FloatOption("retain_interval")
		if err == nil {
			err = m.prune(ctx, before(time.Now(), retain))
		}
		m.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			m.mgr.Log().Warn("pruning old crashes", "err", err)
		}
		warn, _ := m.mgr.FloatOption("warn_recent_interval")
		wait := min(maxWait, max(warn/100, minWait))
		t := time.NewTimer(time.Duration(wait * float64(time.Second)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-m.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// ConfigNotify wakes the serve loop, which applies the new intervals.
func (m *Module) ConfigNotify(context.Context) {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// before is now less secs seconds (which may be more than a
// time.Duration holds), in UTC.
func before(now time.Time, secs float64) time.Time {
	secs = min(max(secs, -maxSecs), maxSecs)
	whole := math.Trunc(secs)
	return time.Unix(now.Unix()-int64(whole), int64(now.Nanosecond())-int64((secs-whole)*1e9)).UTC()
}

// loadIfEmpty (re)reads the crashes from the KV store when none are
// known, as the Python module does. Entries that are not a JSON object
// with a parsable timestamp are skipped (and logged): Python would fail.
func (m *Module) loadIfEmpty() {
	if len(m.crashes) > 0 {
		return
	}
	m.crashes = map[string]*meta{}
	m.order = nil
	raw := m.mgr.StorePrefix(storePrefix)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := decodeJSON([]byte(raw[k]))
		md, ok := v.(*meta)
		if err == nil && !ok {
			err = errors.New("not a JSON object")
		}
		if err == nil {
			_, err = md.timestamp()
		}
		if err != nil {
			m.mgr.Log().Warn("skipping unreadable crash report", "key", k, "err", err)
			continue
		}
		id := strings.TrimPrefix(k, storePrefix)
		m.crashes[id] = md
		m.order = append(m.order, id)
	}
}

func (md *meta) timestamp() (time.Time, error) {
	v, ok := md.get("timestamp")
	if !ok {
		return time.Time{}, errors.New("missing 'timestamp' field")
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("'%s' object has no attribute 'rstrip'", pyTypeName(v))
	}
	return timeFromString(s)
}

// each calls fn for every crash, in Python's dict order.
func (m *Module) each(fn func(id string, md *meta)) {
	for _, id := range m.order {
		fn(id, m.crashes[id])
	}
}

func (m *Module) add(id string, md *meta) {
	if _, ok := m.crashes[id]; !ok {
		m.order = append(m.order, id)
	}
	m.crashes[id] = md
}

func (m *Module) remove(id string) {
	delete(m.crashes, id)
	m.order = slices.DeleteFunc(m.order, func(s string) bool { return s == id })
}

func (m *Module) save(ctx context.Context, id string, md *meta) error {
	val, err := md.encode()
	if err != nil {
		return objectformat.WrapCode(err, -int(syscall.EINVAL))
	}
	return m.mgr.SetStore(ctx, storePrefix+id, val)
}

// refreshHealth raises RECENT_CRASH for the unarchived crashes newer than
// warn_recent_interval, or clears it.
func (m *Module) refreshHealth() {
	warn, err := m.mgr.FloatOption("warn_recent_interval")
	if err != nil {
		m.mgr.Log().Warn("reading warn_recent_interval", "err", err)
		return
	}
	cutoff := before(time.Now(), warn)
	var detail []string
	m.each(func(_ string, md *meta) {
		ts, err := md.timestamp()
		if _, archived := md.get("archived"); err != nil || archived || !ts.After(cutoff) {
			return
		}
		detail = append(detail, fmt.Sprintf("%s crashed on host %s at %s",
			md.str("entity_name", "unidentified daemon"), md.str("utsname_hostname", "(unknown)"), md.str("timestamp", "unknown time")))
	})
	checks := map[string]module.HealthCheck{}
	if n := len(detail); n > 0 {
		if n > maxDetail {
			detail = append(detail[:maxDetail], fmt.Sprintf("and %d more", n-maxDetail))
		}
		checks["RECENT_CRASH"] = module.HealthCheck{
			Severity: module.SeverityWarning,
			Summary:  fmt.Sprintf("%d daemons have recently crashed", n),
			Count:    n,
			Detail:   detail,
		}
	}
	m.mgr.SetHealthChecks(checks)
}

func (m *Module) info(id string) objectformat.Result {
	md, ok := m.crashes[id]
	if !ok {
		return refuse(fmt.Sprintf("crash info: %s not found", id))
	}
	out, err := objectformat.EncodeJSON(md.vals, 4)
	if err != nil {
		return objectformat.Failed(syscall.EINVAL, err.Error())
	}
	return objectformat.Result{Stdout: out}
}

// refuse answers bad input: -EINVAL with the Python module's text. (The
// Python module returns errno.EINVAL as a positive retval, a bug: the ceph
// CLI then prints the error on stderr and exits 0; here the command fails,
// exit status 22, as intended.)
func refuse(msg string) objectformat.Result {
	return objectformat.Failed(syscall.EINVAL, msg)
}

// refusal is an error answered with refuse.
type refusal string

func (r refusal) Error() string { return string(r) }

// exception is what a report the Python module fails on (its handler
// raises, which the mgr answers with -EINVAL and the traceback) answers
// here: -EINVAL and the reason.
func exception(err error) error {
	return objectformat.Errorf(syscall.EINVAL, "crash post: %v", err)
}

func malformed(format string, args ...any) error {
	return refusal("malformed crash metadata: " + fmt.Sprintf(format, args...))
}

// validate reads a posted report: a JSON object with a crash_id and a
// timestamp in one of the two formats. Errors read as Python's.
func validate(inbuf []byte) (*meta, error) {
	v, err := decodeJSON(inbuf)
	if err != nil {
		return nil, malformed("%v", err)
	}
	md, ok := v.(*meta)
	if !ok {
		return nil, malformed("%s", notObject(v))
	}
	for _, f := range []string{"crash_id", "timestamp"} {
		if _, ok := md.get(f); !ok {
			return nil, malformed("missing '%s' field", f)
		}
	}
	if _, err := md.timestamp(); err != nil {
		return nil, malformed("%v", err)
	}
	return md, nil
}

// notObject is Python's complaint about a report that is not an object.
func notObject(v any) string {
	switch x := v.(type) {
	case []any:
		for _, f := range []string{"crash_id", "timestamp"} {
			if !slices.Contains(x, any(f)) {
				return fmt.Sprintf("missing '%s' field", f)
			}
		}
		return "list indices must be integers or slices, not str"
	case string:
		for _, f := range []string{"crash_id", "timestamp"} {
			if !strings.Contains(x, f) {
				return fmt.Sprintf("missing '%s' field", f)
			}
		}
		return "string indices must be integers, not 'str'"
	}
	return fmt.Sprintf("argument of type '%s' is not iterable", pyTypeName(v))
}

func (m *Module) post(ctx context.Context, inbuf []byte) error {
	md, err := validate(inbuf)
	if err != nil {
		return err
	}
	if bt, ok := md.get("backtrace"); ok {
		am, _ := md.get("assert_msg")
		sig, err := stackSig(bt, am)
		if err != nil {
			return exception(err)
		}
		md.set("stack_sig", sig)
	}
	idv, _ := md.get("crash_id")
	var id string
	switch idv.(type) {
	case string, json.Number, bool, nil:
		id = pyStr(idv)
	default:
		return exception(fmt.Errorf("unhashable type: '%s'", pyTypeName(idv)))
	}
	if _, ok := m.crashes[id]; ok {
		return nil
	}
	if err := m.save(ctx, id, md); err != nil {
		return err
	}
	m.add(id, md)
	m.refreshHealth()
	return nil
}

// assertRE keeps an assert message's text up to " thread " and from its
// last ": " on, dropping the thread id, time and line number.
var assertRE = regexp.MustCompile(`(?s)^(.*) thread .* time .*(: .*)\n`)

// stackSig is the report's stack signature: the SHA-256 of its backtrace's
// function names (offsets and addresses dropped) and of its sanitized
// assert message, in hex.
func stackSig(bt, assertMsg any) (string, error) {
	frames, ok := bt.([]any)
	if !ok {
		return "", fmt.Errorf("backtrace: '%s' object is not a list of strings", pyTypeName(bt))
	}
	h := sha256.New()
	for _, f := range frames {
		s, ok := f.(string)
		if !ok {
			return "", fmt.Errorf("backtrace: '%s' object has no attribute 'rsplit'", pyTypeName(f))
		}
		if i := strings.LastIndexByte(s, ' '); i >= 0 {
			s = s[:i]
		}
		if len(s) >= 2 {
			s = s[1 : len(s)-1]
		} else {
			s = ""
		}
		s, _, _ = strings.Cut(s, "+")
		h.Write([]byte(s))
	}
	if pyTruthy(assertMsg) {
		s, ok := assertMsg.(string)
		if !ok {
			return "", fmt.Errorf("assert_msg: expected string, got '%s'", pyTypeName(assertMsg))
		}
		g := assertRE.FindStringSubmatch(s)
		if g == nil {
			return "", errors.New("assert_msg: 'NoneType' object has no attribute 'groups'")
		}
		h.Write([]byte(g[1] + g[2]))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ls lists all crashes or the new (unarchived) ones, by crash id: JSON
// for the json formats, else a table.
func (m *Module) ls(all bool, format string) objectformat.Result {
	var list []*meta
	m.each(func(_ string, md *meta) {
		if _, archived := md.get("archived"); all || !archived {
			list = append(list, md)
		}
	})
	sort.SliceStable(list, func(i, j int) bool { return list[i].str("crash_id", "") < list[j].str("crash_id", "") })
	if format == "json" || format == "json-pretty" {
		tree := make([]any, len(list))
		for i, md := range list {
			tree[i] = md.vals
		}
		out, err := objectformat.EncodeJSON(tree, 4)
		if err != nil {
			return objectformat.Failed(syscall.EINVAL, err.Error())
		}
		return objectformat.Result{Stdout: out}
	}
	rows := make([][3]string, len(list))
	for i, md := range list {
		isNew := "*"
		if _, archived := md.get("archived"); archived {
			isNew = ""
		}
		rows[i] = [3]string{md.str("crash_id", "None"), md.str("entity_name", "unknown"), isNew}
	}
	return objectformat.OK(table(rows))
}

// table lays rows out as the Python module's PrettyTable does (no border,
// no left padding, two spaces of right padding, ID and ENTITY left
// aligned, NEW centred); no rows give no output at all.
func table(rows [][3]string) string {
	if len(rows) == 0 {
		return ""
	}
	header := [3]string{"ID", "ENTITY", "NEW"}
	var width [3]int
	for _, r := range append([][3]string{header}, rows...) {
		for c, s := range r {
			width[c] = max(width[c], len([]rune(s)))
		}
	}
	var b strings.Builder
	line := func(r [3]string) {
		for c, s := range r {
			pad := width[c] - len([]rune(s))
			if c < 2 {
				b.WriteString(s + strings.Repeat(" ", pad))
			} else {
				left := pad / 2
				if pad%2 == 1 && len([]rune(s))%2 == 0 {
					left++
				}
				b.WriteString(strings.Repeat(" ", left) + s + strings.Repeat(" ", pad-left))
			}
			b.WriteString("  ")
		}
	}
	line(header)
	for _, r := range rows {
		b.WriteByte('\n')
		line(r)
	}
	return b.String()
}

func (m *Module) rm(ctx context.Context, id string) error {
	if _, ok := m.crashes[id]; !ok {
		return nil
	}
	if err := m.mgr.DeleteStore(ctx, storePrefix+id); err != nil {
		return err
	}
	m.remove(id)
	m.refreshHealth()
	return nil
}

// prune removes the crashes not newer than cutoff.
func (m *Module) prune(ctx context.Context, cutoff time.Time) error {
	var old []string
	m.each(func(id string, md *meta) {
		if ts, err := md.timestamp(); err == nil && !ts.After(cutoff) {
			old = append(old, id)
		}
	})
	for _, id := range old {
		if err := m.mgr.DeleteStore(ctx, storePrefix+id); err != nil {
			return err
		}
		m.remove(id)
	}
	if len(old) > 0 {
		m.refreshHealth()
	}
	return nil
}

func (m *Module) archive(ctx context.Context, id string) objectformat.Result {
	md, ok := m.crashes[id]
	if !ok {
		return refuse(fmt.Sprintf("crash info: %s not found", id))
	}
	if err := m.archiveOne(ctx, id, md, time.Now()); err != nil {
		return objectformat.ResultOf(err)
	}
	m.refreshHealth()
	return objectformat.Result{}
}

// archiveOne marks a crash archived (at now, as Python's str(utcnow()))
// unless it is already.
func (m *Module) archiveOne(ctx context.Context, id string, md *meta, now time.Time) error {
	if v, _ := md.get("archived"); pyTruthy(v) {
		return nil
	}
	upd := &meta{keys: slices.Clone(md.keys), vals: make(map[string]any, len(md.vals)+1)}
	for k, v := range md.vals {
		upd.vals[k] = v
	}
	upd.set("archived", pyDatetimeStr(now))
	if err := m.save(ctx, id, upd); err != nil {
		return err
	}
	m.crashes[id] = upd
	return nil
}

func (m *Module) archiveAll(ctx context.Context) error {
	var err error
	now := time.Now()
	m.each(func(id string, md *meta) {
		if err == nil {
			err = m.archiveOne(ctx, id, md, now)
		}
	})
	m.refreshHealth()
	return err
}

// stat counts the crashes and lists those older than 1, 3 and 7 days (a
// crash is in every bin it is old enough for); an empty bin is an empty
// line.
func (m *Module) stat(now time.Time) string {
	ages := []int{1, 3, 7}
	bins := make([][]string, len(ages))
	now = now.UTC()
	m.each(func(id string, md *meta) {
		ts, err := md.timestamp()
		if err != nil {
			return
		}
		for i, age := range ages {
			if !ts.After(now.Add(-time.Duration(age) * day)) {
				bins[i] = append(bins[i], id)
			}
		}
	})
	lines := []string{fmt.Sprintf("%d crashes recorded", len(m.crashes))}
	for i, ids := range bins {
		var bl []string
		if len(ids) > 0 {
			bl = append([]string{fmt.Sprintf("%d older than %d days old:", len(ids), ages[i])}, ids...)
		}
		lines = append(lines, strings.Join(bl, "\n"))
	}
	return strings.Join(lines, "\n")
}

// jsonReport counts the crashes by process name, on stderr as the Python
// module answers (it counts every crash, whatever the hours).
func (m *Module) jsonReport() objectformat.Result {
	report := map[string]int{}
	m.each(func(_ string, md *meta) {
		p, _ := md.get("process_name")
		name := "unknown"
		if pyTruthy(p) {
			name = pyStr(p)
		}
		report[name]++
	})
	out, err := objectformat.EncodeJSON(report, -1)
	if err != nil {
		return objectformat.Failed(syscall.EINVAL, err.Error())
	}
	return objectformat.Result{Stderr: string(out)}
}

// maxDays and maxSecs bound an age: beyond them every timestamp a report
// can have (years 1 to 9999) is on the same side of the cutoff (Python
// raises OverflowError instead).
const (
	maxDays = 4_000_000
	maxSecs = maxDays * 86400.0
)

// pyInt reads s as Python's int(s) does (surrounding white space, a sign,
// '_' between digits); values beyond ±maxDays are clamped.
func pyInt(s string) (int64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	digits := strings.ReplaceAll(s, "_", "")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > maxDays {
		n = maxDays
	}
	if neg {
		n = -n
	}
	return n, true
}
