package mangopaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"unicode/utf8"
)

// Request schemas, field for field as MangoPay documents them. Every schema names its sources:
//
//   - [D] the docs repository, github.com/Mangopay/docs (commit b5488f7), a path below it: the
//     endpoint's page (api-reference/…) imports its fields from snippets/p-body/… and their rules
//     from snippets/rules/…;
//   - [node] github.com/Mangopay/mangopay2-nodejs-sdk (commit 3366fba), typings/models/*.d.ts;
//   - [py] github.com/Mangopay/mangopay2-python-sdk (commit 23007a0), mangopay/resources.py;
//   - [java] github.com/Mangopay/mangopay2-java-sdk (commit aa7f0d7), src/main/java/com/mangopay/….
//
// Rules that depend on several fields (both Fees and DebitedFunds or neither, what an OWNER must
// give...) live in the handlers, each with its source.

// kind is the JSON type a field must have.
type kind int

const (
	kString kind = iota
	kBool
	kInt
	kObject
	kStrings     // array of strings
	kAny         // any JSON value (objects this fake does not model, e.g. Billing)
	kIntOrString // an integer, or a string holding a signed integer ("+60"), as the SDKs send it
)

// field is one member of a MangoPay request body.
type field struct {
	name     string
	kind     kind
	required bool
	nested   schema         // for kObject
	oneOf    []string       // allowed values of a string
	max      int            // maximum length of a string in characters (0: none)
	pattern  *regexp.Regexp // what a non-empty string must match
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

// maxLen bounds a string field's length.
func (f field) maxLen(n int) field { f.max = n; return f }

// matching makes a string field follow a pattern.
func (f field) matching(p *regexp.Regexp) field { f.pattern = p; return f }

var (
	// [D] snippets/rules/max-length-255-characters.mdx, used by every Tag, Name, address line.
	tag = opt("Tag", kString).maxLen(255)

	// [D] snippets/rules/max-length-10-characters-only-alphanumeric-and-spaces.mdx (card pay-ins,
	// refunds) and …/max-length-SDD-100-BACS-10-characters-only-alphanumeric-and-spaces.mdx (SEPA
	// direct debits): only letters, digits and spaces.
	alphanumericAndSpaces = regexp.MustCompile(`^[A-Za-z0-9 ]*$`)
	// [D] snippets/rules/format-iso-3166-1-alpha-2-two-letter-country-code.mdx.
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	// [D] snippets/p-body/PostalCode1.mdx: "alphanumeric, dashes, and spaces".
	postalCode = regexp.MustCompile(`^[A-Za-z0-9 -]+$`)
	// [D] snippets/p-body/DisplayName*.mdx: 1–50 characters, none of &,'/.
	displayName = regexp.MustCompile(`^[^&,'/]{1,50}$`)
	// [D] snippets/p-body/Language.mdx (BrowserInfo.Language).
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`)

	// [D] snippets/p-body/Amount.mdx, Currency*.mdx: {Currency, Amount} in minor units.
	moneySchema = schema{req("Currency", kString), req("Amount", kInt)}

	// An address whose PostalCode is required: HeadquartersAddress and LegalRepresentativeAddress
	// of legal users ([D] snippets/p-body/HeadquartersAddress.mdx: AddressLine3, AddressLine2,
	// City1, Region1, PostalCode1 (required), Country1), a recipient's address ([D]
	// snippets/p-body/Address_Recipient.mdx, PostalCode required).
	addressSchema = schema{
		req("AddressLine1", kString).maxLen(255), opt("AddressLine2", kString).maxLen(255),
		req("City", kString).maxLen(255), opt("Region", kString).maxLen(255),
		req("PostalCode", kString).maxLen(255).matching(postalCode), req("Country", kString).matching(countryCode),
	}
	// A bank account owner's address, where PostalCode is optional ([D]
	// api-reference/bank-accounts/create-iban-bank-account.mdx).
	ownerAddressSchema = schema{
		req("AddressLine1", kString).maxLen(255), opt("AddressLine2", kString).maxLen(255),
		req("City", kString).maxLen(255), opt("Region", kString).maxLen(255),
		opt("PostalCode", kString).maxLen(255), req("Country", kString).matching(countryCode),
	}

	// BrowserInfo of 3-D Secure 2: every member required ([D] snippets/p-body/BrowserInfo.mdx).
	// TimeZoneOffset is an integer in the docs ([D] snippets/p-body/TimeZoneOffset.mdx) but the
	// SDKs send a string ([node] typings/base.d.ts BrowserInfoData.TimeZoneOffset: string, e.g.
	// "+60" in typings/index.test-d.ts; [java] entities/subentities/BrowserInfo.java): MangoPay
	// takes both.
	browserInfoSchema = schema{
		req("AcceptHeader", kString), req("JavaEnabled", kBool), req("Language", kString).matching(languagePattern),
		req("ColorDepth", kInt), req("ScreenHeight", kInt), req("ScreenWidth", kInt),
		req("TimeZoneOffset", kIntOrString), req("UserAgent", kString).maxLen(255), req("JavascriptEnabled", kBool),
	}

	// POST /sca/users/legal ([D] api-reference/users/create-legal-user-sca.mdx; [py]
	// LegalUserSca; [node] typings/models/user.d.ts CreateUserLegalSca). LegalRepresentative is a
	// nested object ([D] snippets/p-body/LegalRepresentative.mdx: FirstName1, LastName1 required,
	// 1–100; Birthday, Nationality, CountryOfResidence, Email required for an OWNER, checked in
	// createScaLegalUser). ScaContext: [D] snippets/p-body/ScaContext_User_Creation.mdx.
	legalRepresentativeSchema = schema{
		req("FirstName", kString).maxLen(100), req("LastName", kString).maxLen(100),
		opt("Birthday", kInt), opt("Nationality", kString).matching(countryCode),
		opt("CountryOfResidence", kString).matching(countryCode), opt("Email", kString),
		opt("PhoneNumber", kString), opt("PhoneNumberCountry", kString).matching(countryCode),
	}
	scaLegalUserSchema = schema{
		enum("UserCategory", true, "PAYER", "OWNER"),
		enum("ScaContext", false, "USER_PRESENT", "USER_NOT_PRESENT"),
		req("TermsAndConditionsAccepted", kBool),
		enum("LegalPersonType", true, "BUSINESS", "PARTNERSHIP", "ORGANIZATION", "SOLETRADER"),
		req("Name", kString).maxLen(255), req("Email", kString),
		obj("LegalRepresentative", true, legalRepresentativeSchema),
		obj("HeadquartersAddress", false, addressSchema),
		obj("LegalRepresentativeAddress", false, addressSchema),
		opt("CompanyNumber", kString),
		tag,
	}

	// POST /wallets ([D] api-reference/wallets/create-wallet.mdx).
	walletSchema = schema{
		req("Owners", kStrings), req("Currency", kString), req("Description", kString).maxLen(255), tag,
	}

	// POST /cardregistrations ([D] api-reference/card-registrations/create-card-registration.mdx)
	// and PUT /cardregistrations/{id} ([D] …/update-card-registration.mdx).
	cardRegistrationSchema = schema{
		req("UserId", kString), req("Currency", kString),
		enum("CardType", false, "CB_VISA_MASTERCARD", "AMEX", "MAESTRO", "BCMC"),
		tag,
	}
	cardRegistrationUpdateSchema = schema{req("RegistrationData", kString), opt("CardHolderName", kString).maxLen(45)}
	// PUT /cards/{id} ([D] api-reference/cards/deactivate-edit-card.mdx).
	cardUpdateSchema = schema{opt("Active", kBool), opt("CardHolderName", kString).maxLen(45)}

	// POST /payins/card/direct ([D] api-reference/direct-card-payins/create-direct-card-payin.mdx;
	// StatementDescriptor: snippets/p-body/StatementDescriptor.mdx, 10 letters, digits, spaces).
	cardPayInSchema = schema{
		req("AuthorId", kString), opt("CreditedUserId", kString), req("CreditedWalletId", kString),
		obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("CardId", kString),
		enum("SecureMode", false, "DEFAULT", "FORCE", "NO_CHOICE"),
		req("SecureModeReturnURL", kString).maxLen(255),
		obj("BrowserInfo", true, browserInfoSchema),
		req("IpAddress", kString),
		opt("Billing", kAny), opt("Shipping", kAny),
		opt("StatementDescriptor", kString).maxLen(10).matching(alphanumericAndSpaces),
		enum("PreferredCardNetwork", false, "VISA", "MASTERCARD", "CB", "MAESTRO"),
		enum("PaymentCategory", false, "ECommerce", "TelephoneOrder"),
		opt("ProfilingAttemptReference", kString), tag, opt("Culture", kString),
	}

	// POST /payins/directdebit/direct ([D] api-reference/direct-debit-payins/
	// create-direct-debit-payin.mdx; StatementDescriptor: snippets/p-body/StatementDescriptor1.mdx
	// → snippets/rules/max-length-SDD-100-BACS-10-characters-only-alphanumeric-and-spaces.mdx:
	// SEPA 100 characters, only letters, digits and spaces).
	directDebitPayInSchema = schema{
		req("AuthorId", kString), opt("CreditedUserId", kString), req("CreditedWalletId", kString),
		obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("MandateId", kString), opt("StatementDescriptor", kString).maxLen(100).matching(alphanumericAndSpaces),
		opt("ProfilingAttemptReference", kString), tag,
	}

	// POST /payins/{id}/refunds ([D] api-reference/refunds/create-refund-payin.mdx; [node]
	// typings/models/refund.d.ts CreatePayInRefund). DebitedFunds and Fees: both or neither
	// (checked in createPayInRefund).
	payInRefundSchema = schema{
		req("AuthorId", kString), obj("DebitedFunds", false, moneySchema), obj("Fees", false, moneySchema),
		tag, opt("StatementDescriptor", kString).maxLen(10).matching(alphanumericAndSpaces),
	}
	// POST /transfers/{id}/refunds ([D] api-reference/refunds/create-refund-transfer.mdx; [node]
	// CreateTransferRefund): no StatementDescriptor.
	transferRefundSchema = schema{
		req("AuthorId", kString), obj("DebitedFunds", false, moneySchema), obj("Fees", false, moneySchema), tag,
	}

	// POST /users/{id}/bankaccounts/iban ([D] api-reference/bank-accounts/create-iban-bank-account.mdx)
	// and PUT /users/{id}/bankaccounts/{id} ([D] …/deactivate-bank-account.mdx).
	bankAccountSchema = schema{
		req("OwnerName", kString).maxLen(255), obj("OwnerAddress", true, ownerAddressSchema), req("IBAN", kString).maxLen(34),
		opt("BIC", kString), tag,
	}
	bankAccountUpdateSchema = schema{req("Active", kBool)}

	// POST /mandates/directdebit/web ([D] api-reference/mandates/create-mandate.mdx).
	mandateSchema = schema{
		req("BankAccountId", kString),
		enum("Culture", true, "DE", "EN", "ES", "FR", "IT", "NL", "PL"),
		req("ReturnURL", kString).maxLen(220), tag,
	}

	// POST /transfers ([D] api-reference/transfers/create-transfer.mdx; CreditedUserId: [node]
	// typings/models/transfer.d.ts CreateTransfer, [py] Transfer; ScaContext:
	// snippets/p-body/ScaContext_Transfer.mdx).
	transferSchema = schema{
		req("AuthorId", kString), opt("CreditedUserId", kString),
		obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("DebitedWalletId", kString), req("CreditedWalletId", kString),
		enum("ScaContext", false, "USER_PRESENT", "USER_NOT_PRESENT"), tag,
	}

	// POST /payouts/bankwire ([D] api-reference/payouts/create-payout.mdx; PaymentType: [node]
	// typings/models/payOut.d.ts CreatePayOut, which the Node SDK sends).
	payoutSchema = schema{
		req("AuthorId", kString), obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema),
		req("DebitedWalletId", kString), req("BankAccountId", kString),
		opt("BankWireRef", kString).maxLen(255),
		enum("PayoutModeRequested", false, "STANDARD", "INSTANT_PAYMENT", "INSTANT_PAYMENT_ONLY", "RTGS_PAYMENT"),
		opt("PaymentRef", kAny), enum("PaymentType", false, "BANK_WIRE"), tag,
	}

	// POST /users/{id}/recipients ([D] api-reference/recipients/create-recipient.mdx; [node]
	// typings/models/recipient.d.ts CreateRecipient). vhupay's recipients are EUR IBANs; the other
	// currencies' LocalBankTransfer members are not modelled (refused as unknown).
	recipientSchema = schema{
		req("DisplayName", kString).matching(displayName),
		enum("PayoutMethodType", true, "InternationalBankTransfer", "LocalBankTransfer"),
		enum("RecipientType", true, "Individual", "Business"),
		req("Currency", kString), req("Country", kString).matching(countryCode),
		enum("RecipientScope", false, "PAYIN", "PAYOUT"), tag,
		obj("IndividualRecipient", false, schema{req("FirstName", kString), req("LastName", kString), obj("Address", true, addressSchema)}),
		obj("BusinessRecipient", false, schema{req("BusinessName", kString), obj("Address", true, addressSchema)}),
		obj("InternationalBankTransfer", false, schema{req("AccountNumber", kString), opt("BIC", kString)}),
		obj("LocalBankTransfer", false, schema{obj("EUR", false, schema{req("IBAN", kString), opt("BIC", kString)})}),
	}
	// PUT /recipients/{id} ([D] api-reference/recipients/deactivate-recipient.mdx).
	recipientUpdateSchema = schema{enum("Status", true, "DEACTIVATED")}

	// Disputes ([D] api-reference/disputes/submit-dispute.mdx; dispute-documents/
	// create-dispute-document.mdx, create-dispute-document-page.mdx, submit-dispute-document.mdx;
	// [node] typings/models/disputeDocument.d.ts).
	disputeSubmitSchema   = schema{obj("ContestedFunds", true, moneySchema)}
	disputeDocumentSchema = schema{
		enum("Type", true, "DELIVERY_PROOF", "INVOICE", "REFUND_PROOF", "USER_CORRESPONDANCE",
			"USER_ACCEPTANCE_PROOF", "PRODUCT_REPLACEMENT_PROOF", "OTHER"),
		tag,
	}
	disputeDocumentPageSchema   = schema{req("File", kString)}
	disputeDocumentSubmitSchema = schema{enum("Status", true, "VALIDATION_ASKED"), tag}

	// POST /repudiations/{id}/settlementtransfer ([D] api-reference/dispute-settlement/
	// create-settlement-transfer.mdx; [node] typings/models/settlementTransfer.d.ts).
	settlementSchema = schema{
		req("AuthorId", kString), obj("DebitedFunds", true, moneySchema), obj("Fees", true, moneySchema), tag,
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

var signedInteger = regexp.MustCompile(`^[+-]?[0-9]+$`)

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
		if f.max > 0 && utf8.RuneCountInString(s) > f.max {
			return fmt.Sprintf("The field %s must be a string with a maximum length of %d.", f.name, f.max)
		}
		if f.pattern != nil && s != "" && !f.pattern.MatchString(s) {
			return fmt.Sprintf("The %s field is invalid.", f.name)
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
	case kIntOrString:
		var n int64
		var s string
		if json.Unmarshal(raw, &n) != nil && (json.Unmarshal(raw, &s) != nil || !signedInteger.MatchString(s)) {
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
