package k8saudit

import "encoding/json"

// The subset of audit.k8s.io/v1 that the mapping reads, transcribed from
// k8s.io/apiserver/pkg/apis/audit/v1/types.go (reference:
// https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/)
// rather than imported, to keep k8s.io modules out of stele's dependencies.
// Fields not read here are still kept: every event is sealed whole in "raw".

// EventList is what kube-apiserver's webhook backend POSTs, in batch and
// blocking mode alike.
type EventList struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// Event is one audit event (audit.k8s.io/v1 Event).
type Event struct {
	APIVersion               string            `json:"apiVersion"`
	Kind                     string            `json:"kind"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     UserInfo          `json:"user"`
	ImpersonatedUser         *UserInfo         `json:"impersonatedUser"`
	SourceIPs                []string          `json:"sourceIPs"`
	UserAgent                string            `json:"userAgent"`
	ObjectRef                *ObjectReference  `json:"objectRef"`
	ResponseStatus           *Status           `json:"responseStatus"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations"`
}

// UserInfo is authentication/v1 UserInfo.
type UserInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

// ObjectReference is audit/v1 ObjectReference: the object a request is about.
type ObjectReference struct {
	Resource        string `json:"resource"`
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	UID             string `json:"uid"`
	APIGroup        string `json:"apiGroup"`
	APIVersion      string `json:"apiVersion"`
	ResourceVersion string `json:"resourceVersion"`
	Subresource     string `json:"subresource"`
}

// Status is the part of meta/v1 Status an audit event carries as
// responseStatus.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int32  `json:"code"`
}

// The stages of audit/v1.
const (
	StageRequestReceived  = "RequestReceived"
	StageResponseStarted  = "ResponseStarted"
	StageResponseComplete = "ResponseComplete"
	StagePanic            = "Panic"
)
