package sandbox

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vhupay/vhupay/internal/psp"
)

// maxFormBytes bounds the forms the pages read.
const maxFormBytes = 64 << 10

// Pages returns the handler of the sandbox provider's pages, for the paths below (mount it at the
// root of the public URL; no authentication — what a bank's pages would be):
//
//	POST /sandbox/psp/card-registrations/{id}  tokenisation (form: data, accessKeyRef, cardNumber,
//	                                           cardExpirationDate MMYY, cardCvx) → text/plain
//	                                           "data=<token>" or "errorCode=<code>"; CORS open
//	GET  /sandbox/psp/3ds/{payInID}            the bank's 3-D Secure page
//	POST /sandbox/psp/3ds/{payInID}            form: code, or action=cancel → 303 to the pay-in's
//	                                           SecureModeReturnURL when it ends, else the page again
//	GET  /sandbox/psp/mandates/{mandateID}     the mandate signature page
//	POST /sandbox/psp/mandates/{mandateID}     form: action=sign|refuse → 303 to the mandate's ReturnURL
//
// Redirects go to exactly the URL vhupay gave (nothing appended). A pay-in or mandate that is not
// waiting any more shows its outcome and a link back (409 on a post). Unknown ids answer 404.
func (p *Provider) Pages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+cardRegistrationPath+"{id}", p.serveTokenise)
	mux.HandleFunc("OPTIONS "+cardRegistrationPath+"{id}", serveTokenisePreflight)
	mux.HandleFunc("GET "+secureModePath+"{id}", p.serveSecurePage)
	mux.HandleFunc("POST "+secureModePath+"{id}", p.serveSecurePost)
	mux.HandleFunc("GET "+mandatePath+"{id}", p.serveMandatePage)
	mux.HandleFunc("POST "+mandatePath+"{id}", p.serveMandatePost)
	return mux
}

func serveTokenisePreflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (p *Provider) serveTokenise(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		_, _ = fmt.Fprint(w, "errorCode="+TokenBadCredentials)
		return
	}
	form := TokenisationForm{Data: r.PostForm.Get("data"), AccessKeyRef: r.PostForm.Get("accessKeyRef"),
		CardNumber: r.PostForm.Get("cardNumber"), ExpirationDate: r.PostForm.Get("cardExpirationDate"), CVX: r.PostForm.Get("cardCvx")}
	answer, err := p.Tokenise(r.Context(), r.PathValue("id"), form)
	if err != nil {
		p.log.LogAttrs(r.Context(), slog.LevelError, "sandbox psp tokenisation", slog.Any("error", err))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprint(w, "errorCode=009999")
		return
	}
	_, _ = fmt.Fprint(w, answer)
}

// securePage is what the 3-D Secure page shows.
type securePage struct {
	Merchant  string
	Amount    string
	Alias     string
	TriesLeft int
	Error     string
	Finished  bool
	Succeeded bool
	ReturnURL string
}

func (p *Provider) securePage(ctx context.Context, id string) (securePage, PayIn, error) {
	pi, err := p.store.PayIn(ctx, id)
	if err != nil {
		return securePage{}, PayIn{}, err
	}
	if pi.Method != psp.PayInCard {
		return securePage{}, PayIn{}, psp.ErrNotFound
	}
	card, err := p.store.Card(ctx, pi.CardID)
	if err != nil {
		return securePage{}, PayIn{}, err
	}
	return securePage{Merchant: Merchant, Amount: FormatEuros(pi.Amount), Alias: card.Alias,
		TriesLeft: MaxSecureTries - pi.WrongCodes, Finished: pi.Status != psp.PayInCreated || !pi.SecureModeNeeded,
		Succeeded: pi.Status == psp.PayInSucceeded, ReturnURL: pi.ReturnURL}, pi, nil
}

func (p *Provider) serveSecurePage(w http.ResponseWriter, r *http.Request) {
	page, _, err := p.securePage(r.Context(), r.PathValue("id"))
	if err != nil {
		p.pageError(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "secure", page)
}

func (p *Provider) serveSecurePost(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.pageError(w, r, errBadForm)
		return
	}
	var err error
	wrongCode := false
	if r.PostForm.Get("action") == "cancel" {
		_, err = p.CancelSecureMode(ctx, id)
	} else {
		var out SecureOutcome
		out, err = p.SubmitSecureCode(ctx, id, strings.TrimSpace(r.PostForm.Get("code")))
		wrongCode = err == nil && !out.Finished
	}
	page, pi, readErr := p.securePage(ctx, id)
	switch {
	case errors.Is(err, ErrFinished) && readErr == nil:
		p.render(w, r, http.StatusConflict, "secure", page)
	case err != nil:
		p.pageError(w, r, err)
	case readErr != nil:
		p.pageError(w, r, readErr)
	case wrongCode:
		page.Error = "Code incorrect."
		p.render(w, r, http.StatusOK, "secure", page)
	default:
		seeOther(w, pi.ReturnURL)
	}
}

