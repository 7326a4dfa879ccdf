package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Chart is a grouped bar chart: one group per category (a workload), one bar per series (an
// engine) in each group.
type Chart struct {
	Title    string
	Subtitle string
	YLabel   string
	Groups   []string
	Series   []Series
	// Log draws the value axis in powers of ten; see WantLog.
	Log bool
}

// Series is one engine's values, one per group; a value <= 0 or NaN is a missing bar.
type Series struct {
	Name   string
	Color  string // CSS color
	Values []float64
}

// WantLog reports whether values span more than a factor of 30, when bars on a linear axis
// would leave the small ones unreadable.
func WantLog(values []float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, v := range values {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return hi > 0 && hi/lo > 30
}

// Chart geometry, in SVG user units (pixels).
const (
	barWidth    = 14
	groupGap    = 22
	plotHeight  = 300
	marginLeft  = 78
	marginRight = 20
	marginTop   = 78
	marginBelow = 118 // room for slanted group labels
)

// SVG draws the chart as a standalone SVG document.
func (c *Chart) SVG() []byte {
	n := max(len(c.Series), 1)
	groupWidth := n*barWidth + groupGap
	plotWidth := max(len(c.Groups)*groupWidth, 320)
	width := marginLeft + plotWidth + marginRight
	height := marginTop + plotHeight + marginBelow

	var all []float64
	for _, s := range c.Series {
		all = append(all, s.Values...)
	}
	ax := newAxis(all, c.Log)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginLeft, esc(c.Title))
	if c.Subtitle != "" {
		fmt.Fprintf(&b, `<text x="%d" y="40" fill="#555">%s</text>`+"\n", marginLeft, esc(c.Subtitle))
	}

	// Legend, in one row above the plot.
	x := marginLeft
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect x="%d" y="52" width="12" height="12" fill="%s"/>`, x, s.Color)
		fmt.Fprintf(&b, `<text x="%d" y="62">%s</text>`+"\n", x+16, esc(s.Name))
		x += 16 + 7*len(s.Name) + 18
	}

	// Value axis: grid lines and labels.
	y0 := marginTop + plotHeight
	for _, t := range ax.ticks {
		y := y0 - int(math.Round(ax.pos(t.v)*plotHeight))
		stroke := "#ddd"
		if !t.major {
			stroke = "#f0f0f0"
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s"/>`+"\n", marginLeft, y, marginLeft+plotWidth, y, stroke)
		if t.major {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", marginLeft-6, y+4, esc(formatSI(t.v)))
		}
	}
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle" fill="#333">%s</text>`+"\n",
		marginTop+plotHeight/2, esc(c.YLabel))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", marginLeft, y0, marginLeft+plotWidth, y0)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", marginLeft, marginTop, marginLeft, y0)

	// Bars, with a tooltip each, and the group labels.
	for g, name := range c.Groups {
		gx := marginLeft + g*groupWidth + groupGap/2
		for i, s := range c.Series {
			if g >= len(s.Values) {
				continue
			}
			v := s.Values[g]
			if !(v > 0) || math.IsInf(v, 0) {
				continue
			}
			h := int(math.Round(ax.pos(v) * plotHeight))
			h = max(h, 1)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s, %s: %s ops/s</title></rect>`+"\n",
				gx+i*barWidth, y0-h, barWidth-2, h, s.Color, esc(s.Name), esc(name), formatCount(v))
		}
		lx := gx + n*barWidth/2
		fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-35)" text-anchor="end">%s</text>`+"\n", lx, y0+14, esc(name))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

type tick struct {
	v     float64
	major bool
}

// axis maps values to [0, 1] of the plot's height.
type axis struct {
	log    bool
	lo, hi float64 // log: exponents of ten; linear: values
	ticks  []tick
}

func newAxis(values []float64, log bool) axis {
	lo, hi := math.Inf(1), 0.0
	for _, v := range values {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	if log {
		a := axis{log: true, lo: math.Floor(math.Log10(lo)), hi: math.Ceil(math.Log10(hi))}
		if a.hi == a.lo {
			a.hi++
		}
		for e := a.lo; e <= a.hi; e++ {
			p := math.Pow(10, e)
			a.ticks = append(a.ticks, tick{p, true})
			if e < a.hi {
				a.ticks = append(a.ticks, tick{2 * p, false}, tick{5 * p, false})
			}
		}
		return a
	}
	step := niceStep(hi / 5)
	a := axis{lo: 0, hi: math.Ceil(hi/step) * step}
	for v := 0.0; v <= a.hi+step/2; v += step {
		a.ticks = append(a.ticks, tick{v, true})
	}
	return a
}

func (a axis) pos(v float64) float64 {
	if a.log {
		return (math.Log10(v) - a.lo) / (a.hi - a.lo)
	}
	return (v - a.lo) / (a.hi - a.lo)
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// formatSI writes an axis value: 500, 2k, 1M.
func formatSI(v float64) string {
	switch {
	case v >= 1e9:
		return trimZero(v/1e9) + "G"
	case v >= 1e6:
		return trimZero(v/1e6) + "M"
	case v >= 1e3:
		return trimZero(v/1e3) + "k"
	}
	return trimZero(v)
}

func trimZero(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

// formatCount writes a rate with three significant digits or more: 1,234,567 or 12.3.
func formatCount(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.3g", v)
	}
	return Thousands(v)
}

// Thousands writes v rounded to a whole number, its digits grouped by three with commas:
// 1,234,567.
func Thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func esc(s string) string { return html.EscapeString(s) }
