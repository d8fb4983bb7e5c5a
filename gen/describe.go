package gen

import (
	"sort"
	"strings"
)

// What a query benchmark needs to pick meaningful queries from a workload:
// who is active, which actions are common or rare, which categories,
// services and phrases exist. The figures are expectations computed from
// the workload's tables, not counts of events drawn.

// Action describes one action of the catalogue.
type Action struct {
	Name     string
	Category string
	Resource string  // the resource type it acts on; "" for none
	Share    float64 // expected fraction of all events
	Failure  float64 // chance that one ends in "failure" (bursts aside)
	Denied   float64 // chance that one ends in "denied"
}

// burstShare is the expected fraction of events that belong to brute-force
// bursts: each main event starts one with probability burstChance, of mean
// length (burstMin+burstMax)/2.
func burstShare() float64 {
	perEvent := burstChance * float64(burstMin+burstMax) / 2
	return perEvent / (1 + perEvent)
}

// humanShare is the expected fraction of main-stream events that people
// (not service accounts) cause, over the whole span.
func (g *Generator) humanShare() float64 {
	if len(g.services) == 0 {
		return 1
	}
	return 1 - float64(g.clock.meanPM)
}

// Actions returns the catalogue, most frequent first.
func (g *Generator) Actions() []Action {
	human := g.humanShare()
	peopleW := g.peopleWeights()
	var adminMass float64
	for rank, idx := range g.byRank {
		if g.people[idx].kind == kindAdmin {
			adminMass += peopleW[rank]
		}
	}
	var roleMass [numRoles]float64
	if len(g.services) > 0 {
		for i, w := range normalise(zipfWeights(len(g.services), zipfServices)) {
			roleMass[g.services[i].role] += w
		}
	}
	user := make([]float64, len(g.actions))
	admin := make([]float64, len(g.actions))
	for i, a := range g.actions {
		user[i], admin[i] = a.user, a.admin
	}
	user, admin = normalise(user), normalise(admin)
	mix := make([]float64, len(g.actions))
	for i := range mix {
		mix[i] = human * ((1-adminMass)*user[i] + adminMass*admin[i])
	}
	for role := range numRoles {
		for i, w := range normalise(roleWeights(g.actions, role)) {
			mix[i] += (1 - human) * roleMass[role] * w
		}
	}
	bursts := burstShare()
	out := make([]Action, len(g.actions))
	for i, a := range g.actions {
		out[i] = Action{Name: a.name, Category: categoryNames[a.cat], Resource: resourceTypes[a.res],
			Share: (1 - bursts) * mix[i], Failure: a.fail, Denied: a.deny}
		if a.name == "user.login" {
			out[i].Share += bursts
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Share > out[j].Share })
	return out
}

// Categories returns the categories events carry.
func (g *Generator) Categories() []string { return append([]string(nil), categoryNames[:]...) }

// Services returns the values of source.service.
func (g *Generator) Services() []string {
	out := make([]string, len(reporters))
	for i, r := range reporters {
		out[i] = r.name
	}
	return out
}

// TopActors returns the ids of the n actors expected to be most active,
// most active first.
func (g *Generator) TopActors(n int) []string {
	type share struct {
		id    string
		p     float64
		order int
	}
	human := g.humanShare()
	all := make([]share, 0, len(g.people)+len(g.services))
	for rank, w := range g.peopleWeights() {
		all = append(all, share{g.people[g.byRank[rank]].id, human * w, len(all)})
	}
	if len(g.services) > 0 {
		for i, w := range normalise(zipfWeights(len(g.services), zipfServices)) {
			all = append(all, share{g.services[i].id, (1 - human) * w, len(all)})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].p != all[j].p {
			return all[i].p > all[j].p
		}
		return all[i].order < all[j].order
	})
	n = max(0, min(n, len(all)))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = all[i].id
	}
	return ids
}

// Phrases returns the fixed text of every message template (the part
// before a slot when there is one), for free-text queries: "connection
// refused", "MFA challenge passed", "password expired", ...
func (g *Generator) Phrases() []string {
	seen := map[string]bool{}
	var out []string
	add := func(text string) {
		text, _, _ = strings.Cut(text, "{")
		text = strings.TrimSpace(text)
		if text != "" && !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	for _, class := range messageText {
		for _, texts := range class {
			for _, t := range texts {
				add(t)
			}
		}
	}
	for _, a := range actionTable() {
		for _, t := range append(a.okText, a.failText...) {
			add(t)
		}
	}
	for _, texts := range genericText {
		for _, t := range texts {
			add(t)
		}
	}
	sort.Strings(out)
	return out
}
