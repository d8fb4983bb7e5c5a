// Package e2e tests stele end to end, as its users meet it: the real
// `stele` binary runs as a child process on real files and real sockets
// (127.0.0.1 only), and the tests talk to it over HTTP and through its CLI.
//
// It owns the claims that no in-process test can make: that a server killed
// with SIGKILL under load comes back by itself with every acknowledged event
// and every handed-out checkpoint intact; that SIGTERM drains and exits 0;
// that a real full file system answers 507 and loses nothing; that an
// independent tlog-tiles client (golang.org/x/mod/sumdb/tlog) verifies what
// stele serves; and that the tamper checks of the README tour catch what
// they promise to catch.
//
// The package has no non-test code besides this comment. The binary is
// built once per test run, on first use, with `go build ./cmd/stele` from
// the module root.
package e2e
