package cmddesc

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignatureRoundTrip: cmd strings in the forms Ceph's MonCommands.h and
// Python modules use parse and print back unchanged.
func TestSignatureRoundTrip(t *testing.T) {
	for _, cmd := range []string{
		"antigravity send to blackhole name=oid,type=CephString name=blackhole,type=CephString,req=false",
		"mgr self-test run",
		"osd pool create name=pool,type=CephPoolname name=pg_num,type=CephInt,range=0,req=false name=pool_type,type=CephChoices,strings=replicated|erasure,req=false",
		"osd pool set name=pool,type=CephPoolname name=var,type=CephChoices,strings=size|min_size name=val,type=CephString name=yes_i_really_mean_it,type=CephBool,req=false",
		"tell name=target,type=CephName name=args,type=CephString,n=N",
		"fs new name=fs_name,type=CephString,goodchars=[A-Za-z0-9-_.] name=metadata,type=CephString",
		"mds set_state name=gid,type=CephInt,range=0 name=state,type=CephInt,range=0|20",
		"osd reweight name=id,type=CephOsdName type=CephFloat,name=weight,range=0.0|1.0",
		"pg repair name=pgid,type=CephPgid",
		"osd blocklist name=blocklistop,type=CephChoices,strings=add|rm name=addr,type=CephEntityAddr name=expire,type=CephFloat,range=0.0,req=false",
		"config-key set name=key,type=CephString name=val,type=CephString,req=False",
		"mgr self-test config get name=key,type=CephString",
		"vol create name=name,type=CephString name=force,req=false,positional=false,type=CephBool name=size,req=false,positional=false,type=CephInt",
		"frag name=frag,type=CephFragment name=uuid,type=CephUUID name=ip,type=CephIPAddr name=sock,type=CephSocketpath name=f,type=CephFilepath name=o,type=CephObjectname name=who,type=CephName name=sz,type=CephSizeBytes",
	} {
		sig, err := ParseSignature(cmd)
		require.NoError(t, err, cmd)
		require.Equal(t, cmd, sig.String())
		// and through the JSON sig form of get_command_descriptions
		data, err := json.Marshal(sig)
		require.NoError(t, err)
		var back Signature
		require.NoError(t, json.Unmarshal(data, &back), string(data))
		again, err := ParseSignature(back.String())
		require.NoError(t, err)
		require.Equal(t, len(sig), len(again))
		for i := range sig {
			if sig[i].Arg == nil {
				require.Equal(t, sig[i].Literal, again[i].Literal)
				continue
			}
			for _, k := range sig[i].Arg.Keys() {
				v1, _ := sig[i].Arg.Get(k)
				v2, ok := again[i].Arg.Get(k)
				require.True(t, ok, k)
				require.Equal(t, v1, v2, k)
			}
		}
	}
}

func TestSignatureJSON(t *testing.T) {
	sig, err := ParseSignature("antigravity send to blackhole name=oid,type=CephString name=blackhole,type=CephString,req=false")
	require.NoError(t, err)
	data, err := json.Marshal(sig)
	require.NoError(t, err)
	// The shape a Pacific mgr serves (surface §2.1).
	require.JSONEq(t, `["antigravity", "send", "to", "blackhole", {"name": "oid", "type": "CephString"}, {"name": "blackhole", "req": "false", "type": "CephString"}]`, string(data))
	require.Equal(t, `["antigravity","send","to","blackhole",{"name":"oid","type":"CephString"},{"name":"blackhole","req":"false","type":"CephString"}]`, string(data))
}

func TestParseSignatureErrors(t *testing.T) {
	for cmd, want := range map[string]string{
		"":                                "empty command signature",
		"name=x,type=CephString":          "starts with an argument",
		"x name=a,type=CephBogus":         "unknown type CephBogus",
		"x name=a":                        "no type",
		"x type=CephString":               "no name",
		"x name=a,type=CephString,name=b": `key "name" given twice`,
		"x name=a,type=CephString name=a,type=CephInt": `argument "a" declared twice`,
		"x name=prefix,type=CephString":                `"prefix" is reserved`,
		"x name=a,type=CephInt,n=0":                    "want N or a positive count",
		"x name=a,type=CephInt,range=5|1":              "min is above max",
		"x name=a,type=CephInt,range=a":                "is not a number",
		"x name=a,type=CephString,range=1":             "range is only for CephInt",
		"x name=a,type=CephChoices":                    "needs strings",
		"x name=a,type=CephInt,goodchars=[a]":          "goodchars is only for CephString",
		"x name=a,type=CephString,goodchars=[":         "not a valid regular expression",
		"x name=a,type=CephString,,":                   "is not key=value",
		"x name=a b,type=CephString":                   "no type",
		"x name=a!,type=CephString":                    "must be letters",
	} {
		_, err := ParseSignature(cmd)
		require.Error(t, err, cmd)
		require.Contains(t, err.Error(), want, cmd)
	}
}

func TestArgAccessors(t *testing.T) {
	a, err := ParseArg("name=ids,type=CephInt,n=N,req=False")
	require.NoError(t, err)
	require.Equal(t, "ids", a.Name())
	require.False(t, a.Required(), "surface §6 item 25: only True/true are true")
	n, many := a.Count()
	require.Equal(t, 1, n)
	require.True(t, many)
	b := NewArg("x", CephChoices)
	b.Set("strings", "a|b")
	b.Set("req", "false")
	b.Set("positional", "false")
	require.Equal(t, "name=x,req=false,positional=false,strings=a|b,type=CephChoices", b.String())
	require.Equal(t, []string{"a", "b"}, b.Choices())
	require.False(t, b.Positional())
	c := b.Clone()
	c.Delete("req")
	require.True(t, c.Required())
	require.False(t, b.Required())
	k, many := mustArg(t, "name=p,type=CephInt,n=2").Count()
	require.Equal(t, 2, k)
	require.False(t, many)
}

func mustArg(t *testing.T, s string) *Arg {
	a, err := ParseArg(s)
	require.NoError(t, err)
	return a
}

func TestDescribePacificCompat(t *testing.T) {
	s, err := ParseSpec("vol create name=name,type=CephString,goodchars=[a-z] name=force,req=false,positional=false,type=CephBool name=size,req=false,positional=false,type=CephSizeBytes,default_unit=KB")
	require.NoError(t, err)
	d := s.Describe("volumes", DescribeOptions{PacificCompat: true, ExtraFlags: FlagMgr})
	require.Equal(t, "vol create name=name,type=CephString,goodchars=[a-z] name=force,req=false,type=CephBool name=size,req=false,type=CephString", d.Sig.String())
	require.Equal(t, FlagMgr, d.Flags)
	require.Equal(t, "volumes", d.Module)
	// The original is untouched.
	require.Contains(t, s.CmdString(), "positional=false")
	out, err := DescriptionsJSON([]Description{d, d})
	require.NoError(t, err)
	require.Contains(t, string(out), `{"cmd000": {"sig":`)
	require.Contains(t, string(out), `, "cmd001": `)
}
