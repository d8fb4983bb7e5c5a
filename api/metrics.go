package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the API's Prometheus series.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stele_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stele_http_request_seconds", Help: "HTTP request latency by route (for appends: until the sealed receipt is sent).",
			Buckets: prometheus.ExponentialBuckets(100e-6, 2, 16),
		}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency)
	}
	return m
}

// route returns an observer for one route, with its label values resolved once.
func (m *httpMetrics) route(name string) func(status int, d time.Duration) {
	lat := m.latency.WithLabelValues(name)
	codes := map[int]prometheus.Counter{}
	for _, c := range []int{200, 400, 404, 413, 500, 503, 507} {
		codes[c] = m.requests.WithLabelValues(name, strconv.Itoa(c))
	}
	return func(status int, d time.Duration) {
		lat.Observe(d.Seconds())
		if c, ok := codes[status]; ok {
			c.Inc()
		} else {
			m.requests.WithLabelValues(name, strconv.Itoa(status)).Inc()
		}
	}
}
