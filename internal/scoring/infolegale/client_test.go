package infolegale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/scoring"
)

// apiKey has characters that need escaping in a query, to check both encoding and redaction.
const apiKey = "s3cr&t key=+/ü"

const siren = "812345676"

// answerXML builds a getScore answer the way the public trace describes it: root "service" in the
// getScore namespace, errors/request/content in the Main namespace.
func answerXML(errorsXML, content string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<gs:service xmlns:gs="Infolegale/Webservices/getScore" xmlns:ilg="Infolegale/Webservices/Main">
  <ilg:errors>` + errorsXML + `</ilg:errors>
  <ilg:request><ilg:siren>812345676</ilg:siren></ilg:request>
  <ilg:content>` + content + `</ilg:content>
</gs:service>`
}

func scoreXML(v string) string {
	return answerXML("", `<ilg:scoreInfo><ilg:score>`+v+`</ilg:score><ilg:credit>5000</ilg:credit></ilg:scoreInfo>`)
}

// fake is an httptest Infolegale that checks the request and answers with status and body.
type fake struct {
	t      *testing.T
	status int
	body   string
	header string // Content-Type
	calls  atomic.Int32
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Path != "/ws/getScore" || q.Get("token") != apiKey || q.Get("siren") != siren {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ct := f.header
	if ct == "" {
		ct = "application/xml; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func newClient(t *testing.T, h http.Handler, timeout time.Duration) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/ws/", APIKey: apiKey, HTTPClient: srv.Client(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScore(t *testing.T) {
	latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<service><errors/><request><nom>Soci\xe9t\xe9</nom></request>" +
		"<content><scoreInfo><score>14</score></scoreInfo></content></service>"
	tests := []struct {
		name    string
		status  int
		body    string
		want    int
		wantErr error
	}{
		{"integer", 200, scoreXML("14"), 14, nil},
		{"zero", 200, scoreXML("0"), 0, nil},
		{"full marks", 200, scoreXML("20"), 20, nil},
		{"padded", 200, scoreXML(" 12\n"), 12, nil},
		{"leading zero", 200, scoreXML("09"), 9, nil},
		{"decimal point rounds down", 200, scoreXML("13.5"), 13, nil},
		{"decimal comma rounds down", 200, scoreXML("13,5"), 13, nil},
		{"9.99 does not reach 10", 200, scoreXML("9.99"), 9, nil},
		{"20.0", 200, scoreXML("20.0"), 20, nil},
		{"no namespaces", 200, `<service><errors></errors><content><scoreInfo><score>11</score></scoreInfo></content></service>`, 11, nil},
		{"ISO-8859-1", 200, latin1, 14, nil},

		{"over the scale", 200, scoreXML("21"), 0, scoring.ErrUnavailable},
		{"20.5", 200, scoreXML("20.5"), 0, scoring.ErrUnavailable},
		{"a 0-100 scale", 200, scoreXML("85"), 0, scoring.ErrUnavailable},
		{"huge", 200, scoreXML("99999999999999999999999"), 0, scoring.ErrUnavailable},
		{"negative", 200, scoreXML("-1"), 0, scoring.ErrUnavailable},
		{"negative decimal", 200, scoreXML("-0.5"), 0, scoring.ErrUnavailable},
		{"plus sign", 200, scoreXML("+14"), 0, scoring.ErrUnavailable},
		{"exponent", 200, scoreXML("1e1"), 0, scoring.ErrUnavailable},
		{"letters", 200, scoreXML("A"), 0, scoring.ErrUnavailable},
		{"trailing point", 200, scoreXML("14."), 0, scoring.ErrUnavailable},
		{"two decimal points", 200, scoreXML("1.2.3"), 0, scoring.ErrUnavailable},
		{"empty score", 200, scoreXML(""), 0, scoring.ErrUnavailable},
		{"no scoreInfo", 200, answerXML("", ""), 0, scoring.ErrUnavailable},
		{"malformed XML", 200, `<service><content><scoreInfo><score>14</score>`, 0, scoring.ErrUnavailable},
		{"not XML", 200, `{"score": 14}`, 0, scoring.ErrUnavailable},
		{"an HTML page", 200, `<html><body>Maintenance</body></html>`, 0, scoring.ErrUnavailable},
		{"empty body", 200, ``, 0, scoring.ErrUnavailable},
		{"unknown charset", 200, `<?xml version="1.0" encoding="EBCDIC"?><service/>`, 0, scoring.ErrUnavailable},

		{"SIREN unknown (French)", 200, answerXML(`<ilg:error code="404">Siren inconnu</ilg:error>`, ""), 0, scoring.ErrUnknownCompany},
		{"company not found (English)", 200, answerXML(`<ilg:companyNotFound>No company for this siren</ilg:companyNotFound>`, ""), 0, scoring.ErrUnknownCompany},
		{"nested code and message", 200, answerXML(`<ilg:error><ilg:code>E12</ilg:code><ilg:message>SIREN non trouvé</ilg:message></ilg:error>`, ""),
			0, scoring.ErrUnknownCompany},
		{"entreprise introuvable", 200, answerXML(`<ilg:error>Entreprise introuvable</ilg:error>`, ""), 0, scoring.ErrUnknownCompany},
		{"unknown token is an outage", 200, answerXML(`<ilg:error>Token inconnu</ilg:error>`, ""), 0, scoring.ErrUnavailable},
		{"invalid token", 200, answerXML(`<ilg:auth>Token invalide</ilg:auth>`, ""), 0, scoring.ErrUnavailable},
		{"an error echoing the token", 200, answerXML(`<ilg:error>Token s3cr&amp;t key=+/ü refusé</ilg:error>`, ""), 0, scoring.ErrUnavailable},
		{"other error", 200, answerXML(`<ilg:quota>Quota dépassé</ilg:quota>`, ""), 0, scoring.ErrUnavailable},
		{"errors as text", 200, answerXML(`Erreur interne`,
			`<ilg:scoreInfo><ilg:score>14</ilg:score></ilg:scoreInfo>`), 0, scoring.ErrUnavailable},
		{"errors win over a score", 200, answerXML(`<ilg:error>Erreur interne</ilg:error>`,
			`<ilg:scoreInfo><ilg:score>14</ilg:score></ilg:scoreInfo>`), 0, scoring.ErrUnavailable},

		{"500", 500, "oops", 0, scoring.ErrUnavailable},
		{"502", 502, "", 0, scoring.ErrUnavailable},
		{"503 with a score", 503, scoreXML("14"), 0, scoring.ErrUnavailable},
		{"404 (a wrong base URL looks like an outage)", 404, "not found", 0, scoring.ErrUnavailable},
		{"401", 401, "", 0, scoring.ErrUnavailable},
		{"302 without location", 302, "", 0, scoring.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{t: t, status: tt.status, body: tt.body}
			got, err := newClient(t, f, 5*time.Second).Score(context.Background(), siren)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Score = %d, %v; want %d", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Score = %d, %v; want %v", got, err, tt.wantErr)
			}
			other := scoring.ErrUnknownCompany
			if tt.wantErr == other {
				other = scoring.ErrUnavailable
			}
			if errors.Is(err, other) {
				t.Errorf("error %v matches both sentinels", err)
			}
			assertNoKey(t, err.Error())
		})
	}
}

func TestScoreAnswerTooLarge(t *testing.T) {
	body := scoreXML("14") + "<!--" + strings.Repeat("x", maxBody) + "-->"
	f := &fake{t: t, status: 200, body: body}
	_, err := newClient(t, f, 5*time.Second).Score(context.Background(), siren)
	if !errors.Is(err, scoring.ErrUnavailable) {
		t.Fatalf("Score = %v, want ErrUnavailable", err)
	}
}

func TestScoreMalformedSIRENMakesNoCall(t *testing.T) {
	f := &fake{t: t, status: 200, body: scoreXML("14")}
	c := newClient(t, f, time.Second)
	for _, s := range []string{"", "81234567", "8123456760", "81234567a", "812 345 676", "812345676&token=x"} {
		if _, err := c.Score(context.Background(), s); !errors.Is(err, scoring.ErrUnknownCompany) {
			t.Errorf("Score(%q) = %v, want ErrUnknownCompany", s, err)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("%d calls made for malformed SIRENs", n)
	}
}

// hang answers nothing until the client goes away (or the test ends).
func hang(headersFirst bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if headersFirst {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`<service><content>`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
}

func TestScoreTimeoutIsUnavailable(t *testing.T) {
	for _, headersFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("headers sent: %v", headersFirst), func(t *testing.T) {
			c := newClient(t, hang(headersFirst), 50*time.Millisecond)
			_, err := c.Score(context.Background(), siren)
			if !errors.Is(err, scoring.ErrUnavailable) {
				t.Fatalf("Score = %v, want ErrUnavailable", err)
			}
			assertNoKey(t, err.Error())
		})
	}
}

func TestScoreCallerCancellationIsNotAnOutage(t *testing.T) {
	c := newClient(t, hang(false), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := c.Score(ctx, siren)
	if !errors.Is(err, context.Canceled) || errors.Is(err, scoring.ErrUnavailable) {
		t.Fatalf("Score = %v, want context.Canceled and not ErrUnavailable", err)
	}

	done, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := c.Score(done, siren); !errors.Is(err, context.Canceled) || errors.Is(err, scoring.ErrUnavailable) {
		t.Fatalf("Score with a cancelled context = %v", err)
	}
}

func TestScoreConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, err := New(Config{BaseURL: base, APIKey: apiKey, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Score(context.Background(), siren)
	if !errors.Is(err, scoring.ErrUnavailable) {
		t.Fatalf("Score = %v, want ErrUnavailable", err)
	}
	assertNoKey(t, err.Error())
	if strings.Contains(err.Error(), "token=") {
		t.Errorf("error shows the request URL: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty base", Config{APIKey: "k"}},
		{"relative base", Config{BaseURL: "/ws", APIKey: "k"}},
		{"ftp base", Config{BaseURL: "ftp://example.test/ws", APIKey: "k"}},
		{"no host", Config{BaseURL: "https:///ws", APIKey: "k"}},
		{"base with a query", Config{BaseURL: "https://example.test/ws?token=x", APIKey: "k"}},
		{"unparsable", Config{BaseURL: "https://exa mple.test/%zz", APIKey: "k"}},
		{"empty key", Config{BaseURL: "https://example.test/ws"}},
		{"negative timeout", Config{BaseURL: "https://example.test/ws", APIKey: "k", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", tt.name, err)
		}
	}
	c, err := New(Config{BaseURL: "https://example.test/ws", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.http == nil || c.endpoint.String() != "https://example.test/ws/getScore" {
		t.Errorf("defaults: timeout %s, http %v, endpoint %s", c.timeout, c.http, c.endpoint)
	}
}

func TestAPIKeyNeverPrinted(t *testing.T) {
	cfg := Config{BaseURL: "https://example.test/ws", APIKey: apiKey, Timeout: time.Second}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("scoring", "config", cfg, "client", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("scoring", "config", cfg, "client", c)
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v", c, c), fmt.Sprintf("%+v", *c), buf.String(),
	} {
		assertNoKey(t, out)
	}
}

func assertNoKey(t *testing.T, s string) {
	t.Helper()
	for _, form := range []string{apiKey, "s3cr", "s3cr%26t"} {
		if strings.Contains(s, form) {
			t.Errorf("the API key shows in %q", s)
		}
	}
}
