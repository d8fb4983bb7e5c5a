package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scratch is this test run's private directory; it holds the built binary.
var scratch string

// build holds the stele binary, built on first use: fuzz workers and runs
// that select no server test never pay for the build.
var build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stele-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// steleBinary returns the path of the stele binary, building it once.
func steleBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildStele(scratch) })
	if build.err != nil {
		t.Fatalf("build stele: %v", build.err)
	}
	return build.path
}

// buildStele runs `go build -o DIR/stele ./cmd/stele` from the module root.
func buildStele(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(dir, "stele")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/stele")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/stele: %v\n%s", err, out)
	}
	return bin, nil
}

// startTimeout bounds how long a server may take to recover and listen.
const startTimeout = 60 * time.Second

// server is one `stele serve` child process.
type server struct {
	t       testing.TB
	dir     string
	cmd     *exec.Cmd
	out     *serveLog // stdout and stderr
	url     string
	vkey    string
	started time.Duration // from exec to the "stele serving" line
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startServer runs `stele serve --data dir --listen 127.0.0.1:0 extra...`
// (extra may carry its own --listen) and waits until the server logs that it
// is serving. It fails the test if the server exits or takes too long.
func startServer(t testing.TB, dir string, extra ...string) *server {
	t.Helper()
	s, err := launchServer(t, dir, extra...)
	if err != nil {
		t.Fatalf("stele serve --data %s: %v", dir, err)
	}
	return s
}

// launchServer is startServer that returns an error, with the server's
// output, when it exits before serving.
func launchServer(t testing.TB, dir string, extra ...string) (*server, error) {
	t.Helper()
	args := []string{"serve", "--data", dir}
	if !slices.Contains(extra, "--listen") {
		args = append(args, "--listen", "127.0.0.1:0")
	}
	args = append(args, extra...)
	s := &server{t: t, dir: dir, out: newServeLog(), exited: make(chan struct{})}
	s.cmd = exec.Command(steleBinary(t), args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	begin := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("output of stele %s:\n%s", strings.Join(args, " "), s.out.String())
		}
	})
	select {
	case <-s.out.serving:
		s.url, s.vkey = s.out.url, s.out.vkey
		s.started = time.Since(begin)
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("exited with status %d before serving; output:\n%s", s.exitCode(), s.out.String())
	case <-time.After(startTimeout):
		s.kill()
		return nil, fmt.Errorf("not serving after %v; output:\n%s", startTimeout, s.out.String())
	}
}

// crashDuringStart starts `stele serve` on dir like startServer, but
// SIGKILLs it after delay whether or not it has finished recovering. It
// reports whether the server was already serving.
func crashDuringStart(t testing.TB, dir string, delay time.Duration, extra ...string) bool {
	t.Helper()
	out := newServeLog()
	cmd := exec.Command(steleBinary(t), append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("stele serve exited by itself (%v) before the SIGKILL %v after start; output:\n%s", err, delay, out.String())
	}
	select {
	case <-out.serving:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (if the process still runs) and waits for it to exit.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits up to limit for the process to exit. It
// returns the exit status and how long the exit took; it fails the test
// (after a SIGKILL) if the process outlives limit.
func (s *server) stop(limit time.Duration) (code int, took time.Duration) {
	s.t.Helper()
	begin := time.Now()
	select {
	case <-s.exited:
		s.t.Fatalf("stele serve exited with status %d before it was asked to stop", s.exitCode())
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
		return s.exitCode(), time.Since(begin)
	case <-time.After(limit):
		s.kill()
		s.t.Fatalf("stele serve did not exit within %v of SIGTERM", limit)
		return -1, 0
	}
}

// exitCode is the exit status after exited is closed (-1: killed by a signal).
func (s *server) exitCode() int {
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		return ee.ExitCode()
	}
	if s.waitErr != nil {
		return -1
	}
	return 0
}

// serveLog collects a server's output and watches it for the line
//
//	... msg="stele serving" url=http://127.0.0.1:PORT verifier_key=...
//
// that `stele serve` logs once it listens.
type serveLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int // bytes of buf already split into lines
	serving chan struct{}
	url     string
	vkey    string
}

func newServeLog() *serveLog { return &serveLog{serving: make(chan struct{})} }

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for l.url == "" {
		rest := l.buf.Bytes()[l.scanned:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		l.scanned += nl + 1
		if url, vkey, ok := parseServingLine(string(rest[:nl])); ok {
			l.url, l.vkey = url, vkey
			close(l.serving)
		}
	}
	return len(p), nil
}

func (l *serveLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// parseServingLine recognises the slog text line that announces the server's
// URL and returns its url and verifier_key attributes.
func parseServingLine(line string) (url, vkey string, ok bool) {
	attrs, err := parseLogfmt(line)
	if err != nil || attrs["msg"] != "stele serving" || attrs["url"] == "" {
		return "", "", false
	}
	return attrs["url"], attrs["verifier_key"], true
}

// parseLogfmt splits one line of log/slog's text format into its attributes:
// space-separated key=value pairs whose value is either bare (no spaces, no
// quotes) or a Go-quoted string. A repeated key keeps its first value.
func parseLogfmt(line string) (map[string]string, error) {
	attrs := make(map[string]string)
	for rest := line; ; {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return attrs, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || strings.ContainsAny(rest[:eq], " \"") {
			return nil, fmt.Errorf("no key=value at %q", rest)
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := quotedEnd(rest)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted value for %s", key)
			}
			v, err := strconv.Unquote(rest[:end])
			if err != nil {
				return nil, fmt.Errorf("value of %s: %v", key, err)
			}
			val, rest = v, rest[end:]
			if rest != "" && rest[0] != ' ' {
				return nil, fmt.Errorf("junk after the quoted value of %s", key)
			}
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				sp = len(rest)
			}
			val, rest = rest[:sp], rest[sp:]
			if strings.Contains(val, `"`) {
				return nil, fmt.Errorf("bare value of %s contains a quote", key)
			}
		}
		if _, dup := attrs[key]; !dup {
			attrs[key] = val
		}
	}
}

// quotedEnd returns the index just past the closing quote of the Go string
// literal that s starts with, or -1.
func quotedEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// cliResult is what one run of the stele CLI produced.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runStele runs the stele CLI with args and stdin (nil for none).
func runStele(t testing.TB, stdin []byte, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, steleBinary(t), args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		res.code = ee.ExitCode()
	default:
		t.Fatalf("stele %s: %v\nstderr:\n%s", strings.Join(args, " "), err, res.stderr)
	}
	return res
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t testing.TB, stdin []byte, args ...string) cliResult {
	t.Helper()
	res := runStele(t, stdin, args...)
	if res.code != 0 {
		t.Fatalf("stele %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}
