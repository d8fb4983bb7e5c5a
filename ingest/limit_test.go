package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// slowSink holds every append until released.
type slowSink struct {
	entered chan struct{}
	release chan struct{}
}

func (s *slowSink) Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}

func TestLimitSink(t *testing.T) {
	slow := &slowSink{entered: make(chan struct{}, 10), release: make(chan struct{})}
	lim := ingest.LimitSink(slow, 2, 50*time.Millisecond)
	b, err := stele.ParseEvents([]byte(`{"action":"a"}`), false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lim.Append(context.Background(), b, &stele.Sealed{}); err != nil {
				t.Error(err)
			}
		}()
	}
	<-slow.entered
	<-slow.entered
	// Both slots taken: a third append waits, then is told to come back.
	start := time.Now()
	if err := lim.Append(context.Background(), b, &stele.Sealed{}); !errors.Is(err, ingest.ErrBusy) || !errors.Is(err, stele.ErrUnavailable) {
		t.Fatalf("third append: %v", err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("gave up after %v, before its wait", waited)
	}
	// A slot freed during the wait is taken.
	done := make(chan error, 1)
	go func() { done <- lim.Append(context.Background(), b, &stele.Sealed{}) }()
	slow.release <- struct{}{}
	<-slow.entered
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("append after a slot was freed: %v", err)
	}
	wg.Wait()
}

func TestTokens(t *testing.T) {
	if _, err := ingest.NewTokens([]string{"a", ""}); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("an empty token: %v", err)
	}
	none, _ := ingest.NewTokens(nil)
	two, _ := ingest.NewTokens([]string{"alpha", "beta"})
	if !two.Match("beta") || two.Match("bet") || two.Match("") || none.Match("") {
		t.Fatal("Match")
	}
	for _, c := range []struct {
		tokens ingest.Tokens
		header string
		want   bool
	}{
		{none, "", true}, {two, "", false}, {two, "Bearer alpha", true}, {two, "bearer  beta ", true},
		{two, "Bearer gamma", false}, {two, "Basic alpha", false}, {two, "alpha", false},
	} {
		r, _ := http.NewRequest("POST", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if got := c.tokens.Bearer(r); got != c.want {
			t.Errorf("Bearer(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}
