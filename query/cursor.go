package query

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/stele-log/stele"
)

// A cursor continues a search after the last result of a page: the seq of
// that result, the order, and a checksum of the query so a cursor cannot be
// reused with a different query. Seqs never change, so the next page is the
// same whatever was appended in between: a keyset cursor.
type cursor struct {
	asc bool
	seq uint64
}

// queryChecksum binds a cursor to a query, since= and until= aside (see
// Query.scope): the cursor is a position (a seq), and a relative since
// resolves to a new instant on every page.
func queryChecksum(q *Query) uint32 {
	text := q.scope
	if text == "" {
		text = q.String()
	}
	return crc32.ChecksumIEEE([]byte(text))
}

func encodeCursor(c cursor, q *Query) string {
	order := "d"
	if c.asc {
		order = "a"
	}
	raw := fmt.Sprintf("v1.%s.%d.%08x", order, c.seq, queryChecksum(q))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string, q *Query) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, fmt.Errorf("query: invalid cursor (%s); start again without one: %w", why, stele.ErrInvalid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[0] != "v1" || (parts[1] != "a" && parts[1] != "d") {
		return bad("unknown format")
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil || seq > maxSeq {
		return bad("bad seq")
	}
	sum, err := strconv.ParseUint(parts[3], 16, 32)
	if err != nil {
		return bad("bad checksum")
	}
	if uint32(sum) != queryChecksum(q) {
		return bad("it belongs to a different query")
	}
	return cursor{asc: parts[1] == "a", seq: seq}, nil
}
