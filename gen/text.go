package gen

import (
	"strconv"
	"strings"
)

// Messages and attributes: the free text and free-form data of an event.
// Messages are short templates with a stable phrase ("connection refused",
// "MFA challenge passed") and sometimes a slot for the resource or a number,
// so that free-text search has both common and rare words to find.

// Outcomes, as indexes.
const (
	ocSuccess = iota
	ocFailure
	ocDenied
	ocUnknown
)

var outcomeNames = [4]string{"success", "failure", "denied", "unknown"}

// Message classes.
const (
	msgLogin = iota
	msgLogout
	msgLockout
	msgMFA
	msgPassword
	msgSession
	msgIAM
	msgAccount
	msgConfig
	msgDeploy
	msgBuild
	msgDB
	msgBackup
	msgBucket
	msgQueue
	msgAPI
	msgSystem
	msgSecret
	msgBilling
	numMsg
)

// messageText holds each class's templates by outcome. "{res}" is replaced
// by the resource id and "{n}" by a small number. An empty list falls back
// to the generic templates of that outcome.
var messageText = [numMsg][4][]string{
	msgLogin: {
		{"login succeeded", "signed in from known device", "signed in from new device"},
		{"invalid password", "password expired", "unknown user", "MFA challenge failed", "account locked after repeated failures", "SSO assertion expired"},
		{"login blocked by conditional access policy", "sign-in not allowed from this network"},
		nil,
	},
	msgLogout:  {{"logged out", "session ended by user"}, {"session not found"}, nil, nil},
	msgLockout: {{"account locked after {n} failed attempts", "account temporarily locked"}, nil, nil, nil},
	msgMFA: {
		{"MFA challenge passed", "second factor verified"},
		{"MFA challenge failed", "TOTP code rejected", "push notification timed out"},
		{"MFA enrollment required"},
		nil,
	},
	msgPassword: {
		{"password updated"},
		{"password does not meet policy", "reset token expired", "password was used recently"},
		{"password change not allowed for federated users"},
		nil,
	},
	msgSession: {
		{"session updated", "token issued"},
		{"refresh token expired", "token signature invalid"},
		{"client not allowed for this scope"},
		nil,
	},
	msgIAM: {
		{"policy change applied to {res}", "{res} updated"},
		{"policy document invalid", "conflict: resource modified concurrently"},
		{"change requires a second approver", "not authorized to modify {res}"},
		nil,
	},
	msgAccount: {
		{"account {res} updated"},
		{"email already in use", "validation failed", "invitation expired"},
		{"only owners can do this"},
		nil,
	},
	msgConfig: {
		{"configuration updated", "change applied to {res}"},
		{"validation failed", "conflicting change in progress", "schema violation in {res}"},
		{"change requires approval", "config freeze in effect"},
		nil,
	},
	msgDeploy: {
		{"{res} updated", "rollout in progress for {res}"},
		{"health check failed", "image pull failed", "rollout timed out", "out of memory", "readiness probe failed on {res}"},
		{"deploy freeze in effect", "approval required"},
		{"rollout still in progress"},
	},
	msgBuild: {
		{"pipeline step succeeded"},
		{"tests failed", "build timed out", "dependency resolution failed", "lint failed in {res}"},
		{"branch protection prevents this"},
		{"pipeline queued"},
	},
	msgDB: {
		{"query completed", "statement executed on {res}"},
		{"connection refused", "too many connections", "deadlock detected", "statement timeout", "lock wait timeout exceeded", "replica lag too high"},
		{"permission denied for table", "role not allowed to connect to {res}"},
		nil,
	},
	msgBackup: {
		{"snapshot step completed"},
		{"snapshot failed: disk full", "backup verification failed", "restore aborted"},
		nil,
		{"backup still running"},
	},
	msgBucket: {
		{"request completed"},
		{"slow down: request rate too high", "checksum mismatch", "connection reset by peer", "object not found"},
		{"access denied by bucket policy", "object is under legal hold"},
		nil,
	},
	msgQueue: {
		{"queue operation completed"},
		{"consumer lag too high", "message too large", "broker unavailable"},
		nil,
		nil,
	},
	msgAPI: {
		{"request completed"},
		{"rate limit exceeded", "upstream timeout", "bad gateway", "invalid request body"},
		{"token expired", "insufficient scope", "API key revoked"},
		nil,
	},
	msgSystem: {
		{"completed"},
		{"disk full", "out of memory", "process exited with status {n}", "clock drift too large", "unit failed to start"},
		{"sudo: user not in sudoers", "operation not permitted"},
		nil,
	},
	msgSecret: {
		{"request completed"},
		{"lease expired", "vault is sealed", "key not found", "decryption failed"},
		{"policy does not allow access to {res}", "permission denied"},
		nil,
	},
	msgBilling: {
		{"billing operation completed"},
		{"card declined", "payment provider unavailable", "refund exceeds original amount"},
		{`refund exceeds "limit"`, "requires finance approval"},
		nil,
	},
}

