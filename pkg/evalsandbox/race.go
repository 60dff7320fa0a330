//go:build race

package evalsandbox

// raceFactor scales a worker's RLIMIT_DATA when the race detector is on:
// its shadow memory grows with the heap and counts as data.
const raceFactor = 4