// mandatePage is what the mandate signature page shows.
type mandatePage struct {
	Creditor      string
	OwnerName     string
	MaskedIBAN    string
	BankReference string
	Error         string
	Finished      bool
	Status        string // French label of a finished mandate
	Signed        bool   // submitted or active
	ReturnURL     string
}

var mandateLabels = map[psp.MandateStatus]string{
	psp.MandateSubmitted: "Mandat signé",
	psp.MandateActive:    "Mandat actif",
	psp.MandateFailed:    "Mandat refusé",
	psp.MandateExpired:   "Mandat expiré : il n'a pas été signé à temps",
	psp.MandateCancelled: "Mandat annulé",
}

func (p *Provider) mandatePage(ctx context.Context, id string) (mandatePage, Mandate, error) {
	m, err := p.mandate(ctx, id)
	if err != nil {
		return mandatePage{}, Mandate{}, err
	}
	b, err := p.store.BankAccount(ctx, m.BankAccountID)
	if err != nil {
		return mandatePage{}, Mandate{}, err
	}
	return mandatePage{Creditor: Merchant, OwnerName: b.OwnerName, MaskedIBAN: b.MaskedIBAN, BankReference: m.BankReference,
		Finished: m.Status != psp.MandateCreated, Status: mandateLabels[m.Status],
		Signed: m.Status == psp.MandateSubmitted || m.Status == psp.MandateActive, ReturnURL: m.ReturnURL}, m, nil
}

func (p *Provider) serveMandatePage(w http.ResponseWriter, r *http.Request) {
	page, _, err := p.mandatePage(r.Context(), r.PathValue("id"))
	if err != nil {
		p.pageError(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "mandate", page)
}

func (p *Provider) serveMandatePost(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.pageError(w, r, errBadForm)
		return
	}
	var err error
	switch r.PostForm.Get("action") {
	case "sign":
		_, err = p.SignMandate(ctx, id)
	case "refuse":
		_, err = p.RefuseMandate(ctx, id)
	default:
		page, _, readErr := p.mandatePage(ctx, id)
		if readErr != nil {
			p.pageError(w, r, readErr)
			return
		}
		page.Error = "Choisissez « Signer » ou « Refuser »."
		p.render(w, r, http.StatusBadRequest, "mandate", page)
		return
	}
	page, m, readErr := p.mandatePage(ctx, id)
	switch {
	case errors.Is(err, ErrFinished) && readErr == nil:
		p.render(w, r, http.StatusConflict, "mandate", page)
	case err != nil:
		p.pageError(w, r, err)
	case readErr != nil:
		p.pageError(w, r, readErr)
	default:
		seeOther(w, m.ReturnURL)
	}
}

// seeOther redirects (303) to exactly target.
func seeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

var errBadForm = errors.New("sandbox: unreadable form")

type messagePage struct{ Title, Message string }

func (p *Provider) pageError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, psp.ErrNotFound):
		p.render(w, r, http.StatusNotFound, "message", messagePage{"Page introuvable", "Cette opération n'existe pas."})
	case errors.Is(err, errBadForm):
		p.render(w, r, http.StatusBadRequest, "message", messagePage{"Formulaire illisible", "Le formulaire envoyé n'a pas pu être lu."})
	default:
		p.log.LogAttrs(r.Context(), slog.LevelError, "sandbox psp page", slog.String("path", r.URL.Path), slog.Any("error", err))
		p.render(w, r, http.StatusInternalServerError, "message", messagePage{"Service indisponible", "La banque ne répond pas. Réessayez dans un instant."})
	}
}

func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
	w.WriteHeader(status)
	if err := pageTemplates.ExecuteTemplate(w, name, data); err != nil {
		p.log.LogAttrs(r.Context(), slog.LevelError, "sandbox psp page render", slog.String("page", name), slog.Any("error", err))
	}
}

// FormatEuros writes cents the French way: 123456 → "1 234,56 €".
func FormatEuros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	units := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, c := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s%s,%02d €", sign, b.String(), cents%100)
}

