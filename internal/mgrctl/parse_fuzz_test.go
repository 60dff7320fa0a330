package mgrctl

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// parse runs parseGlobals on a fresh app.
func parse(args []string) (*app, []string, bool, error) {
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	a.newRootCmd()
	words, help, err := a.parseGlobals(a.root, args)
	return a, words, help, err
}

// FuzzParseGlobals feeds parseGlobals arbitrary words (the input split at
// spaces): it never panics, and what it leaves is stable: parsing the
// words again (with the same -c) leaves them as they are, so no global
// flag is left behind and none is taken twice. Without -c, a command's
// --name and --keyring are among those words.
func FuzzParseGlobals(f *testing.F) {
	for _, s := range []string{
		"quota get --name b",
		"-c /etc/ceph/ceph.conf -n client.x -k /k osd ls",
		"--name=b quota get --keyring",
		"-f json config-key get k -o - -i -",
		"hello -- --name -c x",
		"--timeout 1.5 --connect-timeout=0 -nfoo -k",
		"-n -f json",
		"-c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		a, words, _, err := parse(args)
		if err != nil || slices.Contains(args, "--") {
			return // after "--" words may look like flags
		}
		again := append([]string{}, words...)
		if a.g.conf != "" {
			again = append([]string{"-c", a.g.conf}, again...)
		}
		b, words2, _, err := parse(again)
		if err != nil {
			t.Fatalf("words %q of %q do not parse again: %v", words, args, err)
		}
		if !slices.Equal(words, words2) {
			t.Fatalf("args %q: words %q, parsed again %q", args, words, words2)
		}
		if a.g.conf == "" && (b.g.name != a.g.name || b.g.keyring != a.g.keyring || a.g.name != "client.admin" || a.g.keyring != "") {
			t.Fatalf("args %q: without -c, --name/--keyring were taken (%q, %q)", args, a.g.name, a.g.keyring)
		}
	})
}
