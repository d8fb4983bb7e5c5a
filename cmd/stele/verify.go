package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/storage/local"
	"github.com/stele-log/stele/verify"
)

func cmdVerify(args []string) int {
	flags := newFlags("verify", "--data DIR [--key VKEY] | --url URL --key VKEY [--state FILE]", `
Check that a log is intact and was never rewritten.

--data DIR   offline: re-read every segment frame (CRC-32C), recompute every
             leaf hash and full tile and compare them with the tile files,
             and check every stored checkpoint's signature and root. Exits 1
             naming the first bad file, offset and seq. Safe beside a running
             server.

--url URL    remote, like any tlog-tiles client: fetch the signed checkpoint,
             every entry bundle and hash tile, recompute the tree and check
             the checkpoint. With --state FILE it also proves the log is
             consistent with the checkpoint remembered from the last run (and
             then only fetches what is new): that is how you catch a history
             that was rewritten between two runs.

VKEY is the log's verifier key (key.pub in the data directory, or
"verifier_key" from GET /v1/log); pass it as text or as @FILE.`)
	data := flags.String("data", "", "data directory to verify offline")
	url := flags.String("url", "", "server to verify remotely")
	key := flags.String("key", "", "log verifier key, or @FILE (required with --url; with --data defaults to DIR/key.pub)")
	state := flags.String("state", "", "with --url: file remembering the last verified checkpoint (created if missing)")
	deep := flags.Bool("deep", false, "with --data: also parse every entry strictly and check its seq field")
	if code, ok := parse(flags, args); !ok {
		return code
	}
	vkey, err := readKeyArg(*key)
	if err != nil {
		return fail("%v", err)
	}
	ctx := context.Background()
	switch {
	case *data != "" && *url == "":
		return verifyData(ctx, *data, vkey, *deep)
	case *url != "" && *data == "":
		if vkey == "" {
			return fail("--url needs --key (the verifier_key from GET /v1/log, pinned out of band)")
		}
		return verifyURL(ctx, *url, vkey, *state)
	}
	flags.Usage()
	return 2
}

func verifyData(ctx context.Context, dir, vkey string, deep bool) int {
	bar := newProgress("verifying")
	rep, err := local.Verify(ctx, dir, local.VerifyOptions{
		VerifierKey: vkey,
		Deep:        deep,
		Progress:    func(done, total int64) { bar.update(done, total, "B") },
	})
	bar.done()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	fmt.Printf("OK: %s: %d entries in %d segments; %d signed checkpoints and %d full tiles check out; newest checkpoint: size %d, root %s\n",
		rep.Origin, rep.Entries, rep.Segments, rep.Checkpoints, rep.Tiles, rep.Size, base64.StdEncoding.EncodeToString(rep.Root[:]))
	return 0
}

func verifyURL(ctx context.Context, url, vkey, statePath string) int {
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		return fail("verifier key: %v", err)
	}
	c, err := client.New(url, nil)
	if err != nil {
		return fail("%v", err)
	}
	var prev *verify.State
	if statePath != "" {
		raw, err := os.ReadFile(statePath)
		switch {
		case err == nil:
			prev = new(verify.State)
			if err := json.Unmarshal(raw, prev); err != nil {
				return fail("state file %s: %v", statePath, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fail("%v", err)
		}
	}
	bar := newProgress("fetching")
	st, err := verify.Remote(ctx, c, v.Name(), v, prev, func(done, total uint64) { bar.update(int64(done), int64(total), " entries") })
	bar.done()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	if prev != nil {
		fmt.Printf("OK: %s: size %d (was %d), root %s; consistent with the remembered checkpoint\n", st.Origin, st.Size, prev.Size, base64.StdEncoding.EncodeToString(st.Root[:]))
	} else {
		fmt.Printf("OK: %s: size %d, root %s; every entry and tile recomputed\n", st.Origin, st.Size, base64.StdEncoding.EncodeToString(st.Root[:]))
	}
	if statePath != "" {
		raw, _ := json.MarshalIndent(st, "", "  ")
		tmp := statePath + ".tmp"
		if err := os.WriteFile(tmp, append(raw, '\n'), 0o644); err != nil {
			return fail("write state: %v", err)
		}
		if err := os.Rename(tmp, statePath); err != nil {
			return fail("write state: %v", err)
		}
	}
	return 0
}

// readKeyArg accepts a verifier key as text or as @FILE.
func readKeyArg(arg string) (string, error) {
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		raw, err := os.ReadFile(filepath.Clean(name))
		if err != nil {
			return "", fmt.Errorf("--key: %w", err)
		}
		return strings.TrimSpace(string(raw)), nil
	}
	if arg != "" && !strings.Contains(arg, "+") {
		if raw, err := os.ReadFile(arg); err == nil {
			return strings.TrimSpace(string(raw)), nil // a bare file name works too
		}
	}
	return strings.TrimSpace(arg), nil
}
