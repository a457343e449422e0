package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// The quickstart's tests: docs/quickstart.sh holds every `sh` block of docs/quickstart.md, and
// runs, as a newcomer would, against a fresh `vhupay` process started in an empty directory, so
// the guide cannot rot.

const (
	quickstartGuide  = "../../docs/quickstart.md"
	quickstartScript = "../../docs/quickstart.sh"
)

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// Every `sh` block of the guide is in the script, verbatim and in the guide's order.
func TestQuickstartScriptFollowsTheGuide(t *testing.T) {
	guide, err := os.ReadFile(quickstartGuide)
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(quickstartScript)
	if err != nil {
		t.Fatal(err)
	}
	blocks := shBlock.FindAllSubmatch(guide, -1)
	if len(blocks) < 10 {
		t.Fatalf("the guide has %d sh blocks, want the whole quickstart", len(blocks))
	}
	rest := script
	for i, b := range blocks {
		at := bytes.Index(rest, b[1])
		if at < 0 {
			t.Fatalf("block %d of docs/quickstart.md is not in docs/quickstart.sh (after block %d), verbatim:\n%s", i+1, i, b[1])
		}
		rest = rest[at+len(b[1]):]
	}
}

// The script runs to its end against a fresh server: on the embedded default (the server makes
// vhupay.db and its secret in an empty directory, as the guide's step 0 does), and on PostgreSQL.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("quickstart skipped in -short mode")
	}
	for _, tool := range []string{"bash", "curl", "jq", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the quickstart needs %s (CI installs it)", tool)
			}
			t.Skipf("quickstart skipped: no %s on PATH", tool)
		}
	}
	script, err := filepath.Abs(quickstartScript)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "vhupay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build cmd/vhupay: %v\n%s", err, out)
	}
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		dir := t.TempDir()
		if err := os.Symlink(bin, filepath.Join(dir, "vhupay")); err != nil {
			t.Fatal(err)
		}
		env := cleanEnv()
		if b == storagetest.Postgres {
			env = append(env, "VHUPAY_DATABASE_URL="+storagetest.URL(t, b), "VHUPAY_JWT_SECRET=quickstart-secret-quickstart-secret-0123")
		}
		api := startVhupay(t, dir, env)

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Dir = dir
		cmd.Env = append(env, "API="+api)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("quickstart: every step gave what the guide says")) {
			t.Fatalf("docs/quickstart.sh: %v\n%s", err, out)
		}
		t.Logf("docs/quickstart.sh:\n%s", grepLines(out, "ok: "))
	})
}

// cleanEnv is the test's environment without any VHUPAY_ variable, so that the server and the
// script see the defaults a newcomer has.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VHUPAY_") {
			env = append(env, kv)
		}
	}
	return env
}

// startVhupay starts ./vhupay (serve) in dir on a free loopback port, waits until it is ready
// and returns its address; the process is stopped when the test ends.
func startVhupay(t *testing.T, dir string, env []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "vhupay.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./vhupay")
	cmd.Dir = dir
	cmd.Env = append(env, "VHUPAY_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("vhupay's output (last 6 KiB):\n%s", tail(b, 6<<10))
		}
	})
	url := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := httpClient.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vhupay did not become ready at %s: %v", url, err)
		}
	}
}

func grepLines(b []byte, prefix string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
