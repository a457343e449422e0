package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func representativeBody() map[string]any {
	return map[string]any{"legal_representative": map[string]any{
		"first_name": "Paul", "last_name": "Durand", "birthday": "1975-04-02", "nationality": "FR",
		"country_of_residence": "FR", "email": "paul.durand@cvhu.fr",
	}}
}

var fullRepresentative = httpapi.LegalRepresentative{FirstName: "Paul", LastName: "Durand", Birthday: "1975-04-02",
	Nationality: "FR", CountryOfResidence: "FR", Email: "paul.durand@cvhu.fr"}

// TestLegalRepresentative: given at creation or later with PATCH, returned on GET; who may set it;
// what is refused.
func TestLegalRepresentative(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin, service := s.Token(t, auth.RoleAdmin, ""), s.Token(t, auth.RoleService, "")

		// A buyer created with its representative (names only) and one without.
		withRep := createBuyer(t, s, "812345676")
		if withRep.LegalRepresentative == nil || *withRep.LegalRepresentative != (httpapi.LegalRepresentative{FirstName: "Alice", LastName: "Martin"}) {
			t.Fatalf("created with a representative: %+v", withRep.LegalRepresentative)
		}
		body := buyerBody("823456785")
		delete(body, "legal_representative")
		var without httpapi.Buyer
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: body}).Expect(t, 201).JSON(t, &without)
		if without.LegalRepresentative != nil {
			t.Fatalf("created without: %+v", without.LegalRepresentative)
		}
		raw := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + without.ID, Token: admin}).Expect(t, 200)
		if !containsJSON(raw.Body, `"legal_representative":null`) {
			t.Fatalf("GET without a representative: %s", raw.Body)
		}

		// The buyer itself, admin and service may set it; another buyer may not see the buyer.
		self := s.Token(t, auth.RoleBuyer, without.ID)
		var got httpapi.Buyer
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + without.ID, Token: self, Body: representativeBody()}).Expect(t, 200).JSON(t, &got)
		if diff := cmp.Diff(&fullRepresentative, got.LegalRepresentative); diff != "" {
			t.Fatalf("PATCH by the buyer (-want +got):\n%s", diff)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + without.ID, Token: self}).Expect(t, 200).JSON(t, &got)
		if diff := cmp.Diff(&fullRepresentative, got.LegalRepresentative); diff != "" {
			t.Fatalf("GET after PATCH (-want +got):\n%s", diff)
		}
		other := s.Token(t, auth.RoleBuyer, withRep.ID)
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + without.ID, Token: other, Body: representativeBody()}).ExpectProblem(t, 404, "not_found")
		for _, tok := range []string{admin, service} {
			s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + withRep.ID, Token: tok, Body: representativeBody()}).Expect(t, 200)
		}
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/byr_nobody", Token: admin, Body: representativeBody()}).ExpectProblem(t, 404, "not_found")

		// Centres: the centre itself, admin, service.
		center := createCenter(t, s, "81234567600017")
		if center.LegalRepresentative != nil {
			t.Fatalf("centre created without: %+v", center.LegalRepresentative)
		}
		var ct httpapi.Center
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/centers/" + center.ID, Token: s.Token(t, auth.RoleCenter, center.ID), Body: representativeBody()}).
			Expect(t, 200).JSON(t, &ct)
		if diff := cmp.Diff(&fullRepresentative, ct.LegalRepresentative); diff != "" {
			t.Fatalf("PATCH by the centre (-want +got):\n%s", diff)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers/" + center.ID, Token: other}).Expect(t, 200).JSON(t, &ct)
		if ct.LegalRepresentative == nil || ct.LegalRepresentative.Birthday != "1975-04-02" {
			t.Fatalf("GET centre: %+v", ct.LegalRepresentative)
		}
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/centers/" + center.ID, Token: s.Token(t, auth.RoleCenter, "ctr_other"), Body: representativeBody()}).
			ExpectProblem(t, 404, "not_found")
		centerBodyWith := centerBody("73282932000074")
		centerBodyWith["legal_representative"] = representativeBody()["legal_representative"]
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: centerBodyWith}).Expect(t, 201).JSON(t, &ct)
		if diff := cmp.Diff(&fullRepresentative, ct.LegalRepresentative); diff != "" {
			t.Fatalf("centre created with a representative (-want +got):\n%s", diff)
		}

		// Refused input: 422 on the field, nothing changed.
		for name, tt := range map[string]struct {
			rep   map[string]any
			field string
		}{
			"no last name":      {map[string]any{"first_name": "Paul"}, "legal_representative.last_name"},
			"blank first name":  {map[string]any{"first_name": "   ", "last_name": "Durand"}, "legal_representative.first_name"},
			"birthday format":   {map[string]any{"first_name": "Paul", "last_name": "Durand", "birthday": "02/04/1975"}, "legal_representative.birthday"},
			"birthday to come":  {map[string]any{"first_name": "Paul", "last_name": "Durand", "birthday": "2999-01-01"}, "legal_representative.birthday"},
			"nationality":       {map[string]any{"first_name": "Paul", "last_name": "Durand", "nationality": "FRA"}, "legal_representative.nationality"},
			"country":           {map[string]any{"first_name": "Paul", "last_name": "Durand", "country_of_residence": "ZZ"}, "legal_representative.country_of_residence"},
			"e-mail":            {map[string]any{"first_name": "Paul", "last_name": "Durand", "email": "paul"}, "legal_representative.email"},
			"unknown member":    {map[string]any{"first_name": "Paul", "last_name": "Durand", "phone": "0600000000"}, "legal_representative.phone"},
			"long name":         {map[string]any{"first_name": string(make([]byte, 101)), "last_name": "Durand"}, "legal_representative.first_name"},
			"missing (no body)": {nil, "legal_representative"},
		} {
			t.Run(name, func(t *testing.T) {
				body := map[string]any{}
				if tt.rep != nil {
					body["legal_representative"] = tt.rep
				}
				p := s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + withRep.ID, Token: admin, Body: body}).ExpectProblem(t, 422, "validation_failed")
				// (an unknown nested member is named by its own name today, by its full path later)
				if len(p.Errors) == 0 || !strings.HasSuffix(tt.field, p.Errors[0].Field) {
					t.Fatalf("errors %+v, want one on %s", p.Errors, tt.field)
				}
			})
		}
		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + withRep.ID, Token: admin, Body: `{"legal_representative":{"first_name":"Pa\u0000ul","last_name":"Durand"}}`}).
			ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + withRep.ID, Token: admin}).Expect(t, 200).JSON(t, &got)
		if diff := cmp.Diff(&fullRepresentative, got.LegalRepresentative); diff != "" {
			t.Fatalf("changed by a refused PATCH (-want +got):\n%s", diff)
		}
	})
}

