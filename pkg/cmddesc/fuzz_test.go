package cmddesc

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzParseSignature: the argdesc parser never panics, and whatever it
// accepts prints back to a string that parses to an equal signature.
func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		"antigravity send to blackhole name=oid,type=CephString name=blackhole,type=CephString,req=false",
		"osd pool create name=pool,type=CephPoolname name=pg_num,type=CephInt,range=0,req=false",
		"pick name=color,strings=red|blue-ish,type=CephChoices name=ids,n=N,type=CephInt",
		"fs new name=fs_name,type=CephString,goodchars=[A-Za-z0-9-_.]",
		"rng name=v,type=CephInt,range=1|42 name=f,type=CephFloat,range=0.0|1.0,req=false",
		"x name=a,type=CephString,positional=false,req=False",
		"x name=,type=", "x ,,,", "=", "a=b", "x name=a,type=CephInt,range=9999999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		sig, err := ParseSignature(cmd)
		if err != nil {
			return
		}
		again, err := ParseSignature(sig.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", sig.String(), err)
		}
		if !sig.Equal(again) || sig.String() != again.String() {
			t.Fatalf("round trip changed %q to %q", sig.String(), again.String())
		}
		data, err := json.Marshal(sig)
		if err != nil {
			t.Fatal(err)
		}
		var back Signature
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("JSON round trip of %s: %v", data, err)
		}
		if !sig.Equal(back) {
			t.Fatalf("JSON round trip changed %q to %q", sig, back)
		}
		if _, err := ParseSpec(cmd); err != nil {
			t.Fatalf("SpecFromString rejects what ParseSignature accepts: %v", err)
		}
	})
}

// BenchmarkMatch measures the client-side matcher (mgrctl, per call) on the
// real Pacific monitor table of 500+ commands.
func BenchmarkMatch(b *testing.B) {
	data, err := readFixture("testdata/pacific-mon-descriptions.json")
	if err != nil {
		b.Fatal(err)
	}
	descs, err := ParseDescriptions(data, "cli")
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewMatcher(descs)
	if err != nil {
		b.Fatal(err)
	}
	words := []string{"osd", "pool", "create", "p", "8"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Match(words); err != nil {
			b.Fatal(err)
		}
	}
}

func readFixture(p string) ([]byte, error) { return os.ReadFile(p) }
