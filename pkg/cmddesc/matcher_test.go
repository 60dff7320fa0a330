package cmddesc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// descs builds descriptions from cmd strings ("cmd :: help").
func descs(t *testing.T, flags int, cmds ...string) []Description {
	t.Helper()
	var out []Description
	for _, c := range cmds {
		cmd, help, _ := strings.Cut(c, " :: ")
		s, err := ParseSpec(cmd)
		require.NoError(t, err)
		s.Help = help
		out = append(out, s.Describe("mgr", DescribeOptions{ExtraFlags: flags}))
	}
	return out
}

func matcher(t *testing.T, flags int, cmds ...string) *Matcher {
	t.Helper()
	m, err := NewMatcher(descs(t, flags, cmds...))
	require.NoError(t, err)
	return m
}

type matchCase struct {
	name  string
	words string
	want  map[string]any // nil: expect failure
	lines []string       // stderr lines (failure) or notes (success)
}

func runMatch(t *testing.T, m *Matcher, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Match(strings.Fields(tt.words))
			if tt.want == nil {
				require.Error(t, err)
				me, ok := err.(*MatchError)
				require.True(t, ok)
				require.Equal(t, tt.lines, me.Lines)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Cmd)
			require.Equal(t, tt.lines, got.Notes)
		})
	}
}

const blackhole = "antigravity send to blackhole name=oid,type=CephString name=blackhole,type=CephString,req=false :: Send the specified object to black hole"

// TestMatchBlackhole is surface §4.3 vectors 44-51.
func TestMatchBlackhole(t *testing.T) {
	m := matcher(t, FlagMgr, blackhole, "mgr module ls :: List modules")
	target := []any{"mon-mgr", ""}
	usage := "antigravity send to blackhole <oid> [<blackhole>] :  Send the specified object to black hole"
	runMatch(t, m, []matchCase{
		{"v44", "antigravity send to blackhole myoid", map[string]any{"prefix": "antigravity send to blackhole", "oid": "myoid", "target": target}, nil},
		{"v45", "antigravity send to blackhole myoid bh1", map[string]any{"prefix": "antigravity send to blackhole", "oid": "myoid", "blackhole": "bh1", "target": target}, nil},
		{"v46 missing oid", "antigravity send to blackhole", nil, []string{"Invalid command: missing required parameter oid(<string>)", usage}},
		{"v47 missing literals are not reported", "antigravity send", nil, []string{"Invalid command: missing required parameter oid(<string>)", usage}},
		{"v48 unused", "antigravity send to blackhole a b c", nil, []string{"Invalid command: unused arguments: ['c']", usage}},
		{"v49 --oid=x", "antigravity send to blackhole --oid=x", map[string]any{"prefix": "antigravity send to blackhole", "oid": "x", "target": target}, nil},
		{"v49 --oid x --blackhole y", "antigravity send to blackhole --oid x --blackhole y", map[string]any{"prefix": "antigravity send to blackhole", "oid": "x", "blackhole": "y", "target": target}, nil},
		{"v49 later keyword wins", "antigravity send to blackhole o --oid=p", map[string]any{"prefix": "antigravity send to blackhole", "oid": "p", "target": target}, nil},
		{"v49 --key takes the next word verbatim", "antigravity send to blackhole --oid --blackhole", map[string]any{"prefix": "antigravity send to blackhole", "oid": "--blackhole", "target": target}, nil},
		{"v50 unknown option", "antigravity send to blackhole --bogus", nil, []string{"Invalid command: Unexpected argument '--bogus'", usage}},
		{"v51 close match", "antigravity sendx", nil, []string{"no valid command found; 1 closest matches:", "antigravity send to blackhole <oid> [<blackhole>]"}},
	})
}

