// Package hec is stele's Splunk HTTP Event Collector intake: the
// /services/collector endpoints that Splunk logging libraries, Fluent Bit,
// Vector and the OpenTelemetry Collector's splunk_hec exporter send to.
//
// It authenticates the sender's token, maps each HEC event into stele's
// input schema (docs/ingest/hec.md), keeps the HEC event in "raw", seals a
// request as one all-or-nothing batch through ingest.Seal and only then
// answers {"text":"Success","code":0}. Errors use HEC's documented codes. It
// never imports storage, the API or the server: it needs only an
// ingest.Sink.
package hec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is 0, in
// bytes after decompression. HEC senders batch well below it (Fluent Bit
// and the OpenTelemetry exporter default to about 2 MiB or less).
const DefaultMaxBody = 4 << 20

// Config configures the intake. Its HTTPConfig's Tokens are the accepted
// HEC tokens: at least one is required. MaxBody 0 means DefaultMaxBody; the
// counters' source is "hec".
type Config struct {
	ingest.HTTPConfig
	// AllowQueryToken accepts the token as ?token=... as well, like a Splunk
	// token with allowQueryStringAuth = true. Off by default, as in Splunk:
	// query strings end up in proxy and access logs.
	AllowQueryToken bool
	// Action is the stele action of events that are not already in stele's
	// schema; "" derives hec.<sourcetype> (hec.event without a sourcetype).
	Action string
}

// Handler serves the HEC endpoints.
type Handler struct {
	cfg    Config
	tokens ingest.Tokens
	src    *ingest.Source
}

// New checks cfg and returns the intake.
func New(cfg Config) (*Handler, error) {
	h := &Handler{cfg: cfg}
	var err error
	if h.tokens, h.src, err = h.cfg.Setup("hec", DefaultMaxBody); err != nil {
		return nil, fmt.Errorf("hec: %w", err)
	}
	if h.tokens.Empty() {
		return nil, fmt.Errorf("hec: no tokens configured: %w", stele.ErrInvalid)
	}
	if cfg.Action != "" {
		if _, err := stele.ParseEvents([]byte(`{"action":`+strconv.Quote(cfg.Action)+`}`), false, time.Now()); err != nil {
			return nil, fmt.Errorf("hec: action %q: %w", cfg.Action, err)
		}
	}
	return h, nil
}

// Routes returns the endpoints: the JSON event endpoint under its three
// names, the raw endpoint and the health check.
func (h *Handler) Routes() []ingest.Route {
	event := http.HandlerFunc(h.serveEvent)
	return []ingest.Route{
		{Pattern: "POST /services/collector", Name: "ingest_hec_event", Handler: event},
		{Pattern: "POST /services/collector/event", Name: "ingest_hec_event", Handler: event},
		{Pattern: "POST /services/collector/event/1.0", Name: "ingest_hec_event", Handler: event},
		{Pattern: "POST /services/collector/raw", Name: "ingest_hec_raw", Handler: http.HandlerFunc(h.serveRaw)},
		{Pattern: "POST /services/collector/raw/1.0", Name: "ingest_hec_raw", Handler: http.HandlerFunc(h.serveRaw)},
		{Pattern: "GET /services/collector/health", Name: "ingest_hec_health", Handler: http.HandlerFunc(h.serveHealth)},
		{Pattern: "GET /services/collector/health/1.0", Name: "ingest_hec_health", Handler: http.HandlerFunc(h.serveHealth)},
	}
}

// HEC's status codes, as documented in "Troubleshoot HTTP Event Collector"
// (https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/troubleshoot-http-event-collector,
// formerly https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector);
// the authentication ones (2, 3, 4 with 401/401/403) are also what Fluent
// Bit's in_splunk aligned to (https://github.com/fluent/fluent-bit/pull/12043).
// Only the codes stele can produce are here.
const (
	codeSuccess       = 0  // 200 Success
	codeTokenRequired = 2  // 401 Token is required
	codeInvalidAuth   = 3  // 401 Invalid authorization
	codeInvalidToken  = 4  // 403 Invalid token
	codeNoData        = 5  // 400 No data
	codeInvalidFormat = 6  // 400 Invalid data format (+ invalid-event-number)
	codeInternal      = 8  // 500 Internal server error
	codeBusy          = 9  // 503 Server is busy
	codeEventRequired = 12 // 400 Event field is required
	codeEventBlank    = 13 // 400 Event field cannot be blank
	codeQueryAuthOff  = 16 // 400 Query string authorization is not enabled
	codeHealthy       = 17 // 200 HEC is healthy

	textSuccess       = "Success"
	textInvalidFormat = "Invalid data format"
	textServerBusy    = "Server is busy"
	textInternalError = "Internal server error"
	textTokenRequired = "Token is required"
	textInvalidAuth   = "Invalid authorization"
	textInvalidToken  = "Invalid token"
	textNoData        = "No data"
	textQueryAuthOff  = "Query string authorization is not enabled"
	textHealthy       = "HEC is healthy"
	// HEC has no code of its own for a body or event over the limit;
	// stele answers 413 with code 6, like other malformed data.
	textTooLarge = "Content too large"

	retryAfterSeconds = "5"
	noEventNumber     = -1
)

// reply is HEC's response body.
type reply struct {
	Text               string `json:"text"`
	Code               int    `json:"code"`
	InvalidEventNumber *int   `json:"invalid-event-number,omitempty"`
}

