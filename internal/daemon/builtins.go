package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/gomgr/gomgr/internal/backend"
	"github.com/gomgr/gomgr/internal/health"
	"github.com/gomgr/gomgr/internal/kvkeys"
	"github.com/gomgr/gomgr/internal/modhost"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// builtinModule is the module name the daemon's own commands register
// under, as Ceph lists mgr commands under "mgr".
const builtinModule = "mgr"

// forceWord is the CephChoices "--force" argument Ceph's mgr module
// enable uses.
type forceWord string

func (forceWord) Choices() []string { return []string{"--force"} }

type moduleLsArgs struct {
	clicommand.Read `prefix:"mgr module ls" desc:"list active mgr modules"`
}

type moduleEnableArgs struct {
	clicommand.Write `prefix:"mgr module enable" desc:"enable mgr module"`
	Module           string
	Force            *forceWord `ceph:"positional=true"`
}

type moduleDisableArgs struct {
	clicommand.Write `prefix:"mgr module disable" desc:"disable mgr module"`
	Module           string
}

type servicesArgs struct {
	clicommand.Read `prefix:"mgr services" desc:"list service endpoints provided by mgr modules"`
}

type mgrStatArgs struct {
	clicommand.Read `prefix:"mgr stat" desc:"dump basic info about the mgr cluster state"`
}

type configGetArgs struct {
	clicommand.Read `prefix:"config get" desc:"Show configuration option(s) for an entity"`
	Who             string
	Key             *string
}

type configSetArgs struct {
	clicommand.Write `prefix:"config set" desc:"Set a configuration option for one or more entities"`
	Who              string
	Name             string
	Value            string
	Force            bool
}

type configRmArgs struct {
	clicommand.Write `prefix:"config rm" desc:"Clear a configuration option for one or more entities"`
	Who              string
	Name             string
}

type configDumpArgs struct {
	clicommand.Read `prefix:"config dump" desc:"Show all configuration option(s)"`
}

type configLsArgs struct {
	clicommand.Read `prefix:"config ls" desc:"List available configuration options"`
}

type configHelpArgs struct {
	clicommand.Read `prefix:"config help" desc:"Describe a configuration option"`
	Key             string
}

type keyGetArgs struct {
	clicommand.Read `prefix:"config-key get" desc:"get <key>"`
	Key             string
}

type keySetArgs struct {
	clicommand.Write `prefix:"config-key set" desc:"set <key> to value <val>"`
	Key              string
	Val              *string
	Inbuf            []byte
}

type keyRmArgs struct {
	clicommand.Write `prefix:"config-key rm" desc:"rm <key>"`
	Key              string
}

type keyExistsArgs struct {
	clicommand.Read `prefix:"config-key exists" desc:"check for <key>'s existence"`
	Key             string
}

type keyLsArgs struct {
	clicommand.Read `prefix:"config-key ls" desc:"list keys"`
}

type keyDumpArgs struct {
	clicommand.Read `prefix:"config-key dump" desc:"dump keys and values (with optional prefix)"`
	Key             *string
}

type detailWord string

func (detailWord) Choices() []string { return []string{"detail"} }

type healthArgs struct {
	clicommand.Read `prefix:"health" desc:"show cluster health"`
	Detail          *detailWord `ceph:"positional=true"`
}

type statusArgs struct {
	clicommand.Read `prefix:"status" desc:"show cluster status"`
}

type versionArgs struct {
	clicommand.Read `prefix:"version" desc:"show the daemon's version"`
}

type perfDumpArgs struct {
	clicommand.Read `prefix:"perf dump" desc:"dump the daemon's performance counters"`
}

type perfSchemaArgs struct {
	clicommand.Read `prefix:"perf schema" desc:"dump the daemon's performance counter schema"`
}

type helpArgs struct {
	clicommand.Read `prefix:"help" desc:"list the commands of this daemon"`
}

// builtins are the daemon's own commands.
// builtins are the daemon's own commands ("mgr module ls", "config set",
// "config-key get", "health", "status"...) for one manager: they hold the
// manager and the backend they act on; of the daemon they read only its
// options and what it guards with its own locks (standbys, counters).
type builtins struct {
	m     *modhost.Manager
	b     backend.Backend
	d     *Daemon
	since time.Time // when this manager became active
}