// TestMatchPositional is vectors 52 and 53 (newest positional rules).
func TestMatchPositional(t *testing.T) {
	m := matcher(t, 0,
		"vol create name=name,type=CephString name=force,req=false,positional=false,type=CephBool name=size,req=false,positional=false,type=CephInt :: Create a volume",
		"alpha one name=name,req=false,type=CephString name=format,req=false,positional=false,type=CephString :: Alpha")
	vusage := "vol create <name> [--force] [--size <int>] :  Create a volume"
	runMatch(t, m, []matchCase{
		{"v52 flags", "vol create v1 --force --size 10", map[string]any{"prefix": "vol create", "name": "v1", "force": true, "size": int64(10)}, nil},
		{"v52 --size=10", "vol create v1 --size=10", map[string]any{"prefix": "vol create", "name": "v1", "size": int64(10)}, nil},
		{"v52 flag first", "vol create --force v1", map[string]any{"prefix": "vol create", "name": "v1", "force": true}, nil},
		{"v52 positional value for a keyword-only arg", "vol create v1 10", nil, []string{"Invalid command: Unexpected argument '10'", vusage}},
		{"v52 --force=false", "vol create v1 --force=false", map[string]any{"prefix": "vol create", "name": "v1", "force": false}, nil},
		{"v52 --force=maybe", "vol create v1 --force=maybe", nil, []string{"Invalid command: maybe not one of 'true', 'false'", vusage}},
		{"v52 --size abc", "vol create v1 --size abc", nil, []string{"Invalid command: abc doesn't represent an int", vusage}},
		{"v53 --format yaml", "alpha one moon --format yaml", map[string]any{"prefix": "alpha one", "name": "moon", "format": "yaml"}, nil},
		{"v53 format is keyword-only", "alpha one moon yaml", nil, []string{"Invalid command: Unexpected argument 'yaml'", "alpha one [<name>] [--format <value>] :  Alpha"}},
	})
}

// TestMatchTypes is vectors 54-60.
func TestMatchTypes(t *testing.T) {
	m := matcher(t, 0,
		"pick name=color,strings=red|blue-ish,type=CephChoices name=ids,n=N,type=CephInt name=tags,req=false,n=N,type=CephString :: Pick",
		"rng name=v,type=CephInt,range=1|42 name=f,type=CephFloat,range=0.0|1.0,req=false :: Range",
		"fs new name=fs_name,type=CephString,goodchars=[A-Za-z0-9-_.] :: New fs",
		"int name=i,type=CephInt :: Int",
		"b flag name=x,type=CephString name=b,type=CephBool :: Bool",
		"confirm name=what,type=CephString name=sure,type=CephString,req=false :: Confirm",
		"show name=what,type=CephChoices,strings=all|summary|sum,req=false,n=N :: Show",
	)
	pick := "pick red|blue-ish <ids:int>... [<tags>...] :  Pick"
	runMatch(t, m, []matchCase{
		{"v54 N ints", "pick red 1 2", map[string]any{"prefix": "pick", "color": "red", "ids": []any{int64(1), int64(2)}}, nil},
		{"v54 commas", "pick red 1,2 3", map[string]any{"prefix": "pick", "color": "red", "ids": []any{int64(1), int64(2), int64(3)}}, nil},
		{"v54 bad choice", "pick green 1", nil, []string{"Invalid command: green not in red|blue-ish", pick}},
		{"v54 N needs one", "pick red", nil, []string{"Invalid command: saw 0 of ids(<int>)..., expected at least 1", pick}},
		{"v54 keyword N strings split and accumulate", "pick red 1 --tags a,b --tags c", map[string]any{"prefix": "pick", "color": "red", "ids": []any{int64(1)}, "tags": []any{"a", "b", "c"}}, nil},
		{"v54 N int keeps consuming", "pick red 1 t1", nil, []string{"Invalid command: t1 doesn't represent an int", pick}},
		{"v55 below range", "rng 0", nil, []string{"Invalid command: 0 not in range [1, 42]", "rng <v:int> [<f:float>] :  Range"}},
		{"v55 above range", "rng 43", nil, []string{"Invalid command: 43 not in range [1, 42]", "rng <v:int> [<f:float>] :  Range"}},
		{"v55 hex", "rng 0x10", map[string]any{"prefix": "rng", "v": int64(16)}, nil},
		{"v55 float ok", "rng 5 0.5", map[string]any{"prefix": "rng", "v": int64(5), "f": 0.5}, nil},
		{"v55 optional out of range", "rng 5 1.5", nil, []string{"1.5 not valid:  1.5 not in range [0.0, 1.0]", "Invalid command: unused arguments: ['1.5']", "rng <v:int> [<f:float>] :  Range"}},
		{"v56 goodchars ok", "fs new my_fs.1", map[string]any{"prefix": "fs new", "fs_name": "my_fs.1"}, nil},
		{"v57 010", "int 010", nil, []string{"Invalid command: 010 doesn't represent an int", "int <i:int> :  Int"}},
		{"v57 1_000", "int 1_000", map[string]any{"prefix": "int", "i": int64(1000)}, nil},
		{"v57 5.0", "int 5.0", nil, []string{"Invalid command: 5.0 doesn't represent an int", "int <i:int> :  Int"}},
		{"v58 positional bool", "b flag x true", map[string]any{"prefix": "b flag", "x": "x", "b": true}, nil},
		{"v58 False", "b flag x False", map[string]any{"prefix": "b flag", "x": "x", "b": false}, nil},
		{"v58 yes", "b flag x yes", nil, []string{"Invalid command: yes not one of 'true', 'false'", "b flag <x> --b :  Bool"}},
		{"v59 confirmation word as a value", "confirm x --yes-i-really-mean-it", map[string]any{"prefix": "confirm", "what": "x", "sure": "--yes-i-really-mean-it"}, nil},
		{"v59 --force as a value", "confirm x --force", map[string]any{"prefix": "confirm", "what": "x", "sure": "--force"}, nil},
		{"v59 other option", "confirm x --other", nil, []string{"Invalid command: Unexpected argument '--other'", "confirm <what> [<sure>] :  Confirm"}},
		{"v60 no word", "show", map[string]any{"prefix": "show"}, nil},
		{"v60 two words", "show all sum", map[string]any{"prefix": "show", "what": []any{"all", "sum"}}, nil},
		{"v60 comma", "show all,sum", map[string]any{"prefix": "show", "what": []any{"all", "sum"}}, nil},
		{"v60 bogus", "show bogus", nil, []string{"bogus not valid:  bogus not in all|summary|sum", "Invalid command: unused arguments: ['bogus']", "show [all|summary|sum...] :  Show"}},
	})
	// v56 with a bad character: Ceph lists the bad characters in set order;
	// ours lists them in order of appearance.
	_, err := m.Match([]string{"fs", "new", "bad fs!"})
	require.EqualError(t, err, "Invalid command: invalid chars  ! in bad fs!\nfs new <fs_name> :  New fs")
}

