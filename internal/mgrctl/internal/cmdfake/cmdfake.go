// Package cmdfake is a module for mgrctl's tests: "quota get <name>
// [<keyring>]" has arguments named like mgrctl's cluster-only flags and
// prints what it got; "cmdfake sleep [<seconds>]" (or the seconds in the
// input buffer, so the repl can drive it) takes its time, holding
// nothing, until done or cancelled. Only test binaries register it.
package cmdfake

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/module"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// Name is the module name.
const Name = "cmdfake"

// Info describes the module.
func Info() module.Info {
	return module.Info{Name: Name, Desc: "commands for mgrctl's tests", New: func() module.Module { return &Module{} }}
}

// Module is the fake module.
type Module struct{}

// Init needs nothing of the handle.
func (m *Module) Init(*module.Handle) error { return nil }

type quotaArgs struct {
	clicommand.Read `prefix:"quota get" desc:"show the quota of a bucket"`
	Name            string
	Keyring         *string
}

type sleepArgs struct {
	clicommand.Read `prefix:"cmdfake sleep" desc:"sleep for some seconds"`
	Seconds         *float64
	Inbuf           []byte
}

// Commands lists the commands.
func (m *Module) Commands() []*clicommand.Command {
	return []*clicommand.Command{clicommand.Func(m.quota), clicommand.Func(m.sleep)}
}

func (m *Module) quota(_ context.Context, a *quotaArgs) objectformat.Result {
	keyring := "(none)"
	if a.Keyring != nil {
		keyring = *a.Keyring
	}
	return objectformat.OK(fmt.Sprintf("quota of %s (keyring %s)", a.Name, keyring))
}

func (m *Module) sleep(ctx context.Context, a *sleepArgs) objectformat.Result {
	secs := 0.0
	switch {
	case a.Seconds != nil:
		secs = *a.Seconds
	case len(a.Inbuf) > 0:
		var err error
		if secs, err = strconv.ParseFloat(strings.TrimSpace(string(a.Inbuf)), 64); err != nil {
			return objectformat.Failed(-int(syscall.EINVAL), err.Error())
		}
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return objectformat.OK(fmt.Sprintf("slept %gs", secs))
	case <-ctx.Done():
		return objectformat.Failed(-int(syscall.EINTR), "interrupted")
	}
}
