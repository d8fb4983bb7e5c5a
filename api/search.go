package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/verify"
)

// Searcher runs queries (query.Engine).
type Searcher interface {
	Search(ctx context.Context, q *query.Query, opts query.SearchOptions, fn func(seq uint64, entry []byte) error) (query.Page, error)
	Stats(ctx context.Context, q *query.Query, opts query.StatsOptions) (*query.Stats, error)
	Tail(ctx context.Context, q *query.Query, from uint64, fn func(seq uint64, entry []byte) error) error
}

// SearchPage is GET /v1/events?q=... in JSON.
type SearchPage struct {
	Events     []json.RawMessage `json:"events"`                // canonical records, newest first unless order=asc
	NextCursor string            `json:"next_cursor,omitempty"` // pass as cursor= for the next page; absent at the end
	Size       uint64            `json:"size"`                  // the log size the query ran against
	Checkpoint string            `json:"checkpoint"`            // signed checkpoint at Size: proofs are against it
	Proofs     []HitProof        `json:"proofs,omitempty"`      // with proof=1: one per event, same order
	Scanned    int               `json:"scanned"`               // records read and matched to answer
}

// HitProof proves one search hit against SearchPage.Checkpoint.
type HitProof struct {
	Seq            uint64   `json:"seq"`
	LeafHash       string   `json:"leaf_hash"`
	InclusionProof []string `json:"inclusion_proof"`
}

const maxExportPage = 0 // no limit: exports stream every match

// parseQuery reads q, since and until.
func (s *Server) parseQuery(r *http.Request) (*query.Query, error) {
	v := r.URL.Query()
	q, err := query.Parse(v.Get("q"))
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	var tr query.TimeRange
	if since := v.Get("since"); since != "" {
		if tr.From, err = query.ParseSince(since, now); err != nil {
			return nil, errorf(stele.ErrInvalid, "since: %v", err)
		}
	}
	if until := v.Get("until"); until != "" {
		if tr.To, err = query.ParseSince(until, now); err != nil {
			return nil, errorf(stele.ErrInvalid, "until: %v", err)
		}
	}
	if !tr.From.IsZero() || !tr.To.IsZero() {
		if !tr.From.IsZero() && !tr.To.IsZero() && !tr.From.Before(tr.To) {
			return nil, errorf(stele.ErrInvalid, "since (%s) must be before until (%s)", tr.From.Format(time.RFC3339), tr.To.Format(time.RFC3339))
		}
		q = q.AndTime(tr)
	}
	return q, nil
}

// isSearch tells the search form of GET /v1/events from the follower's
// range read (after_seq=, see handleEvents).
func isSearch(r *http.Request) bool {
	_, rangeRead := r.URL.Query()["after_seq"]
	return !rangeRead
}

