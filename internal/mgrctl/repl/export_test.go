package repl

import (
	"reflect"

	tea "github.com/charmbracelet/bubbletea"
)

// printed recognises bubbletea's (unexported) Println message and
// returns its text.
func printed(msg tea.Msg) (string, bool) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Struct || v.Type().Name() != "printLineMessage" {
		return "", false
	}
	return v.FieldByName("messageBody").String(), true
}

// sequence recognises bubbletea's (unexported) Sequence message.
func sequence(msg tea.Msg) ([]tea.Cmd, bool) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Name() != "sequenceMsg" {
		return nil, false
	}
	cmds := make([]tea.Cmd, v.Len())
	for i := range cmds {
		cmds[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return cmds, true
}
