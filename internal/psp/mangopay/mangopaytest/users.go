package mangopaytest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Users, wallets and strong customer authentication (SCA).

// user is a legal user as the SCA endpoints answer it (Mangopay/docs
// api-reference/users/legal-user-object-sca.mdx; Python SDK resources.py LegalUserSca).
type user struct {
	ID                             string              `json:"Id"`
	PersonType                     string              `json:"PersonType"`
	UserCategory                   string              `json:"UserCategory"`
	UserStatus                     string              `json:"UserStatus"`
	KYCLevel                       string              `json:"KYCLevel"`
	TermsAndConditionsAccepted     bool                `json:"TermsAndConditionsAccepted"`
	TermsAndConditionsAcceptedDate *int64              `json:"TermsAndConditionsAcceptedDate"`
	LegalPersonType                string              `json:"LegalPersonType"`
	Name                           string              `json:"Name"`
	Email                          string              `json:"Email"`
	HeadquartersAddress            *address            `json:"HeadquartersAddress"`
	LegalRepresentativeAddress     *address            `json:"LegalRepresentativeAddress"`
	CompanyNumber                  *string             `json:"CompanyNumber"`
	LegalRepresentative            legalRepresentative `json:"LegalRepresentative"`
	PendingUserAction              *pendingUserAction  `json:"PendingUserAction"`
	Tag                            string              `json:"Tag"`
	CreationDate                   int64               `json:"CreationDate"`

	walletAccess time.Time // last successful SCA for wallet access
	proxyConsent bool      // consent to USER_NOT_PRESENT actions (proxy management)
}

type legalRepresentative struct {
	FirstName          string  `json:"FirstName"`
	LastName           string  `json:"LastName"`
	Birthday           *int64  `json:"Birthday"`
	Nationality        *string `json:"Nationality"`
	CountryOfResidence *string `json:"CountryOfResidence"`
	Email              *string `json:"Email"`
	PhoneNumber        *string `json:"PhoneNumber"`
	PhoneNumberCountry *string `json:"PhoneNumberCountry"`
}

type pendingUserAction struct {
	RedirectURL string `json:"RedirectUrl"`
}

// scaSession is an SCA session waiting behind a RedirectUrl: what authenticating completes.
type scaSession struct {
	kind string // "enrolment", "recipient", "wallet", "transfer"
	id   string // the user or the recipient
}

// walletAccessValidity is how long an owner's SCA for wallet access lasts (Mangopay/docs
// guides/sca/wallets.mdx: "SCA is required on first-time access and if more than 180 days have
// passed").
const walletAccessValidity = 180 * 24 * time.Hour

// fakeNames are names MangoPay's production anti-fraud rule refuses (Mangopay/docs
// guides/users/types.mdx: fictitious names such as "Homer Simpson", keywords such as "test",
// "undefined", "unknown"), with the placeholder vhupay once sent ("Representant").
var fakeNames = map[string]bool{
	"test": true, "undefined": true, "unknown": true, "null": true, "none": true, "n/a": true,
	"representant": true, "representative": true, "homer simpson": true, "marilyn monroe": true,
}

// fakeName reports whether a person's names fail the anti-fraud rule; a last name equal to the
// company's name is a placeholder too.
func fakeName(first, last, company string) bool {
	f, l := strings.ToLower(strings.TrimSpace(first)), strings.ToLower(strings.TrimSpace(last))
	return fakeNames[f] || fakeNames[l] || fakeNames[f+" "+l] || (l != "" && l == strings.ToLower(strings.TrimSpace(company)))
}

type scaLegalUserRequest struct {
	UserCategory               string   `json:"UserCategory"`
	ScaContext                 string   `json:"ScaContext"`
	TermsAndConditionsAccepted bool     `json:"TermsAndConditionsAccepted"`
	LegalPersonType            string   `json:"LegalPersonType"`
	Name                       string   `json:"Name"`
	Email                      string   `json:"Email"`
	HeadquartersAddress        *address `json:"HeadquartersAddress"`
	LegalRepresentativeAddress *address `json:"LegalRepresentativeAddress"`
	CompanyNumber              string   `json:"CompanyNumber"`
	LegalRepresentative        struct {
		FirstName          string `json:"FirstName"`
		LastName           string `json:"LastName"`
		Birthday           *int64 `json:"Birthday"`
		Nationality        string `json:"Nationality"`
		CountryOfResidence string `json:"CountryOfResidence"`
		Email              string `json:"Email"`
		PhoneNumber        string `json:"PhoneNumber"`
		PhoneNumberCountry string `json:"PhoneNumberCountry"`
	} `json:"LegalRepresentative"`
	Tag string `json:"Tag"`
}

