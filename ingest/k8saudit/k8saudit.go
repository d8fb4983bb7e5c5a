// Package k8saudit is stele's Kubernetes audit intake: the endpoint that
// kube-apiserver's webhook audit backend (--audit-webhook-config-file)
// POSTs audit.k8s.io/v1 EventLists to, in batch and blocking mode.
//
// It maps each audit event into stele's input schema (docs/ingest/k8s-audit.md),
// keeps the event whole in "raw", derives the idempotency key from the
// event's content so that a redelivered list appends nothing, seals a list as one
// all-or-nothing batch through ingest.Seal and only then answers 200 (the
// apiserver retries anything else). It never imports storage, the API or
// the server: it needs only an ingest.Sink.
package k8saudit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is 0, in
// bytes after decompression. The apiserver's batch backend sends at most
// --audit-webhook-batch-max-size events (default 400) per request, each
// truncated to --audit-webhook-truncate-max-event-size when truncation is on.
const DefaultMaxBody = 32 << 20

// Config configures the intake. Its HTTPConfig's Tokens, when set, are the
// bearer tokens the apiserver must present (the webhook kubeconfig's
// user.token); empty, no token is asked for, and the sender must be
// authenticated otherwise (mTLS on the listener). MaxBody 0 means
// DefaultMaxBody; the counters' source is "k8s_audit".
type Config struct {
	ingest.HTTPConfig
	// AllStages keeps the events of every stage; by default only
	// ResponseComplete and Panic, one event per request.
	AllStages bool
}

// Handler serves the webhook endpoint.
type Handler struct {
	cfg    Config
	tokens ingest.Tokens
	src    *ingest.Source
}

// New checks cfg and returns the intake.
func New(cfg Config) (*Handler, error) {
	h := &Handler{cfg: cfg}
	var err error
	if h.tokens, h.src, err = h.cfg.Setup("k8s_audit", DefaultMaxBody); err != nil {
		return nil, fmt.Errorf("k8saudit: %w", err)
	}
	return h, nil
}

// Routes returns the endpoint.
func (h *Handler) Routes() []ingest.Route {
	return []ingest.Route{{Pattern: "POST /v1/ingest/k8s", Name: "ingest_k8s_audit", Handler: h}}
}

// ServeHTTP takes one EventList.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorize(r) {
		writeStatus(w, http.StatusUnauthorized, "Unauthorized", "a valid bearer token is required")
		return
	}
	received := h.cfg.Now()
	body, pass, err := ingest.Admit(h.cfg.Gate, w, r, h.cfg.MaxBody)
	if ingest.Unread(err) {
		h.fail(w, err) // busy, or the sender left: not counted as received
		return
	}
	if err != nil {
		h.src.Received.Inc()
		h.src.Rejected.Inc()
		h.fail(w, err)
		return
	}
	defer pass.Leave()
	h.src.Bytes.Add(float64(len(body)))
	parsed, err := ParseEventList(body, h.cfg.AllStages)
	if err != nil {
		h.src.Received.Inc()
		h.src.Rejected.Inc()
		h.fail(w, err)
		return
	}
	// Every item counts as received; one of a non-final stage is neither
	// accepted nor rejected, so received - accepted - rejected is the
	// number of dropped stages.
	h.src.Received.Add(float64(parsed.Items))
	if len(parsed.Events) > 0 {
		sealed, err := ingest.Seal(r.Context(), h.cfg.Sink, parsed.Events, received)
		var ee *stele.EventError
		if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(parsed.Item) {
			// Name the item in the list the sender knows, not the mapped event.
			field := ""
			if ee.Field != "" {
				field = ee.Field + ": "
			}
			err = fmt.Errorf("k8saudit: item %d: mapped %s%s: %w", parsed.Item[ee.Index], field, ee.Reason, ee.Err)
		}
		if err != nil {
			h.src.Rejected.Add(float64(len(parsed.Events)))
			h.fail(w, err)
			return
		}
		h.src.Accepted.Add(float64(len(parsed.Events)))
		dups := 0
		for _, e := range sealed.Events {
			if e.Duplicate {
				dups++
			}
		}
		if dups > 0 {
			h.cfg.Logger.Debug("k8saudit: redelivered events", "duplicates", dups)
		}
	}
	writeStatus(w, http.StatusOK, "", "")
}

func (h *Handler) authorize(r *http.Request) bool { return h.tokens.Bearer(r) }

// status is meta/v1 Status, the shape the apiserver logs from a webhook
// that answers with an error.
type status struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     string `json:"status"`
	Message    string `json:"message,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Code       int    `json:"code"`
}

func writeStatus(w http.ResponseWriter, code int, reason, message string) {
	st := status{Kind: "Status", APIVersion: "v1", Status: "Success", Code: code}
	if code != http.StatusOK {
		st.Status, st.Reason, st.Message = "Failure", reason, message
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusServiceUnavailable || code == http.StatusInsufficientStorage {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// fail answers err as a Status: the one place this package maps stele's
// sentinel errors to statuses.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, stele.ErrTooLarge):
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", err.Error())
	case errors.Is(err, stele.ErrInvalid):
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
	case errors.Is(err, stele.ErrDiskFull):
		writeStatus(w, http.StatusInsufficientStorage, "InsufficientStorage", err.Error())
	case errors.Is(err, stele.ErrUnavailable), errors.Is(err, stele.ErrClosed), errors.Is(err, stele.ErrFailed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
	default:
		h.cfg.Logger.Error("k8saudit: sealing a batch", "err", err)
		writeStatus(w, http.StatusInternalServerError, "InternalError", "internal error")
		return
	}
	if errors.Is(err, stele.ErrInvalid) || errors.Is(err, stele.ErrTooLarge) {
		h.cfg.Logger.Warn("k8saudit: refused an EventList", "err", err)
	}
}
