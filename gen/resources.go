package gen

// Resources: what actions are done to. Each kind is a pool of named things
// of one type, picked with Zipf weights (s = 1) in a per-seed shuffled
// order, so a few databases and buckets are hot and most are not.

const (
	resNone = iota
	resUser
	resDatabase
	resBucket
	resRepo
	resService
	resSecret
	resPolicy
	resRole
	resGroup
	resHost
	resFlag
	resConfig
	resKey
	resToken
	resNamespace
	resQueue
	resEndpoint
	resDNS
	resCert
	resFirewall
	resPipeline
	resImage
	resCustomer
	resWebhook
	resAlert
	resReport
	resDataset
	numRes
)

// The company's applications; most resources are named after them.
var apps = []string{"payments", "orders", "users", "billing", "search", "catalog", "inventory", "shipping",
	"notifications", "auth", "ledger", "analytics", "reporting", "checkout", "cart", "pricing", "fraud",
	"recommendations", "media", "messaging", "gateway", "profile", "audit", "support", "marketing",
	"loyalty", "tax", "identity", "scheduler", "export"}

var (
	envs    = []string{"prod", "staging", "dev"}
	regions = []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1", "ap-northeast-1"}
	tables  = []string{"orders", "users", "sessions", "payments", "invoices", "line_items", "events", "accounts", "audit_log", "products", "shipments", "refunds"}
	teams   = []string{"sre", "platform", "payments", "data", "security", "support", "finance", "mobile", "web", "growth", "ml", "infra"}
	roles   = []string{"admin", "sre", "developer", "analyst", "support", "billing-admin", "security-auditor", "db-admin",
		"on-call", "read-only", "deployer", "release-manager", "data-engineer", "finance", "incident-commander", "network-admin"}
)

// resource is one pool member with its prebuilt JSON members.
type resource struct {
	id           string
	full, noName string // `"resource":{...}` with and without the name
}

type pool struct {
	items []resource
	pick  alias
}

func (p *pool) sample(r *rng) *resource { return &p.items[p.pick.sample(r)] }

// resourceTypes names each kind's "type".
var resourceTypes = [numRes]string{
	resUser: "user", resDatabase: "database", resBucket: "bucket", resRepo: "repository", resService: "service",
	resSecret: "secret", resPolicy: "policy", resRole: "role", resGroup: "group", resHost: "host",
	resFlag: "feature_flag", resConfig: "config", resKey: "key", resToken: "token", resNamespace: "namespace",
	resQueue: "queue", resEndpoint: "endpoint", resDNS: "dns_record", resCert: "certificate",
	resFirewall: "firewall_rule", resPipeline: "pipeline", resImage: "image", resCustomer: "customer",
	resWebhook: "webhook", resAlert: "alert_rule", resReport: "report", resDataset: "dataset",
}

// newPools builds every kind's pool. People are the pool of kind user, so
// that account and IAM events name real members of the population.
func newPools(r *rng, people []actor) [numRes]pool {
	var pools [numRes]pool
	for kind := resUser; kind < numRes; kind++ {
		var items []resource
		add := func(id, name string) {
			base := `"resource":{"type":"` + resourceTypes[kind] + `","id":"` + id + `"`
			res := resource{id: id, full: base + "}", noName: base + "}"}
			if name != "" {
				res.full = base + `,"name":"` + name + `"}`
			}
			items = append(items, res)
		}
		buildPool(kind, r, people, add)
		// Shuffle so that which database is hot depends on the seed.
		for i := len(items) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			items[i], items[j] = items[j], items[i]
		}
		s := 1.0
		if kind == resUser {
			s = 0.6 // admins act on many accounts, not on a favourite few
		}
		pools[kind] = pool{items: items, pick: newAlias(zipfWeights(len(items), s))}
	}
	return pools
}

