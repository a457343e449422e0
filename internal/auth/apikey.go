package auth

import "strings"

// APIKeyPrefix starts every API key secret: a bearer token with it is an API key, not a JWT.
const APIKeyPrefix = "vhp_sk_"

// IsAPIKey reports whether a bearer token is shaped as an API key secret (by its prefix only).
func IsAPIKey(token string) bool { return strings.HasPrefix(token, APIKeyPrefix) }
