package gen_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/gen"
)

// stream returns n events of opts as NDJSON.
func stream(opts gen.Options, n int) []byte {
	return gen.New(opts).AppendNDJSON(nil, n)
}

func lines(body []byte) [][]byte {
	return bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
}

func TestDeterministic(t *testing.T) {
	opts := gen.Options{Seed: 7, Actors: 2000, Days: 10, Events: 30000, IDs: true}
	want := stream(opts, 30000)
	if got := stream(opts, 30000); !bytes.Equal(got, want) {
		t.Fatal("two generators with the same options differ")
	}
	// Independent of GOMAXPROCS and of other generators running at once.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = stream(opts, 30000) }()
	}
	wg.Wait()
	runtime.GOMAXPROCS(4)
	for i, g := range got {
		if !bytes.Equal(g, want) {
			t.Fatalf("generator %d (GOMAXPROCS 1, concurrent) differs", i)
		}
	}
	if got := stream(opts, 30000); !bytes.Equal(got, want) {
		t.Fatal("GOMAXPROCS 4 differs")
	}

	for _, c := range []struct {
		name string
		opts gen.Options
	}{
		{"seed", gen.Options{Seed: 8, Actors: 2000, Days: 10, Events: 30000, IDs: true}},
		{"actors", gen.Options{Seed: 7, Actors: 2001, Days: 10, Events: 30000, IDs: true}},
		{"days", gen.Options{Seed: 7, Actors: 2000, Days: 11, Events: 30000, IDs: true}},
		{"events", gen.Options{Seed: 7, Actors: 2000, Days: 10, Events: 30001, IDs: true}},
		{"ids", gen.Options{Seed: 7, Actors: 2000, Days: 10, Events: 30000}},
		{"end", gen.Options{Seed: 7, Actors: 2000, Days: 10, Events: 30000, IDs: true, End: gen.DefaultEnd().Add(time.Hour)}},
	} {
		if bytes.Equal(stream(c.opts, 1000), want[:len(stream(c.opts, 1000))]) {
			t.Errorf("%s: changing it does not change the stream", c.name)
		}
	}
}

// TestGolden pins the default workload's bytes, so that a change to the
// model is a deliberate one: regenerate with STELE_UPDATE_GOLDEN=1.
func TestGolden(t *testing.T) {
	body := stream(gen.Options{Seed: 1, Events: 200000}, 200000)
	sum := sha256.Sum256(body)
	got := "first 200000 events of seed 1, plan 200000: sha256 " + hex.EncodeToString(sum[:]) + "\n" +
		string(body[:bytes.IndexByte(body, '\n')+1])
	path := filepath.Join("testdata", "golden.txt")
	if os.Getenv("STELE_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("workload changed:\n got %s\nwant %s\n(STELE_UPDATE_GOLDEN=1 regenerates the file if the change is intended)", got, want)
	}
}