// TestMatchBest is vector 66: scoring prefers full matches and stops at
// the right command.
func TestMatchBest(t *testing.T) {
	m := matcher(t, 0,
		"fs status name=fs,type=CephString,req=false :: Show fs status",
		"fs status detail :: Detailed status",
		"fs volume create name=name,type=CephString :: Create",
		"fs volume rm name=name,type=CephString :: Remove",
		"fs hidden :: Hidden",
		"osd obsolete :: Old",
		"osd tree name=epoch,type=CephInt,req=false name=human_readable,type=CephBool,req=false,positional=false :: Tree",
	)
	m.cmds[4].flags |= FlagHidden
	m.cmds[5].flags |= FlagObsolete
	runMatch(t, m, []matchCase{
		{"v66 literal beats string", "fs status detail", map[string]any{"prefix": "fs status detail"}, nil},
		{"v66 optional string", "fs status cephfs", map[string]any{"prefix": "fs status", "fs": "cephfs"}, nil},
		{"v66 ambiguous", "fs volume", nil, []string{"no valid command found; 2 closest matches:", "fs volume create <name>", "fs volume rm <name>"}},
		{"v66 hidden still executes", "fs hidden", map[string]any{"prefix": "fs hidden"}, nil},
		{"v66 --human-readable", "osd tree --human-readable", map[string]any{"prefix": "osd tree", "human_readable": true}, nil},
		{"v66 --human_readable", "osd tree 5 --human_readable", map[string]any{"prefix": "osd tree", "epoch": int64(5), "human_readable": true}, nil},
	})
	_, err := m.Match([]string{"osd", "obsolete"})
	require.Error(t, err, "v66: obsolete commands never match")
	// Ceph accepts a missing literal word when a keyword makes up the
	// count; we do not (found by FuzzMatch).
	_, err = m.Match([]string{"osd", "--human-readable"})
	require.ErrorContains(t, err, "no valid command found")
}

