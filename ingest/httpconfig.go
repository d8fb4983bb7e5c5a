package ingest

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/stele-log/stele"
)

// HTTPConfig is the part of an HTTP intake's configuration that every
// intake has; each adapter's Config embeds it and adds its own fields.
type HTTPConfig struct {
	Sink Sink // where batches are sealed; required
	// Tokens are the shared secrets a sender must present; what an empty
	// set means (no check, or an error) is the intake's to say.
	Tokens  []string
	Gate    *Gate            // bounds the request bodies held at once; nil: unbounded
	Metrics *Metrics         // per-source counters; nil counts nothing
	Logger  *slog.Logger     // nil: slog.Default()
	MaxBody int64            // bytes after decompression; 0: the intake's default
	Now     func() time.Time // the receive clock; nil: time.Now
}

// Setup checks c and fills its zero fields with the defaults (maxBody for
// MaxBody), and returns the parsed tokens and the counters of source.
func (c *HTTPConfig) Setup(source string, maxBody int64) (Tokens, *Source, error) {
	if c.Sink == nil {
		return Tokens{}, nil, fmt.Errorf("no sink: %w", stele.ErrInvalid)
	}
	tokens, err := NewTokens(c.Tokens)
	if err != nil {
		return Tokens{}, nil, err
	}
	if c.MaxBody <= 0 {
		c.MaxBody = maxBody
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return tokens, c.Metrics.Source(source), nil
}
