// Package migrations embeds vhupay's SQL migrations, one folder per dialect, applied by goose.
// Versions are grouped by capability (00001 foundation, 00100 orders and payments, 00200 SEPA,
// 00300 month close, 00400 invoicing) so that capabilities can add migrations independently.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