// TestLegalRepresentativeRequiredWithMangoPay: with MangoPay a buyer without a legal representative
// cannot register a card or a bank account (its provider user would carry placeholder names, which
// MangoPay refuses in production): 409 legal_representative_required, nothing asked of MangoPay.
// Once set, the provider user is created with the real names. The sandbox never requires it.
func TestLegalRepresentativeRequiredWithMangoPay(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		s := apptest.Start(t, b, apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey))
		admin := s.Token(t, auth.RoleAdmin, "")
		body := buyerBody("812345676")
		delete(body, "legal_representative")
		var buyer httpapi.Buyer
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: body}).Expect(t, 201).JSON(t, &buyer)
		token := s.Token(t, auth.RoleBuyer, buyer.ID)

		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: token, Body: map[string]any{}}).
			ExpectProblem(t, 409, "legal_representative_required")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: token, Body: map[string]any{
			"owner_name": "Garage Martin", "iban": "FR7630006000011234567890189",
			"owner_address": map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
		}}).ExpectProblem(t, 409, "legal_representative_required")
		if calls := fake.CallCounts(); len(calls) != 0 {
			t.Fatalf("MangoPay was called: %v", calls)
		}

		s.Do(t, apptest.Request{Method: "PATCH", Path: "/v1/buyers/" + buyer.ID, Token: token, Body: map[string]any{
			"legal_representative": map[string]any{"first_name": "Alice", "last_name": "Martin"}}}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: token, Body: map[string]any{}}).Expect(t, 201)
		if fake.Calls("POST /sca/users/legal") != 1 || fake.Created("users") != 1 {
			t.Fatalf("calls %v", fake.CallCounts())
		}
	})
}

func TestLegalRepresentativeNotRequiredBySandbox(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		body := buyerBody("812345676")
		delete(body, "legal_representative")
		var buyer httpapi.Buyer
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: s.Token(t, auth.RoleAdmin, ""), Body: body}).Expect(t, 201).JSON(t, &buyer)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: s.Token(t, auth.RoleBuyer, buyer.ID), Body: map[string]any{}}).Expect(t, 201)
	})
}

func containsJSON(body []byte, fragment string) bool { return strings.Contains(string(body), fragment) }
