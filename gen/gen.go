package gen

import (
	"fmt"
	"strconv"
	"time"
)

// Options selects a workload. The zero value is the default workload of
// seed 0. Two generators with equal Options produce byte-identical events.
type Options struct {
	// Seed selects the population and the event stream.
	Seed uint64
	// Actors is the population size, service accounts and admins included
	// (0: 10,000).
	Actors int
	// Days is the length of the span (0: 30; at most 3660).
	Days int
	// End is the end of the span, exclusive (zero: 2026-11-23T00:00:00Z). It
	// is truncated to the microsecond. The span must lie within years
	// 0001-9999 (New panics otherwise: no event could carry such a time).
	End time.Time
	// IDs gives every event a client "id", unique within the stream and,
	// with overwhelming probability, across seeds.
	IDs bool
	// Events is how many events the caller means to draw (0: 1,000,000). It
	// sets the rate, so that exactly that many fill the span; events drawn
	// beyond it continue past End at the span's mean rate, without the
	// daily cycle and without bursts. It is part of the workload: the first
	// n events of a larger plan are not the events of a plan of n.
	Events int64
}

// Defaults of the zero Options.
const (
	DefaultActors = 10000
	DefaultDays   = 30
	DefaultEvents = 1000000
	MaxDays       = 3660
)

// DefaultEnd is the end of the default span.
func DefaultEnd() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }

// Tunables of the workload, documented in the package doc.
const (
	zipfPeople   = 1.1  // activity skew of people
	zipfServices = 1.1  // activity skew of service accounts
	burstChance  = 1e-5 // chance that an event is followed by a brute-force burst
	burstMin     = 20   // attempts in a burst
	burstMax     = 300
	adminEvery   = 20              // admins hold every 20th activity rank from the 4th
	sessionMaxUs = 10 * 3600 * 1e6 // a session is replaced after 10 hours
)

// Generator produces the events of one workload. It is not safe for
// concurrent use; give each goroutine its own.
type Generator struct {
	opts Options
	rng  rng

	clock    *clock
	people   []actor
	services []actor
	byRank   []int32 // people index of each Zipf rank
	pickRank alias   // Zipf over people ranks
	pickSvc  alias   // Zipf over services (rank = index)
	actions  []actionSpec
	heads    []string // per action: `"action":"…","category":"…",`
	byUser   alias
	byAdmin  alias
	byRole   [numRoles]alias
	pools    [numRes]pool
	hosts    [][]host
	messages [][4][]template  // per action, by outcome
	attrKeys [numAttrs]string // `"key":`

	emitted int64 // events returned so far
	lastUs  int64 // offset of the last event returned
	pending bool  // a main-stream event has been drawn but not returned
	pendUs  int64
	pendPM  float32
	burst   burst

	idTag   uint64 // 32 bits naming the workload in client ids
	idKey   uint64
	sessKey uint64
}

// burst is a brute-force attack in progress: failed logins from one
// external address, against one account or against many (credential
// stuffing), a fraction of a second apart.
type burst struct {
	left    int
	attempt int
	nextUs  int64
	ip      [48]byte
	ipLen   int
	agent   string
	target  string // actor id; "" when each attempt tries another account
	src     int    // reporter
	success bool   // the last attempt succeeds: the account is compromised
}

// Names brute-force attacks try besides real accounts.
var guessedNames = []string{"admin", "root", "test", "administrator", "oracle", "backup", "guest", "support", "info", "user"}

