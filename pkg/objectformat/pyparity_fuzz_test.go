package objectformat

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
)

// pythonStr is the Python str a Go string stands for: invalid UTF-8 bytes
// become U+FFFD, one per byte (what the encoders print).
func pythonStr(s string) string {
	var sb strings.Builder
	for _, r := range s {
		sb.WriteRune(r)
	}
	return sb.String()
}

func requireASCII(t *testing.T, b []byte) {
	t.Helper()
	for i, c := range b {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte %#x at %d in %q", c, i, b)
		}
	}
}

// FuzzEncodeJSON checks that EncodeJSON never panics, prints ASCII only, and
// that its output is valid JSON decoding (with encoding/json) to the input.
func FuzzEncodeJSON(f *testing.F) {
	f.Add("", 0.0)
	f.Add("héllo \"wörld\"\n\t\\ <>&/ 😀", 1e16)
	f.Add("\x00\x1f\x7f\xff\xfe", math.Copysign(0, -1))
	f.Add("\u2028\u2029\ufeff\U0010ffff", 5e-324)
	f.Add("s", math.MaxFloat64)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		// Non-finite floats are printed as Python does but are not JSON.
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out, err := EncodeJSON(x, 2)
			require.NoError(t, err)
			want := map[bool]string{true: "Infinity", false: "-Infinity"}[x > 0]
			if math.IsNaN(x) {
				want = "NaN"
			}
			require.Equal(t, want, string(out))
			x = 0
		}
		ps := pythonStr(s)
		in := map[string]any{"s": s, "f": x}
		in[s] = []any{x, s, map[string]any{s: x}}
		want := map[string]any{"s": ps, "f": x}
		want[ps] = []any{x, ps, map[string]any{ps: x}}
		if ps != s {
			// Two different raw keys may collapse into one Python str.
			delete(want, s)
		}
		for _, indent := range []int{-1, 0, 2} {
			out, err := EncodeJSON(in, indent)
			require.NoError(t, err)
			requireASCII(t, out)
			require.True(t, json.Valid(out), "%q", out)
			var got any
			require.NoError(t, json.Unmarshal(out, &got))
			if ps == s {
				require.Equal(t, want, got)
			} else {
				require.Equal(t, ps, got.(map[string]any)["s"])
			}
		}
		// The float alone round-trips bit for bit.
		out, err := EncodeJSON(x, -1)
		require.NoError(t, err)
		var g float64
		require.NoError(t, json.Unmarshal(out, &g))
		require.Equal(t, math.Float64bits(x), math.Float64bits(g), "%s", out)
		// The string alone matches encoding/json's decoding.
		out, err = EncodeJSON(s, -1)
		require.NoError(t, err)
		var gs string
		require.NoError(t, json.Unmarshal(out, &gs))
		require.Equal(t, ps, gs)
	})
}

// yamlScalars returns the scalar nodes of a decoded document in order.
func yamlScalars(n *yaml.Node, out []*yaml.Node) []*yaml.Node {
	if n.Kind == yaml.ScalarNode {
		return append(out, n)
	}
	for _, c := range n.Content {
		out = yamlScalars(c, out)
	}
	return out
}

// FuzzEncodeYAML checks that EncodeYAML never panics, prints ASCII only and
// that go.yaml.in/yaml/v3 reads every scalar back as the input string, at
// the root, as a key and value of a mapping, and nested in sequences (which
// exercises folding at different columns).
func FuzzEncodeYAML(f *testing.F) {
	f.Add("")
	f.Add("abc")
	f.Add("999")
	f.Add("a\nb\n\n c ")
	f.Add(strings.Repeat("word ", 30))
	f.Add(strings.Repeat("é ", 60))
	f.Add("- x: y # z")
	f.Fuzz(func(t *testing.T, s string) {
		ps := pythonStr(s)
		docs := []struct {
			in   any
			want []string // the scalar values, in document order
		}{
			{s, []string{ps}},
			{map[string]any{"k": s}, []string{"k", ps}},
			{map[string]any{s: "v"}, []string{ps, "v"}},
			{[]any{s, []any{s}}, []string{ps, ps}},
			{map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": s}}}}, []string{"a", "b", "c", ps}},
		}
		for _, d := range docs {
			out, err := EncodeYAML(d.in)
			require.NoError(t, err)
			requireASCII(t, out)
			require.True(t, len(out) > 0 && out[len(out)-1] == '\n', "%q", out)
			var doc yaml.Node
			require.NoError(t, yaml.Unmarshal(out, &doc), "%q", out)
			got := []string{}
			for _, n := range yamlScalars(&doc, nil) {
				got = append(got, n.Value)
			}
			require.Equal(t, d.want, got, "%q", out)
		}
	})
}
