package local

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
)

// metrics are the storage engine's Prometheus series.
type metrics struct {
	appends  prometheus.Counter
	appended prometheus.Counter
	dups     prometheus.Counter
	batch    prometheus.Histogram
	groups   prometheus.Histogram
	fsync    prometheus.Histogram
	sign     prometheus.Histogram
	commit   prometheus.Histogram
	size     prometheus.Gauge
	segments prometheus.Counter
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	latency := prometheus.ExponentialBuckets(50e-6, 2, 16) // 50µs .. 1.6s
	sizes := prometheus.ExponentialBuckets(1, 4, 9)        // 1 .. 65536
	m := &metrics{
		appends:  prometheus.NewCounter(prometheus.CounterOpts{Name: "stele_append_requests_total", Help: "Append calls (batches) received."}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{Name: "stele_appended_events_total", Help: "Events durably appended and sealed."}),
		dups:     prometheus.NewCounter(prometheus.CounterOpts{Name: "stele_duplicate_events_total", Help: "Events not appended because their id was already in the log."}),
		batch:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stele_append_batch_events", Help: "Events per append call.", Buckets: sizes}),
		groups:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stele_commit_group_events", Help: "Events per group commit (one fsync).", Buckets: sizes}),
		fsync:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stele_fsync_seconds", Help: "Latency of the segment fdatasync in a group commit.", Buckets: latency}),
		sign:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stele_checkpoint_seconds", Help: "Latency of computing the root and signing a checkpoint.", Buckets: latency}),
		commit:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "stele_commit_seconds", Help: "Latency of a whole group commit (write, fsync, seal, ack).", Buckets: latency}),
		size:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "stele_log_size", Help: "Entries in the log (size of the newest checkpoint)."}),
		segments: prometheus.NewCounter(prometheus.CounterOpts{Name: "stele_segments_sealed_total", Help: "Segments sealed by rollover."}),
		errors:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stele_append_errors_total", Help: "Group commits that failed, by kind."}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.appends, m.appended, m.dups, m.batch, m.groups, m.fsync, m.sign, m.commit, m.size, m.segments, m.errors)
	}
	return m
}

func errorLabel(err error) string {
	switch {
	case errors.Is(err, stele.ErrDiskFull):
		return "disk_full"
	case errors.Is(err, stele.ErrFailed):
		return "failed"
	default:
		return "unavailable"
	}
}
