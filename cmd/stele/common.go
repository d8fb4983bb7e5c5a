package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const defaultURL = "http://127.0.0.1:7600"

// newFlags returns a FlagSet whose -h output starts with a synopsis and a
// description, so every command's help teaches.
func newFlags(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stele %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns an exit code and false when the caller
// should stop (help asked for, or a bad flag).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// fail prints an error and returns exit code 1.
func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "stele: "+format+"\n", args...)
	return 1
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line progress bar on a terminal; elsewhere it is silent.
type progress struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	on    bool
}

func newProgress(label string) *progress {
	return &progress{w: os.Stderr, label: label, start: time.Now(), on: isTerminal(os.Stderr)}
}

func (p *progress) update(done, total int64, unit string) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	const width = 30
	filled := min(width, int(pct/100*width))
	rate := float64(done) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%s [%s%s] %5.1f%% %s", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pct, humanRate(rate, unit))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func humanRate(r float64, unit string) string {
	switch {
	case r >= 1e9:
		return fmt.Sprintf("%.1f G%s/s", r/1e9, unit)
	case r >= 1e6:
		return fmt.Sprintf("%.1f M%s/s", r/1e6, unit)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k%s/s", r/1e3, unit)
	}
	return fmt.Sprintf("%.0f %s/s", r, unit)
}

// flagSet wraps a FlagSet so helpers can add shared flags.
type flagSet struct{ *flag.FlagSet }

// writeJSONLine writes v as one line of JSON without HTML escaping, so that
// records embedded as json.RawMessage stay byte for byte as sealed
// (json.Marshal would turn "<" into "\u003c" and break their leaf hashes).
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
