package k8saudit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/jcs"
)

// ItemError is an audit event that cannot be mapped. It wraps
// stele.ErrInvalid; Index is the item's position in the EventList.
type ItemError struct {
	Index  int // -1: the body as a whole
	Reason string
}

func (e *ItemError) Error() string {
	if e.Index < 0 {
		return "k8saudit: " + e.Reason
	}
	return fmt.Sprintf("k8saudit: item %d: %s", e.Index, e.Reason)
}

// Unwrap returns stele.ErrInvalid.
func (e *ItemError) Unwrap() error { return stele.ErrInvalid }

// Parsed is an EventList mapped into stele input events.
type Parsed struct {
	Events  [][]byte // one compact JSON object each, in stele's input schema
	Item    []int    // Item[i] is the index in the list of Events[i]
	Items   int      // items in the list
	Dropped int      // items of a non-final stage, left out (see ParseEventList)
}

// ParseEventList maps an audit.k8s.io/v1 EventList. Unless allStages,
// only events of a final stage (ResponseComplete, Panic) are kept: the
// others describe the same request earlier, and are counted in Dropped. A
// malformed list or item returns an *ItemError and no events.
func ParseEventList(body []byte, allStages bool) (*Parsed, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, &ItemError{Index: -1, Reason: "the body is not a JSON object"}
	}
	var list EventList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, &ItemError{Index: -1, Reason: err.Error()}
	}
	if list.APIVersion != "audit.k8s.io/v1" || list.Kind != "EventList" {
		return nil, &ItemError{Index: -1, Reason: fmt.Sprintf("apiVersion %q kind %q: want audit.k8s.io/v1 EventList", list.APIVersion, list.Kind)}
	}
	p := &Parsed{Items: len(list.Items)}
	for i, item := range list.Items {
		item = bytes.TrimSpace(item)
		if len(item) == 0 || item[0] != '{' {
			return nil, &ItemError{Index: i, Reason: "not a JSON object"}
		}
		var ev Event
		if err := json.Unmarshal(item, &ev); err != nil {
			return nil, &ItemError{Index: i, Reason: err.Error()}
		}
		final := ev.Stage == StageResponseComplete || ev.Stage == StagePanic
		if !final && !allStages {
			p.Dropped++
			continue
		}
		mapped, err := mapEvent(&ev, item, allStages)
		if err != nil {
			return nil, &ItemError{Index: i, Reason: err.Error()}
		}
		p.Events = append(p.Events, mapped)
		p.Item = append(p.Item, i)
	}
	return p, nil
}

