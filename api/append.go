package api

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

var (
	batchPool  = sync.Pool{New: func() any { return new(stele.Batch) }}
	sealedPool = sync.Pool{New: func() any { return new(stele.Sealed) }}
	bufPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	respPool   = sync.Pool{New: func() any { return new([]byte) }}
)

// handleAppend is POST /v1/events: one JSON object, a JSON array of objects,
// or NDJSON (Content-Type: application/x-ndjson). All or nothing. With
// ?proof=1 every event carries its inclusion proof.
func (s *Server) handleAppend(w http.ResponseWriter, r *http.Request) error {
	received := s.cfg.Now()
	withProof, err := proofParam(r)
	if err != nil {
		return err
	}
	if r.ContentLength > s.cfg.MaxBodyBytes { // refused before anything is reserved or read
		return errorf(stele.ErrTooLarge, "request body is %d bytes; the limit is %d bytes: split the batch", r.ContentLength, s.cfg.MaxBodyBytes)
	}
	pass, err := s.cfg.Gate.Enter(r.Context(), r, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	defer pass.Leave()
	body := bufPool.Get().(*bytes.Buffer)
	defer putBuf(body)
	if err := s.readBody(w, r, body, pass); err != nil {
		return err
	}
	pass.Fit(int64(body.Len()))
	batch := batchPool.Get().(*stele.Batch)
	defer batchPool.Put(batch)
	if err := stele.ParseEventsInto(batch, body.Bytes(), isNDJSON(r.Header.Get("Content-Type")), received); err != nil {
		return err
	}
	sealed := sealedPool.Get().(*stele.Sealed)
	defer sealedPool.Put(sealed)
	if err := s.log.Append(r.Context(), batch, sealed); err != nil {
		return err
	}
	pass.Leave() // the body is parsed and sealed: a slow reader of the answer holds nothing

	out := respPool.Get().(*[]byte)
	defer func() {
		if cap(*out) <= 8<<20 {
			respPool.Put(out)
		}
	}()
	resp, err := s.encodeAppend(r, (*out)[:0], sealed, withProof)
	if err != nil {
		return err
	}
	*out = resp
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if len(resp) > 2048 { // smaller bodies get a Content-Length from net/http for free
		h["Content-Length"] = []string{strconv.Itoa(len(resp))}
	}
	w.Write(resp)
	return nil
}

func proofParam(r *http.Request) (bool, error) {
	if r.URL.RawQuery == "" {
		return false, nil
	}
	switch v := r.URL.Query().Get("proof"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, errorf(stele.ErrInvalid, "proof: %q is not 1, true, 0 or false", v)
	}
}

// readBody reads the request body into buf, enforcing MaxBodyBytes and
// undoing Content-Encoding: gzip; a body of unknown size is metered by the
// gate's pass, and the read has the gate's deadline.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, pass *ingest.Pass) error {
	limit := s.cfg.MaxBodyBytes
	if g := s.cfg.Gate; g != nil && g.BodyTimeout > 0 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(g.BodyTimeout)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	var src io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return errorf(stele.ErrInvalid, "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	default:
		return errorf(stele.ErrInvalid, "Content-Encoding %q is not supported (use gzip or none)", enc)
	}
	if r.ContentLength > 0 && r.ContentLength < ingest.Chunk && src == r.Body {
		// The common case: read exactly the announced length, no limiter
		// (the gate reserved exactly that). A larger body is read, and
		// reserved, as it arrives: a sender that declares 64 MiB and
		// stalls must not make us allocate it.
		buf.Grow(int(r.ContentLength))
		b := buf.AvailableBuffer()[:r.ContentLength]
		if _, err := io.ReadFull(src, b); err != nil {
			return errorf(stele.ErrInvalid, "reading request body: %v", err)
		}
		buf.Write(b)
		return nil
	}
	n, err := buf.ReadFrom(io.LimitReader(pass.Reader(src), limit+1))
	if errors.Is(err, ingest.ErrBusy) {
		return err
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(stele.ErrTooLarge, "request body exceeds %d bytes", mbe.Limit)
		}
		return errorf(stele.ErrInvalid, "reading request body: %v", err)
	}
	if n > limit {
		return errorf(stele.ErrTooLarge, "request body exceeds the limit of %d bytes: split the batch", limit)
	}
	return nil
}

// encodeAppend renders an AppendResponse by hand: it is on the hot path, and
// every field is a number, base64 or an id that never needs escaping.
func (s *Server) encodeAppend(r *http.Request, b []byte, sealed *stele.Sealed, withProof bool) ([]byte, error) {
	b = append(b, `{"size":`...)
	b = strconv.AppendUint(b, sealed.Size, 10)
	b = append(b, `,"root_hash":"`...)
	b = base64.StdEncoding.AppendEncode(b, sealed.Root[:])
	b = append(b, `","checkpoint":`...)
	b = append(b, s.checkpointJSON(sealed.Checkpoint)...)
	b = append(b, `,"events":[`...)
	for i, e := range sealed.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
		b = append(b, `,"id":"`...)
		b = append(b, sealed.ID(i)...)
		b = append(b, `","leaf_hash":"`...)
		b = base64.StdEncoding.AppendEncode(b, e.LeafHash[:])
		b = append(b, '"')
		if e.Duplicate {
			b = append(b, `,"duplicate":true`...)
		}
		if withProof {
			proof, err := s.log.InclusionProof(r.Context(), e.Seq, sealed.Size)
			if err != nil {
				return nil, err
			}
			b = append(b, `,"inclusion_proof":[`...)
			for k := range proof {
				if k > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = base64.StdEncoding.AppendEncode(b, proof[k][:])
				b = append(b, '"')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...), nil
}

// jsonContentType is shared by every JSON response (net/http never mutates it).
var jsonContentType = []string{"application/json"}

// escapedNote caches the JSON form of the newest checkpoint: every request of
// a group commit shares the same note, so it is escaped once per group.
type escapedNote struct {
	note []byte
	json []byte
}

func (s *Server) checkpointJSON(note []byte) []byte {
	if c := s.noteCache.Load(); c != nil && len(note) > 0 && len(c.note) == len(note) && &c.note[0] == &note[0] {
		return c.json
	}
	c := &escapedNote{note: note, json: appendJSONString(nil, note)}
	s.noteCache.Store(c)
	return c.json
}

// appendJSONString appends s as a JSON string. Checkpoint notes are UTF-8
// text whose only special character is the newline.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 8<<20 {
		return // don't pin huge buffers
	}
	b.Reset()
	bufPool.Put(b)
}
