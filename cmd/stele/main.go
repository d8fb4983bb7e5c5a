// Command stele is an immutable audit log server and its tools.
package main

import (
	"fmt"
	"os"
)

func main() { os.Exit(run(os.Args[1:])) }

// commands maps a subcommand to its entry point, which returns the exit code.
var commands = map[string]func(args []string) int{
	"serve":   cmdServe,
	"append":  cmdAppend,
	"get":     cmdGet,
	"verify":  cmdVerify,
	"receipt": cmdReceipt,
	"bench":   cmdBench,
	"keygen":  cmdKeygen,
	"query":   cmdQuery,
	"tail":    cmdTail,
	"stats":   cmdStats,
	"export":  cmdExport,
	"gen":     cmdGen,
	"reindex": cmdReindex,
}

const usage = `stele: an immutable audit log with signed checkpoints and offline verification.

Usage: stele <command> [flags]

Commands:
  serve     run the server (data in ./stele-data, http://127.0.0.1:7600 by default)
  append    send NDJSON events to a server and print sealed receipts
  get       print one event by seq or id
  verify    verify a data directory offline (--data) or a server remotely (--url)
  receipt   verify a sealed receipt offline (stele receipt verify FILE --key VKEY)
  bench     load-test a server: events/s and ack latency percentiles
  keygen    generate a signing key pair for --key-file
  query     search events: stele query 'actor:alice outcome:failure' --since 24h
  tail      follow new events live: stele tail 'action:iam.*'
  stats     count events by a field or over time: stele stats 'outcome:failure' --by actor
  export    stream every match as NDJSON or CSV: stele export 'QUERY' --format csv > out.csv
  gen       generate a realistic audit workload: stele gen --events 1000000 --url http://127.0.0.1:7600
  reindex   rebuild the search index from the log (server stopped): stele reindex --data DIR

Run 'stele <command> -h' for the flags of a command. See README.md for a tour.
`

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "stele: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(args[1:])
}
