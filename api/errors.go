package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/stele-log/stele"
)

// StatusOf maps an error to its HTTP status. It is the only place in stele
// that decides a status code for an error.
func StatusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, stele.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, stele.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, stele.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, stele.ErrDiskFull):
		return http.StatusInsufficientStorage
	case errors.Is(err, stele.ErrUnavailable), errors.Is(err, stele.ErrClosed), errors.Is(err, stele.ErrFailed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case errors.Is(err, stele.ErrVerify):
		return http.StatusBadGateway
	default: // includes ErrCorrupt
		return http.StatusInternalServerError
	}
}

// retryable reports whether a client should retry the same request later.
func retryable(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusInsufficientStorage
}

// writeError sends {"error": "..."} with the error's status.
func writeError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if retryable(status) {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	msg, _ := json.Marshal(err.Error())
	b := append([]byte(`{"error":`), msg...)
	w.Write(append(b, "}\n"...))
}
