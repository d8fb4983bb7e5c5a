package search

import (
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
)

// TestRawIsNotIndexed: the raw payload an intake keeps is sealed with the
// record but adds no term and no token; the mapped fields are indexed.
func TestRawIsNotIndexed(t *testing.T) {
	body := `{"action":"k8s.pods.get","actor":{"id":"bob"},"raw":{"verb":"get","user":{"username":"zebrafish"},"note":"quokka here"}}` + "\n" +
		`{"action":"syslog.message","message":"ordinary line","raw":"<34>1 2026-11-01T10:00:00Z host app - - - platypus"}`
	b, err := stele.ParseEvents([]byte(body), true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := openIndex(t, fsx.NewMem(), testOptions(64))
	defer x.Close()
	var ids stele.IDGen
	for i := range b.Len() {
		if err := x.Add(uint64(i), b.AppendEntry(nil, i, ids.Next(nil, time.Now()), uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := x.Snapshot(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	c := snap.Chunks()[0]
	var m Bitmap
	for _, tok := range []string{"zebrafish", "quokka", "platypus"} {
		m.Clear()
		if err := c.Token(tok, &m); err != nil || m.Any() {
			t.Errorf("token %q from raw is indexed (%v)", tok, err)
		}
	}
	for _, f := range [][2]string{{"raw.verb", "get"}, {"raw.user.username", "zebrafish"}, {"raw", "<34>1 2026-11-01t10:00:00z host app - - - platypus"}} {
		m.Clear()
		if _, err := c.Term(f[0], f[1], &m); err != nil || m.Any() {
			t.Errorf("field %s from raw is indexed (%v)", f[0], err)
		}
	}
	m.Clear()
	if _, err := c.Term("actor.id", "bob", &m); err != nil || !m.Has(0) {
		t.Errorf("the mapped field is not indexed: %v", err)
	}
	m.Clear()
	if err := c.Token("ordinary", &m); err != nil || !m.Has(1) {
		t.Errorf("the message is not indexed: %v", err)
	}
}
