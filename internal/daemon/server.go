package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gomgr/gomgr/internal/api"
	"github.com/gomgr/gomgr/pkg/clicommand"
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
	var cmd map[string]any
	dec := json.NewDecoder(bytes.NewReader(req))
	dec.UseNumber()
	if err := dec.Decode(&cmd); err != nil || cmd == nil {
		return asokErrorText(-22, "invalid json")
	}
	prefix, _ := cmd["prefix"].(string)
	switch prefix {
	case "get_command_descriptions":
		out, err := clicommand.DescriptionsJSON(d.Describe(clicommand.DescribeOptions{PacificCompat: true}))
		if err != nil {
			return asokErrorText(-22, err.Error())
		}
		return append(out, '\n')
	case "0":
		return []byte("2")
	case "help":
		help := map[string]string{}
		for _, desc := range d.Describe(clicommand.DescribeOptions{}) {
			if desc.Help != "" {
				help[desc.Sig.Prefix()] = desc.Help
			}
		}
		f, _ := cmd["format"].(string)
		if f == "json" {
			b, _ := json.Marshal(help)
			return b
		}
		b, _ := json.MarshalIndent(help, "", "    ")
		return append(b, '\n')
	}
	return d.asokCommand(ctx, cmd)
}

func (d *Daemon) asokCommand(ctx context.Context, cmd map[string]any) []byte {
	res := d.Command(ctx, cmd, nil, "rw")
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

// asokError formats protocol errors (oversized or incomplete requests).
func asokError(err error) []byte { return asokErrorText(-22, err.Error()) }

// apiHandler serves the mgrctl API.
type apiHandler struct{ d *Daemon }

func (h apiHandler) Command(ctx context.Context, cmd map[string]any, inbuf []byte, perm string) objectformat.Result {
	h.d.stats.apiRequests.Add(1)
	res := h.d.run(ctx, cmd, inbuf, perm) // the API server enforces the timeout
	res.Stdout = finishOutput(cmd, res.Stdout)
	return res
}

func (h apiHandler) Descriptions(context.Context) ([]byte, error) {
	return clicommand.DescriptionsJSON(h.d.Describe(clicommand.DescribeOptions{}))
}

func (h apiHandler) Status(context.Context) api.Status {
	d := h.d
	s := api.Status{ID: d.opts.ID, Role: d.Role(), PID: pid(), Version: d.opts.Version, Backend: d.backendName, API: d.apiPath, Asok: d.asokPath, MaxRequest: d.opts.MaxAPIRequest}
	if info, err := d.election.Active(); err == nil {
		s.Active = info.ID
	}
	return s
}

func (h apiHandler) Snapshot(context.Context) (api.Snapshot, error) {
	d := h.d
	m := d.manager()
	if d.Role() != "active" || m == nil {
		return api.Snapshot{}, objectformat.NewErrorResponseCode("not the active daemon", -11)
	}
	d.mu.RLock()
	b := d.backend
	d.mu.RUnlock()
	return api.Snapshot{Config: b.Config().List("mgr/"), KV: b.KV().List("mgr/"), Services: m.Services(), Enabled: m.List().Enabled}, nil
}
