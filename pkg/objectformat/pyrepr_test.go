package objectformat

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPyFloatReprExported covers the non-finite values appendPyFloatRepr
// leaves to its callers, and the signs and exponent boundaries.
func TestPyFloatReprExported(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 1.5: "1.5", 1e20: "1e+20", 1e16: "1e+16", 1e15: "1000000000000000.0",
		0.0001: "0.0001", 0.00001: "1e-05", -2.5e-7: "-2.5e-07", 0.1: "0.1", 123456789.125: "123456789.125",
		math.Inf(1): "inf", math.Inf(-1): "-inf", math.Copysign(0, -1): "-0.0", 1.7976931348623157e308: "1.7976931348623157e+308",
	} {
		require.Equal(t, want, PyFloatRepr(f), "%v", f)
	}
	require.Equal(t, "nan", PyFloatRepr(math.NaN()))
}
