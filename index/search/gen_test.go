package search

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stele-log/stele"
)

// gen produces a deterministic stream of realistic audit events: the NDJSON
// a client sends and the canonical entries the log stores (through the real
// parser, stele.ParseEvents, so the entries are exactly what Add will see).
//
// The mix: 10,000 actors with a Zipf-like skew (80 % users with a name, an
// address in one of a few networks and a browser; 20 % services), about 200
// actions in 10 categories (also skewed), 3 % failures and 1 % denials,
// request ids on half the events, 2-3 attributes, short templated messages,
// and times that advance about 2.5 ms per event with 2 % backfilled by up
// to an hour.
type gen struct {
	rng     *rand.Rand
	actor   *rand.Zipf
	action  *rand.Zipf
	actions []string
	cats    []string
	ids     stele.IDGen
	seq     uint64
	now     time.Time
	body    []byte
	batch   stele.Batch
	idBuf   []byte
}

var (
	genCategories = []string{"authentication", "authorization", "account", "configuration", "deployment",
		"api", "data", "system", "billing", "network"}
	genNouns = [][]string{
		{"user", "session", "mfa", "sso"},
		{"role", "policy", "grant"},
		{"account", "password", "apikey"},
		{"config", "flag", "secret"},
		{"deploy", "release", "rollback"},
		{"api", "webhook", "token"},
		{"db", "bucket", "export"},
		{"node", "service", "cron"},
		{"invoice", "payment", "refund"},
		{"firewall", "vpn", "dns"},
	}
	genVerbs     = []string{"create", "read", "update", "delete", "list", "login", "logout", "start", "finish", "fail", "approve", "revoke", "rotate", "sync", "export", "import", "enable", "disable"}
	genNetworks  = []string{"10.0.%d.%d", "10.1.%d.%d", "172.16.%d.%d", "192.168.%d.%d", "203.0.%d.%d", "2001:db8:%x::%x"}
	genUAs       = []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "Mozilla/5.0 (Macintosh) Safari/17.4", "curl/8.5.0", "stele-cli/1.2", "okhttp/4.12"}
	genServices  = []string{"sso", "billing", "orders", "search", "gateway", "payments", "inventory", "reports", "notifier", "scheduler", "iam", "storage", "ledger", "audit", "web", "mobile-api", "cdn", "mail", "chat", "ml"}
	genResources = []string{"table", "bucket", "user", "role", "service", "secret", "dashboard", "queue", "repo", "cluster"}
	genRegions   = []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-1"}
	genMessages  = []string{
		"user %[1]s logged in from %[2]s",
		"login failed for %[1]s: invalid password",
		"permission %[3]s granted on %[4]s",
		"request to %[4]s took %[5]d ms",
		"deploy of %[4]s finished with status %[6]d",
		"connection refused by upstream %[4]s",
		"token rotated for %[1]s",
		"exported %[5]d rows from %[4]s",
	}
)

func newGen(seed uint64) *gen {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{
		rng:    rng,
		actor:  rand.NewZipf(rng, 1.07, 2, 9999),
		action: rand.NewZipf(rng, 1.05, 4, 199),
		now:    time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
	}
	for c, nouns := range genNouns {
		for i := 0; len(g.actions) < (c+1)*20; i++ {
			g.actions = append(g.actions, nouns[i%len(nouns)]+"."+genVerbs[(i*7+c)%len(genVerbs)])
			g.cats = append(g.cats, genCategories[c])
		}
	}
	// Shuffle so the popular actions span categories.
	g.rng.Shuffle(len(g.actions), func(i, j int) {
		g.actions[i], g.actions[j] = g.actions[j], g.actions[i]
		g.cats[i], g.cats[j] = g.cats[j], g.cats[i]
	})
	return g
}