func buildPool(kind int, r *rng, people []actor, add func(id, name string)) {
	switch kind {
	case resUser:
		for i := range people {
			add(people[i].id, people[i].name)
		}
	case resDatabase:
		for _, app := range apps {
			for _, env := range envs[:2] {
				add("pg-"+app+"-"+env, app+" "+env+" primary")
			}
		}
	case resBucket:
		for _, app := range apps {
			for _, kind := range []string{"exports", "uploads", "backups", "logs"} {
				add("acme-"+app+"-"+kind, "")
			}
		}
	case resRepo:
		for _, app := range apps {
			for _, kind := range []string{"api", "web", "worker"} {
				add("acme/"+app+"-"+kind, app+" "+kind)
			}
		}
		add("acme/infrastructure", "terraform")
	case resService:
		for _, app := range apps {
			add(app, app+" service")
		}
	case resSecret:
		for _, env := range envs[:2] {
			for _, app := range apps {
				for _, s := range []string{"db-password", "api-key", "signing-key", "oauth-client-secret", "smtp-password"} {
					add(env+"/"+app+"/"+s, "")
				}
			}
		}
	case resPolicy:
		for i, name := range []string{"ReadOnlyAccess", "PowerUserAccess", "BillingAdmin", "SecurityAudit", "NetworkAdmin", "DatabaseAdmin", "SupportAccess", "DeployerAccess", "BreakGlass"} {
			add("pol-"+pad(i+1, 4), name)
		}
		for i, app := range apps {
			add("pol-"+pad(100+2*i, 4), app+"-read")
			add("pol-"+pad(101+2*i, 4), app+"-write")
		}
	case resRole:
		for _, role := range roles {
			add("role-"+role, role)
		}
	case resGroup:
		for _, team := range teams {
			add("grp-"+team, team+" team")
		}
	case resHost:
		for _, prefix := range []string{"web", "api", "worker", "db", "cache", "batch", "bastion", "ci-runner"} {
			for i := 1; i <= 25; i++ {
				add(prefix+"-"+pad(i, 3), prefix+"-"+pad(i, 3)+"."+regions[r.intn(len(regions))])
			}
		}
	case resFlag:
		for _, app := range apps {
			for _, f := range []string{"v2-api", "beta-ui", "fast-path", "dark-launch", "new-pricing", "async-export"} {
				add(app+"-"+f, "")
			}
		}
	case resConfig:
		for _, app := range apps {
			for _, k := range []string{"timeout_ms", "max_connections", "rate_limit", "log_level", "retry_policy", "cache_ttl"} {
				add(app+"/"+k, "")
			}
		}
	case resKey:
		for _, env := range envs[:2] {
			for _, app := range apps {
				add("kms/"+env+"-"+app+"-signing", app+" signing key")
				add("kms/"+env+"-"+app+"-data", app+" data key")
			}
		}
	case resToken:
		for range 2000 {
			add("tok_"+hex16(r.next()), "")
		}
	case resNamespace:
		for _, app := range apps {
			for _, env := range envs {
				add(app+"-"+env, "")
			}
		}
	case resQueue:
		for _, app := range apps {
			add(app+".events", "")
			add(app+".jobs", "")
		}
	case resEndpoint:
		for _, app := range apps {
			add("/v1/"+app, "")
			add("/v1/"+app+"/{id}", "")
			add("/v2/"+app+"/search", "")
		}
	case resDNS:
		for _, app := range apps {
			add(app+".example.com", "")
			add(app+".internal.example.net", "")
		}
	case resCert:
		add("*.example.com", "wildcard")
		for _, app := range apps {
			add(app+".example.com", "")
		}
	case resFirewall:
		for _, app := range apps {
			add("fw-"+app+"-ingress", "")
			add("fw-"+app+"-egress", "")
		}
	case resPipeline:
		for _, app := range apps {
			add(app+"-build", "")
			add(app+"-release", "")
		}
	case resImage:
		for _, app := range apps {
			add("registry.example.com/"+app, "")
		}
	case resCustomer:
		for i := range 5000 {
			add("cus-"+pad(100000+i*7, 6), "")
		}
	case resWebhook:
		for _, app := range apps {
			add("wh-"+app, "")
		}
	case resAlert:
		for _, app := range apps {
			for _, k := range []string{"latency", "errors", "saturation"} {
				add("alert-"+app+"-"+k, app+" "+k)
			}
		}
	case resReport:
		for _, name := range []string{"monthly-revenue", "active-users", "churn", "sla", "access-review", "cost-by-team", "security-findings", "sox-controls", "gdpr-requests", "incident-summary"} {
			add("report-"+name, "")
		}
	case resDataset:
		for _, app := range apps {
			add("ds-"+app+"-daily", app+" daily snapshot")
			add("ds-"+app+"-events", app+" events")
		}
	}
}

const hexDigits = "0123456789abcdef"

// appendHex appends the low 4·n bits of v as n lowercase hex digits.
func appendHex(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*uint(i)))&15])
	}
	return dst
}

func hex16(v uint64) string { return string(appendHex(nil, v, 16)) }
