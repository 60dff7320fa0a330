package evalsandbox

import "testing"

func TestNeedsMore(t *testing.T) {
	opts := fileOptions(false)
	for src, want := range map[string]bool{
		"":                              false,
		"1+1":                           false,
		"x = 1\n":                       false,
		"def f():":                      true,
		"def f():\n  return 1":          true,
		"def f():\n  return 1\n":        false,
		"def f():\n  return 1\n\n\n":    false,
		"if True:\n  pass\n  \n":        false,
		"if True:\r\n  pass\r\n":        false,
		"def f():\n  return 1\nf()":     false,
		"def f():\n  return 1\nf(":      true,
		"def f():\n  return 1\nif f():": true,
		"x = {\n 'a': 1,\n}":            false,
		"x = {\n 'a': 1,\n":             true,
		"x = )":                         false, // a syntax error, not incomplete
		"x = 1\n  y = 2":                false,
		"# comment":                     false,
		"s = '''a\nb'''":                false,
		"s = '''a\nb":                   true,
		"for i in range(2):\n  if i:\n    pass\n": false,
		"for i in range(2):\n  if i:\n    pass":   true,
	} {
		if got := needsMore(opts, src); got != want {
			t.Errorf("needsMore(%q) = %v, want %v", src, got, want)
		}
	}
}