// event appends one NDJSON line to dst.
func (g *gen) event(dst []byte) []byte {
	rng := g.rng
	a := int(g.actor.Uint64())
	act := int(g.action.Uint64())
	g.now = g.now.Add(time.Duration(1500+rng.IntN(2000)) * time.Microsecond)
	t := g.now
	if rng.IntN(50) == 0 {
		t = t.Add(-time.Duration(rng.IntN(3600)) * time.Second)
	}
	outcome := "success"
	switch r := rng.IntN(100); {
	case r < 3:
		outcome = "failure"
	case r < 4:
		outcome = "denied"
	}
	dst = fmt.Appendf(dst, `{"action":%q,"category":%q,"outcome":%q,"time":%q,`, g.actions[act], g.cats[act], outcome, t.Format(time.RFC3339Nano))
	actorID := fmt.Sprintf("u-%05d", a)
	if a%5 == 4 {
		actorID = fmt.Sprintf("svc-%s-%d", genServices[a%len(genServices)], a%7)
		dst = fmt.Appendf(dst, `"actor":{"type":"service","id":%q},`, actorID)
	} else {
		net := genNetworks[a%len(genNetworks)]
		ip := fmt.Sprintf(net, (a/7)%256, 1+(a+rng.IntN(3))%250)
		dst = fmt.Appendf(dst, `"actor":{"type":"user","id":%q,"name":"user%d@example.com","ip":%q,"user_agent":%q`,
			actorID, a, ip, genUAs[(a+rng.IntN(2))%len(genUAs)])
		if rng.IntN(3) == 0 {
			dst = fmt.Appendf(dst, `,"session_id":"s-%08x"`, uint32(a)*2654435761+uint32(t.Unix()/3600))
		}
		dst = append(dst, "},"...)
	}
	svc := genServices[rng.IntN(len(genServices))]
	dst = fmt.Appendf(dst, `"source":{"service":%q,"host":"%s-%d","ip":"10.9.%d.%d"},`, svc, svc, rng.IntN(5), rng.IntN(4), 1+rng.IntN(20))
	rtype := genResources[act%len(genResources)]
	rid := fmt.Sprintf("%s-%d", rtype[:1], rng.IntN(20000))
	dst = fmt.Appendf(dst, `"resource":{"type":%q,"id":%q},`, rtype, rid)
	if rng.IntN(2) == 0 {
		dst = fmt.Appendf(dst, `"request_id":"req-%016x",`, rng.Uint64())
	}
	status := []int{200, 200, 200, 201, 204, 400, 403, 404, 500}[rng.IntN(9)]
	ms := rng.IntN(2000)
	dst = fmt.Appendf(dst, `"attributes":{"region":%q,"latency_ms":%d`, genRegions[rng.IntN(len(genRegions))], ms)
	if rng.IntN(2) == 0 {
		dst = fmt.Appendf(dst, `,"http":{"status":%d}`, status)
	}
	if rng.IntN(4) == 0 {
		dst = append(dst, `,"tags":["prod","pci"]`...)
	}
	dst = append(dst, "},"...)
	msg := fmt.Sprintf(genMessages[rng.IntN(len(genMessages))], actorID, "10.0.0.1", "read", rid, ms, status)
	dst = fmt.Appendf(dst, `"message":%q}`, msg)
	return append(dst, '\n')
}

// next returns n NDJSON events and their canonical entries with the next
// seqs. The entries alias nothing.
func (g *gen) next(t testing.TB, n int) (ndjson []byte, entries [][]byte) {
	g.body = g.body[:0]
	for range n {
		g.body = g.event(g.body)
	}
	if err := stele.ParseEventsInto(&g.batch, g.body, true, g.now); err != nil {
		t.Fatalf("generated events do not parse: %v", err)
	}
	for i := range g.batch.Len() {
		g.idBuf = g.ids.Next(g.idBuf[:0], g.now)
		entries = append(entries, g.batch.AppendEntry(nil, i, g.idBuf, g.seq))
		g.seq++
	}
	return g.body, entries
}