// handleSearch is GET /v1/events?q=&since=&until=&limit=&order=&cursor=&format=&proof=.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Search == nil {
		return errorf(stele.ErrNotFound, "search is not enabled on this server")
	}
	v := r.URL.Query()
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	opts := query.SearchOptions{Cursor: v.Get("cursor")}
	switch o := v.Get("order"); o {
	case "", "desc":
	case "asc":
		opts.Asc = true
	default:
		return errorf(stele.ErrInvalid, "order: %q is not asc or desc", o)
	}
	format := v.Get("format")
	switch format {
	case "", "json", "ndjson", "csv":
	default:
		return errorf(stele.ErrInvalid, "format: %q is not json, ndjson or csv", format)
	}
	export := format == "ndjson" || format == "csv"
	opts.Limit = defaultPageSize
	if export {
		opts.Limit = maxExportPage
	}
	if l := v.Get("limit"); l != "" {
		n, err := parseUint("limit", l)
		if err != nil || n < 1 || (!export && n > maxPageSize) {
			if export {
				return errorf(stele.ErrInvalid, "limit: %q must be a number of at least 1 (exports have no maximum)", l)
			}
			return errorf(stele.ErrInvalid, "limit: %q must be between 1 and %d", l, maxPageSize)
		}
		opts.Limit = int(n)
	}
	withProof, err := proofParam(r)
	if err != nil {
		return err
	}
	// The snapshot: everything acknowledged before this request is in it.
	note, size, _ := s.log.Checkpoint()
	opts.Size = size
	if export {
		return s.export(w, r, q, opts, format)
	}

	page := SearchPage{Events: []json.RawMessage{}, Checkpoint: string(note), Size: size}
	if size == 0 { // an empty snapshot (Size 0 would mean "the current size")
		return writeJSON(w, http.StatusOK, page)
	}
	res, err := s.cfg.Search.Search(r.Context(), q, opts, func(seq uint64, entry []byte) error {
		page.Events = append(page.Events, json.RawMessage(append([]byte(nil), entry...)))
		if withProof {
			proof, err := s.log.InclusionProof(r.Context(), seq, size)
			if err != nil {
				return err
			}
			leaf := verify.LeafHash(entry)
			page.Proofs = append(page.Proofs, HitProof{Seq: seq, LeafHash: b64(leaf[:]), InclusionProof: hashes(proof)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	page.NextCursor, page.Scanned = res.Next, res.Scanned
	return writeJSON(w, http.StatusOK, page)
}

// export streams every match as NDJSON or CSV without buffering the result.
func (s *Server) export(w http.ResponseWriter, r *http.Request, q *query.Query, opts query.SearchOptions, format string) error {
	h := w.Header()
	flusher, _ := w.(http.Flusher)
	var write func(entry []byte) error
	var cw *csv.Writer
	switch format {
	case "ndjson":
		h.Set("Content-Type", "application/x-ndjson")
		write = func(entry []byte) error {
			if _, err := w.Write(entry); err != nil {
				return err
			}
			_, err := w.Write([]byte{'\n'})
			return err
		}
	case "csv":
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="stele-export.csv"`)
		cw = csv.NewWriter(w)
		var row []string
		write = func(entry []byte) error {
			var err error
			if row, err = CSVRow(row[:0], entry); err != nil {
				return err
			}
			return cw.Write(row)
		}
	}
	h.Set("X-Stele-Size", strconv.FormatUint(opts.Size, 10))
	// Nothing is written before the first result, so that an early error
	// (a bad cursor, say) still gets its status code and JSON body.
	started := false
	start := func() error {
		started = true
		if cw != nil {
			return cw.Write(CSVHeader)
		}
		return nil
	}
	n := 0
	search := func(fn func(seq uint64, entry []byte) error) error {
		if opts.Size == 0 { // an empty snapshot (Size 0 would mean "the current size")
			return nil
		}
		_, err := s.cfg.Search.Search(r.Context(), q, opts, fn)
		return err
	}
	err := search(func(seq uint64, entry []byte) error {
		if !started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := write(entry); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			if cw != nil {
				cw.Flush()
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		return nil
	})
	if err != nil && !started {
		h.Del("Content-Disposition")
		return err
	}
	if !started {
		if err := start(); err != nil { // no match: a CSV export is its header
			return err
		}
	}
	if cw != nil {
		cw.Flush()
	}
	if err != nil {
		// Too late for a status code: end the stream with a marker line the
		// client can see, and log it (a client that went away is no news).
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelInfo
		}
		s.logger.Log(r.Context(), level, "export ended midway", "err", err)
		fmt.Fprintf(w, "\n# error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return nil
}

// CSVHeader are the columns of a CSV export.
var CSVHeader = []string{"seq", "time", "received_at", "id", "action", "outcome", "category",
	"actor.type", "actor.id", "actor.name", "actor.ip", "actor.user_agent", "actor.session_id",
	"resource.type", "resource.id", "resource.name", "source.service", "source.host", "source.ip",
	"request_id", "message", "attributes"}

// CSVRow renders a canonical entry as a CSV row matching CSVHeader;
// attributes stay canonical JSON in one column.
func CSVRow(row []string, entry []byte) ([]string, error) {
	rec, err := stele.ParseRecord(entry)
	if err != nil {
		return nil, err
	}
	var a stele.Actor
	if rec.Actor != nil {
		a = *rec.Actor
	}
	var res stele.Resource
	if rec.Resource != nil {
		res = *rec.Resource
	}
	var src stele.Source
	if rec.Source != nil {
		src = *rec.Source
	}
	return append(row, strconv.FormatUint(rec.Seq, 10), rec.Time.Format(time.RFC3339Nano), rec.ReceivedAt.Format(time.RFC3339Nano),
		rec.ID, rec.Action, string(rec.Outcome), rec.Category,
		a.Type, a.ID, a.Name, a.IP, a.UserAgent, a.SessionID,
		res.Type, res.ID, res.Name, src.Service, src.Host, src.IP,
		rec.RequestID, rec.Message, string(rec.Attributes)), nil
}

// handleStats is GET /v1/stats?q=&since=&until=&by=&top=&interval=.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Search == nil {
		return errorf(stele.ErrNotFound, "search is not enabled on this server")
	}
	v := r.URL.Query()
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	opts := query.StatsOptions{By: v.Get("by")}
	if opts.By != "" {
		field, err := query.FacetField(opts.By)
		if err != nil {
			return errorf(stele.ErrInvalid, "by: %v", err)
		}
		opts.By = field
	}
	if t := v.Get("top"); t != "" {
		n, err := parseUint("top", t)
		if err != nil || n < 1 || n > 1000 {
			return errorf(stele.ErrInvalid, "top: %q must be between 1 and 1000", t)
		}
		opts.Top = int(n)
	}
	if iv := v.Get("interval"); iv != "" {
		d, err := query.ParseDuration(iv)
		if err != nil || d < time.Second {
			return errorf(stele.ErrInvalid, "interval: %q is not a duration of at least 1s (e.g. 1h, 15m, 1d)", iv)
		}
		opts.Interval = d
	}
	if opts.By == "" && opts.Interval == 0 {
		return errorf(stele.ErrInvalid, "stats needs by= (a field to count values of) and/or interval= (a histogram bucket width)")
	}
	_, opts.Size, _ = s.log.Checkpoint()
	if opts.Size == 0 { // an empty snapshot (Size 0 would mean "the current size")
		return writeJSON(w, http.StatusOK, &query.Stats{By: opts.By})
	}
	st, err := s.cfg.Search.Stats(r.Context(), q, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// handleStream is GET /v1/events/stream?q=: a live tail as Server-Sent
// Events. It starts after the Last-Event-ID (a seq) if the client sends
// one, at from_seq if given, else with the next event sealed.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Search == nil {
		return errorf(stele.ErrNotFound, "search is not enabled on this server")
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errorf(stele.ErrInvalid, "streaming is not supported on this connection")
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	_, from, _ := s.log.Checkpoint()
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		seq, err := parseUint("Last-Event-ID", id)
		if err != nil {
			return err
		}
		if seq >= math.MaxInt64 { // no log holds that many; seq+1 must not wrap to 0
			return errorf(stele.ErrInvalid, "Last-Event-ID: %d is not a seq this log can reach", seq)
		}
		from = seq + 1
	} else if f := r.URL.Query().Get("from_seq"); f != "" {
		if from, err = parseUint("from_seq", f); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streamsCtx, cancel) // server shutdown ends streams
	defer stop()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": stele live tail from seq %d\n\n", from)
	flusher.Flush()

	pings := time.NewTicker(15 * time.Second)
	defer pings.Stop()
	events := make(chan []byte, 256)
	errc := make(chan error, 1)
	go func() {
		errc <- s.cfg.Search.Tail(ctx, q, from, func(seq uint64, entry []byte) error {
			msg := fmt.Appendf(nil, "id: %d\nevent: event\ndata: %s\n\n", seq, entry)
			select {
			case events <- msg:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for {
		select {
		case msg := <-events:
			if _, err := w.Write(msg); err != nil {
				return nil
			}
			for len(events) > 0 { // batch what is queued into one flush
				if _, err := w.Write(<-events); err != nil {
					return nil
				}
			}
			flusher.Flush()
		case <-pings.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return nil
			}
			flusher.Flush()
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", strings.ReplaceAll(err.Error(), "\n", " "))
				flusher.Flush()
			}
			return nil
		}
	}
}

// CloseStreams ends every live tail, so a graceful shutdown does not wait
// for them. Register it with http.Server.RegisterOnShutdown.
func (s *Server) CloseStreams() { s.stopStreams() }
