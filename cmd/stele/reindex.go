package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stele-log/stele/storage/local"
)

func cmdReindex(args []string) int {
	fs := newFlags("reindex", "--data DIR", `
Rebuild the search index of a data directory from its log. The index
(DIR/index/search) is derived data: the sealed log is the authority, so the
index can always be thrown away and rebuilt, and a damaged chunk file is
rebuilt by itself at the next start. Use reindex after upgrading to a version
with a new index format, or to rebuild everything ahead of time instead of in
the background.

Stop the server first: reindex takes the data directory's lock.

Example:
  stele reindex --data ./stele-data`)
	data := fs.String("data", "./stele-data", "data directory of a stopped server")
	keep := fs.Bool("keep", false, "keep the valid chunk files and index only what is missing (default: rebuild everything)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fail("reindex takes no arguments (got %q); use --data DIR", fs.Args())
	}
	if _, err := os.Stat(*data); err != nil {
		return fail("--data %s: %v", *data, err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	logger, _ := newLogger("warn", "text")
	lg, err := local.Open(ctx, *data, local.Options{Logger: logger})
	if err != nil {
		return fail("open the log in %s: %v", *data, err)
	}
	defer lg.Close()
	if !*keep {
		if err := os.RemoveAll(indexDir(*data)); err != nil {
			return fail("remove the old index: %v", err)
		}
	}
	idx, err := openIndex(ctx, *data, lg, logger)
	if err != nil {
		return fail("open the index in %s: %v", indexDir(*data), err)
	}
	start := time.Now()
	from := idx.Covered()
	bar := newProgress("indexing")
	err = idx.CatchUp(ctx, lg, func(covered, target uint64) {
		bar.update(int64(covered-from), int64(target-from), "ev")
	})
	bar.done()
	if err == nil {
		err = idx.Flush()
	}
	st := idx.Stats()
	if cerr := idx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail("reindex stopped at seq %d: %v (run it again to continue with --keep)", st.Events, err)
	}
	took := time.Since(start)
	fmt.Printf("indexed %d events (%d new) in %s (%s): %d chunk files, %s on disk\n",
		st.Events, st.Events-from, took.Round(time.Millisecond), humanRate(float64(st.Events-from)/took.Seconds(), "ev"),
		st.Chunks, humanBytes(st.DiskBytes))
	return 0
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