// commands are the built-in commands.
func (bi *builtins) commands() []*clicommand.Command {
	return []*clicommand.Command{
		clicommand.Responder(bi.moduleLs, objectformat.WithPlain(plainModuleList)),
		clicommand.ErrorResponseHandler(bi.moduleEnable),
		clicommand.ErrorResponseHandler(bi.moduleDisable),
		clicommand.Responder(bi.services),
		clicommand.Responder(bi.mgrStat),
		clicommand.ErrorResponseHandler(bi.configGet),
		clicommand.EmptyResponder(bi.configSet),
		clicommand.EmptyResponder(bi.configRm),
		clicommand.Responder(bi.configDump, objectformat.WithPlain(plainConfigDump)),
		clicommand.Responder(bi.configHelp),
		clicommand.Responder(bi.configLs, objectformat.WithPlain(func(names []string) string { return strings.Join(names, "\n") })),
		clicommand.ErrorResponseHandler(bi.keyGet),
		clicommand.ErrorResponseHandler(bi.keySet),
		clicommand.ErrorResponseHandler(bi.keyRm),
		clicommand.ErrorResponseHandler(bi.keyExists),
		clicommand.Responder(bi.keyLs),
		clicommand.Responder(bi.keyDump),
		clicommand.Responder(bi.health, objectformat.WithFormatter(healthFormatter{}), objectformat.WithDefaultFormat(objectformat.Plain)),
		clicommand.Responder(bi.status, objectformat.WithPlain(plainStatus)),
		clicommand.Responder(bi.version, objectformat.WithPlain(func(v map[string]string) string { return v["version"] })),
		clicommand.Responder(func(context.Context, *perfDumpArgs) (map[string]any, error) {
			return bi.d.daemonInfo("perf_counters"), nil
		}),
		clicommand.Responder(func(context.Context, *perfSchemaArgs) (map[string]any, error) {
			return bi.d.daemonInfo("perf_schema"), nil
		}),
		clicommand.Responder(bi.help, objectformat.WithPlain(func(h []helpEntry) string {
			var b strings.Builder
			for _, e := range h {
				fmt.Fprintf(&b, "%-50s %s\n", e.Usage, e.Help)
			}
			return strings.TrimSuffix(b.String(), "\n")
		})),
	}
}

func (bi *builtins) moduleLs(context.Context, *moduleLsArgs) (modhost.ModuleList, error) {
	return bi.m.List(), nil
}

