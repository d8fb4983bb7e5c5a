package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
	"github.com/stele-log/stele/verify"
)

func TestClientAgainstServer(t *testing.T) {
	ctx := context.Background()
	l, err := local.Open(ctx, "/d", local.Options{Origin: "client.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := httptest.NewServer(api.New(api.Config{Log: l}))
	defer srv.Close()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Append(ctx, []byte(`{"action":"a.b","id":"x1"}`+"\n"+`{"action":"c.d"}`), true, true)
	if err != nil || len(resp.Events) != 2 || len(resp.Events[1].InclusionProof) != 1 {
		t.Fatalf("Append: %+v %v", resp, err)
	}
	entry, err := c.Entry(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	byID, err := c.EntryByID(ctx, "x1")
	if err != nil || string(byID) == string(entry) {
		t.Fatalf("EntryByID: %s %v", byID, err)
	}
	page, err := c.Events(ctx, -1, 10)
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("Events: %+v %v", page, err)
	}
	info, err := c.Log(ctx)
	if err != nil || info.Size != 2 {
		t.Fatalf("Log: %+v %v", info, err)
	}
	if _, err := c.Entry(ctx, 9); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("missing entry: %v, want ErrNotFound across the wire", err)
	}
	if _, err := c.Append(ctx, []byte(`{"action":"NOPE"}`), false, false); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("invalid event: %v, want ErrInvalid", err)
	}
	// The client is a verify.Fetcher: a remote audit through it passes.
	var f verify.Fetcher = c
	if _, err := f.Fetch(ctx, "checkpoint"); err != nil {
		t.Fatal(err)
	}
}

func TestRetriesOnlyRefusedRequests(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInsufficientStorage)
			w.Write([]byte(`{"error":"disk full"}`))
			return
		}
		w.Write([]byte(`{"size":1,"root_hash":"","checkpoint":"","events":[]}`))
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, nil)
	if _, err := c.Append(context.Background(), []byte(`{}`), false, false); err != nil {
		t.Fatalf("Append after two 507s: %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", calls.Load())
	}
	c.Retries = 0
	calls.Store(0)
	_, err := c.Append(context.Background(), []byte(`{}`), false, false)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 507 || ce.Message != "disk full" || !errors.Is(err, stele.ErrDiskFull) {
		t.Fatalf("no retries: %v", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:7600", "ftp://x", "http://"} {
		if _, err := client.New(u, nil); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}