// New builds a generator. It allocates the population, the resource pools
// and the intensity table of the span (a few MB for the defaults); Next
// then runs without allocating.
func New(opts Options) *Generator {
	if opts.Actors <= 0 {
		opts.Actors = DefaultActors
	}
	if opts.Days <= 0 {
		opts.Days = DefaultDays
	}
	opts.Days = min(opts.Days, MaxDays)
	if opts.End.IsZero() {
		opts.End = DefaultEnd()
	}
	opts.End = opts.End.UTC().Truncate(time.Microsecond)
	if opts.Events <= 0 {
		opts.Events = DefaultEvents
	}
	start := opts.End.Add(-time.Duration(opts.Days) * 24 * time.Hour)
	if start.Year() < 1 || opts.End.Year() > 9999 {
		panic(fmt.Sprintf("gen: span %v..%v is outside years 0001-9999", start, opts.End))
	}
	g := &Generator{opts: opts, rng: rng{state: mix64(opts.Seed ^ 0x5eed)}}
	g.idTag = mix64(opts.Seed^0x1d) >> 32
	g.idKey = mix64(opts.Seed ^ 0x1d1d)
	g.sessKey = mix64(opts.Seed ^ 0x5e55)

	g.people, g.services = newPopulation(&g.rng, opts.Actors)
	g.byRank = make([]int32, len(g.people))
	for i := range g.byRank {
		g.byRank[i] = int32(i)
	}
	for i := len(g.byRank) - 1; i > 0; i-- {
		j := g.rng.intn(i + 1)
		g.byRank[i], g.byRank[j] = g.byRank[j], g.byRank[i]
	}
	g.placeAdmins()
	g.pickRank = newAlias(g.peopleWeights())
	if len(g.services) > 0 {
		g.pickSvc = newAlias(zipfWeights(len(g.services), zipfServices))
	}

	g.actions = actionTable()
	g.heads = make([]string, len(g.actions))
	user := make([]float64, len(g.actions))
	admin := make([]float64, len(g.actions))
	for i, a := range g.actions {
		g.heads[i] = `"action":"` + a.name + `","category":"` + categoryNames[a.cat] + `",`
		user[i], admin[i] = a.user, a.admin
	}
	g.byUser, g.byAdmin = newAlias(user), newAlias(admin)
	for role := range numRoles {
		g.byRole[role] = newAlias(roleWeights(g.actions, role))
	}
	g.pools = newPools(&g.rng, g.people)
	g.hosts = newHosts()
	g.messages = messages(g.actions)
	for k := atNone + 1; k < numAttrs; k++ {
		g.attrKeys[k] = `"` + attrKeys[k] + `":`
	}

	startUs := start.UnixMicro()
	dayKey := mix64(opts.Seed ^ 0xda1)
	g.clock = newClock(startUs, opts.Days, opts.Events, func(day int) float64 {
		// Days differ by up to ±15 %, as real weeks do.
		return 0.85 + 0.3*float64(mix64(dayKey+uint64(day))>>11)*0x1p-53
	})
	return g
}

// peopleWeights returns the activity weight of each Zipf rank of people,
// normalised.
func (g *Generator) peopleWeights() []float64 {
	return normalise(zipfWeights(len(g.people), zipfPeople))
}

// placeAdmins moves the admins to every adminEvery-th rank of the shuffled
// ranking. Admins are few and busy; left to the shuffle, whether any admin
// lands among the top ranks, and so how often admin actions happen at all,
// would swing widely from seed to seed.
func (g *Generator) placeAdmins() {
	var admins, users []int32
	for _, idx := range g.byRank {
		if g.people[idx].kind == kindAdmin {
			admins = append(admins, idx)
		} else {
			users = append(users, idx)
		}
	}
	for rank := range g.byRank {
		if len(admins) > 0 && (rank%adminEvery == 3 || len(users) == 0) {
			g.byRank[rank], admins = admins[0], admins[1:]
		} else {
			g.byRank[rank], users = users[0], users[1:]
		}
	}
}

func roleWeights(actions []actionSpec, role int) []float64 {
	w := make([]float64, len(actions))
	for i, a := range actions {
		w[i] = a.svc * roleAffinity[role][a.cat]
	}
	return w
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.opts }

// Span returns the span the planned events fill: [start, end).
func (g *Generator) Span() (start, end time.Time) {
	return time.UnixMicro(g.clock.startUs).UTC(), g.opts.End
}

// Next appends one event to dst as a JSON object, without a newline, and
// returns the extended slice. Events come in nondecreasing time order.
func (g *Generator) Next(dst []byte) []byte {
	remaining := g.opts.Events - g.emitted
	g.emitted++
	if g.burst.left > 0 {
		if !g.pending {
			g.pendUs, g.pendPM = g.clock.next(&g.rng, remaining)
			g.pending = true
		}
		if g.burst.nextUs <= g.pendUs {
			return g.burstEvent(dst)
		}
	}
	var offUs int64
	var machine float32
	if g.pending {
		offUs, machine, g.pending = g.pendUs, g.pendPM, false
	} else {
		offUs, machine = g.clock.next(&g.rng, remaining)
	}
	offUs = max(offUs, g.lastUs)
	g.lastUs = offUs
	dst = g.event(dst, offUs, machine)
	if remaining > 0 && g.rng.chance(burstChance) {
		g.startBurst(offUs, remaining-1)
	}
	return dst
}

// AppendNDJSON appends n events, each followed by a newline.
func (g *Generator) AppendNDJSON(dst []byte, n int) []byte {
	for range n {
		dst = append(g.Next(dst), '\n')
	}
	return dst
}

