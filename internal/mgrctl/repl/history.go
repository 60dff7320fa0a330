package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHistorySize is how many entries a History keeps.
const DefaultHistorySize = 1000

// History is the REPL's persistent line history: one entry per line of a
// text file, oldest first. Entries are appended to the file as they are
// added, so concurrent sessions interleave instead of overwriting each
// other; the file is compacted to the newest Max entries when it has
// grown to twice that.
type History struct {
	path    string
	max     int
	entries []string
}

// DefaultHistoryPath is $XDG_STATE_HOME/gomgr/repl_history, or
// ~/.local/state/gomgr/repl_history when XDG_STATE_HOME is not set.
func DefaultHistoryPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gomgr", "repl_history"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("repl history: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "gomgr", "repl_history"), nil
}

// OpenHistory loads the history file at path (a missing file is an empty
// history). max <= 0 means DefaultHistorySize.
func OpenHistory(path string, max int) (*History, error) {
	if max <= 0 {
		max = DefaultHistorySize
	}
	h := &History{path: path, max: max}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repl history: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" {
			h.entries = append(h.entries, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("repl history %s: %w", path, err)
	}
	if len(h.entries) > 2*max {
		h.entries = h.entries[len(h.entries)-max:]
		if err := h.rewrite(); err != nil {
			return nil, err
		}
	} else if len(h.entries) > max {
		h.entries = h.entries[len(h.entries)-max:]
	}
	return h, nil
}

// Path returns the history file ("" for an in-memory history).
func (h *History) Path() string { return h.path }

// Entries returns the entries, oldest first.
func (h *History) Entries() []string { return h.entries }

// Add records a line unless it is blank or repeats the newest entry, and
// appends it to the file.
func (h *History) Add(line string) error {
	if strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\r\n") {
		return nil
	}
	if n := len(h.entries); n > 0 && h.entries[n-1] == line {
		return nil
	}
	h.entries = append(h.entries, line)
	if len(h.entries) > h.max {
		h.entries = h.entries[len(h.entries)-h.max:]
	}
	if h.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return fmt.Errorf("repl history: %w", err)
	}
	f, err := os.OpenFile(h.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("repl history: %w", err)
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("repl history %s: %w", h.path, err)
	}
	return nil
}

// rewrite replaces the file with the current entries.
func (h *History) rewrite() error {
	tmp := h.path + ".tmp"
	data := strings.Join(h.entries, "\n") + "\n"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return fmt.Errorf("repl history: %w", err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		return fmt.Errorf("repl history: %w", err)
	}
	return nil
}
