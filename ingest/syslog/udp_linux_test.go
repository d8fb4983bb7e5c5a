package syslog

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUDPReadBuffer: ServeUDP sets the socket's receive buffer (Linux
// reports twice what was asked, its bookkeeping included).
func TestUDPReadBuffer(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := min(rmemMax, 1<<20) - 4096 // within the cap, and not the default
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcvbuf := func() int {
		raw, err := pc.(*net.UDPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var size int
		var serr error
		if err := raw.Control(func(fd uintptr) {
			size, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}); err != nil {
			t.Fatal(err)
		}
		if serr != nil {
			t.Fatal(serr)
		}
		return size
	}
	if rcvbuf() == 2*want {
		t.Fatalf("the default buffer is already %d", 2*want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeUDP(ctx, pc, Config{Sink: openLog(t), Logger: quiet, UDPReadBuffer: want}) }()
	deadline := time.Now().Add(10 * time.Second)
	for rcvbuf() != 2*want && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	got := rcvbuf()
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got != 2*want {
		t.Errorf("SO_RCVBUF %d, want %d", got, 2*want)
	}
}
