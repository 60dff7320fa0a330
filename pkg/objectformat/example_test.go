package objectformat_test

import (
	"context"
	"fmt"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

type pool struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// Responder renders a handler's value in the requested format.
func ExampleResponder() {
	h := objectformat.Responder(func(ctx context.Context, req *objectformat.Request) ([]pool, error) {
		return []pool{{"rbd", 3}, {"cephfs", 2}}, nil
	})
	for _, f := range []objectformat.Format{"", "yaml", "xml"} {
		res := h.ServeCommand(context.Background(), &objectformat.Request{Format: f})
		fmt.Printf("%d %s%q\n", res.Retval, res.Stdout, res.Stderr)
	}
	// Output:
	// 0 [
	//   {
	//     "name": "rbd",
	//     "size": 3
	//   },
	//   {
	//     "name": "cephfs",
	//     "size": 2
	//   }
	// ]""
	// 0 - name: rbd
	//   size: 3
	// - name: cephfs
	//   size: 2
	// ""
	// -22 "Unsupported format: xml"
}

// Wrap turns any error into an errno result.
func ExampleWrap() {
	err := fmt.Errorf("pool %q: %w", "rbd", objectformat.NewErrorResponseCode("not found", -2))
	fmt.Println(objectformat.ResultOf(err))
	fmt.Println(objectformat.Wrap(fmt.Errorf("plain failure")).FormatResponse())
	// Output:
	// (-2, "", "pool \"rbd\": not found")
	// (-22, "", "plain failure")
}
