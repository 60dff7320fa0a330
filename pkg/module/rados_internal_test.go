package module

import (
	"testing"

	"github.com/gomgr/gomgr/internal/objstore"
)

// The author API's copies of the object store's constants (pkg/module
// cannot expose the internal package's names) are the same values.
func TestRadosConstantsMatchTheStore(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"RadosAllNamespaces", RadosAllNamespaces, objstore.AllNamespaces},
		{"RadosMaxObjectSize", RadosMaxObjectSize, objstore.MaxObjectSize},
		{"RadosMaxList", RadosMaxList, objstore.MaxList},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, objstore has %v", c.name, c.got, c.want)
		}
	}
}