func writeReply(w http.ResponseWriter, status, code int, text string, eventNumber int) {
	rep := reply{Text: text, Code: code}
	if eventNumber >= 0 {
		rep.InvalidEventNumber = &eventNumber
	}
	b, _ := json.Marshal(rep)
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable || status == http.StatusInsufficientStorage {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// authorize checks the token and answers the failure itself.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) bool {
	var token string
	switch auth := r.Header.Get("Authorization"); {
	case auth != "":
		scheme, value, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Splunk") || strings.TrimSpace(value) == "" {
			writeReply(w, http.StatusUnauthorized, codeInvalidAuth, textInvalidAuth, noEventNumber)
			return false
		}
		token = strings.TrimSpace(value)
	case r.URL.Query().Has("token"):
		if !h.cfg.AllowQueryToken {
			writeReply(w, http.StatusBadRequest, codeQueryAuthOff, textQueryAuthOff, noEventNumber)
			return false
		}
		token = r.URL.Query().Get("token")
	default:
		writeReply(w, http.StatusUnauthorized, codeTokenRequired, textTokenRequired, noEventNumber)
		return false
	}
	if !h.tokens.Match(token) {
		writeReply(w, http.StatusForbidden, codeInvalidToken, textInvalidToken, noEventNumber)
		return false
	}
	return true
}

func defaultsOf(r *http.Request) Defaults {
	q := r.URL.Query()
	return Defaults{Host: q.Get("host"), Source: q.Get("source"), Sourcetype: q.Get("sourcetype"), Index: q.Get("index")}
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, ParseEvents)
}

func (h *Handler) serveRaw(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, ParseRaw)
}

func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeReply(w, http.StatusOK, codeHealthy, textHealthy, noEventNumber)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, parse func([]byte, string, Defaults) ([][]byte, error)) {
	if !h.authorize(w, r) {
		return
	}
	received := h.cfg.Now()
	body, pass, err := ingest.Admit(h.cfg.Gate, w, r, h.cfg.MaxBody)
	if ingest.Unread(err) {
		h.fail(w, err) // busy, or the sender left: not counted as received
		return
	}
	if err != nil {
		// The events in an unreadable body cannot be counted: count one.
		h.src.Received.Inc()
		h.src.Rejected.Inc()
		h.fail(w, err)
		return
	}
	defer pass.Leave()
	h.src.Bytes.Add(float64(len(body)))
	events, err := parse(body, h.cfg.Action, defaultsOf(r))
	if err != nil {
		// Counted up to and including the bad event: what follows it was
		// not parsed.
		n := 1
		var ee *EventError
		if errors.As(err, &ee) {
			n = ee.Index + 1
		}
		h.src.Received.Add(float64(n))
		h.src.Rejected.Add(float64(n))
		h.fail(w, err)
		return
	}
	if len(events) == 0 {
		writeReply(w, http.StatusBadRequest, codeNoData, textNoData, noEventNumber)
		return
	}
	h.src.Received.Add(float64(len(events)))
	if _, err := ingest.Seal(r.Context(), h.cfg.Sink, events, received); err != nil {
		h.src.Rejected.Add(float64(len(events)))
		h.fail(w, err)
		return
	}
	h.src.Accepted.Add(float64(len(events)))
	writeReply(w, http.StatusOK, codeSuccess, textSuccess, noEventNumber)
}

// fail answers err in HEC's shape: the one place this package maps stele's
// sentinel errors to statuses.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	var hecErr *EventError
	var steleErr *stele.EventError
	switch {
	case errors.As(err, &hecErr):
		text := textInvalidFormat
		if hecErr.Code != codeInvalidFormat {
			text = hecErr.Text
		}
		writeReply(w, http.StatusBadRequest, hecErr.Code, text, hecErr.Index)
	case errors.As(err, &steleErr):
		status := http.StatusBadRequest
		text := textInvalidFormat
		if errors.Is(err, stele.ErrTooLarge) {
			status, text = http.StatusRequestEntityTooLarge, textTooLarge
		}
		writeReply(w, status, codeInvalidFormat, text, max(steleErr.Index, noEventNumber))
	case errors.Is(err, stele.ErrTooLarge):
		writeReply(w, http.StatusRequestEntityTooLarge, codeInvalidFormat, textTooLarge, noEventNumber)
	case errors.Is(err, stele.ErrInvalid):
		writeReply(w, http.StatusBadRequest, codeInvalidFormat, textInvalidFormat, noEventNumber)
	case errors.Is(err, stele.ErrDiskFull):
		writeReply(w, http.StatusInsufficientStorage, codeBusy, textServerBusy, noEventNumber)
	case errors.Is(err, stele.ErrUnavailable), errors.Is(err, stele.ErrClosed), errors.Is(err, stele.ErrFailed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeReply(w, http.StatusServiceUnavailable, codeBusy, textServerBusy, noEventNumber)
	default:
		h.cfg.Logger.Error("hec: sealing a batch", "err", err)
		writeReply(w, http.StatusInternalServerError, codeInternal, textInternalError, noEventNumber)
	}
	if errors.Is(err, stele.ErrInvalid) || errors.Is(err, stele.ErrTooLarge) {
		h.cfg.Logger.Debug("hec: refused a request", "err", err)
	}
}