// createScaLegalUser serves POST /sca/users/legal (Mangopay/docs
// api-reference/users/create-legal-user-sca.mdx). Beyond the schema:
//   - an OWNER needs TermsAndConditionsAccepted (snippets/p-body/TermsAndConditionsAccepted.mdx),
//     a HeadquartersAddress (HeadquartersAddress.mdx), a CompanyNumber when BUSINESS
//     (CompanyNumber.mdx), and the representative's Birthday, Nationality, CountryOfResidence and
//     Email (Birthday.mdx, Nationality.mdx, CountryOfResidence.mdx, Email9.mdx);
//   - ScaContext defaults to USER_PRESENT for an OWNER, who is then PENDING_USER_ACTION with a
//     PendingUserAction.RedirectUrl (guides/sca/users.mdx); USER_NOT_PRESENT needs MangoPay's
//     permission (ScaContext_User_Creation.mdx), which this fake never has: 403;
//   - fake names are refused with 400 fraud_policy (guides/users/types.mdx);
//   - a PAYER's company number, headquarters and representative details are returned null.
func (s *Server) createScaLegalUser(_ params, body []byte) reply {
	in := decode[scaLegalUserRequest](body)
	rep := in.LegalRepresentative
	errs := map[string]string{}
	if !strings.Contains(in.Email, "@") {
		errs["Email"] = "The Email field is not a valid e-mail address."
	}
	if rep.Email != "" && !strings.Contains(rep.Email, "@") {
		errs["LegalRepresentative.Email"] = "The Email field is not a valid e-mail address."
	}
	owner := in.UserCategory == "OWNER"
	if owner {
		if in.HeadquartersAddress == nil {
			errs["HeadquartersAddress"] = "The HeadquartersAddress field is required for an OWNER."
		}
		if in.LegalPersonType == "BUSINESS" && in.CompanyNumber == "" {
			errs["CompanyNumber"] = "The CompanyNumber field is required for a BUSINESS OWNER."
		}
		required := map[string]bool{"Birthday": rep.Birthday == nil, "Nationality": rep.Nationality == "",
			"CountryOfResidence": rep.CountryOfResidence == "", "Email": rep.Email == ""}
		for name, missing := range required {
			if missing {
				errs["LegalRepresentative."+name] = fmt.Sprintf("The %s field is required for an OWNER.", name)
			}
		}
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	if owner && !in.TermsAndConditionsAccepted {
		return s.apiError(http.StatusBadRequest, "user_hasnt_accepted_terms_and_conditions", "The user must accept the terms and conditions", nil)
	}
	if owner && in.ScaContext == "USER_NOT_PRESENT" {
		return s.apiError(http.StatusForbidden, "forbidden_ressource", "Creating an OWNER without SCA enrolment needs Mangopay's permission", nil)
	}
	if fakeName(rep.FirstName, rep.LastName, in.Name) {
		return s.apiError(http.StatusBadRequest, "fraud_policy", "The data you provided does not comply with our anti-fraud policy", nil)
	}
	u := &user{
		ID: s.newID("user_m_"), PersonType: "LEGAL", UserCategory: in.UserCategory, UserStatus: "ACTIVE", KYCLevel: "LIGHT",
		TermsAndConditionsAccepted: in.TermsAndConditionsAccepted, LegalPersonType: in.LegalPersonType, Name: in.Name,
		Email: in.Email, LegalRepresentativeAddress: in.LegalRepresentativeAddress, Tag: in.Tag, CreationDate: s.now(),
		LegalRepresentative: legalRepresentative{FirstName: rep.FirstName, LastName: rep.LastName,
			PhoneNumber: nonEmpty(rep.PhoneNumber), PhoneNumberCountry: nonEmpty(rep.PhoneNumberCountry)},
		HeadquartersAddress: &address{},
	}
	if in.TermsAndConditionsAccepted {
		u.TermsAndConditionsAcceptedDate = ptr(s.now())
	}
	if owner {
		u.HeadquartersAddress, u.CompanyNumber = in.HeadquartersAddress, nonEmpty(in.CompanyNumber)
		u.LegalRepresentative.Birthday, u.LegalRepresentative.Nationality = rep.Birthday, nonEmpty(rep.Nationality)
		u.LegalRepresentative.CountryOfResidence, u.LegalRepresentative.Email = nonEmpty(rep.CountryOfResidence), nonEmpty(rep.Email)
		u.UserStatus = "PENDING_USER_ACTION"
		u.PendingUserAction = s.session("enrolment", u.ID)
	}
	s.users[u.ID] = u
	s.created["users"]++
	if owner {
		s.event("USER_ACCOUNT_VALIDATION_ASKED", u.ID)
	}
	return created(u)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// getUser serves GET /users/{id} and GET /sca/users/{id}, whose PendingUserAction is always
// null (api-reference/users/view-user-sca.mdx).
func (s *Server) getUser(p params, _ []byte) reply {
	u, found := s.users[p[0]]
	if !found {
		return s.notFound()
	}
	out := *u
	out.PendingUserAction = nil
	return ok(out)
}

// enrolUser serves POST /sca/users/{id}/enrollment (api-reference/users/enroll-user.mdx): a new
// SCA session for an OWNER whose representative has an e-mail; UserStatus is unchanged.
func (s *Server) enrolUser(p params, _ []byte) reply {
	u, found := s.users[p[0]]
	if !found {
		return s.notFound()
	}
	if u.UserCategory != "OWNER" {
		return s.paramError(map[string]string{"UserCategory": "Only OWNER users enroll in SCA."})
	}
	if u.LegalRepresentative.Email == nil {
		return s.paramError(map[string]string{"LegalRepresentative.Email": "The legal representative's email is required."})
	}
	return ok(map[string]any{"PendingUserAction": s.session("enrolment", u.ID)})
}

// session opens an SCA session and returns its RedirectUrl; callers hold mu.
func (s *Server) session(kind, id string) *pendingUserAction {
	token := "sca_" + randomHex(16)
	s.sessions[token] = &scaSession{kind: kind, id: id}
	return &pendingUserAction{RedirectURL: s.URL + "/sca/" + token}
}

// serveScaSession is the hosted SCA page behind a RedirectUrl: GET ?outcome=fail fails it,
// anything else authenticates. With a returnUrl query parameter it redirects (302) there with
// controlStatus=VALIDATED or REFUSED, as MangoPay does (guides/sca/session.mdx).
func (s *Server) serveScaSession(w http.ResponseWriter, r *http.Request, token string) {
	failed := r.URL.Query().Get("outcome") == "fail"
	if err := s.endSession(token, failed); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	status := "VALIDATED"
	if failed {
		status = "REFUSED"
	}
	if back := r.URL.Query().Get("returnUrl"); back != "" {
		http.Redirect(w, r, withQuery(back, "controlStatus", status), http.StatusFound)
		return
	}
	_, _ = fmt.Fprintf(w, "SCA %s\n", strings.ToLower(status))
}

// Authenticate completes the SCA session behind a RedirectUrl, as the person would on MangoPay's
// page: an OWNER's enrolment makes it ACTIVE, a recipient becomes ACTIVE, a wallet access is
// granted for 180 days.
func (s *Server) Authenticate(redirectURL string) error {
	return s.endSession(sessionToken(redirectURL), false)
}

// FailAuthentication ends the SCA session behind a RedirectUrl without success: an enrolment
// fails (the owner stays PENDING_USER_ACTION), a recipient is CANCELED.
func (s *Server) FailAuthentication(redirectURL string) error {
	return s.endSession(sessionToken(redirectURL), true)
}

func sessionToken(redirectURL string) string {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/sca/")
}

func (s *Server) endSession(token string, failed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, found := s.sessions[token]
	if !found {
		return fmt.Errorf("mangopaytest: no SCA session %q", token)
	}
	delete(s.sessions, token)
	switch sess.kind {
	case "enrolment":
		u := s.users[sess.id]
		if failed {
			s.event("SCA_ENROLLMENT_FAILED", u.ID)
			return nil
		}
		u.UserStatus = "ACTIVE"
		s.event("SCA_ENROLLMENT_SUCCEEDED", u.ID)
		s.event("USER_ACCOUNT_ACTIVATED", u.ID)
	case "wallet":
		if !failed {
			s.users[sess.id].walletAccess = s.clock.Now()
		}
	case "transfer": // guides/sca/transfers.mdx; errors/codes/007101.mdx
		t := s.transfers[sess.id]
		t.PendingUserAction = nil
		if failed {
			t.fail("007101", "Transfer authentication failed. Please retry with a new request.")
			s.event("TRANSFER_NORMAL_FAILED", t.ID)
			return nil
		}
		s.settleTransfer(t)
	case "recipient":
		rc := s.recipients[sess.id]
		if rc.Status != "PENDING" {
			return fmt.Errorf("mangopaytest: recipient %s is %s", rc.ID, rc.Status)
		}
		rc.PendingUserAction = nil
		if failed {
			rc.Status = "CANCELED"
			s.event("RECIPIENT_CANCELED", rc.ID)
			return nil
		}
		rc.Status = "ACTIVE"
		s.event("RECIPIENT_ACTIVE", rc.ID)
	}
	return nil
}

// ValidateKYB is MangoPay validating an OWNER's documents: KYCLevel REGULAR, payouts allowed
// (snippets/p-response/KYCLevelResponse.mdx; hook USER_KYC_REGULAR).
func (s *Server) ValidateKYB(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.users[userID]
	if !found || u.UserCategory != "OWNER" {
		return fmt.Errorf("mangopaytest: %s is not an OWNER", userID)
	}
	u.KYCLevel = "REGULAR"
	s.event("USER_KYC_REGULAR", u.ID)
	return nil
}

// GrantProxyConsent records an owner's consent to actions taken without it on session
// (USER_NOT_PRESENT; guides/sca/proxy-management.mdx).
func (s *Server) GrantProxyConsent(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.users[userID]
	if !found {
		return fmt.Errorf("mangopaytest: no user %s", userID)
	}
	u.proxyConsent = true
	return nil
}

// UserName returns a user's Name and representative's names, and whether it exists.
func (s *Server) UserName(userID string) (name, first, last string, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, found := s.users[userID]
	if !found {
		return "", "", "", false
	}
	return u.Name, u.LegalRepresentative.FirstName, u.LegalRepresentative.LastName, true
}

// Wallets.

const (
	feesWalletID      = "FEES_EUR"   // the client's fees wallet
	repudiationWallet = "CREDIT_EUR" // the client's repudiation wallet
)

// clientWallets creates the client's EUR fees and repudiation wallets (Mangopay/docs
// api-reference/client-wallets/view-client-wallet.mdx: "created automatically by Mangopay for each
// currency").
func (s *Server) clientWallets() {
	for id, funds := range map[string]string{feesWalletID: "FEES", repudiationWallet: "CREDIT"} {
		s.wallets[id] = &wallet{ID: id, Currency: "EUR", Balance: money{Currency: "EUR"}, FundsType: funds, CreationDate: s.now()}
	}
}

// credit adds cents to a wallet (negative: debits it); callers hold mu.
func (s *Server) credit(walletID string, cents int64) {
	if w := s.wallets[walletID]; w != nil {
		w.Balance.Amount += cents
	}
}

// balance is a wallet's balance; callers hold mu.
func (s *Server) balance(walletID string) int64 {
	if w := s.wallets[walletID]; w != nil {
		return w.Balance.Amount
	}
	return 0
}

// ownerOf is a wallet's owner (nil for the client's wallets); callers hold mu.
func (s *Server) ownerOf(w *wallet) *user {
	if w == nil || len(w.Owners) == 0 {
		return nil
	}
	return s.users[w.Owners[0]]
}

// getWallet serves GET /wallets/{id}[?ScaContext=…] (api-reference/wallets/view-wallet.mdx,
// guides/sca/wallets.mdx): for an OWNER's wallet ScaContext must be sent; USER_PRESENT answers
// 401 with "WWW-Authenticate: PendingUserAction RedirectUrl=…" and no body unless the owner
// authenticated for wallet access in the last 180 days; USER_NOT_PRESENT needs the owner's
// proxy consent (else 403).
func (s *Server) getWallet(p params, q url.Values) reply {
	w, found := s.wallets[p[0]]
	if !found {
		return s.notFound()
	}
	sca := q.Get("ScaContext")
	if sca != "" && sca != "USER_PRESENT" && sca != "USER_NOT_PRESENT" {
		return s.paramError(map[string]string{"ScaContext": "The ScaContext field has an invalid value."})
	}
	owner := s.ownerOf(w)
	if owner == nil || owner.UserCategory != "OWNER" {
		return ok(w)
	}
	switch sca {
	case "":
		return s.paramError(map[string]string{"ScaContext": "The ScaContext field is required to access an OWNER's wallet."})
	case "USER_NOT_PRESENT":
		if !owner.proxyConsent {
			return s.apiError(http.StatusForbidden, "forbidden_ressource", "The user has not given consent for this action", nil)
		}
		return ok(w)
	}
	if !owner.walletAccess.IsZero() && s.clock.Now().Sub(owner.walletAccess) < walletAccessValidity {
		return ok(w)
	}
	action := s.session("wallet", owner.ID)
	return reply{status: http.StatusUnauthorized, header: http.Header{
		"Www-Authenticate": {"PendingUserAction RedirectUrl=" + action.RedirectURL},
	}}
}

// getClientWallet serves GET /clients/wallets/{FundsType}/{Currency}: FEES or CREDIT, EUR.
func (s *Server) getClientWallet(p params, _ []byte) reply {
	funds, cur := p[0], p[1]
	if funds != "FEES" && funds != "CREDIT" {
		return s.paramError(map[string]string{"FundsType": "The FundsType must be FEES or CREDIT."})
	}
	w, found := s.wallets[funds+"_"+cur]
	if !found {
		return s.notFound()
	}
	return ok(w)
}