// event writes one main-stream event at offset offUs; machine is the share
// of service-account traffic at that moment.
func (g *Generator) event(dst []byte, offUs int64, machine float32) []byte {
	r := &g.rng
	var (
		a      *actor
		actIdx int
		person = -1
	)
	if len(g.services) > 0 && r.float() < float64(machine) {
		a = &g.services[g.pickSvc.sample(r)]
		actIdx = g.byRole[a.role].sample(r)
	} else {
		person = int(g.byRank[g.pickRank.sample(r)])
		a = &g.people[person]
		if a.kind == kindAdmin {
			actIdx = g.byAdmin.sample(r)
		} else {
			actIdx = g.byUser.sample(r)
		}
	}
	spec := &g.actions[actIdx]
	outcome := ocSuccess
	switch x := r.float(); {
	case x < spec.fail:
		outcome = ocFailure
	case x < spec.fail+spec.deny:
		outcome = ocDenied
	case x < spec.fail+spec.deny+spec.unknown:
		outcome = ocUnknown
	}

	dst = g.open(dst, offUs)
	dst = append(dst, g.heads[actIdx]...)
	dst = appendOutcome(dst, outcome)

	// actor: people carry their name and agent mostly where they sign in.
	if a.kind != kindService && (spec.signIn || spec.cat == catAccount || r.chance(0.1)) {
		dst = append(dst, a.head...)
	} else {
		dst = append(dst, a.headNoName...)
	}
	if a.kind == kindService {
		if r.chance(0.5) {
			dst = appendStr(dst, `,"ip":"`, a.home)
		}
		if r.chance(0.2) {
			dst = appendStr(dst, `,"user_agent":"`, serviceAgents[a.agent])
		}
	} else {
		dst = append(dst, `,"ip":"`...)
		switch x := r.float(); {
		case x < 0.88:
			dst = append(dst, a.home...)
		case x < 0.97:
			dst = append(dst, a.alt...)
		default:
			dst = appendIP(dst, r, netExternal)
		}
		dst = append(dst, '"')
		if spec.signIn || r.chance(0.1) {
			dst = appendStr(dst, `,"user_agent":"`, humanAgents[a.agent].ua)
		}
		// Console and sign-in events belong to a session; API and data
		// access often come with a token instead.
		if spec.cat <= catConfig || r.chance(0.4) {
			dst = g.appendSession(dst, person, a, spec, outcome, g.clock.startUs+offUs)
		}
	}
	dst = append(dst, '}')

	// resource
	var res *resource
	if spec.res != resNone {
		res = g.pools[spec.res].sample(r)
		dst = append(dst, ',')
		if r.chance(0.1) {
			dst = append(dst, res.full...)
		} else {
			dst = append(dst, res.noName...)
		}
	}

	// source
	hosts := g.hosts[spec.src]
	h := &hosts[r.intn(len(hosts))]
	dst = append(dst, ',')
	switch x := r.float(); {
	case x < 0.1:
		dst = append(dst, h.withIP...)
	case x < 0.4:
		dst = append(dst, h.withHost...)
	default:
		dst = append(dst, h.serviceOnly...)
	}

	reqChance := 0.45
	switch spec.cat {
	case catAPI:
		reqChance = 0.8
	case catSystem:
		reqChance = 0.1
	}
	if r.chance(reqChance) {
		dst = append(dst, `,"request_id":"`...)
		dst = appendHex(dst, r.next(), 16)
		dst = append(dst, '"')
	}

	if r.chance(0.5) {
		slotText := reporters[spec.src].name
		if res != nil {
			slotText = res.id
		}
		dst = g.appendMessage(dst, actIdx, outcome, slotText)
	}

	// The first attribute always, the others usually.
	dst = append(dst, `,"attributes":{`...)
	for i, k := range spec.attrs {
		if i > 0 {
			if !r.chance(0.35) {
				continue
			}
			dst = append(dst, ',')
		}
		dst = append(dst, g.attrKeys[k]...)
		dst = g.appendAttr(dst, k, outcome)
	}
	return append(dst, "}}"...)
}

