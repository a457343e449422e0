package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// A panic becomes a bare 500 problem: no stack, no panic text in the answer; the log has it.
func TestPanicBecomesBare500(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), metrics: newMetrics(prometheus.NewRegistry())}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.requestIDs, s.accessLog, s.recovery)
	r.GET("/boom", func(*gin.Context) { panic("secret SQL: SELECT * FROM cards") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "internal" || p.Detail != "" || strings.Contains(w.Body.String(), "SELECT") || p.RequestID == "" {
		t.Fatalf("problem leaks or is incomplete: %s", w.Body.String())
	}
	if !strings.Contains(logs.String(), "SELECT") || !strings.Contains(logs.String(), p.RequestID) {
		t.Fatalf("the log should hold the panic with the request id: %s", logs.String())
	}
}
