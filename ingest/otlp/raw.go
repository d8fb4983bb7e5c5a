package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/jcs"
)

// rawEncoder writes a record with its resource and scope as an OTLP JSON
// ExportLogsServiceRequest holding that one record, in canonical JSON
// (RFC 8785), which is what stele stores in raw.
//
// The resource and scope are marshalled by pdata once per scope, around a
// record with nothing set, and canonicalised; the record itself is written
// by appendRecord, straight in canonical key order, and spliced in. That
// costs a fraction of marshalling every record through pdata and having
// the event parser sort its keys. Should pdata's output ever lack the
// expected shape, or a record holds what pcommon cannot show (errNotPlain),
// that record is marshalled whole by pdata and canonicalised instead.
type rawEncoder struct {
	json plog.JSONMarshaler
	// single is the current scope's request; its one record is overwritten
	// for each record when splicing is off.
	single plog.Logs
	slot   plog.LogRecord
	canon  []byte
	prefix []byte // the canonical request up to and including "logRecords":[
	suffix []byte // what follows the record
	splice bool
}

// emptyRecordAt is how the canonical request holds a record with nothing
// set (pdata always writes the body).
const emptyRecordAt = `"logRecords":[{"body":{}}]`

// maxValueDepth bounds the nesting of AnyValues that appendValue follows;
// the event parser refuses far shallower JSON anyway.
const maxValueDepth = 32

func newRawEncoder() *rawEncoder { return &rawEncoder{} }

// scope prepares the encoder for the records of sl.
func (e *rawEncoder) scope(rl plog.ResourceLogs, sl plog.ScopeLogs) error {
	e.single = plog.NewLogs()
	srl := e.single.ResourceLogs().AppendEmpty()
	rl.Resource().CopyTo(srl.Resource())
	srl.SetSchemaUrl(rl.SchemaUrl())
	ssl := srl.ScopeLogs().AppendEmpty()
	sl.Scope().CopyTo(ssl.Scope())
	ssl.SetSchemaUrl(sl.SchemaUrl())
	e.slot = ssl.LogRecords().AppendEmpty()
	b, err := e.json.MarshalLogs(e.single)
	if err != nil {
		return fmt.Errorf("encoding as OTLP JSON: %v: %w", err, stele.ErrInvalid)
	}
	e.splice = false
	if e.canon, err = jcs.Canonicalize(e.canon[:0], b); err != nil {
		return fmt.Errorf("encoding as OTLP JSON: %v: %w", err, stele.ErrInvalid)
	}
	// "logRecords" is an object key only where the records are: attribute
	// keys are string values ({"key":...}), and inside a string every '"'
	// is escaped, so the pattern cannot occur there.
	if i := bytes.Index(e.canon, []byte(emptyRecordAt)); i >= 0 && bytes.Count(e.canon, []byte(`"logRecords":`)) == 1 {
		cut := i + len(`"logRecords":[`)
		e.prefix = append(e.prefix[:0], e.canon[:cut]...)
		e.suffix = append(e.suffix[:0], e.canon[cut+len(`{"body":{}}`):]...)
		e.splice = true
	}
	return nil
}

// errNotPlain is appendRecord's signal that a record holds a value it
// cannot see into: pcommon reports an AnyValue holding a string-table
// index (string_value_strindex) as empty, and a KeyValue whose key is an
// index (key_strindex) as having the empty key, yet pdata's JSON writes
// both. Such a record is marshalled by pdata.
var errNotPlain = errors.New("otlp: a value or key pcommon cannot show")

// appendRaw appends lr's raw form to dst.
func (e *rawEncoder) appendRaw(dst []byte, lr plog.LogRecord) ([]byte, error) {
	if e.splice {
		start := len(dst)
		dst = append(dst, e.prefix...)
		var err error
		dst, err = appendRecord(dst, lr)
		if err == nil {
			return append(dst, e.suffix...), nil
		}
		if err != errNotPlain {
			return dst, err
		}
		dst = dst[:start]
	}
	lr.CopyTo(e.slot)
	b, err := e.json.MarshalLogs(e.single)
	if err == nil {
		dst, err = jcs.Canonicalize(dst, b)
	}
	if err != nil {
		return dst, fmt.Errorf("encoding as OTLP JSON: %v: %w", err, stele.ErrInvalid)
	}
	return dst, nil
}

