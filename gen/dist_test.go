package gen_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/gen"
)

// The distribution tests check the workload's shape on one default stream
// of 300,000 events, within tolerances wide enough for sampling noise but
// narrow enough to catch a broken model.

const sampleEvents = 300000

var sample = sync.OnceValues(func() (*gen.Generator, []byte) {
	g := gen.New(gen.Options{Seed: 21, Events: sampleEvents})
	return g, g.AppendNDJSON(nil, sampleEvents)
})

func sampleEventsDecoded(t *testing.T) (*gen.Generator, []event) {
	g, body := sample()
	return gen.New(g.Options()), decode(t, body)
}

func within(t *testing.T, what string, got, lo, hi float64) {
	t.Helper()
	if got < lo || got > hi || math.IsNaN(got) {
		t.Errorf("%s = %.4f, want in [%.4f, %.4f]", what, got, lo, hi)
	} else {
		t.Logf("%s = %.4f", what, got)
	}
}

func TestOutcomes(t *testing.T) {
	statistical(t)
	_, events := sampleEventsDecoded(t)
	var byOutcome = map[stele.Outcome]int{}
	var logins, loginFails int
	for _, e := range events {
		byOutcome[e.Outcome]++
		if e.Action == "user.login" {
			logins++
			if e.Outcome == stele.OutcomeFailure {
				loginFails++
			}
		}
	}
	n := float64(len(events))
	within(t, "failure share", float64(byOutcome[stele.OutcomeFailure])/n, 0.022, 0.036)
	within(t, "denied share", float64(byOutcome[stele.OutcomeDenied])/n, 0.006, 0.014)
	within(t, "unknown share", float64(byOutcome[stele.OutcomeUnknown])/n, 0.001, 0.01)
	within(t, "success share", float64(byOutcome[stele.OutcomeSuccess])/n, 0.94, 0.975)
	within(t, "user.login failure rate", float64(loginFails)/float64(logins), 0.04, 0.10)
	if len(byOutcome) != 4 {
		t.Errorf("outcomes seen: %v", byOutcome)
	}
}

func TestActivitySkew(t *testing.T) {
	statistical(t)
	g, events := sampleEventsDecoded(t)
	counts := map[string]int{}
	var people int
	for _, e := range events {
		if e.Actor.Type != "service" && !strings.Contains(e.Actor.UserAgent, "Hydra") {
			counts[e.Actor.ID]++
			people++
		}
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sortByCount(ids, counts)
	// Zipf s=1.1 over the people: the expected share of the top 1 %.
	const s = 1.1
	nPeople := gen.DefaultActors - gen.DefaultActors/200
	var head, all float64
	for k := 1; k <= nPeople; k++ {
		w := math.Pow(float64(k), -s)
		all += w
		if k <= nPeople/100 {
			head += w
		}
	}
	var top int
	for _, id := range ids[:nPeople/100] {
		top += counts[id]
	}
	want := head / all
	within(t, "people's events by the top 1 % of people", float64(top)/float64(people), want-0.03, want+0.03)
	if len(counts) < nPeople/2 {
		t.Errorf("only %d of %d people acted: the tail is missing", len(counts), nPeople)
	}
	// The expected shares of the catalogue match the stream.
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Action]++
	}
	for _, a := range g.Actions()[:20] {
		got := float64(seen[a.Name]) / float64(len(events))
		within(t, "share of "+a.Name, got, a.Share*0.85, a.Share*1.15)
	}
}

