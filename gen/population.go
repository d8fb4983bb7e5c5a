package gen

import (
	"strconv"
)

// The population: actors with their networks, agents and sessions, and the
// hosts of the services that report events. Everything is built once in New
// from the seed; Next only picks from it. Strings that Next writes are
// prebuilt as JSON fragments, which is most of why Next does not allocate.
// No string here needs JSON escaping (the tests parse every event).

const (
	kindUser    = 0
	kindAdmin   = 1
	kindService = 2
)

var kindNames = [3]string{"user", "admin", "service"}

// Names for "First Last". A few are not ASCII, as real directories are not.
var (
	firstNames = []string{"Ann", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Kemal", "Laura", "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
		"Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoë", "Amara", "Bruno", "Carmen", "Dmitri",
		"Erik", "Fatima", "Gustavo", "Hana", "Igor", "Julia", "Kofi", "Lena", "Marco", "Noor"}
	lastNames = []string{"Lee", "Smith", "García", "Müller", "Kowalski", "Nakamura", "Okafor", "Rossi", "Dubois", "Silva",
		"Novak", "Jensen", "Petrov", "Chen", "Patel", "Khan", "Nguyen", "Johansson", "Moreau", "Costa",
		"Brown", "Schmidt", "Yamada", "Haddad", "Ivanova", "O'Brien", "Fischer", "Kim", "Lopez", "Wright",
		"Andersen", "Becker", "Cruz", "Das", "Ekström", "Fontaine", "Gomez", "Horvat", "Ito", "Jovanović"}
)

// Service accounts by role. Lists are in order of activity: the first of
// each role is its busiest, and roles are interleaved so that the first
// accounts cover every role.
var serviceNames = [][]string{
	roleETL:        {"svc-etl", "svc-airflow", "svc-dbt", "svc-spark"},
	roleMonitoring: {"svc-monitoring", "svc-prometheus", "svc-datadog-agent"},
	roleAPI:        {"svc-mobile-backend", "svc-partner-gateway", "svc-webhooks"},
	roleK8s:        {"svc-k8s-operator", "svc-karpenter"},
	roleCI:         {"svc-ci", "svc-github-actions", "svc-buildkite"},
	roleDeployer:   {"svc-deployer", "svc-argocd", "svc-spinnaker"},
	roleSecrets:    {"svc-vault-agent", "svc-cert-manager", "svc-external-secrets"},
	roleBackup:     {"svc-backup", "svc-snapshotter"},
	roleBilling:    {"svc-billing-worker", "svc-invoicer"},
	roleScheduler:  {"svc-cron", "svc-scheduler"},
}

// Browser and tool agents of people, by how common they are as someone's
// usual agent.
var humanAgents = []struct {
	ua     string
	weight float64
}{
	{"Mozilla/5.0 (Windows NT 10.0) Chrome/131.0", 30},
	{"Mozilla/5.0 (Macintosh) Chrome/131.0", 22},
	{"Mozilla/5.0 (Macintosh) Safari/18.1", 12},
	{"Mozilla/5.0 (Windows NT 10.0) Firefox/133.0", 8},
	{"Mozilla/5.0 (X11; Linux) Firefox/133.0", 5},
	{"Mozilla/5.0 (Windows NT 10.0) Edg/131.0", 6},
	{"Mozilla/5.0 (iPhone) Mobile Safari/18.1", 4},
	{"stele-cli/1.4.2", 3},
	{"aws-cli/2.22.4", 3},
	{"kubectl/v1.31.3", 3},
	{"curl/8.11.0", 2},
	{"terraform/1.9.8", 2},
}

var serviceAgents = []string{"Go-http-client/2.0", "python-requests/2.32.3", "okhttp/4.12.0", "grpc-go/1.68.0", "Apache-HttpClient/5.4", "node-fetch/3.3.2"}

// Agents of brute-force bursts.
var attackAgents = []string{"python-requests/2.25.1", "Hydra/9.5", "curl/7.68.0", "Mozilla/5.0 (compatible; MSIE 9.0)"}

// actor is one member of the population. head is the prebuilt
// `"actor":{"id":"u-00042","name":"Ann Lee"` (with the name) and headNoName
// the same without it; the rest of the object is written per event.
type actor struct {
	head, headNoName string
	id, name         string
	typ              string // "user", "admin" or "service"
	kind             uint8
	role             uint8  // service role; for people, none
	agent            uint16 // index into humanAgents or serviceAgents
	home, alt        string // usual IP and second (VPN) IP
	network          uint8  // network of home
	sessionNo        uint32
	sessionStartUs   int64 // when the current session began; 0: none yet
}

// Networks. Corporate and VPN are private ranges; the external ranges and
// the IPv6 prefix are the documentation ranges (RFC 5737, RFC 3849).
const (
	netCorp = iota
	netVPN
	netExternal
	netIPv6
)

var networkNames = [...]string{"corp", "vpn", "external", "ipv6"}

// homeNetworkWeights: where people usually connect from.
var homeNetworkWeights = []float64{netCorp: 70, netVPN: 15, netExternal: 5, netIPv6: 10}

