package cmddesc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomgr/gomgr/internal/asok"
	"github.com/gomgr/gomgr/internal/cmdroute"
	"github.com/gomgr/gomgr/internal/testutil"
	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type mode string

func (mode) Choices() []string { return []string{"fast", "slow"} }

// A sample of commands covering every Go type mapping and Ceph type.
type sendArgs struct {
	clicommand.Meta `prefix:"antigravity send to blackhole" desc:"Send the specified object to black hole"`
	OID             string
	Blackhole       *string
}

type countArgs struct {
	clicommand.Read `prefix:"antigravity count" desc:"Count to n"`
	N               int   `ceph:"range=1|10"`
	Mode            *mode `ceph:"positional=true"`
	Force           bool
}

type typesArgs struct {
	clicommand.Meta `prefix:"antigravity types" desc:"typed args"`
	Ratio           float64 `ceph:"range=0.0|1.0"`
	IDs             []int
	Names           *[]string
	Pool            *string `ceph:"type=CephPoolname"`
}

type cephTypesArgs struct {
	clicommand.Write `prefix:"antigravity ceph types" desc:"Ceph types"`
	Who              string  `ceph:"type=CephName"`
	OSD              int     `ceph:"type=CephOsdName"`
	PG               string  `ceph:"type=CephPgid"`
	UUID             string  `ceph:"type=CephUUID"`
	Addr             string  `ceph:"type=CephEntityAddr"`
	FS               string  `ceph:"goodchars=[A-Za-z0-9-_.]"`
	Obj              *string `ceph:"type=CephObjectname"`
}

type formatArgs struct {
	clicommand.Read `prefix:"antigravity list" desc:"List things"`
	Filter          *string
}

type hiddenArgs struct {
	clicommand.Meta `prefix:"antigravity secret" flags:"hidden"`
}

func sampleRegistry(t *testing.T) *cmdroute.Registry {
	echo := func(_ context.Context, req *objectformat.Request) objectformat.Result {
		b, _ := json.Marshal(req.Cmd)
		return objectformat.Result{Stdout: b}
	}
	h := objectformat.HandlerFunc(echo)
	r := cmdroute.NewRegistry()
	require.NoError(t, r.Add("antigravity",
		clicommand.Handle[sendArgs](h),
		clicommand.Handle[countArgs](h),
		clicommand.Handle[typesArgs](h),
		clicommand.Handle[cephTypesArgs](h),
		clicommand.Responder(func(_ context.Context, a *formatArgs) ([]string, error) { return []string{"x"}, nil }),
		clicommand.Handle[hiddenArgs](h),
		clicommand.Legacy("antigravity legacy name=x,type=CephString name=y,type=CephInt,req=false", "Legacy command", "rw", h),
	))
	return r
}

