package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var (
	actions  = []string{"user.login", "user.logout", "user.login.failed", "iam.policy.update", "iam.role.grant", "config.change", "deploy.start", "deploy.finish", "db.read", "db.write", "api.call", "secret.read"}
	outcomes = []string{"success", "success", "success", "success", "failure", "denied"}
	services = []string{"api", "auth", "billing", "deployer", "db-proxy", "vault"}
)

// Event returns one realistic audit event of about size bytes of JSON
// (never smaller than the fields need). id, if not empty, is set as the
// client id.
func Event(rng *rand.Rand, size int, id string) string {
	actor := rng.IntN(10000)
	var b strings.Builder
	b.WriteString(`{`)
	if id != "" {
		fmt.Fprintf(&b, `"id":%q,`, id)
	}
	fmt.Fprintf(&b, `"action":%q,"actor":{"type":"user","id":"u-%05d","name":"user %d","ip":"10.%d.%d.%d"},`,
		actions[rng.IntN(len(actions))], actor, actor, rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
	fmt.Fprintf(&b, `"resource":{"type":"database","id":"db-%03d"},"outcome":%q,"category":"api",`, rng.IntN(500), outcomes[rng.IntN(len(outcomes))])
	fmt.Fprintf(&b, `"source":{"service":%q,"host":"host-%02d"},"request_id":"%08x",`, services[rng.IntN(len(services))], rng.IntN(64), rng.Uint32())
	fmt.Fprintf(&b, `"attributes":{"rows":%d},"message":"`, rng.IntN(100000))
	const tail = `"}`
	pad := size - b.Len() - len(tail)
	for i := 0; i < pad; i++ {
		b.WriteByte("abcdefghijklmnopqrstuvwxyz "[rng.IntN(27)])
	}
	b.WriteString(tail)
	return b.String()
}

// body is a request body template. When ids are on, idAt holds the offsets
// of each event's fixed-width id placeholder, rewritten before every send.
type body struct {
	data []byte
	idAt []int
}

const idWidth = 24 // "b" + 7 hex run + 16 hex counter

// makeBody builds a request body of n events in NDJSON (n > 1) or a single
// JSON object (n == 1).
func makeBody(rng *rand.Rand, n, size int, ids bool) body {
	var b body
	for i := range n {
		id := ""
		if ids {
			id = strings.Repeat("0", idWidth)
		}
		ev := Event(rng, size, id)
		if ids {
			b.idAt = append(b.idAt, len(b.data)+strings.Index(ev, id))
		}
		b.data = append(b.data, ev...)
		if n > 1 || i < n-1 {
			b.data = append(b.data, '\n')
		}
	}
	return b
}

// stamp writes unique ids into a copy of the template.
func (b body) stamp(dst []byte, run uint32, counter *uint64) []byte {
	dst = append(dst[:0], b.data...)
	for _, at := range b.idAt {
		*counter++
		id := dst[at : at+idWidth]
		id[0] = 'b'
		putHex(id[1:8], uint64(run))
		putHex(id[8:], *counter)
	}
	return dst
}

// putHex writes the low 4*len(dst) bits of v as lowercase hex.
func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = "0123456789abcdef"[v&15]
		v >>= 4
	}
}