var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} — Banque Sandbox</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef1f5;color:#1d2733}
main{max-width:32rem;margin:3rem auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(20,30,50,.12);overflow:hidden}
header{background:#12355b;color:#fff;padding:1rem 1.5rem}
header p{margin:0;font-size:.85rem;opacity:.8}
header h1{margin:.2rem 0 0;font-size:1.25rem}
section{padding:1.5rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem;margin:0 0 1.25rem}
dt{color:#5b6675;white-space:nowrap}
dd{margin:0;font-weight:600}
.amount,.iban{white-space:nowrap}
label{display:block;font-weight:600;margin-bottom:.4rem}
input[type=text]{width:100%;font-family:inherit;font-size:1.3rem;letter-spacing:.3em;padding:.55rem .7rem;border:1px solid #b8c1cc;border-radius:8px}
.hint{color:#5b6675;font-size:.85rem;margin:.4rem 0 1rem}
.actions{display:flex;gap:.75rem}
button{flex:1;font-family:inherit;font-size:1rem;padding:.7rem;border-radius:8px;border:1px solid #12355b;cursor:pointer}
.primary{background:#12355b;color:#fff}
.secondary{background:#fff;color:#12355b}
.error{background:#fdecec;color:#9b1c1c;border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem}
.ok{background:#e8f6ee;color:#17603a;border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem}
.ko{background:#fdecec;color:#9b1c1c;border-radius:8px;padding:.6rem .8rem;margin-bottom:1rem}
.legal{font-size:.8rem;color:#5b6675}
a{color:#12355b;font-weight:600}
</style></head><body><main>{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "secure"}}{{template "head" "Authentification 3-D Secure"}}
<header><p>Banque Sandbox · 3-D Secure</p><h1>{{if .Finished}}Authentification terminée{{else}}Confirmez votre paiement{{end}}</h1></header>
<section>
<dl>
<dt>Marchand</dt><dd>{{.Merchant}}</dd>
<dt>Montant</dt><dd class="amount" id="amount">{{.Amount}}</dd>
<dt>Carte</dt><dd>{{.Alias}}</dd>
</dl>
{{if .Finished}}
{{if .Succeeded}}<p class="ok" id="outcome">Paiement authentifié.</p>{{else}}<p class="ko" id="outcome">Paiement refusé.</p>{{end}}
<p><a href="{{.ReturnURL}}">Retour au site marchand</a></p>
{{else}}
{{if .Error}}<p class="error" id="error" data-tries-left="{{.TriesLeft}}">{{.Error}} Il vous reste {{.TriesLeft}} essai{{if gt .TriesLeft 1}}s{{end}}.</p>{{end}}
<form method="post">
<label for="code">Code de confirmation reçu par SMS</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required autofocus>
<p class="hint">Environnement de test : le code est 123456. Essais restants : <span id="tries">{{.TriesLeft}}</span>.</p>
<div class="actions">
<button type="submit" class="primary" name="action" value="validate" id="validate">Valider</button>
<button type="submit" class="secondary" name="action" value="cancel" id="cancel" formnovalidate>Annuler</button>
</div>
</form>
{{end}}
</section>{{template "foot"}}{{end}}

{{define "mandate"}}{{template "head" "Mandat de prélèvement SEPA"}}
<header><p>Banque Sandbox · Signature électronique</p><h1>Mandat de prélèvement SEPA</h1></header>
<section>
<dl>
<dt>Créancier</dt><dd>{{.Creditor}}</dd>
<dt>Titulaire</dt><dd>{{.OwnerName}}</dd>
<dt>IBAN</dt><dd class="iban" id="iban">{{.MaskedIBAN}}</dd>
<dt>Référence (RUM)</dt><dd>{{.BankReference}}</dd>
</dl>
{{if .Finished}}
<p class="{{if .Signed}}ok{{else}}ko{{end}}" id="outcome">{{.Status}}.</p>
<p><a href="{{.ReturnURL}}">Retour au site marchand</a></p>
{{else}}
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<p class="legal">En signant ce mandat, vous autorisez {{.Creditor}} à envoyer des instructions à votre banque pour débiter votre compte, et votre banque à débiter votre compte conformément à ces instructions. Vous bénéficiez du droit d'être remboursé par votre banque selon les conditions de la convention que vous avez passée avec elle, dans les 8 semaines suivant la date de débit.</p>
<form method="post">
<div class="actions">
<button type="submit" class="primary" name="action" value="sign" id="sign">Signer</button>
<button type="submit" class="secondary" name="action" value="refuse" id="refuse">Refuser</button>
</div>
</form>
{{end}}
</section>{{template "foot"}}{{end}}

{{define "message"}}{{template "head" .Title}}
<header><p>Banque Sandbox</p><h1>{{.Title}}</h1></header>
<section><p>{{.Message}}</p></section>{{template "foot"}}{{end}}
`))
