package gen

import "math"

// The clock places a planned number of events in the span so that their
// density follows the working week, and hands them out one at a time in
// nondecreasing time order.
//
// The span is cut into 5-minute buckets. Each bucket has a human intensity
// (the office curve below times a per-day factor) and a machine intensity
// (constant, plus a nightly batch window). Event times are the order
// statistics of the planned count of independent draws from that density:
// the next of k remaining sorted uniforms above u is
//
//	1 - (1-u)·V^(1/k),  V uniform in (0,1]
//
// computed in log space, so every planned event lands inside the span, the
// last one just before End, without the clock ever holding more than one
// event. Each uniform is mapped to a time through the inverse of the
// cumulative intensity (a cursor over the bucket prefix sums, since the
// uniforms only grow).

const (
	bucketUs   = 5 * 60 * 1e6 // bucket width in microseconds
	bucketsDay = 24 * 12
	dayUs      = 24 * 3600 * 1e6
)

// weekdayCurve and weekendCurve are relative human activity at each hour
// (UTC, the workload's office time), interpolated linearly between hours:
// a ramp from 07:00, a plateau with a lunch dip, and a tail into the evening.
// A weekend day is about a tenth of a weekday.
var (
	weekdayCurve = [25]float64{0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.30, 0.75, 1.0, 1.0, 0.98, 0.80, 0.85, 1.0, 1.0, 0.95, 0.80, 0.50, 0.25, 0.15, 0.10, 0.07, 0.04, 0.03}
	weekendCurve = [25]float64{0.03, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.04, 0.06, 0.08, 0.10, 0.11, 0.11, 0.11, 0.11, 0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04, 0.03, 0.03}
)

// Machine traffic: a constant base, a part that follows the people (services
// serving their requests) and a nightly batch window (backups, ETL), in
// units of the weekday plateau.
const (
	machineBase   = 0.05
	machineFollow = 0.4
	machineBatch  = 0.15 // 01:00-04:00
)

// humanIntensity is the office curve at hour-of-day h of a weekday or
// weekend day.
func humanIntensity(h float64, weekend bool) float64 {
	curve := &weekdayCurve
	if weekend {
		curve = &weekendCurve
	}
	i := int(h)
	f := h - float64(i)
	return curve[i]*(1-f) + curve[i+1]*f
}

func machineIntensity(h, human float64) float64 {
	m := machineBase + machineFollow*human
	if h >= 1 && h < 4 {
		m += machineBatch
	}
	return m
}

type clock struct {
	startUs int64     // span start, Unix microseconds
	spanUs  int64     // span length
	cum     []float64 // cum[b] is the intensity of buckets before b; cum[len] is the total
	machine []float32 // share of machine traffic in bucket b
	total   float64
	planned int64   // events the span is planned for
	meanPM  float32 // machine share over the whole span, for events past End

	logRest float64 // log(1-u) of the last uniform
	target  float64 // u·total, the cumulative intensity of the last event
	cursor  int     // bucket of the last event
	lastUs  int64   // offset of the last event from startUs
	maxUs   int64   // the latest offset RFC 3339 can write (9999-12-31T23:59:59.999Z)
}

// lastRFC3339Us is 9999-12-31T23:59:59.999999Z in Unix microseconds.
const lastRFC3339Us = 253402300799999999

// newClock builds the intensity table of the span [startUs, startUs+days).
// dayFactor(d) scales the human traffic of day d (weekday-to-weekday
// variation); the caller derives it from the seed.
func newClock(startUs int64, days int, planned int64, dayFactor func(day int) float64) *clock {
	n := days * bucketsDay
	c := &clock{
		startUs: startUs, spanUs: int64(days) * dayUs, planned: planned, maxUs: lastRFC3339Us - startUs,
		cum: make([]float64, n+1), machine: make([]float32, n),
	}
	var machineSum float64
	for b := range n {
		mid := startUs + int64(b)*bucketUs + bucketUs/2
		day := floorDiv(mid, dayUs)
		h := float64(mid-day*dayUs) / 3600e6
		wd := weekday(day)
		human := humanIntensity(h, wd == 0 || wd == 6) * dayFactor(b/bucketsDay)
		machine := machineIntensity(h, human)
		c.cum[b+1] = c.cum[b] + human + machine
		c.machine[b] = float32(machine / (human + machine))
		machineSum += machine
	}
	c.total = c.cum[n]
	c.meanPM = float32(machineSum / c.total)
	return c
}

// next returns the offset of the next event from the span start and the
// share of machine traffic at that moment. remaining is how many planned
// events are still to come, this one included; at zero or below the plan is
// used up and events continue past End at the span's mean rate, without the
// daily cycle.
func (c *clock) next(r *rng, remaining int64) (offUs int64, machine float32) {
	v := 1 - r.float() // (0, 1]
	if remaining > 0 {
		c.logRest += math.Log(v) / float64(remaining)
		c.target = -math.Expm1(c.logRest) * c.total
	} else {
		c.target += -math.Log(v) * c.total / float64(c.planned)
	}
	if c.target >= c.total {
		offUs = c.spanUs + int64((c.target-c.total)/c.total*float64(c.spanUs))
		machine = c.meanPM
	} else {
		last := len(c.machine) - 1
		for c.cursor < last && c.cum[c.cursor+1] <= c.target {
			c.cursor++
		}
		b := c.cursor
		frac := (c.target - c.cum[b]) / (c.cum[b+1] - c.cum[b])
		offUs = int64(b)*bucketUs + int64(frac*bucketUs)
		// Rounding must never let a planned event reach End.
		offUs = min(offUs, c.spanUs-1)
		machine = c.machine[b]
	}
	// Past End, beyond the plan, time may run into year 10000; it stops at
	// the last instant an event can carry.
	offUs = min(max(offUs, c.lastUs), c.maxUs)
	c.lastUs = offUs
	return offUs, machine
}

// advance records an event placed by someone else (a burst) so that later
// events never go back before it.
func (c *clock) advance(offUs int64) { c.lastUs = max(c.lastUs, offUs) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// weekday returns the day of the week of a day number counted from the Unix
// epoch (a Thursday), Sunday being 0.
func weekday(day int64) int {
	return int(((day+4)%7 + 7) % 7)
}

// appendTime appends the RFC 3339 UTC form of Unix microseconds us in
// milliseconds, as most audit sources report: 2026-11-22T14:03:27.123Z.
func appendTime(dst []byte, us int64) []byte {
	sec := floorDiv(us, 1e6)
	frac := us - sec*1e6
	day := floorDiv(sec, 86400)
	rem := sec - day*86400
	y, m, d := civil(day)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, int(rem/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(rem%60))
	dst = append(dst, '.')
	ms := int(frac / 1000)
	dst = append(dst, byte('0'+ms/100))
	dst = append2(dst, ms%100)
	return append(dst, 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days-to-civil algorithm: eras of 400 years, March-based
// years so the leap day comes last).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

const digits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

func append2(dst []byte, v int) []byte { return append(dst, digits[2*v], digits[2*v+1]) }

func append4(dst []byte, v int) []byte { return append2(append2(dst, v/100), v%100) }