func mapEvent(ev *Event, raw []byte, allStages bool) ([]byte, error) {
	if ev.AuditID == "" {
		return nil, fmt.Errorf("auditID is missing")
	}
	if ev.Verb == "" {
		return nil, fmt.Errorf("verb is missing")
	}
	if ev.Stage == "" {
		return nil, fmt.Errorf("stage is missing")
	}
	out := map[string]any{
		"action":     Action(ev),
		"category":   "kubernetes",
		"source":     map[string]string{"service": "kube-apiserver"},
		"request_id": ev.AuditID,
		"outcome":    outcome(ev),
		"raw":        json.RawMessage(raw),
	}
	// The idempotency key is the event's content, not its auditID: a client
	// sets the auditID (the Audit-ID request header), so two different
	// requests can share one, and one can be longer than a stele id. An
	// apiserver's redelivery resends the same event, and gets the same id.
	canon, err := jcs.Canonicalize(nil, raw)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	sum := sha256.Sum256(canon)
	out["id"] = "k8s-" + hex.EncodeToString(sum[:16])
	msg := ev.Verb
	if ev.RequestURI != "" {
		msg += " " + ev.RequestURI
	}
	out["message"] = msg
	if ev.StageTimestamp != "" {
		out["time"] = ev.StageTimestamp
	} else if ev.RequestReceivedTimestamp != "" {
		out["time"] = ev.RequestReceivedTimestamp
	}

	actor := map[string]string{}
	if u := ev.User.Username; u != "" {
		actor["id"] = u
		actor["type"] = "user"
		if strings.HasPrefix(u, "system:serviceaccount:") {
			actor["type"] = "service"
		}
	}
	// An address the apiserver wrote that netip cannot read is left to raw,
	// rather than refusing the whole batch of audit events.
	if len(ev.SourceIPs) > 0 {
		if ip, err := netip.ParseAddr(ev.SourceIPs[0]); err == nil {
			actor["ip"] = ip.WithZone("").String()
		}
	}
	if ev.UserAgent != "" {
		actor["user_agent"] = ev.UserAgent
	}
	if len(actor) > 0 {
		out["actor"] = actor
	}

	attrs := map[string]any{"level": ev.Level, "stage": ev.Stage}
	if ev.User.UID != "" {
		attrs["user_uid"] = ev.User.UID
	}
	if len(ev.User.Groups) > 0 {
		attrs["groups"] = ev.User.Groups
	}
	if iu := ev.ImpersonatedUser; iu != nil && iu.Username != "" {
		imp := map[string]any{"username": iu.Username}
		if len(iu.Groups) > 0 {
			imp["groups"] = iu.Groups
		}
		attrs["impersonated_user"] = imp
	}
	if len(ev.SourceIPs) > 1 {
		attrs["source_ips"] = ev.SourceIPs
	}
	if ref := ev.ObjectRef; ref != nil {
		resource := map[string]string{}
		if ref.Resource != "" {
			resource["type"] = ref.Resource
		}
		if ref.Name != "" {
			resource["name"] = ref.Name
			resource["id"] = ref.Name
			if ref.Namespace != "" {
				resource["id"] = ref.Namespace + "/" + ref.Name
			}
		}
		if len(resource) > 0 {
			out["resource"] = resource
		}
		for key, val := range map[string]string{
			"namespace": ref.Namespace, "api_group": ref.APIGroup, "api_version": ref.APIVersion,
			"subresource": ref.Subresource, "object_uid": ref.UID,
		} {
			if val != "" {
				attrs[key] = val
			}
		}
	}
	if st := ev.ResponseStatus; st != nil {
		if st.Code != 0 {
			attrs["response_code"] = st.Code
		}
		if st.Reason != "" {
			attrs["response_reason"] = st.Reason
		}
	}
	if len(ev.Annotations) > 0 {
		attrs["annotations"] = ev.Annotations
	}
	out["attributes"] = attrs
	return json.Marshal(out)
}

// Action is k8s.<resource>[.<subresource>].<verb> in stele's action syntax
// (k8s.nonresource.<verb> for requests such as GET /healthz that name no
// object).
func Action(ev *Event) string {
	resource := "nonresource"
	var sub string
	if ev.ObjectRef != nil && ev.ObjectRef.Resource != "" {
		resource = ev.ObjectRef.Resource
		sub = ev.ObjectRef.Subresource
	}
	a := "k8s." + segment(resource)
	if sub != "" {
		a += "." + segment(sub)
	}
	a += "." + segment(ev.Verb)
	if len(a) > 128 {
		a = strings.TrimRight(a[:128], ".")
	}
	return a
}

// segment makes one action segment: lowercase, every character outside
// [a-z0-9_-] an underscore ("" becomes "_").
func segment(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

func outcome(ev *Event) stele.Outcome {
	st := ev.ResponseStatus
	switch {
	case st == nil || st.Code == 0:
		if ev.Stage == StagePanic {
			return stele.OutcomeFailure
		}
		return stele.OutcomeUnknown
	case st.Code >= 200 && st.Code < 300, st.Code == http.StatusSwitchingProtocols:
		// 101 is how exec, attach and port-forward succeed (the
		// connection is upgraded to a stream).
		return stele.OutcomeSuccess
	case st.Code == 401 || st.Code == 403:
		return stele.OutcomeDenied
	default:
		return stele.OutcomeFailure
	}
}
