package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/query"
)

// SearchParams are the parameters of a search (see docs/query.md).
type SearchParams struct {
	Query  string // the query text
	Since  string // e.g. 24h, 7d, 2026-11-01
	Until  string
	Limit  int  // 0: the server's default (100) for pages, everything for exports
	Asc    bool // oldest first
	Cursor string
	Proof  bool   // inclusion proofs per hit
	Format string // "" (json), "ndjson" or "csv" (exports)
}

func (p SearchParams) values() url.Values {
	v := url.Values{}
	if p.Query != "" {
		v.Set("q", p.Query)
	}
	if p.Since != "" {
		v.Set("since", p.Since)
	}
	if p.Until != "" {
		v.Set("until", p.Until)
	}
	if p.Limit > 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Asc {
		v.Set("order", "asc")
	}
	if p.Cursor != "" {
		v.Set("cursor", p.Cursor)
	}
	if p.Proof {
		v.Set("proof", "1")
	}
	if p.Format != "" {
		v.Set("format", p.Format)
	}
	return v
}

// Search returns one page of results.
func (c *Client) Search(ctx context.Context, p SearchParams) (*api.SearchPage, error) {
	p.Format = ""
	raw, err := c.do(ctx, http.MethodGet, "/v1/events?"+p.values().Encode(), "", nil)
	if err != nil {
		return nil, err
	}
	var page api.SearchPage
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("client: decode search page: %w", err)
	}
	return &page, nil
}

// Export streams every match in p.Format ("ndjson" or "csv"). The caller
// closes the returned body.
func (c *Client) Export(ctx context.Context, p SearchParams) (io.ReadCloser, error) {
	if p.Format != "ndjson" && p.Format != "csv" {
		return nil, fmt.Errorf("client: export format %q: want ndjson or csv", p.Format)
	}
	return c.stream(ctx, "/v1/events?"+p.values().Encode(), nil)
}

// Stats counts the matches of a query by a field and/or over time.
func (c *Client) Stats(ctx context.Context, p SearchParams, by string, top int, interval string) (*query.Stats, error) {
	v := p.values()
	if by != "" {
		v.Set("by", by)
	}
	if top > 0 {
		v.Set("top", strconv.Itoa(top))
	}
	if interval != "" {
		v.Set("interval", interval)
	}
	raw, err := c.do(ctx, http.MethodGet, "/v1/stats?"+v.Encode(), "", nil)
	if err != nil {
		return nil, err
	}
	var st query.Stats
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("client: decode stats: %w", err)
	}
	return &st, nil
}

// Tail follows new events matching the query (Server-Sent Events) and calls
// fn for each, until ctx ends or fn fails. fromSeq < 0 starts with the next
// event sealed. After a dropped connection it reconnects and resumes after
// the last event it delivered.
func (c *Client) Tail(ctx context.Context, queryText string, fromSeq int64, fn func(seq uint64, entry []byte) error) error {
	last := int64(-1)
	for attempt := 0; ; attempt++ {
		v := url.Values{}
		if queryText != "" {
			v.Set("q", queryText)
		}
		hdr := http.Header{}
		switch {
		case last >= 0:
			hdr.Set("Last-Event-ID", strconv.FormatInt(last, 10))
		case fromSeq >= 0:
			v.Set("from_seq", strconv.FormatInt(fromSeq, 10))
		}
		body, err := c.stream(ctx, "/v1/events/stream?"+v.Encode(), hdr)
		if err == nil {
			attempt = 0
			err = readSSE(body, func(id string, data []byte) error {
				seq, perr := strconv.ParseUint(id, 10, 64)
				if perr != nil {
					return fmt.Errorf("client: bad event id %q", id)
				}
				last = int64(seq)
				return fn(seq, data)
			})
			body.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ce, ok := err.(*Error); ok && ce.Status/100 == 4 {
			return err // a bad query: retrying will not help
		}
		select { // reconnect with backoff
		case <-time.After(min(time.Duration(1<<min(attempt, 5))*100*time.Millisecond, 5*time.Second)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readSSE parses an event stream: "id:" and "data:" fields, events ended by
// a blank line, comments ignored; an "event: error" ends the stream.
func readSSE(r io.Reader, fn func(id string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id, event string
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if event == "error" {
					return fmt.Errorf("server: %s", data.String())
				}
				if err := fn(id, bytes.TrimSuffix(data.Bytes(), []byte("\n"))); err != nil {
					return err
				}
			}
			id, event = "", ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(line[6:])
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(line[5:], " "))
			data.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// stream GETs path and returns the open body of a 200 response.
func (c *Client) stream(ctx context.Context, path string, hdr http.Header) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	hc := *c.hc
	hc.Timeout = 0 // streams last as long as ctx
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		apiErr := &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
		var eb api.ErrorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error != "" {
			apiErr.Message = eb.Error
		}
		return nil, apiErr
	}
	return resp.Body, nil
}
