package main

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/config"
)

// TestListenCapsConnections: beyond VHUPAY_MAX_CONNECTIONS, a connection waits to be accepted
// until another closes.
func TestListenCapsConnections(t *testing.T) {
	ln, err := listen(config.Config{Addr: "127.0.0.1:0", MaxConnections: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	conns := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if n := accepted.Load(); n != 2 {
		t.Fatalf("accepted %d connections, want 2 (the cap)", n)
	}
	(<-conns).Close() // one served connection ends: the waiting one is accepted
	deadline := time.Now().Add(2 * time.Second)
	for accepted.Load() != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("accepted %d connections after one closed, want 3", n)
	}
}