// open writes the start of an event: "{", the client id when asked for,
// and the time.
func (g *Generator) open(dst []byte, offUs int64) []byte {
	dst = append(dst, '{')
	if g.opts.IDs {
		// A bijection of the event number keyed by the seed: unique within
		// the stream, and random-looking like real client ids.
		dst = append(dst, `"id":"gen-`...)
		dst = appendHex(dst, g.idTag, 8)
		dst = append(dst, '-')
		dst = appendHex(dst, mix64(uint64(g.emitted)^g.idKey), 16)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"time":"`...)
	dst = appendTime(dst, g.clock.startUs+offUs)
	return append(dst, `",`...)
}

func appendOutcome(dst []byte, outcome int) []byte {
	dst = append(dst, `"outcome":"`...)
	dst = append(dst, outcomeNames[outcome]...)
	return append(dst, `",`...)
}

func appendStr(dst []byte, open, s string) []byte {
	dst = append(dst, open...)
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendSession writes a person's session id and rotates sessions: a
// successful login starts one, a logout or expiry ends it, and one older
// than ten hours is replaced. A failed login has none.
func (g *Generator) appendSession(dst []byte, person int, a *actor, spec *actionSpec, outcome int, nowUs int64) []byte {
	login := spec.name == "user.login" || spec.name == "user.login.sso" || spec.name == "auth.saml.assert"
	if spec.signIn && outcome != ocSuccess {
		return dst
	}
	if login || a.sessionStartUs == 0 || nowUs-a.sessionStartUs > sessionMaxUs {
		a.sessionNo++
		a.sessionStartUs = nowUs
	}
	dst = append(dst, `,"session_id":"s_`...)
	dst = appendHex(dst, mix64(g.sessKey^uint64(person)<<24^uint64(a.sessionNo)), 12)
	dst = append(dst, '"')
	if spec.name == "user.logout" || spec.name == "user.session.expire" || spec.name == "user.session.revoke" {
		a.sessionStartUs = 0
	}
	return dst
}

func (g *Generator) appendMessage(dst []byte, action, outcome int, slot string) []byte {
	ts := g.messages[action][outcome]
	t := &ts[g.rng.intn(len(ts))]
	dst = append(dst, `,"message":"`...)
	dst = append(dst, t.pre...)
	switch t.slot {
	case slotRes:
		dst = append(dst, slot...)
	case slotNum:
		dst = strconv.AppendInt(dst, g.rng.logUniform(2, 1000), 10)
	}
	dst = append(dst, t.post...)
	return append(dst, '"')
}

// startBurst maybe starts a brute-force burst after the event at offUs,
// when the plan has room for it: it must end before End and leave planned
// events for the main stream.
func (g *Generator) startBurst(offUs int64, remaining int64) {
	r := &g.rng
	n := r.between(burstMin, burstMax)
	const maxGapUs = 1500000
	if int64(n)+2 >= remaining || offUs+int64(n)*maxGapUs >= g.clock.spanUs {
		return
	}
	b := &g.burst
	*b = burst{left: n, nextUs: offUs + r.logUniform(50000, maxGapUs)}
	b.ipLen = len(appendIP(b.ip[:0], r, netExternal))
	b.agent = attackAgents[r.intn(len(attackAgents))]
	b.src = srcSSO
	if r.chance(0.5) {
		b.src = srcAuth
	}
	if r.chance(0.5) {
		if r.chance(0.3) {
			b.target = guessedNames[r.intn(len(guessedNames))]
		} else {
			b.target = g.people[r.intn(len(g.people))].id
		}
	}
	b.success = b.target != "" && r.chance(0.1)
}

// burstEvent writes the next attempt of the burst in progress.
func (g *Generator) burstEvent(dst []byte) []byte {
	r := &g.rng
	b := &g.burst
	offUs := max(b.nextUs, g.lastUs)
	g.lastUs = offUs
	b.left--
	b.attempt++
	b.nextUs = offUs + r.logUniform(30000, 1500000)
	outcome := ocFailure
	if b.left == 0 && b.success {
		outcome = ocSuccess
	}
	dst = g.open(dst, offUs)
	dst = append(dst, g.heads[0]...) // user.login
	dst = appendOutcome(dst, outcome)
	dst = append(dst, `"actor":{"type":"user","id":"`...)
	if b.target != "" {
		dst = append(dst, b.target...)
	} else if r.chance(0.3) {
		dst = append(dst, guessedNames[r.intn(len(guessedNames))]...)
	} else {
		dst = append(dst, g.people[r.intn(len(g.people))].id...)
	}
	dst = append(dst, `","ip":"`...)
	dst = append(dst, b.ip[:b.ipLen]...)
	dst = appendStr(dst, `","user_agent":"`, b.agent)
	dst = append(dst, "},"...)
	hosts := g.hosts[b.src]
	dst = append(dst, hosts[r.intn(len(hosts))].withHost...)
	switch {
	case outcome == ocSuccess:
		dst = append(dst, `,"message":"login succeeded from new device"`...)
	case b.target != "" && b.attempt > 5:
		dst = append(dst, `,"message":"account locked after repeated failures"`...)
	case b.target == "":
		dst = append(dst, `,"message":"unknown user"`...)
	default:
		dst = append(dst, `,"message":"invalid password"`...)
	}
	dst = append(dst, `,"attributes":{"auth_method":"password","attempt":`...)
	dst = strconv.AppendInt(dst, int64(b.attempt), 10)
	return append(dst, "}}"...)
}
