package bench

import (
	"fmt"
	"time"
)

// Interleave runs each side rounds times, alternating (side 0, side 1,
// ..., then again), and returns each side's best (smallest) time: both
// sides see the same machine conditions, and the best is the least
// disturbed by the host's load.
func Interleave(rounds int, sides ...func() (time.Duration, error)) ([]time.Duration, error) {
	best := make([]time.Duration, len(sides))
	for r := 0; r < rounds; r++ {
		for i, side := range sides {
			d, err := side()
			if err != nil {
				return nil, err
			}
			if r == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	return best, nil
}

// Faster is how many times faster gomgr's time is than the baseline's.
func Faster(gomgr, baseline time.Duration) float64 {
	if gomgr <= 0 {
		return 0
	}
	return float64(baseline) / float64(gomgr)
}

// AtLeast is the verdict on a ratio that must reach target: "yes", or
// "**no**" and by how much it falls short.
func AtLeast(ratio, target float64) string {
	if ratio >= target {
		return "yes"
	}
	return fmt.Sprintf("**no** (%.2gx short: %.2fx of %gx)", target/ratio, ratio, target)
}

// AtMost is the verdict on a ratio that must stay at or under target:
// "yes", or "**no**" and by how much it is over.
func AtMost(ratio, target float64) string {
	if ratio <= target {
		return "yes"
	}
	return fmt.Sprintf("**no** (%.0f%% over: %.2fx for ≤ %gx)", (ratio/target-1)*100, ratio, target)
}
