package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/client"
)

const queryHelp = `QUERY uses the GitHub audit log convention: space-separated qualifiers,
all of which must match. See docs/query.md for the whole grammar.

  actor:alice action:user.login outcome:failure
  action:db.*                       prefix wildcard
  outcome:failure,denied            either value
  -action:db.read                   negation
  actor.name:"Alice Smith"          quoting
  ip:10.0.0.0/8                     CIDR on actor.ip or source.ip
  seq:>1000   time:>=2026-11-01   time:2026-11-01..2026-11-02
  attributes.region:eu-west-1       any attribute path
  timeout   "connection refused"    free text in the message and string values`

func searchFlags(name, synopsis, desc string) (*flagSet, *client.SearchParams) {
	fs := newFlags(name, synopsis, desc+"\n\n"+queryHelp)
	p := &client.SearchParams{}
	fs.StringVar(&p.Since, "since", "", "only events at or after this time: a duration back from now (90m, 24h, 7d) or a date/time (2026-11-01)")
	fs.StringVar(&p.Until, "until", "", "only events before this time (same forms as --since)")
	return &flagSet{fs}, p
}

// parseQueryArgs parses flags that may come before or after the one QUERY
// argument (stele query 'outcome:failure' --since 24h), and returns it ("" when
// absent: every event).
func parseQueryArgs(fs *flagSet, args []string) (string, int, bool) {
	var query []string
	// A query may start with '-' (a negation): an argument that looks like
	// a flag but names none is the query (-- works too).
	var rest []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && a != "-" && a != "--" && fs.Lookup(name) == nil && name != "h" && name != "help" {
			query = append(query, a)
			continue
		}
		rest = append(rest, a)
	}
	args = rest
	for {
		if code, ok := parse(fs.FlagSet, args); !ok {
			return "", code, false
		}
		if fs.NArg() == 0 {
			break
		}
		query = append(query, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(query) > 1 {
		fmt.Fprintf(os.Stderr, "stele %s: got %d query arguments %q: put the query in one quoted argument, e.g. 'actor:alice outcome:failure'\n", fs.Name(), len(query), query)
		return "", 2, false
	}
	if len(query) == 0 {
		return "", 0, true
	}
	return query[0], 0, true
}

func cmdQuery(args []string) int {
	fs, p := searchFlags("query", "[flags] 'QUERY'", `
Search the log and print the matching events, newest first.`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	format := fs.String("format", "table", "output: table, json (one page with the signed checkpoint and cursor, on one line; records byte for byte as sealed), ndjson or csv")
	limit := fs.Int("limit", 50, "events to print (0: all of them, paging through every result)")
	asc := fs.Bool("asc", false, "oldest first")
	proof := fs.Bool("proof", false, "with --format json: include each hit's inclusion proof against the page's checkpoint")
	qtext, code, ok := parseQueryArgs(fs, args)
	if !ok {
		return code
	}
	p.Query, p.Asc, p.Proof = qtext, *asc, *proof
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *format == "json" {
		p.Limit = *limit
		if p.Limit == 0 {
			p.Limit = 10000
		}
		page, err := c.Search(ctx, *p)
		if err != nil {
			return fail("%v", err)
		}
		// One line, no HTML escaping: the events must stay byte for byte
		// the sealed records, or their leaf hashes (and proofs) break.
		if err := writeJSONLine(os.Stdout, page); err != nil {
			return fail("%v", err)
		}
		return 0
	}
	var out rowWriter
	switch *format {
	case "table":
		out = newTableWriter(os.Stdout)
	case "ndjson":
		out = ndjsonWriter{bufio.NewWriter(os.Stdout)}
	case "csv":
		out = newCSVWriter(os.Stdout)
	default:
		return fail("--format %q: want table, json, ndjson or csv", *format)
	}
	defer out.Close()
	n := 0
	for {
		p.Limit = 1000
		if *limit > 0 {
			p.Limit = min(1000, *limit-n)
		}
		page, err := c.Search(ctx, *p)
		if err != nil {
			out.Close()
			return fail("%v", err)
		}
		for _, ev := range page.Events {
			if err := out.Write(ev); err != nil {
				return fail("%v", err)
			}
			n++
		}
		if page.NextCursor == "" || (*limit > 0 && n >= *limit) {
			break
		}
		p.Cursor = page.NextCursor
	}
	if n == 0 && *format == "table" {
		fmt.Fprintln(os.Stderr, "no matching events")
	}
	return 0
}

func cmdExport(args []string) int {
	fs, p := searchFlags("export", "[flags] 'QUERY' > FILE", `
Export every event matching QUERY, streamed (nothing is buffered on either
side), oldest first. Progress goes to standard error on a terminal.

Example:
  stele export 'category:authentication outcome:failure' --since 7d --format csv > failed-logins.csv`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	format := fs.String("format", "ndjson", "ndjson (canonical records, one per line) or csv")
	out := fs.String("out", "-", "write to this file instead of standard output")
	qtext, code, ok := parseQueryArgs(fs, args)
	if !ok {
		return code
	}
	p.Query, p.Format, p.Asc = qtext, *format, true
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	body, err := c.Export(ctx, *p)
	if err != nil {
		return fail("%v", err)
	}
	defer body.Close()
	w := io.Writer(os.Stdout)
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		w = f
	}
	bar := newProgress("exporting")
	var lines int64
	start := time.Now()
	cw := &countingWriter{w: w, onLine: func() {
		lines++
		if lines%1000 == 0 {
			bar.update(lines, 0, " rows")
		}
	}}
	if _, err := io.Copy(cw, body); err != nil {
		bar.done()
		return fail("export interrupted after %d rows: %v", lines, err)
	}
	bar.done()
	if msg := cw.streamError(); msg != "" {
		return fail("export incomplete: the server stopped after %d rows: %s", lines, msg)
	}
	if *format == "csv" && lines > 0 {
		lines-- // header
	}
	fmt.Fprintf(os.Stderr, "exported %d events in %v\n", lines, time.Since(start).Round(time.Millisecond))
	return 0
}

// countingWriter counts newlines on their way through.
type countingWriter struct {
	w      io.Writer
	onLine func()
	tail   []byte // the last bytes written, to spot the server's error marker
}

func (c *countingWriter) Write(b []byte) (int, error) {
	for _, ch := range b {
		if ch == '\n' {
			c.onLine()
		}
	}
	c.tail = append(c.tail, b...)
	if len(c.tail) > 4096 {
		c.tail = c.tail[len(c.tail)-4096:]
	}
	return c.w.Write(b)
}

// streamError returns the error the server appended to a stream that failed
// midway ("\n# error: ...\n", api.Server.export), or "".
func (c *countingWriter) streamError() string {
	i := bytes.LastIndex(c.tail, []byte("\n# error: "))
	if i < 0 {
		return ""
	}
	msg := c.tail[i+len("\n# error: "):]
	if bytes.IndexByte(bytes.TrimSuffix(msg, []byte("\n")), '\n') >= 0 {
		return "" // not the stream's last line: data that happens to look like it
	}
	return strings.TrimSpace(string(msg))
}

func cmdStats(args []string) int {
	fs, p := searchFlags("stats", "'QUERY' --by FIELD [--interval 1h] [flags]", `
Count the events matching QUERY by the values of a field, and/or over time.

Examples:
  stele stats 'category:authentication' --by outcome --since 24h
  stele stats 'outcome:failure' --by actor --top 20 --since 7d
  stele stats 'action:user.login' --interval 1h --since 24h`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	by := fs.String("by", "", "field to count values of (action, outcome, actor, actor.ip, attributes.region, ...)")
	top := fs.Int("top", 10, "how many values to show")
	interval := fs.String("interval", "", "histogram bucket width (15m, 1h, 1d)")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	qtext, code, ok := parseQueryArgs(fs, args)
	if !ok {
		return code
	}
	p.Query = qtext
	if *by == "" && *interval == "" {
		return fail("stats needs --by FIELD and/or --interval DURATION")
	}
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	st, err := c.Stats(context.Background(), *p, *by, *top, *interval)
	if err != nil {
		return fail("%v", err)
	}
	if *asJSON {
		out, _ := json.MarshalIndent(st, "", "  ")
		fmt.Printf("%s\n", out)
		return 0
	}
	fmt.Printf("%d matching events (log size %d)\n", st.Total, st.Size)
	if st.By != "" {
		fmt.Printf("\n%s\n", st.By)
		maxCount := uint64(1)
		for _, v := range st.Values {
			maxCount = max(maxCount, v.Count)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		for _, v := range st.Values {
			fmt.Fprintf(tw, "  %s\t%d\t %s\n", v.Value, v.Count, bar(v.Count, maxCount, 40))
		}
		if st.Others > 0 {
			fmt.Fprintf(tw, "  (others)\t%d\t\n", st.Others)
		}
		if st.Missing > 0 {
			fmt.Fprintf(tw, "  (no %s)\t%d\t\n", st.By, st.Missing)
		}
		tw.Flush()
	}
	if len(st.Buckets) > 0 {
		fmt.Printf("\nper %s\n", st.Interval)
		maxCount := uint64(1)
		for _, b := range st.Buckets {
			maxCount = max(maxCount, b.Count)
		}
		for _, b := range st.Buckets {
			fmt.Printf("  %s  %8d  %s\n", b.Start.Format("2006-01-02 15:04"), b.Count, bar(b.Count, maxCount, 40))
		}
	}
	return 0
}

func bar(n, maxN uint64, width int) string {
	return strings.Repeat("█", int(n*uint64(width)/maxN))
}

func cmdTail(args []string) int {
	fs := &flagSet{newFlags("tail", "[flags] ['QUERY']", `
Follow the log live and print new events matching QUERY as they are sealed
(Ctrl-C to stop). It reconnects by itself and resumes where it left off.
To look back first, use --from-seq, or 'stele query' for a time window.`+"\n\n"+queryHelp)}
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	format := fs.String("format", "table", "output: table or ndjson")
	from := fs.Int64("from-seq", -1, "start at this seq instead of with the next new event")
	qtext, code, ok := parseQueryArgs(fs, args)
	if !ok {
		return code
	}
	c, err := client.New(*url, nil)
	if err != nil {
		return fail("%v", err)
	}
	var out rowWriter
	switch *format {
	case "table":
		out = newTableWriter(os.Stdout)
		out.(*tableWriter).live = true
	case "ndjson":
		out = ndjsonWriter{bufio.NewWriter(os.Stdout)}
	default:
		return fail("--format %q: want table or ndjson", *format)
	}
	defer out.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = c.Tail(ctx, qtext, *from, func(_ uint64, entry []byte) error {
		if err := out.Write(entry); err != nil {
			return err
		}
		return out.Flush()
	})
	if err != nil && ctx.Err() == nil {
		return fail("%v", err)
	}
	return 0
}

// rowWriter prints records in one output format.
type rowWriter interface {
	Write(entry []byte) error
	Flush() error
	Close() error
}

type ndjsonWriter struct{ w *bufio.Writer }

func (n ndjsonWriter) Write(entry []byte) error {
	n.w.Write(entry)
	return n.w.WriteByte('\n')
}
func (n ndjsonWriter) Flush() error { return n.w.Flush() }
func (n ndjsonWriter) Close() error { return n.w.Flush() }

type csvWriter struct {
	w   *csv.Writer
	row []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	c := &csvWriter{w: csv.NewWriter(w)}
	c.w.Write(api.CSVHeader)
	return c
}

func (c *csvWriter) Write(entry []byte) error {
	var err error
	if c.row, err = api.CSVRow(c.row[:0], entry); err != nil {
		return err
	}
	return c.w.Write(c.row)
}
func (c *csvWriter) Flush() error { c.w.Flush(); return c.w.Error() }
func (c *csvWriter) Close() error { return c.Flush() }

// tableWriter prints one aligned line per event, for people.
type tableWriter struct {
	tw     *tabwriter.Writer
	header bool
	live   bool
}

func newTableWriter(w io.Writer) *tableWriter {
	return &tableWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
}

func (t *tableWriter) Write(entry []byte) error {
	if !t.header {
		fmt.Fprintln(t.tw, "SEQ\tTIME\tACTION\tOUTCOME\tACTOR\tIP\tRESOURCE\tMESSAGE")
		t.header = true
	}
	rec, err := stele.ParseRecord(entry)
	if err != nil {
		return err
	}
	actor, ip, resource := "", "", ""
	if rec.Actor != nil {
		actor, ip = rec.Actor.ID, rec.Actor.IP
		if actor == "" {
			actor = rec.Actor.Name
		}
	}
	if ip == "" && rec.Source != nil {
		ip = rec.Source.IP
	}
	if rec.Resource != nil {
		resource = strings.Trim(rec.Resource.Type+":"+rec.Resource.ID, ":")
	}
	msg := rec.Message
	if len(msg) > 60 {
		msg = msg[:57] + "..."
	}
	fmt.Fprintf(t.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rec.Seq, rec.Time.Format("2006-01-02 15:04:05"), rec.Action, rec.Outcome, actor, ip, resource, msg)
	if t.live {
		return t.tw.Flush()
	}
	return nil
}
func (t *tableWriter) Flush() error { return t.tw.Flush() }
func (t *tableWriter) Close() error { return t.tw.Flush() }
