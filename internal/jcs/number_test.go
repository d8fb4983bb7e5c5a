package jcs

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestAppendNumberRFC8785 checks the number serialisation samples of RFC 8785
// Appendix B (IEEE 754 bit patterns and their expected JSON text).
func TestAppendNumberRFC8785(t *testing.T) {
	tests := []struct {
		name string
		bits uint64
		want string
	}{
		{"zero", 0x0000000000000000, "0"},
		{"minus zero", 0x8000000000000000, "0"},
		{"min pos number", 0x0000000000000001, "5e-324"},
		{"min neg number", 0x8000000000000001, "-5e-324"},
		{"max pos number", 0x7fefffffffffffff, "1.7976931348623157e+308"},
		{"max neg number", 0xffefffffffffffff, "-1.7976931348623157e+308"},
		{"max pos int", 0x4340000000000000, "9007199254740992"},
		{"max neg int", 0xc340000000000000, "-9007199254740992"},
		{"about 2^68", 0x4430000000000000, "295147905179352830000"},
		{"below 1e23", 0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{"1e23", 0x44b52d02c7e14af6, "1e+23"},
		{"above 1e23", 0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{"below 1e21 a", 0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{"below 1e21 b", 0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{"1e21", 0x444b1ae4d6e2ef50, "1e+21"},
		{"below 1e-6", 0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{"1e-6", 0x3eb0c6f7a0b5ed8d, "0.000001"},
		{"third a", 0x41b3de4355555553, "333333333.3333332"},
		{"third b", 0x41b3de4355555554, "333333333.33333325"},
		{"third c", 0x41b3de4355555555, "333333333.3333333"},
		{"third d", 0x41b3de4355555556, "333333333.3333334"},
		{"third e", 0x41b3de4355555557, "333333333.33333343"},
		{"small negative", 0xbecbf647612f3696, "-0.0000033333333333333333"},
		{"round to even", 0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendNumber(nil, math.Float64frombits(tt.bits))); got != tt.want {
				t.Errorf("AppendNumber(%#x) = %q, want %q", tt.bits, got, tt.want)
			}
		})
	}
}

func TestAppendNumberValues(t *testing.T) {
	tests := []struct {
		name string
		f    float64
		want string
	}{
		{"1e21", 1e21, "1e+21"},
		{"1e20", 1e20, "100000000000000000000"},
		{"1e-7", 1e-7, "1e-7"},
		{"1e-6", 0.000001, "0.000001"},
		{"thirds literal", 333333333.33333329, "333333333.3333333"},
		{"denormal", 5e-324, "5e-324"},
		{"max", 1.7976931348623157e308, "1.7976931348623157e+308"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"one", 1, "1"},
		{"minus one", -1, "-1"},
		{"tenth", 0.1, "0.1"},
		{"half", 4.5, "4.5"},
		{"2^53+2", 9007199254740994, "9007199254740994"},
		{"2^60", 1 << 60, "1152921504606847000"},
		{"2^63", 1 << 63, "9223372036854776000"},
		{"1e30", 1e30, "1e+30"},
		{"1.5e-7", 1.5e-7, "1.5e-7"},
		{"123.456e-10", 123.456e-10, "1.23456e-8"},
		{"0.002", 2e-3, "0.002"},
		{"1e-27", 1e-27, "1e-27"},
		{"-1.5", -1.5, "-1.5"},
		{"12345.678", 12345.678, "12345.678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendNumber([]byte("x"), tt.f)); got != "x"+tt.want {
				t.Errorf("AppendNumber(%v) = %q, want %q", tt.f, got, "x"+tt.want)
			}
		})
	}
}

func TestAppendNumberPanicsOnNonFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendNumber(%v) did not panic", f)
				}
			}()
			AppendNumber(nil, f)
		}()
	}
}

// TestAppendNumberRoundTrip checks, over random bit patterns, the properties
// that define the ECMAScript form: it parses back to the same double, it has
// exactly the shortest digits strconv finds, and it is laid out as plain or
// exponent notation by the decimal exponent.
func TestAppendNumberRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		got := string(AppendNumber(nil, f))
		back, err := strconv.ParseFloat(got, 64)
		if err != nil || back != f {
			t.Fatalf("AppendNumber(%b) = %q, parses back to %v, %v", f, got, back, err)
		}
		e := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
		mantissa := strings.Replace(e[:strings.IndexByte(e, 'e')], ".", "", 1)
		exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
		if exp >= -6 && exp <= 20 {
			if strings.ContainsRune(got, 'e') {
				t.Fatalf("AppendNumber(%v) = %q, want plain notation for exponent %d", f, got, exp)
			}
		} else if !strings.ContainsRune(got, 'e') {
			t.Fatalf("AppendNumber(%v) = %q, want exponent notation for exponent %d", f, got, exp)
		}
		digits := strings.TrimLeft(strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.SplitN(got, "e", 2)[0]), "0")
		if strings.TrimRight(digits, "0") != strings.TrimRight(mantissa, "0") {
			t.Fatalf("AppendNumber(%v) = %q: digits %q, want shortest %q", f, got, digits, mantissa)
		}
	}
}
