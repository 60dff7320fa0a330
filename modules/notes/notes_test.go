package notes_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/gomgr/gomgr/modules/notes"
	"github.com/gomgr/gomgr/pkg/module/moduletest"
)

type note struct {
	Name    string `json:"name"`
	Updated string `json:"updated"`
	Author  string `json:"author"`
	Size    uint64 `json:"size"`
}

func ls(t *testing.T, h *moduletest.Harness, args string) []note {
	t.Helper()
	var out []note
	require.NoError(t, json.Unmarshal([]byte(h.Must("notes ls "+args)), &out))
	return out
}

// TestNotes runs the module on the embedded object store, as a daemon
// without a cluster runs it.
func TestNotes(t *testing.T) {
	h := moduletest.Start(t, "notes")
	require.Empty(t, ls(t, h, ""), "no pool yet: no notes")
	for _, tc := range []struct {
		line, out, err string
		retval         int
	}{
		{line: "notes get shopping", retval: -2, err: "no note 'shopping'"},
		{line: "notes rm shopping", retval: -2, err: "no note 'shopping'"},
		{line: "notes add shopping milk and eggs"},
		{line: "notes get shopping", out: "milk and eggs"},
		{line: "notes add shopping again", retval: -17, err: "note 'shopping' exists: notes append to it, or notes rm it first"},
		{line: "notes append shopping bread"},
		{line: "notes get shopping", out: "milk and eggs\nbread"},
		{line: "notes append todo write the notes module"},
		{line: "notes add tea green"},
		{line: "notes add " + strings.Repeat("n", 201) + " x", retval: -36, err: "a note's name is at most 200 bytes"},
	} {
		res := h.Run(tc.line)
		require.Equal(t, [3]any{tc.retval, tc.out, tc.err}, [3]any{res.Retval, string(res.Stdout), res.Stderr}, tc.line)
	}
	notes := ls(t, h, "")
	require.Len(t, notes, 3)
	require.Equal(t, []string{"shopping", "tea", "todo"}, []string{notes[0].Name, notes[1].Name, notes[2].Name})
	require.Equal(t, uint64(len("milk and eggs\nbread")), notes[0].Size)
	require.Equal(t, "mgr.x", notes[0].Author)
	require.NotEmpty(t, notes[0].Updated)
	require.Len(t, ls(t, h, "t"), 2, "a prefix")

	h.Must("notes rm tea")
	require.Len(t, ls(t, h, ""), 2)

	// Another pool: the module creates it on first write, and the notes
	// of the first are not there.
	require.NoError(t, h.SetOption("pool", "other"))
	require.Empty(t, ls(t, h, ""))
	h.Must("notes add elsewhere x")
	require.Len(t, ls(t, h, ""), 1)
	require.NoError(t, h.SetOption("pool", ".mgr"))
	require.Len(t, ls(t, h, ""), 2)
	// And another namespace of the same pool.
	require.NoError(t, h.SetOption("namespace", "ns2"))
	require.Empty(t, ls(t, h, ""))
}

// TestNotesPaging lists more notes than one page of the omap index.
func TestNotesPaging(t *testing.T) {
	h := moduletest.Start(t, "notes")
	for i := range 230 {
		h.Must("notes add n" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i) + " x")
	}
	notes := ls(t, h, "")
	require.Len(t, notes, 230)
	require.Equal(t, "n000", notes[0].Name)
	require.Equal(t, "n229", notes[229].Name)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