// TestMatchIssueExample is the example from the foundation issue: words to
// JSON, and the usage line on failure.
func TestMatchIssueExample(t *testing.T) {
	m := matcher(t, 0, "antigravity count name=n,type=CephInt name=force,type=CephBool,req=false name=mode,type=CephChoices,strings=fast|slow,req=false :: Count")
	got, err := m.Match(strings.Fields("antigravity count 5 --force --mode=slow"))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"prefix": "antigravity count", "n": int64(5), "force": true, "mode": "slow"}, got.Cmd)
	_, err = m.Match(strings.Fields("antigravity count five"))
	require.EqualError(t, err, "Invalid command: five doesn't represent an int\nantigravity count <n:int> [--force] [fast|slow] :  Count")
}

// TestMatchClosest: unknown words list at most ten commands, closest first
// (Ceph lists the first ten; see surface §4.4 vector 80).
func TestMatchClosest(t *testing.T) {
	var cmds []string
	for _, w := range []string{"balancer", "crash", "device", "fs", "iostat", "mgr", "orch", "osd", "pg", "progress", "telemetry", "zabbix"} {
		cmds = append(cmds, w+" status :: "+w)
	}
	m := matcher(t, 0, cmds...)
	_, err := m.Match([]string{"osx", "albatross"})
	me := err.(*MatchError)
	require.Equal(t, "no valid command found; 10 closest matches:", me.Lines[0])
	require.Len(t, me.Closest, 10)
	require.Equal(t, "osd status", me.Closest[0])
}

// TestParseDescriptions is vector 67 plus Pacific's string-typed keys.
func TestParseDescriptions(t *testing.T) {
	_, err := ParseDescriptions([]byte(`{"cmd000": {"sig": ["x", {"name": "a", "type": "CephBogus"}], "help": ""}}`), "cli")
	require.ErrorContains(t, err, "unknown type CephBogus")
	ds, err := ParseDescriptions([]byte(`{"cmd001": {"sig": ["b", {"name": "a", "type": "CephString", "req": "False"}], "help": "B", "flags": 8},
		"cmd000": {"sig": ["a"], "help": "A", "avail": "rest"},
		"cmd002": {"sig": ["c", {"name": "n", "type": "CephInt", "req": false, "n": "N"}], "help": "C", "avail": "cli,rest"}}`), "cli")
	require.NoError(t, err)
	require.Len(t, ds, 2, "avail without cli is dropped")
	require.Equal(t, "b", ds[0].Sig.Prefix(), "order of the reply is kept")
	require.False(t, ds[0].Sig.Args()[0].Required(), `"False" means optional`)
	require.False(t, ds[1].Sig.Args()[0].Required())
	m, err := NewMatcher(ds)
	require.NoError(t, err)
	_, err = m.Match([]string{"章鱼和鱿鱼"})
	require.Error(t, err, "v67: non-ASCII words match nothing")
	_, err = ParseDescriptions([]byte(`[1]`), "")
	require.Error(t, err)
	_, err = ParseDescriptions([]byte(`{"cmd000": {"help": "no sig"}}`), "")
	require.ErrorContains(t, err, "has no sig")
}

func TestComplete(t *testing.T) {
	m := matcher(t, 0, blackhole, "antigravity pull name=what,type=CephChoices,strings=up|down|sideways :: Pull",
		"hello name=person_name,type=CephString,req=false :: Hello", "help :: Help",
		"vol create name=name,type=CephString name=force,req=false,positional=false,type=CephBool :: Create")
	require.Equal(t, []string{"hello", "help"}, m.Complete([]string{"hel"}))
	require.Equal(t, []string{"pull", "send"}, m.Complete([]string{"antigravity", ""}))
	require.Equal(t, []string{"sideways"}, m.Complete([]string{"antigravity", "pull", "s"}))
	require.Equal(t, []string{"--force"}, m.Complete([]string{"vol", "create", "v1", "--f"}))
	require.Empty(t, m.Complete([]string{"nothing", ""}))
}

func TestPyRepr(t *testing.T) {
	require.Equal(t, `['c', "it's", 'a\nb', 'q\\']`, pyListRepr([]string{"c", "it's", "a\nb", `q\`}))
}
