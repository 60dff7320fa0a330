package objectformat

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
)

const parityDir = "testdata/pyparity"

// parityCase is one entry of testdata/pyparity/cases.json, decoded into the
// Go value that corresponds to the Python value generate.py builds.
type parityCase struct {
	Name  string
	Value any
}

// loadParityCases decodes cases.json with the same tag conventions as
// generate.py ($float, $bytes, $intkeys, $repeat; numbers with a fraction or
// exponent are floats, other numbers ints).
func loadParityCases(t testing.TB) []parityCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(parityDir, "cases.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var list []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	}
	require.NoError(t, dec.Decode(&list))
	out := make([]parityCase, 0, len(list))
	for _, c := range list {
		v, err := decodeParityValue(c.Value)
		require.NoError(t, err, c.Name)
		out = append(out, parityCase{Name: c.Name, Value: v})
	}
	require.NotEmpty(t, out)
	return out
}

func decodeParityValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return numberValue(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			d, err := decodeParityValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, tv := range x {
				switch k {
				case "$float":
					switch tv {
					case "nan":
						return math.NaN(), nil
					case "inf":
						return math.Inf(1), nil
					case "-inf":
						return math.Inf(-1), nil
					}
				case "$bytes":
					return base64.StdEncoding.DecodeString(tv.(string))
				case "$repeat":
					pair := tv.([]any)
					n, err := pair[1].(json.Number).Int64()
					if err != nil {
						return nil, err
					}
					return strings.Repeat(pair[0].(string), int(n)), nil
				case "$intkeys":
					m := map[int64]any{}
					for _, p := range tv.([]any) {
						pair := p.([]any)
						k, err := pair[0].(json.Number).Int64()
						if err != nil {
							return nil, err
						}
						d, err := decodeParityValue(pair[1])
						if err != nil {
							return nil, err
						}
						m[k] = d
					}
					return m, nil
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			d, err := decodeParityValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = d
		}
		return out, nil
	}
	return v, nil
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parityDir, name))
	require.NoError(t, err)
	return b
}

// TestYAMLCephVectors checks the YAML vectors of Ceph's
// test_object_format.py (surface §4 vectors).
func TestYAMLCephVectors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"surface §4 vector 5: empty dict", map[string]any{}, "{}\n"},
		{"surface §4 vector 5: name foobar", map[string]any{"name": "foobar"}, "name: foobar\n"},
		{"surface §4 vector 5: stuff list", map[string]any{"stuff": []any{1, 88, 909, 32}}, "stuff:\n- 1\n- 88\n- 909\n- 32\n"},
		{"surface §4 vector 6: zebulon quoted 999", map[string]any{"name": "zebulon", "value": "999", "version": 1},
			"name: zebulon\nvalue: '999'\nversion: 1\n"},
		{"surface §4 vector 13: blat", map[string]any{"blat": true}, "blat: true\n"},
		{"surface §4 vector 17: moonbase2", map[string]any{"alpha": "one", "name": "moonbase2", "weight": 300},
			"alpha: one\nname: moonbase2\nweight: 300\n"},
		{"surface §4 vector 31: bytes", []byte("x"), "!!binary |\n  eA==\n"},
		{"surface §4 vector 31: None", nil, "null\n...\n"},
		{"surface §4 vector 31: abc", "abc", "abc\n...\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeYAML(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestYAMLScalarsAndLayout(t *testing.T) {
	type M = map[string]any
	type L = []any
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"int root", 42, "42\n...\n"},
		{"bool root", true, "true\n...\n"},
		{"quoted root has no document end", "999", "'999'\n"},
		{"empty string root", "", "''\n"},
		{"empty list root", L{}, "[]\n"},
		{"floats", M{"a": 1.0, "b": 1e20, "c": math.NaN(), "d": math.Inf(1), "e": math.Inf(-1), "f": 1e-5, "g": 0.1},
			"a: 1.0\nb: 1.0e+20\nc: .nan\nd: .inf\ne: -.inf\nf: 1.0e-05\ng: 0.1\n"},
		{"quoting", M{"a": "yes", "b": "true", "c": "null", "d": "", "e": "1.5", "f": "0x10", "g": "~", "h": " x", "i": "x ",
			"j": "*x", "k": "a: b", "l": "a #b", "m": "-", "n": "- x", "o": "@x", "p": "`x", "q": "%x", "r": "!x", "s": "&x", "t": "?"},
			"a: 'yes'\nb: 'true'\nc: 'null'\nd: ''\ne: '1.5'\nf: '0x10'\ng: '~'\nh: ' x'\ni: 'x '\nj: '*x'\nk: 'a: b'\n" +
				"l: 'a #b'\nm: '-'\nn: '- x'\no: '@x'\np: '`x'\nq: '%x'\nr: '!x'\ns: '&x'\nt: '?'\n"},
		{"unicode escapes", L{"é", "€", "😀"}, "- \"\\xE9\"\n- \"\\u20AC\"\n- \"\\U0001F600\"\n"},
		{"none value", M{"a": nil}, "a: null\n"},
		{"list of dicts", L{M{"b": 1, "c": 2}}, "- b: 1\n  c: 2\n"},
		{"nested lists", L{L{1, L{2}}}, "- - 1\n  - - 2\n"},
		{"empty containers", M{"a": M{}, "b": L{}}, "a: {}\nb: []\n"},
		{"multi-line", M{"a": "x\ny"}, "a: 'x\n\n  y'\n"},
		{"int keys sort numerically", map[int]string{10: "a", 9: "b", -1: "c"}, "-1: c\n9: b\n10: a\n"},
		{"bytes in map", M{"k": []byte("hello")}, "k: !!binary |\n  aGVsbG8=\n"},
		{"empty bytes", M{"k": []byte{}}, "k: !!binary \"\"\n"},
		{"invalid utf-8", "a\xffb", "\"a\\uFFFDb\"\n"},
		{"typed slices", M{"s": []string{"x", "y z"}, "i": []int{1}, "m": map[string]string{"k": "v"}},
			"i:\n- 1\nm:\n  k: v\ns:\n- x\n- y z\n"},
		{"nil typed containers", M{"a": []string(nil), "b": map[string]any(nil), "c": []byte(nil)}, "a: null\nb: null\nc: null\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EncodeYAML(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestYAMLErrors(t *testing.T) {
	_, err := EncodeYAML(map[string]any{"c": make(chan int)})
	require.EqualError(t, err, "objectformat: cannot encode value of type chan int")
	_, err = EncodeYAML(complex(1, 2))
	require.EqualError(t, err, "objectformat: cannot encode value of type complex128")
	cyc := map[string]any{}
	cyc["self"] = cyc
	_, err = EncodeYAML(cyc)
	require.ErrorIs(t, err, errNestedTooDeep)
}