// appendIP appends a random address of network to dst.
func appendIP(dst []byte, r *rng, network int) []byte {
	switch network {
	case netCorp:
		// 10.<site>.<floor>.<host>: a few office sites, many hosts.
		dst = append(dst, "10."...)
		dst = strconv.AppendInt(dst, int64(r.between(1, 12)), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(r.between(0, 63)), 10)
		dst = append(dst, '.')
		return strconv.AppendInt(dst, int64(r.between(2, 254)), 10)
	case netVPN:
		dst = append(dst, "172."...)
		dst = strconv.AppendInt(dst, int64(r.between(16, 31)), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(r.between(0, 255)), 10)
		dst = append(dst, '.')
		return strconv.AppendInt(dst, int64(r.between(1, 254)), 10)
	case netExternal:
		if r.chance(0.5) {
			dst = append(dst, "203.0.113."...)
		} else {
			dst = append(dst, "198.51.100."...)
		}
		return strconv.AppendInt(dst, int64(r.between(1, 254)), 10)
	default:
		// 2001:db8:<site>:<subnet>::<host>, already in netip's canonical
		// compressed lowercase form.
		dst = append(dst, "2001:db8:"...)
		dst = strconv.AppendInt(dst, int64(r.between(1, 9)), 16)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(r.between(1, 0xfff)), 16)
		dst = append(dst, "::"...)
		return strconv.AppendInt(dst, int64(r.between(1, 0xffff)), 16)
	}
}

func ipString(r *rng, network int) string { return string(appendIP(nil, r, network)) }

// Service accounts are about 1 in 200 actors and admins 1 in 100, with at
// least one of each once there are people left to be users.
func populationSizes(actors int) (users, admins, services int) {
	services = min(actors-1, max(1, actors/200))
	people := actors - services
	admins = min(people-1, max(1, actors/100))
	return people - admins, max(admins, 0), services
}

// newPopulation builds the actors: people first (users and admins mixed),
// then service accounts. idWidth keeps ids the same width.
func newPopulation(r *rng, actors int) (people, services []actor) {
	users, admins, nsvc := populationSizes(actors)
	width := max(5, len(strconv.Itoa(users+admins)))
	agents := make([]float64, len(humanAgents))
	for i, a := range humanAgents {
		agents[i] = a.weight
	}
	agentTable := newAlias(agents)
	netTable := newAlias(homeNetworkWeights)
	people = make([]actor, users+admins)
	// Admins are spread through the population rather than the first
	// ones, so that the Zipf ranking does not decide who is an admin.
	adminEvery := 0
	if admins > 0 {
		adminEvery = len(people) / admins
	}
	for i := range people {
		a := &people[i]
		a.id = "u-" + pad(i+1, width)
		a.name = firstNames[r.intn(len(firstNames))] + " " + lastNames[r.intn(len(lastNames))]
		a.kind = kindUser
		if adminEvery > 0 && i%adminEvery == adminEvery/2 && i/adminEvery < admins {
			a.kind = kindAdmin
		}
		a.agent = uint16(agentTable.sample(r))
		a.network = uint8(netTable.sample(r))
		a.home = ipString(r, int(a.network))
		a.alt = ipString(r, netVPN)
	}
	services = make([]actor, nsvc)
	for i := range services {
		a := &services[i]
		role := i % numRoles
		names := serviceNames[role]
		n := i / numRoles
		a.id = names[n%len(names)]
		if n >= len(names) {
			a.id += "-" + strconv.Itoa(n/len(names)+1)
		}
		a.kind, a.role = kindService, uint8(role)
		a.agent = uint16(r.intn(len(serviceAgents)))
		a.home = "10.240." + strconv.Itoa(r.between(0, 255)) + "." + strconv.Itoa(r.between(2, 254))
		a.alt = a.home
	}
	for i := range people {
		people[i].finish()
	}
	for i := range services {
		services[i].finish()
	}
	return people, services
}

func (a *actor) finish() {
	a.typ = kindNames[a.kind]
	a.headNoName = `"actor":{"type":"` + a.typ + `","id":"` + a.id + `"`
	a.head = a.headNoName
	if a.kind != kindService {
		a.head += `,"name":"` + a.name + `"`
	}
}

// pad formats v with leading zeros to width digits.
func pad(v, width int) string {
	s := strconv.Itoa(v)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// host is one machine of a reporting service, with its prebuilt source
// objects.
type host struct {
	withIP, withHost, serviceOnly string
}

// Reporting services and how many hosts each runs.
var reporters = []struct {
	name  string
	hosts int
}{
	{"auth", 6}, {"sso", 4}, {"iam", 3}, {"accounts", 3}, {"console", 4}, {"config", 3},
	{"deployer", 3}, {"ci", 8}, {"k8s-apiserver", 3}, {"db-proxy", 8}, {"storage", 6},
	{"api", 12}, {"gateway", 6}, {"vault", 3}, {"kms", 3}, {"billing", 4}, {"node", 40},
	{"queue", 4}, {"search", 3},
}

// Indexes into reporters, for the action table.
const (
	srcAuth = iota
	srcSSO
	srcIAM
	srcAccounts
	srcConsole
	srcConfig
	srcDeployer
	srcCI
	srcK8s
	srcDBProxy
	srcStorage
	srcAPI
	srcGateway
	srcVault
	srcKMS
	srcBilling
	srcNode
	srcQueue
	srcSearch
)

// newHosts builds every reporter's hosts, with internal addresses
// 10.<100+service>.<rack>.<n>.
func newHosts() [][]host {
	out := make([][]host, len(reporters))
	for s, rep := range reporters {
		out[s] = make([]host, rep.hosts)
		for i := range out[s] {
			name := rep.name + "-" + strconv.Itoa(i+1)
			if rep.name == "node" {
				name = "ip-10-" + strconv.Itoa(100+s) + "-" + strconv.Itoa(i/16) + "-" + strconv.Itoa(10+i%16)
			}
			ip := "10." + strconv.Itoa(100+s) + "." + strconv.Itoa(i/16) + "." + strconv.Itoa(10+i%16)
			service := `"source":{"service":"` + rep.name + `"`
			base := service + `,"host":"` + name + `"`
			out[s][i] = host{withIP: base + `,"ip":"` + ip + `"}`, withHost: base + `}`, serviceOnly: service + `}`}
		}
	}
	return out
}
