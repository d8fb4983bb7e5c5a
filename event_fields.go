package stele

import "strconv"

// The fields of an event: their slots in the parser, their names, their
// canonical order inside sub-objects, and the rules for their values.

// Field slots. Each names one leaf of the event; the parser keeps the
// canonical JSON of its value in eventParser.scratch.
const (
	fAction = iota
	fActorID
	fActorIP
	fActorName
	fActorSessionID
	fActorType
	fActorUserAgent
	fAttributes
	fCategory
	fID
	fMessage
	fOutcome
	fRaw
	fReceivedAt // in stored entries only
	fRequestID
	fResourceID
	fResourceName
	fResourceType
	fSeq // in stored entries only
	fSourceHost
	fSourceIP
	fSourceService
	fTime
	numFields

	// Bits of eventParser.seen beyond the slots, for the objects.
	bitActor    = numFields
	bitResource = numFields + 1
	bitSource   = numFields + 2
)

// fieldNames are the dotted paths of the slots, for error messages.
var fieldNames = [numFields]string{
	fAction: "action", fActorID: "actor.id", fActorIP: "actor.ip", fActorName: "actor.name",
	fActorSessionID: "actor.session_id", fActorType: "actor.type", fActorUserAgent: "actor.user_agent",
	fAttributes: "attributes", fCategory: "category", fID: "id", fMessage: "message",
	fOutcome: "outcome", fRaw: "raw", fReceivedAt: "received_at", fRequestID: "request_id",
	fResourceID: "resource.id", fResourceName: "resource.name", fResourceType: "resource.type",
	fSeq: "seq", fSourceHost: "source.host", fSourceIP: "source.ip", fSourceService: "source.service",
	fTime: "time",
}

// member is one key of a sub-object in canonical (sorted) order.
type member struct {
	slot int
	key  string // `"key":`
}

// The sub-objects' members in canonical key order. Read-only tables.
var (
	actorMembers = [...]member{
		{fActorID, `"id":`}, {fActorIP, `"ip":`}, {fActorName, `"name":`},
		{fActorSessionID, `"session_id":`}, {fActorType, `"type":`}, {fActorUserAgent, `"user_agent":`},
	}
	resourceMembers = [...]member{{fResourceID, `"id":`}, {fResourceName, `"name":`}, {fResourceType, `"type":`}}
	sourceMembers   = [...]member{{fSourceHost, `"host":`}, {fSourceIP, `"ip":`}, {fSourceService, `"service":`}}
)

func topField(key []byte) int {
	switch string(key) {
	case "action":
		return fAction
	case "actor":
		return bitActor
	case "attributes":
		return fAttributes
	case "category":
		return fCategory
	case "id":
		return fID
	case "message":
		return fMessage
	case "outcome":
		return fOutcome
	case "raw":
		return fRaw
	case "received_at":
		return fReceivedAt
	case "request_id":
		return fRequestID
	case "resource":
		return bitResource
	case "seq":
		return fSeq
	case "source":
		return bitSource
	case "time":
		return fTime
	}
	return -1
}

func topName(f int) string {
	switch f {
	case bitActor:
		return "actor"
	case bitResource:
		return "resource"
	case bitSource:
		return "source"
	}
	return fieldNames[f]
}

func actorField(key []byte) int {
	switch string(key) {
	case "type":
		return fActorType
	case "id":
		return fActorID
	case "name":
		return fActorName
	case "ip":
		return fActorIP
	case "user_agent":
		return fActorUserAgent
	case "session_id":
		return fActorSessionID
	}
	return -1
}

func resourceField(key []byte) int {
	switch string(key) {
	case "type":
		return fResourceType
	case "id":
		return fResourceID
	case "name":
		return fResourceName
	}
	return -1
}

func sourceField(key []byte) int {
	switch string(key) {
	case "service":
		return fSourceService
	case "host":
		return fSourceHost
	case "ip":
		return fSourceIP
	}
	return -1
}

// validAction: dot-separated segments of [a-z0-9_-], starting with [a-z].
func validAction(s []byte) bool {
	if len(s) == 0 || len(s) > MaxActionLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '.' {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func validCategory(s []byte) bool {
	if len(s) == 0 || len(s) > MaxCategoryLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validClientID: an id never needs escaping, so it is the same bytes in the
// body, in the entry and in an URL path.
func validClientID(s []byte) bool {
	if len(s) == 0 || len(s) > MaxClientIDLen {
		return false
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// jsonKind names the JSON type of the value at src[pos], for type errors.
func jsonKind(src []byte, pos int) string {
	if pos >= len(src) {
		return "end of input"
	}
	switch c := src[pos]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	default:
		return quoteByte(c)
	}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// quoteValue quotes a canonical string's content for an error message,
// shortened when long.
func quoteValue(content []byte) string {
	if len(content) > 80 {
		return `"` + string(content[:77]) + `..."`
	}
	return `"` + string(content) + `"`
}

// pathKey renders a key for an error's field path: as is when plain, Go
// quoted otherwise, so a path cannot hide control characters.
func pathKey(key []byte) string {
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return strconv.Quote(string(key))
		}
	}
	if len(key) == 0 {
		return `""`
	}
	return string(key)
}
