package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/monthclose"
)

func TestBarLine(t *testing.T) {
	for _, tt := range []struct {
		p    monthclose.StepProgress
		want string
	}{
		{monthclose.StepProgress{Step: "collections", Done: 2500, Total: 20000}, "2026-11 collections [#.........] 2500/20000  12%"},
		{monthclose.StepProgress{Step: "collections", Done: 20000, Total: 20000}, "2026-11 collections [##########] 20000/20000 100%"},
		{monthclose.StepProgress{Step: "collections", Done: 25, Total: 20}, "2026-11 collections [##########] 20/20 100%"},
		{monthclose.StepProgress{Step: "refresh_scores"}, "2026-11 refresh_scores…"},
	} {
		if got := barLine("2026-11", tt.p, 10); got != tt.want {
			t.Errorf("barLine(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestCloseReporter: plain lines when the output is no terminal (a file, a pipe); on a terminal
// one bar redrawn in place, the steps' ends and the outcome on lines of their own.
func TestCloseReporter(t *testing.T) {
	running := func(done int, completed ...string) monthclose.MonthClose {
		c := monthclose.MonthClose{Month: "2026-11", Status: monthclose.StatusRunning}
		for _, name := range completed {
			c.Steps = append(c.Steps, monthclose.StepRun{Name: name, Completed: true, Count: 4, Runs: 1})
		}
		c.Steps = append(c.Steps, monthclose.StepRun{Name: "collections", Runs: 1, Done: done, Total: 40})
		return c
	}
	finished := monthclose.MonthClose{Month: "2026-11", Status: monthclose.StatusCompleted, Steps: []monthclose.StepRun{
		{Name: "refresh_scores", Completed: true, Count: 4, Runs: 1}, {Name: "collections", Completed: true, Count: 40, Runs: 1, Done: 40, Total: 40}}}

	var plain bytes.Buffer
	r := newCloseReporter(&plain)
	if r.tty {
		t.Fatal("a buffer taken for a terminal")
	}
	r.report(running(0, "refresh_scores"))
	r.report(running(20, "refresh_scores"))
	r.report(finished)
	want := "2026-11 running: refresh_scores 4, collections 0/40\n2026-11 running: refresh_scores 4, collections 20/40\n" +
		"2026-11 completed: refresh_scores 4, collections 40\n"
	if plain.String() != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", plain.String(), want)
	}

	var tty bytes.Buffer
	r = &closeReporter{w: &tty, tty: true, width: 4}
	r.report(running(0, "refresh_scores"))
	r.report(running(20, "refresh_scores"))
	r.report(finished)
	got := tty.String()
	for _, part := range []string{
		"2026-11 running: refresh_scores 4, collections 0/40\n",         // the first step's end, on its own line
		"\r\033[K2026-11 collections [....] 0/40   0%",                  // the bar
		"\r\033[K2026-11 collections [##..] 20/40  50%",                 // redrawn in place
		"\r\033[K2026-11 completed: refresh_scores 4, collections 40\n", // the outcome replaces the bar
	} {
		if !strings.Contains(got, part) {
			t.Errorf("terminal output %q lacks %q", got, part)
		}
	}
}
