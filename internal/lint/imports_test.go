// Package lint holds tests that keep the code base's shape: data flows one
// way (ingest → sequencer → sealed log → index → query → API/CLI), so
// imports may only point down that flow.
package lint

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/stele-log/stele"

// forbidden lists, for each package (directory relative to the module
// root), the module packages it must not import, as prefixes. "*" forbids
// every module package except the ones in allowed.
var rules = []struct {
	pkg       string
	forbidden []string
	allowed   []string
}{
	// Leaves: formats and seams that import nothing from stele.
	{pkg: "segment", forbidden: []string{"*"}},
	{pkg: "checkpoint", forbidden: []string{"*"}},
	{pkg: "tiles", forbidden: []string{"*"}},
	{pkg: "internal/fsx", forbidden: []string{"*"}},
	{pkg: "internal/jcs", forbidden: []string{"*"}},
	// The root API imports no driver, server or client.
	{pkg: ".", forbidden: []string{"*"}, allowed: []string{"checkpoint", "tiles", "internal/jcs"}},
	// verify must be usable by any client: no storage, no server.
	{pkg: "verify", forbidden: []string{"*"}, allowed: []string{".", "checkpoint", "tiles", "internal/jcs"}},
	// Storage sits below the API.
	{pkg: "storage/local", forbidden: []string{"api", "client", "cmd", "bench", "verify"}},
	{pkg: "index/ids", forbidden: []string{"storage", "api", "client", "cmd", "bench"}},
	// The API declares what it consumes; it never names a driver.
	{pkg: "api", forbidden: []string{"storage", "cmd", "client", "bench"}},
	{pkg: "client", forbidden: []string{"storage", "cmd", "bench", "index"}},
	{pkg: "bench", forbidden: []string{"storage", "cmd", "index", "api"}},
	// Intake adapters map protocols into events and hand them to a Sink;
	// they know nothing of storage, search or the API server.
	{pkg: "ingest", forbidden: []string{"storage", "index", "query", "api", "client", "cmd", "bench"}},
}

func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		dir := filepath.Join(root, r.pkg)
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(files) == 0 {
			t.Errorf("%s: no Go files (rule out of date?)", r.pkg)
			continue
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if path != module && !strings.HasPrefix(path, module+"/") {
					continue
				}
				rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
				if rel == "" {
					rel = "."
				}
				if violates(rel, r.forbidden, r.allowed) {
					t.Errorf("%s imports %s, against the data flow (see shared STYLE: arrows only point down)", filepath.Join(r.pkg, filepath.Base(f)), rel)
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
}

func violates(rel string, forbidden, allowed []string) bool {
	for _, a := range allowed {
		if rel == a {
			return false
		}
	}
	for _, f := range forbidden {
		if f == "*" || rel == f || strings.HasPrefix(rel, f+"/") {
			return true
		}
	}
	return false
}
