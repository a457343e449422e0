package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/vhupay/vhupay/internal/monthclose"
)

// closeReporter prints a month close's progress: on a terminal, one line redrawn in place with a
// bar for the step under way (done of total, as GET /v1/admin/month-closes/{month} shows it);
// otherwise plain lines, one per change, that a log keeps readable.
type closeReporter struct {
	w       io.Writer
	tty     bool
	width   int  // the bar's width in characters
	drawing bool // a line is being redrawn in place (terminal only)
	steps   int  // the steps completed as last reported (terminal only)
}

func newCloseReporter(w io.Writer) *closeReporter {
	r := &closeReporter{w: w, width: 30}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r.tty = true
	}
	return r
}

// report shows c as it now stands.
func (r *closeReporter) report(c monthclose.MonthClose) {
	p, running := c.Progress()
	if !r.tty {
		fmt.Fprintln(r.w, progressLine(c))
		return
	}
	completed := 0
	for _, s := range c.Steps {
		if s.Completed {
			completed++
		}
	}
	if completed != r.steps && running { // a step has ended: say so above the bar
		r.message(progressLine(c))
	}
	r.steps = completed
	if running && c.LastError == "" {
		fmt.Fprintf(r.w, "\r\033[K%s", barLine(c.Month, p, r.width))
		r.drawing = true
		return
	}
	r.message(progressLine(c))
}

// message prints a line of its own, below a bar being drawn.
func (r *closeReporter) message(line string) {
	if r.drawing {
		fmt.Fprint(r.w, "\r\033[K")
		r.drawing = false
	}
	fmt.Fprintln(r.w, line)
}

// barLine draws a step's progress: "2026-11 collections [#########.....] 1200/20000  6%"; a step
// that has not counted its items yet shows no bar.
func barLine(month string, p monthclose.StepProgress, width int) string {
	if p.Total <= 0 {
		return fmt.Sprintf("%s %s…", month, p.Step)
	}
	done := min(max(p.Done, 0), p.Total)
	filled := done * width / p.Total
	return fmt.Sprintf("%s %s [%s%s] %d/%d %3d%%", month, p.Step, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		done, p.Total, done*100/p.Total)
}
