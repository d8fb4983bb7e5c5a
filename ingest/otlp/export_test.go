package otlp

import "go.opentelemetry.io/collector/pdata/plog"

// RawForms returns the raw form of every record of logs, in order, and
// reports whether the encoder spliced records (its fast path) throughout.
func RawForms(logs plog.Logs) (raws [][]byte, spliced bool, err error) {
	e := newRawEncoder()
	spliced = true
	rls := logs.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			if err := e.scope(rl, sl); err != nil {
				return nil, false, err
			}
			spliced = spliced && e.splice
			for k := range sl.LogRecords().Len() {
				raw, err := e.appendRaw(nil, sl.LogRecords().At(k))
				if err != nil {
					return nil, false, err
				}
				raws = append(raws, raw)
			}
		}
	}
	return raws, spliced, nil
}