var genericText = [4][]string{
	{"completed"},
	{"internal error", "deadline exceeded", "connection refused", "upstream unavailable"},
	{"permission denied", "policy denies action on {res}", "missing required role"},
	{"outcome not reported", "timed out waiting for confirmation"},
}

// template is a message split around its slot, with the fixed parts
// already escaped for a JSON string.
type template struct {
	pre, post string
	slot      uint8
}

const (
	slotNone = iota
	slotRes
	slotNum
)

func newTemplate(text string) template {
	for _, s := range []struct {
		mark string
		slot uint8
	}{{"{res}", slotRes}, {"{n}", slotNum}} {
		if pre, post, ok := strings.Cut(text, s.mark); ok {
			return template{pre: jsonEscape(pre), post: jsonEscape(post), slot: s.slot}
		}
	}
	return template{pre: jsonEscape(text)}
}

// messages builds the template tables of each action by outcome: the
// action's own texts, else its class's, else the generic ones.
func messages(actions []actionSpec) [][4][]template {
	out := make([][4][]template, len(actions))
	for i, a := range actions {
		for oc := range out[i] {
			texts := messageText[a.msg][oc]
			switch {
			case oc == ocSuccess && len(a.okText) > 0:
				texts = a.okText
			case oc == ocFailure && len(a.failText) > 0:
				texts = a.failText
			case len(texts) == 0:
				texts = genericText[oc]
			}
			for _, t := range texts {
				out[i][oc] = append(out[i][oc], newTemplate(t))
			}
		}
	}
	return out
}

// jsonEscape escapes the two characters the templates may contain that a
// JSON string cannot hold raw. Templates have no control characters.
func jsonEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Attribute kinds. Each writes one member of "attributes" (atAmount two).
const (
	atNone = iota
	atRegion
	atRows
	atBytes
	atDuration
	atEnabled
	atMethod
	atStatus
	atMFA
	atAuthMethod
	atGeo
	atIdP
	atDelivery
	atTrigger
	atSessionAge
	atAttempt
	atScope
	atTTL
	atClient
	atAuthenticator
	atKeyType
	atGateway
	atRealm
	atTicket
	atCodesLeft
	atStatements
	atChangeID
	atGrantee
	atExpiry
	atPermission
	atAlgo
	atKeyVersion
	atTeam
	atChanged
	atReason
	atPlan
	atEnv
	atVersion
	atCount
	atPercent
	atRecordType
	atCIDR
	atPort
	atValidDays
	atThreshold
	atRetention
	atCommit
	atBranch
	atVulns
	atReplicas
	atContainer
	atTable
	atTLS
	atKey
	atACL
	atHit
	atFormat
	atPurpose
	atLimit
	atOperation
	atRPC
	atKernel
	atPackage
	atCommand
	atJob
	atExitCode
	atUnit
	atMount
	atOffset
	atPath
	atMode
	atSignal
	atPID
	atInstanceType
	atMemory
	atSecretVersion
	atShares
	atAmount
	atCardBrand
	numAttrs
)

