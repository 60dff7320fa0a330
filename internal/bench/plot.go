package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one measurement of a series.
type Point struct{ X, Y float64 }

// Series is one line of a plot: a name (its legend) and its points.
type Series struct {
	Name   string
	Points []Point
}

// Chart is a plot of series against a common x axis.
type Chart struct {
	Title, X, Y string
	LogX, LogY  bool
	Series      []Series
}

// palette is the series' colours, in order (colour-blind safe).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255},
	color.RGBA{0, 0, 0, 255},
}

// WriteSVG draws the chart with gonum/plot into an SVG file at path (6 by
// 4 inches). Series without points are left out; a chart with no points at
// all is an error, as is a point a log axis cannot show.
func (c Chart) WriteSVG(path string) error {
	p, err := c.plot()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	canvas := vgsvg.New(6*vg.Inch, 4*vg.Inch)
	p.Draw(draw.New(canvas))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// plot builds the chart's plot.
func (c Chart) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.X
	p.Y.Label.Text = c.Y
	if c.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if c.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	p.Legend.Top, p.Legend.Left = true, true // in the room left above the lines
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	p.Add(plotter.NewGrid())
	drawn := 0
	xr, yr := span{math.Inf(1), math.Inf(-1)}, span{math.Inf(1), math.Inf(-1)}
	for i, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(s.Points))
		for j, pt := range s.Points {
			if (c.LogX && pt.X <= 0) || (c.LogY && pt.Y <= 0) || math.IsNaN(pt.X) || math.IsNaN(pt.Y) {
				return nil, fmt.Errorf("series %q: point (%g, %g) cannot be drawn", s.Name, pt.X, pt.Y)
			}
			pts[j] = plotter.XY{X: pt.X, Y: pt.Y}
			xr.add(pt.X)
			yr.add(pt.Y)
		}
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Name, err)
		}
		col := palette[i%len(palette)]
		l.Color, sc.Color = col, col
		l.Width = vg.Points(1.5)
		sc.Shape = draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add(s.Name, l, sc)
		drawn++
	}
	if drawn == 0 {
		return nil, fmt.Errorf("no points to draw")
	}
	// The axes' ranges, with a margin (gonum's own would be empty for a
	// single point, and a log axis cannot start at 0).
	p.X.Min, p.X.Max = xr.padded(c.LogX, 0)
	p.Y.Min, p.Y.Max = yr.padded(c.LogY, 0.15*float64(drawn))
	return p, nil
}

type span struct{ lo, hi float64 }

func (s *span) add(v float64) { s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v) }

// padded is the span with a margin (a factor of 1.5 on a log axis, a
// tenth of the span or 1 on a linear one) and room above for a legend
// (room times the span, in decades on a log axis).
func (s span) padded(log bool, room float64) (float64, float64) {
	if log {
		decades := math.Max(math.Log10(s.hi/s.lo), 1)
		return s.lo / 1.5, s.hi * 1.5 * math.Pow(10, room*decades)
	}
	m := (s.hi - s.lo) / 10
	if m == 0 {
		m = 1
	}
	return s.lo - m, s.hi + m + room*(s.hi-s.lo+m)
}
