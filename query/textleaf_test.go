package query

import (
	"testing"

	"github.com/stele-log/stele/index/search"
)

// TestTextLeavesAgreeWithTheIndex: a free-text hit the matcher accepts must
// be one the index finds, or index-backed searches would miss it.
func TestTextLeavesAgreeWithTheIndex(t *testing.T) {
	for _, path := range []string{"id", "seq", "time", "received_at", "message", "action", "category", "outcome",
		"request_id", "actor.id", "actor.name", "actor.ip", "actor.user_agent", "actor.session_id", "actor.type",
		"resource.id", "resource.name", "resource.type", "source.service", "source.host", "source.ip",
		"attributes.note", "attributes.id", "attributes.time", "attributes.db.name",
		"raw", "raw.verb", "raw.user.username", "rawx", "raws.a", "attributes.raw"} {
		if got, want := textLeaf([]byte(path)), search.TextIndexed(path); got != want {
			t.Errorf("%s: matcher searches text: %v, index: %v", path, got, want)
		}
	}
}
