package auth

import "github.com/vhupay/vhupay/internal/txn"

// Actor is the principal as the audit trail records it.
func (p Principal) Actor() txn.Actor {
	return txn.Actor{Subject: p.Subject, Role: string(p.Role), Org: p.Org, APIKeyID: p.APIKeyID}
}