func TestEveryEventParses(t *testing.T) {
	for _, c := range []struct {
		name string
		opts gen.Options
		n    int
	}{
		{"default", gen.Options{Seed: 1, Events: 60000}, 60000},
		{"ids", gen.Options{Seed: 2, Events: 20000, IDs: true}, 20000},
		{"one actor", gen.Options{Seed: 3, Actors: 1, Days: 1, Events: 2000}, 2000},
		{"two actors", gen.Options{Seed: 4, Actors: 2, Days: 1, Events: 2000}, 2000},
		{"one event", gen.Options{Seed: 5, Events: 1}, 1},
		{"beyond the plan", gen.Options{Seed: 6, Actors: 300, Days: 2, Events: 500}, 3000},
		{"large population", gen.Options{Seed: 7, Actors: 250000, Days: 400, Events: 5000}, 5000},
		{"year 1", gen.Options{Seed: 8, Days: 3, End: time.Date(1, 1, 5, 0, 0, 0, 0, time.UTC), Events: 500}, 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := stream(c.opts, c.n)
			now := time.Now()
			ids := map[string]bool{}
			for i, line := range lines(body) {
				batch, err := stele.ParseEvents(line, false, now)
				if err != nil {
					t.Fatalf("event %d does not parse: %v\n%s", i, err, line)
				}
				if c.opts.IDs {
					id := string(batch.ClientID(0))
					if id == "" || ids[id] {
						t.Fatalf("event %d: id %q missing or repeated", i, id)
					}
					ids[id] = true
				}
			}
			// And the whole stream as one NDJSON body.
			if _, err := stele.ParseEvents(body, true, now); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type event struct {
	stele.Event
	raw []byte
}

func decode(t testing.TB, body []byte) []event {
	t.Helper()
	var out []event
	for i, line := range lines(body) {
		var e event
		if err := json.Unmarshal(line, &e.Event); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		e.raw = line
		out = append(out, e)
	}
	return out
}

func TestTimeOrderAndSpan(t *testing.T) {
	const planned = 50000
	opts := gen.Options{Seed: 11, Days: 7, Events: planned, End: time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)}
	g := gen.New(opts)
	start, end := g.Span()
	if !end.Equal(opts.End) || !start.Equal(opts.End.AddDate(0, 0, -7)) {
		t.Fatalf("Span() = %v..%v", start, end)
	}
	events := decode(t, g.AppendNDJSON(nil, planned+2000))
	var last time.Time
	for i, e := range events {
		if e.Time.Before(last) {
			t.Fatalf("event %d at %v, before %v", i, e.Time, last)
		}
		last = e.Time
		if i < planned && (e.Time.Before(start) || !e.Time.Before(end)) {
			t.Fatalf("planned event %d at %v, outside %v..%v", i, e.Time, start, end)
		}
	}
	if first := events[0].Time; first.Sub(start) > time.Hour {
		t.Errorf("first event at %v, more than an hour after the start %v", first, start)
	}
	if lastPlanned := events[planned-1].Time; end.Sub(lastPlanned) > time.Hour {
		t.Errorf("last planned event at %v, more than an hour before End %v", lastPlanned, end)
	}
	if after := events[len(events)-1].Time; !after.After(end) {
		t.Errorf("events beyond the plan stay before End: %v", after)
	}
}

// TestSessions: a person's session_id survives between events of a
// working day, changes across days, and a failed login has none.
func TestSessions(t *testing.T) {
	events := decode(t, stream(gen.Options{Seed: 12, Actors: 200, Days: 14, Events: 40000}, 40000))
	sessions := map[string]map[string]bool{}
	var failedWithSession, humans, withSession int
	for _, e := range events {
		if e.Actor == nil || e.Actor.Type == "service" {
			continue
		}
		humans++
		if e.Action == "user.login" && e.Outcome != stele.OutcomeSuccess && e.Actor.SessionID != "" {
			failedWithSession++
		}
		if e.Actor.SessionID == "" {
			continue
		}
		withSession++
		if sessions[e.Actor.ID] == nil {
			sessions[e.Actor.ID] = map[string]bool{}
		}
		sessions[e.Actor.ID][e.Actor.SessionID] = true
	}
	if failedWithSession > 0 {
		t.Errorf("%d failed logins carry a session id", failedWithSession)
	}
	if withSession < humans*6/10 {
		t.Errorf("%d of %d people's events have a session", withSession, humans)
	}
	var multi int
	for _, s := range sessions {
		if len(s) > 3 {
			multi++
		}
	}
	if multi < len(sessions)/4 {
		t.Errorf("only %d of %d people had more than 3 sessions in two weeks: sessions do not rotate", multi, len(sessions))
	}
}

func TestTopActors(t *testing.T) {
	g := gen.New(gen.Options{Seed: 13, Events: 100000})
	top := g.TopActors(20)
	if len(top) != 20 {
		t.Fatalf("TopActors(20) returned %d", len(top))
	}
	if n := len(g.TopActors(1 << 30)); n != gen.DefaultActors {
		t.Fatalf("TopActors(huge) returned %d, want every actor (%d)", n, gen.DefaultActors)
	}
	if n := len(g.TopActors(-1)); n != 0 {
		t.Fatalf("TopActors(-1) returned %d", n)
	}
	counts := map[string]int{}
	for _, e := range decode(t, g.AppendNDJSON(nil, 100000)) {
		counts[e.Actor.ID]++
	}
	// The predicted top 5 must each be among the 20 busiest observed.
	observed := make([]string, 0, len(counts))
	for id := range counts {
		observed = append(observed, id)
	}
	sortByCount(observed, counts)
	busiest := map[string]bool{}
	for _, id := range observed[:20] {
		busiest[id] = true
	}
	for _, id := range top[:5] {
		if !busiest[id] {
			t.Errorf("predicted top actor %s (%d events) is not among the 20 busiest %v", id, counts[id], observed[:20])
		}
	}
	if counts[top[0]] < counts[top[19]] {
		t.Errorf("top actor %s has fewer events (%d) than the 20th %s (%d)", top[0], counts[top[0]], top[19], counts[top[19]])
	}
}

var (
	actionSyntax   = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$`)
	categorySyntax = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)
)

func TestCatalogue(t *testing.T) {
	g := gen.New(gen.Options{Seed: 14, Events: 1000})
	actions := g.Actions()
	if len(actions) < 190 || len(actions) > 240 {
		t.Errorf("%d actions, want about 200", len(actions))
	}
	cats := map[string]bool{}
	for _, c := range g.Categories() {
		if !categorySyntax.MatchString(c) {
			t.Errorf("category %q is not a valid token", c)
		}
		cats[c] = true
	}
	names := map[string]bool{}
	var sum float64
	perCat := map[string]int{}
	for _, a := range actions {
		if !actionSyntax.MatchString(a.Name) || len(a.Name) > 128 {
			t.Errorf("action %q does not match the schema", a.Name)
		}
		if names[a.Name] {
			t.Errorf("action %q listed twice", a.Name)
		}
		names[a.Name] = true
		if !cats[a.Category] {
			t.Errorf("action %s has unknown category %q", a.Name, a.Category)
		}
		perCat[a.Category]++
		if a.Share <= 0 {
			t.Errorf("action %s can never happen", a.Name)
		}
		if a.Failure+a.Denied > 1 {
			t.Errorf("action %s fails or is denied more than always", a.Name)
		}
		sum += a.Share
	}
	for c := range cats {
		if perCat[c] < 5 {
			t.Errorf("category %s has %d actions", c, perCat[c])
		}
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("shares sum to %v", sum)
	}
	for _, want := range []string{"user.login", "user.logout", "user.login.mfa", "user.password.reset", "iam.policy.update",
		"iam.role.grant", "iam.role.revoke", "account.create", "config.change", "feature_flag.toggle", "deploy.start",
		"deploy.finish", "deploy.rollback", "db.read", "db.write", "db.schema.change", "bucket.object.get", "api.call",
		"api.token.create", "secret.read"} {
		if !names[want] {
			t.Errorf("catalogue lacks %s", want)
		}
	}
	// Reads and logins dominate; admin actions are rare.
	rank := map[string]int{}
	for i, a := range actions {
		rank[a.Name] = i
	}
	for _, common := range []string{"db.read", "api.call", "user.login", "bucket.object.get"} {
		if rank[common] >= 10 {
			t.Errorf("%s ranks %d, want among the 10 most common", common, rank[common])
		}
	}
	for _, rare := range []string{"iam.role.grant", "iam.policy.update", "db.schema.change", "deploy.rollback"} {
		if rank[rare] < 100 {
			t.Errorf("%s ranks %d, want a rare action", rare, rank[rare])
		}
	}
	phrases := strings.Join(g.Phrases(), "|")
	for _, want := range []string{"connection refused", "password expired", "MFA challenge passed"} {
		if !strings.Contains(phrases, want) {
			t.Errorf("Phrases lacks %q", want)
		}
	}
}

func sortByCount(ids []string, counts map[string]int) {
	sort.Slice(ids, func(i, j int) bool {
		if counts[ids[i]] != counts[ids[j]] {
			return counts[ids[i]] > counts[ids[j]]
		}
		return ids[i] < ids[j]
	})
}
