package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/verify"
)

func cmdReceipt(args []string) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(os.Stderr, "Usage: stele receipt verify FILE --key VKEY\n\nRun 'stele receipt verify -h' for details.\n")
		return 2
	}
	fs := newFlags("receipt verify", "FILE --key VKEY", `
Verify sealed receipts offline: no server, no network. FILE holds one or more
receipts as printed by 'stele append' (NDJSON, or one JSON object); "-" reads
standard input. For each receipt it checks the checkpoint's signature with
VKEY, the inclusion proof of the leaf hash at its seq against the checkpoint's
root, and, when the receipt carries the canonical record, that the record
hashes to the leaf and names the same seq and id.

Exits 0 when every receipt verifies, 1 naming the first that does not.`)
	key := fs.String("key", "", "log verifier key, or @FILE (required)")
	origin := fs.String("origin", "", "expected log origin (default: the key's name)")
	// Accept FILE before or after the flags.
	var file string
	rest := args[1:]
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' || len(rest) > 0 && rest[0] == "-" {
		file, rest = rest[0], rest[1:]
	}
	if code, ok := parse(fs, rest); !ok {
		return code
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" || *key == "" {
		fs.Usage()
		return 2
	}
	vkey, err := readKeyArg(*key)
	if err != nil {
		return fail("%v", err)
	}
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		return fail("verifier key: %v", err)
	}
	in := io.Reader(os.Stdin)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		in = f
	}
	dec := json.NewDecoder(bufio.NewReader(in))
	n := 0
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return fail("%s: receipt %d: not JSON: %v", file, n+1, err)
		}
		var r stele.Receipt
		if err := json.Unmarshal(bytes.TrimSpace(raw), &r); err != nil {
			return fail("%s: receipt %d: %v", file, n+1, err)
		}
		if err := verify.Receipt(&r, *origin, v); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: receipt %d (seq %d, id %s): %v\n", n+1, r.Seq, r.ID, err)
			return 1
		}
		n++
	}
	if n == 0 {
		return fail("%s: no receipts", file)
	}
	fmt.Printf("OK: %d receipt(s) verified\n", n)
	return 0
}
