package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

// serveAsok answers one admin-socket request. Replies follow the Ceph
// daemons' conventions: output as is (ending with a newline), and failures
// as "ERROR: (<errno>) <strerror>\n<message>\n" because the protocol has no
// return code.
func (d *Daemon) serveAsok(ctx context.Context, req []byte) []byte {
	d.stats.asokRequests.Add(1)
	if len(req) == 4 && req[0] == 0 {
		// Ceph's legacy binary request: a big-endian command number.
		switch req[3] {
		case 0:
			return []byte("2")
		case 1:
			return d.asokCommand(ctx, map[string]any{"prefix": "perf dump"})
		case 2:
			return d.asokCommand(ctx, map[string]any{"prefix": "perf schema"})
		}
		return asokErrorText(-22, "unknown command prefix foo")
	}
	cmd, err := api.DecodeCommand(req)
	if err != nil {
		var u *api.InvalidUTF8Error
		switch {
		case errors.As(err, &u):
			return asokErrorText(-int(syscall.EINVAL), u.Error())
		case errors.Is(err, api.ErrTrailingData):
			return asokErrorText(-int(syscall.EINVAL), "bad request: "+err.Error())
		}
		return asokErrorText(-int(syscall.EINVAL), "invalid json")
	}
	prefix, _ := cmd["prefix"].(string)
	switch prefix {
	case "get_command_descriptions":
		// While the daemon starts this waits for it (StartWait); a daemon
		// still starting answers the error text, which the ceph CLI shows
		// as it fails to parse it ("Couldn't parse JSON ERROR: (11) ...").
		descs, res := d.describeReady(ctx, cmddesc.DescribeOptions{PacificCompat: true})
		if res != nil {
			return asokErrorText(res.Retval, res.Stderr)
		}
		out, err := cmddesc.DescriptionsJSON(descs)
		if err != nil {
			return asokErrorText(-int(syscall.EINVAL), err.Error())
		}
		return append(out, '\n')
	case "0":
		return []byte("2")
	case "help":
		descs, res := d.describeReady(ctx, cmddesc.DescribeOptions{})
		if res != nil {
			return asokErrorText(res.Retval, res.Stderr)
		}
		help := map[string]string{}
		for _, desc := range descs {
			if desc.Help != "" {
				help[desc.Sig.Prefix()] = desc.Help
			}
		}
		f, _ := cmd["format"].(string)
		if f == "json" {
			return bytes.TrimSuffix(plainJSON(help, ""), []byte("\n"))
		}
		return plainJSON(help, "    ")
	}
	return d.asokCommand(ctx, cmd)
}

// plainJSON encodes v as the Ceph daemons do, without Go's escaping of
// <, > and & (help texts are full of <key>), ending with a newline.
func plainJSON(v any, indent string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	_ = enc.Encode(v)
	return b.Bytes()
}

func (d *Daemon) asokCommand(ctx context.Context, cmd map[string]any) []byte {
	res := api.FitRetval(d.Command(ctx, cmd, nil, "rw"))
	if res.Retval < 0 {
		return asokErrorText(res.Retval, res.Stderr)
	}
	if len(res.Stdout) == 0 && res.Stderr != "" {
		return finishOutput(cmd, []byte(res.Stderr))
	}
	return finishOutput(cmd, res.Stdout)
}

func asokErrorText(retval int, msg string) []byte {
	return []byte(fmt.Sprintf("ERROR: (%d) %s\n%s\n", -retval, objectformat.Strerror(retval), msg))
}

// asokError formats the admin socket server's own errors: oversized or
// incomplete requests (-EINVAL), commands it gives up on as the daemon
// stops (-EAGAIN, as the other transports answer), and replies the
// in-flight budget cannot hold (the errno the budget's error carries:
// -EBUSY, -E2BIG).
func asokError(err error) []byte {
	var coded objectformat.ErrorResponseBase
	switch {
	case errors.Is(err, asok.ErrShuttingDown):
		return asokErrorText(-int(syscall.EAGAIN), err.Error())
	case errors.As(err, &coded):
		return asokErrorText(objectformat.ErrnoOf(err), err.Error())
	}
	return asokErrorText(-int(syscall.EINVAL), err.Error())
}

// apiHandler serves the mgrctl API.
type apiHandler struct{ d *Daemon }

func (h apiHandler) Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	h.d.stats.apiRequests.Add(1)
	res := h.d.run(ctx, cmd, inbuf, perm) // the API server enforces the timeout
	if len(inbuf) >= largeInput {
		h.d.release.soon()
	}
	res.Stdout = finishOutput(cmd, res.Stdout)
	return res
}

// Permit refuses, before the input buffer is read, a command the client
// may not run: the daemon still starting or stopping, or a permission it
// lacks (the reply is the one running it would give). Commands it does not
// know are left to Command to answer.
func (h apiHandler) Permit(ctx context.Context, cmd map[string]any, perm string) (objectformat.Result, bool) {
	d := h.d
	m, role := d.ready(ctx)
	prefix, _ := cmd["prefix"].(string)
	var deny objectformat.Result
	switch {
	case role == RoleStopping:
		deny = api.ShuttingDown(prefix)
	case m == nil:
		deny = d.starting()
	default:
		c, _, ok := m.Commands().Lookup(prefix)
		if !ok || cmddesc.Allowed(perm, c.Spec().Perm) {
			return objectformat.Result{}, true
		}
		// Call refuses a caller without the permission before anything
		// else, so this runs nothing and says what running would.
		deny = c.Call(ctx, clicommand.Call{Cmd: cmd, Perm: perm})
	}
	d.stats.apiRequests.Add(1)
	d.stats.commands.Add(1)
	d.stats.errors.Add(1)
	return deny, false
}

// Descriptions waits for a starting daemon like commands do; one still
// starting answers -EAGAIN.
func (h apiHandler) Descriptions(ctx context.Context) ([]byte, error) {
	descs, res := h.d.describeReady(ctx, cmddesc.DescribeOptions{})
	if res != nil {
		return nil, objectformat.NewErrorResponseCode(res.Stderr, res.Retval)
	}
	return cmddesc.DescriptionsJSON(descs)
}

func (h apiHandler) Status(context.Context) api.Status {
	d := h.d
	s := api.Status{ID: d.opts.ID, Role: d.Role().String(), PID: pid(), Version: d.opts.Version, Backend: d.backendName, API: d.apiPath, Asok: d.asokPath, MaxRequest: d.opts.MaxAPIRequest}
	if info, err := d.election.Active(); err == nil {
		s.Active = info.ID
	}
	return s
}

func (h apiHandler) Snapshot(context.Context) (api.Snapshot, error) {
	d := h.d
	m := d.manager()
	if d.Role() != RoleActive || m == nil {
		return api.Snapshot{}, objectformat.NewErrorResponseCode("not the active daemon", -11)
	}
	d.mu.RLock()
	b := d.backend
	d.mu.RUnlock()
	return api.Snapshot{Config: b.Config().List("mgr/"), KV: b.KV().List("mgr/"), Services: m.Services(), Enabled: m.List().Enabled}, nil
}
