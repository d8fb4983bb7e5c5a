package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/stele-log/stele/client"
)

func cmdGet(args []string) int {
	fs := newFlags("get", "[flags] SEQ | --id ID", `
Print one event (its canonical record, exactly the bytes that were sealed).

Examples:
  stele get 42
  stele get --id 0193a1c2-...   (the id from a receipt, or your own idempotency key)
  stele get --pretty 42`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	id := fs.String("id", "", "look the event up by id instead of seq")
	pretty := fs.Bool("pretty", false, "indent the JSON (the sealed bytes are the compact form)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	ctx := context.Background()
	var rec []byte
	switch {
	case *id != "" && fs.NArg() == 0:
		rec, err = c.EntryByID(ctx, *id)
	case *id == "" && fs.NArg() == 1:
		seq, perr := strconv.ParseUint(fs.Arg(0), 10, 64)
		if perr != nil {
			return fail("SEQ %q is not a non-negative integer", fs.Arg(0))
		}
		rec, err = c.Entry(ctx, seq)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		return fail("%v", err)
	}
	if *pretty {
		var b bytes.Buffer
		if json.Indent(&b, rec, "", "  ") == nil {
			rec = b.Bytes()
		}
	}
	fmt.Fprintf(os.Stdout, "%s\n", rec)
	return 0
}