// appendRecord appends lr in OTLP JSON, as pdata writes it (the same
// fields, omitted when zero, 64-bit integers as strings, ids in hex) but
// with the keys in canonical order: attributes, body,
// droppedAttributesCount, eventName, flags, observedTimeUnixNano,
// severityNumber, severityText, spanId, timeUnixNano, traceId.
func appendRecord(b []byte, lr plog.LogRecord) ([]byte, error) {
	var err error
	b = append(b, '{')
	if attrs := lr.Attributes(); attrs.Len() > 0 {
		b = append(b, `"attributes":`...)
		if b, err = appendKeyValues(b, attrs, 0); err != nil {
			return b, err
		}
		b = append(b, ',')
	}
	b = append(b, `"body":`...)
	if b, err = appendAnyValue(b, lr.Body(), 0); err != nil {
		return b, err
	}
	if n := lr.DroppedAttributesCount(); n != 0 {
		b = append(b, `,"droppedAttributesCount":`...)
		b = strconv.AppendUint(b, uint64(n), 10)
	}
	if s := lr.EventName(); s != "" {
		b = append(b, `,"eventName":`...)
		if b, err = appendString(b, s); err != nil {
			return b, err
		}
	}
	if f := lr.Flags(); f != 0 {
		b = append(b, `,"flags":`...)
		b = strconv.AppendUint(b, uint64(f), 10)
	}
	if t := lr.ObservedTimestamp(); t != 0 {
		b = append(b, `,"observedTimeUnixNano":"`...)
		b = strconv.AppendUint(b, uint64(t), 10)
		b = append(b, '"')
	}
	if n := lr.SeverityNumber(); n != 0 {
		b = append(b, `,"severityNumber":`...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if s := lr.SeverityText(); s != "" {
		b = append(b, `,"severityText":`...)
		if b, err = appendString(b, s); err != nil {
			return b, err
		}
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		b = append(b, `,"spanId":"`...)
		b = hex.AppendEncode(b, id[:])
		b = append(b, '"')
	}
	if t := lr.Timestamp(); t != 0 {
		b = append(b, `,"timeUnixNano":"`...)
		b = strconv.AppendUint(b, uint64(t), 10)
		b = append(b, '"')
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		b = append(b, `,"traceId":"`...)
		b = hex.AppendEncode(b, id[:])
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// appendString appends s as a canonical JSON string; a string that is
// not UTF-8 is refused (OTLP strings are, and JSON could not hold it byte
// for byte).
func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return b, fmt.Errorf("a string is not valid UTF-8: %w", stele.ErrInvalid)
	}
	return jcs.AppendQuoted(b, s), nil
}

// appendKeyValues appends m as OTLP JSON's KeyValue array, in m's order.
func appendKeyValues(b []byte, m pcommon.Map, depth int) ([]byte, error) {
	b = append(b, '[')
	first := true
	var err error
	for k, v := range m.All() {
		if !first {
			b = append(b, ',')
		}
		first = false
		if k == "" {
			return b, errNotPlain // perhaps a key_strindex
		}
		b = append(b, `{"key":`...)
		if b, err = appendString(b, k); err != nil {
			return b, err
		}
		b = append(b, `,"value":`...)
		if b, err = appendAnyValue(b, v, depth+1); err != nil {
			return b, err
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendAnyValue appends v as OTLP JSON's AnyValue: an object with one
// key naming the type. An empty value is errNotPlain (it may be a
// string-table index that pcommon does not expose).
func appendAnyValue(b []byte, v pcommon.Value, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return b, fmt.Errorf("a value nested deeper than %d levels: %w", maxValueDepth, stele.ErrInvalid)
	}
	var err error
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = append(b, `{"stringValue":`...)
		if b, err = appendString(b, v.Str()); err != nil {
			return b, err
		}
	case pcommon.ValueTypeBool:
		b = append(b, `{"boolValue":`...)
		b = strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeInt:
		b = append(b, `{"intValue":"`...)
		b = strconv.AppendInt(b, v.Int(), 10)
		b = append(b, '"')
	case pcommon.ValueTypeDouble:
		b = append(b, `{"doubleValue":`...)
		switch d := v.Double(); {
		case math.IsNaN(d):
			b = append(b, `"NaN"`...)
		case math.IsInf(d, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(d, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = jcs.AppendNumber(b, d)
		}
	case pcommon.ValueTypeBytes:
		b = append(b, `{"bytesValue":"`...)
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		b = append(b, '"')
	case pcommon.ValueTypeSlice:
		b = append(b, `{"arrayValue":{`...)
		if s := v.Slice(); s.Len() > 0 {
			b = append(b, `"values":[`...)
			for i := range s.Len() {
				if i > 0 {
					b = append(b, ',')
				}
				if b, err = appendAnyValue(b, s.At(i), depth+1); err != nil {
					return b, err
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	case pcommon.ValueTypeMap:
		b = append(b, `{"kvlistValue":{`...)
		if m := v.Map(); m.Len() > 0 {
			b = append(b, `"values":`...)
			if b, err = appendKeyValues(b, m, depth); err != nil {
				return b, err
			}
		}
		b = append(b, '}')
	default: // empty, or a string_value_strindex pcommon cannot show
		return b, errNotPlain
	}
	return append(b, '}'), nil
}
