package crash

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gomgr/gomgr/pkg/objectformat"
)

// The two timestamp formats crash reports use (strptime formats), the
// current one first.
const (
	dateFmt    = "%Y-%m-%dT%H:%M:%S.%f"
	oldDateFmt = "%Y-%m-%d %H:%M:%S.%f"
)

// The patterns Python's strptime matches the formats with (its directive
// regexps, case-insensitive, a space matching any run of white space).
const (
	reYear  = `(\d\d\d\d)`
	reMonth = `(1[0-2]|0[1-9]|[1-9])`
	reDay   = `(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])`
	reHour  = `(2[0-3]|[0-1]\d|\d)`
	reMin   = `([0-5]\d|\d)`
	reSec   = `(6[0-1]|[0-5]\d|\d)`
	reFrac  = `([0-9]{1,6})`
)

var (
	reDate    = regexp.MustCompile(`(?i)^` + reYear + `-` + reMonth + `-` + reDay + `T` + reHour + `:` + reMin + `:` + reSec + `\.` + reFrac)
	reOldDate = regexp.MustCompile(`(?i)^` + reYear + `-` + reMonth + `-` + reDay + `\s+` + reHour + `:` + reMin + `:` + reSec + `\.` + reFrac)
)

// strptime parses s with one of the two formats as Python's
// datetime.strptime does, with its error texts.
func strptime(s string, re *regexp.Regexp, format string) (time.Time, error) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("time data %s does not match format %s", objectformat.PyStrRepr(s), objectformat.PyStrRepr(format))
	}
	if len(m[0]) != len(s) {
		return time.Time{}, fmt.Errorf("unconverted data remains: %s", s[len(m[0]):])
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(strings.TrimSpace(m[i+1]))
	}
	frac, _ := strconv.Atoi((m[7] + "00000")[:6])
	year, month, day, hour, minute, sec := n[0], n[1], n[2], n[3], n[4], n[5]
	switch {
	case year < 1:
		return time.Time{}, fmt.Errorf("year %d is out of range", year)
	case day > daysIn(year, month):
		return time.Time{}, fmt.Errorf("day is out of range for month")
	case sec > 59:
		return time.Time{}, fmt.Errorf("second must be in 0..59")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, frac*1000, time.UTC), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// timeFromString reads a crash timestamp: trailing 'Z's (always UTC) are
// dropped, then the current format is tried and then the old one, whose
// error is the one reported.
func timeFromString(s string) (time.Time, error) {
	s = strings.TrimRight(s, "Z")
	if t, err := strptime(s, reDate, dateFmt); err == nil {
		return t, nil
	}
	return strptime(s, reOldDate, oldDateFmt)
}

// pyDatetimeStr is Python's str(datetime): microseconds only when
// nonzero.
func pyDatetimeStr(t time.Time) string {
	t = t.UTC()
	if us := t.Nanosecond() / 1000; us != 0 {
		return t.Format("2006-01-02 15:04:05") + fmt.Sprintf(".%06d", us)
	}
	return t.Format("2006-01-02 15:04:05")
}