// attrKeys are the members' names, each with its opening quote and colon.
var attrKeys = [numAttrs]string{
	atRegion: "region", atRows: "rows", atBytes: "bytes", atDuration: "duration_ms", atEnabled: "enabled",
	atMethod: "method", atStatus: "status", atMFA: "mfa_method", atAuthMethod: "auth_method", atGeo: "country",
	atIdP: "idp", atDelivery: "delivery", atTrigger: "trigger", atSessionAge: "session_age_s", atAttempt: "attempt",
	atScope: "scope", atTTL: "ttl_s", atClient: "client_id", atAuthenticator: "authenticator", atKeyType: "key_type",
	atGateway: "gateway", atRealm: "realm", atTicket: "ticket", atCodesLeft: "codes_left", atStatements: "statements",
	atChangeID: "change_id", atGrantee: "grantee", atExpiry: "expires_in_s", atPermission: "permission",
	atAlgo: "algorithm", atKeyVersion: "key_version", atTeam: "team", atChanged: "changed", atReason: "reason",
	atPlan: "plan", atEnv: "environment", atVersion: "version", atCount: "count", atPercent: "percent",
	atRecordType: "record_type", atCIDR: "cidr", atPort: "port", atValidDays: "valid_days", atThreshold: "threshold",
	atRetention: "retention_days", atCommit: "commit", atBranch: "branch", atVulns: "critical_vulns",
	atReplicas: "replicas", atContainer: "container", atTable: "table", atTLS: "tls_version", atKey: "key",
	atACL: "acl", atHit: "cache_hit", atFormat: "format", atPurpose: "purpose", atLimit: "limit",
	atOperation: "operation", atRPC: "rpc", atKernel: "kernel", atPackage: "package", atCommand: "command",
	atJob: "job", atExitCode: "exit_code", atUnit: "unit", atMount: "mount", atOffset: "offset_ms", atPath: "path",
	atMode: "mode", atSignal: "signal", atPID: "pid", atInstanceType: "instance_type", atMemory: "memory_mb",
	atSecretVersion: "secret_version", atShares: "key_shares", atAmount: "amount", atCardBrand: "card_brand",
}