// serveRegistry serves a registry on a throwaway admin socket: descriptions
// in the Pacific-compatible form, every other request dispatched, with the
// whole result triple as JSON so tests see everything.
func serveRegistry(t *testing.T, r *cmdroute.Registry) string {
	sock := filepath.Join(testutil.ShortTempDir(t), "test.asok")
	l, err := asok.Listen(sock, 0o600)
	require.NoError(t, err)
	srv := &asok.Server{Handler: func(ctx context.Context, req []byte) []byte {
		var cmd map[string]any
		dec := json.NewDecoder(bytes.NewReader(req))
		dec.UseNumber()
		if err := dec.Decode(&cmd); err != nil {
			return []byte("bad json: " + err.Error())
		}
		if cmd["prefix"] == "get_command_descriptions" {
			out, err := cmddesc.DescriptionsJSON(r.Describe(cmddesc.DescribeOptions{PacificCompat: true}))
			require.NoError(t, err)
			return out
		}
		return []byte(jsonResult(r.Dispatch(ctx, clicommand.Call{Perm: "rw", Cmd: cmd})))
	}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func jsonResult(res objectformat.Result) string {
	b, _ := json.Marshal(map[string]any{"retval": res.Retval, "stdout": string(res.Stdout), "stderr": res.Stderr})
	return string(b)
}

// runCeph runs the real ceph CLI (at path ceph) against the admin socket
// sock.
func runCeph(t *testing.T, ceph, sock string, args ...string) testutil.Result {
	t.Helper()
	return testutil.Run(t, exec.Command(ceph, append([]string{"--admin-daemon", sock}, args...)...))
}

// TestDescriptorsRoundTrip: every generated descriptor parses back through
// our own argdesc parser, in cmd-string and in JSON form.
func TestDescriptorsRoundTrip(t *testing.T) {
	r := sampleRegistry(t)
	for _, e := range r.Entries() {
		spec := e.Command.Spec()
		sig, err := cmddesc.ParseSignature(spec.CmdString())
		require.NoError(t, err, spec.CmdString())
		require.Equal(t, strings.TrimSpace(spec.CmdString()), sig.String())
	}
	for _, compat := range []bool{false, true} {
		descs := r.Describe(cmddesc.DescribeOptions{PacificCompat: compat})
		data, err := cmddesc.DescriptionsJSON(descs)
		require.NoError(t, err)
		back, err := cmddesc.ParseDescriptions(data, "cli")
		require.NoError(t, err)
		require.Len(t, back, len(descs))
		for i := range descs {
			require.True(t, descs[i].Sig.Equal(back[i].Sig), "%s\n%s", descs[i].Sig, back[i].Sig)
			require.Equal(t, descs[i].Help, back[i].Help)
			require.Equal(t, descs[i].Perm, back[i].Perm)
		}
	}
}

// TestRealCephCLIValidation serves the sample on an admin socket and drives
// it with Debian's real ceph CLI (Pacific): accepted words must reach our
// dispatcher and bind; rejected ones must fail in ceph's own validation. Our
// Matcher, given the same descriptions, must agree with ceph on every case,
// byte for byte on stderr.
func TestRealCephCLIValidation(t *testing.T) {
	ceph := testutil.NeedCephCLI(t)
	r := sampleRegistry(t)
	sock := serveRegistry(t, r)
	m, err := cmddesc.NewMatcher(r.Describe(cmddesc.DescribeOptions{PacificCompat: true}))
	require.NoError(t, err)

	accepted := []struct {
		words string
		want  map[string]any
	}{
		{"antigravity send to blackhole myoid", map[string]any{"prefix": "antigravity send to blackhole", "oid": "myoid"}},
		{"antigravity send to blackhole myoid bh1", map[string]any{"prefix": "antigravity send to blackhole", "oid": "myoid", "blackhole": "bh1"}},
		{"antigravity send to blackhole --oid=x --blackhole y", map[string]any{"prefix": "antigravity send to blackhole", "oid": "x", "blackhole": "y"}},
		{"antigravity count 5", map[string]any{"prefix": "antigravity count", "n": 5.0}},
		{"antigravity count 5 slow --force", map[string]any{"prefix": "antigravity count", "n": 5.0, "mode": "slow", "force": true}},
		{"antigravity count 0x3 --mode=fast", map[string]any{"prefix": "antigravity count", "n": 3.0, "mode": "fast"}},
		{"antigravity types 0.5 1 2,3", map[string]any{"prefix": "antigravity types", "ratio": 0.5, "ids": []any{1.0, 2.0, 3.0}}},
		{"antigravity types 1 7 --names a,b --pool rbd", map[string]any{"prefix": "antigravity types", "ratio": 1.0, "ids": []any{7.0}, "names": []any{"a", "b"}, "pool": "rbd"}},
		{"antigravity ceph types client.admin osd.3 1.1a 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.4:6789/123 my_fs.1",
			map[string]any{"prefix": "antigravity ceph types", "who": "client.admin", "osd": 3.0, "pg": "1.1a",
				"uuid": "0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e", "addr": "1.2.3.4:6789/123", "fs": "my_fs.1"}},
		{"antigravity legacy hello 42", map[string]any{"prefix": "antigravity legacy", "x": "hello", "y": 42.0}},
		{"antigravity secret", map[string]any{"prefix": "antigravity secret"}},
	}
	for _, tc := range accepted {
		t.Run("accept "+tc.words, func(t *testing.T) {
			t.Parallel()
			run := runCeph(t, ceph, sock, strings.Fields(tc.words)...)
			require.Equal(t, 0, run.Code, run.Stderr)
			var res struct {
				Retval int
				Stdout string
				Stderr string
			}
			require.NoError(t, json.Unmarshal([]byte(run.Stdout), &res), run.Stdout)
			require.Equal(t, 0, res.Retval, res.Stderr)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(res.Stdout), &got))
			require.Equal(t, tc.want, got)

			ours, err := m.Match(strings.Fields(tc.words))
			require.NoError(t, err)
			b, err := json.Marshal(ours.Cmd)
			require.NoError(t, err)
			var oursJSON map[string]any
			require.NoError(t, json.Unmarshal(b, &oursJSON))
			require.Equal(t, tc.want, oursJSON)
		})
	}

	rejected := []string{
		"antigravity send to blackhole",
		"antigravity send to blackhole a b c",
		"antigravity send to blackhole --bogus",
		"antigravity sendx",
		"antigravity count 11",
		"antigravity count five",
		"antigravity count 5 medium",
		"antigravity count 5 --force=maybe",
		"antigravity types 1.5 1",
		"antigravity types 0.5",
		"antigravity types 0.5 x",
		"antigravity ceph types mon.a osd.x 1.1a 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.4 fs",
		"antigravity ceph types rgw.x 3 1.1a 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.4 fs",
		"antigravity ceph types client.a 3 1.zz 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.4 fs",
		"antigravity ceph types client.a 3 1.1 nope 1.2.3.4 fs",
		"antigravity ceph types client.a 3 1.1 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.999 fs",
		"antigravity ceph types client.a -1 1.1 0e2f4d8c-7b1a-4a0e-9f5e-3c2d1b0a9f8e 1.2.3.4 fs",
		"antigravity legacy",
		"nosuch command",
	}
	unknownFirstWord := map[string]bool{"nosuch command": true}
	for _, words := range rejected {
		t.Run("reject "+words, func(t *testing.T) {
			t.Parallel()
			run := runCeph(t, ceph, sock, strings.Fields(words)...)
			require.Equal(t, 22, run.Code, "stdout %q stderr %q", run.Stdout, run.Stderr)
			require.Empty(t, run.Stdout)
			require.True(t, strings.HasSuffix(run.Stderr, "admin_socket: invalid command\n"), run.Stderr)
			_, err := m.Match(strings.Fields(words))
			require.Error(t, err)
			cephLines := strings.Split(strings.TrimSuffix(run.Stderr, "admin_socket: invalid command\n"), "\n")
			ourLines := strings.Split(err.Error()+"\n", "\n")
			if unknownFirstWord[words] {
				// Ceph lists the first ten commands; we rank them by
				// similarity. Same lines, different order.
				slices.Sort(cephLines)
				slices.Sort(ourLines)
			}
			require.Equal(t, cephLines, ourLines)
		})
	}
}
