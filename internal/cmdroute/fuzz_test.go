package cmdroute

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomgr/gomgr/pkg/clicommand"
	"github.com/gomgr/gomgr/pkg/cmddesc"
	"github.com/gomgr/gomgr/pkg/objectformat"
)

type fuzzArgs struct {
	clicommand.Meta `prefix:"fuzz cmd"`
	Name            string `ceph:"goodchars=[a-z0-9_]"`
	N               *int   `ceph:"range=-5|500"`
	IDs             []uint16
	Ratio           *float32
	Flag            bool
	Who             *string `ceph:"type=CephName"`
	OSD             *int    `ceph:"type=CephOsdName"`
	Pair            *[2]int8
	Mode            *color
	Inbuf           []byte
}

// FuzzDecodeCommand: the JSON-command decoder and dispatcher never panic,
// answer every input with a Result, and only reach the handler with
// arguments that satisfy the descriptors.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		`{"prefix": "fuzz cmd", "name": "abc", "ids": [1, 2]}`,
		`{"prefix": "fuzz cmd", "name": "abc", "ids": "1,2", "n": "0x10", "flag": "false"}`,
		`{"prefix": "fuzz cmd", "name": "ABC", "ids": 70000}`,
		`{"prefix": "fuzz cmd", "name": "a", "ids": [1], "pair": [1, 2], "mode": "red", "who": "osd.1", "osd": "osd.2"}`,
		`{"prefix": "fuzz cmd", "name": ["a"], "ids": [[1]]}`,
		`{"prefix": "nope"}`, `{}`, `[]`, `{"prefix": 5}`, `{"prefix": "fuzz cmd", "bogus": null}`,
	} {
		f.Add([]byte(s), []byte(""))
	}
	r := NewRegistry()
	r.MustAdd("fuzz", clicommand.Func(func(_ context.Context, a *fuzzArgs) objectformat.Result {
		if a.N != nil && (*a.N < -5 || *a.N > 500) {
			panic("range not enforced")
		}
		if strings.ContainsFunc(a.Name, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
			panic("goodchars not enforced")
		}
		if len(a.IDs) == 0 {
			panic("required list missing")
		}
		return objectformat.OK("ok")
	}))
	f.Fuzz(func(t *testing.T, data, inbuf []byte) {
		var cmd map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&cmd) != nil {
			return
		}
		res := r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: cmd, Inbuf: inbuf})
		if strings.Contains(res.Stderr, "panicked") {
			t.Fatalf("handler saw invalid arguments: %s", res.Stderr)
		}
		if res.Retval != 0 && res.Stderr == "" {
			t.Fatalf("error without a message for %s", data)
		}
	})
}

// FuzzMatch: the CLI-word matcher never panics, and every command it
// produces is accepted by the server-side dispatcher for the same
// descriptions (client and server agree).
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"antigravity send to blackhole myoid", "antigravity count 5 --force --mode=slow",
		"pick red 1,2 3 --tags a,b", "rng 0x10 0.5", "vol create v1 --size=10", "show all,sum",
		"osd tree --human-readable", "fs status detail", "--bogus", "", "a b c d e f",
	} {
		f.Add(s)
	}
	cmds := []string{
		"antigravity send to blackhole name=oid,type=CephString name=blackhole,type=CephString,req=false",
		"antigravity count name=n,type=CephInt name=force,type=CephBool,req=false name=mode,type=CephChoices,strings=fast|slow,req=false",
		"pick name=color,strings=red|blue-ish,type=CephChoices name=ids,n=N,type=CephInt name=tags,req=false,n=N,type=CephString",
		"rng name=v,type=CephInt,range=1|42 name=f,type=CephFloat,range=0.0|1.0,req=false",
		"vol create name=name,type=CephString name=force,req=false,positional=false,type=CephBool name=size,req=false,positional=false,type=CephInt",
		"show name=what,type=CephChoices,strings=all|summary|sum,req=false,n=N",
		"osd tree name=epoch,type=CephInt,req=false name=human_readable,type=CephBool,req=false,positional=false",
		"fs status name=fs,type=CephString,req=false", "fs status detail",
		"osd down name=ids,type=CephOsdName,n=N name=who,type=CephName,req=false name=pg,type=CephPgid,req=false",
	}
	r := NewRegistry()
	var descs []cmddesc.Description
	for _, c := range cmds {
		r.MustAdd("fuzz", clicommand.Legacy(c, "help", "rw", objectformat.HandlerFunc(func(context.Context, *objectformat.Request) objectformat.Result {
			return objectformat.Result{}
		})))
	}
	descs = r.Describe(cmddesc.DescribeOptions{})
	m, err := cmddesc.NewMatcher(descs)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words := strings.Fields(line)
		got, err := m.Match(words)
		if err != nil {
			if _, ok := err.(*cmddesc.MatchError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		data, err := json.Marshal(got.Cmd)
		if err != nil {
			t.Fatal(err)
		}
		var cmd map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&cmd); err != nil {
			t.Fatal(err)
		}
		if res := r.Dispatch(context.Background(), clicommand.Call{Perm: "rw", Cmd: cmd}); res.Retval != 0 {
			t.Fatalf("matcher accepted %q as %s but the dispatcher says %s", line, data, res.Stderr)
		}
		m.Complete(words)
	})
}
