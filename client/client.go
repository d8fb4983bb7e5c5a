// Package client talks to a stele server over HTTP: appends, reads, proofs,
// and the C2SP tlog-tiles resources (Fetch satisfies verify.Fetcher).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/api"
)

// Client is a stele HTTP client. It is safe for concurrent use.
type Client struct {
	base string // without trailing slash
	hc   *http.Client
	// Retries is how many times a request answered with 503 or 507 (which
	// guarantee nothing was appended) is retried, honouring Retry-After.
	Retries int
}

// New returns a client for the server at baseURL (e.g. http://127.0.0.1:7600).
// hc may be nil for a default client with sensible timeouts.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not an http(s) URL like http://127.0.0.1:7600", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc, Retries: 5}, nil
}

// Error is a non-2xx response. It wraps the stele sentinel that matches the
// status, so errors.Is(err, stele.ErrNotFound) works across the wire.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("server: %s (HTTP %d)", e.Message, e.Status) }

func (e *Error) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return stele.ErrInvalid
	case http.StatusNotFound:
		return stele.ErrNotFound
	case http.StatusRequestEntityTooLarge:
		return stele.ErrTooLarge
	case http.StatusInsufficientStorage:
		return stele.ErrDiskFull
	case http.StatusServiceUnavailable:
		return stele.ErrUnavailable
	}
	return nil
}

// Append posts a body of events (a JSON object or array, or NDJSON when
// ndjson is set). With proof, every event carries its inclusion proof.
func (c *Client) Append(ctx context.Context, body []byte, ndjson, proof bool) (*api.AppendResponse, error) {
	path := "/v1/events"
	if proof {
		path += "?proof=1"
	}
	ct := "application/json"
	if ndjson {
		ct = "application/x-ndjson"
	}
	raw, err := c.do(ctx, http.MethodPost, path, ct, body)
	if err != nil {
		return nil, err
	}
	var resp api.AppendResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("client: decode append response: %w", err)
	}
	return &resp, nil
}

// Entry returns the canonical record at seq.
func (c *Client) Entry(ctx context.Context, seq uint64) ([]byte, error) {
	raw, err := c.do(ctx, http.MethodGet, "/v1/events/"+strconv.FormatUint(seq, 10), "", nil)
	return bytes.TrimSuffix(raw, []byte("\n")), err
}

// EntryByID returns the canonical record whose id is id.
func (c *Client) EntryByID(ctx context.Context, id string) ([]byte, error) {
	raw, err := c.do(ctx, http.MethodGet, "/v1/events/id/"+url.PathEscape(id), "", nil)
	return bytes.TrimSuffix(raw, []byte("\n")), err
}

// Events reads up to limit records after afterSeq (-1 for the start).
func (c *Client) Events(ctx context.Context, afterSeq int64, limit int) (*api.EventsPage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}, "after_seq": {""}} // after_seq selects the range read
	if afterSeq >= 0 {
		q.Set("after_seq", strconv.FormatInt(afterSeq, 10))
	}
	raw, err := c.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), "", nil)
	if err != nil {
		return nil, err
	}
	var page api.EventsPage
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("client: decode events page: %w", err)
	}
	return &page, nil
}

// Log returns the log's identity and newest checkpoint.
func (c *Client) Log(ctx context.Context) (*api.LogInfo, error) {
	raw, err := c.do(ctx, http.MethodGet, "/v1/log", "", nil)
	if err != nil {
		return nil, err
	}
	var info api.LogInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("client: decode log info: %w", err)
	}
	return &info, nil
}

// InclusionProof asks the server to prove seq in the tree of size (0: the
// current size).
func (c *Client) InclusionProof(ctx context.Context, seq, size uint64) (*api.InclusionProof, error) {
	q := url.Values{"seq": {strconv.FormatUint(seq, 10)}}
	if size > 0 {
		q.Set("size", strconv.FormatUint(size, 10))
	}
	raw, err := c.do(ctx, http.MethodGet, "/v1/proof/inclusion?"+q.Encode(), "", nil)
	if err != nil {
		return nil, err
	}
	var p api.InclusionProof
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("client: decode inclusion proof: %w", err)
	}
	return &p, nil
}

// Fetch GETs a tlog-tiles resource by path ("checkpoint", "tile/0/000",
// "tile/entries/x001/234.p/7"). A 404 wraps stele.ErrNotFound.
func (c *Client) Fetch(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, "/"+strings.TrimPrefix(path, "/"), "", nil)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: reading response: %w", method, path, err)
		}
		if resp.StatusCode/100 == 2 {
			return raw, nil
		}
		apiErr := &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
		var eb api.ErrorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error != "" {
			apiErr.Message = eb.Error
		}
		retry := resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusInsufficientStorage
		if !retry || attempt >= c.Retries {
			return nil, apiErr
		}
		wait := time.Duration(1<<attempt) * 100 * time.Millisecond
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = max(wait, time.Duration(s)*time.Second)
		}
		select {
		case <-time.After(min(wait, 10*time.Second)):
		case <-ctx.Done():
			return nil, errors.Join(apiErr, ctx.Err())
		}
	}
}
