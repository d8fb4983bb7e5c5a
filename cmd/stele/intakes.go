package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/hec"
	"github.com/stele-log/stele/ingest/k8saudit"
	"github.com/stele-log/stele/ingest/otlp"
	"github.com/stele-log/stele/ingest/syslog"
)

// intakeFlags are serve's flags for the ingest adapters (docs/ingest.md).
type intakeFlags struct {
	hecTokens     listFlag
	k8sAudit      bool
	k8sTokens     listFlag
	k8sAllStages  bool
	otlp          bool
	otlpTokens    listFlag
	syslogUDP     string
	syslogTCP     string
	syslogTLS     string
	syslogTLSCert string
	syslogTLSKey  string
	memory        int64
	syslogConns   int
	syslogIdle    time.Duration
}

// listFlag is a repeatable string flag that also takes comma-separated lists.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func (f *intakeFlags) register(fs *flagSet) {
	fs.Var(&f.hecTokens, "hec-token", "accept Splunk HEC at /services/collector with this token (repeatable; env STELE_HEC_TOKENS, comma-separated)")
	if v := envOr("STELE_HEC_TOKENS", ""); v != "" {
		f.hecTokens.Set(v)
	}
	fs.BoolVar(&f.k8sAudit, "k8s-audit", true, "accept Kubernetes audit webhooks (audit.k8s.io/v1 EventList) at POST /v1/ingest/k8s")
	fs.BoolVar(&f.k8sAllStages, "k8s-audit-all-stages", false, "keep every stage of a Kubernetes audit event (RequestReceived, ResponseStarted, ...), not only the final ResponseComplete or Panic")
	fs.Var(&f.k8sTokens, "k8s-audit-token", "bearer token the kube-apiserver webhook must present (repeatable); none: no token is asked for")
	fs.BoolVar(&f.otlp, "otlp", true, "accept OpenTelemetry logs (OTLP/HTTP, protobuf or JSON) at POST /v1/logs")
	fs.Var(&f.otlpTokens, "otlp-token", "bearer token OTLP senders must present (repeatable); none: no token is asked for")
	fs.Int64Var(&f.memory, "ingest-memory", 256<<20, "bytes of request bodies the HTTP intakes and POST /v1/events may hold at once; a request that finds no room within 2s gets 503 + Retry-After, and a body must arrive within a minute")
	fs.StringVar(&f.syslogUDP, "syslog-udp", "", "receive syslog (RFC 5424/3164) over UDP on this address, e.g. 127.0.0.1:5514")
	fs.StringVar(&f.syslogTCP, "syslog-tcp", "", "receive syslog over TCP (octet-counted or LF-delimited) on this address")
	fs.StringVar(&f.syslogTLS, "syslog-tls", "", "receive syslog over TLS (RFC 5425) on this address; certificate from --syslog-tls-cert or --tls-cert")
	fs.StringVar(&f.syslogTLSCert, "syslog-tls-cert", "", "TLS certificate for --syslog-tls (default: --tls-cert)")
	fs.StringVar(&f.syslogTLSKey, "syslog-tls-key", "", "TLS private key for --syslog-tls (default: --tls-key)")
	fs.IntVar(&f.syslogConns, "syslog-max-conns", syslog.DefaultMaxConns, "syslog TCP/TLS connections served at once, per listener; beyond it new ones wait in the kernel's backlog (-1: no limit)")
	fs.DurationVar(&f.syslogIdle, "syslog-idle-timeout", syslog.DefaultIdleTimeout, "close a syslog TCP/TLS connection that sends nothing for this long (0: never)")
}

// intakes is the running ingest adapters of a server.
type intakes struct {
	gate    *ingest.Gate // bounds HTTP request bodies, intakes' and POST /v1/events'
	routes  []api.Intake
	servers []func(ctx context.Context) error // syslog listeners
	closers []func()
}