func plainModuleList(l modhost.ModuleList) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\t")
	for _, n := range l.AlwaysOn {
		fmt.Fprintf(tw, "%s\ton (always on)\n", n)
	}
	unavailable := map[string]string{}
	for _, m := range l.Unavailable {
		unavailable[m.Name] = m.ErrorString
	}
	for _, n := range l.Enabled {
		if why, ok := unavailable[n]; ok {
			fmt.Fprintf(tw, "%s\ton (unavailable: %s)\n", n, why)
			continue
		}
		fmt.Fprintf(tw, "%s\ton\n", n)
	}
	for _, m := range l.Disabled {
		state := "-"
		if !m.CanRun {
			state = "- (cannot run: " + m.ErrorString + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", m.Name, state)
	}
	tw.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

func (bi *builtins) moduleEnable(ctx context.Context, a *moduleEnableArgs) (objectformat.Result, error) {
	msg, err := bi.m.Enable(ctx, a.Module, a.Force != nil)
	return objectformat.Result{Stderr: msg}, err
}

func (bi *builtins) moduleDisable(ctx context.Context, a *moduleDisableArgs) (objectformat.Result, error) {
	msg, err := bi.m.Disable(ctx, a.Module)
	return objectformat.Result{Stderr: msg}, err
}

func (bi *builtins) services(context.Context, *servicesArgs) (map[string]string, error) {
	return bi.m.Services(), nil
}

func (bi *builtins) mgrStat(context.Context, *mgrStatArgs) (map[string]any, error) {
	standbys := bi.d.standbys()
	return map[string]any{"epoch": 0, "available": true, "active_name": bi.d.opts.ID, "num_standby": len(standbys)}, nil
}

func (bi *builtins) configGet(_ context.Context, a *configGetArgs) (objectformat.Result, error) {
	if err := modhost.CheckWho(a.Who); err != nil {
		return objectformat.Result{}, err
	}
	if a.Key == nil {
		var b strings.Builder
		for _, e := range bi.configEntries() {
			fmt.Fprintf(&b, "%s = %s\n", e.Name, e.Value)
		}
		return objectformat.OK(b.String()), nil
	}
	module, who, opt, err := bi.m.ParseOptionKey(*a.Key)
	if err != nil {
		return objectformat.Result{}, objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized key '%s'", *a.Key), -int(syscall.ENOENT))
	}
	v, err := bi.m.OptionValue(module, who, opt)
	if err != nil {
		return objectformat.Result{}, err
	}
	if v == nil {
		return objectformat.OK("\n"), nil
	}
	return objectformat.OK(fmt.Sprintf("%v\n", optionText(v))), nil
}

func optionText(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func (bi *builtins) configSet(ctx context.Context, a *configSetArgs) error {
	return bi.m.ConfigSet(ctx, a.Who, a.Name, a.Value)
}

func (bi *builtins) configRm(ctx context.Context, a *configRmArgs) error {
	return bi.m.ConfigRm(ctx, a.Who, a.Name)
}

// configEntry is a row of "config dump".
type configEntry struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Level   string `json:"level"`
	Runtime bool   `json:"can_update_at_runtime"`
	Mask    string `json:"mask"`
}

func (bi *builtins) configEntries() []configEntry {
	all := bi.b.Config().List("mgr/")
	var out []configEntry
	for _, k := range sortedKeys(all) {
		e := configEntry{Section: "mgr", Name: k, Value: all[k], Level: "advanced", Runtime: true}
		if module, _, opt, err := bi.m.ParseOptionKey(k); err == nil {
			if opts, ok := bi.m.Options(module); ok {
				e.Level = opts[opt].Level.String()
				e.Runtime = opts[opt].Runtime
			}
		}
		out = append(out, e)
	}
	return out
}

func (bi *builtins) configDump(context.Context, *configDumpArgs) ([]configEntry, error) {
	out := bi.configEntries()
	if out == nil {
		out = []configEntry{}
	}
	return out, nil
}

func plainConfigDump(es []configEntry) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHO\tMASK\tLEVEL\tOPTION\tVALUE\tRO")
	for _, e := range es {
		ro := ""
		if !e.Runtime {
			ro = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Section, e.Mask, e.Level, e.Name, e.Value, ro)
	}
	tw.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// configLs lists the options this daemon holds, as the monitor's `config
// ls` lists its own: the options of every compiled-in module (enabled or
// not), as mgr/<module>/<option>, sorted.
func (bi *builtins) configLs(context.Context, *configLsArgs) ([]string, error) {
	names := []string{}
	for _, module := range bi.d.opts.Registry.Names() {
		opts, _ := bi.m.Options(module)
		for name := range opts {
			names = append(names, "mgr/"+module+"/"+name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func (bi *builtins) configHelp(_ context.Context, a *configHelpArgs) (map[string]any, error) {
	module, _, opt, err := bi.m.ParseOptionKey(a.Key)
	if err != nil {
		return nil, objectformat.NewErrorResponseCode(fmt.Sprintf("unrecognized key '%s'", a.Key), -int(syscall.ENOENT))
	}
	opts, _ := bi.m.Options(module)
	o := opts[opt]
	out := map[string]any{"name": a.Key, "type": string(o.Type), "level": o.Level.String(), "desc": o.Desc,
		"long_desc": o.LongDesc, "can_update_at_runtime": o.Runtime, "enum_values": o.EnumAllowed}
	if out["type"] == "" {
		out["type"] = "str"
	}
	if o.Default != nil {
		out["default"] = o.Default
	}
	if o.Min != nil {
		out["min"] = o.Min
	}
	if o.Max != nil {
		out["max"] = o.Max
	}
	return out, nil
}

func (bi *builtins) keyGet(_ context.Context, a *keyGetArgs) (objectformat.Result, error) {
	if err := backend.StoreCorrupt(bi.b.KV(), a.Key); err != nil {
		return objectformat.Result{}, err
	}
	v, ok := backend.VisibleKV(bi.b.KV(), a.Key)
	if !ok {
		return objectformat.Result{}, objectformat.NewErrorResponseCode(fmt.Sprintf("error obtaining '%s': (2) No such file or directory", a.Key), -int(syscall.ENOENT))
	}
	// The value's bytes and nothing else, as Ceph's monitor answers (no
	// "obtained" status; see exactOutput for the newline). The reply
	// shares the stored string's bytes rather than copying a large value
	// for each get: nothing writes to an exactOutput command's Stdout
	// (finishOutput returns it as is, the transports only read it).
	return objectformat.Result{Stdout: unsafe.Slice(unsafe.StringData(v), len(v))}, nil
}

// The daemon keeps its own state in the KV store under
// kvkeys.ReservedKVPrefix (mgr/.gomgr/): the config-key commands act as if
// no key were there (get, exists, ls, dump) and refuse to write or remove
// one (-EPERM), so a user cannot disable every module by overwriting the
// enabled list. The rules are internal/kvkeys' (CheckKVWrite, RefuseReserved)
// and internal/backend's (VisibleKV), which modules' monitor commands follow too. (Attached to a
// cluster, the real `ceph config-key` can still write it; the manager then
// reads what it can and raises MGR_ENABLED_MODULES_CORRUPT.)

func (bi *builtins) keySet(ctx context.Context, a *keySetArgs) (objectformat.Result, error) {
	if err := kvkeys.CheckKVWrite("config-key set", a.Key); err != nil {
		return objectformat.Result{}, err
	}
	val := ""
	switch {
	case a.Val != nil:
		val = *a.Val
	case len(a.Inbuf) > 0:
		// The transports hand each request a fresh inbuf and never touch
		// it again (api.Handler), so the value shares it instead of
		// costing a second copy of a large input.
		val = unsafe.String(unsafe.SliceData(a.Inbuf), len(a.Inbuf))
	}
	if err := bi.b.KV().Set(ctx, a.Key, val); err != nil {
		return objectformat.Result{}, storeError("config-key set "+a.Key, err)
	}
	return objectformat.Result{Stderr: "set " + a.Key}, nil
}

func (bi *builtins) keyRm(ctx context.Context, a *keyRmArgs) (objectformat.Result, error) {
	if err := kvkeys.RefuseReserved("config-key rm", a.Key); err != nil {
		return objectformat.Result{}, err
	}
	if err := bi.b.KV().Delete(ctx, a.Key); err != nil {
		return objectformat.Result{}, storeError("config-key rm "+a.Key, err)
	}
	return objectformat.Result{Stderr: "key deleted"}, nil
}

// storeError names the failed operation op ("config-key set KEY") in a
// store's error once: the cluster backend's errors already start with it
// (the monitor command they ran), the embedded store's do not.
func storeError(op string, err error) error {
	if strings.HasPrefix(err.Error(), op+":") {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (bi *builtins) keyExists(_ context.Context, a *keyExistsArgs) (objectformat.Result, error) {
	if err := backend.StoreCorrupt(bi.b.KV(), a.Key); err != nil {
		return objectformat.Result{}, err
	}
	if _, ok := backend.VisibleKV(bi.b.KV(), a.Key); !ok {
		return objectformat.Result{}, objectformat.NewErrorResponseCode(fmt.Sprintf("key '%s' doesn't exist", a.Key), -int(syscall.ENOENT))
	}
	return objectformat.Result{Stderr: fmt.Sprintf("key '%s' exists", a.Key)}, nil
}

func (bi *builtins) keyLs(context.Context, *keyLsArgs) ([]string, error) {
	keys := sortedKeys(backend.VisibleKVList(bi.b.KV(), ""))
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

func (bi *builtins) keyDump(_ context.Context, a *keyDumpArgs) (map[string]string, error) {
	prefix := ""
	if a.Key != nil {
		prefix = *a.Key
	}
	return backend.VisibleKVList(bi.b.KV(), prefix), nil
}

// healthReply is the health report and whether detail was asked for.
type healthReply struct {
	health.Report
	detail bool
}

func (bi *builtins) health(_ context.Context, a *healthArgs) (healthReply, error) {
	return healthReply{Report: bi.m.Health(), detail: a.Detail != nil}, nil
}

// healthFormatter renders "health" as the monitor renders its own: plain
// text by default, json and json-pretty as Ceph's formatter writes them.
// The monitor has no yaml (it answers "-f yaml" with the plain text); here
// yaml is the mgr's YAML of the json's shape.
type healthFormatter struct{}

func (healthFormatter) Supports(f objectformat.Format) bool {
	switch f {
	case objectformat.Plain, objectformat.JSON, objectformat.JSONPretty, objectformat.YAML:
		return true
	}
	return false
}

func (healthFormatter) Format(v any, f objectformat.Format) ([]byte, error) {
	h, ok := v.(healthReply)
	if !ok {
		return nil, objectformat.Errorf(syscall.EINVAL, "health formatter got %T", v)
	}
	switch f {
	case objectformat.Plain:
		return []byte(h.Plain(h.detail)), nil
	case objectformat.JSON, objectformat.JSONPretty:
		return h.JSON(h.detail, f == objectformat.JSONPretty), nil
	}
	return objectformat.ObjectFormatter{}.Format(json.RawMessage(h.JSON(h.detail, false)), f)
}

// statusHealth is the health section of "status": without detail, as in
// the monitor's "ceph status -f json".
type statusHealth struct{ health.Report }

func (h statusHealth) MarshalJSON() ([]byte, error) { return h.JSON(false, false), nil }

type statusReply struct {
	FSID        string            `json:"fsid"`
	Health      statusHealth      `json:"health"`
	Backend     string            `json:"backend"`
	MonConn     bool              `json:"have_mon_connection"`
	Active      string            `json:"active_name"`
	ActiveSince string            `json:"active_since"`
	Standbys    []string          `json:"standbys"`
	Modules     []string          `json:"modules"`
	AlwaysOn    []string          `json:"always_on_modules"`
	Services    map[string]string `json:"services"`
	Version     string            `json:"version"`
	uptime      time.Duration
}

func (bi *builtins) status(context.Context, *statusArgs) (statusReply, error) {
	l := bi.m.List()
	return statusReply{
		FSID: bi.b.Cluster().FSID(), Health: statusHealth{bi.m.Health()}, Backend: bi.d.backendName, MonConn: bi.b.Cluster().HaveMonConnection(),
		Active: bi.d.opts.ID, ActiveSince: bi.since.UTC().Format(time.RFC3339), Standbys: bi.d.standbys(),
		Modules: l.Enabled, AlwaysOn: l.AlwaysOn, Services: bi.m.Services(), Version: bi.d.opts.Version,
		uptime: time.Since(bi.since).Round(time.Second),
	}, nil
}

func plainStatus(s statusReply) string {
	var b strings.Builder
	// The health block as "ceph status" prints it: one summary a line.
	const col = "\n            "
	fmt.Fprintf(&b, "  cluster:\n    id:     %s\n    health: %s\n", s.FSID, s.Health.Summary(col, col))
	conn := "no monitor connection"
	if s.MonConn {
		conn = "connected to the monitors"
	}
	fmt.Fprintf(&b, "    state:  %s (%s)\n\n  services:\n    mgr: %s(active, since %s)", s.Backend, conn, s.Active, s.uptime)
	if len(s.Standbys) > 0 {
		fmt.Fprintf(&b, ", standbys: %s", strings.Join(s.Standbys, ", "))
	}
	mods := append(slices.Clone(s.AlwaysOn), s.Modules...)
	sort.Strings(mods)
	fmt.Fprintf(&b, "\n    modules: %s\n", strings.Join(mods, ", "))
	for _, n := range sortedKeys(s.Services) {
		fmt.Fprintf(&b, "    %s: %s\n", n, s.Services[n])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (bi *builtins) version(context.Context, *versionArgs) (map[string]string, error) {
	return map[string]string{"version": bi.d.opts.Version, "release": bi.d.opts.Release, "release_type": "stable"}, nil
}

type helpEntry struct {
	Usage  string `json:"usage"`
	Help   string `json:"help"`
	Module string `json:"module"`
	Perm   string `json:"perm"`
}

func (bi *builtins) help(context.Context, *helpArgs) ([]helpEntry, error) {
	descs := bi.m.Describe(cmddesc.DescribeOptions{})
	var out []helpEntry
	for _, desc := range descs {
		s, err := cmddesc.ParseSpec(desc.Sig.String())
		if err != nil {
			continue
		}
		if desc.Flags&(cmddesc.FlagHidden|cmddesc.FlagObsolete) != 0 {
			continue
		}
		out = append(out, helpEntry{Usage: s.Usage(), Help: desc.Help, Module: desc.Module, Perm: desc.Perm})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
