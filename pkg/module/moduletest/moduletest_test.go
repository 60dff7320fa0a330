package moduletest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

// quota is a small module: commands on its store, an option, a health
// check raised from a notification, background work that can panic.
type quota struct {
	h     *module.Handle
	maps  atomic.Int32
	panic chan struct{}
}

func (q *quota) Init(h *module.Handle) error {
	q.h = h
	h.Go(func(ctx context.Context) error {
		select {
		case <-q.panic:
			panic("quota worker died")
		case <-ctx.Done():
			return nil
		}
	})
	return nil
}

type addArgs struct {
	clicommand.Write `prefix:"quota add" desc:"Set a quota"`
	Name             string
	Size             int `ceph:"range=0"`
}

type getArgs struct {
	clicommand.Read `prefix:"quota get" desc:"Show a quota"`
	Name            string
}

func (q *quota) add(ctx context.Context, a *addArgs) (string, error) {
	max, _ := q.h.IntOption("max")
	if int64(a.Size) > max {
		return "", fmt.Errorf("%d is over the maximum of %d", a.Size, max)
	}
	return "", q.h.SetStore(ctx, a.Name, fmt.Sprint(a.Size))
}

func (q *quota) get(_ context.Context, a *getArgs) (string, error) {
	v, _ := q.h.Store(a.Name)
	return a.Name + ": " + v, nil
}

func (q *quota) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Responder(q.add), clicommand.Responder(q.get)}
}

func (q *quota) Notify(_ context.Context, n module.Notification) {
	if n.Type == module.NotifyOSDMap && q.maps.Add(1) == 2 {
		q.h.SetHealthChecks(map[string]module.HealthCheck{"QUOTA_CHURN": {Severity: module.SeverityWarning, Summary: "the OSD map changed twice", Count: 1}})
	}
}

var quotaInfo = module.Info{Name: "quota", New: func() module.Module { return &quota{panic: make(chan struct{})} },
	NotifyTypes: []module.NotifyType{module.NotifyOSDMap},
	Options:     []module.Option{{Name: "max", Type: module.Int, Default: 100, Min: 1}}}

func TestHarness(t *testing.T) {
	h := moduletest.Start(t, "quota", moduletest.WithModules(quotaInfo), moduletest.WithOption("max", "10"))

	// The module's commands, as typed.
	h.Must("quota add a 3")
	require.Equal(t, `"a: 3"`, h.Out("quota get a"), "a Responder's string is JSON by default")
	res := h.Run("quota add a 11")
	require.Equal(t, [2]any{-22, "11 is over the maximum of 10"}, [2]any{res.Retval, res.Stderr}, "the option set with WithOption")
	res = h.Run("quota add a -1")
	require.Equal(t, -22, res.Retval, "the matcher checks the range: %s", res.Stderr)
	res = h.Run("quota frobnicate")
	require.Equal(t, -22, res.Retval)
	require.Contains(t, res.Stderr, "invalid command")

	// Options, through the daemon's config set (checked as there).
	require.NoError(t, h.SetOption("max", 20))
	h.Must("quota add a 11")
	require.EqualError(t, h.SetOption("max", 0), "error parsing value: Value '0' is below minimum 1")

	// The daemon's built-ins are there.
	require.Equal(t, "11", h.Out("config-key get mgr/quota/a"), "the module's store is the daemon's")
	require.Contains(t, h.Out("mgr module ls --format plain"), "quota")

	// Notifications, health, the instance.
	h.Notify(module.NotifyOSDMap, "")
	h.Notify(module.NotifyOSDMap, "")
	c := h.WaitHealth("QUOTA_CHURN", 5*time.Second)
	require.Equal(t, "the OSD map changed twice", c.Summary)
	q, ok := h.Module().(*quota)
	require.True(t, ok)
	require.Equal(t, int32(2), q.maps.Load())

	// A panic in the module's background work fails the module only.
	close(q.panic)
	c = h.WaitHealth("MGR_MODULE_ERROR", 5*time.Second)
	require.Equal(t, "Module 'quota' has failed: quota worker died", c.Summary)
	require.Equal(t, -5, h.Run("quota get a").Retval)
	require.Contains(t, h.Out("mgr module ls --format plain"), "quota", "the daemon runs on")
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  string
	}{
		{line: "", want: nil},
		{line: "quota add a 3", want: []string{"quota", "add", "a", "3"}},
		{line: "  config-key set k 'two words'  ", want: []string{"config-key", "set", "k", "two words"}},
		{line: `say "it's" a\ b ''`, want: []string{"say", "it's", "a b", ""}},
		{line: `x "a\"b"`, want: []string{"x", `a"b`}},
		{line: "x 'open", err: "unterminated ' quote"},
		{line: `x \`, err: "a backslash ends"},
	} {
		got, err := moduletest.Split(tc.line)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.line)
			continue
		}
		require.NoError(t, err, tc.line)
		require.Equal(t, tc.want, got, tc.line)
	}
}
