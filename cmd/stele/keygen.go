package main

import (
	"fmt"
	"os"

	"github.com/stele-log/stele/checkpoint"
)

func cmdKeygen(args []string) int {
	fs := newFlags("keygen", "--origin ORIGIN --out FILE", `
Generate an Ed25519 signing key for a log, as a note private key named after
the origin. Writes FILE (mode 0600) and FILE.pub (the verifier key to give to
auditors and to 'stele verify --key'). Use FILE with 'stele serve --key-file'.`)
	origin := fs.String("origin", "", "the log's origin (required); the key is named after it")
	out := fs.String("out", "", "private key file to create (required; must not exist)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *origin == "" || *out == "" {
		fs.Usage()
		return 2
	}
	skey, vkey, err := checkpoint.GenerateKey(*origin)
	if err != nil {
		return fail("%v", err)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := fmt.Fprintln(f, skey); err != nil {
		f.Close()
		return fail("%v", err)
	}
	if err := f.Close(); err != nil {
		return fail("%v", err)
	}
	if err := os.WriteFile(*out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return fail("%v", err)
	}
	fmt.Printf("wrote %s (private, keep it secret) and %s.pub:\n%s\n", *out, *out, vkey)
	return 0
}
