package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/client"
)

func cmdAppend(args []string) int {
	fs := newFlags("append", "[flags] [FILE]", `
Send events to a stele server and print one sealed receipt per event.

Events are read as NDJSON (one JSON object per line) from FILE, or from
standard input when FILE is absent or "-". They are sent in batches; a batch
is all or nothing, and an invalid event stops the run with its line number.

Each receipt (NDJSON on standard output) holds the event's seq, id, leaf hash
and a C2SP tlog-proof: its inclusion proof plus the signed checkpoint. Keep
them: 'stele receipt verify FILE --key VKEY' checks them offline, forever.

Example:
  echo '{"action":"user.login","actor":{"id":"alice"},"outcome":"success"}' | stele append > receipts.ndjson`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	batch := fs.Int("batch", 1000, "events per request")
	proof := fs.Bool("proof", true, "ask for inclusion proofs so every receipt verifies offline")
	withEntry := fs.Bool("entry", false, "fetch each event's canonical record into its receipt (one extra request per event)")
	out := fs.String("out", "-", "write receipts to this file instead of standard output")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *batch < 1 {
		return fail("--batch must be at least 1")
	}
	in := io.Reader(os.Stdin)
	name := "stdin"
	if fs.NArg() > 1 {
		return fail("append takes at most one FILE")
	}
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		in, name = f, p
	}
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		w = f
	}
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()

	ctx := context.Background()
	start := time.Now()
	var (
		body      []byte
		lines     []int // input line number of each event in body
		lineNo    int
		sent, dup int
		lastSize  uint64
	)
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		resp, err := c.Append(ctx, body, true, *proof)
		if err != nil {
			var ee *client.Error
			if errors.As(err, &ee) && errors.Is(err, stele.ErrInvalid) {
				return fmt.Errorf("%s: batch of lines %d-%d rejected, nothing from it was appended: %w", name, lines[0], lines[len(lines)-1], err)
			}
			return err
		}
		if len(resp.Events) != len(lines) {
			return fmt.Errorf("server acknowledged %d events for a batch of %d", len(resp.Events), len(lines))
		}
		for _, ev := range resp.Events {
			rec, err := receiptFor(ctx, c, resp, ev, *withEntry)
			if err != nil {
				return err
			}
			if err := writeJSONLine(bw, rec); err != nil {
				return err
			}
			if ev.Duplicate {
				dup++
			}
		}
		sent += len(lines)
		lastSize = resp.Size
		body, lines = body[:0], lines[:0]
		return nil
	}

	r := bufio.NewReaderSize(in, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
				body = append(append(body, trimmed...), '\n')
				lines = append(lines, lineNo)
				if len(lines) >= *batch || len(body) >= 32<<20 {
					if ferr := flush(); ferr != nil {
						return fail("%v", ferr)
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail("read %s: %v", name, err)
		}
	}
	if err := flush(); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(os.Stderr, "appended %d events (%d duplicates) in %v; log size %d\n", sent-dup, dup, time.Since(start).Round(time.Millisecond), lastSize)
	return 0
}

// receiptFor builds the sealed receipt of one acknowledged event.
func receiptFor(ctx context.Context, c *client.Client, resp *api.AppendResponse, ev api.AppendedEvent, withEntry bool) (stele.Receipt, error) {
	leaf, err := decodeHash(ev.LeafHash)
	if err != nil {
		return stele.Receipt{}, fmt.Errorf("server sent a bad leaf hash: %w", err)
	}
	var proof [][32]byte
	for _, p := range ev.InclusionProof {
		h, err := decodeHash(p)
		if err != nil {
			return stele.Receipt{}, fmt.Errorf("server sent a bad proof hash: %w", err)
		}
		proof = append(proof, h)
	}
	var entry []byte
	if withEntry {
		if entry, err = c.Entry(ctx, ev.Seq); err != nil {
			return stele.Receipt{}, err
		}
	}
	return stele.NewReceipt(ev.Seq, ev.ID, leaf, proof, []byte(resp.Checkpoint), entry), nil
}

func decodeHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%q is not a base64 SHA-256 hash", s)
	}
	copy(h[:], b)
	return h, nil
}