// TestYAMLParityCorpus requires byte equality with PyYAML's output for every
// case of testdata/pyparity/cases.json.
func TestYAMLParityCorpus(t *testing.T) {
	for _, c := range loadParityCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			got, err := EncodeYAML(c.Value)
			require.NoError(t, err)
			require.Equal(t, string(readGolden(t, c.Name+".yaml")), string(got))
			// Every output must be readable YAML.
			var n yaml.Node
			require.NoError(t, yaml.Unmarshal(got, &n))
		})
	}
}

// TestParityGoldensCurrent re-runs generate.py into a temporary directory and
// checks that the committed goldens are exactly what Python produces today.
func TestParityGoldensCurrent(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import yaml").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s with PyYAML is required under CI=true: %v", py, err)
		}
		t.Skipf("%s with PyYAML not available: %v", py, err)
	}
	out := t.TempDir()
	cmd := exec.Command(py, filepath.Join(parityDir, "generate.py"), "--out", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, string(msg))

	listGoldens := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			n := e.Name()
			if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".err") {
				if n != "cases.json" {
					names = append(names, n)
				}
			}
		}
		sort.Strings(names)
		return names
	}
	fresh := listGoldens(out)
	require.Equal(t, fresh, listGoldens(parityDir), "golden file set differs; run generate.py")
	for _, n := range fresh {
		want, err := os.ReadFile(filepath.Join(out, n))
		require.NoError(t, err)
		require.Equal(t, string(want), string(readGolden(t, n)), "%s is stale; run generate.py", n)
	}
}

func TestYAMLAnalysisMatchesResolver(t *testing.T) {
	for _, s := range []string{"yes", "No", "on", "OFF", "null", "~", "", "1", "09", "0o17", "1_0", "1:20", ".5", "1e3",
		"1.0e+3", ".inf", "-.inf", ".NaN", "2001-12-14", "<<", "=", "+1", "1.2.3"} {
		got := yamlResolvesToStr(s)
		switch s {
		case "09", "0o17", "1e3", "1.2.3":
			require.True(t, got, s)
		default:
			require.False(t, got, s)
		}
	}
}