func TestActionsAndCategories(t *testing.T) {
	statistical(t)
	g, events := sampleEventsDecoded(t)
	seen := map[string]int{}
	cats := map[string]int{}
	for _, e := range events {
		seen[e.Action]++
		cats[e.Category]++
	}
	catalogue := map[string]gen.Action{}
	var missing []string
	for _, a := range g.Actions() {
		catalogue[a.Name] = a
		if a.Share*sampleEvents >= 10 && seen[a.Name] == 0 {
			missing = append(missing, a.Name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("actions expected at least 10 times never happened: %v", missing)
	}
	for name := range seen {
		if _, ok := catalogue[name]; !ok {
			t.Errorf("action %s is not in the catalogue", name)
		}
	}
	if len(seen) < 180 {
		t.Errorf("%d distinct actions in %d events, want about 200", len(seen), len(events))
	}
	t.Logf("%d distinct actions", len(seen))
	for _, c := range g.Categories() {
		within(t, "share of category "+c, float64(cats[c])/float64(len(events)), 0.001, 0.5)
	}
	if len(cats) != len(g.Categories()) {
		t.Errorf("categories seen: %v", cats)
	}
}

func TestDailyCycle(t *testing.T) {
	statistical(t)
	_, events := sampleEventsDecoded(t)
	var business, weekend, night, midday, nightMachine, middayMachine int
	for _, e := range events {
		tm := e.Time.UTC()
		wd, h := tm.Weekday(), tm.Hour()
		isWeekend := wd == time.Saturday || wd == time.Sunday
		machine := e.Actor.Type == "service"
		switch {
		case isWeekend:
			weekend++
		case h >= 8 && h < 19:
			business++
		}
		if !isWeekend && h >= 10 && h < 12 {
			midday++
			if machine {
				middayMachine++
			}
		}
		if h >= 2 && h < 4 {
			night++
			if machine {
				nightMachine++
			}
		}
	}
	n := float64(len(events))
	within(t, "weekday 08-19 share", float64(business)/n, 0.6, 0.8)
	within(t, "weekend share", float64(weekend)/n, 0.04, 0.14)
	within(t, "service-account share at 02-04", float64(nightMachine)/float64(night), 0.6, 1)
	within(t, "service-account share on weekdays 10-12", float64(middayMachine)/float64(midday), 0.15, 0.45)
	// Per hour, the weekday 10-12 rate is many times the 02-04 rate (both
	// windows are 2 hours; there are 5/7 as many weekday windows).
	within(t, "weekday midday rate / night rate", float64(midday)/(float64(night)*5/7), 4, 30)
}

func TestFields(t *testing.T) {
	statistical(t)
	_, events := sampleEventsDecoded(t)
	var (
		sizes                             []int
		corp, vpn, external, v6, withIP   int
		requestIDs, messages, withName    int
		badServiceIP, badAttrs, resources int
	)
	external4 := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24")}
	for _, e := range events {
		sizes = append(sizes, len(e.raw))
		if e.Actor.IP != "" {
			withIP++
			ip := netip.MustParseAddr(e.Actor.IP)
			switch {
			case netip.MustParsePrefix("10.0.0.0/8").Contains(ip):
				corp++
			case netip.MustParsePrefix("172.16.0.0/12").Contains(ip):
				vpn++
			case external4[0].Contains(ip) || external4[1].Contains(ip):
				external++
			case netip.MustParsePrefix("2001:db8::/32").Contains(ip):
				v6++
			default:
				t.Fatalf("actor ip %s is in none of the workload's networks", ip)
			}
			if e.Actor.Type == "service" && !netip.MustParsePrefix("10.0.0.0/8").Contains(ip) {
				badServiceIP++
			}
		}
		if e.RequestID != "" {
			requestIDs++
		}
		if e.Message != "" {
			messages++
		}
		if e.Actor.Name != "" {
			withName++
		}
		if e.Resource != nil {
			resources++
		}
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(e.Attributes, &attrs); err != nil || len(attrs) < 1 || len(attrs) > 3 {
			badAttrs++
		}
	}
	n := float64(len(events))
	within(t, "corporate share of actor ips", float64(corp)/float64(withIP), 0.6, 0.85)
	within(t, "VPN share", float64(vpn)/float64(withIP), 0.08, 0.25)
	within(t, "external share", float64(external)/float64(withIP), 0.02, 0.1)
	within(t, "IPv6 share", float64(v6)/float64(withIP), 0.04, 0.15)
	within(t, "request_id share", float64(requestIDs)/n, 0.4, 0.6)
	within(t, "message share", float64(messages)/n, 0.45, 0.55)
	within(t, "actor name share", float64(withName)/n, 0.15, 0.4)
	within(t, "resource share", float64(resources)/n, 0.5, 0.9)
	if badServiceIP > 0 {
		t.Errorf("%d service-account events from outside 10.0.0.0/8", badServiceIP)
	}
	if badAttrs > 0 {
		t.Errorf("%d events without 1-3 attributes", badAttrs)
	}
	sort.Ints(sizes)
	var total int
	for _, s := range sizes {
		total += s
	}
	within(t, "mean event size (bytes)", float64(total)/n, 250, 350)
	within(t, "median event size", float64(sizes[len(sizes)/2]), 250, 350)
	within(t, "10th percentile size", float64(sizes[len(sizes)/10]), 180, 350)
	within(t, "90th percentile size", float64(sizes[len(sizes)*9/10]), 250, 420)
}

// TestBursts finds the brute-force bursts in a stream of a million events
// (about ten are expected): runs of failed logins from one external address
// with an attack tool's agent, less than 1.5 s apart.
func TestBursts(t *testing.T) {
	statistical(t)
	const n = 1000000
	g := gen.New(gen.Options{Seed: 22, Events: n})
	type run struct {
		ip       string
		attempts int
		last     time.Time
		fails    int
	}
	current := map[string]*run{} // by address: the burst in progress
	var runs []*run
	var buf []byte
	var burstEvents int
	for range n {
		buf = g.Next(buf[:0])
		if !bytes.Contains(buf, []byte(`"attempt":`)) || !bytes.Contains(buf, []byte(`"action":"user.login"`)) {
			continue
		}
		var ev stele.Event
		var attrs struct{ Attempt int }
		if err := json.Unmarshal(buf, &ev); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ev.Attributes, &attrs); err != nil {
			t.Fatal(err)
		}
		burstEvents++
		r := current[ev.Actor.IP]
		if attrs.Attempt == 1 {
			r = &run{ip: ev.Actor.IP}
			current[ev.Actor.IP] = r
			runs = append(runs, r)
		} else if r == nil || attrs.Attempt != r.attempts+1 {
			t.Fatalf("attempt %d from %s does not continue a burst", attrs.Attempt, ev.Actor.IP)
		} else if gap := ev.Time.Sub(r.last); gap > 1500*time.Millisecond || gap < 0 {
			t.Errorf("burst from %s: attempts %v apart", r.ip, gap)
		}
		r.attempts++
		r.last = ev.Time
		if ev.Outcome == stele.OutcomeFailure {
			r.fails++
		}
		addr := netip.MustParseAddr(ev.Actor.IP)
		if !netip.MustParsePrefix("203.0.113.0/24").Contains(addr) && !netip.MustParsePrefix("198.51.100.0/24").Contains(addr) {
			t.Errorf("burst from %s, not an external address", addr)
		}
	}
	if len(runs) < 3 {
		t.Fatalf("%d bursts in %d events, want about 10", len(runs), n)
	}
	for _, r := range runs {
		if r.attempts < 20 || r.attempts > 300 {
			t.Errorf("burst from %s: %d attempts, want 20-300", r.ip, r.attempts)
		}
		if r.fails < r.attempts-1 {
			t.Errorf("burst from %s: %d of %d attempts failed", r.ip, r.fails, r.attempts)
		}
	}
	t.Logf("%d bursts, %d events (%.3f %%)", len(runs), burstEvents, 100*float64(burstEvents)/n)
}
