package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/tiles"
	"github.com/stele-log/stele/verify"
)

const (
	defaultPageSize = 100
	maxPageSize     = 10000
)

// handleEvent is GET /v1/events/{seq}: the canonical record, byte for byte.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) error {
	seq, err := parseUint("seq", r.PathValue("seq"))
	if err != nil {
		return err
	}
	entry, err := s.log.Entry(r.Context(), seq)
	if err != nil {
		return err
	}
	return writeRecord(w, entry)
}

// handleEventByID is GET /v1/events/id/{id}.
func (s *Server) handleEventByID(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if id == "" {
		return errorf(stele.ErrInvalid, "empty id")
	}
	_, entry, err := s.log.EntryByID(r.Context(), []byte(id))
	if err != nil {
		return err
	}
	return writeRecord(w, entry)
}

func writeRecord(w http.ResponseWriter, entry []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(entry)
	w.Write([]byte{'\n'})
	return nil
}

// handleEvents is GET /v1/events. With after_seq= (empty for the start) it
// is the range read for followers, in seq order; otherwise it is a search
// (handleSearch).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	if isSearch(r) {
		return s.handleSearch(w, r)
	}
	q := r.URL.Query()
	var from uint64
	if v := q.Get("after_seq"); v != "" {
		after, err := parseUint("after_seq", v)
		if err != nil {
			return err
		}
		from = after + 1
	}
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := parseUint("limit", v)
		if err != nil || n < 1 || n > maxPageSize {
			return errorf(stele.ErrInvalid, "limit: %q must be between 1 and %d", v, maxPageSize)
		}
		limit = int(n)
	}
	_, size, _ := s.log.Checkpoint()
	b := make([]byte, 0, 4096)
	b = append(b, `{"events":[`...)
	var last uint64
	count := 0
	err := s.log.Entries(r.Context(), from, limit, func(seq uint64, entry []byte) error {
		if count > 0 {
			b = append(b, ',')
		}
		b = append(b, entry...)
		last = seq
		count++
		return nil
	})
	if err != nil {
		return err
	}
	b = append(b, ']')
	if count > 0 {
		b = append(b, `,"last_seq":`...)
		b = strconv.AppendUint(b, last, 10)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendUint(b, size, 10)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

// handleInclusion is GET /v1/proof/inclusion?seq=&size= (size defaults to
// the current size, and then the checkpoint is included).
func (s *Server) handleInclusion(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	seq, err := parseUint("seq", q.Get("seq"))
	if err != nil {
		return err
	}
	note, size, root := s.log.Checkpoint()
	resp := InclusionProof{Seq: seq}
	if v := q.Get("size"); v != "" && v != strconv.FormatUint(size, 10) {
		if size, err = parseUint("size", v); err != nil {
			return err
		}
		if root, err = s.log.RootAt(r.Context(), size); err != nil {
			return err
		}
	} else {
		resp.Checkpoint = string(note)
	}
	if seq >= size {
		return errorf(stele.ErrNotFound, "seq %d is not in the tree of size %d", seq, size)
	}
	entry, err := s.log.Entry(r.Context(), seq)
	if err != nil {
		return err
	}
	proof, err := s.log.InclusionProof(r.Context(), seq, size)
	if err != nil {
		return err
	}
	resp.Size, resp.RootHash, resp.Proof = size, b64(root[:]), hashes(proof)
	leaf := verify.LeafHash(entry)
	resp.LeafHash = b64(leaf[:])
	return writeJSON(w, http.StatusOK, resp)
}

// handleConsistency is GET /v1/proof/consistency?old=&new= (new defaults to
// the current size, and then the checkpoint is included).
func (s *Server) handleConsistency(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	old, err := parseUint("old", q.Get("old"))
	if err != nil {
		return err
	}
	note, size, root := s.log.Checkpoint()
	resp := ConsistencyProof{Old: old}
	if v := q.Get("new"); v != "" && v != strconv.FormatUint(size, 10) {
		if size, err = parseUint("new", v); err != nil {
			return err
		}
		if root, err = s.log.RootAt(r.Context(), size); err != nil {
			return err
		}
	} else {
		resp.Checkpoint = string(note)
	}
	if old > size {
		return errorf(stele.ErrInvalid, "old size %d is larger than new size %d", old, size)
	}
	oldRoot, err := s.log.RootAt(r.Context(), old)
	if err != nil {
		return err
	}
	proof, err := s.log.ConsistencyProof(r.Context(), old, size)
	if err != nil {
		return err
	}
	resp.New, resp.Proof, resp.OldRoot, resp.NewRoot = size, hashes(proof), b64(oldRoot[:]), b64(root[:])
	return writeJSON(w, http.StatusOK, resp)
}

// handleCheckpoint is GET /checkpoint (C2SP tlog-tiles).
func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) error {
	note, _, _ := s.log.Checkpoint()
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.Write(note)
	return nil
}

// handleTile is GET /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>].
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) error {
	t, entries, err := tiles.ParsePath(r.URL.Path[1:])
	if err != nil {
		return errorf(stele.ErrNotFound, "%v", err)
	}
	var data []byte
	if entries {
		data, err = s.log.ReadEntryBundle(r.Context(), t.Index, t.Width)
	} else {
		data, err = s.log.ReadTile(r.Context(), t)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if t.Width == tiles.Width {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=60")
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
	return nil
}

// writeJSON writes v as one line of JSON. HTML escaping is off: records
// travel as json.RawMessage, and they must arrive byte for byte as sealed
// (encoding/json would turn a record's "<" into "\u003c", and its leaf hash
// would no longer verify).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// errorf builds an error that wraps the sentinel kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func hashes(hs [][32]byte) []string {
	out := make([]string, len(hs))
	for i := range hs {
		out[i] = b64(hs[i][:])
	}
	return out
}
