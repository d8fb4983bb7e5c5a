package otlp

import (
	"fmt"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The google.rpc.Code values stele puts in Status.code. OTLP clients do
// not act on them (the HTTP status decides retries), but they log them.
const (
	codeInvalidArgument = 3
	codeInternal        = 13
	codeUnavailable     = 14
	codeUnauthenticated = 16
)

// Loc is where a log record sits in an ExportLogsServiceRequest.
type Loc struct {
	Resource, Scope, Record int
}

// String is the record's path in OTLP JSON field names, as a
// google.rpc.BadRequest field violation names it.
func (l Loc) String() string {
	return fmt.Sprintf("resourceLogs[%d].scopeLogs[%d].logRecords[%d]", l.Resource, l.Scope, l.Record)
}

// RecordError is a log record that could not be mapped or sealed. Err
// wraps stele.ErrInvalid or stele.ErrTooLarge.
type RecordError struct {
	Loc   Loc
	Field string // what in the record (an attribute, or the stele field it mapped to), when known
	Err   error
}

func (e *RecordError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("otlp: %s: %s: %v", e.Loc, e.Field, e.Err)
	}
	return fmt.Sprintf("otlp: %s: %v", e.Loc, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// writeStatus writes a google.rpc.Status in the request's encoding, with
// a google.rpc.BadRequest detail naming the record when re is set (OTLP:
// a 400's Status.details SHOULD hold one).
func (h *Handler) writeStatus(w http.ResponseWriter, enc encoding, status int, code int32, message string, re *RecordError) {
	st := &spb.Status{Code: code, Message: message}
	if re != nil {
		field := re.Loc.String()
		if re.Field != "" {
			field += " (" + re.Field + ")"
		}
		detail, err := anypb.New(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: field, Description: re.Err.Error()},
		}})
		if err == nil {
			st.Details = append(st.Details, detail)
		}
	}
	var body []byte
	var err error
	if enc == encJSON {
		body, err = protojson.Marshal(st)
	} else {
		body, err = proto.Marshal(st)
	}
	if err != nil {
		h.cfg.Logger.Error("otlp: encoding a status", "err", err)
		body = nil
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(status)
	w.Write(body)
}
