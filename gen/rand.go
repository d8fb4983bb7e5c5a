package gen

import (
	"math"
	"math/bits"
)

// rng is wyrand: one 64-bit add and one 128-bit multiply per draw. It is
// written out here, rather than taken from math/rand/v2, so that the
// workload's bytes depend on nothing but this file: a change of the standard
// library's generators or of its bounded-integer method must never change
// what a given seed produces.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.state, r.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// intn returns a number in [0, n) by Lemire's multiply-shift. Its bias is
// below n/2^64, far under anything a workload test could see.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// float returns a number in [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

func (r *rng) chance(p float64) bool { return r.float() < p }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// logUniform returns a number in [lo, hi) whose logarithm is uniform: sizes,
// row counts and durations spread over orders of magnitude like real ones.
func (r *rng) logUniform(lo, hi float64) int64 {
	return int64(lo * math.Exp(r.float()*math.Log(hi/lo)))
}

// mix64 is the splitmix64 finaliser, a bijection of uint64. It derives
// independent per-purpose values (session ids, client ids, sub-seeds) from a
// key without drawing from the main stream.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// alias samples an index with probability proportional to its weight in
// O(1) (Vose's alias method): one uniform index, one biased coin.
type alias struct {
	prob  []float64
	alias []int32
}

// newAlias builds the table. Weights must be finite and non-negative with a
// positive sum. Construction is deterministic: the same weights give the same
// table, which the byte-identical output relies on.
func newAlias(weights []float64) alias {
	n := len(weights)
	var sum float64
	for _, w := range weights {
		sum += w
	}
	a := alias{prob: make([]float64, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int32
	for i, w := range weights {
		scaled[i] = w * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.alias[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left is 1 up to rounding.
	for _, i := range large {
		a.prob[i], a.alias[i] = 1, i
	}
	for _, i := range small {
		a.prob[i], a.alias[i] = 1, i
	}
	return a
}

func (a *alias) sample(r *rng) int {
	i := r.intn(len(a.prob))
	if r.float() < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}

// zipfWeights returns the weights 1/k^s of ranks 1..n.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
	}
	return w
}

// normalise scales weights to sum to 1 and returns them.
func normalise(w []float64) []float64 {
	var sum float64
	for _, x := range w {
		sum += x
	}
	if sum > 0 {
		for i := range w {
			w[i] /= sum
		}
	}
	return w
}
