package cmddesc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsage(t *testing.T) {
	for cmd, want := range map[string]string{
		"count name=num,type=CephInt":                                            "count <num:int>",
		"hello name=person_name,type=CephString,req=false":                       "hello [<person_name>]",
		"config set name=who,type=CephString name=force,type=CephBool,req=false": "config set <who> [--force]",
		"mgr module ls": "mgr module ls",
	} {
		d := descs(t, 0, cmd)[0]
		got, err := Usage(d)
		require.NoError(t, err)
		require.Equal(t, want, got, cmd)
	}
}
