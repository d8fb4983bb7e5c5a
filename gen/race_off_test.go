//go:build !race

package gen_test

import "testing"

func statistical(*testing.T) {}
