// Package otlp is stele's OpenTelemetry logs intake: OTLP/HTTP's
// POST /v1/logs, in the binary protobuf and the JSON encodings, as
// OpenTelemetry SDKs and the Collector's otlphttp exporter send them.
//
// It decodes an ExportLogsServiceRequest with the Collector's pdata, maps
// every log record into stele's input schema (docs/ingest/otlp.md), keeps
// the record with its resource and scope in "raw" (OTLP JSON), seals the
// request as one all-or-nothing batch through ingest.Seal and only then
// answers 200 with an ExportLogsServiceResponse. It never answers a partial
// success: a record that cannot be mapped refuses the whole request with
// 400 and a google.rpc.Status body, as the OTLP specification says. It
// never imports storage, the API or the server: it needs only an
// ingest.Sink.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is 0, in
// bytes after decompression: the Collector's own OTLP receiver default
// (confighttp max_request_body_size, 20 MiB).
const DefaultMaxBody = 20 << 20

// Path is OTLP/HTTP's default URL path for logs.
const Path = "/v1/logs"

// The media types of OTLP/HTTP's two encodings.
const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// retryAfterSeconds is the Retry-After of a 503: OTLP clients honour it
// (and back off exponentially without it).
const retryAfterSeconds = "5"

// Config configures the intake. Its HTTPConfig's Tokens, when set, are the
// bearer tokens a sender must present ("Authorization: Bearer <token>",
// which every OTLP exporter can set as a header); empty, no token is asked
// for, and senders must be authenticated otherwise (mTLS, a network
// boundary). MaxBody 0 means DefaultMaxBody; the counters' source is
// "otlp".
type Config struct {
	ingest.HTTPConfig
}

// Handler serves POST /v1/logs.
type Handler struct {
	cfg    Config
	tokens ingest.Tokens
	src    *ingest.Source
}

// New checks cfg and returns the intake.
func New(cfg Config) (*Handler, error) {
	h := &Handler{cfg: cfg}
	var err error
	if h.tokens, h.src, err = h.cfg.Setup("otlp", DefaultMaxBody); err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	return h, nil
}

// Routes returns the intake's one endpoint, POST /v1/logs.
func (h *Handler) Routes() []ingest.Route {
	return []ingest.Route{{Pattern: "POST " + Path, Name: "ingest_otlp_logs", Handler: h}}
}

// encoding is how a request (and so its response) is encoded.
type encoding int

const (
	encProto encoding = iota
	encJSON
)

func (e encoding) contentType() string {
	if e == encJSON {
		return contentTypeJSON
	}
	return contentTypeProto
}

// ServeHTTP answers one export request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed, use POST", http.StatusMethodNotAllowed)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var enc encoding
	switch strings.ToLower(mediaType) {
	case contentTypeProto:
		enc = encProto
	case contentTypeJSON:
		enc = encJSON
	default:
		// No encoding to answer in: plain text, as the Collector does.
		http.Error(w, fmt.Sprintf("415 unsupported media type %q, supported: [%s, %s]",
			mediaType, contentTypeJSON, contentTypeProto), http.StatusUnsupportedMediaType)
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stele"`)
		h.writeStatus(w, enc, http.StatusUnauthorized, codeUnauthenticated, "a valid bearer token is required", nil)
		return
	}
	received := h.cfg.Now()
	body, pass, err := ingest.Admit(h.cfg.Gate, w, r, h.cfg.MaxBody)
	if ingest.Unread(err) {
		h.fail(w, enc, err) // busy, or the sender left: not counted as received
		return
	}
	if err != nil {
		// The records in an unreadable body cannot be counted: count one.
		h.src.Received.Inc()
		h.src.Rejected.Inc()
		h.fail(w, enc, err)
		return
	}
	defer pass.Leave()
	h.src.Bytes.Add(float64(len(body)))
	req := plogotlp.NewExportRequest()
	if enc == encJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		h.src.Received.Inc()
		h.src.Rejected.Inc()
		h.fail(w, enc, fmt.Errorf("otlp: decoding the %s body: %v: %w", enc.contentType(), err, stele.ErrInvalid))
		return
	}
	logs := req.Logs()
	n := logs.LogRecordCount()
	h.src.Received.Add(float64(n))
	// A mapped record (fields, attributes and the record again as OTLP
	// JSON in raw) is about three times its protobuf.
	events, locs, err := mapLogs(logs, 3*len(body))
	if err != nil {
		h.src.Rejected.Add(float64(n))
		h.fail(w, enc, err)
		return
	}
	if _, err := ingest.Seal(r.Context(), h.cfg.Sink, events, received); err != nil {
		h.src.Rejected.Add(float64(n))
		var ee *stele.EventError
		if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(locs) {
			err = &RecordError{Loc: locs[ee.Index], Field: ee.Field, Err: err}
		}
		h.fail(w, enc, err)
		return
	}
	h.src.Accepted.Add(float64(n))
	resp := plogotlp.NewExportResponse()
	var out []byte
	if enc == encJSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		// The batch is sealed; only the acknowledgement failed. A retry
		// appends it again, which OTLP accepts (duplicates over loss).
		h.cfg.Logger.Error("otlp: encoding a response", "err", err)
		h.writeStatus(w, enc, http.StatusInternalServerError, codeInternal, "encoding the response failed", nil)
		return
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// authorized checks the bearer token, when tokens are configured.
func (h *Handler) authorized(r *http.Request) bool { return h.tokens.Bearer(r) }

// fail answers err as OTLP/HTTP says: a 4xx or 5xx status and a
// google.rpc.Status body in the request's encoding. It is the one place
// this package maps stele's sentinel errors to statuses: 400 for bad data
// (never retried), 413 for a body or record over a limit (never retried),
// 503 with Retry-After when the log cannot take the batch now (retried).
func (h *Handler) fail(w http.ResponseWriter, enc encoding, err error) {
	var re *RecordError
	errors.As(err, &re)
	switch {
	case errors.Is(err, stele.ErrTooLarge):
		h.writeStatus(w, enc, http.StatusRequestEntityTooLarge, codeInvalidArgument, err.Error(), re)
	case errors.Is(err, stele.ErrInvalid):
		h.writeStatus(w, enc, http.StatusBadRequest, codeInvalidArgument, err.Error(), re)
	case errors.Is(err, stele.ErrDiskFull), errors.Is(err, stele.ErrUnavailable), errors.Is(err, stele.ErrClosed),
		errors.Is(err, stele.ErrFailed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// A full disk or a failed log needs an operator, but the sender
		// should keep its data and retry rather than drop audit records.
		w.Header().Set("Retry-After", retryAfterSeconds)
		h.writeStatus(w, enc, http.StatusServiceUnavailable, codeUnavailable, "the log cannot take records now: "+err.Error(), nil)
	default:
		h.cfg.Logger.Error("otlp: sealing a batch", "err", err)
		h.writeStatus(w, enc, http.StatusInternalServerError, codeInternal, "internal error", nil)
	}
	if errors.Is(err, stele.ErrInvalid) || errors.Is(err, stele.ErrTooLarge) {
		h.cfg.Logger.Debug("otlp: refused a request", "err", err)
	}
}