// setup builds the HTTP intakes and opens the syslog listeners.
func (f *intakeFlags) setup(sink ingest.Sink, reg prometheus.Registerer, logger *slog.Logger, tlsCert, tlsKey string) (*intakes, error) {
	if f.memory < ingest.Chunk {
		return nil, fmt.Errorf("--ingest-memory %d: must be at least %d bytes (1 MiB)", f.memory, ingest.Chunk)
	}
	metrics := ingest.NewMetrics(reg)
	in := &intakes{gate: ingest.NewGate(f.memory, 2*time.Second, reg)}
	common := func(tokens []string) ingest.HTTPConfig {
		return ingest.HTTPConfig{Sink: sink, Tokens: tokens, Gate: in.gate, Metrics: metrics, Logger: logger}
	}
	if len(f.hecTokens) > 0 {
		h, err := hec.New(hec.Config{HTTPConfig: common(f.hecTokens)})
		if err != nil {
			return nil, fmt.Errorf("Splunk HEC intake: %w", err)
		}
		in.mount(h.Routes())
	}
	if f.k8sAudit {
		h, err := k8saudit.New(k8saudit.Config{HTTPConfig: common(f.k8sTokens), AllStages: f.k8sAllStages})
		if err != nil {
			return nil, fmt.Errorf("Kubernetes audit intake: %w", err)
		}
		in.mount(h.Routes())
	}
	if f.otlp {
		h, err := otlp.New(otlp.Config{HTTPConfig: common(f.otlpTokens)})
		if err != nil {
			return nil, fmt.Errorf("OTLP intake: %w", err)
		}
		in.mount(h.Routes())
	}
	idle := f.syslogIdle
	if idle == 0 {
		idle = -1 // syslog.Config: negative is never, zero the default
	}
	cfg := syslog.Config{Sink: sink, Metrics: metrics, Logger: logger, MaxConns: f.syslogConns, IdleTimeout: idle}
	if f.syslogUDP != "" {
		pc, err := net.ListenPacket("udp", f.syslogUDP)
		if err != nil {
			in.close()
			return nil, fmt.Errorf("--syslog-udp: %w", err)
		}
		logger.Info("syslog over UDP", "addr", pc.LocalAddr().String())
		in.servers = append(in.servers, func(ctx context.Context) error { return syslog.ServeUDP(ctx, pc, cfg) })
		in.closers = append(in.closers, func() { pc.Close() })
	}
	listen := func(addr, what string, tlsCfg *tls.Config) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		logger.Info("syslog over "+strings.TrimPrefix(what, "--syslog-"), "addr", ln.Addr().String())
		in.servers = append(in.servers, func(ctx context.Context) error { return syslog.ServeTCP(ctx, ln, cfg) })
		in.closers = append(in.closers, func() { ln.Close() })
		return nil
	}
	if f.syslogTCP != "" {
		if err := listen(f.syslogTCP, "--syslog-tcp", nil); err != nil {
			in.close()
			return nil, err
		}
	}
	if f.syslogTLS != "" {
		cert, key := f.syslogTLSCert, f.syslogTLSKey
		if cert == "" && key == "" {
			cert, key = tlsCert, tlsKey
		}
		if cert == "" || key == "" {
			in.close()
			return nil, fmt.Errorf("--syslog-tls needs a certificate: --syslog-tls-cert and --syslog-tls-key (or --tls-cert and --tls-key)")
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			in.close()
			return nil, fmt.Errorf("--syslog-tls: %w", err)
		}
		if err := listen(f.syslogTLS, "--syslog-tls", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

// run starts the syslog listeners; wait returns when they have stopped
// (after ctx is done) and sealed their last batches.
func (in *intakes) run(ctx context.Context, logger *slog.Logger) (wait func()) {
	var wg sync.WaitGroup
	for _, serve := range in.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(ctx); err != nil && ctx.Err() == nil {
				logger.Error("syslog listener stopped", "err", err)
			}
		}()
	}
	return wg.Wait
}

// mount adds an adapter's HTTP endpoints to the API server's.
func (in *intakes) mount(routes []ingest.Route) {
	in.routes = append(in.routes, routes...)
}

func (in *intakes) close() {
	for _, c := range in.closers {
		c()
	}
}
