package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// strandedCounter counts what month closes left behind (monthclose.Service.CountStranded).
type strandedCounter interface {
	CountStranded(ctx context.Context) (intents, statements int, err error)
}

// strandedCollector exports vhupay_month_close_stranded{kind}: the scheduled sepa_debit intents
// left without a collection by their month's completed collections step (kind
// "payment_intent") and the statements still open after their month's statements step (kind
// "statement"), over every month. Both are always 0; an alert on anything else is the point. It
// reads the database when scraped, and exports nothing (with a log line) when the read fails.
type strandedCollector struct {
	counter strandedCounter
	log     *slog.Logger
	desc    *prometheus.Desc
}

func newStrandedCollector(c strandedCounter, log *slog.Logger) *strandedCollector {
	return &strandedCollector{counter: c, log: log, desc: prometheus.NewDesc("vhupay_month_close_stranded",
		"Payments a completed month-close step left behind: scheduled SEPA intents without a collection "+
			"(kind payment_intent) and open statements (kind statement) of closed months. Always 0.",
		[]string{"kind"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *strandedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *strandedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	intents, statements, err := c.counter.CountStranded(ctx)
	if err != nil {
		c.log.Warn("count what month closes left behind", "err", err)
		return
	}
	if intents+statements > 0 {
		c.log.Error("month closes left payments behind: see GET /v1/admin/month-closes/{month}/stranded",
			"stranded_intents", intents, "open_statements", statements)
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(intents), "payment_intent")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(statements), "statement")
}
