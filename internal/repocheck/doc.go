// Package repocheck holds tests of the repository itself rather than of a
// Go package: that the Makefile runs the race detector where test files
// ask for it, and that the scripts the tests rely on behave.
package repocheck