// Values of the string attributes that pick from a list.
var attrChoices = [numAttrs][]string{
	atRegion:        regions,
	atMethod:        {"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE"},
	atMFA:           {"totp", "totp", "push", "push", "webauthn", "sms"},
	atAuthMethod:    {"password", "password", "sso", "sso", "sso", "webauthn", "magic_link"},
	atGeo:           {"DE", "DE", "GB", "FR", "NL", "US", "US", "ES", "PL", "IN", "SG", "BR"},
	atIdP:           {"okta", "azure-ad", "google"},
	atDelivery:      {"email", "email", "sms"},
	atTrigger:       {"user", "user", "admin", "expiry", "policy", "automation"},
	atScope:         {"read:orders", "write:orders", "read:users", "admin:billing", "read:reports", "deploy:prod", "openid profile"},
	atClient:        {"app-web", "app-ios", "app-android", "partner-acme", "cli", "grafana", "jira"},
	atAuthenticator: {"yubikey-5", "touch-id", "windows-hello", "passkey"},
	atKeyType:       {"ed25519", "ed25519", "ecdsa-p256", "rsa-4096"},
	atGateway:       {"vpn-fra-1", "vpn-fra-2", "vpn-lon-1", "vpn-iad-1", "vpn-sin-1"},
	atRealm:         {"CORP.EXAMPLE.COM"},
	atPermission:    {"orders:read", "orders:write", "users:read", "users:admin", "billing:refund", "deploy:prod", "secrets:read", "db:connect"},
	atAlgo:          {"EC_P256", "ED25519", "RSA_2048", "RSA_4096"},
	atTeam:          teams,
	atChanged:       {"display_name", "timeout_ms", "max_connections", "log_level", "replicas", "email", "phone", "cache_ttl", "AUDIT_RULES"},
	atReason:        {"fraud_review", "nonpayment", "tos_violation", "key_compromise", "superseded", "incident"},
	atPlan:          {"free", "team", "business", "enterprise"},
	atEnv:           envs,
	atRecordType:    {"A", "AAAA", "CNAME", "TXT", "MX"},
	atCIDR:          {"10.0.0.0/8", "10.4.0.0/16", "172.16.0.0/12", "0.0.0.0/0", "203.0.113.0/24", "198.51.100.0/24"},
	atBranch:        {"main", "main", "main", "release/1.42", "release/1.43", "feature/new-checkout", "fix/race-in-worker", "renovate/go-1.26"},
	atContainer:     {"app", "app", "app", "sidecar", "envoy", "migrate", "worker"},
	atTable:         tables,
	atTLS:           {"TLSv1.3", "TLSv1.3", "TLSv1.3", "TLSv1.2"},
	atACL:           {"private", "private", "bucket-owner-full-control", "public-read"},
	atFormat:        {"csv", "csv", "parquet", "json", "xlsx"},
	atPurpose:       {"support", "support", "fraud_review", "legal_hold", "data_subject_request"},
	atOperation:     {"GetOrders", "GetOrder", "SearchProducts", "GetUser", "ListInvoices", "UpdateCart", "CreateOrder", "CancelSubscription"},
	atRPC:           {"orders.v1.OrderService/Get", "orders.v1.OrderService/List", "users.v1.UserService/Get", "payments.v1.PaymentService/Capture", "inventory.v1.StockService/Reserve", "search.v1.Search/Query"},
	atKernel:        {"6.8.0-49-generic", "6.8.0-51-generic", "6.1.0-27-cloud-amd64", "5.15.0-126-generic"},
	atPackage:       {"openssl", "openssh-server", "nginx", "curl", "libc6", "sudo", "containerd", "postgresql-16", "linux-image-generic"},
	atCommand:       {"systemctl restart nginx", "journalctl -u app", "tail -f /var/log/syslog", "apt-get upgrade", "cat /etc/shadow", "docker ps", "kill -9 4242", "vi /etc/hosts"},
	atJob:           {"logrotate", "certbot-renew", "db-vacuum", "report-nightly", "cleanup-tmp", "sync-users", "reindex", "backup-wal"},
	atUnit:          {"nginx.service", "app.service", "sshd.service", "containerd.service", "node-exporter.service", "postgresql.service"},
	atMount:         {"/", "/var", "/var/lib/docker", "/data"},
	atPath:          {"/etc/ssh/sshd_config", "/etc/sudoers", "/etc/passwd", "/var/lib/app/config.yaml", "/opt/app/bin/server", "/etc/shadow"},
	atMode:          {"0600", "0644", "0755", "0777", "0440"},
	atSignal:        {"SIGTERM", "SIGTERM", "SIGKILL", "SIGHUP"},
	atInstanceType:  {"m7g.large", "m7g.xlarge", "c7g.2xlarge", "r7g.xlarge", "t4g.medium"},
	atCardBrand:     {"visa", "visa", "mastercard", "amex", "sepa_debit"},
}

var (
	keyPrefixes    = []string{"exports/2026/11/report-", "uploads/user-", "backups/wal-", "logs/app-", "invoices/inv-", "media/img-"}
	keySuffixes    = []string{".csv", ".json", ".gz", ".log", ".pdf", ".jpg"}
	currencies     = []string{"EUR", "EUR", "USD", "USD", "GBP"}
	statusSuccess  = []int64{200, 200, 200, 200, 201, 204}
	statusFailure  = []int64{500, 502, 503, 504, 429, 400}
	statusDenied   = []int64{401, 403, 403}
	percents       = []int64{1, 5, 10, 25, 50, 100}
	ports          = []int64{22, 80, 443, 443, 5432, 6379, 8080, 9090}
	ticketPrefixes = []string{"SUP-", "SEC-", "OPS-", "CHG-"}
	validDays      = []int64{30, 90, 90, 365}
	ttls           = []int64{300, 900, 3600, 3600, 28800, 86400}
	retentionDays  = []int64{7, 30, 90, 365, 2555}
	failExitCodes  = []int64{1, 1, 2, 137, 143}
	memoryMB       = []int64{256, 512, 1024, 2048, 4096}
	limits         = []int64{100, 600, 1000, 5000, 10000}
	replicaCounts  = []int64{1, 2, 3, 4, 6, 8, 12, 24}
	thresholdsPcts = []int64{50, 80, 90, 95, 99}
)

