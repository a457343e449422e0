package mangopaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// kind is the JSON type a field must have.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kObject
	kStrings // array of strings
	kAny     // any JSON value (objects this fake does not model, e.g. Billing)
)

// field is one member of a MangoPay request body.
type field struct {
	name     string
	kind     kind
	required bool
	nested   schema   // for kObject
	oneOf    []string // allowed values of a string
}

// schema lists every member a request body may have; anything else is refused.
type schema []field

func req(name string, k kind) field { return field{name: name, kind: k, required: true} }
func opt(name string, k kind) field { return field{name: name, kind: k} }
func obj(name string, required bool, nested schema) field {
	return field{name: name, kind: kObject, required: required, nested: nested}
}
func enum(name string, required bool, values ...string) field {
	return field{name: name, kind: kString, required: required, oneOf: values}
}

var (
	moneySchema   = schema{req("Currency", kString), req("Amount", kInt)}
	addressSchema = schema{
		req("AddressLine1", kString), opt("AddressLine2", kString), req("City", kString),
		opt("Region", kString), opt("PostalCode", kString), req("Country", kString),
	}
	browserInfoSchema = schema{
		req("AcceptHeader", kString), req("JavaEnabled", kBool), req("Language", kString),
		req("ColorDepth", kInt), req("ScreenHeight", kInt), req("ScreenWidth", kInt),
		req("TimeZoneOffset", kInt), req("UserAgent", kString), req("JavascriptEnabled", kBool),
	}
	legalUserSchema = schema{
		enum("UserCategory", true, "PAYER", "OWNER"),
		req("TermsAndConditionsAccepted", kBool),
		enum("LegalPersonType", true, "BUSINESS", "PARTNERSHIP", "ORGANIZATION", "SOLETRADER"),
		req("Name", kString), req("Email", kString),
		obj("HeadquartersAddress", false, addressSchema),
		opt("CompanyNumber", kString),
		req("LegalRepresentativeFirstName", kString), req("LegalRepresentativeLastName", kString),
		opt("LegalRepresentativeEmail", kString), opt("LegalRepresentativeBirthday", kInt),
		opt("LegalRepresentativeNationality", kString), opt("LegalRepresentativeCountryOfResidence", kString),
		obj("LegalRepresentativeAddress", false, addressSchema),
		opt("Tag", kString),
	}
	walletSchema = schema{
		req("Owners", kStrings), req("Currency", kString), req("Description", kString), opt("Tag", kString),
	}
	cardRegistrationSchema = schema{
		req("UserId", kString), req("Currency", kString),
		enum("CardType", false, "CB_VISA_MASTERCARD", "AMEX", "MAESTRO", "BCMC"),
		opt("Tag", kString),
	}
	cardRegistrationUpdateSchema = schema{req("RegistrationData", kString), opt("CardHolderName", kString)}
	cardUpdateSchema             = schema{opt("Active", kBool), opt("CardHolderName", kString)}
	cardPayInSchema              = schema{
		req("AuthorId", kString), opt("CreditedUserId", kString), req("CreditedWalletId", kString),
		obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("CardId", kString),
		enum("SecureMode", false, "DEFAULT", "FORCE", "NO_CHOICE"),
		req("SecureModeReturnURL", kString),
		obj("BrowserInfo", true, browserInfoSchema),
		req("IpAddress", kString),
		opt("Billing", kAny), opt("Shipping", kAny),
		opt("StatementDescriptor", kString),
		enum("PreferredCardNetwork", false, "VISA", "MASTERCARD", "CB", "MAESTRO"),
		enum("PaymentCategory", false, "ECommerce", "TelephoneOrder"),
		opt("ProfilingAttemptReference", kString), opt("Tag", kString), opt("Culture", kString),
	}
	directDebitPayInSchema = schema{
		req("AuthorId", kString), opt("CreditedUserId", kString), req("CreditedWalletId", kString),
		obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("MandateId", kString), opt("StatementDescriptor", kString),
		opt("ProfilingAttemptReference", kString), opt("Tag", kString),
	}
	refundSchema = schema{
		req("AuthorId", kString), obj("DebitedFunds", false, moneySchema), obj("Fees", false, moneySchema),
		opt("Tag", kString), opt("StatementDescriptor", kString),
	}
	bankAccountSchema = schema{
		req("OwnerName", kString), obj("OwnerAddress", true, addressSchema), req("IBAN", kString),
		opt("BIC", kString), opt("Tag", kString),
	}
	bankAccountUpdateSchema = schema{req("Active", kBool)}
	mandateSchema           = schema{
		req("BankAccountId", kString),
		enum("Culture", true, "DE", "EN", "ES", "FR", "IT", "NL", "PL"),
		req("ReturnURL", kString), opt("Tag", kString),
	}
)

// check validates body against sc and returns MangoPay-style field errors (field → message),
// empty when the body conforms.
func (sc schema) check(body []byte) map[string]string {
	errs := map[string]string{}
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil || members == nil {
		errs["body"] = "The request body is not a JSON object."
		return errs
	}
	sc.checkMembers("", members, errs)
	return errs
}

func (sc schema) checkMembers(prefix string, members map[string]json.RawMessage, errs map[string]string) {
	known := map[string]bool{}
	for _, f := range sc {
		known[f.name] = true
		path := prefix + f.name
		raw, present := members[f.name]
		isNull := !present || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
		if isNull {
			if f.required {
				errs[path] = fmt.Sprintf("The %s field is required.", f.name)
			}
			continue
		}
		if msg := f.checkValue(path, raw, errs); msg != "" {
			errs[path] = msg
		}
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !known[name] {
			errs[prefix+name] = fmt.Sprintf("The %s field is not a member of this request.", name)
		}
	}
}

func (f field) checkValue(path string, raw json.RawMessage, errs map[string]string) string {
	switch f.kind {
	case kString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Sprintf("The %s field must be a string.", f.name)
		}
		if f.required && s == "" {
			return fmt.Sprintf("The %s field is required.", f.name)
		}
		if len(f.oneOf) > 0 && !slices.Contains(f.oneOf, s) {
			return fmt.Sprintf("The %s field has an invalid value.", f.name)
		}
	case kBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fmt.Sprintf("The %s field must be a boolean.", f.name)
		}
	case kInt:
		var n int64
		if json.Unmarshal(raw, &n) != nil {
			return fmt.Sprintf("The %s field must be an integer.", f.name)
		}
	case kStrings:
		var ss []string
		if json.Unmarshal(raw, &ss) != nil {
			return fmt.Sprintf("The %s field must be an array of strings.", f.name)
		}
	case kObject:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return fmt.Sprintf("The %s field must be an object.", f.name)
		}
		f.nested.checkMembers(path+".", m, errs)
	}
	return ""
}