func pickInt(r *rng, vs []int64) int64 { return vs[r.intn(len(vs))] }

// appendAttr appends the value of attribute kind (the key is already
// written).
func (g *Generator) appendAttr(dst []byte, kind uint8, outcome int) []byte {
	r := &g.rng
	if choices := attrChoices[kind]; choices != nil {
		dst = append(dst, '"')
		dst = append(dst, choices[r.intn(len(choices))]...)
		return append(dst, '"')
	}
	var v int64
	switch kind {
	case atRows:
		v = r.logUniform(1, 2e6)
	case atBytes:
		v = r.logUniform(200, 5e9)
	case atDuration:
		v = r.logUniform(1, 120000)
	case atEnabled:
		return strconv.AppendBool(dst, r.chance(0.6))
	case atHit:
		return strconv.AppendBool(dst, r.chance(0.85))
	case atStatus:
		switch outcome {
		case ocSuccess:
			v = pickInt(r, statusSuccess)
		case ocDenied:
			v = pickInt(r, statusDenied)
		default:
			v = pickInt(r, statusFailure)
		}
	case atSessionAge:
		v = r.logUniform(30, 86400)
	case atAttempt:
		v = int64(r.between(1, 12))
	case atTTL, atExpiry:
		v = pickInt(r, ttls)
	case atCodesLeft:
		v = int64(r.between(0, 9))
	case atStatements:
		v = int64(r.between(1, 24))
	case atKeyVersion, atSecretVersion:
		v = int64(r.between(1, 40))
	case atCount:
		v = r.logUniform(1, 5000)
	case atPercent:
		v = pickInt(r, percents)
	case atPort:
		v = pickInt(r, ports)
	case atValidDays:
		v = pickInt(r, validDays)
	case atThreshold:
		v = pickInt(r, thresholdsPcts)
	case atRetention:
		v = pickInt(r, retentionDays)
	case atVulns:
		v = int64(r.intn(4) * r.intn(3))
	case atReplicas:
		v = pickInt(r, replicaCounts)
	case atLimit:
		v = pickInt(r, limits)
	case atExitCode:
		if outcome == ocFailure {
			v = pickInt(r, failExitCodes)
		}
	case atOffset:
		v = int64(r.between(-250, 250))
	case atPID:
		v = int64(r.between(300, 4194304))
	case atMemory:
		v = pickInt(r, memoryMB)
	case atShares:
		v = int64(r.between(3, 5))
	case atTicket:
		dst = append(dst, `"`...)
		dst = append(dst, ticketPrefixes[r.intn(len(ticketPrefixes))]...)
		dst = strconv.AppendInt(dst, int64(r.between(1000, 99999)), 10)
		return append(dst, '"')
	case atChangeID:
		dst = append(dst, `"CHG-`...)
		dst = strconv.AppendInt(dst, int64(r.between(10000, 99999)), 10)
		return append(dst, '"')
	case atGrantee:
		dst = append(dst, '"')
		dst = append(dst, g.people[r.intn(len(g.people))].id...)
		return append(dst, '"')
	case atVersion:
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, int64(r.between(1, 4)), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(r.between(0, 60)), 10)
		dst = append(dst, '.')
		dst = strconv.AppendInt(dst, int64(r.between(0, 20)), 10)
		return append(dst, '"')
	case atCommit:
		dst = append(dst, '"')
		dst = appendHex(dst, r.next(), 12)
		return append(dst, '"')
	case atKey:
		dst = append(dst, '"')
		dst = append(dst, keyPrefixes[r.intn(len(keyPrefixes))]...)
		dst = strconv.AppendInt(dst, int64(r.between(1, 99999)), 10)
		dst = append(dst, keySuffixes[r.intn(len(keySuffixes))]...)
		return append(dst, '"')
	case atAmount:
		dst = strconv.AppendFloat(dst, float64(r.logUniform(100, 5e6))/100, 'f', 2, 64)
		dst = append(dst, `,"currency":"`...)
		dst = append(dst, currencies[r.intn(len(currencies))]...)
		return append(dst, '"')
	}
	return strconv.AppendInt(dst, v, 10)
}
